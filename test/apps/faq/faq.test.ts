/**
 * FAQ answering end to end with real models on the real embedded store: an
 * English FAQ (bge-small-en-v1.5, chosen by language detection) and a Chinese
 * one (bge-small-zh-v1.5), the fallback below the threshold, calibration
 * stored in the collection, the three aggregations against the in-memory
 * ranking the benchmark uses, and the error paths.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rankAnswersExactly } from "../../../src/apps/faq/answer-ranking.js";
import { createFaq, DEFAULT_FALLBACK, FAQ_SETTINGS_ID, indexFaq } from "../../../src/apps/faq/faq.js";
import {
  answerId,
  groupFaqEntries,
  readFaqFile,
  readLabelledQueries,
} from "../../../src/apps/faq/faq-entries.js";
import { createEmbedder } from "../../../src/embed/create-embedder.js";
import type { Embedder } from "../../../src/embed/embedder.js";
import { EmbedkitError } from "../../../src/errors.js";
import { openEmbeddedStore } from "../../../src/store/embedded-store.js";
import type { VectorStore } from "../../../src/store/vector-store.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/faq");
const PIN_ANSWER = "Open the app, go to Cards > PIN and choose Reset PIN.";
const CARD_ANSWER = "Cards arrive within 5 working days; after that, order a replacement in the app.";

let dir: string;
let store: VectorStore;
let english: Embedder;
let chinese: Embedder;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-faq-"));
  store = await openEmbeddedStore({ path: dir });
  english = await createEmbedder({ model: "bge-small-en-v1.5" });
  chinese = await createEmbedder({ model: "bge-small-zh-v1.5" });
});

afterAll(async () => {
  await store?.close();
  await english?.close();
  await chinese?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Opens the embedder a FAQ asks for from the two loaded ones (the test owns and closes them). */
function borrow(model: string): Promise<Embedder> {
  const embedder = model === english.model.id ? english : model === chinese.model.id ? chinese : undefined;
  if (embedder === undefined) throw new Error(`unexpected model ${model}`);
  return Promise.resolve({ ...embedder, model: embedder.model, close: async () => {} });
}

