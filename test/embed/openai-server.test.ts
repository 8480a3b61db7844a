/**
 * The OpenAI provider against embedkit's own OpenAI-compatible server
 * (src/server), listening on 127.0.0.1: it runs the Embedder conformance suite,
 * and its vectors equal the local embedder's for all-MiniLM-L6-v2 (fp32 only —
 * int8 `-q` graphs quantize dynamically per batch, so they differ by ~1e-2
 * between batch compositions and are useless for exactness checks).
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { runEmbedderSuite } from "./embedder-suite.js";

const MODEL = "all-minilm-l6-v2";
const API_KEY = "sk-embedkit-test";
const TEXTS = [
  "The weather is lovely today.",
  "It's so sunny outside!",
  "He drove to the stadium.",
  "A man is playing a guitar on a street corner while people walk past.",
  "Embeddings map text to vectors.",
];

let serverPromise: Promise<{ app: EmbedkitServer; baseURL: string }> | undefined;

/** Start embedkit's server once per file, serving only the fp32 model. */
function startServer(): Promise<{ app: EmbedkitServer; baseURL: string }> {
  serverPromise ??= (async () => {
    const app = createServer({ models: [MODEL], apiKeys: [API_KEY], processMetrics: false });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as AddressInfo;
    return { app, baseURL: `http://127.0.0.1:${port}/v1` };
  })();
  return serverPromise;
}

afterAll(async () => {
  if (serverPromise) await (await serverPromise).app.close();
});

runEmbedderSuite({
  name: "openai provider → embedkit server (all-minilm-l6-v2 fp32)",
  create: async () =>
    createEmbedder({
      provider: "openai",
      baseURL: (await startServer()).baseURL,
      apiKey: API_KEY,
      model: MODEL,
    }),
  related: ["The weather is lovely today.", "It's so sunny outside!"],
  unrelated: "He drove to the stadium.",
});

describe("openai provider → embedkit server", () => {
  let baseURL: string;
  let local: Embedder;
  beforeAll(async () => {
    baseURL = (await startServer()).baseURL;
    local = await createEmbedder({ model: MODEL });
  });
  afterAll(async () => local?.close());

  function maxAbsDifference(a: Float32Array, b: Float32Array): number {
    expect(a.length).toBe(b.length);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
    return max;
  }

  it.each(["base64", "float"] as const)(
    "returns the local embedder's vectors (%s, max abs diff < 1e-5)",
    async (encodingFormat) => {
      const remote = await createEmbedder({
        provider: "openai",
        baseURL,
        apiKey: API_KEY,
        model: MODEL,
        encodingFormat,
        // Several requests in parallel: the server's dynamic batcher may mix them.
        maxInputsPerRequest: 2,
      });
      const [viaServer, direct] = await Promise.all([remote.embed(TEXTS), local.embed(TEXTS)]);
      expect(remote.model.dims).toBe(384);
      for (let i = 0; i < TEXTS.length; i++) {
        expect(
          maxAbsDifference(viaServer.vectors[i] as Float32Array, direct.vectors[i] as Float32Array),
        ).toBeLessThan(1e-5);
      }
      expect(viaServer.usage.tokens).toBeGreaterThan(0);
    },
  );

  it("matches local truncation when `dimensions` is sent to the server", async () => {
    const remote = await createEmbedder({
      provider: "openai",
      baseURL,
      apiKey: API_KEY,
      model: MODEL,
      dimensions: 384,
      sendDimensions: true,
    });
    const viaServer = await remote.embed(TEXTS, { dimensions: 128 });
    const direct = await local.embed(TEXTS, { dimensions: 128 });
    expect(viaServer.dims).toBe(128);
    for (let i = 0; i < TEXTS.length; i++) {
      expect(
        maxAbsDifference(viaServer.vectors[i] as Float32Array, direct.vectors[i] as Float32Array),
      ).toBeLessThan(1e-5);
    }
  });

  it("an OpenAI model name aliased by the server is checked against its real size, never misread", async () => {
    // The server maps text-embedding-3-small to all-minilm-l6-v2 (384 dims), not 1536.
    const naive = await createEmbedder({
      provider: "openai",
      baseURL,
      apiKey: API_KEY,
      model: "text-embedding-3-small",
    });
    await expect(naive.embed(["hello"])).rejects.toThrow(/has 384 dimensions, expected 1536/);
    // Asking for 384 dimensions sends `dimensions: 384`, which the server honours.
    const sized = await createEmbedder({
      provider: "openai",
      baseURL,
      apiKey: API_KEY,
      model: "text-embedding-3-small",
      dimensions: 384,
    });
    const [viaAlias, direct] = await Promise.all([
      sized.embed(TEXTS.slice(0, 2)),
      local.embed(TEXTS.slice(0, 2)),
    ]);
    expect(
      maxAbsDifference(viaAlias.vectors[0] as Float32Array, direct.vectors[0] as Float32Array),
    ).toBeLessThan(1e-5);
  });

  it("maps the server's 401 and 404 to INVALID_OPTION and UNKNOWN_MODEL without retrying", async () => {
    const wrongKey = await createEmbedder({ provider: "openai", baseURL, apiKey: "sk-wrong", model: MODEL });
    await expect(wrongKey.embed(["hello"])).rejects.toMatchObject({ code: "INVALID_OPTION" });
    await expect(wrongKey.embed(["hello"])).rejects.toThrow(/`apiKey`.*OPENAI_API_KEY/);
    const unknown = await createEmbedder({
      provider: "openai",
      baseURL,
      apiKey: API_KEY,
      model: "no-such-model",
    });
    await expect(unknown.embed(["hello"])).rejects.toMatchObject({
      code: "UNKNOWN_MODEL",
      details: { status: 404 },
    });
  });
});
