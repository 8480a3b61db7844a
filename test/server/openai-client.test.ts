/**
 * The official `openai` npm client against a real listening server on
 * 127.0.0.1 (random port), compared number by number with the library's own
 * `embed` on the fp32 model (batch-invariant, so max abs diff < 1e-5 holds even
 * when the server batches requests together; int8 `-q` graphs would not be).
 */
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { loadTextTokenizer, type TextTokenizer } from "../../src/embed/onnx/text-tokenizer.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { base64ToFloat32 } from "../../src/vectors/codec.js";
import { maxAbsDiff, sharedStore } from "./helpers.js";

const MODEL = "all-minilm-l6-v2";
const KEY = "sk-embedkit-test-key";
const TEXTS = [
  "The weather is lovely today.",
  "It's so sunny outside!",
  "He drove to the stadium.",
  "A man is playing a guitar on a street corner, and a small crowd has gathered to listen.",
];
const TOLERANCE = 1e-5;

describe("official openai client against embedkit serve", () => {
  let app: EmbedkitServer;
  let client: OpenAI;
  let reference: Embedder;
  let tokenizer: TextTokenizer;
  let baseURL: string;

  beforeAll(async () => {
    const store = sharedStore();
    app = createServer({
      models: [MODEL],
      store,
      apiKeys: [KEY],
      processMetrics: false,
      allowTokenIds: true,
    });
    await app.embedkit.preload();
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as AddressInfo;
    baseURL = `http://127.0.0.1:${port}/v1`;
    client = new OpenAI({ baseURL, apiKey: KEY, maxRetries: 0 });
    reference = await createEmbedder({ model: MODEL, store });
    const pulled = await store.ensure(MODEL);
    tokenizer = await loadTextTokenizer(pulled.path("tokenizer"), reference.model.maxTokens);
  });
  afterAll(async () => {
    await app?.close();
    await reference?.close();
  });

  it("matches embed() with the client's default encoding (base64, decoded by the client)", async () => {
    const response = await client.embeddings.create({ model: "text-embedding-3-small", input: TEXTS });
    const expected = await reference.embed(TEXTS);
    expect(response.object).toBe("list");
    expect(response.model).toBe(MODEL);
    expect(response.data.map((item) => item.index)).toEqual([0, 1, 2, 3]);
    response.data.forEach((item, index) => {
      expect(item.object).toBe("embedding");
      expect(item.embedding).toHaveLength(384);
      expect(maxAbsDiff(item.embedding, expected.vectors[index] as Float32Array)).toBeLessThan(TOLERANCE);
    });
    const counts = await reference.countTokens(TEXTS);
    const total = counts.reduce((sum, count) => sum + count, 0);
    expect(response.usage).toEqual({ prompt_tokens: total, total_tokens: total });
    expect(response.usage.prompt_tokens).toBe(expected.usage.tokens);
  });

  it("matches embed() with encoding_format float, and base64 is little-endian float32 of the same vector", async () => {
    const floats = await client.embeddings.create({
      model: MODEL,
      input: TEXTS[0] as string,
      encoding_format: "float",
    });
    const expected = await reference.embed([TEXTS[0] as string]);
    const vector = floats.data[0]?.embedding as number[];
    expect(maxAbsDiff(vector, expected.vectors[0] as Float32Array)).toBeLessThan(TOLERANCE);
    const raw = await fetch(`${baseURL}/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: MODEL, input: TEXTS[0], encoding_format: "base64" }),
    });
    const body = (await raw.json()) as { data: { embedding: string }[] };
    const decoded = base64ToFloat32(body.data[0]?.embedding as string);
    expect(Array.from(decoded)).toEqual(Array.from(Float32Array.from(vector)));
  });

  it("honours dimensions (truncate + re-normalize) like embed({ dimensions })", async () => {
    for (const dimensions of [32, 128, 384]) {
      const response = await client.embeddings.create({ model: MODEL, input: TEXTS, dimensions });
      const expected = await reference.embed(TEXTS, { dimensions });
      response.data.forEach((item, index) => {
        expect(item.embedding).toHaveLength(dimensions);
        expect(maxAbsDiff(item.embedding, expected.vectors[index] as Float32Array)).toBeLessThan(TOLERANCE);
      });
    }
  });

  it("accepts token-id input (one array, and an array of arrays) from the model's own tokenizer", async () => {
    const ids = TEXTS.map((text) => tokenizer.encode(text, { truncate: true }).ids.slice(1, -1));
    const expected = await reference.embed(TEXTS);
    const single = await client.embeddings.create({ model: MODEL, input: ids[0] as number[] });
    expect(
      maxAbsDiff(single.data[0]?.embedding as number[], expected.vectors[0] as Float32Array),
    ).toBeLessThan(TOLERANCE);
    expect(single.usage.prompt_tokens).toBe((ids[0] as number[]).length);
    const many = await client.embeddings.create({ model: MODEL, input: ids as number[][] });
    many.data.forEach((item, index) => {
      expect(maxAbsDiff(item.embedding, expected.vectors[index] as Float32Array)).toBeLessThan(TOLERANCE);
    });
  });

  it("serves concurrent requests with mixed dimensions correctly (shared batches, per-request options)", async () => {
    const expectedFull = await reference.embed(TEXTS);
    const expectedSmall = await reference.embed(TEXTS, { dimensions: 64 });
    const jobs = Array.from({ length: 24 }, (_, job) => {
      const index = job % TEXTS.length;
      const dimensions = job % 2 === 0 ? 64 : undefined;
      return client.embeddings
        .create({ model: MODEL, input: TEXTS[index] as string, ...(dimensions ? { dimensions } : {}) })
        .then((response) => ({ index, dimensions, vector: response.data[0]?.embedding as number[] }));
    });
    for (const result of await Promise.all(jobs)) {
      const expected = (result.dimensions ? expectedSmall : expectedFull).vectors[
        result.index
      ] as Float32Array;
      expect(maxAbsDiff(result.vector, expected)).toBeLessThan(TOLERANCE);
    }
  });

  it("lists models and aliases through the client", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual([
      MODEL,
      "text-embedding-3-small",
      "text-embedding-3-large",
      "text-embedding-ada-002",
    ]);
  });

  it("surfaces errors as the client's typed errors", async () => {
    const wrongKey = new OpenAI({ baseURL, apiKey: "sk-wrong", maxRetries: 0 });
    await expect(wrongKey.embeddings.create({ model: MODEL, input: "hi" })).rejects.toThrow(
      OpenAI.AuthenticationError,
    );
    await expect(client.embeddings.create({ model: "gpt-unknown", input: "hi" })).rejects.toThrow(
      OpenAI.NotFoundError,
    );
    await expect(client.embeddings.create({ model: MODEL, input: "hi", dimensions: 1000 })).rejects.toThrow(
      OpenAI.BadRequestError,
    );
  });
});
