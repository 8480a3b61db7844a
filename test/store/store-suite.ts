/**
 * The VectorStore conformance suite: every backend (embedded, pgvector) runs
 * these same checks against real storage. A backend test file calls
 * `runVectorStoreSuite("name", factory)` once; the factory gives a fresh, empty
 * store plus a way to open the same data again (persistence) and to clean up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import type { CollectionSpec, Item, VectorStore } from "../../src/store/vector-store.js";
import { cosineSimilarity, dot, euclideanDistance } from "../../src/vectors/math.js";
import { createRandom } from "../../src/vectors/random.js";

/** What a backend's factory returns. */
export interface VectorStoreFixture {
  /** A fresh store with no collections. */
  readonly store: VectorStore;
  /**
   * Open a second store instance on the same data (a new process would see the
   * same). The suite closes the instance it was using first.
   */
  readonly reopen: () => Promise<VectorStore>;
  /** Close whatever is still open and delete the data. */
  readonly cleanup: () => Promise<void>;
}

/** Creates a fresh store fixture; called once per suite. */
export type VectorStoreFactory = () => Promise<VectorStoreFixture>;

function randomVectors(count: number, dims: number, seed: number): Float32Array[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, () =>
    Float32Array.from({ length: dims }, () => random.next() * 2 - 1),
  );
}

const SPEC: CollectionSpec = { model: "test-model", dims: 4 };

/** Four small vectors with a known cosine order for the query [1, 0, 0, 0]. */
const FOUR: readonly Item[] = [
  { id: "a", vector: [1, 0, 0, 0], metadata: { lang: "en", year: 2020, tier: "free" }, text: "alpha" },
  { id: "b", vector: [0.9, 0.1, 0, 0], metadata: { lang: "zh", year: 2021, tier: "pro" }, text: "beta" },
  { id: "c", vector: [0.5, 0.5, 0.5, 0], metadata: { lang: "en", year: "2022" }, text: "gamma" },
  { id: "d", vector: [0, 0, 0, 1], metadata: { lang: "fr", year: 2023, flag: true } },
];

const code = (c: string) => expect.objectContaining({ code: c });

/**
 * Run the conformance suite for one backend.
 *
 * @example
 * ```ts
 * runVectorStoreSuite("embedded", async () => {
 *   const dir = await mkdtemp(join(tmpdir(), "store-"));
 *   return { store: await openEmbeddedStore({ path: dir }), reopen: () => openEmbeddedStore({ path: dir }),
 *            cleanup: () => rm(dir, { recursive: true, force: true }) };
 * });
 * ```
 */
