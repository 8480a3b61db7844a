/**
 * Collections and FAQ answering over HTTP (`inject()`), on real models and the
 * real embedded store: authentication, create/list/get/drop, upsert with
 * server-side embedding, query by text or vector with k and filter, FAQ ask
 * with and without fallback, and every bad-input path in OpenAI's error shape
 * (unknown collection 404, wrong dims, non-finite numbers, malformed filter,
 * oversize bodies, wrong types).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { indexFaq } from "../../src/apps/faq/faq.js";
import { readFaqFile } from "../../src/apps/faq/faq-entries.js";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { resolveServeSettings, toServerOptions } from "../../src/server/serve-config.js";
import { openEmbeddedStore } from "../../src/store/embedded-store.js";
import type { VectorStore } from "../../src/store/vector-store.js";
import { expectOpenAiError, sharedStore } from "./helpers.js";

const KEY = "sk-collections";
const AUTH = { authorization: `Bearer ${KEY}` };
const FIXTURES = join(import.meta.dirname, "../fixtures/faq");

let dir: string;
let vectorStore: VectorStore;
let app: EmbedkitServer;

function call(
  method: "GET" | "POST" | "DELETE",
  url: string,
  payload?: unknown,
  headers: Record<string, string> = AUTH,
) {
  return app.inject({
    method,
    url,
    headers: payload === undefined ? headers : { ...headers, "content-type": "application/json" },
    ...(payload === undefined
      ? {}
      : { payload: typeof payload === "string" ? payload : JSON.stringify(payload) }),
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-server-collections-"));
  vectorStore = await openEmbeddedStore({ path: dir });
  app = createServer({
    models: ["all-minilm-l6-v2", "bge-small-en-v1.5"],
    store: sharedStore(),
    vectorStore,
    apiKeys: [KEY],
    bodyLimit: 64 * 1024,
    processMetrics: false,
  });
  const english = await createEmbedder({ model: "bge-small-en-v1.5", store: sharedStore() });
  try {
    await indexFaq({
      store: vectorStore,
      collection: "support",
      entries: await readFaqFile(join(FIXTURES, "faq-en.csv")),
      embedder: english,
      threshold: 0.7,
    });
  } finally {
    await english.close();
  }
});

afterAll(async () => {
  await app?.close();
  await vectorStore?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("collections over HTTP", () => {
  it("needs the API key like /v1/embeddings", async () => {
    expectOpenAiError(await call("GET", "/v1/collections", undefined, {}), 401);
    expectOpenAiError(await call("POST", "/v1/faq/support/ask", { question: "hi" }, {}), 401);
  });

  it("creates a collection with the model's facts, lists it and refuses a second one of the same name", async () => {
    const created = await call("POST", "/v1/collections", { name: "docs", model: "minilm" });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      object: "collection",
      name: "docs",
      model: "all-minilm-l6-v2",
      dims: 384,
      metric: "cosine",
      pooling: "mean",
      count: 0,
    });
    const list = await call("GET", "/v1/collections");
    expect(list.json().data.map((entry: { name: string }) => entry.name)).toEqual(["docs", "support"]);
    const again = await call("POST", "/v1/collections", { name: "docs", model: "all-minilm-l6-v2" });
    expectOpenAiError(again, 409);
    expect(again.json().error.code).toBe("collection_exists");
  });

  it("refuses bad collection requests with 400/404 naming the problem", async () => {
    expectOpenAiError(
      await call("POST", "/v1/collections", { name: "bad name!", model: "all-minilm-l6-v2" }),
      400,
    );
    expectOpenAiError(await call("POST", "/v1/collections", { name: "x" }), 400, "model");
    expectOpenAiError(
      await call("POST", "/v1/collections", { name: "x", model: "all-minilm-l6-v2", size: 3 }),
      400,
    );
    expectOpenAiError(
      await call("POST", "/v1/collections", { name: "x", model: "no-such-model" }),
      404,
      "model",
    );
    expectOpenAiError(await call("POST", "/v1/collections", [1, 2]), 400);
    expect((await call("GET", "/v1/collections")).json().data).toHaveLength(2);
  });

  it("upserts texts embedded server-side and finds them by text, with k and a filter", async () => {
    const upsert = await call("POST", "/v1/collections/docs/documents", {
      documents: [
        { id: "cat", text: "A cat sleeps on the warm windowsill.", metadata: { lang: "en", year: 2020 } },
        { id: "market", text: "Stock markets fell sharply on Monday.", metadata: { lang: "en", year: 2021 } },
        {
          id: "'; DROP TABLE items; --",
          text: "Le chat dort sur le rebord.",
          metadata: { lang: "fr", note: "1=1 OR" },
        },
      ],
    });
    expect(upsert.statusCode, upsert.body).toBe(200);
    expect(upsert.json()).toMatchObject({ object: "collection.upsert", upserted: 3, embedded: 3 });
    expect(upsert.json().usage.prompt_tokens).toBeGreaterThan(10);
    const query = await call("POST", "/v1/collections/docs/query", { query: "a kitten napping", k: 2 });
    expect(query.statusCode, query.body).toBe(200);
    const body = query.json();
    expect(body.data).toHaveLength(2);
    expect(body.data[0]).toMatchObject({
      object: "search_result",
      id: "cat",
      metadata: { lang: "en", year: 2020 },
    });
    expect(body.data[0].text).toBe("A cat sleeps on the warm windowsill.");
    expect(body.data[0].score).toBeGreaterThan(body.data[1].score);
    const filtered = await call("POST", "/v1/collections/docs/query", {
      query: "a kitten napping",
      filter: "lang=fr",
    });
    expect(filtered.json().data.map((hit: { id: string }) => hit.id)).toEqual(["'; DROP TABLE items; --"]);
    const objectFilter = await call("POST", "/v1/collections/docs/query", {
      query: "finance",
      filter: [{ field: "year", op: "gte", value: 2021 }],
    });
    expect(objectFilter.json().data.map((hit: { id: string }) => hit.id)).toEqual(["market"]);
    expect((await call("GET", "/v1/collections/docs")).json().count).toBe(3);
  });

  it("queries by vector and returns stored vectors on request", async () => {
    const first = await call("POST", "/v1/collections/docs/query", {
      query: "stocks",
      k: 1,
      include_vectors: true,
    });
    const vector = first.json().data[0].vector as number[];
    expect(vector).toHaveLength(384);
    const byVector = await call("POST", "/v1/collections/docs/query", { vector, k: 1 });
    expect(byVector.json().data[0].id).toBe("market");
    expect(byVector.json().data[0].score).toBeCloseTo(1, 4);
    expect(byVector.json().usage.prompt_tokens).toBe(0);
  });

  it("refuses wrong dims, non-finite and non-numeric vectors, bad k, malformed filters", async () => {
    const q = (payload: unknown) => call("POST", "/v1/collections/docs/query", payload);
    const dims = await q({ vector: [0.1, 0.2, 0.3] });
    expectOpenAiError(dims, 400);
    expect(dims.json().error.code).toBe("dimension_mismatch");
    expect(dims.json().error.message).toMatch(/384/);
    expectOpenAiError(await q(`{"vector": [${Array(384).fill("0.1").join(",")}], "k": NaN}`), 400, null);
    expectOpenAiError(await q(`{"vector": [1e999${",0.1".repeat(383)}]}`), 400);
    expectOpenAiError(await q({ vector: ["0.1", ...Array(383).fill(0.1)] }), 400, "vector.0");
    expectOpenAiError(await q({ query: "x", k: 0 }), 400, "k");
    expectOpenAiError(await q({ query: "x", k: 1.5 }), 400, "k");
    expectOpenAiError(await q({ query: "x", k: 100_000 }), 400, "k");
    expectOpenAiError(await q({ query: "x", vector: Array(384).fill(0.1) }), 400);
    expectOpenAiError(await q({}), 400);
    const filter = await q({ query: "x", filter: "lang=(" });
    expectOpenAiError(filter, 400);
    expect(filter.json().error.code).toBe("invalid_filter");
    expectOpenAiError(await q({ query: "x", filter: [{ field: "lang", op: "like", value: "e%" }] }), 400);
    expectOpenAiError(await q({ query: "x", filter: 42 }), 400, "filter");
  });

  it("refuses bad documents without writing any of the batch", async () => {
    const d = (payload: unknown) => call("POST", "/v1/collections/docs/documents", payload);
    expectOpenAiError(await d({ documents: [] }), 400, "documents");
    expectOpenAiError(await d({ documents: [{ id: "a" }] }), 400, "documents.0");
    expectOpenAiError(await d({ documents: [{ id: "a", vector: [1, 2] }] }), 400);
    expectOpenAiError(
      await d({ documents: [{ id: "a", text: "x", metadata: { nested: { no: 1 } } }] }),
      400,
      "documents.0.metadata.nested",
    );
    expectOpenAiError(
      await d({
        documents: [
          { id: "dup", text: "one" },
          { id: "dup", text: "two" },
        ],
      }),
      400,
    );
    expectOpenAiError(await d({ documents: [{ id: "", text: "empty id" }] }), 400);
    expectOpenAiError(
      await d({
        documents: [
          { id: "new", text: "fine" },
          {
            id: "bad",
            vector: Array(384)
              .fill(0)
              .map((_, i) => (i === 0 ? "x" : 0)),
          },
        ],
      }),
      400,
    );
    expect((await call("GET", "/v1/collections/docs")).json().count).toBe(3);
  });

  it("413 for a body over the limit", async () => {
    const response = await call("POST", "/v1/collections/docs/documents", {
      documents: [{ id: "huge", text: "word ".repeat(20_000) }],
    });
    expectOpenAiError(response, 413);
  });

  it("404 for an unknown collection on every route", async () => {
    for (const [method, url, payload] of [
      ["GET", "/v1/collections/nope", undefined],
      ["DELETE", "/v1/collections/nope", undefined],
      ["POST", "/v1/collections/nope/documents", { documents: [{ id: "a", text: "x" }] }],
      ["POST", "/v1/collections/nope/query", { query: "x" }],
      ["POST", "/v1/faq/nope/ask", { question: "x" }],
    ] as const) {
      const response = await call(method, url, payload);
      expectOpenAiError(response, 404);
      expect(response.json().error.code).toBe("unknown_collection");
    }
  });

  it("400 for a text query on an image collection, saying its model has no text encoder (issue 19.2)", async () => {
    await vectorStore.createCollection("photos", { model: "mobilenet-v2-nsfwjs", dims: 1280 });
    const response = await call("POST", "/v1/collections/photos/query", { query: "a cat on a sofa" });
    expectOpenAiError(response, 400);
    expect(response.json().error.message).toMatch(
      /built with mobilenet-v2-nsfwjs, an image model with no text encoder.*clip:… for images, clap:… for audio/,
    );
  });

  it("drops a collection", async () => {
    const dropped = await call("DELETE", "/v1/collections/docs");
    expect(dropped.json()).toEqual({ object: "collection.deleted", name: "docs", deleted: true });
    expectOpenAiError(await call("GET", "/v1/collections/docs"), 404);
  });
});

describe("POST /v1/faq/{collection}/ask", () => {
  it("answers with the best answer, its confidence and alternatives", async () => {
    const response = await call("POST", "/v1/faq/support/ask", { question: "I forgot my card's PIN", k: 2 });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      object: "faq.answer",
      collection: "support",
      model: "bge-small-en-v1.5",
      answered: true,
      reply: "Open the app, go to Cards > PIN and choose Reset PIN.",
      threshold: 0.7,
      answer: { category: "cards" },
    });
    expect(body.confidence).toBeGreaterThanOrEqual(0.7);
    expect(body.alternatives).toHaveLength(2);
    expect(body.alternatives[0].matched_question).toMatch(/PIN/);
  });

  it("gives the fallback below the threshold", async () => {
    const response = await call("POST", "/v1/faq/support/ask", {
      question: "Which pizza toppings are best?",
      threshold: 0.99,
      fallback: "Let me get a colleague.",
    });
    expect(response.json()).toMatchObject({
      answered: false,
      reply: "Let me get a colleague.",
      threshold: 0.99,
    });
  });

  it("refuses bad questions and collections that are not FAQs", async () => {
    const ask = (payload: unknown, name = "support") => call("POST", `/v1/faq/${name}/ask`, payload);
    expectOpenAiError(await ask({}), 400, "question");
    expectOpenAiError(await ask({ question: "" }), 400, "question");
    expectOpenAiError(await ask({ question: 7 }), 400, "question");
    expectOpenAiError(await ask({ question: "hi", threshold: 3 }), 400, "threshold");
    expectOpenAiError(await ask({ question: "hi", k: 0 }), 400, "k");
    expectOpenAiError(await ask({ question: "hi", filter: "category=(" }), 400);
    await call("POST", "/v1/collections", { name: "plain", model: "bge-small-en-v1.5" });
    const plain = await ask({ question: "hi" }, "plain");
    expectOpenAiError(plain, 400, "collection");
    expect(plain.json().error.message).toMatch(/not a usable FAQ/);
  });
});

describe("embedkit serve --store", () => {
  it("passes the store location from flag, environment or config file to the server", () => {
    const fromEnv = resolveServeSettings({ flags: {}, env: { EMBEDKIT_STORE: "vectors-folder" } });
    expect(toServerOptions(fromEnv).vectorStore).toBe("vectors-folder");
    const fromFlag = resolveServeSettings({
      flags: { store: "postgres://app@127.0.0.1/app" },
      env: { EMBEDKIT_STORE: "vectors-folder" },
      config: { store: "/etc/vectors" },
    });
    expect(toServerOptions(fromFlag).vectorStore).toBe("postgres://app@127.0.0.1/app");
    expect(toServerOptions(resolveServeSettings({ flags: {}, env: {} })).vectorStore).toBeUndefined();
  });
});
