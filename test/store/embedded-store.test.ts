/** The embedded store (SQLite + HNSW) against the shared conformance suite, plus its own recovery paths. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedStore } from "../../src/store/embedded-store.js";
import { runVectorStoreSuite } from "./store-suite.js";

runVectorStoreSuite("embedded (ANN above 1,000 items)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "embedkit-store-"));
  const open = () => openEmbeddedStore({ path: dir, annThreshold: 1000 });
  const opened: Awaited<ReturnType<typeof open>>[] = [];
  const track = async () => {
    const store = await open();
    opened.push(store);
    return store;
  };
  return {
    store: await track(),
    reopen: track,
    cleanup: async () => {
      for (const store of opened) await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

runVectorStoreSuite("embedded (exact scan only)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "embedkit-store-"));
  const open = () => openEmbeddedStore({ path: dir, annThreshold: 1_000_000 });
  const opened: Awaited<ReturnType<typeof open>>[] = [];
  const track = async () => {
    const store = await open();
    opened.push(store);
    return store;
  };
  return {
    store: await track(),
    reopen: track,
    cleanup: async () => {
      for (const store of opened) await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
