/**
 * The inference worker (src/server/worker-embedder.ts) against the in-process
 * embedder on the real fp32 all-MiniLM-L6-v2: the same vectors (1e-6) whatever
 * the batch composition, the same token counts and decoding, cancellation that
 * leaves the worker serving, clear errors; and the HTTP server with and
 * without the worker answering the same numbers in float and base64, whether
 * texts come in one request or as concurrent single requests (shared batches).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { EmbedkitError } from "../../src/errors.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import {
  canEmbedInWorker,
  createWorkerEmbedder,
  INFERENCE_WORKER,
  type WorkerEmbedder,
} from "../../src/server/worker-embedder.js";
import { base64ToFloat32 } from "../../src/vectors/codec.js";
import { maxAbsDiff, sharedStore } from "./helpers.js";

const MODEL = "all-minilm-l6-v2";
const TOLERANCE = 1e-6;
const TEXTS = [
  "The weather is lovely today.",
  "It's so sunny outside!",
  "He drove to the stadium.",
  "A man is playing a guitar on a street corner, and a small crowd has gathered to listen.",
  "Two dogs run through the snow.",
  "深度学习模型",
  "short",
];

describe("createWorkerEmbedder", () => {
  let worker: WorkerEmbedder;
  let reference: Embedder;

  beforeAll(async () => {
    const store = sharedStore();
    worker = await createWorkerEmbedder({ model: MODEL, store });
    reference = await createEmbedder({ model: MODEL, store });
  });
  afterAll(async () => {
    await worker?.close();
    await reference?.close();
  });

  it("reports the in-process embedder's model info", () => {
    expect(worker.model).toEqual(reference.model);
  });

  it("gives the in-process vectors within 1e-6 for every batch composition", async () => {
    const expected = (await reference.embed(TEXTS)).vectors;
    const together = await worker.embed(TEXTS);
    expect(together.vectors).toHaveLength(TEXTS.length);
    expect(together.dims).toBe(384);
    const alone = await Promise.all(TEXTS.map(async (text) => (await worker.embed([text])).vectors[0]));
    const reversed = (await worker.embed([...TEXTS].reverse())).vectors.reverse();
    TEXTS.forEach((_, index) => {
      const want = expected[index] as Float32Array;
      for (const got of [together.vectors[index], alone[index], reversed[index]]) {
        expect(got).toBeInstanceOf(Float32Array);
        expect(maxAbsDiff(got as Float32Array, want)).toBeLessThan(TOLERANCE);
      }
    });
  });

  it("counts tokens, reports usage and decodes ids as the in-process embedder does", async () => {
    expect(await worker.countTokens(TEXTS)).toEqual(await reference.countTokens(TEXTS));
    const usage = (await worker.embed(TEXTS)).usage;
    expect(usage).toEqual((await reference.embed(TEXTS)).usage);
    const ids = [7592, 2088];
    expect(worker.decodeTokenIds(ids)).toBe("hello world");
  });

  it("stops an aborted call with the signal's reason and keeps serving", async () => {
    const before = new AbortController();
    before.abort(new Error("client went away"));
    await expect(worker.embed(TEXTS, { signal: before.signal })).rejects.toThrow("client went away");
    // Aborted while queued behind a running call: the worker drops it between sub-batches.
    const many = Array.from({ length: 128 }, (_, index) => `${TEXTS[index % TEXTS.length]} (${index})`);
    const busy = worker.embed(many);
    const later = new AbortController();
    const cancelled = worker.embed(many, { signal: later.signal });
    later.abort(new Error("deadline passed"));
    await expect(cancelled).rejects.toThrow("deadline passed");
    expect((await busy).vectors).toHaveLength(128);
    const after = await worker.embed([TEXTS[0] as string]);
    expect(
      maxAbsDiff(
        after.vectors[0] as Float32Array,
        (await reference.embed([TEXTS[0] as string])).vectors[0] as Float32Array,
      ),
    ).toBeLessThan(TOLERANCE);
  });

  it("fails the calls of a worker that dies with INFERENCE_FAILED and replaces it on the next call", async () => {
    const first = worker[INFERENCE_WORKER];
    expect(first).toBeDefined();
    const many = Array.from({ length: 256 }, (_, index) => `${TEXTS[index % TEXTS.length]} (${index})`);
    const inFlight = worker.embed(many);
    await first?.terminate();
    await expect(inFlight).rejects.toMatchObject({ code: "INFERENCE_FAILED" });
    expect(worker[INFERENCE_WORKER]).toBeUndefined();
    // Concurrent calls after the death share one new worker and get the in-process vectors.
    const [a, b] = await Promise.all([
      worker.embed([TEXTS[0] as string]),
      worker.embed([TEXTS[1] as string]),
    ]);
    const second = worker[INFERENCE_WORKER];
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    const expected = (await reference.embed([TEXTS[0] as string, TEXTS[1] as string])).vectors;
    expect(maxAbsDiff(a.vectors[0] as Float32Array, expected[0] as Float32Array)).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(b.vectors[0] as Float32Array, expected[1] as Float32Array)).toBeLessThan(TOLERANCE);
  });

  it("refuses bad input, dimensions/precision and use after close with EmbedkitErrors", async () => {
    await expect(worker.embed([""])).rejects.toThrow(EmbedkitError);
    await expect(worker.embed(TEXTS, { dimensions: 64 })).rejects.toThrow(/full float32 vectors/);
    const other = await createWorkerEmbedder({ model: MODEL, store: sharedStore() });
    await other.close();
    await expect(other.embed(TEXTS)).rejects.toMatchObject({ code: "CLOSED" });
    await expect(other.countTokens(TEXTS)).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("accepts only catalog transformer text encoders", async () => {
    expect(canEmbedInWorker(MODEL)).toBe(true);
    expect(canEmbedInWorker("no-such-model")).toBe(false);
    expect(canEmbedInWorker("dir:/models/mine")).toBe(false);
    await expect(
      createWorkerEmbedder({ model: "no-such-model", store: sharedStore() }),
    ).rejects.toMatchObject({
      code: "INVALID_OPTION",
    });
  });
});

describe("embedkit serve with and without the inference worker", () => {
  const servers: Record<string, EmbedkitServer> = {};
  let reference: Embedder;
  let expected: Float32Array[];

  beforeAll(async () => {
    const store = sharedStore();
    for (const inferenceWorker of [true, false]) {
      const app = createServer({ models: [MODEL], store, processMetrics: false, inferenceWorker });
      await app.embedkit.preload();
      servers[String(inferenceWorker)] = app;
    }
    reference = await createEmbedder({ model: MODEL, store });
    expected = (await reference.embed(TEXTS)).vectors;
  });
  afterAll(async () => {
    for (const app of Object.values(servers)) await app.close();
    await reference?.close();
  });

  async function post(
    app: EmbedkitServer,
    input: string | string[],
    format: "float" | "base64",
  ): Promise<Float32Array[]> {
    const response = await app.inject({
      method: "POST",
      url: "/v1/embeddings",
      payload: { model: MODEL, input, encoding_format: format },
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as { data: { index: number; embedding: number[] | string }[] };
    return body.data.map((item) =>
      typeof item.embedding === "string"
        ? base64ToFloat32(item.embedding)
        : Float32Array.from(item.embedding),
    );
  }

  it("answers the library's vectors in float and base64, in one request or as concurrent single requests", async () => {
    for (const [worker, app] of Object.entries(servers)) {
      for (const format of ["float", "base64"] as const) {
        const single = await post(app, TEXTS, format);
        // Concurrent single-text requests share batches with each other.
        const concurrent = await Promise.all(TEXTS.map(async (text) => (await post(app, text, format))[0]));
        TEXTS.forEach((_, index) => {
          const want = expected[index] as Float32Array;
          expect(maxAbsDiff(single[index] as Float32Array, want), `worker ${worker} ${format}`).toBeLessThan(
            TOLERANCE,
          );
          expect(
            maxAbsDiff(concurrent[index] as Float32Array, want),
            `worker ${worker} ${format}`,
          ).toBeLessThan(TOLERANCE);
        });
      }
    }
  });
});
