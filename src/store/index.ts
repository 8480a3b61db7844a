/**
 * @module store
 * Vector collections: the {@link VectorStore} contract, the embedded on-disk
 * backend, the backend registry, the filter language and shared validation.
 * Re-exports only.
 */
export {
  collectionSpecFor,
  type Document,
  ensureCollection,
  type IndexDocumentsOptions,
  type IndexDocumentsResult,
  type IndexProgress,
  indexDocuments,
  type SearchTextOptions,
  searchText,
} from "./documents.js";
export {
  defaultStorePath,
  type EmbeddedStoreOptions,
  type EmbeddedVectorStore,
  type IndexBuildMode,
  openEmbeddedStore,
} from "./embedded/index.js";
export { FILTER_LIMITS, MAX_FILTER_LENGTH, matchesFilter, parseFilter, resolveFilter } from "./filter.js";
export {
  type OpenVectorStoreOptions,
  openVectorStore,
  redactUrl,
  VECTOR_STORE_BACKENDS,
  type VectorStoreOpener,
} from "./open-vector-store.js";
export type { PgVectorStoreOptions } from "./pgvector-store.js";
export { DEFAULT_HNSW, type HnswParameters } from "./vector-index.js";
export {
  COLLECTION_NAME_PATTERN,
  type Collection,
  type CollectionInfo,
  type CollectionSpec,
  type CollectionStats,
  type Filter,
  type FilterCondition,
  type FilterOperator,
  type Hit,
  type Item,
  METADATA_KEY_PATTERN,
  type Metadata,
  type MetadataValue,
  type Query,
  STORE_LIMITS,
  type StoredItem,
  type UpsertOptions,
  VECTOR_METRICS,
  type VectorMetric,
  type VectorStore,
} from "./vector-store.js";
