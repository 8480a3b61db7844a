/**
 * Hashed n-gram features of the character tagger: one id per template per
 * unit, in range, the same for the same context and different for a different
 * one, with sentence padding at both ends.
 */
import { describe, expect, it } from "vitest";
import { NGRAM_TEMPLATES, writeNgramIds } from "../../src/ner/ngrams.js";

const SLOTS = NGRAM_TEMPLATES.length;

function ids(units: readonly string[], buckets = 1 << 18): number[][] {
  const out = new Float32Array(units.length * SLOTS).fill(-5);
  writeNgramIds(units, buckets, out, (position) => position * SLOTS, 0);
  return units.map((_, position) => Array.from(out.subarray(position * SLOTS, (position + 1) * SLOTS)));
}

describe("writeNgramIds", () => {
  it("writes one integer id in [0, buckets) per template for every unit", () => {
    const rows = ids(["我", "在", "北", "京"], 1000);
    expect(NGRAM_TEMPLATES).toEqual([
      "U-2",
      "U-1",
      "U0",
      "U+1",
      "U+2",
      "B-2-1",
      "B-10",
      "B0+1",
      "B+1+2",
      "S-1+1",
    ]);
    for (const row of rows) {
      expect(row).toHaveLength(SLOTS);
      for (const id of row) {
        expect(Number.isInteger(id)).toBe(true);
        expect(id).toBeGreaterThanOrEqual(0);
        expect(id).toBeLessThan(1000);
      }
    }
  });

  it("gives the same n-gram in the same template the same id, across positions and sentences", () => {
    const [a] = [ids(["北", "京", "市"])];
    const b = ids(["在", "北", "京", "市"]);
    // "京" as the current unit, and the bigram "北京" ending at it.
    expect(a[1]?.[2]).toBe(b[2]?.[2]);
    expect(a[1]?.[6]).toBe(b[2]?.[6]);
    // Current unit "北" vs "京" differ; the same character in another template differs too.
    expect(a[0]?.[2]).not.toBe(a[1]?.[2]);
    expect(a[1]?.[2]).not.toBe(a[2]?.[1]);
  });

  it("pads the sentence: the first unit's left context is the begin marker, the last one's right context the end marker", () => {
    const rows = ids(["王", "五"]);
    const other = ids(["张", "王", "五", "说"]);
    // U-1 of "王" at the start (<s>) differs from U-1 of "王" after "张".
    expect(rows[0]?.[1]).not.toBe(other[1]?.[1]);
    // Two sentences starting differently still share the <s> padding in U-2 of their first unit.
    expect(rows[0]?.[0]).toBe(other[0]?.[0]);
    // Last unit's U+1 is </s> in both sentences.
    expect(rows[1]?.[3]).toBe(other[3]?.[3]);
  });

  it("writes at the given row offsets and column offset without touching other columns", () => {
    const out = new Float32Array(2 * (SLOTS + 3)).fill(7);
    writeNgramIds(["中", "国"], 97, out, (position) => position * (SLOTS + 3), 3);
    expect(Array.from(out.subarray(0, 3))).toEqual([7, 7, 7]);
    expect(Array.from(out.subarray(SLOTS + 3, SLOTS + 6))).toEqual([7, 7, 7]);
    expect(out.subarray(3, 3 + SLOTS).every((id) => id >= 0 && id < 97)).toBe(true);
  });
});
