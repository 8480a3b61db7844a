/**
 * @module bench/lib/vector-bench-data
 * Data and measurements shared by the vector store benchmarks: embedding-like
 * unit vectors (a seeded mixture of Gaussian clusters), the exact top-k by
 * brute force (the ground truth and the baseline), recall@k and percentiles.
 */
import * as ort from "onnxruntime-node";
import { encodeOnnxModel } from "../../src/models/onnx-writer.js";
import { dot, topK } from "../../src/vectors/math.js";
import { createRandom } from "../../src/vectors/random.js";

/**
 * `count` unit vectors of `dims` around 256 random unit centres with noise of
 * norm ~0.8. Uniform random vectors would be unrealistically hard for HNSW;
 * real sentence embeddings are clustered. The centres depend only on `dims`;
 * `seed` picks the points (1 = base set, 2 = queries).
 */
export function makeVectors(count: number, dims: number, seed: number): Float32Array[] {
  return rowsOf(makeVectorMatrix(count, dims, seed), dims);
}

/**
 * The vectors of {@link makeVectors} (same seed, same numbers) in one
 * row-major `count × dims` Float32Array: no per-vector objects, so a million
 * rows cost their 1.5 GB and nothing more.
 */
export function makeVectorMatrix(count: number, dims: number, seed: number): Float32Array {
  const random = createRandom(12345);
  const centres = Array.from({ length: 256 }, () =>
    unit(Float32Array.from({ length: dims }, () => random.gaussian())),
  );
  const local = createRandom(seed);
  const noise = 0.8 / Math.sqrt(dims);
  const out = new Float32Array(count * dims);
  const row = new Float32Array(dims);
  for (let r = 0; r < count; r++) {
    const centre = centres[local.integer(centres.length)] as Float32Array;
    let sum = 0;
    for (let i = 0; i < dims; i++) {
      row[i] = (centre[i] as number) + noise * local.gaussian();
      sum += (row[i] as number) * (row[i] as number);
    }
    const norm = Math.sqrt(sum);
    for (let i = 0; i < dims; i++) out[r * dims + i] = (row[i] as number) / norm;
  }
  return out;
}

/** Views of the rows of a row-major matrix (no copies). */
export function rowsOf(matrix: Float32Array, dims: number): Float32Array[] {
  return Array.from({ length: matrix.length / dims }, (_, r) => matrix.subarray(r * dims, (r + 1) * dims));
}

function unit(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  return vector.map((x) => x / norm);
}

/** Brute-force top-k indices by cosine (= dot on unit vectors), best first. */
export function exactTopK(base: readonly Float32Array[], query: Float32Array, k: number): number[] {
  const scores = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) scores[i] = dot(base[i] as Float32Array, query);
  return topK(scores, k).map((hit) => hit.index);
}

/** Base rows per onnxruntime call of {@link exactTopKMatrix} (8192 × 384 floats = 12 MiB in, 8192 × queries scores out). */
const BLOCK_ROWS = 8192;

/**
 * The exact top-k (cosine = dot on unit vectors, best first, ties to the lower
 * index) of every query against a row-major `base` matrix, as one blocked
 * matrix product: onnxruntime's MatMul (its MLAS kernels, on `threads` threads)
 * scores blocks of base rows against all queries at once, and each query keeps
 * its k best in a small sorted list. The scores are float32 products with a
 * different summation order than {@link exactTopK}, so a neighbour whose score
 * ties another's within ~1e-6 may be swapped for it; otherwise the answer is
 * the same. For 1M × 384 and a few hundred queries this takes seconds where
 * per-query scans in JavaScript take minutes.
 */
export async function exactTopKMatrix(
  base: Float32Array,
  dims: number,
  queries: readonly Float32Array[],
  k: number,
  threads = 1,
): Promise<number[][]> {
  const count = base.length / dims;
  const q = queries.length;
  // Queries as the constant right-hand side, transposed: dims × q.
  const right = new Float32Array(dims * q);
  for (const [j, query] of queries.entries())
    for (let i = 0; i < dims; i++) right[i * q + j] = query[i] as number;
  const session = await ort.InferenceSession.create(
    encodeOnnxModel({
      name: "exact-top-k",
      inputs: [{ name: "x", type: "float", shape: ["rows", dims] }],
      outputs: [{ name: "y", type: "float", shape: ["rows", q] }],
      initializers: [{ name: "q", dims: [dims, q], data: right }],
      nodes: [{ op: "MatMul", inputs: ["x", "q"], outputs: ["y"] }],
    }),
    { intraOpNumThreads: threads, interOpNumThreads: 1 },
  );
  try {
    // Per query: k best scores (descending) and their indices; -Infinity = empty slot.
    const bestScore = new Float32Array(q * k).fill(Number.NEGATIVE_INFINITY);
    const bestIndex = new Int32Array(q * k).fill(-1);
    for (let start = 0; start < count; start += BLOCK_ROWS) {
      const rows = Math.min(BLOCK_ROWS, count - start);
      const x = new ort.Tensor("float32", base.slice(start * dims, (start + rows) * dims), [rows, dims]);
      const { y } = await session.run({ x });
      const scores = (y as ort.Tensor).data as Float32Array;
      for (let j = 0; j < q; j++) {
        const o = j * k;
        for (let r = 0; r < rows; r++) {
          const score = scores[r * q + j] as number;
          // Strictly better than the current k-th (an equal score keeps the earlier, lower index).
          if (score <= (bestScore[o + k - 1] as number)) continue;
          let p = k - 1;
          while (p > 0 && score > (bestScore[o + p - 1] as number)) {
            bestScore[o + p] = bestScore[o + p - 1] as number;
            bestIndex[o + p] = bestIndex[o + p - 1] as number;
            p--;
          }
          bestScore[o + p] = score;
          bestIndex[o + p] = start + r;
        }
      }
    }
    return queries.map((_, j) => Array.from(bestIndex.subarray(j * k, j * k + Math.min(k, count))));
  } finally {
    await session.release();
  }
}

/** Brute-force top-k of one query over a row-major matrix in JavaScript (the in-Node scan baseline). */
export function scanTopK(base: Float32Array, dims: number, query: Float32Array, k: number): number[] {
  const count = base.length / dims;
  const scores = new Float32Array(count);
  for (let r = 0; r < count; r++) {
    const offset = r * dims;
    let sum = 0;
    for (let i = 0; i < dims; i++) sum += (base[offset + i] as number) * (query[i] as number);
    scores[r] = sum;
  }
  return topK(scores, k).map((hit) => hit.index);
}

/** The q-quantile (0..1) of `values`. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Fraction of `expected` ids among `ids`. */
export function recallOf(ids: readonly string[], expected: readonly string[]): number {
  const truth = new Set(expected);
  return ids.filter((id) => truth.has(id)).length / expected.length;
}
