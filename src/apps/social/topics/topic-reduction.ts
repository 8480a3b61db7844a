/**
 * @module apps/social/topics/topic-reduction
 * The dimension reduction before clustering, and the 2-D map. UMAP (`umap-js`,
 * seeded) runs on a sample of at most `sampleSize` texts (default 5000). The
 * cosine k-nearest neighbours of the sample come from an HNSW index
 * (hnswlib-node, the store's index library; built single-threaded with a seeded
 * level generator, so it is deterministic) and are given to umap-js
 * (`setPrecomputedKNN`, 15 neighbours); a 5-D embedding is fitted for clustering
 * (minDist 0, as BERTopic) and a 2-D one for the map (minDist 0.1). Texts
 * outside the sample are placed at the similarity-weighted mean of their 5
 * nearest sample texts ("landmarks", found in the same index) in both spaces and
 * later take the topic those landmarks vote for. That keeps time and memory
 * bounded for 100k texts: UMAP's cost grows with the sample only, the rest
 * costs one index query each.
 */
import { EmbedkitError } from "../../../errors.js";
import { projectPca } from "../../../eval/projection.js";
import { type Hnswlib, loadHnswlib } from "../../../internal/load-dependency.js";
import { createRandom } from "../../../vectors/random.js";

/** Dimensions of the space clustering runs in. */
export const CLUSTER_DIMENSIONS = 5;
/** Neighbours of the UMAP graph (UMAP's and BERTopic's default). */
const NEIGHBOURS = 15;
/** Neighbours (landmarks) that place a text outside the sample. */
export const LANDMARK_NEIGHBOURS = 5;
/** Below this many sample texts UMAP is skipped and the (normalised) embeddings are clustered directly. */
export const MIN_UMAP_TEXTS = 3 * NEIGHBOURS;

/** Progress of the reduction: stage-local units done of total. */
export type ReductionProgress = (done: number, total: number) => void;

/** The reduced texts, reusable across {@link discoverTopics} calls on the same vectors. */
export interface TopicReduction {
  /** Number of texts. */
  readonly size: number;
  /** Indices of the sampled texts (the ones UMAP saw), in draw order. */
  readonly sample: Int32Array;
  /** Dimensions per point of {@link TopicReduction.space}. */
  readonly dimensions: number;
  /** Coordinates for clustering, `size × dimensions`, row-major. */
  readonly space: Float64Array;
  /** For each text outside the sample: its landmarks (indices into `sample`) and weights, `LANDMARK_NEIGHBOURS` each. */
  readonly landmarks: { readonly index: Int32Array; readonly weight: Float64Array };
  /** Seed the reduction was made with. */
  readonly seed: number;
}

/** Internal state: the normalised sample and the kNN graph, kept for the 2-D map. */
export interface ReductionState extends TopicReduction {
  readonly knn?: { readonly indices: number[][]; readonly distances: number[][] };
  readonly sampleRows: number[][];
  map?: Float32Array;
}

/** Options of the reduction steps. */
export interface ReduceOptions {
  readonly seed: number;
  readonly sampleSize: number;
  /** UMAP optimisation epochs per fit. */
  readonly epochs: number;
  readonly onProgress?: ReductionProgress;
  readonly signal?: AbortSignal;
}

/** Throw INVALID_INPUT "cancelled" when the signal has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new EmbedkitError("INVALID_INPUT", "Topic discovery was cancelled by the caller's AbortSignal.", {
      cause: signal.reason,
    });
  }
}

/** Let timers (progress bars, an abort) run between long synchronous steps. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function unitRow(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  const row = new Float32Array(vector.length);
  if (norm > 0) for (let d = 0; d < vector.length; d++) row[d] = (vector[d] as number) / norm;
  return row;
}

type Index = InstanceType<Hnswlib["HierarchicalNSW"]>;

/**
 * An HNSW index (hnswlib-node, inner product on unit vectors) over the sample,
 * built single-threaded in sample order with a seeded level generator, so the
 * same input gives the same graph and the same neighbours.
 */
async function sampleIndex(
  rows: readonly Float32Array[],
  seed: number,
  options: ReduceOptions,
  report: (done: number) => void,
): Promise<Index> {
  const { HierarchicalNSW } = await loadHnswlib();
  const dims = rows[0]?.length ?? 0;
  const index = new HierarchicalNSW("ip", dims);
  index.initIndex({ maxElements: rows.length, m: 16, efConstruction: 200, randomSeed: seed >>> 0 });
  for (let i = 0; i < rows.length; i++) {
    if (i % 256 === 0) {
      throwIfAborted(options.signal);
      report(i);
      await yieldToEventLoop();
    }
    index.addPoint(Array.from(rows[i] as Float32Array), i);
  }
  index.setEf(64);
  return index;
}

