/**
 * @module store/vector-store
 * The VectorStore contract shared by every backend (the embedded on-disk store,
 * PostgreSQL + pgvector). Types only, no behaviour: validation lives in
 * `store/validate.ts`, the filter language in `store/filter.ts`, and every
 * backend runs the same conformance suite (`test/store/store-suite.ts`).
 *
 * A store holds named collections. A collection remembers the model that
 * produced its vectors (id, dims, pooling, normalization) and the similarity
 * metric; vectors from another model are refused with MODEL_MISMATCH whenever
 * the caller says which model embedded them.
 */
import type { Pooling } from "../models/model-spec.js";

/** A metadata value: flat JSON scalars only (no nested objects or arrays). */
export type MetadataValue = string | number | boolean | null;

/**
 * Metadata of one item: a flat object of scalars. Keys match
 * {@link METADATA_KEY_PATTERN}; numbers must be finite.
 */
export type Metadata = Readonly<Record<string, MetadataValue>>;

/** How vectors of a collection are compared. */
export type VectorMetric = "cosine" | "dot" | "euclidean";

/** Metrics every backend supports, in documentation order. */
export const VECTOR_METRICS: readonly VectorMetric[] = Object.freeze(["cosine", "dot", "euclidean"]);

/** Collection names: 1–64 characters, letters, digits, `_` and `-`, starting with a letter or digit. */
export const COLLECTION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Metadata keys (and filter fields): a letter or `_`, then letters, digits, `_`, `.` or `-`; at most 64. */
export const METADATA_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/** Limits every backend enforces (checked in `store/validate.ts`). */
export const STORE_LIMITS = Object.freeze({
  /** Longest id, in UTF-8 bytes. */
  maxIdBytes: 512,
  /** Most metadata keys per item. */
  maxMetadataKeys: 64,
  /** Longest string metadata value, in UTF-8 bytes. */
  maxMetadataValueBytes: 8192,
  /** Largest `k` of a query. */
  maxK: 1000,
  /** Most items per upsert/get/delete call. */
  maxBatchItems: 10_000,
  /** Largest vector dimension. */
  maxDims: 16_384,
} as const);

/** What a collection is built with; fixed at creation. */
export interface CollectionSpec {
  /** Id of the model that embeds this collection's vectors (e.g. `all-minilm-l6-v2`). */
  readonly model: string;
  /** Vector dimensions; every upserted and query vector must have exactly this many. */
  readonly dims: number;
  /** Pooling of the model (informational; part of the model's identity). @default "mean" */
  readonly pooling?: Pooling;
  /** Whether the model's vectors are unit length. @default true */
  readonly normalized?: boolean;
  /** Similarity used for search. @default "cosine" */
  readonly metric?: VectorMetric;
}

/** A collection's facts as stored: the spec with defaults filled in, plus name and creation time. */
export interface CollectionInfo {
  readonly name: string;
  readonly model: string;
  readonly dims: number;
  readonly pooling: Pooling;
  readonly normalized: boolean;
  readonly metric: VectorMetric;
  /** ISO-8601 UTC creation time. */
  readonly createdAt: string;
}

/** {@link CollectionInfo} plus the current number of items. */
export interface CollectionStats extends CollectionInfo {
  readonly count: number;
}

/** One item to upsert. */
export interface Item {
  /** Unique within the collection; any non-empty string (stored literally, never interpreted). */
  readonly id: string;
  /** The vector; `number[]` is accepted at the edge and stored as float32. */
  readonly vector: Float32Array | readonly number[];
  /** Filterable metadata. @default {} */
  readonly metadata?: Metadata;
  /** The source text (returned with hits; not searched). */
  readonly text?: string;
}

/** An item as read back from a collection. */
export interface StoredItem {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata: Metadata;
  /** Absent when the item was stored without text. */
  readonly text?: string;
}

/** Comparison operators of a filter condition. */
export type FilterOperator = "eq" | "ne" | "in" | "nin" | "lt" | "lte" | "gt" | "gte";

/**
 * One condition on a metadata field.
 * - `eq`/`ne`/`in`/`nin` compare with strict JSON equality (`1` ≠ `"1"`); `ne` and
 *   `nin` also match items that lack the field.
 * - `lt`/`lte`/`gt`/`gte` compare numbers; items whose field is missing or not a
 *   number never match.
 */
export type FilterCondition =
  | { readonly field: string; readonly op: "eq" | "ne"; readonly value: MetadataValue }
  | { readonly field: string; readonly op: "in" | "nin"; readonly values: readonly MetadataValue[] }
  | { readonly field: string; readonly op: "lt" | "lte" | "gt" | "gte"; readonly value: number };

/**
 * A metadata filter: all conditions must hold (AND). An empty list matches
 * everything. The string form (`lang=zh,year>=2020`) is parsed by `parseFilter`.
 */
export type Filter = readonly FilterCondition[];

