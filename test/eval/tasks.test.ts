/**
 * Task runners, the embedding cache and robustness on the real
 * all-minilm-l6-v2-q model and small fixtures (never the shared sets of $EMBEDKIT_DATA).
 */
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { createCachingEmbedder, embedTexts, openEmbeddingCache } from "../../src/eval/embedding-cache.js";
import { measureRobustness } from "../../src/eval/quality.js";
import { readPairs } from "../../src/eval/sts-data.js";
import { readLabeledTexts, readRetrievalSet, splitLabeled } from "../../src/eval/task-data.js";
import {
  evaluateClassification,
  evaluateClustering,
  evaluatePairClassification,
  evaluateRetrieval,
} from "../../src/eval/tasks.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/eval/tasks");
let embedder: Embedder;
let cacheDir: string;

beforeAll(async () => {
  embedder = await createEmbedder({ model: "all-minilm-l6-v2-q" });
  cacheDir = await mkdtemp(join(tmpdir(), "embedkit-eval-cache-"));
});
afterAll(async () => {
  await embedder.close();
});

describe("embedding cache", () => {
  it("serves a second run entirely from disk with the same vectors", async () => {
    const texts = ["alpha beta", "gamma delta", "alpha beta", "epsilon"];
    const cache = openEmbeddingCache({
      dir: cacheDir,
      modelId: embedder.model.id,
      inputType: "none",
      dims: embedder.model.dims,
    });
    const first = await embedTexts({ embedder, texts, cache });
    expect(first).toMatchObject({ cached: 0, embedded: 3 });
    expect(first.vectors[2]).toBe(first.vectors[0]);
    const second = await embedTexts({ embedder, texts, cache });
    expect(second).toMatchObject({ cached: 3, embedded: 0, embedSeconds: 0 });
    expect(second.vectors.map((vector) => [...vector])).toEqual(first.vectors.map((vector) => [...vector]));
  });

  it("a caching embedder counts what it embedded now, so speed excludes cache hits", async () => {
    const dir = await mkdtemp(join(tmpdir(), "embedkit-eval-cache-"));
    const first = createCachingEmbedder(embedder, { dir });
    await first.embed(["one text", "another text", "one text"]);
    expect(first.stats()).toMatchObject({ embedded: 2, cached: 0 });
    expect(first.stats().textsPerSecond).toBeGreaterThan(0);
    const second = createCachingEmbedder(embedder, { dir });
    const again = await second.embed(["one text", "another text"]);
    expect(second.stats()).toEqual({ embedded: 0, cached: 2, textsPerSecond: null });
    expect(again.vectors).toHaveLength(2);
  });

  it("ignores a corrupt shard and rebuilds it; other models and input types do not share entries", async () => {
    const dir = await mkdtemp(join(tmpdir(), "embedkit-eval-cache-"));
    const cache = openEmbeddingCache({ dir, modelId: "m", inputType: "none", dims: 2 });
    await cache.store(["x"], [Float32Array.of(1, 2)]);
    expect((await cache.lookup(["x"])).get(0)).toEqual(Float32Array.of(1, 2));
    expect(
      (await openEmbeddingCache({ dir, modelId: "other", inputType: "none", dims: 2 }).lookup(["x"])).size,
    ).toBe(0);
    expect(
      (await openEmbeddingCache({ dir, modelId: "m", inputType: "query", dims: 2 }).lookup(["x"])).size,
    ).toBe(0);
    const folder = join(dir, "m", "none-2");
    const [shard] = await readdir(folder);
    const path = join(folder, shard as string);
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.from([1, 2, 3])]));
    expect((await cache.lookup(["x"])).size).toBe(0);
    await cache.store(["x"], [Float32Array.of(3, 4)]);
    expect((await cache.lookup(["x"])).get(0)).toEqual(Float32Array.of(3, 4));
  });
});