describe("English FAQ", () => {
  beforeAll(async () => {
    const report = await indexFaq({
      store,
      collection: "support-en",
      entries: await readFaqFile(join(FIXTURES, "faq-en.csv")),
      openEmbedder: borrow,
    });
    expect(report).toMatchObject({
      model: "bge-small-en-v1.5",
      language: "en",
      modelChoice: "detected",
      answers: 5,
      questions: 7,
      created: true,
    });
  });

  it("records the model in the collection and answers a paraphrase with the right answer", async () => {
    const collection = await store.getCollection("support-en");
    expect(collection.info.model).toBe("bge-small-en-v1.5");
    expect(collection.info.dims).toBe(384);
    const faq = await createFaq({ store, collection: "support-en", embedder: english });
    const reply = await faq.ask("I can't remember the PIN of my card", { k: 3, threshold: null });
    expect(reply.answered).toBe(true);
    expect(reply.reply).toBe(PIN_ANSWER);
    expect(reply.best?.category).toBe("cards");
    expect(reply.alternatives).toHaveLength(3);
    const scores = reply.alternatives.map((candidate) => candidate.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(new Set(reply.alternatives.map((candidate) => candidate.answerId)).size).toBe(3);
    expect(reply.confidence).toBe(scores[0]);
    const card = await faq.ask("my new card still hasn't been delivered", { threshold: null });
    expect(card.reply).toBe(CARD_ANSWER);
  });

  it("falls back below the threshold, with the stored or a given fallback text", async () => {
    const faq = await createFaq({ store, collection: "support-en", embedder: english });
    const offTopic = await faq.ask("What's a good recipe for lasagna?", { threshold: 0.95 });
    expect(offTopic.answered).toBe(false);
    expect(offTopic.reply).toBe(DEFAULT_FALLBACK.en);
    expect(offTopic.best).not.toBeNull();
    expect(offTopic.confidence).toBeLessThan(0.95);
    const custom = await faq.ask("What's a good recipe for lasagna?", {
      threshold: 0.95,
      fallback: "Ask a human.",
    });
    expect(custom.reply).toBe("Ask a human.");
    // The same question just above its own confidence is answered.
    const lenient = await faq.ask("What's a good recipe for lasagna?", {
      threshold: offTopic.confidence - 1e-6,
    });
    expect(lenient.answered).toBe(true);
  });

  it("calibrates the threshold from labelled questions and stores it in the collection", async () => {
    const faq = await createFaq({ store, collection: "support-en", embedder: english });
    const result = await faq.calibrate(await readLabelledQueries(join(FIXTURES, "calibration-en.csv")));
    expect(result.questions).toBe(6);
    expect(result.unanswerable).toBe(3);
    expect(result.point.accuracy).toBe(1);
    expect(result.saved).toBe(true);
    const reopened = await createFaq({ store, collection: "support-en", embedder: english });
    expect(reopened.settings.threshold).toBe(result.threshold);
    expect(reopened.settings.thresholdSource).toMatch(/^calibrated \(accuracy, 6 questions\)/);
    const replies = await reopened.askMany([
      "I can't remember my PIN code",
      "Who won the football match yesterday?",
    ]);
    expect(replies.map((reply) => reply.answered)).toEqual([true, false]);
  });

  it("stores the calibration's coverage/precision curve, and still opens FAQ settings stored without one", async () => {
    const faq = await createFaq({ store, collection: "support-en", embedder: english });
    const result = await faq.calibrate(await readLabelledQueries(join(FIXTURES, "calibration-en.csv")));
    const stored = (await createFaq({ store, collection: "support-en", embedder: english })).settings
      .calibrationCurve;
    expect(stored).not.toBeNull();
    expect(stored?.map((point) => point.threshold)).toEqual(result.curve.map((point) => point.threshold));
    result.curve.forEach((point, index) => {
      expect(stored?.[index]?.coverage).toBeCloseTo(point.coverage, 4);
      expect(stored?.[index]?.precision).toBeCloseTo(point.precision, 4);
    });
    // The chosen threshold's point: everything answered right, the three unanswerable ones fall back.
    expect(stored?.some((point) => point.coverage === 0.5 && point.precision === 1)).toBe(true);
    // Settings written before the curve existed (no field), or with a damaged one, still open: no curve.
    const collection = await store.getCollection("support-en");
    const [settings] = await collection.get([FAQ_SETTINGS_ID]);
    if (settings === undefined) throw new Error("settings item missing");
    for (const damaged of [undefined, "not json", "[[0.5, 1]]"]) {
      const { calibration_curve: _dropped, ...older } = settings.metadata;
      await collection.upsert([
        {
          id: FAQ_SETTINGS_ID,
          vector: settings.vector,
          metadata: damaged === undefined ? older : { ...older, calibration_curve: damaged },
        },
      ]);
      const reopened = await createFaq({ store, collection: "support-en", embedder: english });
      expect(reopened.settings.calibrationCurve).toBeNull();
      expect(reopened.settings.threshold).toBe(result.threshold);
    }
    // Calibrating again stores it again.
    await faq.calibrate(await readLabelledQueries(join(FIXTURES, "calibration-en.csv")));
    expect(
      (await createFaq({ store, collection: "support-en", embedder: english })).settings.calibrationCurve,
    ).toHaveLength(result.curve.length);
  });

  it("refuses a calibration answer the FAQ does not have, an empty question and a bad k", async () => {
    const faq = await createFaq({ store, collection: "support-en", embedder: english });
    await expect(faq.calibrate([{ query: "hi", expected: "An answer nobody wrote" }])).rejects.toThrow(
      /expects an answer the FAQ does not have/,
    );
    await expect(faq.ask("   ")).rejects.toThrow(EmbedkitError);
    await expect(faq.ask("hi", { k: 0 })).rejects.toThrow(/k must be an integer from 1 to 100/);
    await expect(faq.ask("hi", { threshold: 2 })).rejects.toThrow(/threshold must be a number from -1 to 1/);
  });

  it("re-indexing the same file is idempotent", async () => {
    const before = await (await store.getCollection("support-en")).count();
    await indexFaq({
      store,
      collection: "support-en",
      entries: await readFaqFile(join(FIXTURES, "faq-en.csv")),
      embedder: english,
    });
    expect(await (await store.getCollection("support-en")).count()).toBe(before);
  });

  it("a new phrasing of an existing answer joins its centroid", async () => {
    await indexFaq({
      store,
      collection: "support-en",
      entries: [{ question: "PIN reset please", answer: PIN_ANSWER, category: "cards" }],
      embedder: english,
    });
    const collection = await store.getCollection("support-en");
    const [centroid] = await collection.get([`c-${answerId(PIN_ANSWER)}`]);
    expect(centroid?.metadata).toMatchObject({ faq_kind: "centroid", questions: 3, answer: PIN_ANSWER });
    const faq = await createFaq({ store, collection: "support-en", embedder: english });
    expect(faq.settings).toMatchObject({ answers: 5, questions: 8, aggregation: "centroid" });
  });
});

describe("Chinese FAQ", () => {
  it("detects Chinese, uses bge-small-zh-v1.5 and answers a paraphrase", async () => {
    const report = await indexFaq({
      store,
      collection: "support-zh",
      entries: await readFaqFile(join(FIXTURES, "faq-zh.csv")),
      openEmbedder: borrow,
    });
    expect(report).toMatchObject({ model: "bge-small-zh-v1.5", language: "zh", answers: 4, questions: 5 });
    expect((await store.getCollection("support-zh")).info.dims).toBe(512);
    const faq = await createFaq({ store, collection: "support-zh", embedder: chinese });
    expect(faq.settings.fallback).toBe(DEFAULT_FALLBACK.zh);
    const reply = await faq.ask("花呗怎样还钱", { threshold: null });
    expect(reply.reply).toBe("在支付宝首页点击花呗，选择立即还款即可。");
    const unbind = await faq.ask("我想解除绑定的银行卡", { threshold: null });
    expect(unbind.reply).toMatch(/解除绑定/);
  });
});

describe("aggregation through the store matches the in-memory ranking", () => {
  it.each(["max", "mean", "centroid"] as const)("%s", async (aggregation) => {
    const entries = await readFaqFile(join(FIXTURES, "faq-en.csv"));
    const collection = `agg-${aggregation}`;
    await indexFaq({ store, collection, entries, embedder: english, aggregation, threshold: null });
    const faq = await createFaq({ store, collection, embedder: english });
    const question = "how long does card delivery take";
    const reply = await faq.ask(question, { k: 5 });
    const answers = groupFaqEntries(entries);
    const questionVectors = (await english.embed(answers.flatMap((answer) => answer.questions))).vectors;
    const questionAnswer = answers.flatMap((answer, index) => answer.questions.map(() => index));
    const [queryVector] = (await english.embed([question])).vectors;
    const expected = rankAnswersExactly(
      [queryVector as Float32Array],
      { questionVectors, questionAnswer, answers: answers.length },
      {
        aggregation,
        k: 5,
      },
    )[0];
    expect(reply.alternatives.map((candidate) => candidate.answerId)).toEqual(
      expected?.map((entry) => answers[entry.answer]?.id),
    );
    reply.alternatives.forEach((candidate, index) => {
      expect(candidate.score).toBeCloseTo(expected?.[index]?.score ?? Number.NaN, 4);
    });
  });
});

describe("FAQ errors", () => {
  it("refuses an unknown collection, a collection that is not a FAQ and an embedder of another model", async () => {
    await expect(createFaq({ store, collection: "nope", embedder: english })).rejects.toThrow(/nope/);
    const plain = await store.createCollection("plain", { model: "bge-small-en-v1.5", dims: 384 });
    await plain.upsert([{ id: "x", vector: (await english.embed(["hello"])).vectors[0] as Float32Array }]);
    await expect(createFaq({ store, collection: "plain", embedder: english })).rejects.toThrow(
      /not a usable FAQ/,
    );
    await expect(
      indexFaq({ store, collection: "plain", entries: [{ question: "q", answer: "a" }], embedder: english }),
    ).rejects.toThrow(/not a usable FAQ/);
    await expect(createFaq({ store, collection: "support-en", embedder: chinese })).rejects.toThrow(
      /indexed with bge-small-en-v1.5/,
    );
    await expect(indexFaq({ store, collection: "x", entries: [], embedder: english })).rejects.toThrow(
      /no rows/,
    );
    // Nothing was created by the refused calls.
    expect((await store.listCollections()).map((entry) => entry.name)).not.toContain("x");
  });

  it("keeps the settings item out of answers", async () => {
    const faq = await createFaq({ store, collection: "support-en", embedder: english });
    const reply = await faq.ask("settings", { k: 10, threshold: null });
    expect(reply.alternatives.map((candidate) => candidate.answerId)).not.toContain(FAQ_SETTINGS_ID);
    expect(reply.alternatives).toHaveLength(5);
  });
});
