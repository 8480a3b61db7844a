/**
 * The OpenAI provider's orchestration against a loopback fault-injection server:
 * retries and Retry-After, give-up, no retry on client errors, timeouts,
 * splitting and order, bounded parallelism, cancellation, key handling and error
 * mapping. Vectors come from an index-encoding fake source (orchestration only;
 * real semantics are covered by openai-embedder.test.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import {
  createOpenAIEmbedder,
  OPENAI_DEFAULT_BASE_URL,
  type OpenAIEmbedderOptions,
} from "../../src/embed/openai/openai-embedder.js";
import { EmbedkitError } from "../../src/errors.js";
import { type FaultServer, indexVectorSource, openAIError, startFaultServer } from "./openai-fault-server.js";

let server: FaultServer;
beforeAll(async () => {
  server = await startFaultServer(indexVectorSource());
});
afterAll(async () => server?.close());
afterEach(() => {
  server.reset();
  vi.unstubAllEnvs();
});

/** Fast retries for tests; any option can be overridden. */
function create(options: Partial<OpenAIEmbedderOptions> = {}): ReturnType<typeof createOpenAIEmbedder> {
  return createOpenAIEmbedder({
    baseURL: server.baseURL,
    apiKey: "sk-test-secret",
    model: "fake-index-model",
    initialRetryDelayMs: 5,
    ...options,
  });
}

const items = (count: number): string[] => Array.from({ length: count }, (_, i) => `item ${i}`);

/** The n each `item <n>` vector encodes (see indexVectorSource). */
function decodeIndex(vector: Float32Array): number {
  return Math.round((vector[1] as number) / (vector[0] as number));
}

