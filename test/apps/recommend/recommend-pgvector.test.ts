/**
 * The recommender uses only the VectorStore contract plus its sidecar state,
 * so it must work unchanged on PostgreSQL + pgvector: index the hand-made
 * catalog and ratings, recommend for a user, more like this, a filter, and an
 * incremental re-index, against a real server started by the project's scripts.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  indexRecommender,
  openRecommender,
  recommenderStatePath,
} from "../../../src/apps/recommend/index.js";
import { createEmbedder } from "../../../src/embed/create-embedder.js";
import type { Embedder } from "../../../src/embed/embedder.js";
import { openVectorStore } from "../../../src/store/open-vector-store.js";
import type { VectorStore } from "../../../src/store/vector-store.js";
import { type PostgresServer, startPostgres } from "../../store/pg-server.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/recommend");
const ITEMS = {
  path: join(FIXTURES, "books.csv"),
  columns: { idField: "id", textFields: ["title", "description"], metadataFields: ["year", "genre"] },
};
const RATINGS = {
  path: join(FIXTURES, "ratings.csv"),
  columns: { userField: "user", itemField: "book", ratingField: "stars", timeField: "ts" },
};

let server: PostgresServer;
let store: VectorStore;
let embedder: Embedder;
let home: string;

beforeAll(async () => {
  server = await startPostgres();
  store = await openVectorStore(server.url);
  embedder = await createEmbedder({ model: "all-minilm-l6-v2" });
  home = await mkdtemp(join(tmpdir(), "embedkit-recommend-pg-home-"));
}, 600_000);

afterAll(async () => {
  await store?.close();
  await embedder?.close();
  await server?.stop();
  await rm(home, { recursive: true, force: true });
});

describe("recommendations on pgvector", () => {
  it("indexes, recommends and re-indexes incrementally, with the state under the embedkit home", async () => {
    const report = await indexRecommender(store, "books", embedder, {
      itemsFile: ITEMS,
      interactionsFile: RATINGS,
      home,
    });
    expect(report).toMatchObject({ items: 12, embedded: 12, users: 6, interactions: 20 });
    const path = await recommenderStatePath(store, "books", { home });
    expect(path.startsWith(join(home, "recommenders", "pgvector-"))).toBe(true);
    expect((await stat(path)).isFile()).toBe(true);

    const books = await openRecommender(store, "books", embedder, { home });
    expect(books.recommendForUser("alice", { k: 1 }).items[0]?.id).toBe("b4");
    expect(new Set(books.similarItems("b4", { k: 3 }).items.map((item) => item.id))).toEqual(
      new Set(["b1", "b2", "b3"]),
    );
    for (const item of books.recommendForUser("bob", { k: 10, filter: "genre=history" }).items) {
      expect(item.metadata.genre).toBe("history");
    }
    const again = await indexRecommender(store, "books", embedder, { itemsFile: ITEMS, home });
    expect(again).toMatchObject({ embedded: 0, unchanged: 12, interactions: 20 });
  });
});