/** The k sample texts nearest to `row` (cosine), best first. */
function nearest(index: Index, row: Float32Array, k: number): { neighbors: number[]; distances: number[] } {
  const found = index.searchKnn(Array.from(row), k);
  // hnswlib returns them in any order: sort by distance, ties by index.
  const order = found.neighbors
    .map((neighbor, position) => ({ neighbor, distance: Math.max(0, found.distances[position] as number) }))
    .sort((a, b) => a.distance - b.distance || a.neighbor - b.neighbor);
  return { neighbors: order.map((entry) => entry.neighbor), distances: order.map((entry) => entry.distance) };
}

/** k nearest neighbours of each sample text with itself first, as UMAP expects (cosine distances). */
async function sampleNeighbours(
  index: Index,
  rows: readonly Float32Array[],
  k: number,
  options: ReduceOptions,
  report: (done: number) => void,
): Promise<{ indices: number[][]; distances: number[][] }> {
  const indices: number[][] = [];
  const distances: number[][] = [];
  for (let i = 0; i < rows.length; i++) {
    if (i % 256 === 0) {
      throwIfAborted(options.signal);
      report(i);
      await yieldToEventLoop();
    }
    const found = nearest(index, rows[i] as Float32Array, k);
    const others = found.neighbors
      .map((neighbor, position) => ({ neighbor, distance: found.distances[position] as number }))
      .filter((entry) => entry.neighbor !== i)
      .slice(0, k - 1);
    indices.push([i, ...others.map((entry) => entry.neighbor)]);
    distances.push([0, ...others.map((entry) => entry.distance)]);
  }
  return { indices, distances };
}

async function fitUmap(
  state: { readonly sampleRows: number[][]; readonly knn: { indices: number[][]; distances: number[][] } },
  options: ReduceOptions & { readonly dimensions: number; readonly minDist: number; readonly seed: number },
  report: (done: number) => void,
): Promise<number[][]> {
  const { UMAP } = await import("umap-js").catch((cause: unknown) => {
    throw new EmbedkitError(
      "DEPENDENCY_MISSING",
      'The package "umap-js" is needed for topic discovery but could not be loaded. Install it (npm install umap-js).',
      { cause, details: { package: "umap-js", feature: "topic discovery" } },
    );
  });
  const random = createRandom(options.seed);
  const umap = new UMAP({
    nComponents: options.dimensions,
    nNeighbors: state.knn.indices[0]?.length ?? NEIGHBOURS,
    minDist: options.minDist,
    nEpochs: options.epochs,
    random: () => random.next(),
  });
  umap.setPrecomputedKNN(state.knn.indices, state.knn.distances);
  const epochs = umap.initializeFit(state.sampleRows);
  for (let epoch = 0; epoch < epochs; epoch++) {
    if (epoch % 10 === 0) {
      throwIfAborted(options.signal);
      report(epoch);
      await yieldToEventLoop();
    }
    umap.step();
  }
  report(epochs);
  return umap.getEmbedding();
}

/** Place every text outside the sample from its landmarks' coordinates (`dims` each). */
function placeRest(
  state: TopicReduction,
  sampleCoordinates: ArrayLike<number>,
  dims: number,
  target: Float64Array | Float32Array,
): void {
  const { index, weight } = state.landmarks;
  const inSample = new Int32Array(state.size).fill(-1);
  state.sample.forEach((text, position) => {
    inSample[text] = position;
    for (let d = 0; d < dims; d++) target[text * dims + d] = sampleCoordinates[position * dims + d] as number;
  });
  let rest = 0;
  for (let text = 0; text < state.size; text++) {
    if ((inSample[text] as number) >= 0) continue;
    for (let d = 0; d < dims; d++) {
      let sum = 0;
      for (let k = 0; k < LANDMARK_NEIGHBOURS; k++) {
        const slot = rest * LANDMARK_NEIGHBOURS + k;
        sum += (weight[slot] as number) * (sampleCoordinates[(index[slot] as number) * dims + d] as number);
      }
      target[text * dims + d] = sum;
    }
    rest++;
  }
}

/**
 * Reduce the vectors to {@link CLUSTER_DIMENSIONS} dimensions for clustering:
 * sample, exact k-NN, UMAP, landmarks for the rest.
 */
