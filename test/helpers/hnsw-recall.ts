/**
 * A small recall check for an hnswlib-node addon: seeded random vectors, an HNSW index, and the
 * exact top-10 by brute force. Shared by the tests of the native-build install step and of the
 * installed addon.
 */
import type { Hnswlib } from "../../src/internal/load-dependency.js";

/** recall@10 of `addon`'s HNSW index against exact inner-product search on seeded data. */
export function hnswRecallAt10(
  addon: Pick<Hnswlib, "HierarchicalNSW">,
  { count = 2000, dims = 64 } = {},
): number {
  let seed = 7;
  const random = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const points = Array.from({ length: count }, () => Array.from({ length: dims }, random));
  const queries = Array.from({ length: 50 }, () => Array.from({ length: dims }, random));
  const index = new addon.HierarchicalNSW("ip", dims);
  index.initIndex({ maxElements: count, m: 16, efConstruction: 100, randomSeed: 100 });
  points.forEach((point, label) => {
    index.addPoint(point, label);
  });
  index.setEf(100);
  let found = 0;
  for (const query of queries) {
    const exact = points
      .map((point, label) => ({
        label,
        score: point.reduce((sum, value, i) => sum + value * (query[i] ?? 0), 0),
      }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 10)
      .map((hit) => hit.label);
    const approximate = new Set(index.searchKnn(query, 10).neighbors);
    found += exact.filter((label) => approximate.has(label)).length;
  }
  return found / (queries.length * 10);
}
