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
import { centreVectors, checkVectorSet } from "./vector-set.js";

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
  const dims = checkVectorSet(vectors, 2, "A projection");
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
  const points = centred.map((row) => {
    const coordinates = components.map((component) => {
      let sum = 0;
      for (let d = 0; d < dims; d++) sum += (row[d] as number) * (component[d] as number);
      return sum;
    });
    return [coordinates[0] as number, coordinates[1] as number] as const;
  });
  return { method: "pca", points, explainedVariance: [variances[0] as number, variances[1] as number] };
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
