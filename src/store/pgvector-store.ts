/**
 * @module store/pgvector-store
 * The {@link VectorStore} contract on PostgreSQL with the pgvector extension,
 * through a `pg` connection pool. Same validation (`store/validate.ts`), same
 * filter semantics (`store/filter.ts`) and the same conformance suite as the
 * embedded store, so an application moves between them by changing a URL.
 *
 * Layout, inside one schema (default `embedkit`):
 * - `collections`: one row per collection with the facts it was built with
 *   (model id, dims, pooling, normalization, metric, creation time);
 * - `items_<n>`: one table per collection, `n` being the collection's row id:
 *   `id text` (primary key, "C" collation), `embedding vector(dims)`,
 *   `metadata jsonb`, `text text`, and a GIN index on metadata. Once the
 *   collection holds `annThreshold` items, an HNSW index whose operator class
 *   follows the metric (cosine → `vector_cosine_ops`, dot → `vector_ip_ops`,
 *   euclidean → `vector_l2_ops`) is built in bulk; below that, search is an
 *   exact scan (exact and, at that size, fast; and bulk building is several
 *   times cheaper than growing the graph row by row).
 *
 * Table names never contain user input (only the numeric row id), every value
 * is a bind parameter, and every write runs in one transaction, so a failed
 * batch leaves nothing behind. See docs/STORE.md ("PostgreSQL + pgvector") for
 * why one table per collection.
 */
import pg from "pg";
import { EmbedkitError } from "../errors.js";
import { fieldWithoutNumbersError, rangeFields, resolveFilter } from "./filter.js";
import { redactUrl } from "./open-vector-store.js";
import {
  checkModel,
  resolveCollectionSpec,
  validateCollectionName,
  validateIds,
  validateItems,
  validateListPage,
  validateQuery,
} from "./validate.js";
import type {
  Collection,
  CollectionInfo,
  CollectionSpec,
  CollectionStats,
  Filter,
  Hit,
  Item,
  ListPage,
  Metadata,
  MetadataValue,
  Query,
  StoredItem,
  UpsertOptions,
  VectorMetric,
  VectorStore,
} from "./vector-store.js";

/** Options of {@link openPgVectorStore}. */
export interface PgVectorStoreOptions {
  /**
   * Connection URL: `postgres://user:password@host:port/database`; `postgresql://`
   * and `pg://` are accepted too. Query parameters understood by `pg` (e.g.
   * `sslmode`) are passed through.
   */
  readonly url: string;
  /**
   * Schema holding embedkit's tables; created when missing. Lets several
   * independent stores share one database. Lowercase letters, digits and `_`.
   * @default "embedkit"
   */
  readonly schema?: string;
  /** Most pooled connections. @default 10 */
  readonly maxConnections?: number;
  /** Milliseconds to wait for a connection before failing with STORE_UNAVAILABLE. @default 10000 */
  readonly connectTimeoutMs?: number;
  /**
   * HNSW search breadth (`hnsw.ef_search`): higher finds more of the true
   * neighbours, slower. Filtered queries and k above it keep scanning
   * (pgvector's iterative index scan, strict order). @default 100
   */
  readonly efSearch?: number;
  /**
   * Build a collection's HNSW index when an upsert brings it to this many items
   * (0: at creation). Below it, queries scan exactly. @default 10000
   */
  readonly annThreshold?: number;
  /** HNSW graph degree (`m`) for new collections. @default 16 */
  readonly hnswM?: number;
  /** HNSW build breadth (`ef_construction`) for new collections. @default 64 */
  readonly hnswEfConstruction?: number;
  /** `application_name` of the connections (visible in `pg_stat_activity`). @default "embedkit" */
  readonly applicationName?: string;
}

/** Rows per INSERT statement of an upsert (all statements of a call share one transaction). */
const UPSERT_CHUNK = 500;
/** pgvector's HNSW index supports `vector` columns of at most this many dimensions. */
const HNSW_MAX_DIMS = 2000;
/** pgvector's `vector` type holds at most this many dimensions. */
const PGVECTOR_MAX_DIMS = 16_000;
const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Per metric: pgvector distance operator, HNSW operator class, and distance → score. */
const METRIC_SQL: Readonly<
  Record<VectorMetric, { readonly operator: string; readonly opclass: string; readonly score: string }>
