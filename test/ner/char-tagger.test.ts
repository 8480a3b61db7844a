/**
 * A real, small character-level (Chinese) training run with bge-small-zh-v1.5
 * and the hashed n-gram features on by default: the head is a dense part plus
 * an embedding bag, the saved tagger records format version 2 and its n-gram
 * templates, loads back tagging identically, and refuses files from a newer
 * format or with other templates with a clear message. A version-1 file (no
 * format field, no n-grams) still loads.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { OnnxEmbedder } from "../../src/embed/onnx/onnx-embedder.js";
import { NGRAM_TEMPLATES } from "../../src/ner/ngrams.js";
import { readTaggedFile, selectSentences, type TaggedCorpus } from "../../src/ner/readers.js";
import {
  evaluateTagger,
  loadTagger,
  saveTagger,
  TAGGER_FORMAT_VERSION,
  type TrainTaggerResult,
  tagSentences,
  trainTagger,
} from "../../src/ner/tagger.js";
import { sharedData } from "../helpers/data.js";

const MSRA_PART = sharedData("msra-ner/train.part1of4.bio");

let dir: string;
let encoder: OnnxEmbedder;
let train: TaggedCorpus;
let heldOut: TaggedCorpus;
let result: TrainTaggerResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-ner-zh-"));
  const corpus = await readTaggedFile(MSRA_PART, { format: "bio" });
  train = selectSentences(corpus, corpus.sentences.slice(0, 200));
  heldOut = selectSentences(corpus, corpus.sentences.slice(3000, 3060));
  encoder = (await createEmbedder({ model: "bge-small-zh-v1.5" })) as OnnxEmbedder;
  result = await trainTagger({
    embedder: encoder,
    train,
    validation: heldOut,
    unit: "character",
    epochs: 4,
    learningRate: 0.01,
    ngramBuckets: 4096,
    cacheDir: join(dir, "cache"),
  });
}, 300_000);

afterAll(async () => {
  await encoder?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface SavedNer {
  metadata: { ner: Record<string, unknown> };
}

describe("a character tagger with n-gram features", () => {
  it("trains a dense head plus an embedding bag over the n-gram ids", () => {
    expect(result.tagger.settings).toMatchObject({ unit: "character", ngramBuckets: 4096, dictionary: true });
    expect(result.tagger.head.config).toMatchObject({
      type: "column-sum",
      layers: [
        { type: "sequential" },
        { type: "embedding-bag", buckets: 4096, slots: NGRAM_TEMPLATES.length },
      ],
    });
    expect(result.history).toHaveLength(4);
    expect(result.validation?.micro.f1).toBeGreaterThan(0);
  });

  it("saves format version 2 with its templates and loads a tagger that tags and scores identically", async () => {
    const folder = join(dir, "tagger");
    await saveTagger(folder, result.tagger);
    const saved = JSON.parse(await readFile(join(folder, "model.json"), "utf8")) as SavedNer;
    expect(saved.metadata.ner.formatVersion).toBe(TAGGER_FORMAT_VERSION);
    expect(saved.metadata.ner.ngrams).toEqual({ buckets: 4096, templates: NGRAM_TEMPLATES });
    const loaded = await loadTagger(folder);
    expect(loaded.settings).toEqual(result.tagger.settings);
    const sentences = heldOut.sentences.slice(0, 10).map((sentence) => sentence.words);
    const before = await tagSentences(result.tagger, encoder, sentences);
    const after = await tagSentences(loaded, encoder, sentences);
    expect(after.map((output) => output.tags)).toEqual(before.map((output) => output.tags));
    const report = await evaluateTagger(loaded, encoder, heldOut, { cacheDir: join(dir, "cache") });
    expect(report.micro.f1).toBeCloseTo(result.validation?.micro.f1 ?? -1, 10);
  });

  it("refuses a newer format version and other n-gram templates, naming the fix", async () => {
    const folder = join(dir, "edited");
    await saveTagger(folder, result.tagger);
    const path = join(folder, "model.json");
    const original = await readFile(path, "utf8");
    const edit = async (change: (ner: Record<string, unknown>) => void): Promise<void> => {
      const description = JSON.parse(original) as SavedNer;
      change(description.metadata.ner);
      await writeFile(path, JSON.stringify(description));
    };
    await edit((ner) => {
      ner.formatVersion = TAGGER_FORMAT_VERSION + 1;
    });
    await expect(loadTagger(folder)).rejects.toThrow(
      expect.objectContaining({
        code: "MALFORMED_FILE",
        message: expect.stringMatching(/format version 3 is newer than this embedkit reads \(2\); upgrade/),
      }),
    );
    await edit((ner) => {
      ner.ngrams = { buckets: 4096, templates: ["U0"] };
    });
    await expect(loadTagger(folder)).rejects.toThrow(/do not match this embedkit's templates .*retrain it/);
    await edit((ner) => {
      ner.ngrams = null;
    });
    await expect(loadTagger(folder)).rejects.toThrow(
      /its head's architecture does not match its settings \(expected a dense head\)/,
    );
  });

  it("still loads a version-1 tagger (no format field, no n-grams)", async () => {
    const v1 = await trainTagger({
      embedder: encoder,
      train: selectSentences(train, train.sentences.slice(0, 30)),
      unit: "character",
      epochs: 1,
      ngrams: false,
      cacheDir: join(dir, "cache"),
    });
    const folder = join(dir, "v1");
    await saveTagger(folder, v1.tagger);
    const path = join(folder, "model.json");
    const description = JSON.parse(await readFile(path, "utf8")) as SavedNer;
    delete description.metadata.ner.formatVersion;
    delete description.metadata.ner.ngrams;
    await writeFile(path, JSON.stringify(description));
    const loaded = await loadTagger(folder);
    expect(loaded.settings.ngramBuckets).toBe(0);
    expect(loaded.head.config.type).toBe("sequential");
  });
});