describe("retries", () => {
  it("retries 429, 500 and 503, then succeeds", async () => {
    server.faults = [
      { kind: "status", status: 429, headers: { "retry-after-ms": "10" } },
      { kind: "status", status: 500 },
      { kind: "status", status: 503 },
    ];
    const embedder = create();
    const { vectors } = await embedder.embed(items(3));
    expect(server.requests).toHaveLength(4);
    expect(vectors.map(decodeIndex)).toEqual([0, 1, 2]);
  });

  it("honours Retry-After in seconds and retry-after-ms", async () => {
    // Backoff is 0 here, so any wait comes from the server's hint.
    const embedder = create({ initialRetryDelayMs: 0 });
    server.faults = [{ kind: "status", status: 429, headers: { "retry-after": "1" } }];
    let started = performance.now();
    await embedder.embed(["item 1"]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    server.faults = [{ kind: "status", status: 503, headers: { "retry-after-ms": "200" } }];
    started = performance.now();
    await embedder.embed(["item 1"]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(server.requests).toHaveLength(4);
  });

  it("gives up after maxRetries with the status, the server's message and the attempt count", async () => {
    server.faults = Array.from({ length: 5 }, () => ({
      kind: "status" as const,
      status: 503,
      body: openAIError("The engine is currently overloaded, please try again later.", "server_error"),
    }));
    const embedder = create({ maxRetries: 2 });
    const failure = embedder.embed(["item 1"]);
    await expect(failure).rejects.toThrow(EmbedkitError);
    await expect(failure).rejects.toThrow(
      /failed after 3 attempt\(s\) \(503 from POST http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings: The engine is currently overloaded/,
    );
    await expect(failure).rejects.toMatchObject({
      code: "REMOTE_ERROR",
      details: { status: 503, attempts: 3 },
    });
    expect(server.requests).toHaveLength(3);
  });

  it("maps a persistent 429 to RATE_LIMITED and does not retry insufficient_quota", async () => {
    server.faults = Array.from({ length: 3 }, () => ({
      kind: "status" as const,
      status: 429,
      headers: { "retry-after-ms": "1" },
    }));
    await expect(create({ maxRetries: 2 }).embed(["item 1"])).rejects.toMatchObject({ code: "RATE_LIMITED" });
    expect(server.requests).toHaveLength(3);
    server.reset();
    server.faults = [
      {
        kind: "status",
        status: 429,
        body: openAIError("You exceeded your current quota.", "insufficient_quota", "insufficient_quota"),
      },
    ];
    await expect(create().embed(["item 1"])).rejects.toThrow(/exceeded your current quota/);
    expect(server.requests).toHaveLength(1);
  });

  it("does not retry 400, 401 or 404 and maps them to user errors", async () => {
    server.faults = [
      {
        kind: "status",
        status: 400,
        body: openAIError("'input' is invalid.", "invalid_request_error", null, "input"),
      },
    ];
    await expect(create().embed(["item 1"])).rejects.toMatchObject({
      code: "INVALID_INPUT",
      details: { status: 400, param: "input" },
    });
    expect(server.requests).toHaveLength(1);

    server.reset();
    server.apiKey = "sk-the-right-one";
    const unauthorized = create().embed(["item 1"]);
    await expect(unauthorized).rejects.toMatchObject({ code: "INVALID_OPTION" });
    await expect(unauthorized).rejects.toThrow(/Incorrect API key.*`apiKey`.*OPENAI_API_KEY/);
    expect(server.requests).toHaveLength(1);

    server.reset();
    server.faults = [
      {
        kind: "status",
        status: 404,
        body: openAIError(
          "The model `nope` does not exist or you do not have access to it.",
          "invalid_request_error",
          "model_not_found",
        ),
      },
    ];
    await expect(create().embed(["item 1"])).rejects.toMatchObject({ code: "UNKNOWN_MODEL" });
    expect(server.requests).toHaveLength(1);
  });

  it("reports a wrong baseURL as such", async () => {
    const embedder = create({ baseURL: server.baseURL.replace(/\/v1$/, "/nope") });
    await expect(embedder.embed(["item 1"])).rejects.toThrow(/No embeddings endpoint.*Check `baseURL`/);
  });

  it("never puts the API key in a message or its details", async () => {
    // A server that echoes the key back in its error message.
    server.faults = [
      { kind: "status", status: 400, body: openAIError("Bad key sk-test-secret", "invalid_request_error") },
    ];
    expect(() =>
      create({ baseURL: server.baseURL.replace("http://", "http://user:sk-test-secret@") }),
    ).toThrow(/must not contain credentials/);
    // Some gateways take the key in the query string.
    const embedder = create({ baseURL: `${server.baseURL}?key=sk-test-secret` });
    expect(embedder.url).not.toContain("sk-test-secret");
    const error = await embedder.embed(["item 1"]).catch((caught: unknown) => caught);
    expect(EmbedkitError.isInstance(error)).toBe(true);
    expect(
      JSON.stringify({ message: (error as Error).message, details: (error as EmbedkitError).details }),
    ).not.toContain("sk-test-secret");
  });
});

describe("timeouts and cancellation", () => {
  it("retries a hung request after timeoutMs, then succeeds", async () => {
    server.faults = [{ kind: "hang" }];
    const { vectors } = await create({ timeoutMs: 100 }).embed(["item 5"]);
    expect(vectors.map(decodeIndex)).toEqual([5]);
    expect(server.requests).toHaveLength(2);
  });

  it("fails with a timeout error once retries are exhausted", async () => {
    server.faults = [{ kind: "hang" }, { kind: "hang" }, { kind: "hang" }];
    const failure = create({ timeoutMs: 100, maxRetries: 2 }).embed(["item 5"]);
    await expect(failure).rejects.toThrow(/timed out after 100 ms \(3 attempt\(s\)\).*timeoutMs/);
    await expect(failure).rejects.toMatchObject({ code: "REMOTE_ERROR", details: { timedOut: true } });
    expect(server.requests).toHaveLength(3);
  });

  it("a caller's signal cancels in-flight requests and pending retries", async () => {
    server.faults = [{ kind: "hang" }];
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    await expect(
      create({ timeoutMs: 10_000 }).embed(["item 1"], { signal: controller.signal }),
    ).rejects.toThrow(/cancelled by the caller's AbortSignal/);
    expect(performance.now() - started).toBeLessThan(2000);

    server.faults = [{ kind: "status", status: 503, headers: { "retry-after": "30" } }];
    const second = new AbortController();
    setTimeout(() => second.abort(), 100);
    await expect(
      create({ maxRetryDelayMs: 60_000 }).embed(["item 1"], { signal: second.signal }),
    ).rejects.toThrow(/cancelled/);
    await expect(create().embed(["item 1"], { signal: AbortSignal.abort() })).rejects.toThrow(/cancelled/);
  });

  it("close() stops in-flight requests with CLOSED and refuses later calls", async () => {
    server.faults = [{ kind: "hang" }];
    const embedder = create({ timeoutMs: 10_000 });
    const pending = embedder.embed(["item 1"]);
    setTimeout(() => void embedder.close(), 50);
    await expect(pending).rejects.toMatchObject({ code: "CLOSED" });
    await expect(embedder.embed(["item 1"])).rejects.toMatchObject({ code: "CLOSED" });
    await expect(embedder.countTokens(["item 1"])).rejects.toMatchObject({ code: "CLOSED" });
  });
});

describe("malformed responses are errors, never misaligned vectors", () => {
  it.each([
    ["malformed", /body is not JSON/],
    ["wrong-count", /expected 3 embeddings \(one per input\), received 2/],
    ["wrong-length", /has 3 dimensions, expected 4/],
    ["bad-index", /index 3 is out of range or repeated/],
  ] as const)("%s", async (kind, message) => {
    server.faults = [{ kind }];
    const embedder = create({ dimensions: 4 });
    const failure = embedder.embed(items(3));
    await expect(failure).rejects.toThrow(message);
    await expect(failure).rejects.toMatchObject({ code: "REMOTE_ERROR" });
    expect(server.requests).toHaveLength(1);
  });

  it("treats a 200 carrying an OpenAI error body as an error", async () => {
    server.faults = [{ kind: "status", status: 200, body: openAIError("upstream exploded", "server_error") }];
    await expect(create().embed(["item 1"])).rejects.toThrow(/answered 200 with an error: upstream exploded/);
  });

  it("rejects a response of the wrong shape with the offending path", async () => {
    server.faults = [{ kind: "status", status: 200, body: { object: "list", data: [{ index: 0 }] } }];
    await expect(create().embed(["item 1"])).rejects.toThrow(/data\.0\.embedding/);
  });

  it("fixes discovered dims after the first response", async () => {
    const embedder = create();
    expect(embedder.model.dims).toBe(0);
    await embedder.embed(["item 1"]);
    expect(embedder.model.dims).toBe(4);
    await expect(embedder.embed(["item 1"], { dimensions: 5 })).rejects.toThrow(/between 1 and 4/);
    server.faults = [{ kind: "wrong-length" }];
    await expect(embedder.embed(["item 1"])).rejects.toThrow(/expected 4/);
  });
});

describe("splitting and parallelism", () => {
  it("splits 5000 inputs into 3 requests of at most 2048 and preserves order", async () => {
    const progress: number[] = [];
    const result = await create().embed(items(5000), { onProgress: (done) => progress.push(done) });
    expect(server.requests.map((request) => request.body.input?.length)).toEqual(
      expect.arrayContaining([2048, 2048, 904]),
    );
    expect(server.requests).toHaveLength(3);
    expect(result.vectors.map(decodeIndex)).toEqual(items(5000).map((_, i) => i));
    expect(progress.at(-1)).toBe(5000);
    // usage sums every response's prompt_tokens (2 per `item <n>` from the fake).
    expect(result.usage.tokens).toBe(10_000);
  });

  it("splits by estimated tokens", async () => {
    // "item 1" … "item 9": 6 ASCII characters → 2 estimated tokens each.
    const texts = items(10).slice(1);
    const result = await create({ maxTokensPerRequest: 6 }).embed(texts);
    expect(server.requests.map((request) => request.body.input?.length).sort()).toEqual([3, 3, 3]);
    expect(result.vectors.map(decodeIndex)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("keeps at most maxParallelRequests in flight", async () => {
    server.delayMs = 40;
    const result = await create({ maxInputsPerRequest: 2, maxParallelRequests: 3 }).embed(items(40));
    expect(server.requests).toHaveLength(20);
    expect(server.maxConcurrent).toBe(3);
    expect(result.vectors.map(decodeIndex)).toEqual(items(40).map((_, i) => i));
  });

  it("stops sending once one request fails for good", async () => {
    server.delayMs = 20;
    server.faults = [{ kind: "status", status: 400 }];
    await expect(
      create({ maxInputsPerRequest: 1, maxParallelRequests: 1 }).embed(items(50)),
    ).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(server.requests).toHaveLength(1);
  });
});

describe("inputs, options and keys", () => {
  it("sends nothing for a bad input or option", async () => {
    const embedder = create();
    await expect(embedder.embed(["item 1", ""])).rejects.toThrow(/Input 1 is an empty string/);
    await expect(embedder.embed(["item 1", 7 as unknown as string])).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(embedder.embed(["item 1"], { precision: "fp16" as "int8" })).rejects.toMatchObject({
      code: "INVALID_OPTION",
    });
    await expect(embedder.embed(["item 1"], { dimensions: 0 })).rejects.toMatchObject({
      code: "INVALID_OPTION",
    });
    expect(server.requests).toHaveLength(0);
  });

  it("names the `apiKey` option and OPENAI_API_KEY when the key is missing for api.openai.com", () => {
    vi.stubEnv("OPENAI_API_KEY", "");
    vi.stubEnv("OPENAI_BASE_URL", "");
    const missing = (): unknown => createOpenAIEmbedder({ model: "text-embedding-3-small" });
    expect(missing).toThrow(EmbedkitError);
    expect(missing).toThrow(/`apiKey` option or the OPENAI_API_KEY environment variable/);
    expect(() =>
      createOpenAIEmbedder({ model: "text-embedding-3-small", baseURL: OPENAI_DEFAULT_BASE_URL }),
    ).toThrow(/OPENAI_API_KEY/);
    // An Authorization header given explicitly is a key too.
    expect(() =>
      createOpenAIEmbedder({ model: "text-embedding-3-small", headers: { Authorization: "Bearer sk-x" } }),
    ).not.toThrow();
  });

  it("reads OPENAI_API_KEY and OPENAI_BASE_URL, and sends no Authorization without a key", async () => {
    vi.stubEnv("OPENAI_API_KEY", "sk-from-env");
    vi.stubEnv("OPENAI_BASE_URL", server.baseURL);
    await createOpenAIEmbedder({ model: "m", headers: { "x-extra": "1" } }).embed(["item 1"]);
    expect(server.requests[0]?.headers.authorization).toBe("Bearer sk-from-env");
    expect(server.requests[0]?.headers["x-extra"]).toBe("1");
    vi.stubEnv("OPENAI_API_KEY", "");
    await createOpenAIEmbedder({ model: "m" }).embed(["item 1"]);
    expect(server.requests[1]?.headers.authorization).toBeUndefined();
  });

  it('is what createEmbedder({ provider: "openai" }) returns', async () => {
    const embedder = await createEmbedder({
      provider: "openai",
      baseURL: server.baseURL,
      apiKey: "sk-test-secret",
      model: "fake-index-model",
      dimensions: 4,
    });
    expect(embedder.url).toBe(`${server.baseURL}/embeddings`);
    expect(embedder.model).toMatchObject({ id: "fake-index-model", dims: 4, maxBatchSize: 2048 });
    expect((await embedder.embed(["item 3"])).vectors.map(decodeIndex)).toEqual([3]);
    expect(server.requests[0]?.headers.authorization).toBe("Bearer sk-test-secret");
    await expect(createEmbedder({ provider: "remote" as "openai", model: "m" })).rejects.toThrow(
      /provider must be one of local, openai/,
    );
  });

  it("rejects out-of-range options with the option's name", () => {
    expect(() => create({ maxParallelRequests: 0 })).toThrow(/maxParallelRequests must be an integer ≥ 1/);
    expect(() => create({ baseURL: "ftp://x" })).toThrow(/baseURL must use http or https/);
    expect(() => create({ baseURL: "not a url" })).toThrow(/baseURL must be an absolute/);
    expect(() => create({ model: "" })).toThrow(/model must be a non-empty string/);
    expect(() => create({ encodingFormat: "hex" as "float" })).toThrow(/encodingFormat must be one of/);
    expect(() => create({ model: "text-embedding-3-small", dimensions: 4000 })).toThrow(/at most 1536/);
  });

  it("sends `dimensions` for text-embedding-3 models and truncates locally for ada-002", async () => {
    await server.close();
    server = await startFaultServer(indexVectorSource(3072));
    const large = create({ model: "text-embedding-3-large" });
    expect(large.model.dims).toBe(3072);
    const shortened = await large.embed(["item 9"], { dimensions: 256 });
    expect(server.requests[0]?.body.dimensions).toBe(256);
    expect(shortened.dims).toBe(256);
    expect(shortened.vectors[0]).toHaveLength(256);
    const full = await large.embed(["item 9"]);
    expect(server.requests[1]?.body.dimensions).toBeUndefined();
    expect(full.vectors[0]).toHaveLength(3072);

    expect(create({ model: "text-embedding-3-small", dimensions: 512 }).model.dims).toBe(512);
    await server.close();
    server = await startFaultServer(indexVectorSource(1536));
    const small = createOpenAIEmbedder({
      ...fixedOptions(),
      model: "text-embedding-3-small",
      dimensions: 512,
    });
    expect((await small.embed(["item 9"])).vectors[0]).toHaveLength(512);
    expect(server.requests[0]?.body.dimensions).toBe(512);

    const ada = createOpenAIEmbedder({ ...fixedOptions(), model: "text-embedding-ada-002" });
    const local = await ada.embed(["item 9"], { dimensions: 128 });
    expect(server.requests[1]?.body.dimensions).toBeUndefined();
    expect(local.vectors[0]).toHaveLength(128);
    expect(decodeIndex(local.vectors[0] as Float32Array)).toBe(9);
  });
});

function fixedOptions(): { baseURL: string; apiKey: string } {
  return { baseURL: server.baseURL, apiKey: "sk-test-secret" };
}
