/**
 * A real, small NER training run on CoNLL-2003 sentences with all-MiniLM-L6-v2:
 * the tagger must beat the most-frequent-tag baseline by a wide margin on
 * held-out sentences, survive a save/load round trip, and find entities in raw
 * text with offsets into the original string.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { OnnxEmbedder } from "../../src/embed/onnx/onnx-embedder.js";
import { entityF1 } from "../../src/eval/entity-f1.js";
import { fitMostFrequentTag } from "../../src/ner/baseline.js";
import { readTaggedFile, selectSentences, splitCorpus, type TaggedCorpus } from "../../src/ner/readers.js";
import { type LoadedTagger, recognizeEntities } from "../../src/ner/recognize.js";
import { tagsToSpans } from "../../src/ner/tag-scheme.js";
import {
  evaluateTagger,
  loadTagger,
  OUTSIDE_PENALTY_GRID,
  saveTagger,
  type Tagger,
  type TrainTaggerResult,
  tagSentences,
  trainTagger,
} from "../../src/ner/tagger.js";
import { embedCorpusWords, selectWordVectors } from "../../src/ner/word-vector-cache.js";
import { sharedData } from "../helpers/data.js";

const CONLL_TRAIN = sharedData("conll2003-en/train.txt");
const MODEL = "all-minilm-l6-v2";

let dir: string;
let encoder: OnnxEmbedder;
let train: TaggedCorpus;
let heldOut: TaggedCorpus;
let result: TrainTaggerResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-ner-"));
  const corpus = await readTaggedFile(CONLL_TRAIN, { format: "conll" });
  // 300 training sentences from the start of the file, 80 held-out sentences from far later.
  train = selectSentences(corpus, corpus.sentences.slice(0, 300));
  heldOut = selectSentences(corpus, corpus.sentences.slice(5000, 5080));
  encoder = (await createEmbedder({ model: MODEL })) as OnnxEmbedder;
  result = await trainTagger({
    embedder: encoder,
    train,
    validation: heldOut,
    epochs: 6,
    learningRate: 0.003,
    cacheDir: join(dir, "cache"),
  });
});

afterAll(async () => {
  await encoder?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("trainTagger on 300 CoNLL sentences", () => {
  it("scores far above the most-frequent-tag baseline on held-out sentences", () => {
    const baseline = fitMostFrequentTag(train);
    const gold = heldOut.sentences.map((sentence) => tagsToSpans(sentence.tags, "bio"));
    const baselineF1 = entityF1(
      gold,
      heldOut.sentences.map((sentence) => tagsToSpans(baseline.tag(sentence.words), "bio")),
    ).micro.f1;
    const f1 = result.validation?.micro.f1 ?? 0;
    expect(f1).toBeGreaterThan(baselineF1 + 0.15);
    expect(result.history.length).toBe(6);
    expect(result.tagger.settings).toMatchObject({ modelId: MODEL, scheme: "bio", unit: "word" });
  });

  it("saves and loads a tagger that tags exactly like the original", async () => {
    const folder = join(dir, "tagger");
    await saveTagger(folder, result.tagger);
    const loaded: Tagger = await loadTagger(folder);
    expect(loaded.settings).toEqual(result.tagger.settings);
    const sentences = heldOut.sentences.slice(0, 20).map((sentence) => sentence.words);
    const before = await tagSentences(result.tagger, encoder, sentences);
    const after = await tagSentences(loaded, encoder, sentences);
    expect(after.map((output) => output.tags)).toEqual(before.map((output) => output.tags));
    after.forEach((output, index) => {
      output.probabilities.forEach((probability, position) => {
        expect(probability).toBeCloseTo(before[index]?.probabilities[position] as number, 5);
      });
    });
  });

  it("refuses a folder that is not a tagger, and a damaged one", async () => {
    await expect(loadTagger(join(dir, "missing"))).rejects.toThrow(
      expect.objectContaining({ code: "FILE_NOT_FOUND" }),
    );
    const folder = join(dir, "damaged");
    await saveTagger(folder, result.tagger);
    const description = JSON.parse(await readFile(join(folder, "model.json"), "utf8")) as {
      metadata: { ner: { shapeFeatures: boolean } };
    };
    description.metadata.ner.shapeFeatures = false;
    await writeFile(join(folder, "model.json"), JSON.stringify(description));
    await expect(loadTagger(folder)).rejects.toThrow(
      /its head takes 402 inputs, but its settings describe 394 features/,
    );
    await writeFile(join(folder, "model.json"), "{ not json");
    await expect(loadTagger(folder)).rejects.toThrow(expect.objectContaining({ code: "MALFORMED_FILE" }));
  });

  it("recognizes entities in a real sentence with offsets into the original text", async () => {
    const tagger: LoadedTagger = { ...result.tagger, embedder: encoder, close: async () => {} };
    const text = "EU rejects German call to boycott British lamb.";
    const entities = await recognizeEntities(tagger, text);
    for (const entity of entities) {
      expect(text.slice(entity.start, entity.end)).toBe(entity.text);
      expect(entity.score).toBeGreaterThan(0);
      expect(entity.score).toBeLessThanOrEqual(1);
    }
    expect(entities.map((entity) => [entity.type, entity.text])).toEqual(
      expect.arrayContaining([
        ["ORG", "EU"],
        ["MISC", "German"],
      ]),
    );
    expect(await recognizeEntities(tagger, "   ")).toEqual([]);
  });

  it("rejects an encoder other than the tagger's", async () => {
    const forOtherModel: Tagger = {
      ...result.tagger,
      settings: { ...result.tagger.settings, modelId: "bge-small-en-v1.5" },
    };
    await expect(tagSentences(forOtherModel, encoder, [["EU"]])).rejects.toThrow(
      /trained on bge-small-en-v1\.5 vectors, received an encoder for all-minilm-l6-v2/,
    );
  });
});

describe("precomputed vectors and the outside penalty", () => {
  const quick = { epochs: 2, learningRate: 0.003 } as const;

  it("trains from given vectors exactly as from the encoder, and refuses vectors of other sentences", async () => {
    const words = [...train.sentences, ...heldOut.sentences].map((sentence) => sentence.words);
    const all = await embedCorpusWords(encoder, words, { cacheDir: join(dir, "cache") });
    const trainRows = Array.from({ length: train.sentences.length }, (_, i) => i);
    const heldRows = Array.from({ length: heldOut.sentences.length }, (_, i) => train.sentences.length + i);
    const vectors = {
      train: selectWordVectors(all, trainRows),
      validation: selectWordVectors(all, heldRows),
    };
    expect(vectors.validation.row(0)).toEqual(all.row(all.sentenceStarts[train.sentences.length] as number));
    const given = await trainTagger({ embedder: encoder, train, validation: heldOut, ...quick, vectors });
    const encoded = await trainTagger({
      embedder: encoder,
      train,
      validation: heldOut,
      ...quick,
      cacheDir: join(dir, "cache"),
    });
    expect(given.history.map((epoch) => epoch.validationMetric)).toEqual(
      encoded.history.map((epoch) => epoch.validationMetric),
    );
    await expect(
      trainTagger({ embedder: encoder, train, ...quick, vectors: { train: vectors.validation } }),
    ).rejects.toThrow(
      /The given train vectors do not match the train corpus: 80 sentences of vectors for 300/,
    );
    expect(() => selectWordVectors(all, [words.length])).toThrow(/Sentence index 380 is outside/);
  });

  it("tunes the penalty on the validation corpus: never worse than none, more entities as it grows", async () => {
    const tuned = await trainTagger({
      embedder: encoder,
      train,
      validation: heldOut,
      ...quick,
      outsidePenalty: "tune",
      cacheDir: join(dir, "cache"),
    });
    const penalty = tuned.tagger.settings.outsidePenalty;
    expect(OUTSIDE_PENALTY_GRID).toContain(penalty);
    const none = { ...tuned.tagger, settings: { ...tuned.tagger.settings, outsidePenalty: 0 } };
    const options = { cacheDir: join(dir, "cache") };
    const f1None = (await evaluateTagger(none, encoder, heldOut, options)).micro.f1;
    const f1Tuned = (await evaluateTagger(tuned.tagger, encoder, heldOut, options)).micro.f1;
    expect(f1Tuned).toBeGreaterThanOrEqual(f1None);
    expect(tuned.validation?.micro.f1).toBeCloseTo(f1Tuned, 10);
    const sentences = heldOut.sentences.map((sentence) => sentence.words);
    const entityTags = async (outsidePenalty: number): Promise<number> =>
      (await tagSentences({ ...none, settings: { ...none.settings, outsidePenalty } }, encoder, sentences))
        .flatMap((output) => output.tags)
        .filter((tag) => tag !== "O").length;
    expect(await entityTags(3)).toBeGreaterThan(await entityTags(0));

    const folder = join(dir, "penalty");
    await saveTagger(folder, { ...none, settings: { ...none.settings, outsidePenalty: 1.25 } });
    expect((await loadTagger(folder)).settings.outsidePenalty).toBe(1.25);
    const path = join(folder, "model.json");
    const description = JSON.parse(await readFile(path, "utf8")) as {
      metadata: { ner: Record<string, unknown> };
    };
    description.metadata.ner.outsidePenalty = -1;
    await writeFile(path, JSON.stringify(description));
    await expect(loadTagger(folder)).rejects.toThrow(/its outside penalty -1 is not a finite number ≥ 0/);
  });

  it("refuses a negative penalty and tuning without validation data", async () => {
    await expect(trainTagger({ embedder: encoder, train, ...quick, outsidePenalty: -0.5 })).rejects.toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", message: expect.stringMatching(/received -0\.5/) }),
    );
    await expect(trainTagger({ embedder: encoder, train, ...quick, outsidePenalty: "tune" })).rejects.toThrow(
      /picks the penalty on the validation corpus; pass `validation` too/,
    );
  });
});

describe("splitCorpus", () => {
  it("holds out the tail and samples the rest reproducibly, in corpus order", () => {
    const first = splitCorpus(heldOut, { validationLast: 20, sample: 50, seed: 1 });
    const second = splitCorpus(heldOut, { validationLast: 20, sample: 50, seed: 1 });
    expect(() => splitCorpus(heldOut, { validationLast: 80 })).toThrow(/from 0 to 79 sentences/);
    expect(first.validation?.sentences).toEqual(heldOut.sentences.slice(60));
    expect(first.train.sentences).toHaveLength(50);
    expect(first.train.sentences).toEqual(second.train.sentences);
    const lines = first.train.sentences.map((sentence) => sentence.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });
});
