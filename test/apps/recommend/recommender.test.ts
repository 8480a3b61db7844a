/**
 * Recommendation end to end with the real default model (all-minilm-l6-v2) on
 * the real embedded store: a hand-made book catalog (four space operas, three
 * cozy mysteries, three cookbooks, two history books) and a small ratings
 * file. Checks real rankings (three liked space operas → the fourth first, a
 * cold item reached through content), seen items never returned, MMR, new
 * users, filters, incremental re-index, and every bad-input path.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type IndexRecommenderReport,
  indexRecommender,
  openRecommender,
  parseDuration,
  type Recommender,
  recommenderStatePath,
} from "../../../src/apps/recommend/index.js";
import { createEmbedder } from "../../../src/embed/create-embedder.js";
import type { Embedder } from "../../../src/embed/embedder.js";
import { openEmbeddedStore } from "../../../src/store/embedded-store.js";
import type { VectorStore } from "../../../src/store/vector-store.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/recommend");
const BOOKS = join(FIXTURES, "books.csv");
const RATINGS = join(FIXTURES, "ratings.csv");
const ITEM_COLUMNS = {
  idField: "id",
  textFields: ["title", "description"],
  metadataFields: ["year", "genre"],
};
const RATING_COLUMNS = { userField: "user", itemField: "book", ratingField: "stars", timeField: "ts" };
const SPACE_OPERA = new Set(["b1", "b2", "b3", "b4"]);

let dir: string;
let store: VectorStore;
let embedder: Embedder;
let report: IndexRecommenderReport;
let books: Recommender;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-recommend-"));
  store = await openEmbeddedStore({ path: join(dir, "store") });
  embedder = await createEmbedder({ model: "all-minilm-l6-v2" });
  report = await indexRecommender(store, "books", embedder, {
    itemsFile: { path: BOOKS, columns: ITEM_COLUMNS },
    interactionsFile: { path: RATINGS, columns: RATING_COLUMNS },
    ratingRange: [1, 5],
  });
  books = await openRecommender(store, "books", embedder);
});

afterAll(async () => {
  await store?.close();
  await embedder?.close();
  await rm(dir, { recursive: true, force: true });
});

const ids = (recommendation: { items: readonly { id: string }[] }): string[] =>
  recommendation.items.map((item) => item.id);

describe("index", () => {
  it("embeds every item, stores number-like metadata as numbers and saves the interactions", async () => {
    expect(report).toMatchObject({
      items: 12,
      embedded: 12,
      unchanged: 0,
      users: 6,
      interactions: 20,
      unknownItems: 0,
    });
    const [stored] = await (await store.getCollection("books")).get(["b4"]);
    expect(stored?.metadata).toEqual({ year: 2019, genre: "sf" });
    expect(books.info.settings.explicit).toBe(true);
    expect(books.info.settings.ratingRange).toEqual([1, 5]);
  });

  it("re-indexing the same catalog embeds nothing and merges new interactions", async () => {
    const name = "books-incremental";
    await indexRecommender(store, name, embedder, { itemsFile: { path: BOOKS, columns: ITEM_COLUMNS } });
    const extra = join(dir, "extra.csv");
    await writeFile(extra, "user,book,stars,ts\nzoe,c3,5,10\nzoe,c2,4,20\nalice,b4,5,900\n");
    const again = await indexRecommender(store, name, embedder, {
      itemsFile: { path: BOOKS, columns: ITEM_COLUMNS },
      interactionsFile: { path: RATINGS, columns: RATING_COLUMNS },
    });
    expect(again).toMatchObject({ embedded: 0, unchanged: 12, interactions: 20 });
    const merged = await indexRecommender(store, name, embedder, {
      interactionsFile: { path: extra, columns: RATING_COLUMNS },
    });
    expect(merged).toMatchObject({ embedded: 0, items: 12, users: 7, interactions: 23, interactionsRead: 3 });
    const reopened = await openRecommender(store, name, embedder);
    expect(reopened.hasUser("zoe")).toBe(true);
    expect(ids(reopened.recommendForUser("alice", { k: 12 }))).not.toContain("b4");
  });
});

describe("user recommendations", () => {
  it("gives the user who liked three space operas the fourth one first (a cold item, through content)", () => {
    const top = books.recommendForUser("alice", { k: 5 });
    expect(top.source).toBe("hybrid");
    expect(top.items[0]?.id).toBe("b4");
    expect(top.items[0]?.text).toContain("Space opera");
    // Content alone agrees.
    expect(ids(books.recommendForUser("alice", { k: 1, mode: "content" }))).toEqual(["b4"]);
  });

  it("never returns items the user interacted with, for every user and mode", () => {
    for (const user of books.userIds()) {
      for (const mode of ["hybrid", "content", "collaborative", "popular"] as const) {
        const recommended = ids(books.recommendForUser(user, { k: 12, mode }));
        const rated = ratedBy(user);
        expect(recommended.filter((item) => rated.has(item))).toEqual([]);
        expect(recommended.length).toBe(12 - rated.size);
      }
    }
  });

  it("low ratings push the profile away: alice's 1-star cookbook ranks below every unseen non-cookbook in content mode", () => {
    const ranked = ids(books.recommendForUser("alice", { k: 8, mode: "content" }));
    const cookbooks = ranked.filter((item) => item.startsWith("c"));
    expect(ranked.indexOf(cookbooks[0] as string)).toBeGreaterThan(ranked.indexOf("b4"));
    expect(ranked[0]).toBe("b4");
  });

  it("filters on numeric metadata", () => {
    const recent = books.recommendForUser("frank", { k: 10, filter: "year>=2010" });
    expect(recent.items.length).toBeGreaterThan(0);
    for (const item of recent.items) expect(item.metadata.year as number).toBeGreaterThanOrEqual(2010);
  });

  it("names an unknown user, or falls back to popular items when asked", () => {
    expect(() => books.recommendForUser("nobody")).toThrow(/Unknown user "nobody"/);
    const popular = books.recommendForUser("nobody", { k: 3, fallback: "popular" });
    expect(popular.source).toBe("popular");
    // b1, c1, c2 and m1 each have 3 interactions; ties keep catalog order.
    expect(ids(popular)).toEqual(["b1", "m1", "c1"]);
  });
});

function ratedBy(user: string): Set<string> {
  const table: Record<string, string[]> = {
    alice: ["b1", "b2", "b3", "c1"],
    bob: ["m1", "m2", "c1", "c2"],
    carol: ["c1", "c2", "m1"],
    dave: ["h1", "b1", "c2"],
    erin: ["b1", "b2", "h1"],
    frank: ["m1", "m2", "m3"],
  };
  return new Set(table[user]);
}

describe("items, queries and new users", () => {
  it("more like this: the other space operas first; MMR brings in other genres", () => {
    const plain = ids(books.similarItems("b4", { k: 3 }));
    expect(new Set(plain)).toEqual(new Set(["b1", "b2", "b3"]));
    const diverse = ids(books.similarItems("b4", { k: 3, diversity: 0.7 }));
    expect(diverse[0]).toBe(plain[0]);
    expect(diverse.filter((item) => !SPACE_OPERA.has(item)).length).toBeGreaterThan(0);
    expect(diverse).not.toEqual(plain);
  });

  it("query: a text intent ranks the matching genre first, and excludes a user's seen items", async () => {
    const found = await books.recommendForQuery("a village murder mystery", { k: 3 });
    expect(found.source).toBe("query");
    expect(new Set(ids(found))).toEqual(new Set(["m1", "m2", "m3"]));
    const forFrank = await books.recommendForQuery("a village murder mystery", { k: 3, user: "frank" });
    expect(ids(forFrank).some((item) => item.startsWith("m"))).toBe(false);
  });

  it("new user: two liked cookbooks give the third cookbook first", () => {
    const result = books.recommendForNewUser(["c1", "c2"], { k: 3 });
    expect(result.items[0]?.id).toBe("c3");
    expect(ids(result)).not.toContain("c1");
    expect(() => books.recommendForNewUser(["c1", "zz9"])).toThrow(/Unknown item "zz9"/);
    expect(() => books.recommendForNewUser([])).toThrow(/at least one liked item/);
  });

  it("names an unknown item", () => {
    expect(() => books.similarItems("nope")).toThrow(/Unknown item "nope"/);
  });
});

describe("bad input", () => {
  async function write(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  it("skips and counts interactions naming unknown items; keeps the latest of duplicate pairs", async () => {
    const path = await write(
      "messy.csv",
      "user,book,stars,ts\nu1,b1,2,10\nu1,b1,5,30\nu1,b1,3,20\nu1,ghost,5,40\nu2,ghost,4,50\nu2,phantom,1,60\nu2,m1,4,70\n",
    );
    const messy = await indexRecommender(store, "books-messy", embedder, {
      itemsFile: { path: BOOKS, columns: ITEM_COLUMNS },
      interactionsFile: { path, columns: RATING_COLUMNS },
    });
    expect(messy).toMatchObject({ interactions: 2, unknownItems: 3, duplicates: 2, users: 2 });
    expect(messy.unknownItemExamples).toEqual(["ghost", "phantom"]);
    const state = JSON.parse(await readFile(messy.statePath, "utf8")) as { interactions: { rating: string } };
    const ratings = new Float32Array(new Uint8Array(Buffer.from(state.interactions.rating, "base64")).buffer);
    expect([...ratings]).toEqual([5, 4]);
  });

  it("refuses a rating outside the declared range, naming the line, and writes nothing", async () => {
    const path = await write("out-of-range.csv", "user,book,stars,ts\nu1,b1,4,1\nu1,b2,7,2\n");
    const promise = indexRecommender(store, "books-range", embedder, {
      itemsFile: { path: BOOKS, columns: ITEM_COLUMNS },
      interactionsFile: { path, columns: RATING_COLUMNS },
      ratingRange: [1, 5],
    });
    await expect(promise).rejects.toThrow(/line 3: rating 7 is outside the declared range 1\.\.5/);
    await expect(stat(await recommenderStatePath(store, "books-range"))).rejects.toThrow();
    expect((await store.listCollections()).map((c) => c.name)).not.toContain("books-range");
  });

  it("lists the available columns when a column name is wrong", async () => {
    await expect(
      indexRecommender(store, "books-columns", embedder, {
        itemsFile: { path: BOOKS, columns: { idField: "book_id", textFields: ["title"] } },
      }),
    ).rejects.toThrow(
      /--id-field "book_id" is not a column of .*books\.csv\. Available columns: id, title, description, year, genre/,
    );
    await expect(
      indexRecommender(store, "books", embedder, {
        interactionsFile: { path: RATINGS, columns: { ...RATING_COLUMNS, ratingField: "rating" } },
      }),
    ).rejects.toThrow(/--rating-field "rating" is not a column .*Available columns: user, book, stars, ts/);
  });

  it("skips and reports items with empty text; refuses a catalog where every text is empty", async () => {
    const path = await write("some-empty.csv", "id,title,description\nx1,Space opera fleet,\nx2,,\nx3,  ,\n");
    const partial = await indexRecommender(store, "books-empty", embedder, {
      itemsFile: { path, columns: { idField: "id", textFields: ["title", "description"] } },
    });
    expect(partial).toMatchObject({ items: 1, emptyText: ["x2", "x3"] });
    const none = await write("all-empty.csv", "id,title\ny1,\ny2,\n");
    await expect(
      indexRecommender(store, "books-none", embedder, {
        itemsFile: { path: none, columns: { idField: "id", textFields: ["title"] } },
      }),
    ).rejects.toThrow(/every item has empty text \(2 rows\)/);
  });

  it("refuses duplicate item ids, a missing recommender and a missing file", async () => {
    const path = await write("dupe-items.csv", "id,title\na,One\nb,Two\na,Three\n");
    await expect(
      indexRecommender(store, "books-dupe", embedder, {
        itemsFile: { path, columns: { idField: "id", textFields: ["title"] } },
      }),
    ).rejects.toThrow(/item id "a" appears twice \(lines 2 and 4\)/);
    await expect(openRecommender(store, "no-such", embedder)).rejects.toThrow(/No recommender "no-such"/);
    await expect(
      indexRecommender(store, "books-missing", embedder, {
        itemsFile: { path: join(dir, "missing.csv"), columns: ITEM_COLUMNS },
      }),
    ).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
  });

  it("parses half-lives and rejects bad ones", () => {
    expect(parseDuration("30d")).toBe(30 * 86_400);
    expect(parseDuration("12h")).toBe(12 * 3600);
    expect(() => parseDuration("soon")).toThrow(/not a duration/);
  });
});

describe("recency and implicit feedback", () => {
  it("implicit interactions (no rating column) give every item weight 1; a short half-life favours recent taste", async () => {
    const path = join(dir, "implicit.csv");
    // Long ago: cookbooks; recently: space operas.
    await writeFile(path, "user,book,ts\nkim,c1,0\nkim,c2,10\nkim,c3,20\nkim,b1,1000000\nkim,b2,1000010\n");
    await indexRecommender(store, "books-implicit", embedder, {
      itemsFile: { path: BOOKS, columns: ITEM_COLUMNS },
      interactionsFile: { path, columns: { userField: "user", itemField: "book", timeField: "ts" } },
      halfLifeSeconds: 3600,
    });
    const recent = await openRecommender(store, "books-implicit", embedder);
    expect(recent.info.settings.explicit).toBe(false);
    const top = ids(recent.recommendForUser("kim", { k: 2, mode: "content" }));
    expect(top.every((item) => SPACE_OPERA.has(item))).toBe(true);
  });
});
