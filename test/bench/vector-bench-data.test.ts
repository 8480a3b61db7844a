/**
 * The store benchmark's fast data path gives the same answers as the simple
 * one: the matrix generator returns makeVectors' numbers, and the blocked
 * onnxruntime top-k matches a per-query scan (exactTopK) except where two
 * candidates tie within float32 rounding.
 */
import { describe, expect, it } from "vitest";
import { fitSpectrum } from "../../bench/lib/real-vectors.js";
import {
  exactTopK,
  exactTopKMatrix,
  makeVectorMatrix,
  makeVectors,
  rowsOf,
  scanTopK,
} from "../../bench/lib/vector-bench-data.js";
import { dot } from "../../src/vectors/math.js";

const DIMS = 48;
// More rows than one onnxruntime block (8192), and not a multiple of it.
const COUNT = 9000;

describe("store bench data", () => {
  const matrix = makeVectorMatrix(COUNT, DIMS, 1);
  const rows = rowsOf(matrix, DIMS);
  const queries = makeVectors(25, DIMS, 2);

  it("makeVectorMatrix holds makeVectors' vectors, row by row", () => {
    const vectors = makeVectors(300, DIMS, 1);
    expect(matrix.length).toBe(COUNT * DIMS);
    for (const [i, vector] of vectors.entries()) expect(rows[i]).toEqual(vector);
  });

  it("exactTopKMatrix (blocked product) finds the same top-10 as a scan per query", async () => {
    const blocked = await exactTopKMatrix(matrix, DIMS, queries, 10);
    expect(blocked).toHaveLength(queries.length);
    for (const [j, query] of queries.entries()) {
      const expected = exactTopK(rows, query, 10);
      const got = blocked[j] as number[];
      expect(got).toHaveLength(10);
      expect(new Set(got).size).toBe(10);
      expect(scanTopK(matrix, DIMS, query, 10)).toEqual(expected);
      // Same ids in the same order, except neighbours whose scores tie within float32 rounding.
      for (const [rank, index] of got.entries()) {
        const want = expected[rank] as number;
        if (index === want) continue;
        expect(
          Math.abs(dot(rows[index] as Float32Array, query) - dot(rows[want] as Float32Array, query)),
        ).toBeLessThan(1e-5);
      }
    }
  });

  it("exactTopKMatrix returns every row when k exceeds the count", async () => {
    const small = makeVectorMatrix(4, DIMS, 3);
    const [top] = await exactTopKMatrix(small, DIMS, [queries[0] as Float32Array], 10);
    expect([...(top as number[])].sort()).toEqual([0, 1, 2, 3]);
  });

  it("spectrum samples (onnxruntime MatMul blocks) are seeded unit vectors with the fitted spectrum", async () => {
    const model = fitSpectrum(makeVectors(400, DIMS, 4));
    const count = 4100; // more than one block of 4096
    const sampled = await model.sampleMatrix(count, 9);
    expect(sampled.length).toBe(count * DIMS);
    expect(await model.sample(3, 9)).toEqual(rowsOf(sampled.slice(0, 3 * DIMS), DIMS));
    for (let r = 0; r < count; r += 1023) {
      const row = sampled.subarray(r * DIMS, (r + 1) * DIMS);
      expect(Math.abs(dot(row, row) - 1)).toBeLessThan(1e-5);
    }
    // The samples have the fitted spectrum: refitting on them gives about the same effective dimension.
    const refit = fitSpectrum(rowsOf(sampled, DIMS));
    expect(refit.effectiveDims / model.effectiveDims).toBeGreaterThan(0.85);
    expect(refit.effectiveDims / model.effectiveDims).toBeLessThan(1.15);
    // Same seed ⇒ same rows; another seed ⇒ other rows.
    expect(await model.sampleMatrix(5, 9)).toEqual(sampled.slice(0, 5 * DIMS));
    expect(await model.sampleMatrix(5, 10)).not.toEqual(sampled.slice(0, 5 * DIMS));
  });
});
