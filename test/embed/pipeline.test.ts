/**
 * The pipeline core on its own: planning by declared limits, the scheduler's
 * parallelism cap, retries of transient failures, fail-fast, cancellation
 * during a retry wait, and the finishing step. The providers here compute
 * their vectors from the input (a deterministic function of the value), so
 * every assertion is about what the core does with them. The real providers
 * run through the same core in pipeline-pins.test.ts, the conformance suites
 * and the OpenAI fault-server tests.
 */
import { describe, expect, it } from "vitest";
import { finishVector, resolveEmbedOptions } from "../../src/embed/inputs.js";
import { planBatches } from "../../src/embed/onnx/onnx-embedder.js";
import { planRequests } from "../../src/embed/openai/openai-embedder.js";
import {
  type EmbedProvider,
  embedTexts,
  planByLimits,
  planContiguous,
  runPipeline,
  scheduleBatches,
  type TextProvider,
  TransientError,
} from "../../src/embed/pipeline.js";
import { sleep } from "../../src/embed/retry-policy.js";
import { EmbedkitError } from "../../src/errors.js";

/** A 4-d vector derived from a number: not unit length, so finishing shows. */
function vectorOf(value: number): Float32Array {
  return Float32Array.from([value, value + 1, 2 * value - 3, 5]);
}

const resolved = resolveEmbedOptions({ id: "arith", dims: 4 }, {});

describe("planning by declared limits", () => {
  it("the contiguous planner is the OpenAI request planner (size and token budget)", () => {
    const costs = [3, 3, 3, 10, 1, 2, 2, 2, 2];
    const ranges = planRequests(costs, 3, 6);
    const batches = planContiguous(costs, 3, 6);
    expect(batches.map((batch) => ({ start: batch[0], end: (batch.at(-1) as number) + 1 }))).toEqual(ranges);
    expect(batches).toEqual([[0, 1], [2], [3], [4, 5, 6], [7, 8]]);
    expect(planByLimits(["a", "bb", "ccc"], { maxBatchSize: 2 })).toEqual([[0, 1], [2]]);
    expect(
      planByLimits(["a", "bb", "ccc"], { maxBatchSize: 9, maxBatchTokens: 3, cost: (v) => v.length }),
    ).toEqual([[0, 1], [2]]);
  });

  it("a provider's own planner replaces the contiguous one (the ONNX length-sorted plan)", () => {
    const lengths = [5, 40, 7, 40, 12, 3];
    const plan = (values: readonly number[]) => planBatches(values, 2, 100).map((batch) => batch.indices);
    expect(planByLimits(lengths, { maxBatchSize: 2, plan })).toEqual([
      [1, 3],
      [4, 2],
      [0, 5],
    ]);
  });
});

describe("runPipeline", () => {
  const provider: EmbedProvider<number> = {
    limits: { maxBatchSize: 2 },
    async doEmbed({ values }) {
      return { vectors: values.map(vectorOf), tokens: values.length * 10 };
    },
  };

  it("finishes each raw vector like finishVector, in input order, with progress and usage", async () => {
    const progress: number[] = [];
    const values = [1, 2, 3, 4, 5];
    const result = await runPipeline(provider, values, undefined, {
      resolved: resolveEmbedOptions({ id: "arith", dims: 4 }, { dimensions: 3, precision: "int8" }),
      normalize: true,
      onProgress: (done, total) => progress.push(done * 100 + total),
    });
    const expected = values.map((value) =>
      finishVector(
        vectorOf(value),
        true,
        resolveEmbedOptions({ id: "arith", dims: 4 }, { dimensions: 3, precision: "int8" }),
      ),
    );
    expect(result.vectors.map((vector) => Array.from(vector))).toEqual(
      expected.map((vector) => Array.from(vector)),
    );
    expect(result.tokens).toBe(50);
    expect(progress).toEqual([205, 405, 505]);
  });

  it("refuses a provider that returns the wrong number of vectors (INTERNAL)", async () => {
    const short: EmbedProvider<number> = {
      limits: { maxBatchSize: 3 },
      async doEmbed({ values }) {
        return { vectors: values.slice(1).map(vectorOf) };
      },
    };
    await expect(
      runPipeline(short, [1, 2, 3], undefined, { resolved, normalize: false }),
    ).rejects.toMatchObject({
      code: "INTERNAL",
    });
  });
});

