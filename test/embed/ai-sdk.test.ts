/** The Vercel AI SDK embedding model: `embed`, `embedMany`, `cosineSimilarity` of the real `ai` package on a real model. */
import { cosineSimilarity, type EmbeddingModel, embed, embedMany } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toAiSdkEmbeddingModel } from "../../src/embed/ai-sdk.js";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { EmbedkitError } from "../../src/errors.js";
import { cosineSimilarity as ownCosine } from "../../src/vectors/math.js";

let e5: Embedder;

beforeAll(async () => {
  e5 = await createEmbedder({ model: "e5-small-v2-q" });
});
afterAll(async () => {
  await e5?.close();
});

describe("toAiSdkEmbeddingModel", () => {
  it("is the SDK's EmbeddingModel type (checked by tsc) and names the model", () => {
    const model: Exclude<EmbeddingModel, string> = toAiSdkEmbeddingModel(e5);
    expect(model.specificationVersion).toBe("v3");
    expect(model.provider).toBe("embedkit");
    expect(model.modelId).toBe("e5-small-v2-q");
  });

  it("embedMany and embed from `ai` return the embedder's vectors (passages by default, queries per call)", async () => {
    const model = toAiSdkEmbeddingModel(e5);
    const values = [
      "The cat sat on the mat.",
      "Stock markets fell sharply on Monday.",
      "A kitten rests on a rug.",
    ];
    const many = await embedMany({ model, values });
    expect(many.embeddings).toHaveLength(3);
    expect(many.embeddings[0]).toHaveLength(384);
    expect(many.usage.tokens).toBeGreaterThan(0);
    const direct = await e5.embed(values, { inputType: "passage" });
    many.embeddings.forEach((embedding, index) => {
      expect(ownCosine(embedding, direct.vectors[index] as Float32Array)).toBeGreaterThan(0.9999);
    });

    const query = await embed({
      model,
      value: "Where is the cat?",
      providerOptions: { embedkit: { inputType: "query" } },
    });
    const asQuery = await e5.embed(["Where is the cat?"], { inputType: "query" });
    expect(ownCosine(query.embedding, asQuery.vectors[0] as Float32Array)).toBeGreaterThan(0.9999);

    // The SDK's own cosineSimilarity ranks the cat sentences above the market one.
    const scores = many.embeddings.map((embedding) => cosineSimilarity(query.embedding, embedding));
    expect(scores[0] as number).toBeGreaterThan(scores[1] as number);
    expect(scores[2] as number).toBeGreaterThan(scores[1] as number);
  });

  it("a model built for queries and per-call dimensions", async () => {
    const model = toAiSdkEmbeddingModel(e5, { inputType: "query" });
    const { embedding } = await embed({ model, value: "hello" });
    const asQuery = await e5.embed(["hello"], { inputType: "query" });
    expect(ownCosine(embedding, asQuery.vectors[0] as Float32Array)).toBeGreaterThan(0.9999);
    const short = await embed({ model, value: "hello", providerOptions: { embedkit: { dimensions: 64 } } });
    expect(short.embedding).toHaveLength(64);
    expect(Math.hypot(...short.embedding)).toBeCloseTo(1, 4);
  });

  it("refuses bad options with INVALID_OPTION, at creation and per call", async () => {
    expect(() => toAiSdkEmbeddingModel(e5, { inputType: "document" as never })).toThrow(
      /inputType must be one of query, passage, none, received "document"/,
    );
    expect(() => toAiSdkEmbeddingModel(e5, { dimensions: 1000 })).toThrow(EmbedkitError);
    const model = toAiSdkEmbeddingModel(e5);
    await expect(
      embed({ model, value: "x", providerOptions: { embedkit: { inputType: "search" } }, maxRetries: 0 }),
    ).rejects.toThrow(/providerOptions.embedkit.inputType must be one of/);
    await expect(
      embed({ model, value: "x", providerOptions: { embedkit: { prefix: "q: " } }, maxRetries: 0 }),
    ).rejects.toThrow(/providerOptions.embedkit.prefix is not an embedkit option/);
  });

  it("the SDK's abort signal cancels the call", async () => {
    const model = toAiSdkEmbeddingModel(e5);
    const controller = new AbortController();
    controller.abort(new Error("stop now"));
    await expect(
      embedMany({ model, values: ["a", "b"], abortSignal: controller.signal, maxRetries: 0 }),
    ).rejects.toThrow(/stop now|abort/i);
  });
});
