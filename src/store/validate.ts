/**
 * @module store/validate
 * Input checks every vector store backend runs before touching storage, so
 * all backends accept and refuse exactly the same things with the same codes
 * and messages: collection names and specs, item batches (dims, finite
 * numbers, unique ids, metadata shape), queries (k, filter) and the model guard.
 * A rejected call has changed nothing.
 */
import { describeType, EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";
import { resolveFilter } from "./filter.js";
import {
  COLLECTION_NAME_PATTERN,
  type CollectionInfo,
  type CollectionSpec,
  type Filter,
  type Item,
  type ListPage,
  METADATA_KEY_PATTERN,
  type Metadata,
  type Query,
  STORE_LIMITS,
  VECTOR_METRICS,
} from "./vector-store.js";

/** Lone UTF-16 surrogates cannot be stored as UTF-8 (PostgreSQL rejects them); NUL neither. */
const LONE_SURROGATE = /\p{Surrogate}/u;

function unstorable(text: string): boolean {
  return text.includes("\0") || LONE_SURROGATE.test(text);
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** @throws EmbedkitError INVALID_INPUT unless `name` matches {@link COLLECTION_NAME_PATTERN} */
export function validateCollectionName(name: unknown): string {
  if (typeof name !== "string" || !COLLECTION_NAME_PATTERN.test(name)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Invalid collection name ${JSON.stringify(name)}: use 1–64 letters, digits, "_" or "-", starting with a letter or digit.`,
      { details: { name } },
    );
  }
  return name;
}

/**
 * Fill in a collection spec's defaults and check it.
 * @throws EmbedkitError INVALID_OPTION naming the bad field
 */
export function resolveCollectionSpec(name: string, spec: CollectionSpec, createdAt: Date): CollectionInfo {
  const bad = (field: string, expected: string, received: unknown): never => {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Collection "${name}": ${field} must be ${expected}, received ${JSON.stringify(received) ?? describeType(received)}.`,
      { details: { field } },
    );
  };
  if (typeof spec !== "object" || spec === null) bad("the spec", "an object { model, dims }", spec);
  if (typeof spec.model !== "string" || spec.model.trim() === "" || spec.model.length > 256) {
    bad("model", "a non-empty model id (at most 256 characters)", spec.model);
  }
  if (!Number.isInteger(spec.dims) || spec.dims < 1 || spec.dims > STORE_LIMITS.maxDims) {
    bad("dims", `an integer in 1..${STORE_LIMITS.maxDims}`, spec.dims);
  }
  const pooling = spec.pooling ?? "mean";
  if (pooling !== "mean" && pooling !== "cls") bad("pooling", '"mean" or "cls"', pooling);
  const normalized = spec.normalized ?? true;
  if (typeof normalized !== "boolean") bad("normalized", "a boolean", normalized);
  const metric = spec.metric ?? "cosine";
  if (!VECTOR_METRICS.includes(metric))
    bad("metric", VECTOR_METRICS.map((m) => `"${m}"`).join(" or "), metric);
  return {
    name,
    model: spec.model,
    dims: spec.dims,
    pooling,
    normalized,
    metric,
    createdAt: createdAt.toISOString(),
  };
}

/**
 * Refuse vectors from another model.
 * @throws EmbedkitError MODEL_MISMATCH when `model` is given and differs from the collection's
 */
export function checkModel(info: CollectionInfo, model: string | undefined, what: string): void {
  if (model === undefined || model === info.model) return;
  throw new EmbedkitError(
    "MODEL_MISMATCH",
    `Collection "${info.name}" was built with model "${info.model}" (${info.dims} dims, ${info.pooling} pooling), ` +
      `but the ${what} vectors come from "${model}". Vectors of different models are not comparable: ` +
      `embed with "${info.model}", or index into a new collection for "${model}".`,
    { details: { collection: info.name, expected: info.model, received: model } },
  );
}

/**
 * Check one vector against the collection's dims and copy it to a Float32Array.
 * @throws EmbedkitError INVALID_INPUT (not a vector, NaN/Infinity), DIMENSION_MISMATCH
 */
export function toCollectionVector(info: CollectionInfo, vector: unknown, where: string): Float32Array {
  if (!(vector instanceof Float32Array) && !Array.isArray(vector)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${where}: vector must be a Float32Array or number[], received ${describeType(vector)}.`,
    );
  }
  if (vector.length !== info.dims) {
    throw new EmbedkitError(
      "DIMENSION_MISMATCH",
      `${where}: vector has ${vector.length} dimensions, but collection "${info.name}" expects ${info.dims} ` +
        `(model "${info.model}"). Embed with that model, or use a collection built for these vectors.`,
      { details: { expected: info.dims, received: vector.length, collection: info.name } },
    );
  }
  const out = new Float32Array(info.dims);
  for (let i = 0; i < info.dims; i++) {
    const x = vector[i] as unknown;
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${where}: vector[${i}] is ${typeof x === "number" ? String(x) : describeType(x)}; every component must be a finite number.`,
        { details: { index: i } },
      );
    }
    out[i] = x;
    if (!Number.isFinite(out[i] as number)) {
      throw new EmbedkitError("INVALID_INPUT", `${where}: vector[${i}] = ${x} overflows float32.`, {
        details: { index: i },
      });
    }
  }
  return out;
}

