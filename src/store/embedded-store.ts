/**
 * @module store/embedded-store
 * The embedded, zero-setup {@link VectorStore}: one SQLite database (WAL mode)
 * per store directory holds collections, items, vectors and metadata, and is
 * the single source of truth. Search runs on in-memory indexes rebuilt or
 * caught up from SQLite: an exact flat scan below `annThreshold` items, an
 * HNSW graph (hnswlib-node) above it. HNSW graphs are snapshotted to
 * `index/<collection>-<seq>.hnsw` (temp file, fsync, rename) and recorded in
 * SQLite only after the file is complete, so a torn or missing snapshot is
 * simply rebuilt; it can never corrupt a collection.
 *
 * Every write is one SQLite transaction stamped with a per-collection sequence
 * number; deletions leave tombstones. A process (or a loaded snapshot) that has
 * seen changes up to sequence `w` catches up by reading rows and tombstones
 * with a larger sequence, which also keeps several processes sharing one
 * directory consistent (SQLite serializes their writes). See docs/STORE.md.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { join, resolve as resolvePath } from "node:path";
import { crc32 } from "node:zlib";
import type Database from "better-sqlite3";
import { EmbedkitError } from "../errors.js";
import { loadedSqlite, loadHnswlib, loadSqlite } from "../internal/load-dependency.js";
import { cosineSimilarity, dot, euclideanDistance } from "../vectors/math.js";
import { matchesFilter, resolveFilter } from "./filter.js";
import {
  checkModel,
  resolveCollectionSpec,
  type ValidItem,
  validateCollectionName,
  validateIds,
  validateItems,
  validateQuery,
} from "./validate.js";
import {
  DEFAULT_HNSW,
  FlatIndex,
  HnswIndex,
  type HnswParameters,
  type IndexHit,
  type VectorIndex,
} from "./vector-index.js";
import type {
  Collection,
  CollectionInfo,
  CollectionSpec,
  CollectionStats,
  Filter,
  Hit,
  Item,
  Metadata,
  Query,
  StoredItem,
  UpsertOptions,
  VectorMetric,
  VectorStore,
} from "./vector-store.js";

/** Options of {@link openEmbeddedStore}. */
export interface EmbeddedStoreOptions {
  /**
   * Directory of the store (created if missing); holds `store.db` and `index/`.
   * @default `<home>/collections`
   */
  readonly path?: string;
  /** embedkit home used for the default path. @default process.env.EMBEDKIT_HOME ?? ~/.cache/embedkit */
  readonly home?: string;
  /**
   * Collections with at least this many items are searched through an HNSW
   * graph; smaller ones by an exact scan.
   * @default 10000
   */
  readonly annThreshold?: number;
  /** HNSW parameters (see {@link HnswParameters}). */
  readonly hnsw?: Partial<HnswParameters>;
  /**
   * `full`: every acknowledged write is fsynced (survives power loss).
   * `normal`: WAL is fsynced at checkpoints only; acknowledged writes survive a
   * process crash (kill -9) but the last ones may be lost on power loss.
   * @default "full"
   */
  readonly durability?: "full" | "normal";
  /** How long a write waits for another process's write lock. @default 10000 */
  readonly busyTimeoutMs?: number;
}

/**
 * The default store directory: `collections/` under the embedkit home (the
 * model store decides where home is; imported lazily, since it is heavy).
 */
export async function defaultStorePath(home?: string): Promise<string> {
  const { createModelStore } = await import("../models/store-impl.js");
  return join(createModelStore(home === undefined ? {} : { home }).home, "collections");
}

const FORMAT = "embedkit-vector-store";
const VERSION = "1";

/** A filter matching at most this many items (or 5 % of the collection) is answered exactly. */
const EXACT_FILTER_LIMIT = 2048;

interface CollectionRow {
  cid: number;
  name: string;
  model: string;
  dims: number;
  pooling: CollectionInfo["pooling"];
  normalized: number;
  metric: VectorMetric;
  created_at: string;
  count: number;
  seq: number;
  tomb_floor: number;
  index_file: string | null;
  index_seq: number;
  index_bytes: number | null;
  index_crc: number | null;
  index_deleted: string | null;
}

