/**
 * The fine-tuning memory estimate: its parts by hand for all-MiniLM-L6-v2's
 * shape (parameter count read from the real ONNX file), growth with batch and
 * length, the largest safe batch at its boundary, and the refusal message.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createModelStore } from "../../../src/models/index.js";
import {
  assertBatchFitsMemory,
  estimateTrainingMemory,
  largestSafeBatch,
  MEMORY_HEADROOM,
  readOnnxInitializers,
} from "../../../src/train/finetune/index.js";

const GIB = 1024 ** 3;
let params: number;
const shape = { layers: 6, hidden: 384, heads: 12 };

beforeAll(async () => {
  const onnx = (await createModelStore().ensure("all-minilm-l6-v2")).path("onnx");
  params = [...(await readOnnxInitializers(onnx)).values()].reduce(
    (sum, tensor) => sum + tensor.values.length,
    0,
  );
});

describe("estimateTrainingMemory", () => {
  it("adds weights, gradients, Adam state, activations and the runtime", () => {
    // Embeddings, 6 layers and their LayerNorms; this export has no pooler (22.7M with one).
    expect(params).toBe(22_565_376);
    const estimate = estimateTrainingMemory({ params, batch: 32, seqLen: 128, ...shape, runtimeBytes: 0 });
    expect(estimate.weights).toBe(params * 4);
    expect(estimate.gradients).toBe(params * 4);
    expect(estimate.optimizer).toBe(params * 8);
    // 6 × s·b·h·(34 + 5·a·s/h)·2 + s·b·h·4 = 6 × 128·32·384·(34 + 20)·2 + 128·32·384·4
    expect(estimate.activations).toBe(6 * 128 * 32 * 384 * 54 * 2 + 128 * 32 * 384 * 4);
    expect(estimate.total).toBe(estimate.weights * 4 + estimate.activations);
    expect(
      estimateTrainingMemory({ params, batch: 32, seqLen: 128, ...shape, optimizer: "sgd" }).optimizer,
    ).toBe(0);
  });

  it("grows linearly with the batch and faster than linearly with the length", () => {
    const at = (batch: number, seqLen: number) =>
      estimateTrainingMemory({ params, batch, seqLen, ...shape }).activations;
    expect(at(64, 128)).toBe(2 * at(32, 128));
    expect(at(32, 256)).toBeGreaterThan(2 * at(32, 128));
  });

  it("refuses sizes that are not positive integers and unknown optimizers", () => {
    expect(() => estimateTrainingMemory({ params, batch: 0, seqLen: 128, ...shape })).toThrow(/batch/);
    expect(() =>
      estimateTrainingMemory({ params, batch: 8, seqLen: 128, ...shape, optimizer: "lion" as "adam" }),
    ).toThrow(/optimizer must be one of/);
  });
});

describe("largestSafeBatch / assertBatchFitsMemory", () => {
  const config = { params, seqLen: 128, ...shape };
  it("finds the boundary: the largest batch fits in the headroom, one more does not", () => {
    const available = 4 * GIB;
    const safe = largestSafeBatch({ ...config, params }, available);
    expect(safe).toBeGreaterThan(1);
    expect(estimateTrainingMemory({ ...config, params, batch: safe }).total).toBeLessThanOrEqual(
      available * MEMORY_HEADROOM,
    );
    expect(estimateTrainingMemory({ ...config, params, batch: safe + 1 }).total).toBeGreaterThan(
      available * MEMORY_HEADROOM,
    );
  });

  it("passes a batch that fits and refuses one that does not, naming the largest safe batch size", () => {
    const available = 4 * GIB;
    const safe = largestSafeBatch({ ...config, params }, available);
    expect(assertBatchFitsMemory({ ...config, params, batch: safe }, available).total).toBeGreaterThan(0);
    expect(() => assertBatchFitsMemory({ ...config, params, batch: safe * 4 }, available)).toThrow(
      new RegExp(
        `^Batch size ${safe * 4} at 128 tokens needs about \\d+\\.\\d\\d GiB .*only 4\\.00 GiB is available.*The largest batch size that fits is ${safe} \\(--batch-size ${safe}\\)\\.$`,
      ),
    );
  });

  it("says when not even one sequence fits", () => {
    expect(() => assertBatchFitsMemory({ ...config, params, batch: 8 }, 0.2 * GIB)).toThrow(
      /Not even a batch of 1 fits at 128 tokens: lower --max-length/,
    );
  });
});
