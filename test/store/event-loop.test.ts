/**
 * The embedded store builds HNSW graphs off the event loop: while a 20,000 ×
 * 64 graph builds in its worker thread, the event loop stays responsive
 * (p99 delay < 50 ms, measured with perf_hooks.monitorEventLoopDelay) and
 * every query returns exactly the brute-force top 10 — including writes and
 * deletes acknowledged during the build. Also: one build at a time, catch-up
 * after more writes, close() cancelling a running build, and a failing build
 * surfacing as an EmbedkitError while queries stay exact.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openEmbeddedStore } from "../../src/store/embedded-store.js";
import type { Collection, Item } from "../../src/store/vector-store.js";
import { createRandom } from "../../src/vectors/random.js";

const COUNT = 20_000;
const DIMS = 64;

function randomVector(random: ReturnType<typeof createRandom>): Float32Array {
  return Float32Array.from({ length: DIMS }, () => random.next() * 2 - 1);
}

/**
 * The store's contents as the test knows them, for brute-force truth (cosine
 * with the norms kept, so a query costs one dot product per vector). The scan
 * yields every 2,000 vectors: the test's own work must not be what delays the
 * event loop.
 */
class Truth {
  private readonly entries = new Map<string, { vector: Float32Array; norm: number }>();
  has(id: string): boolean {
    return this.entries.has(id);
  }
  vector(id: string): Float32Array | undefined {
    return this.entries.get(id)?.vector;
  }
  set(id: string, vector: Float32Array): void {
    let sum = 0;
    for (const value of vector) sum += value * value;
    this.entries.set(id, { vector, norm: Math.sqrt(sum) });
  }
  delete(id: string): void {
    this.entries.delete(id);
  }
  async top(query: Float32Array, k: number): Promise<string[]> {
    let qq = 0;
    for (const value of query) qq += value * value;
    const qn = Math.sqrt(qq);
    const best: { id: string; score: number }[] = [];
    let seen = 0;
    for (const [id, { vector, norm }] of this.entries) {
      let dot = 0;
      for (let i = 0; i < DIMS; i++) dot += (query[i] as number) * (vector[i] as number);
      const score = dot / (qn * norm);
      if (best.length < k || score > (best[best.length - 1] as { score: number }).score) {
        best.push({ id, score });
        best.sort((a, b) => b.score - a.score);
        if (best.length > k) best.pop();
      }
      if (++seen % 2000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return best.map((hit) => hit.id);
  }
}

async function ingest(collection: Collection, truth: Truth, items: Item[]): Promise<void> {
  for (let start = 0; start < items.length; start += 2000) {
    await collection.upsert(items.slice(start, start + 2000));
  }
  for (const item of items) truth.set(item.id, item.vector as Float32Array);
}

describe("embedded store: index builds off the event loop", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "embedkit-event-loop-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps event-loop delay p99 < 50 ms while a 20k × 64 graph builds, and answers exactly meanwhile", async () => {
    const random = createRandom(4242);
    // A lighter graph than the default (M 8, efConstruction 40) keeps the test short; the build is the same code.
    const store = await openEmbeddedStore({
      path: dir,
      durability: "normal",
      hnsw: { m: 8, efConstruction: 40 },
    });
    try {
      const collection = await store.createCollection("loop", { model: "m", dims: DIMS });
      const truth = new Truth();
      await ingest(
        collection,
        truth,
        Array.from({ length: COUNT }, (_, i) => ({ id: `v${i}`, vector: randomVector(random) })),
      );
      // The machine's own delay with no build (CI runs two test files at once, some with busy child
      // processes): the build may not add to it beyond the 50 ms budget.
      const idle = monitorEventLoopDelay({ resolution: 5 });
      idle.enable();
      await new Promise((done) => setTimeout(done, 1000));
      idle.disable();
      const idleP99 = idle.percentile(99) / 1e6;
      const histogram = monitorEventLoopDelay({ resolution: 5 });
      histogram.enable();
      // The first query starts the build and is answered by an exact scan.
      const first = randomVector(random);
      expect((await collection.query({ vector: first, k: 10 })).map((hit) => hit.id)).toEqual(
        await truth.top(first, 10),
      );
      let built = false;
      const building = store.waitForIndexBuilds().then(() => {
        built = true;
      });
      let queriesDuringBuild = 0;
      let mostTemporaryFiles = 0;
      let serial = 0;
      while (!built) {
        // A write and a delete acknowledged during the build are seen by the next query.
        const fresh = { id: `new${serial++}`, vector: randomVector(random) };
        await collection.upsert([fresh]);
        truth.set(fresh.id, fresh.vector);
        const victim = `v${random.integer(COUNT)}`;
        if ((await collection.delete([victim])) === 1) truth.delete(victim);
        const query = random.next() < 0.5 ? fresh.vector : randomVector(random);
        // A graph is served only after its file was renamed into place: before that, queries are exact.
        const files = await readdir(join(dir, "index"));
        const graphless = files.every((file) => !file.endsWith(".hnsw"));
        mostTemporaryFiles = Math.max(
          mostTemporaryFiles,
          files.filter((file) => file.includes(".tmp-")).length,
        );
        const hits = (await collection.query({ vector: query, k: 10 })).map((hit) => hit.id);
        if (graphless) {
          expect(hits).toEqual(await truth.top(query, 10));
          queriesDuringBuild++;
        }
        expect(hits).not.toContain(victim);
        if (fresh.vector === query) expect(hits[0]).toBe(fresh.id);
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
      await building;
      histogram.disable();
      const p99 = histogram.percentile(99) / 1e6;
      // The measurement covered the build, and the build was alone.
      expect(queriesDuringBuild).toBeGreaterThanOrEqual(3);
      expect(mostTemporaryFiles).toBeLessThanOrEqual(1);
      // < 50 ms on a quiet machine; on a loaded one, within 50 ms of what the machine shows idle.
      expect(p99, `event-loop delay p99 ${p99.toFixed(1)} ms (idle ${idleP99.toFixed(1)} ms)`).toBeLessThan(
        Math.max(50, idleP99 + 50),
      );
      expect((await readdir(join(dir, "index"))).filter((file) => file.endsWith(".hnsw"))).toHaveLength(1);

      // Now through the graph plus the rows written during the build: the writes are found, the deletes gone.
      let found = 0;
      for (let i = 0; i < serial; i++) {
        const id = `new${i}`;
        const hits = (await collection.query({ vector: truth.vector(id) as Float32Array, k: 10 })).map(
          (hit) => hit.id,
        );
        if (hits[0] === id) found++;
        for (const hit of hits) expect(truth.has(hit)).toBe(true);
      }
      expect(found).toBe(serial);

      // More writes than the catch-up threshold: the next query starts a catch-up build from the snapshot.
      const [before] = (await readdir(join(dir, "index"))).filter((file) => file.endsWith(".hnsw"));
      await ingest(
        collection,
        truth,
        Array.from({ length: 2000 }, (_, i) => ({ id: `late${i}`, vector: randomVector(random) })),
      );
      const probe = truth.vector("late7") as Float32Array;
      expect((await collection.query({ vector: probe, k: 1 }))[0]?.id).toBe("late7");
      await store.waitForIndexBuilds();
      const after = (await readdir(join(dir, "index"))).filter((file) => file.endsWith(".hnsw"));
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before);
      expect((await collection.query({ vector: probe, k: 1 }))[0]?.id).toBe("late7");
    } finally {
      await store.close();
    }
  });

  it("close() cancels a running build: no temp file is left, and the next open builds again", async () => {
    const random = createRandom(7);
    const truth = new Truth();
    let store = await openEmbeddedStore({ path: dir, durability: "normal", annThreshold: 1000 });
    const collection = await store.createCollection("cancel", { model: "m", dims: DIMS });
    await ingest(
      collection,
      truth,
      Array.from({ length: 5000 }, (_, i) => ({ id: `v${i}`, vector: randomVector(random) })),
    );
    const query = randomVector(random);
    expect((await collection.query({ vector: query, k: 5 })).map((hit) => hit.id)).toEqual(
      await truth.top(query, 5),
    );
    await store.close();
    expect(await readdir(join(dir, "index"))).toEqual([]);
    await expect(collection.query({ vector: query, k: 5 })).rejects.toEqual(
      expect.objectContaining({ code: "CLOSED" }),
    );
    store = await openEmbeddedStore({ path: dir, durability: "normal", annThreshold: 1000 });
    try {
      const reopened = await store.getCollection("cancel");
      expect((await reopened.query({ vector: query, k: 5 })).map((hit) => hit.id)).toEqual(
        await truth.top(query, 5),
      );
      await store.waitForIndexBuilds();
      expect((await readdir(join(dir, "index"))).filter((file) => file.endsWith(".hnsw"))).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it("reports a failed build as an EmbedkitError naming the collection, and keeps answering exactly", async () => {
    const random = createRandom(11);
    const truth = new Truth();
    const store = await openEmbeddedStore({ path: dir, durability: "normal", annThreshold: 1000 });
    try {
      const collection = await store.createCollection("broken", { model: "m", dims: DIMS });
      await ingest(
        collection,
        truth,
        Array.from({ length: 3000 }, (_, i) => ({ id: `v${i}`, vector: randomVector(random) })),
      );
      // The index folder is replaced by a file: the build cannot write its graph.
      await rm(join(dir, "index"), { recursive: true });
      await writeFile(join(dir, "index"), "not a folder");
      const query = randomVector(random);
      expect((await collection.query({ vector: query, k: 10 })).map((hit) => hit.id)).toEqual(
        await truth.top(query, 10),
      );
      const failure = await store.waitForIndexBuilds().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toEqual(expect.objectContaining({ code: "STORE_UNAVAILABLE" }));
      expect((failure as Error).message).toContain('collection "broken"');
      expect((failure as Error).message).toContain("exact search");
      // Still exact, no new build piling up (retried only after a pause); the error is reported once.
      expect((await collection.query({ vector: query, k: 10 })).map((hit) => hit.id)).toEqual(
        await truth.top(query, 10),
      );
      await expect(store.waitForIndexBuilds()).resolves.toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
