/**
 * The HTTP surface in-process (`app.inject()`), on the real fp32 model: every
 * error status in OpenAI's shape with the right `param`, authentication on and
 * off, body limits, over-long input (400 vs --auto-truncate), CORS, /health
 * before and after loading, /v1/models and /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type EmbedkitServer, METRIC_NAMES } from "../../src/server/index.js";
import { expectOpenAiError, sharedStore } from "./helpers.js";

const MODEL = "all-minilm-l6-v2";
const LONG_TEXT = "word ".repeat(300);

function post(app: EmbedkitServer, payload: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: "POST", url: "/v1/embeddings", payload: payload as object, headers });
}

describe("server without authentication", () => {
  let app: EmbedkitServer;
  beforeAll(async () => {
    app = createServer({
      models: [MODEL, "e5-small-v2"],
      store: sharedStore(),
      bodyLimit: 64 * 1024,
      // Token ids of the model's own tokenizer are under test here; the default refusal is in security.test.ts.
      allowTokenIds: true,
    });
  });
  afterAll(async () => app?.close());

  it("/health is 503 until the default model is loaded, then 200", async () => {
    const before = await app.inject({ method: "GET", url: "/health" });
    expect(before.statusCode).toBe(503);
    expect(before.json()).toMatchObject({ status: "loading", default_model: MODEL });
    await app.embedkit.preload();
    const after = await app.inject({ method: "GET", url: "/health" });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({ status: "ok", default_model: MODEL, loaded_models: [MODEL] });
  });

  it("embeds without an API key and echoes the canonical model id", async () => {
    const response = await post(app, {
      model: "text-embedding-ada-002",
      input: "hello",
      user: "u-1",
      extra: 1,
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(Object.keys(body)).toEqual(["object", "data", "model", "usage"]);
    expect(body.model).toBe(MODEL);
    expect(body.data[0].embedding).toHaveLength(384);
    expect(body.usage).toEqual({ prompt_tokens: 1, total_tokens: 1 });
  });

  it("400 invalid_request_error names the bad field", async () => {
    const cases: [unknown, string | null][] = [
      [{ input: "hi" }, "model"],
      [{ model: MODEL }, "input"],
      [{ model: 42, input: "hi" }, "model"],
      [{ model: MODEL, input: "" }, "input"],
      [{ model: MODEL, input: [] }, "input"],
      [{ model: MODEL, input: ["a", ""] }, "input"],
      [{ model: MODEL, input: ["a", 1] }, "input"],
      [{ model: MODEL, input: [[1, 2], []] }, "input"],
      [{ model: MODEL, input: [1.5] }, "input"],
      [{ model: MODEL, input: [-1] }, "input"],
      [{ model: MODEL, input: [999_999_999] }, "input"],
      [{ model: MODEL, input: [{ text: "hi" }] }, "input"],
      [{ model: MODEL, input: Array.from({ length: 2049 }, () => "a") }, "input"],
      [{ model: MODEL, input: "hi", encoding_format: "int8" }, "encoding_format"],
      [{ model: MODEL, input: "hi", dimensions: 0 }, "dimensions"],
      [{ model: MODEL, input: "hi", dimensions: -5 }, "dimensions"],
      [{ model: MODEL, input: "hi", dimensions: 1.5 }, "dimensions"],
      [{ model: MODEL, input: "hi", dimensions: "64" }, "dimensions"],
      [{ model: MODEL, input: "hi", dimensions: 385 }, "dimensions"],
      [{ model: MODEL, input: "hi", user: 7 }, "user"],
      [[{ model: MODEL, input: "hi" }], null],
      ["just a string", null],
    ];
    for (const [payload, param] of cases) {
      const response = await app.inject({
        method: "POST",
        url: "/v1/embeddings",
        headers: { "content-type": "application/json" },
        payload: JSON.stringify(payload),
      });
      expectOpenAiError(response, 400, param);
      expect(response.json().error.type).toBe("invalid_request_error");
    }
  });

  it("400 for broken bodies: bad JSON, invalid UTF-8, NaN, empty body; 415 for non-JSON", async () => {
    const raw = (payload: string | Buffer, contentType = "application/json") =>
      app.inject({
        method: "POST",
        url: "/v1/embeddings",
        headers: { "content-type": contentType },
        payload,
      });
    expectOpenAiError(await raw('{"model": "x", "input": '), 400, null);
    expectOpenAiError(await raw(`{"model":"${MODEL}","input":"hi","dimensions":NaN}`), 400, null);
    expectOpenAiError(await raw(`{"model":"${MODEL}","input":"hi","dimensions":1e999}`), 400, "dimensions");
    expectOpenAiError(await raw(Buffer.from(`{"model":"${MODEL}","input":"\xff\xfe"}`, "latin1")), 400, null);
    expectOpenAiError(await raw(""), 400, null);
    const text = await raw(`{"model":"${MODEL}","input":"hi"}`, "text/plain");
    expectOpenAiError(text, 415, null);
  });

  it("404 model_not_found for an unknown model, and for unknown routes", async () => {
    const response = await post(app, { model: "text-embedding-4-huge", input: "hi" });
    expectOpenAiError(response, 404, "model");
    expect(response.json().error.code).toBe("model_not_found");
    expect(response.json().error.message).toContain("text-embedding-4-huge");
    // Served catalog models are found by alias too; catalog models that are not served are 404.
    expect((await post(app, { model: "Xenova/all-MiniLM-L6-v2", input: "hi" })).statusCode).toBe(200);
    expectOpenAiError(await post(app, { model: "bge-small-en-v1.5", input: "hi" }), 404, "model");
    expectOpenAiError(await app.inject({ method: "GET", url: "/v2/nothing" }), 404, null);
  });

  it("413 when the body exceeds the limit", async () => {
    const response = await post(app, { model: MODEL, input: "x".repeat(70 * 1024) });
    expectOpenAiError(response, 413, null);
    expect(response.json().error.code).toBe("request_too_large");
  });

  it("over-long input: 400 naming the model's limit and the input's token count", async () => {
    const response = await post(app, { model: MODEL, input: ["short", LONG_TEXT] });
    expectOpenAiError(response, 400, "input");
    const { message, code } = response.json().error;
    expect(code).toBe("context_length_exceeded");
    expect(message).toContain("input[1] has 300 tokens");
    expect(message).toContain("at most 254 tokens");
    expect(message).toContain("--auto-truncate");
    // Token-id input is held to the same limit.
    const ids = await post(app, { model: MODEL, input: Array.from({ length: 300 }, () => 2773) });
    expectOpenAiError(ids, 400, "input");
    expect(ids.json().error.message).toContain("input[0] has 300 tokens");
  });

  it("/v1/models lists served models then aliases in OpenAI's list shape", async () => {
    const response = await app.inject({ method: "GET", url: "/v1/models" });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.object).toBe("list");
    expect(body.data.map((entry: { id: string }) => entry.id)).toEqual([
      MODEL,
      "e5-small-v2",
      "text-embedding-3-small",
      "text-embedding-3-large",
      "text-embedding-ada-002",
    ]);
    for (const entry of body.data) {
      expect(entry).toMatchObject({ object: "model", owned_by: "embedkit" });
      expect(Number.isInteger(entry.created)).toBe(true);
    }
    expect(body.data[2].root).toBe(MODEL);
    const one = await app.inject({ method: "GET", url: "/v1/models/text-embedding-3-small" });
    expect(one.json()).toMatchObject({ id: "text-embedding-3-small", root: MODEL, object: "model" });
    expectOpenAiError(await app.inject({ method: "GET", url: "/v1/models/nope" }), 404, "model");
  });

  it("/metrics exposes Prometheus text with every server metric", async () => {
    const response = await app.inject({ method: "GET", url: "/metrics" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("text/plain");
    for (const name of Object.values(METRIC_NAMES)) expect(response.body).toContain(name);
    expect(response.body).toMatch(
      /embedkit_http_requests_total\{route="\/v1\/embeddings",method="POST",status="400"\} \d+/,
    );
    expect(response.body).toMatch(/embedkit_tokens_embedded_total\{model="all-minilm-l6-v2"\} [1-9]/);
    expect(response.body).toContain("embedkit_process_resident_memory_bytes");
  });
});

describe("server with API keys, auto-truncate and CORS", () => {
  let app: EmbedkitServer;
  beforeAll(async () => {
    app = createServer({
      models: [MODEL],
      store: sharedStore(),
      apiKeys: ["sk-one", "sk-two"],
      autoTruncate: true,
      cors: "https://app.example",
      aliases: { "my-embedder": MODEL },
      processMetrics: false,
    });
    await app.embedkit.preload();
  });
  afterAll(async () => app?.close());

  it("401 without a key, with a wrong key, or with a malformed header; 200 with either key", async () => {
    const payload = { model: MODEL, input: "hi" };
    const missing = await post(app, payload);
    expectOpenAiError(missing, 401, null);
    expect(missing.json().error.code).toBe("invalid_api_key");
    expect(missing.headers["www-authenticate"]).toContain("Bearer");
    expectOpenAiError(await post(app, payload, { authorization: "Bearer sk-three" }), 401, null);
    expectOpenAiError(await post(app, payload, { authorization: "Bearer sk-on" }), 401, null);
    expectOpenAiError(await post(app, payload, { authorization: "sk-one" }), 401, null);
    expect((await post(app, payload, { authorization: "Bearer sk-one" })).statusCode).toBe(200);
    expect((await post(app, payload, { authorization: "bearer sk-two" })).statusCode).toBe(200);
    expectOpenAiError(await app.inject({ method: "GET", url: "/v1/models" }), 401, null);
    // The health probe stays open; metrics need a key unless the operator made them public.
    expect((await app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
    expectOpenAiError(await app.inject({ method: "GET", url: "/metrics" }), 401, null);
    const withKey = await app.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: "Bearer sk-one" },
    });
    expect(withKey.statusCode).toBe(200);
  });

  it("auto-truncate: over-long input is 200 and usage counts the truncated tokens", async () => {
    const response = await post(
      app,
      { model: "my-embedder", input: [LONG_TEXT, "short"] },
      { authorization: "Bearer sk-one" },
    );
    expect(response.statusCode).toBe(200);
    expect(response.json().usage.prompt_tokens).toBe(254 + 1);
  });

  it("CORS: preflight and headers for the allowed origin only", async () => {
    const preflight = await app.inject({
      method: "OPTIONS",
      url: "/v1/embeddings",
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(preflight.headers["access-control-allow-headers"]).toContain("authorization");
    const other = await app.inject({
      method: "GET",
      url: "/health",
      headers: { origin: "https://evil.example" },
    });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("CORS is off by default", async () => {
    const plain = createServer({ models: [MODEL], store: sharedStore(), processMetrics: false });
    const response = await plain.inject({
      method: "GET",
      url: "/health",
      headers: { origin: "https://app.example" },
    });
    expect(response.headers["access-control-allow-origin"]).toBeUndefined();
    await plain.close();
  });
});

describe("server configuration errors", () => {
  it("refuses unknown models, aliases to unserved models and bad numbers at creation", () => {
    expect(() => createServer({ models: ["no-such-model"] })).toThrow(/Unknown model/);
    expect(() => createServer({ models: [MODEL], defaultModel: "e5-small-v2" })).toThrow(
      /not among the served/,
    );
    expect(() => createServer({ models: [MODEL], aliases: { x: "e5-small-v2" } })).toThrow(/not served/);
    expect(() => createServer({ batching: { maxQueue: 0 } })).toThrow(/maxQueue/);
    expect(() => createServer({ apiKeys: ["has space"] })).toThrow(/whitespace/);
  });
});