> = Object.freeze({
  cosine: { operator: "<=>", opclass: "vector_cosine_ops", score: "1 - distance" },
  dot: { operator: "<#>", opclass: "vector_ip_ops", score: "-distance" },
  euclidean: { operator: "<->", opclass: "vector_l2_ops", score: "-distance" },
});

/** SQLSTATEs that mean "the server is not there for us" rather than "the query is wrong". */
const UNAVAILABLE_STATES = new Set(["57P01", "57P02", "57P03", "53300", "3D000", "28000", "28P01"]);
const UNAVAILABLE_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);

function toConnectionString(url: string): string {
  return url.replace(/^(pg|postgresql):\/\//, "postgres://");
}

/** A pg error's SQLSTATE or Node errno code, when it has one. */
function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function isUnavailable(error: unknown): boolean {
  const code = errorCode(error);
  if (
    code !== undefined &&
    (UNAVAILABLE_ERRNOS.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith("08"))
  ) {
    return true;
  }
  if (error instanceof AggregateError) return error.errors.some(isUnavailable);
  const message = error instanceof Error ? error.message : "";
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
    message,
  );
}

/**
 * One place that turns driver and server errors into EmbedkitErrors: an
 * unreachable server (refused, reset, shut down, wrong password) → STORE_UNAVAILABLE
 * naming the URL without its password; anything else → INTERNAL with the SQLSTATE.
 */
function translateError(error: unknown, location: string, doing: string): EmbedkitError {
  if (EmbedkitError.isInstance(error)) return error;
  const code = errorCode(error);
  const reason = error instanceof Error && error.message !== "" ? error.message : String(code ?? error);
  if (isUnavailable(error)) {
    const hint =
      code === "28P01" || code === "28000"
        ? "Check the user name and password in the URL."
        : code === "3D000"
          ? "Create the database, or point the URL at an existing one."
          : "Start the server (scripts/pg-start.sh starts a local one) or fix the URL given with --store.";
    return new EmbedkitError(
      "STORE_UNAVAILABLE",
      `PostgreSQL at ${location} is unavailable while ${doing}: ${reason}${code && !reason.includes(code) ? ` (${code})` : ""}. ${hint}`,
      { cause: error, details: { url: location, code } },
    );
  }
  if (code === "58P01" || (code === "0A000" && /extension/i.test(reason))) {
    return new EmbedkitError(
      "STORE_UNAVAILABLE",
      `PostgreSQL at ${location} has no pgvector extension (${reason}). Install pgvector on the server ` +
        `(https://github.com/pgvector/pgvector), or use scripts/pg-start.sh, which bundles it.`,
      { cause: error, details: { url: location, code } },
    );
  }
  if (code === "42501") {
    return new EmbedkitError(
      "STORE_UNAVAILABLE",
      `PostgreSQL at ${location} refused ${doing}: ${reason}. pgvector is not a trusted extension: a ` +
        `superuser must run "CREATE EXTENSION vector" once in this database, and the user needs CREATE on ` +
        `the database (for embedkit's schema).`,
      { cause: error, details: { url: location, code } },
    );
  }
  return new EmbedkitError(
    "INTERNAL",
    `PostgreSQL at ${location} failed while ${doing}: ${reason}${code ? ` (SQLSTATE ${code})` : ""}.`,
    { cause: error, details: { url: location, code } },
  );
}

/*
 * Vectors travel in pgvector's binary format (what `vector_recv` reads: int16
 * dims, int16 zero, float32 big-endian), sent by `pg` as binary parameters
 * because they are Buffers. The text form ("[0.1,…]") costs ~1.4 ms per 384-d
 * vector just for Float32Array.join in Node, more than the insert itself, and
 * the server then has to parse it; the binary form is a memcpy and a byte swap.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Write `vector` in pgvector's binary format into `target` at `offset`; returns the end offset. */