export async function reduceVectors(
  vectors: readonly Float32Array[],
  options: ReduceOptions,
): Promise<ReductionState> {
  const n = vectors.length;
  const random = createRandom(options.seed);
  const order =
    n <= options.sampleSize
      ? Array.from({ length: n }, (_, i) => i)
      : random.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, options.sampleSize);
  const sample = Int32Array.from(order);
  const rows = order.map((index) => unitRow(vectors[index] as Float32Array));
  const m = rows.length;
  const useUmap = m >= MIN_UMAP_TEXTS;
  const restCount = n - m;
  // Progress units: index inserts and kNN rows, UMAP epochs, rest texts.
  const total = 2 * m + (useUmap ? options.epochs : 0) + restCount;
  let base = 0;
  const report = (done: number): void => options.onProgress?.(base + done, total);

  let sampleSpace: ArrayLike<number>;
  let dimensions: number;
  let knn: { indices: number[][]; distances: number[][] } | undefined;
  const sampleRows = useUmap ? rows.map((row) => Array.from(row)) : [];
  const index = await sampleIndex(rows, options.seed, options, report);
  base += m;
  if (useUmap) {
    knn = await sampleNeighbours(index, rows, Math.min(NEIGHBOURS, m - 1) + 1, options, report);
    base += m;
    const embedding = await fitUmap(
      { sampleRows, knn },
      { ...options, dimensions: CLUSTER_DIMENSIONS, minDist: 0, seed: options.seed + 1 },
      report,
    );
    base += options.epochs;
    dimensions = CLUSTER_DIMENSIONS;
    sampleSpace = Float64Array.from(embedding.flat());
  } else {
    base += m;
    // Too few texts for a UMAP graph: cluster the unit vectors themselves.
    dimensions = rows[0]?.length ?? 0;
    const flat = new Float64Array(m * dimensions);
    rows.forEach((row, i) => {
      flat.set(row, i * dimensions);
    });
    sampleSpace = flat;
  }

  // The rest: each text's 5 nearest sample texts, weighted by similarity.
  const neighbours = Math.min(LANDMARK_NEIGHBOURS, m);
  const landmarkIndex = new Int32Array(restCount * LANDMARK_NEIGHBOURS);
  const weight = new Float64Array(restCount * LANDMARK_NEIGHBOURS);
  if (restCount > 0) {
    const inSample = new Uint8Array(n);
    for (const text of sample) inSample[text] = 1;
    let rest = 0;
    for (let text = 0; text < n; text++) {
      if (inSample[text] === 1) continue;
      if (rest % 256 === 0) {
        throwIfAborted(options.signal);
        report(rest);
        await yieldToEventLoop();
      }
      const found = nearest(index, unitRow(vectors[text] as Float32Array), neighbours);
      // Weights: similarities (1 − distance, shifted to stay positive), normalised to sum 1.
      const similarity = found.distances.map((distance) => Math.max(1e-6, 2 - distance));
      const sum = similarity.reduce((total, value) => total + value, 0);
      for (let k = 0; k < LANDMARK_NEIGHBOURS; k++) {
        const slot = rest * LANDMARK_NEIGHBOURS + k;
        const position = Math.min(k, found.neighbors.length - 1);
        landmarkIndex[slot] = found.neighbors[position] as number;
        weight[slot] = k < found.neighbors.length ? (similarity[position] as number) / sum : 0;
      }
      rest++;
    }
    base += restCount;
    report(0);
  }
  const state: ReductionState = {
    size: n,
    sample,
    dimensions,
    space: new Float64Array(n * dimensions),
    landmarks: { index: landmarkIndex, weight },
    seed: options.seed,
    sampleRows,
    ...(knn === undefined ? {} : { knn }),
  };
  placeRest(state, sampleSpace, dimensions, state.space);
  return state;
}

/**
 * The 2-D map: a second UMAP fit (2 dimensions, minDist 0.1) on the same
 * sample and k-NN graph, the rest placed by their landmarks. Small inputs
 * (no UMAP) get the first two principal axes of their vectors instead (PCA).
 */
export async function mapVectors(
  state: ReductionState,
  options: Omit<ReduceOptions, "sampleSize">,
): Promise<Float32Array> {
  if (state.map !== undefined) return state.map;
  const map = new Float32Array(state.size * 2);
  const m = state.sample.length;
  let sampleMap: Float64Array;
  if (state.knn !== undefined) {
    const embedding = await fitUmap(
      { sampleRows: state.sampleRows, knn: state.knn },
      { ...options, sampleSize: m, dimensions: 2, minDist: 0.1, seed: options.seed + 2 },
      (done) => options.onProgress?.(done, options.epochs),
    );
    sampleMap = Float64Array.from(embedding.flat());
  } else {
    sampleMap = new Float64Array(m * 2);
    if (m >= 2) {
      const rows = Array.from(state.sample, (text) =>
        Float32Array.from(state.space.subarray(text * state.dimensions, (text + 1) * state.dimensions)),
      );
      projectPca(rows, { seed: options.seed }).points.forEach(([x, y], i) => {
        sampleMap.set([x, y], i * 2);
      });
    }
  }
  placeRest(state, sampleMap, 2, map);
  state.map = map;
  return map;
}
