/**
 * @module eval/kmeans
 * Seeded k-means (Lloyd's algorithm) with k-means++ initialisation (Arthur &
 * Vassilvitskii 2007), for the clustering task. With the same seed and input it
 * returns the same clustering on every run. Several restarts (`restarts`) keep the
 * one with the lowest inertia, like scikit-learn's `n_init`. An empty cluster is
 * re-seeded with the point farthest from its centroid, so exactly k clusters are
 * returned whenever there are at least k distinct points.
 */
import { checkInteger } from "../internal/options.js";
import { createRandom, type Random } from "./random.js";
import { checkVectorSet } from "./vector-set.js";

/** Options of {@link kMeans}. */
export interface KMeansOptions {
  /** Number of clusters. */
  readonly k: number;
  /** Seed of the k-means++ draws. @default 42 */
  readonly seed?: number;
  /** Most Lloyd iterations per restart. @default 100 */
  readonly maxIterations?: number;
  /** Independent restarts; the lowest-inertia result wins. @default 3 */
  readonly restarts?: number;
}

/** Result of {@link kMeans}. */
export interface KMeansResult {
  /** Cluster index (0..k-1) of each input vector. */
  readonly assignments: Int32Array;
  /** The k centroids. */
  readonly centroids: Float64Array[];
  /** Sum of squared distances of points to their centroid. */
  readonly inertia: number;
  /** Lloyd iterations of the winning restart. */
  readonly iterations: number;
}

function squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const difference = (a[i] as number) - (b[i] as number);
    sum += difference * difference;
  }
  return sum;
}

function initialise(vectors: readonly Float32Array[], k: number, random: Random): Float64Array[] {
  const n = vectors.length;
  const centroids: Float64Array[] = [Float64Array.from(vectors[random.integer(n)] as Float32Array)];
  const closest = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  while (centroids.length < k) {
    const last = centroids[centroids.length - 1] as Float64Array;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const distance = squaredDistance(vectors[i] as Float32Array, last);
      if (distance < (closest[i] as number)) closest[i] = distance;
      total += closest[i] as number;
    }
    // Draw the next centre with probability proportional to D(x)^2.
    let target = random.next() * total;
    let chosen = n - 1;
    for (let i = 0; i < n; i++) {
      target -= closest[i] as number;
      if (target < 0) {
        chosen = i;
        break;
      }
    }
    centroids.push(Float64Array.from(vectors[chosen] as Float32Array));
  }
  return centroids;
}

function lloyd(
  vectors: readonly Float32Array[],
  centroids: Float64Array[],
  maxIterations: number,
): { assignments: Int32Array; inertia: number; iterations: number } {
  const n = vectors.length;
  const k = centroids.length;
  const dims = (vectors[0] as Float32Array).length;
  const assignments = new Int32Array(n).fill(-1);
  let inertia = 0;
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    let changed = 0;
    inertia = 0;
    const distances = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestDistance = Number.POSITIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        const distance = squaredDistance(vectors[i] as Float32Array, centroids[c] as Float64Array);
        if (distance < bestDistance) {
          bestDistance = distance;
          best = c;
        }
      }
      if (assignments[i] !== best) changed++;
      assignments[i] = best;
      distances[i] = bestDistance;
      inertia += bestDistance;
    }
    if (changed === 0) break;
    const sums = Array.from({ length: k }, () => new Float64Array(dims));
    const counts = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      const cluster = assignments[i] as number;
      counts[cluster] = (counts[cluster] as number) + 1;
      const sum = sums[cluster] as Float64Array;
      const vector = vectors[i] as Float32Array;
      for (let d = 0; d < dims; d++) sum[d] = (sum[d] as number) + (vector[d] as number);
    }
    for (let c = 0; c < k; c++) {
      const count = counts[c] as number;
      if (count === 0) {
        // Re-seed an empty cluster with the worst-served point.
        let farthest = 0;
        for (let i = 1; i < n; i++)
          if ((distances[i] as number) > (distances[farthest] as number)) farthest = i;
        centroids[c] = Float64Array.from(vectors[farthest] as Float32Array);
        distances[farthest] = 0;
        continue;
      }
      const sum = sums[c] as Float64Array;
      for (let d = 0; d < dims; d++) sum[d] = (sum[d] as number) / count;
      centroids[c] = sum;
    }
  }
  return { assignments, inertia, iterations };
}

/**
 * Cluster vectors into k groups with k-means++ seeding and Lloyd iterations.
 *
 * @throws EmbedkitError INVALID_OPTION when k is not an integer in [1, number of
 *   vectors] or restarts/maxIterations are not positive integers;
 *   DIMENSION_MISMATCH when the vectors differ in length.
 * @example
 * ```ts
 * const { assignments } = kMeans(vectors, { k: 4, seed: 7 });
 * ```
 */
export function kMeans(vectors: readonly Float32Array[], options: KMeansOptions): KMeansResult {
  const { k } = options;
  const restarts = options.restarts ?? 3;
  const maxIterations = options.maxIterations ?? 100;
  // k is at most the number of vectors (each cluster needs one).
  checkInteger("k", k, { min: 1, max: vectors.length });
  checkInteger("restarts", restarts, { min: 1 });
  checkInteger("maxIterations", maxIterations, { min: 1 });
  checkVectorSet(vectors, 1, "kMeans");
  const random = createRandom(options.seed ?? 42);
  let best: KMeansResult | undefined;
  for (let restart = 0; restart < restarts; restart++) {
    const centroids = initialise(vectors, k, random);
    const run = lloyd(vectors, centroids, maxIterations);
    if (best === undefined || run.inertia < best.inertia) best = { ...run, centroids };
  }
  return best as KMeansResult;
}
