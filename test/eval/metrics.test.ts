import { describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import { pearson, rankWithTies, spearman } from "../../src/eval/metrics.js";

const invalidInput = (fragment: string): unknown =>
  expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining(fragment) });

describe("rankWithTies", () => {
  it("gives 1-based ranks in input order", () => {
    expect([...rankWithTies([30, 10, 20])]).toEqual([3, 1, 2]);
  });

  it("gives tied values the average of the ranks they span", () => {
    expect([...rankWithTies([10, 20, 20, 30])]).toEqual([1, 2.5, 2.5, 4]);
    expect([...rankWithTies([3, 1, 3, 2])]).toEqual([3.5, 1, 3.5, 2]);
    // Three-way tie at the top: ranks 3, 4, 5 → 4.
    expect([...rankWithTies([7, 7, 1, 7, 0])]).toEqual([4, 4, 2, 4, 1]);
    expect([...rankWithTies([5, 5, 5])]).toEqual([2, 2, 2]);
  });

  it("handles negatives, typed arrays and the empty list", () => {
    expect([...rankWithTies(new Float32Array([-1.5, 2, -3]))]).toEqual([2, 3, 1]);
    expect([...rankWithTies([])]).toEqual([]);
  });

  it("rejects NaN and non-arrays", () => {
    expect(() => rankWithTies([1, Number.NaN])).toThrow(EmbedkitError);
    expect(() => rankWithTies([1, Number.NaN])).toThrow(invalidInput("values[1] must be a finite number"));
    expect(() => rankWithTies("12" as unknown as number[])).toThrow(invalidInput("received string"));
  });
});

describe("pearson", () => {
  it("is 1 for a perfect increasing line and -1 for a decreasing one", () => {
    expect(pearson([1, 2, 3, 4], [10, 20, 30, 40])).toBe(1);
    expect(pearson([1, 2, 3, 4], [8, 6, 4, 2])).toBe(-1);
  });

  it("matches a hand-computed value", () => {
    // means 3 and 4; Σdxdy = 6, Σdx² = 10, Σdy² = 6 → 6 / √60
    expect(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])).toBeCloseTo(6 / Math.sqrt(60), 12);
    expect(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])).toBeCloseTo(0.7745966692414834, 12);
  });

  it("is symmetric, scale- and shift-invariant, and stays in [-1, 1]", () => {
    const x = [0.1, 0.5, 0.2, 0.9, 0.4];
    const y = [1, 3, 2, 5, 2];
    const r = pearson(x, y);
    expect(pearson(y, x)).toBeCloseTo(r, 12);
    expect(
      pearson(
        x.map((v) => v * 1000 + 1e6),
        y,
      ),
    ).toBeCloseTo(r, 9);
    expect(Math.abs(r)).toBeLessThanOrEqual(1);
  });

  it("is not 1 for a monotone but non-linear relation", () => {
    expect(pearson([1, 2, 3, 4], [1, 4, 9, 16])).toBeLessThan(1);
  });

  it("throws INVALID_INPUT on length mismatch, fewer than 2 items, NaN, Infinity and zero variance", () => {
    expect(() => pearson([1, 2, 3], [1, 2])).toThrow(invalidInput("same length, received 3 and 2"));
    expect(() => pearson([1], [1])).toThrow(invalidInput("at least 2 items, received 1"));
    expect(() => pearson([], [])).toThrow(invalidInput("at least 2 items, received 0"));
    expect(() => pearson([1, Number.NaN, 3], [1, 2, 3])).toThrow(
      invalidInput("x[1] must be a finite number"),
    );
    expect(() => pearson([1, 2, 3], [1, 2, Number.POSITIVE_INFINITY])).toThrow(invalidInput("y[2]"));
    expect(() => pearson([2, 2, 2], [1, 2, 3])).toThrow(
      invalidInput("zero variance: all 3 x values are equal"),
    );
    expect(() => pearson([1, 2, 3], [4, 4, 4])).toThrow(invalidInput("all 3 y values are equal"));
  });
});

describe("spearman", () => {
  it("is 1 for any increasing relation and -1 for a decreasing one", () => {
    expect(spearman([1, 2, 3, 4], [1, 4, 9, 16])).toBe(1);
    expect(spearman([1, 2, 3, 4], [100, 10, 1, 0.5])).toBe(-1);
  });

  it("uses average ranks for ties in one list (scipy: sqrt(0.9))", () => {
    // ranks x = [1, 2.5, 2.5, 4], y = [1, 2, 3, 4]: Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(Math.sqrt(0.9), 12);
  });

  it("matches scipy.stats.spearmanr's documented example with a tie", () => {
    // scipy docs: spearmanr([1,2,3,4,5], [5,6,7,8,7]) → 0.8207826816681233 (= 8 / √95)
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(0.8207826816681233, 12);
  });

  it("uses average ranks for ties in both lists", () => {
    // ranks x = [1.5, 1.5, 3.5, 3.5], y = [1, 2.5, 2.5, 4]: 3 / √(4 · 4.5) = 1/√2
    expect(spearman([1, 1, 2, 2], [1, 2, 2, 3])).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it("differs from the no-ties shortcut formula 1 - 6Σd²/(n(n²-1)) when there are ties", () => {
    // The shortcut gives 1 - 6·0.5/60 = 0.95 here; the exact tie-corrected value is √0.9.
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).not.toBeCloseTo(0.95, 3);
  });

  it("accepts typed arrays", () => {
    expect(spearman(new Float64Array([0.2, 0.1, 0.3]), new Float32Array([2, 1, 3]))).toBe(1);
  });

  it("throws INVALID_INPUT when one side is all ties, on NaN and on bad lengths", () => {
    expect(() => spearman([1, 2, 3], [0, 0, 0])).toThrow(invalidInput("Spearman's rho is undefined"));
    expect(() => spearman([1, 2], [1, Number.NaN])).toThrow(invalidInput("y[1]"));
    expect(() => spearman([1, 2], [1, 2, 3])).toThrow(invalidInput("same length"));
    expect(() => spearman([5], [5])).toThrow(invalidInput("at least 2"));
    expect(() => spearman(null as unknown as number[], [1, 2])).toThrow(invalidInput("received null"));
  });
});
