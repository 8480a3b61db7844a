/**
 * Dynamic batching orchestration, with a recording fake embedder whose embed
 * calls wait behind a gate (the only place a fake is used: what is under test
 * here is the queue — coalescing, routing results to the right requester,
 * backpressure, dropping disconnected clients — not a model's numbers).
 */
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { createBatcher } from "../../src/server/batcher.js";
import { createServer, type EmbedkitServer, type ServerOptions } from "../../src/server/index.js";
import { truncateDimensions } from "../../src/vectors/math.js";
import {
  createFakeEmbedder,
  expectOpenAiError,
  type FakeEmbedder,
  fakeVector,
  maxAbsDiff,
} from "./helpers.js";

const MODEL = "all-minilm-l6-v2";
let app: EmbedkitServer | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

function serverWith(fake: FakeEmbedder, options: ServerOptions = {}): EmbedkitServer {
  app = createServer({
    models: [MODEL],
    embedderFactory: async () => fake,
    processMetrics: false,
    ...options,
  });
  return app;
}

function embed(server: EmbedkitServer, input: unknown, extra: Record<string, unknown> = {}) {
  return server.inject({ method: "POST", url: "/v1/embeddings", payload: { model: MODEL, input, ...extra } });
}

async function metricValue(
  server: EmbedkitServer,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = server.embedkit.metrics.registry.getSingleMetric(name);
  const values = (await metric?.get())?.values ?? [];
  const match = values.find((value) =>
    Object.entries(labels).every(([key, label]) => value.labels[key] === label),
  );
  return match?.value ?? 0;
}