/** Check an id (used by upsert, get, delete). @throws EmbedkitError INVALID_INPUT */
export function validateId(id: unknown, where: string): string {
  if (typeof id !== "string" || id === "") {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${where}: id must be a non-empty string, received ${describeType(id)}.`,
    );
  }
  if (utf8Bytes(id) > STORE_LIMITS.maxIdBytes) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${where}: id is ${utf8Bytes(id)} bytes; the limit is ${STORE_LIMITS.maxIdBytes} (UTF-8).`,
    );
  }
  if (unstorable(id)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${where}: id contains a NUL character or a lone UTF-16 surrogate.`,
    );
  }
  return id;
}

function validateMetadata(metadata: unknown, where: string): Metadata {
  if (metadata === undefined) return {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${where}: metadata must be a flat object, received ${describeType(metadata)}.`,
    );
  }
  const entries = Object.entries(metadata);
  if (entries.length > STORE_LIMITS.maxMetadataKeys) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${where}: metadata has ${entries.length} keys; the limit is ${STORE_LIMITS.maxMetadataKeys}.`,
    );
  }
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of entries) {
    if (!METADATA_KEY_PATTERN.test(key)) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${where}: metadata key ${JSON.stringify(key)} is invalid; use letters, digits, "_", "." or "-", starting with a letter or "_" (at most 64).`,
      );
    }
    const ok =
      value === null ||
      typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value)) ||
      typeof value === "string";
    if (!ok) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${where}: metadata.${key} must be a string, finite number, boolean or null, received ${
          typeof value === "number" ? String(value) : describeType(value)
        }.`,
      );
    }
    if (typeof value === "string") {
      if (utf8Bytes(value) > STORE_LIMITS.maxMetadataValueBytes) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `${where}: metadata.${key} is ${utf8Bytes(value)} bytes; the limit is ${STORE_LIMITS.maxMetadataValueBytes}.`,
        );
      }
      if (unstorable(value)) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `${where}: metadata.${key} contains a NUL character or a lone UTF-16 surrogate.`,
        );
      }
    }
    out[key] = value as string | number | boolean | null;
  }
  return out;
}

/** An item after validation: vector copied to float32, metadata defaulted. */
export interface ValidItem {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata: Metadata;
  readonly text: string | undefined;
}

function checkBatch(values: unknown, what: string): asserts values is readonly unknown[] {
  if (!Array.isArray(values)) {
    throw new EmbedkitError("INVALID_INPUT", `${what} must be an array, received ${describeType(values)}.`);
  }
  if (values.length > STORE_LIMITS.maxBatchItems) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${what} has ${values.length} entries; the limit per call is ${STORE_LIMITS.maxBatchItems}. Split it into batches.`,
    );
  }
}

/**
 * Validate a whole upsert batch before anything is written.
 * @throws EmbedkitError INVALID_INPUT (shape, NaN/Infinity, duplicate ids, metadata), DIMENSION_MISMATCH
 */
export function validateItems(info: CollectionInfo, items: readonly Item[]): ValidItem[] {
  checkBatch(items, "items");
  const seen = new Map<string, number>();
  return items.map((item: unknown, index) => {
    const where = `items[${index}]`;
    if (typeof item !== "object" || item === null) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${where} must be an object { id, vector }, received ${describeType(item)}.`,
      );
    }
    const { id, vector, metadata, text } = item as Item;
    validateId(id, where);
    const first = seen.get(id);
    if (first !== undefined) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Duplicate id ${JSON.stringify(id)} in one batch (items[${first}] and ${where}); an upsert batch must have unique ids.`,
        { details: { id, first, second: index } },
      );
    }
    seen.set(id, index);
    if (text !== undefined && (typeof text !== "string" || unstorable(text))) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${where}: text must be a string without NUL characters or lone surrogates, received ${describeType(text)}.`,
      );
    }
    return {
      id,
      vector: toCollectionVector(info, vector, `${where} (id ${JSON.stringify(id)})`),
      metadata: validateMetadata(metadata, where),
      text,
    };
  });
}

/** Validate ids of a get/delete call; duplicates are allowed and collapsed. @throws EmbedkitError INVALID_INPUT */
export function validateIds(ids: readonly string[]): string[] {
  checkBatch(ids, "ids");
  const unique = new Set<string>();
  ids.forEach((id, index) => {
    unique.add(validateId(id, `ids[${index}]`));
  });
  return [...unique];
}

/**
 * Validate the page of a `list` call.
 * @throws EmbedkitError INVALID_OPTION (limit), INVALID_INPUT (after)
 */
export function validateListPage(page: ListPage): {
  readonly after: string | undefined;
  readonly limit: number;
} {
  const limit = checkInteger("limit", page.limit, { min: 1, max: STORE_LIMITS.maxBatchItems });
  const after = page.after === undefined ? undefined : validateId(page.after, "after");
  return { after, limit };
}

/** A query after validation. */
export interface ValidQuery {
  readonly vector: Float32Array;
  readonly k: number;
  readonly filter: Filter;
  readonly exact: boolean;
  readonly includeVectors: boolean;
}

/**
 * Validate a query against a collection.
 * @throws EmbedkitError INVALID_OPTION (k), INVALID_FILTER, MODEL_MISMATCH, DIMENSION_MISMATCH, INVALID_INPUT
 */
export function validateQuery(info: CollectionInfo, query: Query): ValidQuery {
  if (typeof query !== "object" || query === null) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `A query must be an object { vector, k }, received ${describeType(query)}.`,
    );
  }
  checkModel(info, query.model, "query");
  const k = query.k;
  if (!Number.isInteger(k) || k < 1 || k > STORE_LIMITS.maxK) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `k must be an integer in 1..${STORE_LIMITS.maxK}, received ${JSON.stringify(k) ?? describeType(k)}.`,
      { details: { option: "k" } },
    );
  }
  return {
    vector: toCollectionVector(info, query.vector, "query"),
    k,
    filter: resolveFilter(query.filter),
    exact: query.exact === true,
    includeVectors: query.includeVectors === true,
  };
}
