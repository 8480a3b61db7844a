/**
 * The OpenAI provider end to end with real semantics: a loopback OpenAI-shaped
 * server computes vectors with embedkit's local all-MiniLM-L6-v2 (fp32), so the
 * shared Embedder conformance suite runs against the provider over HTTP. Also:
 * base64 and float decoding agree bit for bit, vectors equal the local
 * embedder's, and trimmed OpenAI-shaped fixtures parse (and errors surface) as
 * documented.
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { createOpenAIEmbedder, type OpenAIEmbedder } from "../../src/embed/openai/openai-embedder.js";
import { EmbedkitError } from "../../src/errors.js";
import { normalize } from "../../src/vectors/math.js";
import { runEmbedderSuite } from "./embedder-suite.js";
import { type FaultServer, startFaultServer } from "./openai-fault-server.js";

const MODEL = "all-minilm-l6-v2";
const TEXTS = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."];

let local: Embedder | undefined;
let serverPromise: Promise<FaultServer> | undefined;

/** One loopback server per file, backed by the real local fp32 model, started on first use. */
function realServer(): Promise<FaultServer> {
  serverPromise ??= (async () => {
    local = await createEmbedder({ model: MODEL });
    const embedder = local;
    return startFaultServer(async (texts) => {
      const result = await embedder.embed(texts);
      return { vectors: result.vectors, tokens: result.usage.tokens };
    });
  })();
  return serverPromise;
}

afterAll(async () => {
  if (serverPromise) await (await serverPromise).close();
  await local?.close();
});

runEmbedderSuite({
  name: "openai provider → loopback server (all-minilm-l6-v2 fp32, base64, dims discovered)",
  create: async () => createOpenAIEmbedder({ baseURL: (await realServer()).baseURL, model: MODEL }),
  related: ["The weather is lovely today.", "It's so sunny outside!"],
  unrelated: "He drove to the stadium.",
});

runEmbedderSuite({
  name: "openai provider → loopback server (float, dimensions sent to the server, small requests)",
  create: async () =>
    createOpenAIEmbedder({
      baseURL: (await realServer()).baseURL,
      apiKey: "sk-local",
      model: MODEL,
      dimensions: 384,
      sendDimensions: true,
      encodingFormat: "float",
      maxInputsPerRequest: 1,
      maxParallelRequests: 2,
    }),
  related: ["The weather is lovely today.", "It's so sunny outside!"],
  unrelated: "He drove to the stadium.",
});

describe("openai provider against the local model over HTTP", () => {
  let server: FaultServer;
  beforeAll(async () => {
    server = await realServer();
  });

  it("decodes base64 and float responses to identical vectors, equal to the local embedder's", async () => {
    const base64 = await createOpenAIEmbedder({ baseURL: server.baseURL, model: MODEL }).embed(TEXTS);
    const float = await createOpenAIEmbedder({
      baseURL: server.baseURL,
      model: MODEL,
      encodingFormat: "float",
    }).embed(TEXTS);
    const direct = await (local as Embedder).embed(TEXTS);
    for (let i = 0; i < TEXTS.length; i++) {
      expect(Array.from(base64.vectors[i] as Float32Array)).toEqual(
        Array.from(float.vectors[i] as Float32Array),
      );
      const reference = direct.vectors[i] as Float32Array;
      const got = base64.vectors[i] as Float32Array;
      const maxDifference = Math.max(...reference.map((value, j) => Math.abs(value - (got[j] as number))));
      expect(maxDifference).toBeLessThan(1e-6);
    }
    expect(base64.usage.tokens).toBe(direct.usage.tokens);
    const formats = server.requests.slice(-2).map((request) => request.body.encoding_format);
    expect(formats).toEqual(["base64", "float"]);
  });

  it("applies configured prefixes for inputType, and none by default", async () => {
    const embedder: OpenAIEmbedder = createOpenAIEmbedder({
      baseURL: server.baseURL,
      model: MODEL,
      prefixes: { query: "query: " },
    });
    await embedder.embed(["a question"], { inputType: "query" });
    await embedder.embed(["a passage"], { inputType: "passage" });
    expect(server.requests.slice(-2).map((request) => request.body.input)).toEqual([
      ["query: a question"],
      ["a passage"],
    ]);
  });
});

describe("trimmed OpenAI-shaped fixtures", () => {
  const fixture = (name: string): Promise<string> =>
    readFile(new URL(`../fixtures/openai/${name}`, import.meta.url), "utf8");
  /** An embedder whose fetch answers every request with one fixture. */
  async function answering(name: string, status = 200): Promise<OpenAIEmbedder> {
    const body = await fixture(name);
    return createOpenAIEmbedder({
      model: "text-embedding-3-small",
      apiKey: "sk-fixture",
      baseURL: "https://api.openai.com/v1",
      // The fixtures are trimmed to 4 dimensions, as if `dimensions: 4` had been requested.
      dimensions: 4,
      maxRetries: 0,
      fetch: async () =>
        new Response(body, {
          status,
          headers: { "content-type": "application/json", "x-request-id": "req_123" },
        }),
    });
  }

  it("parses the float and base64 list responses to the same normalized vectors and usage", async () => {
    const expected = JSON.parse(await fixture("embeddings-float.json")) as {
      data: { embedding: number[] }[];
    };
    for (const name of ["embeddings-float.json", "embeddings-base64.json"]) {
      const result = await (await answering(name)).embed(["hello", "world"]);
      expect(result.usage.tokens).toBe(8);
      expect(result.dims).toBe(4);
      result.vectors.forEach((vector, i) => {
        const reference = normalize(expected.data[i]?.embedding ?? []);
        for (let j = 0; j < 4; j++) expect(vector[j]).toBeCloseTo(reference[j] as number, 6);
      });
    }
  });

  it("refuses a response with fewer embeddings than inputs", async () => {
    await expect((await answering("embeddings-float.json")).embed(["a", "b", "c"])).rejects.toThrow(
      /expected 3 embeddings \(one per input\), received 2/,
    );
  });

  it.each([
    [
      "error-invalid-api-key.json",
      401,
      "INVALID_OPTION",
      /Incorrect API key provided.*code invalid_api_key.*`apiKey`/,
    ],
    ["error-model-not-found.json", 404, "UNKNOWN_MODEL", /does not exist.*Check the `model` option/],
    ["error-context-length.json", 400, "INPUT_TOO_LONG", /maximum context length is 8192 tokens/],
    ["error-rate-limit.json", 429, "RATE_LIMITED", /Rate limit reached.*rate_limit_exceeded/],
    ["error-insufficient-quota.json", 429, "RATE_LIMITED", /exceeded your current quota/],
  ] as const)("surfaces %s (%i) as %s", async (name, status, code, message) => {
    const failure = (await answering(name, status)).embed(["hello"]);
    await expect(failure).rejects.toThrow(EmbedkitError);
    await expect(failure).rejects.toThrow(message);
    await expect(failure).rejects.toMatchObject({
      code,
      details: { status, url: "https://api.openai.com/v1/embeddings", requestId: "req_123" },
    });
  });
});
