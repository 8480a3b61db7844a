/** Retrieval metrics on hand-computed rankings (trec_eval definitions). */
import { describe, expect, it } from "vitest";
import {
  averagePrecisionAtK,
  meanOverQueries,
  ndcgAtK,
  recallAtK,
  reciprocalRankAtK,
} from "../../src/eval/retrieval-metrics.js";

const judgements = (entries: Record<string, number>): Map<string, number> => new Map(Object.entries(entries));

describe("ndcgAtK", () => {
  it("uses linear gains and a log2(rank + 1) discount against the ideal ranking", () => {
    // DCG = 1/log2(3) + 2/log2(4); ideal = 2/log2(2) + 1/log2(3).
    const expected = (1 / Math.log2(3) + 1) / (2 + 1 / Math.log2(3));
    expect(ndcgAtK(["a", "b", "c"], judgements({ b: 1, c: 2 }), 3)).toBeCloseTo(expected, 12);
    expect(ndcgAtK(["b", "a"], judgements({ b: 1 }), 10)).toBe(1);
    expect(ndcgAtK(["a", "b"], judgements({ b: 1 }), 10)).toBeCloseTo(1 / Math.log2(3), 12);
  });

  it("cuts at k: a relevant document below k gives nothing", () => {
    expect(ndcgAtK(["a", "b", "c"], judgements({ c: 1 }), 2)).toBe(0);
  });

  it("returns null for a query without relevant documents (empty or all-zero judgements)", () => {
    expect(ndcgAtK(["a"], judgements({}), 10)).toBeNull();
    expect(ndcgAtK(["a"], judgements({ a: 0 }), 10)).toBeNull();
  });

  it("rejects k that is not a positive integer", () => {
    expect(() => ndcgAtK(["a"], judgements({ a: 1 }), 0)).toThrow(/k must be a positive integer/);
  });
});

describe("reciprocalRankAtK, recallAtK, averagePrecisionAtK", () => {
  const ranked = ["a", "b", "c", "d"];
  const relevance = judgements({ a: 1, c: 1, e: 1 });

  it("reciprocal rank of the first hit within k", () => {
    expect(reciprocalRankAtK(["x", "y", "c"], judgements({ c: 1 }), 2)).toBe(0);
    expect(reciprocalRankAtK(["x", "y", "c"], judgements({ c: 1 }), 3)).toBeCloseTo(1 / 3, 12);
    expect(reciprocalRankAtK(ranked, judgements({}), 10)).toBeNull();
  });

  it("recall counts relevant documents not retrieved in the denominator", () => {
    expect(recallAtK(ranked, relevance, 2)).toBeCloseTo(1 / 3, 12);
    expect(recallAtK(ranked, relevance, 4)).toBeCloseTo(2 / 3, 12);
    expect(recallAtK(ranked, judgements({}), 4)).toBeNull();
  });

  it("average precision divides by all relevant documents (trec_eval map)", () => {
    // Hits at ranks 1 and 3: (1 + 2/3) / 3.
    expect(averagePrecisionAtK(ranked, relevance, 10)).toBeCloseTo((1 + 2 / 3) / 3, 12);
    expect(averagePrecisionAtK(ranked, relevance, 2)).toBeCloseTo(1 / 3, 12);
    expect(averagePrecisionAtK(ranked, judgements({}), 10)).toBeNull();
  });
});

describe("meanOverQueries", () => {
  it("leaves out queries without relevant documents and counts them", () => {
    expect(meanOverQueries([1, null, 0.5])).toEqual({ mean: 0.75, scored: 2, skipped: 1 });
    expect(meanOverQueries([null])).toEqual({ mean: 0, scored: 0, skipped: 1 });
  });
});
