/**
 * The local ONNX embedder on real catalog models pulled through the real store:
 * conformance, published reference values, prefixes, truncation and batching.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { checkReferences } from "../../src/embed/reference-check.js";
import { getModel } from "../../src/models/catalog.js";
import { cosineSimilarity } from "../../src/vectors/math.js";
import { runEmbedderSuite } from "./embedder-suite.js";

runEmbedderSuite({
  name: "onnx all-minilm-l6-v2-q",
  create: () => createEmbedder({ model: "all-minilm-l6-v2-q" }),
  // Dynamic int8 quantization: batch-dependent scales (measured 0.991 worst case here).
  batchInvariance: 0.98,
  related: ["The weather is lovely today.", "It's so sunny outside!"],
  unrelated: "He drove to the stadium.",
});

runEmbedderSuite({
  name: "onnx all-minilm-l6-v2 (fp32)",
  create: () => createEmbedder({ model: "all-minilm-l6-v2" }),
  related: ["The weather is lovely today.", "It's so sunny outside!"],
  unrelated: "He drove to the stadium.",
});

runEmbedderSuite({
  name: "onnx bge-small-zh-v1.5-q",
  create: () => createEmbedder({ model: "bge-small-zh-v1.5-q" }),
  batchInvariance: 0.98,
  related: ["今天天气很好", "今天阳光明媚"],
  unrelated: "他开车去了体育场",
});

describe("all-MiniLM-L6-v2 (fp32) reproduces published values", () => {
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await createEmbedder({ model: "all-minilm-l6-v2" });
  });
  afterAll(async () => embedder?.close());

  it("matches the sentence-transformers docs matrix within 0.01", async () => {
    const { vectors } = await embedder.embed([
      "The weather is lovely today.",
      "It's so sunny outside!",
      "He drove to the stadium.",
    ]);
    const [a, b, c] = vectors as [Float32Array, Float32Array, Float32Array];
    expect(Math.abs(cosineSimilarity(a, b) - 0.666)).toBeLessThan(0.01);
    expect(Math.abs(cosineSimilarity(a, c) - 0.1046)).toBeLessThan(0.01);
    expect(Math.abs(cosineSimilarity(b, c) - 0.1411)).toBeLessThan(0.01);
  });

  it("passes every catalog reference check (fastembed, LangChain4j)", async () => {
    const results = await checkReferences(embedder, getModel("all-minilm-l6-v2"));
    expect(results.length).toBeGreaterThanOrEqual(5);
    for (const result of results) expect(result.ok, result.summary).toBe(true);
  });

  it("uses the catalog limit (256), not tokenizer.json's 128, and truncates or refuses long inputs", async () => {
    const sentence = "word ".repeat(200); // 200 tokens: over 128, under 256
    const [count] = await embedder.countTokens([sentence]);
    expect(count).toBe(200);
    const long = await embedder.embed([sentence], { truncate: false });
    const longer = await embedder.embed([`${sentence} extra tail words`], { truncate: false });
    // Tokens beyond 128 change the vector, proving they are not cut at 128.
    expect(cosineSimilarity(long.vectors[0] as Float32Array, longer.vectors[0] as Float32Array)).toBeLessThan(
      0.99999,
    );
    const tooLong = "word ".repeat(300);
    await expect(embedder.embed([tooLong], { truncate: false })).rejects.toThrow(
      /Input 0 has 300 tokens, but the model accepts at most 254 \(256 including special tokens\)/,
    );
    const truncated = await embedder.embed([tooLong]);
    const cut = await embedder.embed(["word ".repeat(254)], { truncate: false });
    expect(
      cosineSimilarity(truncated.vectors[0] as Float32Array, cut.vectors[0] as Float32Array),
    ).toBeGreaterThan(0.99999);
  });

  it("embeds a huge input quickly when truncating", async () => {
    const started = performance.now();
    const { vectors } = await embedder.embed(["lorem ipsum ".repeat(200_000)]);
    expect(vectors[0]?.length).toBe(384);
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it("gives the same vectors whatever the batch composition (padding is masked)", async () => {
    const texts = ["short", "a somewhat longer sentence with more tokens in it", "mid length text here"];
    const together = await embedder.embed(texts);
    for (let i = 0; i < texts.length; i++) {
      const alone = await embedder.embed([texts[i] as string]);
      expect(
        cosineSimilarity(alone.vectors[0] as Float32Array, together.vectors[i] as Float32Array),
      ).toBeGreaterThan(0.99999);
    }
  });

  it("reports progress per batch and honours cancellation", async () => {
    const small = await createEmbedder({ model: "all-minilm-l6-v2", maxBatchSize: 2 });
    const seen: number[] = [];
    await small.embed(["a", "b", "c", "d", "e"], { onProgress: (done) => seen.push(done) });
    expect(seen).toEqual([2, 4, 5]);
    const controller = new AbortController();
    controller.abort();
    await expect(small.embed(["a"], { signal: controller.signal })).rejects.toThrow(/cancelled/);
    await small.close();
  });
});

describe("query/passage prefixes", () => {
  it("e5 reproduces its reference only with the 'query: ' prefix, which inputType adds", async () => {
    const e5 = await createEmbedder({ model: "e5-small-v2-q" });
    const withPrefix = await e5.embed(["query: I love transformers."]);
    const viaInputType = await e5.embed(["I love transformers."], { inputType: "query" });
    const without = await e5.embed(["I love transformers."]);
    expect(
      cosineSimilarity(withPrefix.vectors[0] as Float32Array, viaInputType.vectors[0] as Float32Array),
    ).toBeGreaterThan(0.99999);
    expect(
      cosineSimilarity(withPrefix.vectors[0] as Float32Array, without.vectors[0] as Float32Array),
    ).toBeLessThan(0.999);
    await e5.close();
  });
});
