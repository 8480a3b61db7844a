/**
 * @module bench/lib/vector-bench-data
 * Data and measurements shared by the vector store benchmarks: embedding-like
 * unit vectors (a seeded mixture of Gaussian clusters), the exact top-k by
 * brute force (the ground truth and the baseline), recall@k and percentiles.
 */
import { dot, topK } from "../../src/vectors/math.js";
import { createRandom } from "../../src/vectors/random.js";

/**
 * `count` unit vectors of `dims` around 256 random unit centres with noise of
 * norm ~0.8. Uniform random vectors would be unrealistically hard for HNSW;
 * real sentence embeddings are clustered. The centres depend only on `dims`;
 * `seed` picks the points (1 = base set, 2 = queries).
 */
export function makeVectors(count: number, dims: number, seed: number): Float32Array[] {
  const random = createRandom(12345);
  const centres = Array.from({ length: 256 }, () =>
    unit(Float32Array.from({ length: dims }, () => random.gaussian())),
  );
  const local = createRandom(seed);
  const noise = 0.8 / Math.sqrt(dims);
  return Array.from({ length: count }, () => {
    const centre = centres[local.integer(centres.length)] as Float32Array;
    return unit(centre.map((x) => x + noise * local.gaussian()));
  });
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
