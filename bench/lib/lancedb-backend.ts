/**
 * @module bench/lib/lancedb-backend
 * LanceDB (`@lancedb/lancedb`, a Rust engine with its own columnar on-disk
 * format) as a benchmark-only backend of bench/store.ts, so the embedded
 * store's engine choice (SQLite + hnswlib) is measured against it on the same
 * data, queries and brute-force truth. Not a product backend: it implements
 * only what the benchmark calls (create/get a collection, upsert, query,
 * close), without validation, filters or model checks.
 *
 * Layout: one table per collection with `id` (utf8), `vector`
 * (fixed-size list of float32, the form LanceDB's vector indexes require) and
 * `metadata` (the JSON text, as the embedded store keeps it). Upserts are
 * merge-inserts on `id` (one new table version per batch). The ANN index is
 * IVF_HNSW_SQ with one partition — an HNSW graph over 8-bit scalar-quantized
 * vectors, LanceDB's index for high recall at low latency (IVF_PQ trades
 * recall for a smaller index) — with the same graph parameters as the
 * embedded store (M, efConstruction) and the same `ef` at query time. Like the
 * embedded store it is built lazily, by the first ANN query once the table
 * holds `annThreshold` rows; rows upserted after that are searched by a flat
 * scan until `optimize()` folds them in (the benchmark loads once).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { connect, Index, type Table as LanceTable } from "@lancedb/lancedb";
import type {
  Table as ArrowTable,
  Data,
  FixedSizeList as FixedSizeListType,
  Float32 as Float32Type,
  Schema,
} from "apache-arrow";

// LanceDB is CommonJS and checks Arrow objects with `instanceof` against the
// CommonJS build of apache-arrow; an ESM import would load a second copy whose
// tables it cannot read. So this module uses that same CommonJS copy.
const require = createRequire(import.meta.url);
const {
  Field,
  FixedSizeList,
  Float32,
  makeData,
  RecordBatch,
  Schema: ArrowSchema,
  Struct,
  Table,
  Utf8,
  vectorFromArray,
} = require("apache-arrow") as typeof import("apache-arrow");

/** Settings of one LanceDB benchmark store. */
export interface LanceBenchOptions {
  /** Directory of the database. */
  readonly path: string;
  /** Build the ANN index at the first query once the table has this many rows. */
  readonly annThreshold: number;
  /** HNSW `ef` at query time (raised to k × refineFactor when lower). */
  readonly ef: number;
  /** HNSW neighbours per node. @default 16 */
  readonly m?: number;
  /** HNSW candidates during construction. @default 100 */
  readonly efConstruction?: number;
  /** Re-rank `k × refineFactor` candidates with the full vectors (off when absent). */
  readonly refineFactor?: number;
}

/** An item as the benchmark upserts it. */
export interface LanceBenchItem {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata?: Readonly<Record<string, string | number | boolean | null>>;
}

/** One hit: `score` is cosine similarity (1 − LanceDB's cosine distance). */
export interface LanceBenchHit {
  readonly id: string;
  readonly score: number;
  readonly metadata: Record<string, unknown>;
}

/** A collection (one LanceDB table). */
export interface LanceBenchCollection {
  upsert(items: readonly LanceBenchItem[]): Promise<void>;
  query(query: {
    readonly vector: Float32Array;
    readonly k: number;
    readonly exact?: boolean;
  }): Promise<LanceBenchHit[]>;
  /** Compact fragments and drop old table versions (LanceDB's `optimize`). */
  optimize(): Promise<void>;
}

/** The subset of the VectorStore contract the benchmark uses. */
export interface LanceBenchStore {
  createCollection(name: string, spec: { readonly dims: number }): Promise<LanceBenchCollection>;
  getCollection(name: string): Promise<LanceBenchCollection>;
  close(): Promise<void>;
}

/** Version of the installed `@lancedb/lancedb`, for result labels. */
export function lancedbVersion(): string {
  // The package's `exports` hide package.json; it sits next to dist/.
  const manifest = join(dirname(require.resolve("@lancedb/lancedb")), "..", "package.json");
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
}

