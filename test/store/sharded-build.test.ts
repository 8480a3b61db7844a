/**
 * Sharded HNSW builds of the embedded store (`buildWorkers: 2`): two graphs over
 * the labels split by parity, built in two worker threads and searched
 * together. Checked against one graph and the exact search on the same data,
 * through reopen, writes after the build, cancel and drop, a store written
 * before shards existed, and a damaged shard file. The shard threshold is
 * forced low with `buildWorkers: 2`; the collections are a few thousand small
 * vectors, so the whole file costs a few CPU-seconds.
 */
import { cp, mkdtemp, open as openFile, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openEmbeddedStore } from "../../src/store/embedded-store.js";
import type { Hit } from "../../src/store/vector-store.js";
import { createRandom } from "../../src/vectors/random.js";

const DIMS = 32;
const COUNT = 3_000;

/** 8 fixed random directions: the vectors mix them, so they have few intrinsic dimensions, as embeddings do. */
const BASIS = (() => {
  const random = createRandom(5);
  return Array.from({ length: 8 }, () => Float32Array.from({ length: DIMS }, () => random.next() * 2 - 1));
})();

/** `count` seeded mixtures of {@link BASIS} plus a little noise. */
function randomVectors(count: number, seed: number): Float32Array[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, () => {
    const vector = Float32Array.from({ length: DIMS }, () => (random.next() - 0.5) * 0.2);
    for (const direction of BASIS) {
      const weight = random.next() * 2 - 1;
      for (let j = 0; j < DIMS; j++) vector[j] = (vector[j] as number) + weight * (direction[j] as number);
    }
    return vector;
  });
}

const vectors = randomVectors(COUNT + 1_500, 21);
const queries = randomVectors(20, 22);
const items = (from: number, to: number) =>
  vectors
    .slice(from, to)
    .map((vector, i) => ({ id: `s${from + i}`, vector, metadata: { group: `g${(from + i) % 10}` } }));

const ids = (hits: readonly Hit[]) => hits.map((hit) => hit.id);
const overlap = (hits: readonly Hit[], truth: readonly Hit[]) =>
  hits.filter((hit) => ids(truth).includes(hit.id)).length / truth.length;
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Files in a store's index folder. */
const indexFiles = async (dir: string) => (await readdir(join(dir, "index"))).sort();
/** The two files of a sharded snapshot: `<cid>-<seq>.0of2.hnsw`, `<cid>-<seq>.1of2.hnsw`. */
const PAIR = /^\d+-(\d+)\.[01]of2\.hnsw$/;

