/**
 * @module store/documents
 * Text in, text out on top of a {@link VectorStore}: index documents (embed
 * their text with an {@link Embedder} and upsert them, idempotent and
 * resumable by id) and search a collection with a text query. The collection
 * remembers its model, so indexing or searching with another model is refused
 * (MODEL_MISMATCH) instead of silently mixing incomparable vectors.
 */
import type { Embedder, ModelInfo } from "../embed/embedder.js";
import { describeType, EmbedkitError } from "../errors.js";
import { checkModel, validateId } from "./validate.js";
import type {
  Collection,
  CollectionSpec,
  Filter,
  Hit,
  Metadata,
  VectorMetric,
  VectorStore,
} from "./vector-store.js";

/** One document to index. */
export interface Document {
  /** Unique id; indexing the same id again replaces (or, when unchanged, skips) it. */
  readonly id: string;
  /** The text that is embedded and returned with hits. */
  readonly text: string;
  /** Filterable metadata. @default {} */
  readonly metadata?: Metadata;
}

/** Progress of {@link indexDocuments}, reported after each batch. */
export interface IndexProgress {
  /** Documents handled so far (embedded or skipped). */
  readonly done: number;
  readonly total: number;
  readonly embedded: number;
  readonly skipped: number;
}

/** Options of {@link indexDocuments}. */
export interface IndexDocumentsOptions {
  /** Documents embedded and upserted per step (one transaction each). @default 64 */
  readonly batchSize?: number;
  /** Called after each batch. */
  readonly onProgress?: (progress: IndexProgress) => void;
  /** Stops between batches; batches already written stay written. */
  readonly signal?: AbortSignal;
  /** Truncate over-long texts to the model's limit; when false they fail with INPUT_TOO_LONG. @default true */
  readonly truncate?: boolean;
  /**
   * Called with each batch before it is compared with the stored items: returns the documents to
   * store, the same ids in the same order — e.g. with an image's thumbnail added to its metadata
   * (`embedkit index --modality image`). A throw stops indexing before the batch is written.
   */
  readonly prepare?: (batch: readonly Document[]) => Promise<readonly Document[]>;
}

/** What {@link indexDocuments} did. */
export interface IndexDocumentsResult {
  readonly total: number;
  /** Documents embedded and written (new or changed). */
  readonly embedded: number;
  /** Documents already present with the same text and metadata. */
  readonly skipped: number;
  /** Embedding tokens used. */
  readonly tokens: number;
}

/** Options of {@link searchText}. */
export interface SearchTextOptions {
  /** Number of hits. @default 10 */
  readonly k?: number;
  /** Metadata filter (string syntax or object form). */
  readonly filter?: Filter | string;
  /** Exhaustive search instead of the ANN index. @default false */
  readonly exact?: boolean;
}

/** The collection spec that matches an embedder's model (id, dims, pooling, normalization). */
export function collectionSpecFor(model: ModelInfo, metric: VectorMetric = "cosine"): CollectionSpec {
  return {
    model: model.id,
    dims: model.dims,
    pooling: model.pooling === "cls" ? "cls" : "mean",
    normalized: model.normalize,
    metric,
  };
}

/**
 * Open a collection, creating it for `model` when it does not exist.
 * @throws EmbedkitError MODEL_MISMATCH when it exists but was built with another model or dims
 */
export async function ensureCollection(
  store: VectorStore,
  name: string,
  model: ModelInfo,
): Promise<Collection> {
  let collection: Collection;
  try {
    collection = await store.getCollection(name);
  } catch (error) {
    if (!(EmbedkitError.isInstance(error) && error.code === "UNKNOWN_COLLECTION")) throw error;
    try {
      return await store.createCollection(name, collectionSpecFor(model));
    } catch (raced) {
      // Another process created it in between: use theirs (checked below).
      if (!(EmbedkitError.isInstance(raced) && raced.code === "COLLECTION_EXISTS")) throw raced;
      collection = await store.getCollection(name);
    }
  }
  checkModel(collection.info, model.id, "embedder's");
  return collection;
}

