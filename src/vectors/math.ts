/**
 * @module vectors/math
 * Pure Float32 vector math: dot product, norms, cosine similarity, Euclidean
 * distance, normalization, similarity matrices, top-k and Matryoshka truncation.
 * No I/O; every function checks dimensions and reports expected vs received.
 */
import { describeType, EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";

/** A vector as accepted at API edges: a Float32Array or a plain number array. */
export type VectorLike = Float32Array | readonly number[];

function checkVector(name: string, vector: unknown): asserts vector is VectorLike {
  if (!(vector instanceof Float32Array) && !Array.isArray(vector)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${name} must be a Float32Array or number[], received ${describeType(vector)}.`,
    );
  }
}

function checkSameDims(a: VectorLike, b: VectorLike): void {
  checkVector("first vector", a);
  checkVector("second vector", b);
  if (a.length !== b.length) {
    throw new EmbedkitError(
      "DIMENSION_MISMATCH",
      `Vectors have different dimensions: expected ${a.length}, received ${b.length}. ` +
        "Compare vectors produced by the same model (and the same `dimensions` option).",
      { details: { expected: a.length, received: b.length } },
    );
  }
}

/** Dot product of two vectors of equal length. @throws EmbedkitError DIMENSION_MISMATCH */
export function dot(a: VectorLike, b: VectorLike): number {
  checkSameDims(a, b);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/** Euclidean (L2) norm of a vector. */
export function norm(a: VectorLike): number {
  checkVector("vector", a);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    sum += x * x;
  }
  return Math.sqrt(sum);
}

/**
 * Cosine similarity in [-1, 1]. Returns 0 when either vector is all zeros
 * (the similarity is undefined; 0 keeps rankings sane).
 *
 * @example
 * ```ts
 * cosineSimilarity([1, 0], [0.6, 0.8]); // 0.6
 * ```
 */
export function cosineSimilarity(a: VectorLike, b: VectorLike): number {
  checkSameDims(a, b);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  if (aa === 0 || bb === 0) return 0;
  return ab / Math.sqrt(aa * bb);
}

/** Euclidean (L2) distance between two vectors. @throws EmbedkitError DIMENSION_MISMATCH */
export function euclideanDistance(a: VectorLike, b: VectorLike): number {
  checkSameDims(a, b);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/** Return a new unit-length copy of `a` (a zero vector stays zero). */
export function normalize(a: VectorLike): Float32Array {
  const out = Float32Array.from(a);
  normalizeInPlace(out);
  return out;
}

/** Scale `a` to unit length in place; a zero vector is left unchanged. */
export function normalizeInPlace(a: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (a[i] as number);
  if (sum === 0) return a;
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) * inv;
  return a;
}

/**
 * Matryoshka-style truncation: keep the first `dimensions` components and
 * re-normalize to unit length.
 * @throws EmbedkitError INVALID_OPTION when `dimensions` is not an integer in [1, a.length].
 */
export function truncateDimensions(a: VectorLike, dimensions: number): Float32Array {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > a.length) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `dimensions must be an integer between 1 and ${a.length} (the model's dimensions), received ${String(dimensions)}.`,
      { details: { max: a.length, received: dimensions } },
    );
  }
  return normalizeInPlace(Float32Array.from(a.slice(0, dimensions)));
}

/** Similarity measures accepted by {@link similarityMatrix}. */
export type SimilarityMetric = "cosine" | "dot" | "euclidean";

const METRICS: Readonly<Record<SimilarityMetric, (a: VectorLike, b: VectorLike) => number>> = Object.freeze({
  cosine: cosineSimilarity,
  dot,
  euclidean: euclideanDistance,
});

/**
 * Pairwise matrix between two lists of vectors (rows = `a`, columns = `b`).
 * Defaults to `b = a` and cosine similarity.
 */
export function similarityMatrix(
  a: readonly VectorLike[],
  b: readonly VectorLike[] = a,
  metric: SimilarityMetric = "cosine",
): number[][] {
  const fn = METRICS[metric];
  if (fn === undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Unknown metric "${String(metric)}"; use cosine, dot or euclidean.`,
    );
  }
  return a.map((x) => b.map((y) => fn(x, y)));
}

/** One scored entry of a top-k result. */
export interface ScoredIndex {
  /** Index into the searched list. */
  readonly index: number;
  /** Score (higher is better). */
  readonly score: number;
}

/**
 * Indices of the `k` highest scores, best first (ties keep the lower index first).
 * Uses a bounded min-heap so it is O(n log k).
 */
export function topK(scores: ArrayLike<number>, k: number): ScoredIndex[] {
  checkInteger("k", k, { min: 1 });
  const heap: ScoredIndex[] = [];
  // "worse" = lower score, or equal score with a higher index.
  const worse = (x: ScoredIndex, y: ScoredIndex): boolean =>
    x.score < y.score || (x.score === y.score && x.index > y.index);
  const siftDown = (start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l] as ScoredIndex, heap[m] as ScoredIndex)) m = l;
      if (r < heap.length && worse(heap[r] as ScoredIndex, heap[m] as ScoredIndex)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m] as ScoredIndex, heap[i] as ScoredIndex];
      i = m;
    }
  };
  for (let index = 0; index < scores.length; index++) {
    const item = { index, score: scores[index] as number };
    if (heap.length < k) {
      heap.push(item);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i] as ScoredIndex, heap[p] as ScoredIndex)) break;
        [heap[i], heap[p]] = [heap[p] as ScoredIndex, heap[i] as ScoredIndex];
        i = p;
      }
    } else if (worse(heap[0] as ScoredIndex, item)) {
      heap[0] = item;
      siftDown(0);
    }
  }
  return heap.sort((x, y) => (worse(x, y) ? 1 : worse(y, x) ? -1 : 0));
}
