/**
 * @module store/embedded/schema
 * The SQLite side of the embedded store: opening `store.db` (WAL, durability),
 * the format/version check, the per-collection tables, row types and the
 * translation of SQLite errors into {@link EmbedkitError}s.
 */
import type Database from "better-sqlite3";
import { EmbedkitError } from "../../errors.js";
import { loadedSqlite } from "../../internal/load-dependency.js";
import type { CollectionInfo, VectorMetric } from "../vector-store.js";

/** What `meta.format` holds in every embedkit store. */
export const FORMAT = "embedkit-vector-store";
/** The schema version this code reads and writes. */
export const VERSION = "1";

/** One row of the `collections` table. */
export interface CollectionRow {
  cid: number;
  name: string;
  model: string;
  dims: number;
  pooling: CollectionInfo["pooling"];
  normalized: number;
  metric: VectorMetric;
  created_at: string;
  count: number;
  /** Sequence number of the collection's last write transaction. */
  seq: number;
  /** Tombstones with a sequence at or below this were pruned. */
  tomb_floor: number;
  /** The recorded HNSW snapshot (file name in `index/`), its sequence, size, CRC-32 and deleted labels. */
  index_file: string | null;
  index_seq: number;
  index_bytes: number | null;
  index_crc: number | null;
  index_deleted: string | null;
  /**
   * A sharded snapshot's graph files (JSON `[{ file, bytes, crc }]`, one per
   * shard; `index_file` then names the pair and `index_bytes`/`index_crc` are
   * null). Null for a single-graph snapshot. Added after version 1 shipped:
   * {@link openDatabase} adds the column to older stores.
   */
  index_parts: string | null;
}

/** One item row as a query reads it. */
export interface ItemRow {
  label: number;
  id: string;
  vector: Buffer;
  metadata: string;
  text: string | null;
}

/**
 * Open (creating or checking the schema of) the store database.
 * @throws EmbedkitError CORRUPT_STORE when the file is not an embedkit store of this version
 */
export function openDatabase(
  file: string,
  durability: "full" | "normal",
  busyTimeoutMs: number,
): Database.Database {
  const db = new (loadedSqlite())(file, { timeout: busyTimeoutMs });
  try {
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${durability === "full" ? "FULL" : "NORMAL"}`);
    db.transaction(() => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS collections (
          cid INTEGER PRIMARY KEY AUTOINCREMENT,
          name TEXT NOT NULL UNIQUE,
          model TEXT NOT NULL,
          dims INTEGER NOT NULL,
          pooling TEXT NOT NULL,
          normalized INTEGER NOT NULL,
          metric TEXT NOT NULL,
          created_at TEXT NOT NULL,
          count INTEGER NOT NULL DEFAULT 0,
          seq INTEGER NOT NULL DEFAULT 0,
          tomb_floor INTEGER NOT NULL DEFAULT 0,
          index_file TEXT,
          index_seq INTEGER NOT NULL DEFAULT 0,
          index_bytes INTEGER,
          index_crc INTEGER,
          index_deleted TEXT,
          index_parts TEXT
        );`);
      // Stores created before sharded snapshots: add the column (older code ignores it and, finding no
      // index_bytes for a sharded snapshot, rebuilds a single graph rather than loading half of one).
      const columns = db
        .prepare("SELECT name FROM pragma_table_info('collections')")
        .pluck()
        .all() as string[];
      if (!columns.includes("index_parts")) db.exec("ALTER TABLE collections ADD COLUMN index_parts TEXT");
      const format = db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as
        | { value: string }
        | undefined;
      if (format === undefined) {
        db.prepare("INSERT INTO meta (key, value) VALUES ('format', ?), ('version', ?)").run(FORMAT, VERSION);
        return;
      }
      const version = db.prepare("SELECT value FROM meta WHERE key = 'version'").get() as
        | { value: string }
        | undefined;
      if (format.value !== FORMAT || version?.value !== VERSION) {
        throw new EmbedkitError(
          "CORRUPT_STORE",
          `${file} is not an embedkit vector store of version ${VERSION} (format ${JSON.stringify(format.value)}, ` +
            `version ${JSON.stringify(version?.value)}). Point --store at another directory.`,
        );
      }
    }).immediate();
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Create the item and tombstone tables of a new collection (inside the caller's transaction). */
export function createCollectionTables(db: Database.Database, cid: number): void {
  db.exec(`
    CREATE TABLE items_${cid} (
      label INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      vector BLOB NOT NULL,
      metadata TEXT NOT NULL,
      text TEXT,
      seq INTEGER NOT NULL
    );
    CREATE INDEX items_${cid}_seq ON items_${cid} (seq);
    CREATE TABLE tombstones_${cid} (label INTEGER NOT NULL, seq INTEGER NOT NULL);
    CREATE INDEX tombstones_${cid}_seq ON tombstones_${cid} (seq);`);
}

/** Drop the tables of a collection (inside the caller's transaction). */
export function dropCollectionTables(db: Database.Database, cid: number): void {
  db.exec(`DROP TABLE items_${cid}; DROP TABLE tombstones_${cid};`);
}

/** The public facts of a collection row. */
export function infoOf(row: CollectionRow): CollectionInfo {
  return Object.freeze({
    name: row.name,
    model: row.model,
    dims: row.dims,
    pooling: row.pooling,
    normalized: row.normalized === 1,
    metric: row.metric,
    createdAt: row.created_at,
  });
}

/** A stored vector blob as a Float32Array (copied: SQLite's buffer need not be 4-byte aligned). */
export function decodeVector(blob: Buffer, dims: number, where: string): Float32Array {
  if (blob.byteLength !== dims * 4) {
    throw new EmbedkitError(
      "CORRUPT_STORE",
      `${where}: stored vector has ${blob.byteLength} bytes, expected ${dims * 4}. The store file is damaged; restore it from a backup or re-index.`,
    );
  }
  return new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
}

/** A vector as the blob stored in SQLite (float32, little endian). */
export function encodeVector(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** An error of the store's SQLite (or anything else) as an EmbedkitError that says what failed where. */
export function translateError(error: unknown, action: string, location: string): EmbedkitError {
  if (EmbedkitError.isInstance(error)) return error;
  const code = String((error as { code?: unknown }).code ?? "");
  const message = error instanceof Error ? error.message : String(error);
  if (code === "SQLITE_BUSY" || code.startsWith("SQLITE_BUSY_") || code === "SQLITE_LOCKED") {
    return new EmbedkitError(
      "LOCK_TIMEOUT",
      `Could not ${action}: another process kept the vector store at ${location} locked (${message}). ` +
        "Wait for it to finish, or raise busyTimeoutMs.",
      { cause: error },
    );
  }
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT_")) {
    return new EmbedkitError(
      "CORRUPT_STORE",
      `Could not ${action}: the vector store at ${location} is damaged or not a SQLite database (${message}). ` +
        "Restore it from a backup, or move it away and re-index.",
      { cause: error },
    );
  }
  if (code.startsWith("SQLITE_")) {
    return new EmbedkitError(
      "STORE_UNAVAILABLE",
      `Could not ${action} in the vector store at ${location}: ${message} (${code}). Check that the folder is writable and the disk is not full.`,
      { cause: error },
    );
  }
  return new EmbedkitError("INTERNAL", `Could not ${action} in the vector store at ${location}: ${message}`, {
    cause: error,
  });
}
