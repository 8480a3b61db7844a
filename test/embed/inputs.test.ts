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
