import { describe, expect, it } from "vitest";
import type { ModelInfo } from "../../src/embed/embedder.js";
import { applyPrefix, resolveEmbedOptions, validateTexts } from "../../src/embed/inputs.js";
import { planBatches } from "../../src/embed/onnx/onnx-embedder.js";

const model: ModelInfo = {
  id: "test",
  dims: 8,
  modality: "text",
  maxTokens: 16,
  pooling: "mean",
  normalize: true,
  prefixes: { query: "query: ", passage: "passage: " },
  maxBatchSize: 4,
};

describe("input validation", () => {
  it("accepts non-empty strings and rejects everything else with the index", () => {
    expect(() => validateTexts(["a", " "])).not.toThrow();
    expect(() => validateTexts(["a", ""])).toThrow(/Input 1 is an empty string/);
    expect(() => validateTexts([1])).toThrow(/Input 0 must be a string, received number/);
    expect(() => validateTexts([["nested"]])).toThrow(/received array/);
    expect(() => validateTexts({ length: 1 })).toThrow(/received object/);
    expect(() => validateTexts(undefined)).toThrow(/received undefined/);
  });

  it("resolves defaults without mutating the caller's options", () => {
    const options = Object.freeze({ dimensions: 4 });
    expect(resolveEmbedOptions(model, options)).toEqual({
      inputType: "none",
      truncate: true,
      dimensions: 4,
      precision: "float32",
    });
    expect(() => resolveEmbedOptions(model, { dimensions: 9 })).toThrow(/between 1 and 8/);
    expect(() => resolveEmbedOptions(model, { dimensions: -1 })).toThrow(/received -1/);
    expect(() => resolveEmbedOptions(model, { dimensions: Number.NaN })).toThrow(/received NaN/);
    expect(() => resolveEmbedOptions(model, { inputType: "document" as "query" })).toThrow(
      /inputType must be one of/,
    );
    expect(() => resolveEmbedOptions(model, { truncate: "yes" as unknown as boolean })).toThrow(
      /truncate must be a boolean/,
    );
  });

  it("applies query/passage prefixes only when asked", () => {
    expect(applyPrefix("hi", "query", model.prefixes)).toBe("query: hi");
    expect(applyPrefix("hi", "passage", model.prefixes)).toBe("passage: hi");
    expect(applyPrefix("hi", "none", model.prefixes)).toBe("hi");
    expect(applyPrefix("hi", "passage", { query: "q: " })).toBe("hi");
  });
});

describe("batch planning", () => {
  it("sorts by length and respects the batch size and token budget", () => {
    const lengths = [5, 100, 7, 50, 6, 98];
    const batches = planBatches(lengths, 2, 1000);
    expect(batches.map((b) => b.indices)).toEqual([
      [1, 5],
      [3, 2],
      [4, 0],
    ]);
    expect(batches.map((b) => b.length)).toEqual([100, 50, 6]);
    const budget = planBatches(lengths, 10, 200);
    for (const batch of budget) expect(batch.length * batch.indices.length).toBeLessThanOrEqual(200);
    expect(budget.flatMap((b) => b.indices).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("puts an input longer than the budget in a batch of its own", () => {
    expect(planBatches([500, 3], 8, 100).map((b) => b.indices)).toEqual([[0], [1]]);
  });
});

describe("padding-aware batch planning", () => {
  it("splits one call of mixed lengths so padded/real tokens stay near 1.15, with at least 8 rows per batch", () => {
    let seed = 3;
    // One call of 128 mixed-length texts (as a caller batching by 128 sends them).
    const lengths = Array.from({ length: 128 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return 5 + Math.floor((seed / 2 ** 31) ** 3 * 120);
    });
    const batches = planBatches(lengths, 128, 1_000_000);
    const padded = batches.reduce((sum, b) => sum + b.length * b.indices.length, 0);
    const real = lengths.reduce((a, b) => a + b, 0);
    expect(padded / real).toBeLessThan(1.2);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches.slice(0, -1)) expect(batch.indices.length).toBeGreaterThanOrEqual(8);
    expect(batches.flatMap((b) => b.indices).sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
  });
});
