/**
 * @module store/embedded-store
 * The embedded store's entry points, kept at this path for existing imports;
 * the implementation lives in `store/embedded/`.
 */
export {
  defaultStorePath,
  type EmbeddedStoreOptions,
  type EmbeddedVectorStore,
  type IndexBuildMode,
  openEmbeddedStore,
} from "./embedded/index.js";