interface ItemRow {
  label: number;
  id: string;
  vector: Buffer;
  metadata: string;
  text: string | null;
}

/** The columns of an item row a query reads (the vector only with includeVectors). */
type ItemFields = Omit<ItemRow, "label" | "vector"> & { vector?: Buffer };

/** Something kept in step with a collection's rows: an index or the metadata map. */
interface Mirror {
  watermark: number;
  upsert(label: number, row: { vector?: Buffer; metadata?: string }): void;
  remove(label: number): void;
}

interface CollectionState {
  readonly cid: number;
  index?: { readonly index: VectorIndex; watermark: number; pending: number } | undefined;
  metadata?: { readonly map: Map<number, Metadata>; watermark: number };
}

function infoOf(row: CollectionRow): CollectionInfo {
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

function decodeVector(blob: Buffer, dims: number, where: string): Float32Array {
  if (blob.byteLength !== dims * 4) {
    throw new EmbedkitError(
      "CORRUPT_STORE",
      `${where}: stored vector has ${blob.byteLength} bytes, expected ${dims * 4}. The store file is damaged; restore it from a backup or re-index.`,
    );
  }
  // Copy: SQLite's buffer is not guaranteed to be 4-byte aligned.
  return new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
}

function encodeVector(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

function score(metric: VectorMetric, query: Float32Array, vector: Float32Array): number {
  if (metric === "cosine") return cosineSimilarity(query, vector);
  if (metric === "dot") return dot(query, vector);
  return -euclideanDistance(query, vector);
}

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** CRC-32 of a whole file, read in 8 MiB chunks (snapshots can be gigabytes). */
function fileCrc32(path: string): number {
  const fd = openSync(path, "r");
  const chunk = Buffer.allocUnsafe(8 * 1024 * 1024);
  let crc = 0;
  try {
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) return crc;
      crc = crc32(chunk.subarray(0, read), crc);
    }
  } finally {
    closeSync(fd);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function positiveInteger(value: unknown, option: string): number {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${option} must be a positive integer, received ${JSON.stringify(value)}.`,
      {
        details: { option },
      },
    );
  }
  return value as number;
}

class EmbeddedStore implements VectorStore {
  readonly backend = "embedded";
  readonly location: string;
  private readonly db: Database.Database;
  private readonly indexDir: string;
  private readonly states = new Map<number, CollectionState>();
  /** Prepared statements by SQL text (preparing costs more than running a point query). */
  private readonly statements = new Map<string, Database.Statement>();
  private closed = false;

  constructor(
    path: string,
    private readonly annThreshold: number,
    private readonly hnsw: HnswParameters,
    durability: "full" | "normal",
    busyTimeoutMs: number,
  ) {
    this.location = path;
    this.indexDir = join(path, "index");
    mkdirSync(this.indexDir, { recursive: true });
    const file = join(path, "store.db");
    try {
      this.db = new (loadedSqlite())(file, { timeout: busyTimeoutMs });
    } catch (error) {
      throw this.translate(error, "open");
    }
    try {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma(`synchronous = ${durability === "full" ? "FULL" : "NORMAL"}`);
      this.db
        .transaction(() => {
          this.db.exec(`
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
              index_deleted TEXT
            );`);
          const format = this.db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as
            | { value: string }
            | undefined;
          if (format === undefined) {
            this.db
              .prepare("INSERT INTO meta (key, value) VALUES ('format', ?), ('version', ?)")
              .run(FORMAT, VERSION);
          } else {
            const version = this.db.prepare("SELECT value FROM meta WHERE key = 'version'").get() as
              | { value: string }
              | undefined;
            if (format.value !== FORMAT || version?.value !== VERSION) {
              throw new EmbedkitError(
                "CORRUPT_STORE",
                `${file} is not an embedkit vector store of version ${VERSION} (format ${JSON.stringify(format.value)}, ` +
                  `version ${JSON.stringify(version?.value)}). Point --store at another directory.`,
              );
            }
          }
        })
        .immediate();
    } catch (error) {
      this.db.close();
      throw this.translate(error, "open");
    }
    this.removeStaleIndexFiles();
  }

  // ---------------------------------------------------------------- collections

  async createCollection(name: string, spec: CollectionSpec): Promise<Collection> {
    return this.guard("create collection", () => {
      validateCollectionName(name);
      const info = resolveCollectionSpec(name, spec, new Date());
      const row = this.db
        .transaction(() => {
          if (this.findRow(name)) {
            throw new EmbedkitError(
              "COLLECTION_EXISTS",
              `Collection "${name}" already exists in ${this.location}. Use it, or drop it first (embedkit collections drop ${name}).`,
              { details: { collection: name } },
            );
          }
          const { lastInsertRowid } = this.db
            .prepare(
              "INSERT INTO collections (name, model, dims, pooling, normalized, metric, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .run(
              name,
              info.model,
              info.dims,
              info.pooling,
              info.normalized ? 1 : 0,
              info.metric,
              info.createdAt,
            );
          const cid = Number(lastInsertRowid);
          this.db.exec(`
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
          return this.findRow(name) as CollectionRow;
        })
        .immediate();
      return new EmbeddedCollection(this, infoOf(row), row.cid);
    });
  }

  async getCollection(name: string): Promise<Collection> {
    return this.guard("open collection", () => {
      validateCollectionName(name);
      const row = this.findRow(name);
      if (!row) throw this.unknown(name);
      return new EmbeddedCollection(this, infoOf(row), row.cid);
    });
  }

  async listCollections(): Promise<CollectionStats[]> {
    return this.guard("list collections", () =>
      (this.prepare("SELECT * FROM collections ORDER BY name").all() as CollectionRow[]).map((row) => ({
        ...infoOf(row),
        count: row.count,
      })),
    );
  }

  async dropCollection(name: string): Promise<void> {
    this.guard("drop collection", () => {
      validateCollectionName(name);
      const row = this.db
        .transaction(() => {
          const found = this.findRow(name);
          if (!found) throw this.unknown(name);
          this.prepare("DELETE FROM collections WHERE cid = ?").run(found.cid);
          this.db.exec(`DROP TABLE items_${found.cid}; DROP TABLE tombstones_${found.cid};`);
          return found;
        })
        .immediate();
      this.states.delete(row.cid);
      this.statements.clear();
      this.removeIndexFiles((cid) => cid === row.cid);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      for (const state of this.states.values()) {
        const row = this.prepare("SELECT * FROM collections WHERE cid = ?").get(state.cid) as
          | CollectionRow
          | undefined;
        if (row) this.snapshot(state, row);
      }
    } finally {
      this.closed = true;
      this.states.clear();
      this.db.close();
    }
  }

  // ---------------------------------------------------------------- items

  /** @internal */
  upsert(handle: EmbeddedCollection, items: readonly Item[], options: UpsertOptions): void {
    this.guard("upsert", () => {
      this.row(handle);
      checkModel(handle.info, options?.model, "upserted");
      const valid = validateItems(handle.info, items);
      if (valid.length === 0) return;
      this.db
        .transaction(() => {
          const row = this.row(handle);
          const seq = row.seq + 1;
          const find = this.prepare(`SELECT label FROM items_${row.cid} WHERE id = ?`).pluck();
          const insert = this.prepare(
            `INSERT INTO items_${row.cid} (id, vector, metadata, text, seq) VALUES (?, ?, ?, ?, ?)`,
          );
          const update = this.prepare(
            `UPDATE items_${row.cid} SET vector = ?, metadata = ?, text = ?, seq = ? WHERE label = ?`,
          );
          let added = 0;
          for (const item of valid as ValidItem[]) {
            const label = find.get(item.id) as number | undefined;
            const metadata = JSON.stringify(item.metadata);
            const text = item.text ?? null;
            if (label === undefined) {
              insert.run(item.id, encodeVector(item.vector), metadata, text, seq);
              added++;
            } else {
              update.run(encodeVector(item.vector), metadata, text, seq, label);
            }
          }
          this.db
            .prepare("UPDATE collections SET seq = ?, count = count + ? WHERE cid = ?")
            .run(seq, added, row.cid);
        })
        .immediate();
    });
  }

  /** @internal */
  get(handle: EmbeddedCollection, ids: readonly string[]): StoredItem[] {
    return this.guard("get", () => {
      const unique = validateIds(ids);
      const row = this.row(handle);
      const select = this.prepare(
        `SELECT label, id, vector, metadata, text FROM items_${row.cid} WHERE id = ?`,
      );
      const out: StoredItem[] = [];
      for (const id of unique) {
        const item = select.get(id) as ItemRow | undefined;
        if (item) out.push(this.storedItem(row, item));
      }
      return out;
    });
  }

  /** @internal */
  delete(handle: EmbeddedCollection, ids: readonly string[]): number {
    return this.guard("delete", () => {
      const unique = validateIds(ids);
      return this.db
        .transaction(() => {
          const row = this.row(handle);
          const seq = row.seq + 1;
          const find = this.prepare(`SELECT label FROM items_${row.cid} WHERE id = ?`).pluck();
          const remove = this.prepare(`DELETE FROM items_${row.cid} WHERE label = ?`);
          const tombstone = this.prepare(`INSERT INTO tombstones_${row.cid} (label, seq) VALUES (?, ?)`);
          let removed = 0;
          for (const id of unique) {
            const label = find.get(id) as number | undefined;
            if (label === undefined) continue;
            remove.run(label);
            tombstone.run(label, seq);
            removed++;
          }
          if (removed > 0) {
            this.db
              .prepare("UPDATE collections SET seq = ?, count = count - ? WHERE cid = ?")
              .run(seq, removed, row.cid);
          }
          return removed;
        })
        .immediate();
    });
  }

  /** @internal */
  count(handle: EmbeddedCollection, filter: Filter | string | undefined): number {
    return this.guard("count", () => {
      const resolved = resolveFilter(filter);
      const row = this.row(handle);
      if (resolved.length === 0) return row.count;
      let matching = 0;
      for (const metadata of this.metadataMap(row).values())
        if (matchesFilter(metadata, resolved)) matching++;
      return matching;
    });
  }

  /** @internal */
  stats(handle: EmbeddedCollection): CollectionStats {
    return this.guard("stats", () => {
      const row = this.row(handle);
      return { ...infoOf(row), count: row.count };
    });
  }

  /** @internal */
  query(handle: EmbeddedCollection, query: Query): Hit[] {
    return this.guard("query", () => {
      const row = this.row(handle);
      const valid = validateQuery(handle.info, query);
      if (row.count === 0) return [];
      const k = valid.k;
      let found: IndexHit[];
      if (valid.filter.length > 0) {
        const matching: number[] = [];
        for (const [label, metadata] of this.metadataMap(row)) {
          if (matchesFilter(metadata, valid.filter)) matching.push(label);
        }
        if (matching.length === 0) return [];
        const index = this.index(row);
        if (
          index.kind === "flat" ||
          (!valid.exact && matching.length > Math.max(EXACT_FILTER_LIMIT, k, row.count * 0.05))
        ) {
          const allowed = new Set(matching);
          found = index.search(valid.vector, k, (label) => allowed.has(label));
        } else {
          found = this.exactOver(row, valid.vector, k, matching);
        }
      } else if (valid.exact && row.count >= this.annThreshold) {
        found = this.exactOver(row, valid.vector, k);
      } else {
        found = this.index(row).search(valid.vector, k);
      }
      // Scores come from the index (caught up to this read); the vector is read only when asked for.
      const columns = valid.includeVectors ? "id, vector, metadata, text" : "id, metadata, text";
      const select = this.prepare(`SELECT ${columns} FROM items_${row.cid} WHERE label = ?`);
      const hits: Hit[] = [];
      for (const { label, score } of found) {
        const item = select.get(label) as ItemFields | undefined;
        if (!item) continue;
        hits.push({ ...this.storedItem(row, item), score });
      }
      hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return hits.slice(0, k);
    });
  }

  // ---------------------------------------------------------------- internals

  private guard<T>(action: string, task: () => T): T {
    if (this.closed) {
      throw new EmbedkitError(
        "CLOSED",
        `The vector store at ${this.location} is closed; open it again to ${action}.`,
      );
    }
    try {
      return task();
    } catch (error) {
      throw this.translate(error, action);
    }
  }

  private translate(error: unknown, action: string): EmbedkitError {
    if (EmbedkitError.isInstance(error)) return error;
    const code = String((error as { code?: unknown }).code ?? "");
    const message = error instanceof Error ? error.message : String(error);
    if (code === "SQLITE_BUSY" || code.startsWith("SQLITE_BUSY_") || code === "SQLITE_LOCKED") {
      return new EmbedkitError(
        "LOCK_TIMEOUT",
        `Could not ${action}: another process kept the vector store at ${this.location} locked (${message}). ` +
          "Wait for it to finish, or raise busyTimeoutMs.",
        { cause: error },
      );
    }
    if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT_")) {
      return new EmbedkitError(
        "CORRUPT_STORE",
        `Could not ${action}: the vector store at ${this.location} is damaged or not a SQLite database (${message}). ` +
          "Restore it from a backup, or move it away and re-index.",
        { cause: error },
      );
    }
    if (code.startsWith("SQLITE_")) {
      return new EmbedkitError(
        "STORE_UNAVAILABLE",
        `Could not ${action} in the vector store at ${this.location}: ${message} (${code}). Check that the folder is writable and the disk is not full.`,
        { cause: error },
      );
    }
    return new EmbedkitError(
      "INTERNAL",
      `Could not ${action} in the vector store at ${this.location}: ${message}`,
      {
        cause: error,
      },
    );
  }

  private unknown(name: string): EmbedkitError {
    return new EmbedkitError(
      "UNKNOWN_COLLECTION",
      `No collection "${name}" in ${this.location}. List them with \`embedkit collections list\`, or create it by indexing.`,
      { details: { collection: name } },
    );
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private findRow(name: string): CollectionRow | undefined {
    return this.prepare("SELECT * FROM collections WHERE name = ?").get(name) as CollectionRow | undefined;
  }

  /** The handle's current row; UNKNOWN_COLLECTION when it was dropped (even if re-created since). */
  private row(handle: EmbeddedCollection): CollectionRow {
    const row = this.findRow(handle.name);
    if (!row || row.cid !== handle.cid) throw this.unknown(handle.name);
    return row;
  }

  private state(cid: number): CollectionState {
    let state = this.states.get(cid);
    if (!state) {
      state = { cid };
      this.states.set(cid, state);
    }
    return state;
  }

  /** A row as the API returns it; the vector only when the row was read with it. */
  private storedItem(row: CollectionRow, item: ItemRow): StoredItem;
  private storedItem(
    row: CollectionRow,
    item: ItemFields,
  ): Omit<StoredItem, "vector"> & { vector?: Float32Array };
  private storedItem(
    row: CollectionRow,
    item: ItemFields,
  ): Omit<StoredItem, "vector"> & { vector?: Float32Array } {
    return {
      id: item.id,
      ...(item.vector === undefined
        ? {}
        : {
            vector: decodeVector(
              item.vector,
              row.dims,
              `Collection "${row.name}", item ${JSON.stringify(item.id)}`,
            ),
          }),
      metadata: JSON.parse(item.metadata) as Metadata,
      ...(item.text === null ? {} : { text: item.text }),
    };
  }

  /**
   * Bring a mirror up to the collection's current sequence: replay rows and
   * tombstones newer than its watermark, inside one read transaction so the
   * result is a consistent snapshot. Returns false when tombstones it would
   * need were pruned (the caller rebuilds it from scratch).
   */
  private catchUp(
    cid: number,
    mirror: Mirror,
    column: "vector" | "metadata",
    knownSeq?: number,
  ): number | false {
    // Common case: nothing new since the row the caller just read.
    if (knownSeq !== undefined && mirror.watermark >= knownSeq) return 0;
    return this.db.transaction(() => {
      const row = this.prepare("SELECT seq, tomb_floor FROM collections WHERE cid = ?").get(cid) as
        | { seq: number; tomb_floor: number }
        | undefined;
      if (!row) return 0;
      if (mirror.watermark >= row.seq) return 0;
      // From 0 every live row is read, so pruned tombstones do not matter.
      if (mirror.watermark > 0 && mirror.watermark < row.tomb_floor) return false;
      let changed = 0;
      for (const label of this.db
        .prepare(`SELECT label FROM tombstones_${cid} WHERE seq > ?`)
        .pluck()
        .iterate(mirror.watermark) as Iterable<number>) {
        mirror.remove(label);
        changed++;
      }
      for (const item of this.db
        .prepare(`SELECT label, ${column} FROM items_${cid} WHERE seq > ?`)
        .iterate(mirror.watermark) as Iterable<{ label: number; vector?: Buffer; metadata?: string }>) {
        mirror.upsert(item.label, item);
        changed++;
      }
      mirror.watermark = row.seq;
      return changed;
    })();
  }

  /** The metadata of every item by label (loaded once per process, then caught up). */
  private metadataMap(row: CollectionRow): Map<number, Metadata> {
    const state = this.state(row.cid);
    const fresh = () => ({ map: new Map<number, Metadata>(), watermark: 0 });
    state.metadata ??= fresh();
    const mirrorOf = (entry: { map: Map<number, Metadata>; watermark: number }): Mirror => ({
      get watermark() {
        return entry.watermark;
      },
      set watermark(value: number) {
        entry.watermark = value;
      },
      upsert: (label, item) => entry.map.set(label, JSON.parse(item.metadata as string) as Metadata),
      remove: (label) => entry.map.delete(label),
    });
    if (this.catchUp(row.cid, mirrorOf(state.metadata), "metadata", row.seq) === false) {
      state.metadata = fresh();
      this.catchUp(row.cid, mirrorOf(state.metadata), "metadata");
    }
    return state.metadata.map;
  }

  /** The search index of a collection, built, loaded or caught up as needed. */
  private index(row: CollectionRow): VectorIndex {
    const state = this.state(row.cid);
    const where = `Collection "${row.name}"`;
    const wantHnsw = row.count >= this.annThreshold;
    if (state.index) {
      const current = state.index.index;
      const outgrown = current.kind === "flat" && wantHnsw;
      const wasteful = current instanceof HnswIndex && current.wasteful;
      if (outgrown || wasteful) state.index = undefined;
    }
    if (!state.index) state.index = this.openIndex(row, wantHnsw);
    const entry = state.index;
    const mirror: Mirror = {
      get watermark() {
        return entry.watermark;
      },
      set watermark(value: number) {
        entry.watermark = value;
      },
      upsert: (label, item) =>
        entry.index.upsert(label, decodeVector(item.vector as Buffer, row.dims, where)),
      remove: (label) => entry.index.remove(label),
    };
    const changed = this.catchUp(row.cid, mirror, "vector", row.seq);
    if (changed === false) {
      // Tombstones we needed were pruned by a newer snapshot: start over from it.
      state.index = undefined;
      return this.index(row);
    }
    entry.pending += changed;
    if (entry.index.kind === "hnsw" && entry.pending >= Math.max(this.annThreshold, entry.index.size / 4)) {
      this.snapshot(state, row);
    }
    return entry.index;
  }

  /** A loaded snapshot when a valid one exists, otherwise an empty index (caught up from sequence 0). */
  private openIndex(row: CollectionRow, hnsw: boolean): NonNullable<CollectionState["index"]> {
    if (!hnsw) return { index: new FlatIndex(row.dims, row.metric), watermark: 0, pending: 0 };
    if (row.index_file !== null && row.index_seq >= row.tomb_floor) {
      const path = join(this.indexDir, row.index_file);
      try {
        // Size and CRC-32 recorded after the rename: a damaged file is rebuilt, never loaded.
        if (statSync(path).size === row.index_bytes && fileCrc32(path) === row.index_crc) {
          const deleted = JSON.parse(row.index_deleted ?? "[]") as number[];
          const index = HnswIndex.read(path, row.dims, row.metric, this.hnsw, deleted);
          return { index, watermark: row.index_seq, pending: 0 };
        }
      } catch {
        // Missing, torn or unreadable snapshot: rebuild from SQLite below.
      }
      // Forget the bad snapshot so the rebuilt graph replaces it (see snapshot()).
      this.db
        .prepare("UPDATE collections SET index_file = NULL, index_seq = 0 WHERE cid = ? AND index_file = ?")
        .run(row.cid, row.index_file);
      this.unlinkQuietly(path);
    }
    const index = HnswIndex.create(row.dims, row.metric, this.hnsw, Math.ceil(row.count * 1.1) + 16);
    // A full build is worth saving: count it all as pending.
    return { index, watermark: 0, pending: row.count };
  }

  /**
   * Write the collection's HNSW graph atomically (temp file, fsync, rename,
   * fsync dir) and only then record it in SQLite; prune tombstones it covers.
   */
  private snapshot(state: CollectionState, row: CollectionRow): void {
    const entry = state.index;
    if (!entry || !(entry.index instanceof HnswIndex)) return;
    const recorded = this.db
      .prepare("SELECT index_seq FROM collections WHERE cid = ?")
      .pluck()
      .get(row.cid) as number | undefined;
    if (recorded === undefined || entry.watermark <= recorded) return;
    const file = `${row.cid}-${entry.watermark}.hnsw`;
    const path = join(this.indexDir, file);
    const temporary = `${path}.tmp-${process.pid}`;
    try {
      entry.index.write(temporary);
      fsyncPath(temporary);
      renameSync(temporary, path);
      fsyncPath(this.indexDir);
    } catch {
      // A snapshot is an optimisation; SQLite stays the truth. Try again later.
      try {
        unlinkSync(temporary);
      } catch {}
      return;
    }
    const bytes = statSync(path).size;
    const crc = fileCrc32(path);
    const watermark = entry.watermark;
    const deleted = JSON.stringify(entry.index.deletedLabels);
    const outcome = this.db
      .transaction((): { recorded: boolean; replaced: string | null } => {
        const current = this.prepare("SELECT * FROM collections WHERE cid = ?").get(row.cid) as
          | CollectionRow
          | undefined;
        // Dropped meanwhile, or another process recorded a newer snapshot: ours is not needed.
        if (!current || current.index_seq >= watermark) return { recorded: false, replaced: null };
        this.db
          .prepare(
            "UPDATE collections SET index_file = ?, index_seq = ?, index_bytes = ?, index_crc = ?, index_deleted = ?, tomb_floor = max(tomb_floor, ?) WHERE cid = ?",
          )
          .run(file, watermark, bytes, crc, deleted, watermark, row.cid);
        this.prepare(`DELETE FROM tombstones_${row.cid} WHERE seq <= ?`).run(watermark);
        return { recorded: true, replaced: current.index_file };
      })
      .immediate();
    entry.pending = 0;
    if (!outcome.recorded) this.unlinkQuietly(path);
    else if (outcome.replaced !== null && outcome.replaced !== file) {
      this.unlinkQuietly(join(this.indexDir, outcome.replaced));
    }
  }

  private unlinkQuietly(path: string): void {
    try {
      unlinkSync(path);
    } catch {}
  }

  /** Exact top-k by a full (or candidate-restricted) scan of the stored vectors. */
  private exactOver(
    row: CollectionRow,
    query: Float32Array,
    k: number,
    candidates?: readonly number[],
  ): IndexHit[] {
    const where = `Collection "${row.name}"`;
    const best: { label: number; score: number }[] = [];
    const consider = (label: number, blob: Buffer) => {
      const s = score(row.metric, query, decodeVector(blob, row.dims, where));
      if (best.length < k) {
        best.push({ label, score: s });
        if (best.length === k) best.sort((a, b) => b.score - a.score);
        return;
      }
      const worst = best[k - 1] as { score: number };
      if (s <= worst.score) return;
      // Insert in order (k is small relative to n).
      let i = k - 1;
      while (i > 0 && (best[i - 1] as { score: number }).score < s) i--;
      best.splice(i, 0, { label, score: s });
      best.pop();
    };
    if (candidates) {
      const select = this.prepare(`SELECT vector FROM items_${row.cid} WHERE label = ?`).pluck();
      for (const label of candidates) {
        const blob = select.get(label) as Buffer | undefined;
        if (blob) consider(label, blob);
      }
    } else {
      for (const item of this.prepare(`SELECT label, vector FROM items_${row.cid}`).iterate() as Iterable<{
        label: number;
        vector: Buffer;
      }>) {
        consider(item.label, item.vector);
      }
    }
    return best.sort((a, b) => b.score - a.score);
  }

  /** Remove temp files of dead writers and snapshots no collection refers to. */
  private removeStaleIndexFiles(): void {
    const referenced = new Map(
      (
        this.prepare("SELECT cid, index_file FROM collections").all() as {
          cid: number;
          index_file: string | null;
        }[]
      ).map((row) => [row.cid, row.index_file]),
    );
    for (const file of readdirSync(this.indexDir)) {
      const temporary = /\.tmp-(\d+)$/.exec(file);
      if (temporary) {
        if (!processAlive(Number(temporary[1]))) this.unlinkQuietly(join(this.indexDir, file));
        continue;
      }
      const snapshot = /^(\d+)-(\d+)\.hnsw$/.exec(file);
      if (!snapshot) continue;
      const cid = Number(snapshot[1]);
      if (!referenced.has(cid)) this.unlinkQuietly(join(this.indexDir, file));
    }
  }

  private removeIndexFiles(match: (cid: number) => boolean): void {
    for (const file of readdirSync(this.indexDir)) {
      const snapshot = /^(\d+)-/.exec(file);
      if (snapshot && match(Number(snapshot[1]))) this.unlinkQuietly(join(this.indexDir, file));
    }
  }
}

