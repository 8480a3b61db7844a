/**
 * A FAQ written in English answers questions asked in Chinese, German and
 * Spanish when it is indexed with the multilingual Universal Sentence Encoder
 * (`use-multilingual`): one vector space across languages, on the real model
 * and the real embedded store.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFaq, type Faq, indexFaq } from "../../../src/apps/faq/faq.js";
import { readFaqFile } from "../../../src/apps/faq/faq-entries.js";
import { createEmbedder } from "../../../src/embed/create-embedder.js";
import type { Embedder } from "../../../src/embed/embedder.js";
import { openEmbeddedStore } from "../../../src/store/embedded-store.js";
import type { VectorStore } from "../../../src/store/vector-store.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/faq");
const PIN_ANSWER = "Open the app, go to Cards > PIN and choose Reset PIN.";
const CARD_ANSWER = "Cards arrive within 5 working days; after that, order a replacement in the app.";
const ABROAD_ANSWER = "Choose Payments > International transfer and enter the recipient's IBAN.";

let dir: string;
let store: VectorStore;
let embedder: Embedder;
let faq: Faq;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-faq-xling-"));
  store = await openEmbeddedStore({ path: dir });
  embedder = await createEmbedder({ model: "use-multilingual" });
  const report = await indexFaq({
    store,
    collection: "support-multilingual",
    entries: await readFaqFile(join(FIXTURES, "faq-en.csv")),
    embedder,
  });
  expect(report).toMatchObject({ model: "use-multilingual", language: "en", modelChoice: "given" });
  faq = await createFaq({ store, collection: "support-multilingual", embedder });
});

afterAll(async () => {
  await store?.close();
  await embedder?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("an English FAQ indexed with use-multilingual", () => {
  it.each([
    ["我忘记了银行卡的密码", PIN_ANSWER],
    ["我的新银行卡什么时候能寄到？", CARD_ANSWER],
    ["如何向国外汇款？", ABROAD_ANSWER],
    ["Ich habe die PIN meiner Karte vergessen", PIN_ANSWER],
    ["¿Cómo envío dinero al extranjero?", ABROAD_ANSWER],
  ])("answers %s with the English answer", async (question, answer) => {
    const reply = await faq.ask(question, { k: 3, threshold: null });
    expect(reply.answered).toBe(true);
    expect(reply.best?.answer).toBe(answer);
    // The right answer wins by a margin, not by a coin toss.
    const runnerUp = reply.alternatives[1]?.score ?? 0;
    expect(reply.alternatives[0]?.answer).toBe(answer);
    expect((reply.best?.score ?? 0) - runnerUp).toBeGreaterThan(0.05);
  });
});