describe("scheduleBatches", () => {
  it("keeps at most maxParallelCalls in flight and runs every batch once", async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    const provider: EmbedProvider<number> = {
      limits: { maxBatchSize: 1, maxParallelCalls: 3 },
      async doEmbed({ values }) {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        seen.push(values[0] as number);
        return { vectors: values.map(vectorOf) };
      },
    };
    const values = Array.from({ length: 10 }, (_, i) => i);
    const result = await runPipeline(provider, values, undefined, { resolved, normalize: false });
    expect(most).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual(values);
    expect(result.vectors.map((vector) => vector[0])).toEqual(values);
  });

  it("retries a TransientError within the declared retries, then reports its error", async () => {
    let attempts = 0;
    const flaky: EmbedProvider<number> = {
      limits: { maxBatchSize: 4, retry: { maxRetries: 2, initialDelayMs: 0, maxDelayMs: 0 } },
      async doEmbed({ values, attempt }) {
        attempts++;
        if (attempt < 2)
          throw new TransientError(new EmbedkitError("REMOTE_ERROR", `attempt ${attempt} failed`));
        return { vectors: values.map(vectorOf) };
      },
    };
    const result = await runPipeline(flaky, [1, 2], undefined, { resolved, normalize: false });
    expect(result.vectors).toHaveLength(2);
    expect(attempts).toBe(3);

    const hopeless: EmbedProvider<number> = {
      limits: { maxBatchSize: 4, retry: { maxRetries: 1, initialDelayMs: 0, maxDelayMs: 0 } },
      async doEmbed({ attempt }) {
        throw new TransientError(new EmbedkitError("RATE_LIMITED", `attempt ${attempt} rate limited`));
      },
    };
    await expect(runPipeline(hopeless, [1], undefined, { resolved, normalize: false })).rejects.toMatchObject(
      {
        code: "RATE_LIMITED",
        message: "attempt 1 rate limited",
      },
    );
    // Without declared retries a transient failure fails at once.
    let once = 0;
    const noRetries: EmbedProvider<number> = {
      limits: { maxBatchSize: 4 },
      async doEmbed() {
        once++;
        throw new TransientError(new EmbedkitError("REMOTE_ERROR", "down"));
      },
    };
    await expect(
      runPipeline(noRetries, [1], undefined, { resolved, normalize: false }),
    ).rejects.toMatchObject({
      code: "REMOTE_ERROR",
    });
    expect(once).toBe(1);
  });

  it("fails fast: the first failure aborts the siblings and is the one thrown", async () => {
    const aborted: number[] = [];
    const provider: EmbedProvider<number> = {
      limits: { maxBatchSize: 1, maxParallelCalls: 3 },
      async doEmbed({ values, signal }) {
        const value = values[0] as number;
        if (value === 0) throw new EmbedkitError("INVALID_INPUT", "value 0 is refused");
        await new Promise<void>((resolve) => {
          signal.addEventListener(
            "abort",
            () => {
              aborted.push(value);
              resolve();
            },
            { once: true },
          );
        });
        throw signal.reason;
      },
    };
    await expect(
      runPipeline(provider, [0, 1, 2, 3, 4], undefined, { resolved, normalize: false }),
    ).rejects.toThrow("value 0 is refused");
    // The two siblings in flight were aborted; batches 3 and 4 never started.
    expect(aborted.sort()).toEqual([1, 2]);
  });

  it("cancels during a retry wait: the caller's own reason as is, a plain abort as INVALID_INPUT", async () => {
    const cancelDuringWait = (abort: (controller: AbortController) => void) => {
      const controller = new AbortController();
      const provider: EmbedProvider<number> = {
        limits: { maxBatchSize: 1, retry: { maxRetries: 5, initialDelayMs: 60_000, maxDelayMs: 60_000 } },
        async doEmbed() {
          setImmediate(() => abort(controller));
          throw new TransientError(new EmbedkitError("REMOTE_ERROR", "busy"), 60_000);
        },
      };
      return runPipeline(provider, [1], undefined, { resolved, normalize: false, signal: controller.signal });
    };
    const reason = new Error("client went away");
    await expect(cancelDuringWait((controller) => controller.abort(reason))).rejects.toBe(reason);
    const plain = await cancelDuringWait((controller) => controller.abort()).catch((error: unknown) => error);
    expect(plain).toMatchObject({ code: "INVALID_INPUT", message: expect.stringMatching(/cancelled/) });
    expect((plain as Error).cause).toBeInstanceOf(DOMException);
    expect(((plain as Error).cause as DOMException).name).toBe("AbortError");
  });

  it("checks the embedder's state before every batch (CLOSED mid-call)", async () => {
    let closed = false;
    const batches: number[] = [];
    await expect(
      scheduleBatches(
        [[0], [1], [2]],
        async (indices) => {
          batches.push(indices[0] as number);
          closed = true;
          await sleep(0);
        },
        () => {},
        {
          assertOpen: () => {
            if (closed) throw new EmbedkitError("CLOSED", "closed");
          },
        },
      ),
    ).rejects.toMatchObject({ code: "CLOSED" });
    expect(batches).toEqual([0]);
  });
});

describe("embedTexts", () => {
  it("validates, applies the prefix, prepares and reports the prepared token count", async () => {
    const seen: string[] = [];
    const provider: TextProvider<number> = {
      model: {
        id: "arith",
        dims: 4,
        modality: "text",
        maxTokens: 100,
        pooling: "mean",
        normalize: true,
        prefixes: { query: "q: " },
        maxBatchSize: 2,
      },
      limits: { maxBatchSize: 2 },
      assertOpen: () => {},
      prepare(texts) {
        seen.push(...texts);
        return { values: texts.map((text) => text.length), tokens: 42 };
      },
      async doEmbed({ values }) {
        return { vectors: values.map(vectorOf) };
      },
    };
    const result = await embedTexts(provider, ["ab", "abcd"], { inputType: "query" });
    expect(seen).toEqual(["q: ab", "q: abcd"]);
    expect(result.usage.tokens).toBe(42);
    expect(Array.from(result.vectors[1] as Float32Array)).toEqual(
      Array.from(finishVector(vectorOf(7), true, resolved)),
    );
    await expect(embedTexts(provider, [""], {})).rejects.toThrow(/Input 0 is an empty string/);
    expect(seen).toHaveLength(2);
  });
});