export function runVectorStoreSuite(name: string, factory: VectorStoreFactory): void {
  describe(`VectorStore conformance: ${name}`, () => {
    let fixture: VectorStoreFixture;
    let store: VectorStore;
    let counter = 0;
    const fresh = () => `c${Date.now().toString(36)}_${counter++}`;
    const seeded = async (spec: CollectionSpec = SPEC, items: readonly Item[] = FOUR) => {
      const collection = await store.createCollection(fresh(), spec);
      await collection.upsert(items);
      return collection;
    };

    beforeAll(async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterAll(async () => {
      await fixture?.cleanup();
    });

    describe("collections", () => {
      it("creates a collection that remembers its model, dims, pooling, normalization and metric", async () => {
        const name = fresh();
        const before = Date.now();
        const created = await store.createCollection(name, {
          model: "bge-small-zh-v1.5",
          dims: 512,
          pooling: "cls",
          normalized: true,
          metric: "dot",
        });
        expect(created.info).toMatchObject({
          name,
          model: "bge-small-zh-v1.5",
          dims: 512,
          pooling: "cls",
          normalized: true,
          metric: "dot",
        });
        expect(Date.parse(created.info.createdAt)).toBeGreaterThanOrEqual(before - 2000);
        const opened = await store.getCollection(name);
        expect(opened.info).toEqual(created.info);
        expect(await opened.stats()).toEqual({ ...created.info, count: 0 });
      });

      it("fills defaults: mean pooling, normalized, cosine", async () => {
        const created = await store.createCollection(fresh(), SPEC);
        expect(created.info).toMatchObject({ pooling: "mean", normalized: true, metric: "cosine" });
      });

      it("lists collections sorted by name with counts, and drops them", async () => {
        const first = await seeded();
        const second = await store.createCollection(fresh(), SPEC);
        const listed = await store.listCollections();
        const names = listed.map((c) => c.name);
        expect(names).toEqual([...names].sort());
        expect(listed.find((c) => c.name === first.name)?.count).toBe(4);
        expect(listed.find((c) => c.name === second.name)?.count).toBe(0);
        await store.dropCollection(first.name);
        expect((await store.listCollections()).map((c) => c.name)).not.toContain(first.name);
        await expect(store.getCollection(first.name)).rejects.toThrow(EmbedkitError);
        await expect(store.getCollection(first.name)).rejects.toEqual(code("UNKNOWN_COLLECTION"));
        await expect(first.count()).rejects.toEqual(code("UNKNOWN_COLLECTION"));
        await expect(first.upsert(FOUR)).rejects.toEqual(code("UNKNOWN_COLLECTION"));
      });

      it("refuses a duplicate name, an unknown collection, a bad name and a bad spec", async () => {
        const existing = await store.createCollection(fresh(), SPEC);
        await expect(store.createCollection(existing.name, SPEC)).rejects.toEqual(code("COLLECTION_EXISTS"));
        await expect(store.getCollection("no-such-collection")).rejects.toEqual(code("UNKNOWN_COLLECTION"));
        await expect(store.dropCollection("no-such-collection")).rejects.toEqual(code("UNKNOWN_COLLECTION"));
        for (const bad of ["", "a b", "x'; DROP TABLE items; --", "-lead", "a".repeat(65), "../etc"]) {
          await expect(store.createCollection(bad, SPEC)).rejects.toEqual(code("INVALID_INPUT"));
        }
        await expect(store.createCollection(fresh(), { model: "m", dims: 0 })).rejects.toEqual(
          code("INVALID_OPTION"),
        );
        await expect(store.createCollection(fresh(), { model: "", dims: 4 })).rejects.toEqual(
          code("INVALID_OPTION"),
        );
        await expect(
          store.createCollection(fresh(), { model: "m", dims: 4, metric: "manhattan" as "cosine" }),
        ).rejects.toEqual(code("INVALID_OPTION"));
      });
    });

    describe("items", () => {
      it("upserts, gets in the order asked (skipping missing ids), counts and deletes", async () => {
        const collection = await seeded();
        expect(await collection.count()).toBe(4);
        const got = await collection.get(["c", "missing", "a"]);
        expect(got.map((item) => item.id)).toEqual(["c", "a"]);
        expect(got[0]?.vector).toBeInstanceOf(Float32Array);
        expect(Array.from(got[0]?.vector ?? [])).toEqual([0.5, 0.5, 0.5, 0]);
        expect(got[0]?.metadata).toEqual({ lang: "en", year: "2022" });
        expect(got[0]?.text).toBe("gamma");
        const [d] = await collection.get(["d"]);
        expect(d?.text).toBeUndefined();
        expect(d?.metadata).toEqual({ lang: "fr", year: 2023, flag: true });
        expect(await collection.delete(["a", "missing", "a"])).toBe(1);
        expect(await collection.count()).toBe(3);
        expect(await collection.get(["a"])).toEqual([]);
        expect(await collection.delete(["a"])).toBe(0);
      });

      it("stores float32 vectors exactly and keeps unicode, null and boolean metadata", async () => {
        const vector = Float32Array.from([Math.PI, -1e-20, 3.4e38, 1 / 3]);
        const metadata = { title: "你好，世界 🌍", note: null, ok: false, n: -0.125 };
        const collection = await seeded(SPEC, [{ id: "日本語-id", vector, metadata, text: "多语言 text" }]);
        const [item] = await collection.get(["日本語-id"]);
        expect(Array.from(item?.vector ?? [])).toEqual(Array.from(vector));
        expect(item?.metadata).toEqual(metadata);
        expect(item?.text).toBe("多语言 text");
      });

      it("is idempotent by id: a second upsert replaces vector, metadata and text, count unchanged", async () => {
        const collection = await seeded();
        await collection.upsert(FOUR);
        expect(await collection.count()).toBe(4);
        await collection.upsert([{ id: "a", vector: [0, 1, 0, 0], metadata: { lang: "de" } }]);
        expect(await collection.count()).toBe(4);
        const [a] = await collection.get(["a"]);
        expect(Array.from(a?.vector ?? [])).toEqual([0, 1, 0, 0]);
        expect(a?.metadata).toEqual({ lang: "de" });
        expect(a?.text).toBeUndefined();
        const hits = await collection.query({ vector: [0, 1, 0, 0], k: 1 });
        expect(hits[0]?.id).toBe("a");
      });

      it("lists items in id byte order page by page, and refuses bad pages", async () => {
        const items: Item[] = ["b", "a", "é", "Z", "a-2", "c"].map((id, index) => ({
          id,
          vector: [index + 1, 0, 0, 0],
          metadata: { n: index },
          ...(index % 2 === 0 ? { text: `text ${id}` } : {}),
        }));
        const collection = await seeded(SPEC, items);
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await collection.list(after === undefined ? { limit: 4 } : { after, limit: 4 });
          seen.push(...page.map((item) => item.id));
          if (page.length < 4) break;
          after = page[page.length - 1]?.id;
        }
        expect(seen).toEqual(["Z", "a", "a-2", "b", "c", "é"]);
        const [first] = await collection.list({ after: "a", limit: 1 });
        expect(first?.id).toBe("a-2");
        expect(first?.vector).toBeInstanceOf(Float32Array);
        expect(Array.from(first?.vector ?? [])).toEqual([5, 0, 0, 0]);
        expect(first?.metadata).toEqual({ n: 4 });
        expect(first?.text).toBe("text a-2");
        expect(await collection.list({ after: "é", limit: 10 })).toEqual([]);
        await expect(collection.list({ limit: 0 })).rejects.toThrow(code("INVALID_OPTION"));
        await expect(collection.list({ limit: 10_001 })).rejects.toThrow(code("INVALID_OPTION"));
        await expect(collection.list({ after: "", limit: 1 })).rejects.toThrow(code("INVALID_INPUT"));
      });

      it("changes its version whenever its items change, and keeps it on reads", async () => {
        const collection = await seeded();
        const versions = [await collection.version()];
        await collection.query({ vector: [1, 0, 0, 0], k: 2 });
        await collection.list({ limit: 10 });
        expect(await collection.version()).toBe(versions[0]);
        await collection.upsert([{ id: "e", vector: [0, 1, 0, 0] }]);
        versions.push(await collection.version());
        await collection.upsert([{ id: "e", vector: [0, 0, 1, 0] }]);
        versions.push(await collection.version());
        await collection.delete(["a"]);
        versions.push(await collection.version());
        await collection.delete(["e"]);
        versions.push(await collection.version());
        expect(new Set(versions).size).toBe(versions.length);
        await store.dropCollection(collection.name);
        await expect(collection.version()).rejects.toThrow(code("UNKNOWN_COLLECTION"));
        const again = await store.createCollection(collection.name, SPEC);
        await again.upsert(FOUR);
        expect(versions).not.toContain(await again.version());
      });

      it("accepts an empty batch and empty id lists", async () => {
        const collection = await seeded();
        await collection.upsert([]);
        expect(await collection.get([])).toEqual([]);
        expect(await collection.delete([])).toBe(0);
        expect(await collection.count()).toBe(4);
      });

      it("stores SQL-ish ids, metadata and text literally and filters on them literally", async () => {
        const nasty = [
          "x'); DROP TABLE items; --",
          'Robert"); DELETE FROM collections; --',
          "1 OR 1=1",
          "%_\\*",
          "$1::text",
        ];
        const items = nasty.map((id, i) => ({
          id,
          vector: [1, i, 0, 0],
          metadata: { who: id, "sql.key": "'; SELECT pg_sleep(10); --" },
          text: id,
        }));
        const collection = await seeded(SPEC, items);
        expect(await collection.count()).toBe(nasty.length);
        const got = await collection.get(nasty);
        expect(got.map((item) => item.id)).toEqual(nasty);
        expect(got.map((item) => item.metadata.who)).toEqual(nasty);
        expect(got.map((item) => item.text)).toEqual(nasty);
        const first = await collection.query({
          vector: [1, 0, 0, 0],
          k: 10,
          filter: [{ field: "who", op: "eq", value: nasty[0] as string }],
        });
        expect(first.map((hit) => hit.id)).toEqual([nasty[0]]);
        const quoted = await collection.query({ vector: [1, 0, 0, 0], k: 10, filter: `who="1 OR 1=1"` });
        expect(quoted.map((hit) => hit.id)).toEqual(["1 OR 1=1"]);
        const like = await collection.count([{ field: "who", op: "eq", value: "%" }]);
        expect(like).toBe(0);
        expect(await collection.delete([nasty[1] as string])).toBe(1);
        expect(await collection.count()).toBe(nasty.length - 1);
      });
    });

    describe("query", () => {
      it("returns hits best first with exact cosine scores, metadata and text", async () => {
        const collection = await seeded();
        const query = [1, 0.05, 0, 0];
        const hits = await collection.query({ vector: query, k: 4 });
        const expected = FOUR.map((item) => ({
          id: item.id,
          score: cosineSimilarity(query, item.vector as number[]),
        })).sort((x, y) => y.score - x.score);
        expect(hits.map((hit) => hit.id)).toEqual(expected.map((e) => e.id));
        hits.forEach((hit, i) => {
          expect(hit.score).toBeCloseTo(expected[i]?.score ?? Number.NaN, 5);
        });
        expect(hits[1]).toMatchObject({
          id: "b",
          metadata: { lang: "zh", year: 2021, tier: "pro" },
          text: "beta",
        });
        expect(hits[0]?.vector).toBeUndefined();
        const withVectors = await collection.query({ vector: query, k: 2, includeVectors: true });
        expect(Array.from(withVectors[1]?.vector ?? [])).toEqual(
          Array.from(FOUR[1]?.vector ?? []).map(Math.fround),
        );
      });

      it("scores dot and euclidean collections as documented (higher is closer)", async () => {
        const query = [2, 0, 0, 1];
        const dotCollection = await seeded({ ...SPEC, metric: "dot", normalized: false });
        const dotHits = await dotCollection.query({ vector: query, k: 4 });
        const dotExpected = FOUR.map((item) => ({
          id: item.id,
          score: dot(query, item.vector as number[]),
        })).sort((x, y) => y.score - x.score);
        expect(dotHits.map((hit) => hit.id)).toEqual(dotExpected.map((e) => e.id));
        dotHits.forEach((hit, i) => {
          expect(hit.score).toBeCloseTo(dotExpected[i]?.score ?? Number.NaN, 5);
        });
        const l2Collection = await seeded({ ...SPEC, metric: "euclidean", normalized: false });
        const l2Hits = await l2Collection.query({ vector: query, k: 4 });
        const l2Expected = FOUR.map((item) => ({
          id: item.id,
          score: -euclideanDistance(query, item.vector as number[]),
        })).sort((x, y) => y.score - x.score);
        expect(l2Hits.map((hit) => hit.id)).toEqual(l2Expected.map((e) => e.id));
        l2Hits.forEach((hit, i) => {
          expect(hit.score).toBeCloseTo(l2Expected[i]?.score ?? Number.NaN, 4);
        });
      });

      it("bounds k: fewer items than k returns them all; k outside 1..1000 or fractional is refused", async () => {
        const collection = await seeded();
        expect(await collection.query({ vector: [1, 0, 0, 0], k: 1000 })).toHaveLength(4);
        expect(await collection.query({ vector: [1, 0, 0, 0], k: 2 })).toHaveLength(2);
        for (const k of [0, -1, 1.5, 1001, Number.NaN]) {
          await expect(collection.query({ vector: [1, 0, 0, 0], k })).rejects.toEqual(code("INVALID_OPTION"));
        }
        const empty = await store.createCollection(fresh(), SPEC);
        expect(await empty.query({ vector: [1, 0, 0, 0], k: 3 })).toEqual([]);
      });

      it("filters with eq, ne, in, not in and numeric ranges (string and object form)", async () => {
        const collection = await seeded();
        const ids = async (filter: string | Parameters<typeof collection.count>[0]) =>
          (
            await collection.query({
              vector: [1, 0, 0, 0],
              k: 10,
              ...(filter === undefined ? {} : { filter }),
            })
          )
            .map((hit) => hit.id)
            .sort()
            .join("");
        expect(await ids("lang=en")).toBe("ac");
        expect(await ids("lang==zh")).toBe("b");
        expect(await ids("lang!=en")).toBe("bd");
        expect(await ids("tier!=free")).toBe("bcd"); // items without the field match !=
        expect(await ids("lang in (zh, fr)")).toBe("bd");
        expect(await ids("lang not in (zh, fr)")).toBe("ac");
        expect(await ids("year>=2021")).toBe("bd"); // "2022" is a string: ranges compare numbers only
        expect(await ids("year<2021")).toBe("a");
        expect(await ids("year>2020,year<=2023,lang!=fr")).toBe("b");
        expect(await ids("year=2022")).toBe("c"); // a bare number also matches the same text
        expect(await ids('year="2020"')).toBe(""); // quoted: strings only
        expect(await ids("year=2020")).toBe("a");
        expect(await ids("flag=true")).toBe("d");
        expect(await ids("missing=x")).toBe("");
        expect(await ids("")).toBe("abcd");
        expect(await ids([{ field: "lang", op: "in", values: ["en", "fr"] }])).toBe("acd");
        expect(await ids([{ field: "year", op: "gt", value: 2020.5 }])).toBe("bd");
        expect(await collection.count("lang=en")).toBe(2);
        expect(await collection.count([{ field: "lang", op: "nin", values: ["en"] }])).toBe(2);
      });

      it("refuses a range condition on a field that holds no numbers, instead of returning nothing", async () => {
        const collection = await seeded();
        const query = (filter: string) => collection.query({ vector: [1, 0, 0, 0], k: 10, filter });
        // "lang" holds only text (years stored as CSV text used to look like "no matches").
        await expect(query("lang>=1990")).rejects.toThrow(
          /"lang" holds no numbers in collection "c.*" \(it holds text values such as "(en|zh|fr)"\).*--metadata-types lang=number/,
        );
        await expect(query("lang>=1990")).rejects.toEqual(code("INVALID_FILTER"));
        await expect(collection.count("lang<5")).rejects.toThrow(/"lang" holds no numbers/);
        await expect(query("lang=en,nosuch>1")).rejects.toThrow(
          /no item of collection .* has a metadata field "nosuch"/,
        );
        // A numeric field that simply matches nothing is an empty answer, not an error.
        expect(await query("year>3000")).toEqual([]);
        expect(await collection.count("year>3000")).toBe(0);
        // So is any filter on an empty collection.
        const empty = await store.createCollection(fresh(), SPEC);
        expect(await empty.query({ vector: [1, 0, 0, 0], k: 3, filter: "year>=1990" })).toEqual([]);
        expect(await empty.count("year>=1990")).toBe(0);
      });

      it("refuses malformed filters with INVALID_FILTER and changes nothing", async () => {
        const collection = await seeded();
        for (const filter of [
          "lang",
          "lang=",
          "=zh",
          "lang=zh,",
          "lang=zh lang=en",
          "lang in zh",
          "lang in (zh",
          "year>abc",
          'year>"2020"',
          "lang!zh",
          'lang="unterminated',
          "1lang=zh",
          "lang=(zh)",
        ]) {
          await expect(collection.query({ vector: [1, 0, 0, 0], k: 1, filter }), filter).rejects.toEqual(
            code("INVALID_FILTER"),
          );
        }
        const badObjects = [
          [{ field: "lang", op: "like", value: "%" }],
          [{ field: "bad key", op: "eq", value: "x" }],
          [{ field: "year", op: "gt", value: "2020" }],
          [{ field: "lang", op: "in", values: [] }],
          { lang: "zh" },
        ];
        for (const filter of badObjects) {
          await expect(
            collection.count(filter as unknown as Parameters<typeof collection.count>[0]),
          ).rejects.toEqual(code("INVALID_FILTER"));
        }
        expect(await collection.count()).toBe(4);
      });

      it("finds the same top 10 as an exact scan on 2,000 random vectors, with and without a selective filter", async () => {
        const dims = 32;
        const vectors = randomVectors(2000, dims, 7);
        const items = vectors.map((vector, i) => ({
          id: `v${i}`,
          vector,
          metadata: { bucket: i % 100, rare: i % 97 === 0 },
        }));
        const collection = await store.createCollection(fresh(), { model: "test-model", dims });
        for (let start = 0; start < items.length; start += 500) {
          await collection.upsert(items.slice(start, start + 500));
        }
        expect(await collection.count()).toBe(2000);
        const queries = randomVectors(20, dims, 99);
        let overlap = 0;
        let filteredOverlap = 0;
        for (const vector of queries) {
          const exact = await collection.query({ vector, k: 10, exact: true });
          const brute = vectors
            .map((v, i) => ({ id: `v${i}`, score: cosineSimilarity(vector, v) }))
            .sort((x, y) => y.score - x.score)
            .slice(0, 10);
          expect(exact.map((hit) => hit.id)).toEqual(brute.map((b) => b.id));
          const approximate = await collection.query({ vector, k: 10 });
          expect(approximate).toHaveLength(10);
          const truth = new Set(exact.map((hit) => hit.id));
          overlap += approximate.filter((hit) => truth.has(hit.id)).length;
          const filtered = await collection.query({ vector, k: 10, filter: "rare=true" });
          const filteredExact = await collection.query({ vector, k: 10, filter: "rare=true", exact: true });
          expect(filtered).toHaveLength(10);
          expect(filtered.every((hit) => hit.metadata.rare === true)).toBe(true);
          const filteredTruth = new Set(filteredExact.map((hit) => hit.id));
          filteredOverlap += filtered.filter((hit) => filteredTruth.has(hit.id)).length;
        }
        expect(overlap / (queries.length * 10)).toBeGreaterThanOrEqual(0.9);
        expect(filteredOverlap / (queries.length * 10)).toBeGreaterThanOrEqual(0.9);
      });

      it("does not return deleted or replaced items", async () => {
        const dims = 16;
        const vectors = randomVectors(1200, dims, 3);
        const collection = await store.createCollection(fresh(), { model: "test-model", dims });
        await collection.upsert(vectors.map((vector, i) => ({ id: `v${i}`, vector })));
        const target = vectors[5] as Float32Array;
        expect((await collection.query({ vector: target, k: 1 }))[0]?.id).toBe("v5");
        await collection.delete(["v5"]);
        expect((await collection.query({ vector: target, k: 5 })).map((hit) => hit.id)).not.toContain("v5");
        await collection.upsert([{ id: "v6", vector: target }]);
        expect((await collection.query({ vector: target, k: 1 }))[0]?.id).toBe("v6");
        expect(await collection.count()).toBe(1199);
      });
    });

    describe("bad input", () => {
      it("refuses wrong dims, NaN/Infinity and duplicate ids, writing nothing of the batch", async () => {
        const collection = await seeded();
        const good = { id: "new", vector: [0, 1, 0, 0] };
        const cases: [readonly Item[], string][] = [
          [[good, { id: "x", vector: [1, 0, 0] }], "DIMENSION_MISMATCH"],
          [[good, { id: "x", vector: [1, 0, 0, 0, 0] }], "DIMENSION_MISMATCH"],
          [[good, { id: "x", vector: [1, Number.NaN, 0, 0] }], "INVALID_INPUT"],
          [[good, { id: "x", vector: [1, Number.POSITIVE_INFINITY, 0, 0] }], "INVALID_INPUT"],
          [
            [good, { id: "x", vector: Float32Array.from([1, 0, Number.NEGATIVE_INFINITY, 0]) }],
            "INVALID_INPUT",
          ],
          [[good, { id: "x", vector: [1e39, 0, 0, 0] }], "INVALID_INPUT"],
          [[good, { id: "dup", vector: [1, 0, 0, 0] }, { id: "dup", vector: [0, 0, 1, 0] }], "INVALID_INPUT"],
          [[good, { id: "", vector: [1, 0, 0, 0] }], "INVALID_INPUT"],
          [[good, { id: 7 as unknown as string, vector: [1, 0, 0, 0] }], "INVALID_INPUT"],
          [[good, { id: "x", vector: "1,0,0,0" as unknown as number[] }], "INVALID_INPUT"],
          [
            [good, { id: "x", vector: [1, 0, 0, 0], metadata: { nested: { a: 1 } } as never }],
            "INVALID_INPUT",
          ],
          [[good, { id: "x", vector: [1, 0, 0, 0], metadata: { "bad key": 1 } }], "INVALID_INPUT"],
          [[good, { id: "x", vector: [1, 0, 0, 0], metadata: { n: Number.NaN } }], "INVALID_INPUT"],
          [[good, { id: "x\u0000y", vector: [1, 0, 0, 0] }], "INVALID_INPUT"],
        ];
        for (const [items, expected] of cases) {
          await expect(collection.upsert(items), JSON.stringify(items[1])).rejects.toEqual(code(expected));
        }
        expect(await collection.count()).toBe(4);
        expect(await collection.get(["new"])).toEqual([]);
        await expect(collection.query({ vector: [1, 0, 0], k: 1 })).rejects.toEqual(
          code("DIMENSION_MISMATCH"),
        );
        await expect(collection.query({ vector: [1, Number.NaN, 0, 0], k: 1 })).rejects.toEqual(
          code("INVALID_INPUT"),
        );
        await expect(collection.get([""])).rejects.toEqual(code("INVALID_INPUT"));
      });

      it("refuses vectors from another model (MODEL_MISMATCH) and accepts the collection's own", async () => {
        const collection = await seeded();
        await expect(collection.query({ vector: [1, 0, 0, 0], k: 1, model: "other-model" })).rejects.toEqual(
          code("MODEL_MISMATCH"),
        );
        await expect(
          collection.upsert([{ id: "z", vector: [1, 0, 0, 0] }], { model: "other-model" }),
        ).rejects.toEqual(code("MODEL_MISMATCH"));
        expect(await collection.count()).toBe(4);
        await collection.upsert([{ id: "z", vector: [1, 0, 0, 0] }], { model: "test-model" });
        expect(await collection.query({ vector: [1, 0, 0, 0], k: 1, model: "test-model" })).toHaveLength(1);
      });
    });

    describe("persistence", () => {
      it("keeps collections, items and facts across close and reopen, then refuses calls on the closed store", async () => {
        const dims = 8;
        const vectors = randomVectors(1500, dims, 11);
        const collection = await store.createCollection(fresh(), {
          model: "persist-model",
          dims,
          metric: "dot",
        });
        await collection.upsert(vectors.map((vector, i) => ({ id: `p${i}`, vector, metadata: { i } })));
        await collection.delete(["p0"]);
        const before = await collection.query({ vector: vectors[1] as Float32Array, k: 5, exact: true });
        await store.close();
        await store.close(); // idempotent
        await expect(store.listCollections()).rejects.toEqual(code("CLOSED"));
        await expect(collection.count()).rejects.toEqual(code("CLOSED"));
        store = await fixture.reopen();
        const reopened = await store.getCollection(collection.name);
        expect(reopened.info).toEqual(collection.info);
        expect(await reopened.count()).toBe(1499);
        expect(await reopened.get(["p0"])).toEqual([]);
        const [p7] = await reopened.get(["p7"]);
        expect(Array.from(p7?.vector ?? [])).toEqual(Array.from(vectors[7] as Float32Array));
        expect(p7?.metadata).toEqual({ i: 7 });
        const after = await reopened.query({ vector: vectors[1] as Float32Array, k: 5, exact: true });
        expect(after.map((hit) => hit.id)).toEqual(before.map((hit) => hit.id));
        const approximate = await reopened.query({ vector: vectors[1] as Float32Array, k: 1 });
        expect(approximate[0]?.id).toBe(after[0]?.id);
      });
    });
  });
}