class EmbeddedCollection implements Collection {
  constructor(
    private readonly store: EmbeddedStore,
    readonly info: CollectionInfo,
    /** @internal */
    readonly cid: number,
  ) {}

  get name(): string {
    return this.info.name;
  }

  async upsert(items: readonly Item[], options: UpsertOptions = {}): Promise<void> {
    this.store.upsert(this, items, options);
  }

  async get(ids: readonly string[]): Promise<StoredItem[]> {
    return this.store.get(this, ids);
  }

  async delete(ids: readonly string[]): Promise<number> {
    return this.store.delete(this, ids);
  }

  async query(query: Query): Promise<Hit[]> {
    return this.store.query(this, query);
  }

  async count(filter?: Filter | string): Promise<number> {
    return this.store.count(this, filter);
  }

  async stats(): Promise<CollectionStats> {
    return this.store.stats(this);
  }
}

/**
 * Open (creating if needed) the embedded vector store in a directory.
 *
 * @throws EmbedkitError INVALID_OPTION for bad options; CORRUPT_STORE when the
 *   directory holds something that is not an embedkit store; STORE_UNAVAILABLE
 *   when it cannot be created or opened
 * @example
 * ```ts
 * const store = await openEmbeddedStore();                 // <EMBEDKIT_HOME>/collections
 * const docs = await store.createCollection("docs", { model: "all-minilm-l6-v2", dims: 384 });
 * ```
 */
