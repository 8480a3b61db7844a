/**
 * @module store/embedded
 * The embedded backend: `store.ts` (the store: CRUD, queries, catch-up),
 * `schema.ts` (SQLite schema and version check), `index-cache.ts` +
 * `build.ts` + `index-worker.ts` (HNSW graphs built off the request path) and
 * `snapshots.ts` (snapshot files and cleanup). Re-exports only.
 */
export type { IndexBuildMode } from "./index-cache.js";
export {
  defaultStorePath,
  type EmbeddedStoreOptions,
  type EmbeddedVectorStore,
  openEmbeddedStore,
} from "./store.js";