/** Metadata as a string in which key order does not matter (for "unchanged" checks). */
function canonical(metadata: Metadata): string {
  return JSON.stringify(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function validateDocuments(documents: readonly Document[]): void {
  if (!Array.isArray(documents)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `documents must be an array, received ${describeType(documents)}.`,
    );
  }
  const seen = new Map<string, number>();
  documents.forEach((document: unknown, index) => {
    if (typeof document !== "object" || document === null) {
      throw new EmbedkitError("INVALID_INPUT", `documents[${index}] must be an object { id, text }.`);
    }
    const { id, text } = document as Document;
    validateId(id, `documents[${index}]`);
    if (typeof text !== "string" || text.trim() === "") {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `documents[${index}] (id ${JSON.stringify(id)}): text must be a non-empty string, received ${describeType(text)}.`,
      );
    }
    const first = seen.get(id);
    if (first !== undefined) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Duplicate document id ${JSON.stringify(id)} (documents[${first}] and documents[${index}]); ids must be unique.`,
        { details: { id } },
      );
    }
    seen.set(id, index);
  });
}

async function prepareBatch(
  batch: readonly Document[],
  prepare: IndexDocumentsOptions["prepare"],
): Promise<readonly Document[]> {
  if (prepare === undefined) return batch;
  const prepared = await prepare(batch);
  if (prepared.length !== batch.length || prepared.some((document, i) => document.id !== batch[i]?.id)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "indexDocuments: options.prepare must return the batch's documents with the same ids in the same order.",
    );
  }
  return prepared;
}

/**
 * Embed and upsert documents into a collection, batch by batch. Idempotent and
 * resumable: a document whose id is already stored with the same text and
 * metadata is skipped without embedding, so re-running an interrupted job only
 * embeds what is missing or changed. Every document is validated before the
 * first batch; each batch is one atomic, durable upsert.
 *
 * @throws EmbedkitError MODEL_MISMATCH when `embedder` is not the collection's model;
 *   INVALID_INPUT for bad documents (nothing is written)
 * @example
 * ```ts
 * const docs = await ensureCollection(store, "docs", embedder.model);
 * await indexDocuments(docs, embedder, [{ id: "1", text: "Reset your password from Settings.", metadata: { lang: "en" } }]);
 * const hits = await searchText(docs, embedder, "how do I change my password?", { k: 3, filter: "lang=en" });
 * ```
 */
export async function indexDocuments(
  collection: Collection,
  embedder: Embedder,
  documents: readonly Document[],
  options: IndexDocumentsOptions = {},
): Promise<IndexDocumentsResult> {
  checkModel(collection.info, embedder.model.id, "embedder's");
  if (embedder.model.dims !== collection.info.dims) {
    throw new EmbedkitError(
      "MODEL_MISMATCH",
      `Collection "${collection.name}" expects ${collection.info.dims} dims but the embedder gives ${embedder.model.dims}.`,
    );
  }
  validateDocuments(documents);
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `batchSize must be a positive integer, received ${String(batchSize)}.`,
    );
  }
  let embedded = 0;
  let skipped = 0;
  let tokens = 0;
  for (let start = 0; start < documents.length; start += batchSize) {
    options.signal?.throwIfAborted();
    const batch = await prepareBatch(documents.slice(start, start + batchSize), options.prepare);
    const stored = new Map(
      (await collection.get(batch.map((document) => document.id))).map((item) => [item.id, item]),
    );
    const changed = batch.filter((document) => {
      const existing = stored.get(document.id);
      return !(
        existing !== undefined &&
        existing.text === document.text &&
        canonical(existing.metadata) === canonical(document.metadata ?? {})
      );
    });
    skipped += batch.length - changed.length;
    if (changed.length > 0) {
      const result = await embedder.embed(
        changed.map((document) => document.text),
        { inputType: "passage", ...(options.truncate === undefined ? {} : { truncate: options.truncate }) },
      );
      tokens += result.usage.tokens;
      await collection.upsert(
        changed.map((document, i) => ({
          id: document.id,
          vector: result.vectors[i] as Float32Array,
          metadata: document.metadata ?? {},
          text: document.text,
        })),
        { model: embedder.model.id },
      );
      embedded += changed.length;
    }
    options.onProgress?.({
      done: Math.min(start + batchSize, documents.length),
      total: documents.length,
      embedded,
      skipped,
    });
  }
  return { total: documents.length, embedded, skipped, tokens };
}

/**
 * Search a collection with a text query embedded by the collection's model
 * (with the model's query prefix, e.g. e5's `query: `).
 *
 * @throws EmbedkitError MODEL_MISMATCH when `embedder` is not the collection's model;
 *   INVALID_FILTER, INVALID_OPTION (k), INVALID_INPUT (empty query)
 */
export async function searchText(
  collection: Collection,
  embedder: Embedder,
  query: string,
  options: SearchTextOptions = {},
): Promise<Hit[]> {
  checkModel(collection.info, embedder.model.id, "query embedder's");
  if (typeof query !== "string" || query.trim() === "") {
    throw new EmbedkitError("INVALID_INPUT", "The search query must be a non-empty string.");
  }
  const { vectors } = await embedder.embed([query], { inputType: "query" });
  return collection.query({
    vector: vectors[0] as Float32Array,
    k: options.k ?? 10,
    model: embedder.model.id,
    ...(options.filter === undefined ? {} : { filter: options.filter }),
    ...(options.exact === undefined ? {} : { exact: options.exact }),
  });
}
