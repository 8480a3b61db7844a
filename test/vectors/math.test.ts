import { describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import {
  cosineSimilarity,
  dot,
  euclideanDistance,
  norm,
  normalize,
  similarityMatrix,
  topK,
  truncateDimensions,
} from "../../src/vectors/math.js";

describe("vector math", () => {
  it("computes dot, norm, cosine and euclidean on hand-checked values", () => {
    expect(dot([1, 2, 3], [4, 5, 6])).toBe(32);
    expect(norm([3, 4])).toBe(5);
    expect(cosineSimilarity([1, 0], [0.6, 0.8])).toBeCloseTo(0.6, 12);
    expect(cosineSimilarity([1, 2], [-1, -2])).toBeCloseTo(-1, 12);
    expect(euclideanDistance([0, 0], [3, 4])).toBe(5);
    expect(cosineSimilarity(new Float32Array([1, 1]), new Float32Array([1, 1]))).toBeCloseTo(1, 6);
  });

  it("returns 0 cosine for a zero vector instead of NaN", () => {
    expect(cosineSimilarity([0, 0], [1, 2])).toBe(0);
  });

  it("rejects mismatched dimensions with expected vs received", () => {
    expect(() => dot([1, 2], [1, 2, 3])).toThrow(/expected 2, received 3/);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(EmbedkitError);
    expect(() => euclideanDistance("ab" as unknown as number[], [1, 2])).toThrow(/received string/);
  });

  it("normalizes to unit length without touching the input", () => {
    const input = [3, 4];
    const unit = normalize(input);
    expect(Array.from(unit)).toEqual([0.6000000238418579, 0.800000011920929]);
    expect(input).toEqual([3, 4]);
    expect(Array.from(normalize([0, 0]))).toEqual([0, 0]);
  });

  it("truncates Matryoshka-style and re-normalizes", () => {
    const v = truncateDimensions([3, 4, 12], 2);
    expect(v.length).toBe(2);
    expect(norm(v)).toBeCloseTo(1, 6);
    expect(() => truncateDimensions([1, 2], 3)).toThrow(/between 1 and 2/);
    expect(() => truncateDimensions([1, 2], 0)).toThrow(EmbedkitError);
    expect(() => truncateDimensions([1, 2], 1.5)).toThrow(EmbedkitError);
  });

  it("builds similarity matrices for each metric", () => {
    const vectors = [
      [1, 0],
      [0, 1],
    ];
    expect(similarityMatrix(vectors)).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(similarityMatrix(vectors, vectors, "euclidean")[0]?.[1]).toBeCloseTo(Math.SQRT2, 12);
    expect(similarityMatrix(vectors, [[2, 2]], "dot")).toEqual([[2], [2]]);
  });

  it("selects top-k best first with stable ties", () => {
    expect(topK([0.1, 0.9, 0.5, 0.9, -1], 3)).toEqual([
      { index: 1, score: 0.9 },
      { index: 3, score: 0.9 },
      { index: 2, score: 0.5 },
    ]);
    expect(topK([1, 2], 5).map((h) => h.index)).toEqual([1, 0]);
    expect(() => topK([1], 0)).toThrow(/positive integer/);
  });

  it("top-k agrees with a full sort on random data", () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const scores = Array.from({ length: 5000 }, random);
    const expected = scores
      .map((score, index) => ({ index, score }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, 25);
    expect(topK(scores, 25)).toEqual(expected);
  });
});
