/**
 * The FAQ uses only the VectorStore contract, so it must work unchanged on
 * PostgreSQL + pgvector: index, ask with each aggregation, a metadata filter
 * and a stored calibration, against a real server started by the project's
 * scripts (test/store/pg-server.ts).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFaq, indexFaq } from "../../../src/apps/faq/faq.js";
import { readFaqFile, readLabelledQueries } from "../../../src/apps/faq/faq-entries.js";
import { createEmbedder } from "../../../src/embed/create-embedder.js";
import type { Embedder } from "../../../src/embed/embedder.js";
import { openVectorStore } from "../../../src/store/open-vector-store.js";
import type { VectorStore } from "../../../src/store/vector-store.js";
import { type PostgresServer, startPostgres } from "../../store/pg-server.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/faq");
const PIN_ANSWER = "Open the app, go to Cards > PIN and choose Reset PIN.";

let server: PostgresServer;
let store: VectorStore;
let english: Embedder;

beforeAll(async () => {
  server = await startPostgres();
  store = await openVectorStore(server.url);
  english = await createEmbedder({ model: "bge-small-en-v1.5" });
}, 600_000);

afterAll(async () => {
  await store?.close();
  await english?.close();
  await server?.stop();
});

describe("FAQ on pgvector", () => {
  it.each(["centroid", "max", "mean"] as const)(
    "answers a paraphrase with %s aggregation",
    async (aggregation) => {
      await indexFaq({
        store,
        collection: `faq-${aggregation}`,
        entries: await readFaqFile(join(FIXTURES, "faq-en.csv")),
        embedder: english,
        aggregation,
      });
      const faq = await createFaq({ store, collection: `faq-${aggregation}`, embedder: english });
      const reply = await faq.ask("I can't remember the PIN of my card", { k: 3, threshold: null });
      expect(reply.reply).toBe(PIN_ANSWER);
      expect(reply.alternatives).toHaveLength(3);
      const filtered = await faq.ask("I can't remember the PIN of my card", {
        filter: "category=payments",
        threshold: null,
      });
      expect(filtered.alternatives.every((candidate) => candidate.category === "payments")).toBe(true);
    },
  );

  it("stores a calibrated threshold in the collection", async () => {
    const faq = await createFaq({ store, collection: "faq-centroid", embedder: english });
    const result = await faq.calibrate(await readLabelledQueries(join(FIXTURES, "calibration-en.csv")));
    const reopened = await createFaq({ store, collection: "faq-centroid", embedder: english });
    expect(reopened.settings.threshold).toBe(result.threshold);
    expect(reopened.settings).toMatchObject({ answers: 5, questions: 7, language: "en" });
  });
});
