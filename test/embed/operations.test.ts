/** embed / embedMany / semanticSearch / paraphraseMining / LangChain adapter on a real model. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { toLangChainEmbeddings } from "../../src/embed/langchain.js";
import {
  closeEmbedders,
  embed,
  embedMany,
  paraphraseMining,
  resolveEmbedder,
  semanticSearch,
} from "../../src/embed/operations.js";
import { cosineSimilarity } from "../../src/vectors/math.js";

// fp32: batch-invariant, so a text embedded alone equals the same text in a batch.
const MODEL = "all-minilm-l6-v2";
let embedder: Embedder;

beforeAll(async () => {
  embedder = await createEmbedder({ model: MODEL });
});
afterAll(async () => {
  await embedder?.close();
  await closeEmbedders();
});

const corpus = [
  "A man is eating food.",
  "A man is eating a piece of bread.",
  "The girl is carrying a baby.",
  "A man is riding a horse.",
  "A woman is playing violin.",
  "Two men pushed carts through the woods.",
  "A man is riding a white horse on an enclosed ground.",
  "A monkey is playing drums.",
  "A cheetah is running behind its prey.",
];

describe("embed and embedMany", () => {
  it("embed returns one vector equal to embedMany's, and model names share one cached embedder", async () => {
    const one = await embed({ embedder: MODEL, value: "hello world" });
    const many = await embedMany({ embedder: MODEL, values: ["hello world", "goodbye"] });
    expect(one.embedding).toHaveLength(384);
    expect(many.embeddings).toHaveLength(2);
    expect(cosineSimilarity(one.embedding, many.embeddings[0] as Float32Array)).toBeGreaterThan(0.9999);
    expect(await resolveEmbedder(MODEL)).toBe(await resolveEmbedder(MODEL));
    expect(many.usage.tokens).toBeGreaterThan(one.usage.tokens);
  });

  it("a bad model name rejects and is not cached", async () => {
    await expect(embed({ embedder: "nope-model", value: "x" })).rejects.toThrow(/Unknown model "nope-model"/);
    await expect(embed({ embedder: "nope-model", value: "x" })).rejects.toThrow(/Unknown model/);
  });
});

describe("semanticSearch", () => {
  it("finds the sentence-transformers example neighbours", async () => {
    const queries = [
      "A man is eating pasta.",
      "Someone in a gorilla costume is playing a set of drums.",
      "A cheetah chases prey on across a field.",
    ];
    const hits = await semanticSearch(queries, corpus, { k: 2, embedder });
    expect(hits.map((row) => row[0]?.corpusIndex)).toEqual([0, 7, 8]);
    for (const row of hits) {
      expect(row).toHaveLength(2);
      expect((row[0]?.score ?? 0) >= (row[1]?.score ?? 0)).toBe(true);
    }
  });

  it("accepts vectors, caps k at the corpus size and checks dimensions", async () => {
    const { vectors } = await embedder.embed(corpus.slice(0, 3));
    const hits = await semanticSearch([vectors[1] as Float32Array], vectors, { k: 10 });
    expect(hits[0]?.map((h) => h.corpusIndex)[0]).toBe(1);
    expect(hits[0]).toHaveLength(3);
    await expect(semanticSearch([[1, 0]], vectors)).rejects.toThrow(
      /Query has 2 dimensions but the corpus has 384/,
    );
    await expect(semanticSearch(["x"], corpus, { k: 0, embedder })).rejects.toThrow(
      /k must be a positive integer/,
    );
    expect(await semanticSearch([[1, 0]], [] as number[][])).toEqual([[]]);
  });
});

describe("paraphraseMining", () => {
  it("ranks true paraphrases first and returns each pair once", async () => {
    const pairs = await paraphraseMining(corpus, { embedder, k: 3 });
    // The two paraphrase pairs of the corpus (eating; riding a horse) come first.
    expect(new Set(pairs.slice(0, 2).map((p) => `${p.i},${p.j}`))).toEqual(new Set(["0,1", "3,6"]));
    const keys = pairs.map((p) => `${p.i},${p.j}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const pair of pairs) expect(pair.i).toBeLessThan(pair.j);
    const strict = await paraphraseMining(corpus, { embedder, threshold: 0.6 });
    for (const pair of strict) expect(pair.score).toBeGreaterThanOrEqual(0.6);
  });
});

describe("LangChain.js adapter", () => {
  it("embeds documents as passages and queries as queries", async () => {
    const e5 = await createEmbedder({ model: "e5-small-v2-q" });
    const adapter = toLangChainEmbeddings(e5);
    const documents = await adapter.embedDocuments(["The cat sat on the mat."]);
    const query = await adapter.embedQuery("The cat sat on the mat.");
    const asPassage = await e5.embed(["passage: The cat sat on the mat."]);
    expect(cosineSimilarity(documents[0] as number[], asPassage.vectors[0] as Float32Array)).toBeGreaterThan(
      0.9999,
    );
    expect(cosineSimilarity(documents[0] as number[], query)).toBeLessThan(0.9999);
    expect(Array.isArray(query)).toBe(true);
    await e5.close();
  });
});
