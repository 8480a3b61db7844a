/**
 * The recommender's numeric core on hand-computed cases: grouping by user,
 * centred profile weights and recency, item-kNN cosine, the blend's scaling
 * and cold-item rule, MMR, and the ranking metrics (NDCG, HR, MAP).
 */
import { describe, expect, it } from "vitest";
import {
  blendScores,
  buildItemNeighbors,
  groupByUser,
  maximalMarginalRelevance,
  profileWeights,
  rankingQuality,
  topIndices,
} from "../../../src/apps/recommend/recommend-math.js";

// Users 0..2, items 0..3: u0 {0,1}, u1 {0,1,2}, u2 {2,3}.
const table = groupByUser(
  {
    user: Uint32Array.of(1, 0, 1, 2, 0, 1, 2),
    item: Uint32Array.of(2, 1, 0, 3, 0, 1, 2),
    rating: Float32Array.of(1, 5, 4, 2, 3, 4, 4),
    time: Float64Array.of(30, 20, 10, 5, 10, 20, 1),
  },
  3,
);

describe("recommend math", () => {
  it("groups interactions by user in time order", () => {
    expect([...table.offsets]).toEqual([0, 2, 5, 7]);
    expect([...table.items.subarray(0, 2)]).toEqual([0, 1]);
    expect([...table.items.subarray(2, 5)]).toEqual([0, 1, 2]);
    expect([...table.items.subarray(5, 7)]).toEqual([2, 3]);
  });

  it("centres weights on the user's mean rating and decays them by age", () => {
    // u1 rated 4, 4, 1 (mean 3) → 1, 1, −2.
    expect([...profileWeights(table, 1).weights]).toEqual([1, 1, -2]);
    // Half-life 10 s: ages 20, 10, 0 → factors 0.25, 0.5, 1.
    expect([...profileWeights(table, 1, { halfLifeSeconds: 10 }).weights]).toEqual([0.25, 0.5, -2]);
  });

  it("item-kNN similarity is the cosine of the items' user sets", () => {
    const model = buildItemNeighbors(table, 4, 10);
    const neighbours = (i: number) =>
      Object.fromEntries(
        [...model.neighbors.subarray(model.offsets[i], model.offsets[i + 1])].map((j, p) => [
          j,
          model.similarities[(model.offsets[i] as number) + p],
        ]),
      );
    // items 0 and 1 share both users; 0 and 2 share u1 (|U0| = 2, |U2| = 2).
    expect(neighbours(0)[1]).toBeCloseTo(1, 6);
    expect(neighbours(0)[2]).toBeCloseTo(0.5, 6);
    expect(neighbours(3)).toEqual({ 2: expect.closeTo(1 / Math.sqrt(2), 6) });
    expect(buildItemNeighbors(table, 4, 1).offsets[4]).toBe(4);
  });

  it("blends min–max scaled scores, and cold items take their content score as CF", () => {
    const allowed = Uint8Array.of(1, 1, 1, 0);
    const content = Float32Array.of(0.2, 0.6, 1.0, 5);
    const cf = Float32Array.of(2, 0, 0, 9);
    const plain = blendScores(content, cf, 0.5, allowed);
    expect([...plain.subarray(0, 3)].map((x) => Number(x.toFixed(4)))).toEqual([0.5, 0.2505, 0.501]);
    expect(plain[3]).toBe(Number.NEGATIVE_INFINITY);
    const cold = blendScores(content, cf, 0.5, allowed, Uint8Array.of(0, 0, 1, 0));
    expect(cold[2]).toBeCloseTo(1.001, 6);
  });

  it("MMR with diversity 0 keeps the order and otherwise skips near-duplicates", () => {
    // Items 0 and 1 identical, item 2 orthogonal.
    const vectors = Float32Array.of(1, 0, 1, 0, 0, 1);
    expect(maximalMarginalRelevance([0, 1, 2], [1, 0.9, 0.5], vectors, 2, 2, 0)).toEqual([0, 1]);
    expect(maximalMarginalRelevance([0, 1, 2], [1, 0.9, 0.5], vectors, 2, 2, 0.5)).toEqual([0, 2]);
    expect(() => maximalMarginalRelevance([0], [1], vectors, 2, 1, 2)).toThrow(/diversity/);
  });

  it("NDCG, HR and MAP at k", () => {
    const relevant = new Set(["a", "c"]);
    const quality = rankingQuality(["a", "b", "c"], relevant, 10);
    const ideal = 1 + 1 / Math.log2(3);
    expect(quality.ndcg).toBeCloseTo((1 + 1 / Math.log2(4)) / ideal, 10);
    expect(quality.hit).toBe(1);
    expect(quality.averagePrecision).toBeCloseTo((1 + 2 / 3) / 2, 10);
    expect(rankingQuality(["b"], relevant, 10)).toEqual({ ndcg: 0, hit: 0, averagePrecision: 0 });
  });
});

describe("topIndices", () => {
  it("returns the k best, ties by lower index, never −∞", () => {
    const scores = Float32Array.of(0.5, 2, Number.NEGATIVE_INFINITY, 2, 1, 0.5);
    expect([...topIndices(scores, 3)]).toEqual([1, 3, 4]);
    expect([...topIndices(scores, 10)]).toEqual([1, 3, 4, 0, 5]);
    expect([...topIndices(Float32Array.of(Number.NEGATIVE_INFINITY), 2)]).toEqual([]);
  });
});