export async function openEmbeddedStore(options: EmbeddedStoreOptions = {}): Promise<VectorStore> {
  const annThreshold = positiveInteger(options.annThreshold ?? 10_000, "annThreshold");
  const hnsw: HnswParameters = {
    m: positiveInteger(options.hnsw?.m ?? DEFAULT_HNSW.m, "hnsw.m"),
    efConstruction: positiveInteger(
      options.hnsw?.efConstruction ?? DEFAULT_HNSW.efConstruction,
      "hnsw.efConstruction",
    ),
    efSearch: positiveInteger(options.hnsw?.efSearch ?? DEFAULT_HNSW.efSearch, "hnsw.efSearch"),
  };
  const durability = options.durability ?? "full";
  if (durability !== "full" && durability !== "normal") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `durability must be "full" or "normal", received ${JSON.stringify(durability)}.`,
    );
  }
  const busyTimeoutMs = positiveInteger(options.busyTimeoutMs ?? 10_000, "busyTimeoutMs");
  const path = resolvePath(options.path ?? (await defaultStorePath(options.home)));
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    throw new EmbedkitError(
      "STORE_UNAVAILABLE",
      `Cannot create the vector store folder ${path}: ${(error as Error).message}. Choose a writable --store path.`,
      { cause: error },
    );
  }
  await Promise.all([loadSqlite(), loadHnswlib()]);
  return new EmbeddedStore(path, annThreshold, hnsw, durability, busyTimeoutMs);
}