function schemaFor(dims: number): Schema {
  return new ArrowSchema([
    new Field("id", new Utf8(), false),
    new Field("vector", new FixedSizeList(dims, new Field("item", new Float32(), true)), false),
    new Field("metadata", new Utf8(), false),
  ]);
}

/** One Arrow record batch of `items`; the vectors are copied once into one flat float32 buffer. */
function toArrow(schema: Schema, items: readonly LanceBenchItem[]): ArrowTable {
  const vectorType = schema.fields.find((field) => field.name === "vector")
    ?.type as FixedSizeListType<Float32Type>;
  const dims = vectorType.listSize;
  const flat = new Float32Array(items.length * dims);
  for (const [i, item] of items.entries()) flat.set(item.vector, i * dims);
  const strings = (values: string[]) => vectorFromArray(values, new Utf8()).data[0] as Data;
  const columns: Record<string, Data> = {
    id: strings(items.map((item) => item.id)),
    metadata: strings(items.map((item) => JSON.stringify(item.metadata ?? {}))),
    vector: makeData({
      type: vectorType,
      length: items.length,
      nullCount: 0,
      child: makeData({ type: new Float32(), length: flat.length, data: flat }),
    }),
  };
  const struct = makeData({
    type: new Struct(schema.fields),
    length: items.length,
    nullCount: 0,
    children: schema.fields.map((field) => columns[field.name] as Data),
  });
  return new Table([new RecordBatch(schema, struct)]);
}

function collectionOf(table: LanceTable, schema: Schema, options: LanceBenchOptions): LanceBenchCollection {
  let indexed = false;
  const ensureIndex = async () => {
    if (indexed) return;
    if ((await table.listIndices()).some((index) => index.columns.includes("vector"))) {
      indexed = true;
      return;
    }
    if ((await table.countRows()) < options.annThreshold) return;
    await table.createIndex("vector", {
      config: Index.hnswSq({
        distanceType: "cosine",
        numPartitions: 1,
        m: options.m ?? 16,
        efConstruction: options.efConstruction ?? 100,
      }),
    });
    indexed = true;
  };
  return {
    async upsert(items) {
      await table
        .mergeInsert("id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute(toArrow(schema, items));
    },
    async query({ vector, k, exact = false }) {
      if (!exact) await ensureIndex();
      let search = table
        .vectorSearch(vector)
        .distanceType("cosine")
        .select(["id", "metadata", "_distance"])
        .limit(k);
      if (exact) search = search.bypassVectorIndex();
      else {
        // With a refine factor LanceDB asks the graph for k × refineFactor candidates and
        // refuses an ef below that, so ef is raised to it.
        const candidates = k * (options.refineFactor ?? 1);
        search = search.ef(Math.max(options.ef, candidates));
        if (options.refineFactor !== undefined) search = search.refineFactor(options.refineFactor);
      }
      const rows = (await search.toArray()) as { id: string; metadata: string; _distance: number }[];
      return rows.map((row) => ({
        id: row.id,
        score: 1 - row._distance,
        metadata: JSON.parse(row.metadata) as Record<string, unknown>,
      }));
    },
    async optimize() {
      await table.optimize({ cleanupOlderThan: new Date() });
    },
  };
}

/** Open (or create) a LanceDB database at `options.path` for the benchmark. */
export async function openLanceBenchStore(options: LanceBenchOptions): Promise<LanceBenchStore> {
  const db = await connect(options.path);
  const tables: LanceTable[] = [];
  const open = async (table: LanceTable) => {
    tables.push(table);
    return collectionOf(table, await table.schema(), options);
  };
  return {
    createCollection: async (name, spec) => open(await db.createEmptyTable(name, schemaFor(spec.dims))),
    getCollection: async (name) => open(await db.openTable(name)),
    async close() {
      for (const table of tables) table.close();
      db.close();
    },
  };
}