describe("embedded store: sharded HNSW builds", () => {
  let dir: string;
  const open = (buildWorkers?: 1 | 2, onWarning?: (message: string) => void, path = dir) =>
    openEmbeddedStore({
      path,
      annThreshold: 500,
      ...(buildWorkers === undefined ? {} : { buildWorkers }),
      ...(onWarning === undefined ? {} : { onWarning }),
    });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "embedkit-store-shards-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A store with COUNT items whose sharded (or single) graph is built and snapshotted. */
  async function built(buildWorkers: 1 | 2, path = dir) {
    const store = await open(buildWorkers, undefined, path);
    const collection = await store.createCollection("shards", { model: "m", dims: DIMS });
    for (let start = 0; start < COUNT; start += 1_000) await collection.upsert(items(start, start + 1_000));
    await collection.query({ vector: queries[0] as Float32Array, k: 10 });
    await store.waitForIndexBuilds();
    return { store, collection };
  }

  it("two shards answer like one graph and like the exact search; exact filter paths give the same hits", async () => {
    const singleDir = await mkdtemp(join(tmpdir(), "embedkit-store-single-"));
    try {
      const sharded = await built(2);
      const single = await built(1, singleDir);
      const pair = await indexFiles(dir);
      expect(pair).toHaveLength(2);
      expect(pair.every((file) => PAIR.test(file))).toBe(true);
      expect(await indexFiles(singleDir)).toEqual([expect.stringMatching(/^\d+-\d+\.hnsw$/)]);

      const recalls = { sharded: [] as number[], single: [] as number[] };
      for (const query of queries) {
        const exact = await sharded.collection.query({ vector: query, k: 10, exact: true });
        expect(ids(await single.collection.query({ vector: query, k: 10, exact: true }))).toEqual(ids(exact));
        recalls.sharded.push(overlap(await sharded.collection.query({ vector: query, k: 10 }), exact));
        recalls.single.push(overlap(await single.collection.query({ vector: query, k: 10 }), exact));
        // A selective filter is answered exactly over its matches: identical hits and scores either way.
        const filtered = { vector: query, k: 10, filter: "group=g3" };
        const shardedFiltered = await sharded.collection.query(filtered);
        expect(shardedFiltered).toEqual(await single.collection.query(filtered));
        expect(shardedFiltered).toEqual(await sharded.collection.query({ ...filtered, exact: true }));
      }
      // Each shard is searched with the configured efSearch (64) for its own top 10, so two half-size
      // graphs recall at least as well as one here; both stay above a fixed floor on this data.
      expect(mean(recalls.sharded)).toBeGreaterThanOrEqual(0.95);
      expect(mean(recalls.single)).toBeGreaterThanOrEqual(0.9);
      expect(mean(recalls.sharded)).toBeGreaterThanOrEqual(mean(recalls.single) - 0.02);
      await sharded.store.close();
      await single.store.close();
    } finally {
      await rm(singleDir, { recursive: true, force: true });
    }
  }, 120_000);

  it("reopens from the sharded snapshot, finds upserts and misses deletes made after it, and rebuilds both shards", async () => {
    const first = await built(2);
    const before = await Promise.all(
      queries.map((query) => first.collection.query({ vector: query, k: 10 })),
    );
    const pair = await indexFiles(dir);
    const written = await Promise.all(
      pair.map(async (file) => (await stat(join(dir, "index", file))).mtimeMs),
    );
    await first.store.close();
    // A shard file a crash left between its rename and the record, older than the recorded pair: removed on open.
    const cid = (pair[0] as string).split("-")[0];
    await writeFile(join(dir, "index", `${cid}-1.1of2.hnsw`), "left by a crash");

    let store = await open(2);
    let collection = await store.getCollection("shards");
    await collection.query({ vector: queries[0] as Float32Array, k: 10 });
    await store.waitForIndexBuilds();
    // Loaded, not rebuilt: the same files, untouched, and the same answers as before the close.
    expect(await indexFiles(dir)).toEqual(pair);
    expect(
      await Promise.all(pair.map(async (file) => (await stat(join(dir, "index", file))).mtimeMs)),
    ).toEqual(written);
    for (const [i, query] of queries.entries()) {
      expect(ids(await collection.query({ vector: query, k: 10 }))).toEqual(ids(before[i] as Hit[]));
    }

    // After the snapshot: new items (even and odd labels) are found, deleted ones (both shards) are not.
    const added = items(COUNT, COUNT + 40);
    await collection.upsert(added);
    const gone = ids(before[1] as Hit[]).slice(0, 6);
    expect(await collection.delete(gone)).toBe(6);
    const check = async () => {
      for (const item of added.slice(0, 10)) {
        expect((await collection.query({ vector: item.vector, k: 1 }))[0]?.id).toBe(item.id);
      }
      const hits = ids(await collection.query({ vector: queries[1] as Float32Array, k: 10 }));
      for (const id of gone) expect(hits).not.toContain(id);
    };
    await check();

    // Enough writes to start a build from the snapshot: both shards catch up, the old pair is removed.
    await collection.upsert(items(COUNT + 40, COUNT + 1_500));
    await collection.query({ vector: queries[2] as Float32Array, k: 10 });
    await store.waitForIndexBuilds();
    const rebuilt = await indexFiles(dir);
    expect(rebuilt).toHaveLength(2);
    expect(rebuilt.every((file) => PAIR.test(file))).toBe(true);
    expect(rebuilt.some((file) => pair.includes(file))).toBe(false);
    await check();
    await store.close();

    // One build worker on a sharded snapshot: a single graph from the store; the pair is removed.
    store = await open(1);
    collection = await store.getCollection("shards");
    await collection.query({ vector: queries[0] as Float32Array, k: 10 });
    await store.waitForIndexBuilds();
    expect(await indexFiles(dir)).toEqual([expect.stringMatching(/^\d+-\d+\.hnsw$/)]);
    await check();
    await store.close();
  }, 120_000);

  it("a drop or close during a sharded build leaves no build files, and the previous pair stays the snapshot", async () => {
    // Drop while the two workers build: every file of the collection is gone.
    let store = await open(2);
    let collection = await store.createCollection("dropped", { model: "m", dims: DIMS });
    await collection.upsert(items(0, COUNT));
    await collection.query({ vector: queries[0] as Float32Array, k: 10 });
    await store.dropCollection("dropped");
    await store.waitForIndexBuilds();
    expect(await indexFiles(dir)).toEqual([]);
    await store.close();

    // Close while a catch-up build runs: no temp files, and one complete pair (the previous one, or the
    // new one if the build finished first) — never a half-promoted mix.
    const first = await built(2);
    const pair = await indexFiles(dir);
    await first.collection.upsert(items(COUNT, COUNT + 1_500));
    await first.collection.query({ vector: queries[1] as Float32Array, k: 10 });
    await first.store.close();
    const after = await indexFiles(dir);
    expect(after).toHaveLength(2);
    expect(after.every((file) => PAIR.test(file))).toBe(true);
    expect(new Set(after.map((file) => PAIR.exec(file)?.[1])).size).toBe(1);

    store = await open(2);
    collection = await store.getCollection("shards");
    const exact = await collection.query({ vector: queries[1] as Float32Array, k: 10, exact: true });
    await collection.query({ vector: queries[1] as Float32Array, k: 10 });
    await store.waitForIndexBuilds();
    expect(
      overlap(await collection.query({ vector: queries[1] as Float32Array, k: 10 }), exact),
    ).toBeGreaterThan(0.8);
    const final = await indexFiles(dir);
    expect(final).toHaveLength(2);
    expect(final.some((file) => pair.includes(file))).toBe(false);
    await store.close();
  }, 120_000);

  it("loads a single-graph snapshot written before sharded builds existed", async () => {
    const fixture = fileURLToPath(new URL("../fixtures/store/single-graph-v1/", import.meta.url));
    await cp(join(fixture, "store.db"), join(dir, "store.db"));
    await cp(join(fixture, "index"), join(dir, "index"), { recursive: true });
    const legacy = (i: number) =>
      Float32Array.from({ length: 8 }, (_, j) => Math.sin(i * 0.37 + j * 1.3) + Math.cos(i * 0.11 * (j + 1)));
    const options = { path: dir, annThreshold: 100, hnsw: { m: 8, efConstruction: 32 } } as const;
    const warnings: string[] = [];
    let store = await openEmbeddedStore({ ...options, onWarning: (message) => warnings.push(message) });
    let collection = await store.getCollection("legacy");
    await collection.query({ vector: legacy(0), k: 5 });
    await store.waitForIndexBuilds();
    // The recorded 1-2.hnsw passed its size/CRC-32 check and was read; the build caught it up by the one
    // row written after it and recorded 1-3.hnsw in its place.
    expect(warnings).toEqual([]);
    expect(await indexFiles(dir)).toEqual(["1-3.hnsw"]);
    const twins = await collection.query({ vector: legacy(100), k: 2 });
    expect(ids(twins).sort()).toEqual(["l100", "l9"]);
    expect(ids(await collection.query({ vector: legacy(7), k: 5 }))).not.toContain("l7");
    expect(ids(await collection.query({ vector: legacy(50), k: 1 }))).toEqual(["l50"]);
    await store.close();

    // The same store with two build workers: the pair is built from the store and replaces the old file.
    store = await openEmbeddedStore({ ...options, buildWorkers: 2 });
    collection = await store.getCollection("legacy");
    await collection.query({ vector: legacy(0), k: 5 });
    await store.waitForIndexBuilds();
    const files = await indexFiles(dir);
    expect(files).toHaveLength(2);
    expect(files.every((file) => PAIR.test(file))).toBe(true);
    expect(ids(await collection.query({ vector: legacy(100), k: 2 })).sort()).toEqual(["l100", "l9"]);
    expect(ids(await collection.query({ vector: legacy(50), k: 1 }))).toEqual(["l50"]);
    await store.close();
  }, 60_000);

  it("detects a damaged shard file by its CRC-32, warns, and rebuilds that shard", async () => {
    const first = await built(2);
    const exact = await first.collection.query({ vector: queries[3] as Float32Array, k: 10, exact: true });
    await first.store.close();
    const pair = await indexFiles(dir);
    const damaged = join(dir, "index", pair[1] as string);
    const original = await readFile(damaged);
    // Flip one byte in the middle: same size, different CRC-32.
    const handle = await openFile(damaged, "r+");
    const offset = Math.floor(original.length / 2);
    await handle.write(Buffer.from([(original[offset] as number) ^ 0xff]), 0, 1, offset);
    await handle.close();
    const corrupt = await readFile(damaged);

    const warnings: string[] = [];
    const store = await open(2, (message) => warnings.push(message));
    const collection = await store.getCollection("shards");
    await collection.query({ vector: queries[3] as Float32Array, k: 10 });
    await store.waitForIndexBuilds();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(pair[1]);
    expect(warnings[0]).toMatch(/CRC-32/);
    // Recorded again as one pair (same sequence: nothing changed); the damaged shard was rebuilt from the store.
    expect(await indexFiles(dir)).toEqual(pair);
    expect((await readFile(damaged)).equals(corrupt)).toBe(false);
    expect(
      overlap(await collection.query({ vector: queries[3] as Float32Array, k: 10 }), exact),
    ).toBeGreaterThan(0.8);
    await store.close();

    // Reopened: intact now, loaded without a warning.
    const again = await open(2, (message) => warnings.push(message));
    await (await again.getCollection("shards")).query({ vector: queries[3] as Float32Array, k: 10 });
    await again.waitForIndexBuilds();
    expect(warnings).toHaveLength(1);
    await again.close();
  }, 120_000);

  it("builds both shards inside the query in the blocking mode", async () => {
    const store = await openEmbeddedStore({
      path: dir,
      annThreshold: 500,
      buildWorkers: 2,
      indexBuild: "blocking",
    });
    const collection = await store.createCollection("blocking", { model: "m", dims: DIMS });
    await collection.upsert(items(0, COUNT));
    const hits = await collection.query({ vector: queries[4] as Float32Array, k: 10 });
    // The query waited for the build: the pair is recorded before it returns.
    const files = await indexFiles(dir);
    expect(files).toHaveLength(2);
    expect(files.every((file) => PAIR.test(file))).toBe(true);
    const exact = await collection.query({ vector: queries[4] as Float32Array, k: 10, exact: true });
    expect(overlap(hits, exact)).toBeGreaterThanOrEqual(0.8);
    await store.close();
  });

  it("rejects a bad buildWorkers option before opening anything", async () => {
    await expect(openEmbeddedStore({ path: dir, buildWorkers: 3 as 2 })).rejects.toMatchObject({
      code: "INVALID_OPTION",
      message: expect.stringMatching(/buildWorkers must be 1 or 2/),
    });
    expect(await readdir(dir)).toEqual([]);
  });
});