describe("task runners", () => {
  it("classifies the three-topic fixture with the logistic probe", async () => {
    const items = await readLabeledTexts(join(FIXTURES, "labeled.csv"), {
      format: "csv",
      header: true,
      text: "text",
      label: "topic",
    });
    const { train, test } = splitLabeled(items, { seed: 1, testShare: 0.3 });
    // 21 training texts: the default L2 (1/n) leaves small margins, and the int8 model's vectors
    // shift slightly with batch composition, so train with a weaker penalty and allow one miss of 9.
    const result = await evaluateClassification({ embedder, train, test, cacheDir, l2: 0.001 });
    expect(result.testSize).toBe(9);
    expect(result.accuracy).toBeGreaterThanOrEqual(88);
    expect(result.macroF1).toBeGreaterThanOrEqual(80);
    expect(result.rocAuc).toBeNull();
    expect(result.classes).toEqual(["cooking", "finance", "sports"]);
  });

  it("clusters the fixture by topic, deterministically for a seed", async () => {
    const items = await readLabeledTexts(join(FIXTURES, "labeled.csv"), {
      format: "csv",
      header: true,
      text: "text",
      label: "topic",
    });
    const first = await evaluateClustering({ embedder, items, seed: 5, cacheDir });
    const second = await evaluateClustering({ embedder, items, seed: 5, cacheDir });
    expect(first.k).toBe(3);
    expect(first.vMeasure).toBeGreaterThan(60);
    expect(second.vMeasure).toBe(first.vMeasure);
    expect(second.cached).toBe(30);
  });

  it("retrieves the relevant abstract first on the BEIR fixture", async () => {
    const set = await readRetrievalSet({
      corpus: [join(FIXTURES, "beir/corpus.jsonl")],
      queries: join(FIXTURES, "beir/queries.jsonl"),
      qrels: join(FIXTURES, "beir/qrels/test.tsv"),
    });
    const result = await evaluateRetrieval({ embedder, set, cacheDir: false });
    expect(result.queries).toBe(3);
    expect(result.ndcgAt10).toBeCloseTo(100, 6);
    expect(result.recallAt1).toBeCloseTo(100, 6);
    expect(result.perQuery.map((query) => query.firstRelevantRank)).toEqual([1, 1, 1]);
    expect(result.perQuery[0]?.top[0]).toMatchObject({ id: "d1", relevant: true });
  });

  it("scores paraphrase pairs by average precision of the cosine", async () => {
    const pairs = await readPairs(join(FIXTURES, "pairs-binary.tsv"), {
      format: "tsv",
      header: true,
      columns: { a: "sentence1", b: "sentence2", score: "score" },
    });
    const result = await evaluatePairClassification({ embedder, pairs, cacheDir });
    expect(result.averagePrecision).toBeCloseTo(100, 6);
    expect(result.rocAuc).toBeCloseTo(100, 6);
  });
});

describe("measureRobustness", () => {
  it("reports cosine summaries per perturbation and noise level, identical for the same seed", async () => {
    const texts = (await readFile(join(FIXTURES, "texts.txt"), "utf8")).trim().split("\n");
    const first = await measureRobustness({ embedder, texts, seed: 3, cacheDir });
    const second = await measureRobustness({ embedder, texts, seed: 3, cacheDir });
    expect(second).toEqual(first);
    const typo = first.perturbations.typo;
    expect(typo?.cosine.count).toBe(15);
    expect(typo?.cosine.mean).toBeGreaterThan(0.6);
    expect(typo?.cosine.max).toBeLessThanOrEqual(1 + 1e-6);
    // Casing and punctuation barely move an uncased model's vectors.
    expect(first.perturbations.casing?.cosine.mean).toBeGreaterThan(0.97);
    expect(first.perturbations.synonym?.skipped).toBeGreaterThan(0);
    // Noise σ: more noise, lower cosine (≈ 1/sqrt(1+σ²)).
    expect(first.noise["0.1"]?.cosine.mean).toBeCloseTo(1 / Math.sqrt(1.01), 1);
    expect(first.noise["0.5"]?.cosine.mean).toBeLessThan(first.noise["0.1"]?.cosine.mean as number);
  });
});