function writeVector(target: Buffer, offset: number, vector: Float32Array): number {
  target.writeInt16BE(vector.length, offset);
  target.writeInt16BE(0, offset + 2);
  const body = target.subarray(offset + 4, offset + 4 + vector.byteLength);
  Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).copy(body);
  if (LITTLE_ENDIAN) body.swap32();
  return offset + 4 + vector.byteLength;
}

/** One vector as a binary `vector` parameter. */
function vectorParameter(vector: Float32Array): Buffer {
  const buffer = Buffer.allocUnsafe(4 + vector.byteLength);
  writeVector(buffer, 0, vector);
  return buffer;
}

/**
 * Vectors as a binary one-dimensional `vector[]` parameter (PostgreSQL's array
 * wire format: ndim, has-nulls flag, element type oid, length, lower bound, then
 * length-prefixed elements).
 */
function vectorArrayParameter(vectors: readonly Float32Array[], vectorOid: number): Buffer {
  const size = 20 + vectors.reduce((sum, vector) => sum + 8 + vector.byteLength, 0);
  const buffer = Buffer.allocUnsafe(size);
  buffer.writeInt32BE(1, 0);
  buffer.writeInt32BE(0, 4);
  buffer.writeUInt32BE(vectorOid, 8);
  buffer.writeInt32BE(vectors.length, 12);
  buffer.writeInt32BE(1, 16);
  let offset = 20;
  for (const vector of vectors) {
    buffer.writeInt32BE(4 + vector.byteLength, offset);
    offset = writeVector(buffer, offset + 4, vector);
  }
  return buffer;
}

function parseVector(text: string): Float32Array {
  const body = text.slice(1, -1);
  if (body === "") return new Float32Array(0);
  const parts = body.split(",");
  const out = new Float32Array(parts.length);
  for (let i = 0; i < parts.length; i++) out[i] = Number(parts[i]);
  return out;
}

/**
 * Translate a validated filter into a parameterised SQL condition with the same
 * semantics as `matchesFilter`. Field names and values are bind parameters
 * (`params` grows), never spliced into the SQL text.
 */