/** A nearest-neighbour query. */
export interface Query {
  /** The query vector (same dims as the collection). */
  readonly vector: Float32Array | readonly number[];
  /** How many hits to return, 1..{@link STORE_LIMITS}.maxK. */
  readonly k: number;
  /** Only items matching this filter (object form or the string syntax). */
  readonly filter?: Filter | string;
  /**
   * Id of the model that embedded `vector`. When given and different from the
   * collection's model, the query is refused with MODEL_MISMATCH.
   */
  readonly model?: string;
  /** Force an exhaustive (exact) scan instead of the ANN index. @default false */
  readonly exact?: boolean;
  /** Return each hit's stored vector. @default false */
  readonly includeVectors?: boolean;
}

/** One search result. */
export interface Hit {
  readonly id: string;
  /**
   * Higher is closer: cosine similarity (`cosine`), dot product (`dot`), or the
   * negated Euclidean distance (`euclidean`).
   */
  readonly score: number;
  readonly metadata: Metadata;
  readonly text?: string;
  /** Only with `includeVectors: true`. */
  readonly vector?: Float32Array;
}

/** Options of {@link Collection.upsert}. */
export interface UpsertOptions {
  /**
   * Id of the model that embedded the vectors. When given and different from the
   * collection's model, the call is refused with MODEL_MISMATCH.
   */
  readonly model?: string;
}

/**
 * A handle on one collection. Operations after the collection was dropped
 * throw UNKNOWN_COLLECTION; after the store was closed, CLOSED.
 */
export interface Collection {
  readonly name: string;
  /** The collection's fixed facts. */
  readonly info: CollectionInfo;
  /**
   * Insert or replace items by id, atomically: the whole batch is validated
   * first (dims, finite numbers, unique ids, metadata) and either all items are
   * written or none. When the promise resolves, the write is durable.
   * @throws EmbedkitError DIMENSION_MISMATCH, INVALID_INPUT, MODEL_MISMATCH, UNKNOWN_COLLECTION
   */
  upsert(items: readonly Item[], options?: UpsertOptions): Promise<void>;
  /** The items with these ids that exist, in the order of `ids` (missing ids are skipped). */
  get(ids: readonly string[]): Promise<StoredItem[]>;
  /** Delete items by id; returns how many existed. Durable when resolved. */
  delete(ids: readonly string[]): Promise<number>;
  /**
   * The `k` items closest to `query.vector` that match `query.filter`, best first
   * (ties: lower id first).
   * @throws EmbedkitError DIMENSION_MISMATCH, INVALID_INPUT, INVALID_OPTION (k), INVALID_FILTER, MODEL_MISMATCH
   */
  query(query: Query): Promise<Hit[]>;
  /** Number of items (matching `filter`, when given). */
  count(filter?: Filter | string): Promise<number>;
  /** The collection's facts with its current item count. */
  stats(): Promise<CollectionStats>;
  /**
   * One page of items in id order (byte order of the UTF-8 ids), starting after `page.after`:
   * walk a whole collection by passing the last id of each page as the next `after`.
   * @throws EmbedkitError INVALID_OPTION (limit outside 1…maxBatchItems), INVALID_INPUT (after), UNKNOWN_COLLECTION
   */
  list(page: ListPage): Promise<StoredItem[]>;
  /**
   * A token that changes whenever the collection's items change (and when it is dropped and
   * re-created), for caches of derived data such as projections: equal tokens mean equal items
   * (a backend may return an earlier token when the items are back to that exact state).
   * @throws EmbedkitError UNKNOWN_COLLECTION
   */
  version(): Promise<string>;
}

/** Which page {@link Collection.list} returns. */
export interface ListPage {
  /** Items with ids after this one (exclusive); from the start when absent. */
  readonly after?: string;
  /** Most items returned (1 to `STORE_LIMITS.maxBatchItems`). */
  readonly limit: number;
}

/**
 * A set of named collections on one backend.
 *
 * @example
 * ```ts
 * const store = await openVectorStore();              // embedded, under EMBEDKIT_HOME
 * const docs = await store.createCollection("docs", { model: "all-minilm-l6-v2", dims: 384 });
 * await docs.upsert([{ id: "a", vector, metadata: { lang: "en" } }]);
 * const hits = await docs.query({ vector, k: 5, filter: "lang=en" });
 * await store.close();
 * ```
 */
export interface VectorStore {
  /** Backend name (`embedded`, `pgvector`). */
  readonly backend: string;
  /** Where the data lives, for messages (a path or a URL without password). */
  readonly location: string;
  /**
   * Create a collection.
   * @throws EmbedkitError COLLECTION_EXISTS, INVALID_INPUT (name), INVALID_OPTION (spec)
   */
  createCollection(name: string, spec: CollectionSpec): Promise<Collection>;
  /** Open an existing collection. @throws EmbedkitError UNKNOWN_COLLECTION */
  getCollection(name: string): Promise<Collection>;
  /** Every collection with its item count, sorted by name. */
  listCollections(): Promise<CollectionStats[]>;
  /** Delete a collection and all its items. @throws EmbedkitError UNKNOWN_COLLECTION */
  dropCollection(name: string): Promise<void>;
  /** Release files, indexes and connections. Idempotent; later calls throw CLOSED. */
  close(): Promise<void>;
}
