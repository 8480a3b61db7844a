/** The embedded store (SQLite + HNSW) against the shared conformance suite, plus its own recovery paths. */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type IndexBuildMode, openEmbeddedStore } from "../../src/store/embedded-store.js";
import type { VectorStore } from "../../src/store/vector-store.js";
import { runVectorStoreSuite, type VectorStoreFactory } from "./store-suite.js";

/** A fresh store folder; `reopen` opens another instance on it; `cleanup` closes all and deletes it. */
function embeddedFixture(
  annThreshold: number,
  indexBuild: IndexBuildMode = "background",
  buildWorkers?: 1 | 2,
): VectorStoreFactory {
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), "embedkit-store-"));
    const opened: VectorStore[] = [];
    const open = async () => {
      const store = await openEmbeddedStore({
        path: dir,
        annThreshold,
        indexBuild,
        ...(buildWorkers === undefined ? {} : { buildWorkers }),
      });
      opened.push(store);
      return store;
    };
    return {
      store: await open(),
      reopen: open,
      cleanup: async () => {
        for (const store of opened) await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  };
}

runVectorStoreSuite("embedded (ANN above 1,000 items, built in a worker)", embeddedFixture(1000));
runVectorStoreSuite(
  "embedded (ANN above 1,000 items, built inside the query)",
  embeddedFixture(1000, "blocking"),
);
runVectorStoreSuite(
  "embedded (ANN above 1,000 items, two shards built in two workers)",
  embeddedFixture(1000, "background", 2),
);
runVectorStoreSuite("embedded (exact scan only)", embeddedFixture(1_000_000));

describe("embedded store: files, recovery and several processes", () => {
  let dir: string;
  const vectors = Array.from({ length: 1500 }, (_, i) =>
    Float32Array.from({ length: 8 }, (_, j) => Math.sin(i * 0.37 + j * 1.3) + Math.cos(i * 0.11 * (j + 1))),
  );
  const items = vectors.map((vector, i) => ({ id: `e${i}`, vector, metadata: { even: i % 2 === 0 } }));
  const open = () => openEmbeddedStore({ path: dir, annThreshold: 1000 });
  const snapshots = async () => (await readdir(join(dir, "index"))).filter((file) => file.endsWith(".hnsw"));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "embedkit-store-files-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("snapshots the HNSW graph a query's background build made, and rebuilds from SQLite when the snapshot is truncated or corrupted", async () => {
    let store = await open();
    const collection = await store.createCollection("files", { model: "m", dims: 8 });
    await collection.upsert(items);
    const probe = vectors[42] as Float32Array;
    const expected = (await collection.query({ vector: probe, k: 10 })).map((hit) => hit.id);
    // The query started the build; once it is done its snapshot is on disk.
    await store.waitForIndexBuilds();
    await store.close();
    const [file] = await snapshots();
    expect(file).toMatch(/^\d+-\d+\.hnsw$/);
    const path = join(dir, "index", file as string);
    const good = await readFile(path);
    for (const damage of [
      (bytes: Buffer) => bytes.subarray(0, bytes.length >> 1),
      (bytes: Buffer) => Buffer.concat([bytes.subarray(0, 100), Buffer.alloc(bytes.length - 100, 0xff)]),
    ]) {
      await writeFile(path, damage(good));
      store = await open();
      const reopened = await store.getCollection("files");
      expect((await reopened.query({ vector: probe, k: 10 })).map((hit) => hit.id)).toEqual(expected);
      expect(await reopened.count()).toBe(1500);
      await store.waitForIndexBuilds();
      await store.close();
      // The damaged file was replaced by a fresh, complete snapshot.
      const [rewritten] = await snapshots();
      expect((await readFile(join(dir, "index", rewritten as string))).length).toBe(good.length);
    }
  });

  it("refuses a folder whose store.db is not an embedkit store, without touching it", async () => {
    const garbage = Buffer.from("this is not a SQLite database at all, just bytes".repeat(100));
    await writeFile(join(dir, "store.db"), garbage);
    await expect(open()).rejects.toEqual(expect.objectContaining({ code: "CORRUPT_STORE" }));
    expect(await readFile(join(dir, "store.db"))).toEqual(garbage);
  });

  it("keeps two store instances on one folder consistent (writes, deletes, drops)", async () => {
    const writer = await open();
    const reader = await open();
    try {
      const written = await writer.createCollection("shared", { model: "m", dims: 8 });
      await written.upsert(items);
      const read = await reader.getCollection("shared");
      expect(await read.count()).toBe(1500);
      expect((await read.query({ vector: vectors[7] as Float32Array, k: 1 }))[0]?.id).toBe("e7");
      await written.delete(["e7"]);
      await written.upsert([{ id: "late", vector: vectors[7] as Float32Array, metadata: { even: true } }]);
      const after = await read.query({ vector: vectors[7] as Float32Array, k: 3 });
      expect(after[0]?.id).toBe("late");
      expect(after.map((hit) => hit.id)).not.toContain("e7");
      expect(await read.count("even=true")).toBe(751);
      await writer.dropCollection("shared");
      await expect(read.count()).rejects.toEqual(expect.objectContaining({ code: "UNKNOWN_COLLECTION" }));
      // Re-created under the same name: the old handle still refers to the dropped one.
      await writer.createCollection("shared", { model: "m", dims: 8 });
      await expect(read.count()).rejects.toEqual(expect.objectContaining({ code: "UNKNOWN_COLLECTION" }));
      expect(await (await reader.getCollection("shared")).count()).toBe(0);
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it("validates its options", async () => {
    await expect(openEmbeddedStore({ path: dir, annThreshold: 0 })).rejects.toEqual(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
    await expect(openEmbeddedStore({ path: dir, durability: "sometimes" as "full" })).rejects.toEqual(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
    await expect(openEmbeddedStore({ path: dir, indexBuild: "later" as "background" })).rejects.toEqual(
      expect.objectContaining({ code: "INVALID_OPTION", message: expect.stringContaining("indexBuild") }),
    );
  });
});