function filterSql(filter: Filter, params: unknown[]): string {
  const parts: string[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  for (const condition of filter) {
    // PostgreSQL refuses parameters a statement does not use, so bind the field name only where needed.
    const field = (): string => `${bind(condition.field)}::text`;
    switch (condition.op) {
      case "eq":
        // Containment is strict JSON equality on flat metadata and can use the GIN index.
        parts.push(`metadata @> ${bind(JSON.stringify({ [condition.field]: condition.value }))}::jsonb`);
        break;
      case "ne":
        parts.push(
          `NOT (metadata @> ${bind(JSON.stringify({ [condition.field]: condition.value }))}::jsonb)`,
        );
        break;
      case "in":
        parts.push(
          `(metadata -> ${field()}) = ANY(${bind(condition.values.map((v) => JSON.stringify(v)))}::jsonb[])`,
        );
        break;
      case "nin":
        parts.push(
          `NOT COALESCE((metadata -> ${field()}) = ANY(${bind(condition.values.map((v) => JSON.stringify(v)))}::jsonb[]), false)`,
        );
        break;
      default: {
        const operator = { lt: "<", lte: "<=", gt: ">", gte: ">=" }[condition.op];
        const name = field();
        // CASE, not AND: SQL does not promise AND's evaluation order, and the cast
        // would fail on a string. Non-numbers never match a range.
        parts.push(
          `(CASE WHEN jsonb_typeof(metadata -> ${name}) = 'number' ` +
            `THEN (metadata ->> ${name})::float8 ${operator} ${bind(condition.value)}::float8 ELSE false END)`,
        );
      }
    }
  }
  return parts.length === 0 ? "TRUE" : parts.join(" AND ");
}

interface CollectionRow {
  readonly id: string;
  readonly name: string;
  readonly model: string;
  readonly dims: number;
  readonly pooling: "mean" | "cls";
  readonly normalized: boolean;
  readonly metric: VectorMetric;
  readonly created_at: Date;
}

function rowToInfo(row: CollectionRow): CollectionInfo {
  return {
    name: row.name,
    model: row.model,
    dims: row.dims,
    pooling: row.pooling,
    normalized: row.normalized,
    metric: row.metric,
    createdAt: row.created_at.toISOString(),
  };
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${name} must be a positive integer, received ${String(value)}.`,
      {
        details: { option: name },
      },
    );
  }
  return value;
}

/** Shared state of one store: pool, schema, and the open/closed flag its collections check. */
interface StoreContext {
  readonly pool: pg.Pool;
  /** Type oid of pgvector's `vector` in this database (needed in binary arrays); set when opening. */
  vectorOid: number;
  readonly schema: string;
  readonly location: string;
  readonly hnsw: { readonly m: number; readonly efConstruction: number; readonly threshold: number };
  closed: boolean;
}

function assertOpen(context: StoreContext): void {
  if (context.closed) {
    throw new EmbedkitError(
      "CLOSED",
      `The pgvector store at ${context.location} is closed; open a new one with openPgVectorStore().`,
    );
  }
}

/** Run `work` on one pooled connection inside BEGIN … COMMIT; ROLLBACK on any error. */
async function inTransaction<T>(
  context: StoreContext,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await context.pool.connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    try {
      await client.query("ROLLBACK");
    } catch {
      broken = true; // the connection is gone; do not return it to the pool
    }
    throw error;
  } finally {
    client.release(broken);
  }
}

class PgCollection implements Collection {
  readonly name: string;
  readonly info: CollectionInfo;
  readonly #context: StoreContext;
  readonly #table: string;
  readonly #indexName: string;
  /** Known to have its HNSW index (or never to get one); saves the check after each upsert. */
  #indexed: boolean;

  constructor(context: StoreContext, row: CollectionRow) {
    this.#context = context;
    this.info = rowToInfo(row);
    this.name = this.info.name;
    this.#table = `"${context.schema}"."items_${row.id}"`;
    this.#indexName = `items_${row.id}_embedding_hnsw`;
    this.#indexed = this.info.dims > HNSW_MAX_DIMS;
  }

  /**
   * Build the HNSW index once the collection has reached the threshold. Runs in
   * its own transaction after the upsert committed (the items are durable
   * either way); an advisory lock makes concurrent writers build it once.
   */
  async ensureIndex(): Promise<void> {
    if (this.#indexed) return;
    const { hnsw, schema } = this.#context;
    this.#indexed = await inTransaction(this.#context, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [this.#table]);
      const existing = await client.query("SELECT to_regclass($1) AS index", [
        `"${schema}"."${this.#indexName}"`,
      ]);
      if (existing.rows[0]?.index !== null) return true;
      const reached = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM (SELECT 1 FROM ${this.#table} LIMIT $1) head`,
        [hnsw.threshold],
      );
      if (Number(reached.rows[0]?.n) < hnsw.threshold) return false;
      // Only integers from our own row and validated options reach the DDL text.
      await client.query(
        `CREATE INDEX ${this.#indexName} ON ${this.#table}
         USING hnsw (embedding ${METRIC_SQL[this.info.metric].opclass})
         WITH (m = ${hnsw.m}, ef_construction = ${hnsw.efConstruction})`,
      );
      return true;
    });
  }

  /** Run a collection operation: closed check, error translation, dropped table → UNKNOWN_COLLECTION. */
  async #run<T>(doing: string, work: () => Promise<T>): Promise<T> {
    assertOpen(this.#context);
    try {
      return await work();
    } catch (error) {
      if (errorCode(error) === "42P01") {
        throw new EmbedkitError(
          "UNKNOWN_COLLECTION",
          `Collection "${this.name}" no longer exists in ${this.#context.location} (it was dropped).`,
          { cause: error, details: { collection: this.name } },
        );
      }
      throw translateError(error, this.#context.location, `${doing} in collection "${this.name}"`);
    }
  }

  async upsert(items: readonly Item[], options: UpsertOptions = {}): Promise<void> {
    assertOpen(this.#context);
    checkModel(this.info, options.model, "upserted");
    const valid = validateItems(this.info, items);
    if (valid.length === 0) return;
    await this.#run("upserting", () =>
      inTransaction(this.#context, async (client) => {
        for (let start = 0; start < valid.length; start += UPSERT_CHUNK) {
          const chunk = valid.slice(start, start + UPSERT_CHUNK);
          // unnest over four array parameters: one statement per chunk whatever its
          // size, no per-row placeholders and no SQL built from values.
          await client.query(
            `INSERT INTO ${this.#table} (id, embedding, metadata, text)
             SELECT * FROM unnest($1::text[], $2::vector[], $3::jsonb[], $4::text[])
             ON CONFLICT (id) DO UPDATE
               SET embedding = EXCLUDED.embedding, metadata = EXCLUDED.metadata, text = EXCLUDED.text`,
            [
              chunk.map((item) => item.id),
              vectorArrayParameter(
                chunk.map((item) => item.vector),
                this.#context.vectorOid,
              ),
              chunk.map((item) => JSON.stringify(item.metadata)),
              chunk.map((item) => item.text ?? null),
            ],
          );
        }
      }),
    );
    await this.#run("building the HNSW index (the items are stored)", () => this.ensureIndex());
  }

  async get(ids: readonly string[]): Promise<StoredItem[]> {
    assertOpen(this.#context);
    const unique = validateIds(ids);
    if (unique.length === 0) return [];
    const result = await this.#run("reading items", () =>
      this.#context.pool.query<{ id: string; embedding: string; metadata: Metadata; text: string | null }>(
        `SELECT id, embedding::text AS embedding, metadata, text FROM ${this.#table} WHERE id = ANY($1::text[])`,
        [unique],
      ),
    );
    const byId = new Map(result.rows.map((row) => [row.id, row]));
    const out: StoredItem[] = [];
    for (const id of ids) {
      const row = byId.get(id);
      if (row === undefined) continue;
      byId.delete(id); // a repeated id is returned once
      out.push({
        id: row.id,
        vector: parseVector(row.embedding),
        metadata: row.metadata,
        ...(row.text === null ? {} : { text: row.text }),
      });
    }
    return out;
  }

  async delete(ids: readonly string[]): Promise<number> {
    assertOpen(this.#context);
    const unique = validateIds(ids);
    if (unique.length === 0) return 0;
    const result = await this.#run("deleting items", () =>
      this.#context.pool.query(`DELETE FROM ${this.#table} WHERE id = ANY($1::text[])`, [unique]),
    );
    return result.rowCount ?? 0;
  }

  async query(query: Query): Promise<Hit[]> {
    assertOpen(this.#context);
    const valid = validateQuery(this.info, query);
    const { operator, score } = METRIC_SQL[this.info.metric];
    const params: unknown[] = [vectorParameter(valid.vector), valid.k];
    const where = filterSql(valid.filter, params);
    const vectorColumn = valid.includeVectors ? ", embedding::text AS embedding" : "";
    const distance = `(embedding ${operator} $1::vector)`;
    // ANN: "ORDER BY embedding <op> $1 LIMIT k" is the shape the HNSW index serves;
    // the outer query breaks distance ties by id. Exact: "+ 0" hides the operator
    // from the planner so it scans every row, and the sort includes the id.
    const sql = valid.exact
      ? `SELECT id, metadata, text${vectorColumn}, ${score} AS score FROM (
           SELECT id, metadata, text, embedding, ${distance} + 0 AS distance FROM ${this.#table} WHERE ${where}
         ) scanned ORDER BY distance, id COLLATE "C" LIMIT $2`
      : `SELECT id, metadata, text${vectorColumn}, ${score} AS score FROM (
           SELECT id, metadata, text, embedding, ${distance} AS distance FROM ${this.#table} WHERE ${where}
           ORDER BY ${distance} LIMIT $2
         ) nearest ORDER BY distance, id COLLATE "C"`;
    const result = await this.#run("querying", () =>
      this.#context.pool.query<{
        id: string;
        metadata: Metadata;
        text: string | null;
        embedding?: string;
        score: number;
      }>(sql, params),
    );
    if (result.rows.length === 0) await this.#checkRangeFields(valid.filter);
    return result.rows.map((row) => ({
      id: row.id,
      score: row.score,
      metadata: row.metadata,
      ...(row.text === null ? {} : { text: row.text }),
      ...(row.embedding === undefined ? {} : { vector: parseVector(row.embedding) }),
    }));
  }

  async count(filter?: Filter | string): Promise<number> {
    assertOpen(this.#context);
    const params: unknown[] = [];
    const where = filterSql(resolveFilter(filter), params);
    const result = await this.#run("counting items", () =>
      this.#context.pool.query<{ count: string }>(
        `SELECT count(*) AS count FROM ${this.#table} WHERE ${where}`,
        params,
      ),
    );
    const count = Number(result.rows[0]?.count ?? 0);
    if (count === 0) await this.#checkRangeFields(resolveFilter(filter));
    return count;
  }

  /**
   * After a filter matched nothing: refuse a range condition on a field that holds no numbers in
   * this collection (the embedded store's check, same message; see `fieldWithoutNumbersError`).
   */
  async #checkRangeFields(filter: Filter): Promise<void> {
    for (const field of rangeFields(filter)) {
      const result = await this.#run("checking a filter field", () =>
        this.#context.pool.query<{ value: MetadataValue; numeric: boolean }>(
          `SELECT metadata -> $1::text AS value, jsonb_typeof(metadata -> $1::text) = 'number' AS numeric
             FROM ${this.#table} WHERE metadata ? $1::text
             ORDER BY (jsonb_typeof(metadata -> $1::text) = 'number') DESC LIMIT 1`,
          [field],
        ),
      );
      const row = result.rows[0];
      if (row?.numeric === true) continue;
      if (row === undefined) {
        // An empty collection matches nothing for any filter: not an error.
        const any = await this.#run("checking a filter field", () =>
          this.#context.pool.query(`SELECT 1 FROM ${this.#table} LIMIT 1`),
        );
        if (any.rows.length === 0) return;
      }
      throw fieldWithoutNumbersError(this.info.name, field, row?.value);
    }
  }

  async stats(): Promise<CollectionStats> {
    return { ...this.info, count: await this.count() };
  }

  async list(page: ListPage): Promise<StoredItem[]> {
    assertOpen(this.#context);
    const { after, limit } = validateListPage(page);
    const result = await this.#run("listing items", () =>
      this.#context.pool.query<{ id: string; embedding: string; metadata: Metadata; text: string | null }>(
        `SELECT id, embedding::text AS embedding, metadata, text FROM ${this.#table}
         WHERE $1::text IS NULL OR id > $1::text ORDER BY id LIMIT $2`,
        [after ?? null, limit],
      ),
    );
    return result.rows.map((row) => ({
      id: row.id,
      vector: parseVector(row.embedding),
      metadata: row.metadata,
      ...(row.text === null ? {} : { text: row.text }),
    }));
  }

  async version(): Promise<string> {
    assertOpen(this.#context);
    // Every write stamps its rows with a newer transaction id (xmin), and a delete lowers the count,
    // so (count, newest xmin) never repeats; the table name changes when the collection is re-created.
    const result = await this.#run("reading the version", () =>
      this.#context.pool.query<{ n: string; newest: string | null }>(
        `SELECT count(*)::text AS n, max(xmin::text::bigint)::text AS newest FROM ${this.#table}`,
      ),
    );
    const row = result.rows[0];
    return `${this.#table}:${row?.n ?? "0"}:${row?.newest ?? "0"}`;
  }
}