describe("dynamic batching", () => {
  it("coalesces concurrent requests into few embed calls and routes every result to its requester", async () => {
    const fake = createFakeEmbedder();
    const server = serverWith(fake, { batching: { maxWaitMs: 5 } });
    await server.embedkit.preload();
    fake.shut();
    // The first request occupies the model; 40 more arrive while it runs.
    const first = embed(server, "first text");
    await fake.started(1);
    const texts = Array.from({ length: 40 }, (_, i) => `request number ${i}`);
    const rest = texts.map((text, i) => embed(server, i % 3 === 0 ? [text, `${text} again`] : text));
    // Wait until all 40 are queued (parsing and token counting take a few turns of the event loop).
    const lease = await server.embedkit.models.acquire(MODEL);
    for (let i = 0; i < 200 && lease.batcher.depth < 40; i++) await sleep(10);
    lease.release();
    fake.open();
    const responses = await Promise.all([first, ...rest]);
    expect(fake.calls.length).toBeLessThanOrEqual(3);
    expect(fake.calls.length).toBeLessThan(responses.length);
    responses.slice(1).forEach((response, i) => {
      expect(response.statusCode).toBe(200);
      const text = texts[i] as string;
      const expected = i % 3 === 0 ? [text, `${text} again`] : [text];
      const data = response.json().data as { index: number; embedding: number[] }[];
      expect(data.map((item) => item.index)).toEqual(expected.map((_, index) => index));
      data.forEach((item, index) => {
        expect(maxAbsDiff(item.embedding, fakeVector(expected[index] as string, 8))).toBe(0);
      });
    });
    expect(await metricValue(server, "embedkit_embed_calls_total", { model: MODEL, outcome: "ok" })).toBe(
      fake.calls.length,
    );
    const metrics = await server.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toMatch(/embedkit_batch_requests_bucket\{le="64",model="all-minilm-l6-v2"\} \d+/);
  });

  it("honours per-request dimensions inside a shared batch", async () => {
    const fake = createFakeEmbedder();
    const server = serverWith(fake, { batching: { maxWaitMs: 20 } });
    const [small, full] = await Promise.all([
      embed(server, "same text", { dimensions: 3 }),
      embed(server, "same text"),
    ]);
    expect(fake.calls).toEqual([["same text", "same text"]]);
    const expected = fakeVector("same text", 8);
    expect(maxAbsDiff(full.json().data[0].embedding, expected)).toBe(0);
    expect(maxAbsDiff(small.json().data[0].embedding, truncateDimensions(expected, 3))).toBeLessThan(1e-7);
  });

  it("does not make a lone client wait, and waits again once requests coalesce", async () => {
    const fake = createFakeEmbedder();
    const batcher = createBatcher({
      run: async (texts) => (await fake.embed(texts)).vectors,
      maxWaitMs: 300,
    });
    // First batch: no history, so it waits for company (300 ms) and gets none.
    await batcher.submit({ texts: ["first"], tokens: 3 });
    const started = performance.now();
    for (let i = 0; i < 5; i++) await batcher.submit({ texts: [`lone ${i}`], tokens: 3 });
    expect(performance.now() - started).toBeLessThan(250);
    // Requests arriving during a run coalesce; after that batch the wait is back on.
    fake.shut();
    const running = batcher.submit({ texts: ["running"], tokens: 3 });
    await fake.started(7);
    const coalesced = [
      batcher.submit({ texts: ["b"], tokens: 3 }),
      batcher.submit({ texts: ["c"], tokens: 3 }),
    ];
    fake.open();
    await Promise.all([running, ...coalesced]);
    const late = [batcher.submit({ texts: ["d"], tokens: 3 })];
    await sleep(20);
    late.push(batcher.submit({ texts: ["e"], tokens: 3 }));
    await Promise.all(late);
    expect(fake.calls.slice(-3)).toEqual([["running"], ["b", "c"], ["d", "e"]]);
  });

  it("splits batches by the token budget", async () => {
    const fake = createFakeEmbedder();
    // Each request costs 2 words + 2 special tokens = 4 tokens; budget 8 = two requests per batch.
    const server = serverWith(fake, { batching: { maxWaitMs: 20, maxBatchTokens: 8 } });
    const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => embed(server, `text ${i}`)));
    for (const response of responses) expect(response.statusCode).toBe(200);
    expect(fake.calls.map((call) => call.length)).toEqual([2, 2, 2]);
  });

  it("answers 429 with Retry-After when the queue is full, and serves the queued requests afterwards", async () => {
    const fake = createFakeEmbedder();
    const server = serverWith(fake, { batching: { maxWaitMs: 0, maxQueue: 3 } });
    await server.embedkit.preload();
    fake.shut();
    const running = embed(server, "running");
    await fake.started(1);
    const queued = [embed(server, "queued a"), embed(server, "queued b"), embed(server, "queued c")];
    await sleep(10);
    const rejected = await embed(server, "one too many");
    expectOpenAiError(rejected, 429, null);
    expect(rejected.json().error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    expect(Number(rejected.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    fake.open();
    for (const response of await Promise.all([running, ...queued])) expect(response.statusCode).toBe(200);
    expect(fake.calls).toEqual([["running"], ["queued a", "queued b", "queued c"]]);
  });

  it("drops a queued request whose client disconnects before its batch runs", async () => {
    const fake = createFakeEmbedder();
    const server = serverWith(fake, { batching: { maxWaitMs: 0 } });
    await server.embedkit.preload();
    await server.listen({ host: "127.0.0.1", port: 0 });
    const { port } = server.server.address() as AddressInfo;
    fake.shut();
    const running = embed(server, "running");
    await fake.started(1);
    const body = JSON.stringify({ model: MODEL, input: "abandoned" });
    const client = httpRequest({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/v1/embeddings",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    });
    client.on("error", () => {});
    client.end(body);
    const depth = () => metricValue(server, "embedkit_queue_depth", { model: MODEL });
    for (let i = 0; i < 100 && (await depth()) < 1; i++) await sleep(10);
    expect(await depth()).toBe(1);
    client.destroy();
    for (let i = 0; i < 100 && (await depth()) > 0; i++) await sleep(10);
    expect(await depth()).toBe(0);
    const kept = embed(server, "kept");
    await sleep(10);
    fake.open();
    expect((await running).statusCode).toBe(200);
    expect((await kept).statusCode).toBe(200);
    expect(fake.calls.flat()).toEqual(["running", "kept"]);
  });

  it("answers 503 when a request misses its deadline, and removes it from the queue", async () => {
    const fake = createFakeEmbedder();
    const server = serverWith(fake, { batching: { maxWaitMs: 0 }, requestTimeoutMs: 150 });
    await server.embedkit.preload();
    fake.shut();
    const stuck = embed(server, "stuck");
    await fake.started(1);
    const waiting = await embed(server, "waits too long");
    expectOpenAiError(waiting, 503, null);
    expect(waiting.json().error.code).toBe("timeout");
    expectOpenAiError(await stuck, 503, null);
    fake.open();
    await sleep(30);
    expect(fake.calls.flat()).toEqual(["stuck"]);
  });

  it("with batching disabled, every request is its own embed call", async () => {
    const fake = createFakeEmbedder();
    const server = serverWith(fake, { batching: { enabled: false } });
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => embed(server, `text ${i}`)));
    for (const response of responses) expect(response.statusCode).toBe(200);
    expect(fake.calls).toHaveLength(8);
    for (const call of fake.calls) expect(call).toHaveLength(1);
  });

  it("unloads idle non-default models and reloads them on demand", async () => {
    const fakes: FakeEmbedder[] = [];
    app = createServer({
      models: [MODEL, "e5-small-v2"],
      idleUnloadMs: 60,
      processMetrics: false,
      embedderFactory: async (model) => {
        const fake = createFakeEmbedder(model);
        fakes.push(fake);
        return fake;
      },
    });
    await app.embedkit.preload();
    const response = await app.inject({
      method: "POST",
      url: "/v1/embeddings",
      payload: { model: "e5-small-v2", input: "hello" },
    });
    expect(response.statusCode).toBe(200);
    expect(app.embedkit.models.isLoaded("e5-small-v2")).toBe(true);
    for (let i = 0; i < 50 && app.embedkit.models.isLoaded("e5-small-v2"); i++) await sleep(20);
    expect(app.embedkit.models.isLoaded("e5-small-v2")).toBe(false);
    expect(fakes[1]?.closed).toBe(true);
    expect(app.embedkit.models.isLoaded(MODEL)).toBe(true);
    expect((await app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
    const again = await app.inject({
      method: "POST",
      url: "/v1/embeddings",
      payload: { model: "e5-small-v2", input: "hello" },
    });
    expect(again.statusCode).toBe(200);
    expect(fakes).toHaveLength(3);
  });

  it("maps failures inside a batch to 500 without leaking messages or stack traces", async () => {
    const fake = createFakeEmbedder();
    const failing: FakeEmbedder = {
      ...fake,
      model: fake.model,
      countTokens: fake.countTokens,
      async embed() {
        throw new Error("secret detail: /srv/models/private/model.onnx exploded");
      },
    };
    const server = serverWith(failing);
    const response = await embed(server, ["a", "b"]);
    expectOpenAiError(response, 500, null);
    expect(response.json().error.type).toBe("server_error");
    expect(response.body).not.toContain("secret");
    expect(response.body).not.toContain(".onnx");
    // The server keeps serving other requests afterwards.
    expect((await server.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
  });

  it("a model that fails to load is retried by the next request", async () => {
    let attempts = 0;
    app = createServer({
      models: [MODEL],
      processMetrics: false,
      embedderFactory: async () => {
        attempts++;
        if (attempts === 1) throw new Error("disk hiccup");
        return createFakeEmbedder();
      },
    });
    expectOpenAiError(await embed(app, "hello"), 500, null);
    expect((await embed(app, "hello")).statusCode).toBe(200);
    expect(attempts).toBe(2);
  });

  it("closing the server rejects queued work with 503 and closes the embedders", async () => {
    const fake = createFakeEmbedder();
    const batcher = createBatcher({ run: async (texts) => (await fake.embed(texts)).vectors, maxWaitMs: 0 });
    fake.shut();
    const running = batcher.submit({ texts: ["a"], tokens: 3 });
    await fake.started(1);
    const queued = batcher.submit({ texts: ["b"], tokens: 3 });
    batcher.close();
    await expect(queued).rejects.toThrow(/shutting down/);
    fake.open();
    await expect(running).resolves.toHaveLength(1);
    const server = serverWith(createFakeEmbedder());
    await server.embedkit.preload();
    await server.close();
    app = undefined;
  });
});

describe("prefetch (an embedder that queues calls off the event loop)", () => {
  /** A queued `run`: calls wait in arrival order behind a gate, as the inference worker's do. */
  function queuedRun() {
    const started: string[][] = [];
    const gates: (() => void)[] = [];
    let chain: Promise<unknown> = Promise.resolve();
    let inFlight = 0;
    let mostInFlight = 0;
    const run = (texts: readonly string[]): Promise<Float32Array[]> => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      started.push([...texts]);
      const result = chain.then(async () => {
        await new Promise<void>((resolve) => gates.push(resolve));
        inFlight--;
        return texts.map((text) => fakeVector(text, 8));
      });
      chain = result;
      return result;
    };
    return { run, started, gates, mostInFlight: () => mostInFlight };
  }

  it("hands over the next batch while one runs (at most two in flight) and routes every result", async () => {
    const queued = queuedRun();
    // A measured rate so high that every batch is "about to end" at once: prefetch fires immediately.
    const batcher = createBatcher({
      run: queued.run,
      prefetch: true,
      maxWaitMs: 0,
      initialTokensPerSecond: 1e9,
    });
    const texts = Array.from({ length: 6 }, (_, i) => `text ${i}`);
    const results = texts.map((text) => batcher.submit({ texts: [text], tokens: 3 }));
    for (let i = 0; i < 100 && queued.started.length < 2; i++) await sleep(5);
    expect(queued.started.length).toBe(2);
    // The third batch waits until one of the two in flight ends.
    await sleep(20);
    expect(queued.started.length).toBe(2);
    while (queued.gates.length > 0 || batcher.busy) {
      queued.gates.shift()?.();
      await sleep(5);
    }
    const vectors = await Promise.all(results);
    vectors.forEach((vector, i) => {
      expect(maxAbsDiff(vector[0] as Float32Array, fakeVector(texts[i] as string, 8))).toBe(0);
    });
    expect(queued.mostInFlight()).toBe(2);
    expect(queued.started.flat().sort()).toEqual([...texts].sort());
  });

  it("without prefetch, one batch at a time", async () => {
    const queued = queuedRun();
    const batcher = createBatcher({ run: queued.run, maxWaitMs: 0, initialTokensPerSecond: 1e9 });
    const results = ["a", "b", "c"].map((text) => batcher.submit({ texts: [text], tokens: 3 }));
    while (queued.gates.length > 0 || batcher.busy) {
      queued.gates.shift()?.();
      await sleep(5);
    }
    await Promise.all(results);
    expect(queued.mostInFlight()).toBe(1);
  });
});
