/**
 * @module apps/social/topics/topic-reduction
 * The dimension reduction before clustering, and the 2-D map. UMAP (`umap-js`,
 * seeded) runs on a sample of at most `sampleSize` texts (default 5000): exact
 * cosine k-nearest neighbours are computed here once and given to umap-js
 * (`setPrecomputedKNN`), then a 5-D embedding is fitted for clustering
 * (minDist 0, as BERTopic) and, when asked, a 2-D one for the map (minDist 0.1).
 * Texts outside the sample are placed at the similarity-weighted mean of their
 * 5 nearest "landmarks" (the first 1000 sample texts) in both spaces and later
 * take the topic the same landmarks vote for. That keeps time and memory
 * bounded for 100k texts: UMAP's cost grows with the sample, the rest costs one
 * pass of n × 1000 dot products.
 */
import { EmbedkitError } from "../../../errors.js";
import { projectPca } from "../../../eval/projection.js";
import { createRandom } from "../../../vectors/random.js";

/** Dimensions of the space clustering runs in. */
export const CLUSTER_DIMENSIONS = 5;
/** Neighbours of the UMAP graph (UMAP's and BERTopic's default). */
const NEIGHBOURS = 15;
/** Neighbours (landmarks) that place a text outside the sample. */
export const LANDMARK_NEIGHBOURS = 5;
const LANDMARKS = 1000;
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

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let d = 0; d < a.length; d++) sum += (a[d] as number) * (b[d] as number);
  return sum;
}

/** Keep the k largest similarities of a row (insertion into a small sorted list). */
function insertTop(indices: Int32Array, scores: Float64Array, index: number, score: number): void {
  const k = indices.length;
  if (score <= (scores[k - 1] as number)) return;
  let position = k - 1;
  while (position > 0 && (scores[position - 1] as number) < score) {
    scores[position] = scores[position - 1] as number;
    indices[position] = indices[position - 1] as number;
    position--;
  }
  scores[position] = score;
  indices[position] = index;
}

/** Exact cosine k-NN inside the sample (self first, as UMAP expects), as cosine distances. */
async function sampleNeighbours(
  rows: readonly Float32Array[],
  k: number,
  options: ReduceOptions,
  report: (done: number) => void,
): Promise<{ indices: number[][]; distances: number[][] }> {
  const m = rows.length;
  const topIndex = Array.from({ length: m }, () => new Int32Array(k).fill(-1));
  const topScore = Array.from({ length: m }, () => new Float64Array(k).fill(Number.NEGATIVE_INFINITY));
  for (let i = 0; i < m; i++) {
    if (i % 64 === 0) {
      throwIfAborted(options.signal);
      report(i);
      await yieldToEventLoop();
    }
    const row = rows[i] as Float32Array;
    insertTop(topIndex[i] as Int32Array, topScore[i] as Float64Array, i, Number.POSITIVE_INFINITY);
    for (let j = i + 1; j < m; j++) {
      const similarity = dot(row, rows[j] as Float32Array);
      insertTop(topIndex[i] as Int32Array, topScore[i] as Float64Array, j, similarity);
      insertTop(topIndex[j] as Int32Array, topScore[j] as Float64Array, i, similarity);
    }
  }
  return {
    indices: topIndex.map((row) => Array.from(row)),
    distances: topScore.map((row, i) =>
      Array.from(row, (score, position) =>
        (topIndex[i] as Int32Array)[position] === i ? 0 : Math.max(0, 1 - score),
      ),
    ),
  };
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
  // Progress units: kNN rows, UMAP epochs, rest texts.
  const total = (useUmap ? m + options.epochs : 0) + restCount;
  let base = 0;
  const report = (done: number): void => options.onProgress?.(base + done, total);

  let sampleSpace: ArrayLike<number>;
  let dimensions: number;
  let knn: { indices: number[][]; distances: number[][] } | undefined;
  const sampleRows = useUmap ? rows.map((row) => Array.from(row)) : [];
  if (useUmap) {
    knn = await sampleNeighbours(rows, Math.min(NEIGHBOURS, m - 1), options, report);
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
    // Too few texts for a UMAP graph: cluster the unit vectors themselves.
    dimensions = rows[0]?.length ?? 0;
    const flat = new Float64Array(m * dimensions);
    rows.forEach((row, i) => {
      flat.set(row, i * dimensions);
    });
    sampleSpace = flat;
  }

  // Landmarks for the rest: the 5 most similar of the first 1000 sample texts.
  const landmarkCount = Math.min(m, LANDMARKS);
  const neighbours = Math.min(LANDMARK_NEIGHBOURS, landmarkCount);
  const index = new Int32Array(restCount * LANDMARK_NEIGHBOURS);
  const weight = new Float64Array(restCount * LANDMARK_NEIGHBOURS);
  if (restCount > 0) {
    const inSample = new Uint8Array(n);
    for (const text of sample) inSample[text] = 1;
    const topIndex = new Int32Array(neighbours);
    const topScore = new Float64Array(neighbours);
    let rest = 0;
    for (let text = 0; text < n; text++) {
      if (inSample[text] === 1) continue;
      if (rest % 256 === 0) {
        throwIfAborted(options.signal);
        report(rest);
        await yieldToEventLoop();
      }
      const row = unitRow(vectors[text] as Float32Array);
      topIndex.fill(-1);
      topScore.fill(Number.NEGATIVE_INFINITY);
      for (let l = 0; l < landmarkCount; l++)
        insertTop(topIndex, topScore, l, dot(row, rows[l] as Float32Array));
      // Weights: similarities shifted to be positive, normalised to sum 1.
      let sum = 0;
      for (let k = 0; k < neighbours; k++) sum += Math.max(1e-6, 1 + (topScore[k] as number));
      for (let k = 0; k < LANDMARK_NEIGHBOURS; k++) {
        const slot = rest * LANDMARK_NEIGHBOURS + k;
        const position = Math.min(k, neighbours - 1);
        index[slot] = topIndex[position] as number;
        weight[slot] = k < neighbours ? Math.max(1e-6, 1 + (topScore[position] as number)) / sum : 0;
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
    landmarks: { index, weight },
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