class PgVectorStore implements VectorStore {
  readonly backend = "pgvector";
  readonly location: string;
  readonly #context: StoreContext;

  constructor(context: StoreContext) {
    this.#context = context;
    this.location = context.location;
  }

  get #collections(): string {
    return `"${this.#context.schema}".collections`;
  }

  async #run<T>(doing: string, work: () => Promise<T>): Promise<T> {
    assertOpen(this.#context);
    try {
      return await work();
    } catch (error) {
      throw translateError(error, this.location, doing);
    }
  }

  async #row(name: string): Promise<CollectionRow | undefined> {
    const result = await this.#context.pool.query<CollectionRow>(
      `SELECT * FROM ${this.#collections} WHERE name = $1`,
      [name],
    );
    return result.rows[0];
  }

  #unknown(name: string): EmbedkitError {
    return new EmbedkitError(
      "UNKNOWN_COLLECTION",
      `No collection "${name}" in ${this.location}. List them with "embedkit collections list --store <url>".`,
      { details: { collection: name } },
    );
  }

  async createCollection(name: string, spec: CollectionSpec): Promise<Collection> {
    assertOpen(this.#context);
    validateCollectionName(name);
    const info = resolveCollectionSpec(name, spec, new Date());
    if (info.dims > PGVECTOR_MAX_DIMS) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `Collection "${name}": pgvector's vector type holds at most ${PGVECTOR_MAX_DIMS} dimensions, received ${info.dims}.`,
        { details: { field: "dims", expected: PGVECTOR_MAX_DIMS, received: info.dims } },
      );
    }
    const { schema } = this.#context;
    const row = await this.#run(`creating collection "${name}"`, () =>
      inTransaction(this.#context, async (client) => {
        const inserted = await client.query<CollectionRow>(
          `INSERT INTO ${this.#collections} (name, model, dims, pooling, normalized, metric, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING RETURNING *`,
          [info.name, info.model, info.dims, info.pooling, info.normalized, info.metric, info.createdAt],
        );
        const created = inserted.rows[0];
        if (created === undefined) {
          throw new EmbedkitError(
            "COLLECTION_EXISTS",
            `Collection "${name}" already exists in ${this.location}. Open it with getCollection, or drop it first.`,
            { details: { collection: name } },
          );
        }
        // Only integers from our own row and validated options reach the DDL text.
        const table = `"${schema}"."items_${created.id}"`;
        await client.query(
          `CREATE TABLE ${table} (
             id text COLLATE "C" PRIMARY KEY,
             embedding vector(${info.dims}) NOT NULL,
             metadata jsonb NOT NULL DEFAULT '{}',
             text text
           )`,
        );
        await client.query(`CREATE INDEX ON ${table} USING gin (metadata jsonb_path_ops)`);
        return created;
      }),
    );
    const collection = new PgCollection(this.#context, row);
    // annThreshold 0: the index exists from the start (built on the empty table).
    if (this.#context.hnsw.threshold === 0) {
      await this.#run(`indexing collection "${name}"`, () => collection.ensureIndex());
    }
    return collection;
  }

  async getCollection(name: string): Promise<Collection> {
    assertOpen(this.#context);
    validateCollectionName(name);
    const row = await this.#run(`opening collection "${name}"`, () => this.#row(name));
    if (row === undefined) throw this.#unknown(name);
    return new PgCollection(this.#context, row);
  }

  async listCollections(): Promise<CollectionStats[]> {
    const rows = await this.#run("listing collections", async () => {
      const result = await this.#context.pool.query<CollectionRow>(
        `SELECT * FROM ${this.#collections} ORDER BY name COLLATE "C"`,
      );
      return result.rows;
    });
    return Promise.all(rows.map((row) => new PgCollection(this.#context, row).stats()));
  }

  async dropCollection(name: string): Promise<void> {
    assertOpen(this.#context);
    validateCollectionName(name);
    const dropped = await this.#run(`dropping collection "${name}"`, () =>
      inTransaction(this.#context, async (client) => {
        const deleted = await client.query<{ id: string }>(
          `DELETE FROM ${this.#collections} WHERE name = $1 RETURNING id`,
          [name],
        );
        const id = deleted.rows[0]?.id;
        if (id !== undefined)
          await client.query(`DROP TABLE IF EXISTS "${this.#context.schema}"."items_${id}"`);
        return id !== undefined;
      }),
    );
    if (!dropped) throw this.#unknown(name);
  }

  async close(): Promise<void> {
    if (this.#context.closed) return;
    this.#context.closed = true;
    await this.#context.pool.end();
  }
}

/**
 * Open a vector store on PostgreSQL + pgvector. Connects once to check the
 * server, then creates (if missing) the `vector` extension, the schema and its
 * `collections` table. Connections are pooled; `close()` ends the pool.
 *
 * @throws EmbedkitError STORE_UNAVAILABLE (server down, wrong password, no pgvector), INVALID_OPTION
 * @example
 * ```ts
 * const store = await openPgVectorStore({ url: "postgres://app:secret@127.0.0.1:5432/app" });
 * const docs = await store.createCollection("docs", { model: "all-minilm-l6-v2", dims: 384 });
 * ```
 */
export async function openPgVectorStore(options: PgVectorStoreOptions): Promise<VectorStore> {
  if (typeof options?.url !== "string" || !/^(pg|postgres|postgresql):\/\//.test(options.url)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `A PostgreSQL store URL must start with postgres://, postgresql:// or pg://, received ${JSON.stringify(
        typeof options?.url === "string" ? redactUrl(options.url) : options?.url,
      )}.`,
      { details: { option: "url" } },
    );
  }
  const schema = options.schema ?? "embedkit";
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `schema must be 1–63 lowercase letters, digits or "_", starting with a letter or "_", received ${JSON.stringify(schema)}.`,
      { details: { option: "schema" } },
    );
  }
  const efSearch = positiveInteger(options.efSearch, 100, "efSearch");
  const hnsw = {
    m: positiveInteger(options.hnswM, 16, "hnswM"),
    efConstruction: positiveInteger(options.hnswEfConstruction, 64, "hnswEfConstruction"),
    threshold: options.annThreshold === 0 ? 0 : positiveInteger(options.annThreshold, 10_000, "annThreshold"),
  };
  const location = redactUrl(toConnectionString(options.url));
  const pool = new pg.Pool({
    connectionString: toConnectionString(options.url),
    max: positiveInteger(options.maxConnections, 10, "maxConnections"),
    connectionTimeoutMillis: positiveInteger(options.connectTimeoutMs, 10_000, "connectTimeoutMs"),
    application_name: options.applicationName ?? "embedkit",
    // Session settings for every pooled connection, before its first query.
    // iterative_scan keeps walking the HNSW graph until LIMIT rows pass the
    // filter (pgvector ≥ 0.8; older servers ignore the unknown setting).
    onConnect: async (client) => {
      await client.query(`SET hnsw.ef_search = ${efSearch}; SET hnsw.iterative_scan = strict_order`);
    },
  });
  // A pooled idle connection that dies (server restart) emits 'error' on the pool;
  // without a listener Node would crash. The next query reconnects or reports
  // STORE_UNAVAILABLE.
  pool.on("error", () => {});
  const context: StoreContext = { pool, schema, location, hnsw, vectorOid: 0, closed: false };
  try {
    await inTransaction(context, async (client) => {
      // Serialise first-time setup between processes opening the same database.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('embedkit.store.setup'))");
      await client.query("CREATE EXTENSION IF NOT EXISTS vector");
      const type = await client.query<{ oid: number }>(
        `SELECT t.oid FROM pg_type t JOIN pg_extension e ON e.extnamespace = t.typnamespace
         WHERE e.extname = 'vector' AND t.typname = 'vector'`,
      );
      context.vectorOid = type.rows[0]?.oid ?? 0;
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS "${schema}".collections (
           id bigserial PRIMARY KEY,
           name text COLLATE "C" NOT NULL UNIQUE,
           model text NOT NULL,
           dims integer NOT NULL,
           pooling text NOT NULL,
           normalized boolean NOT NULL,
           metric text NOT NULL,
           created_at timestamptz NOT NULL
         )`,
      );
    });
  } catch (error) {
    await pool.end().catch(() => {});
    throw translateError(error, location, "opening the store");
  }
  return new PgVectorStore(context);
}
