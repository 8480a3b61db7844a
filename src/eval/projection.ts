/**
 * @module eval/projection
 * 2-D projections of embeddings for plots: PCA (top two principal components by
 * power iteration on the centred data, deterministic for a seed) and UMAP via
 * the `umap-js` package (seeded through its `random` option). PCA preserves
 * global variance directions and is exact and fast; UMAP preserves local
 * neighbourhoods and shows clusters better but distorts distances between them.
 */
import { EmbedkitError } from "../errors.js";
import { createRandom } from "./random.js";
import { centreVectors, checkVectorSet, meanVector } from "./vector-set.js";

/** Projection methods. */
export type ProjectionMethod = "pca" | "umap";

/** A 2-D point per input vector. */
export interface Projection {
  readonly method: ProjectionMethod;
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** Share of total variance captured by each PCA axis (PCA only). */
  readonly explainedVariance?: readonly [number, number];
}

/**
 * PCA to two dimensions. Components are found by power iteration (XᵀX v computed
 * as Xᵀ(Xv), never forming the covariance), the second orthogonalised against the
 * first; each axis is oriented so its largest-magnitude loading is positive,
 * making the result independent of the random start.
 *
 * @throws EmbedkitError INVALID_INPUT for fewer than 2 vectors; DIMENSION_MISMATCH.
 */
export function projectPca(
  vectors: readonly Float32Array[],
  options: { readonly seed?: number } = {},
): Projection {
  const model = fitPca(vectors, options);
  return {
    method: "pca",
    points: vectors.map((vector) => applyPca(model, vector)),
    explainedVariance: model.explainedVariance,
  };
}

/** Two principal axes of a vector set, to project vectors that were not in it (see {@link fitPca}). */
export interface PcaModel {
  /** Mean of the fitted vectors. */
  readonly mean: Float64Array;
  /** First and second principal axes (unit length, sign fixed). */
  readonly components: readonly [Float64Array, Float64Array];
  /** Share of total variance captured by each axis. */
  readonly explainedVariance: readonly [number, number];
}

/**
 * Fit the two principal axes of {@link projectPca} without projecting: fit on a sample of a large
 * set, then {@link applyPca} to every vector of it (one pass instead of one per iteration).
 *
 * @throws EmbedkitError INVALID_INPUT for fewer than 2 vectors; DIMENSION_MISMATCH.
 */
export function fitPca(vectors: readonly Float32Array[], options: { readonly seed?: number } = {}): PcaModel {
  const dims = checkVectorSet(vectors, 2, "A projection");
  const mean = meanVector(vectors, dims);
  const centred = centreVectors(vectors, dims);
  let totalVariance = 0;
  for (const row of centred) for (const value of row) totalVariance += value * value;
  const random = createRandom(options.seed ?? 42);
  const components: Float64Array[] = [];
  const variances: number[] = [];
  for (let component = 0; component < 2; component++) {
    let v = Float64Array.from({ length: dims }, () => random.gaussian());
    let eigenvalue = 0;
    for (let iteration = 0; iteration < 200; iteration++) {
      for (const previous of components) {
        let projection = 0;
        for (let d = 0; d < dims; d++) projection += (v[d] as number) * (previous[d] as number);
        for (let d = 0; d < dims; d++) v[d] = (v[d] as number) - projection * (previous[d] as number);
      }
      const next = new Float64Array(dims);
      for (const row of centred) {
        let score = 0;
        for (let d = 0; d < dims; d++) score += (row[d] as number) * (v[d] as number);
        for (let d = 0; d < dims; d++) next[d] = (next[d] as number) + score * (row[d] as number);
      }
      let length = 0;
      for (const value of next) length += value * value;
      length = Math.sqrt(length);
      if (length === 0) break;
      let change = 0;
      for (let d = 0; d < dims; d++) {
        const value = (next[d] as number) / length;
        change += Math.abs(value - (v[d] as number));
        next[d] = value;
      }
      v = next;
      eigenvalue = length;
      if (change < 1e-9) break;
    }
    let largest = 0;
    for (let d = 1; d < dims; d++) if (Math.abs(v[d] as number) > Math.abs(v[largest] as number)) largest = d;
    if ((v[largest] as number) < 0) for (let d = 0; d < dims; d++) v[d] = -(v[d] as number);
    components.push(v);
    variances.push(totalVariance === 0 ? 0 : eigenvalue / totalVariance);
  }
  return {
    mean,
    components: [components[0] as Float64Array, components[1] as Float64Array],
    explainedVariance: [variances[0] as number, variances[1] as number],
  };
}

/** The 2-D point of one vector under a fitted PCA: its centred dot product with each axis. */
export function applyPca(model: PcaModel, vector: Float32Array): readonly [number, number] {
  const [first, second] = model.components;
  const { mean } = model;
  let x = 0;
  let y = 0;
  for (let d = 0; d < mean.length; d++) {
    const value = (vector[d] as number) - (mean[d] as number);
    x += value * (first[d] as number);
    y += value * (second[d] as number);
  }
  return [x, y];
}

/**
 * UMAP to two dimensions with `umap-js` (nNeighbors = min(15, n − 1), minDist
 * 0.1), seeded. Loaded lazily, so embedkit works when the package is absent.
 *
 * @throws EmbedkitError INVALID_INPUT for fewer than 3 vectors; INVALID_OPTION when umap-js is not installed.
 */
export async function projectUmap(
  vectors: readonly Float32Array[],
  options: { readonly seed?: number } = {},
): Promise<Projection> {
  checkVectorSet(vectors, 3, "A projection");
  let module: typeof import("umap-js");
  try {
    module = await import("umap-js");
  } catch (error) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "UMAP needs the umap-js package, which is not installed. Install it (npm install umap-js) or use PCA.",
      { cause: error },
    );
  }
  const random = createRandom(options.seed ?? 42);
  const umap = new module.UMAP({
    nComponents: 2,
    nNeighbors: Math.min(15, vectors.length - 1),
    minDist: 0.1,
    random: () => random.next(),
  });
  const points = umap
    .fit(vectors.map((vector) => Array.from(vector)))
    .map((row) => [row[0] ?? 0, row[1] ?? 0] as const);
  return { method: "umap", points };
}
