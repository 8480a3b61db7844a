/**
 * @module store/embedded/store
 * The embedded, zero-setup {@link VectorStore}: one SQLite database (WAL mode)
 * per store directory holds collections, items, vectors and metadata, and is
 * the single source of truth (schema in `schema.ts`). Search runs on in-memory
 * structures caught up from SQLite: an exact flat scan below `annThreshold`
 * items, an HNSW graph above it (`index-cache.ts`), built off the request path
 * and snapshotted to `index/` (`snapshots.ts`).
 *
 * Every write is one SQLite transaction stamped with a per-collection sequence
 * number; deletions leave tombstones. A structure that has seen changes up to
 * sequence `w` catches up by reading rows and tombstones with a larger
 * sequence, which also keeps several processes sharing one directory
 * consistent (SQLite serializes their writes). While an HNSW graph is missing
 * or behind, a query searches the graph it has for the rows up to its
 * sequence and scans the newer rows exactly, or scans everything exactly (in
 * chunks, yielding to the event loop) when there is no graph yet. See
 * docs/STORE.md.
 */
import { mkdirSync } from "node:fs";
import { join, resolve as resolvePath } from "node:path";
import type Database from "better-sqlite3";
import { EmbedkitError } from "../../errors.js";
import { loadHnswlib, loadSqlite } from "../../internal/load-dependency.js";
import { cosineSimilarity, dot, euclideanDistance } from "../../vectors/math.js";
import { fieldWithoutNumbersError, matchesFilter, rangeFields, resolveFilter } from "../filter.js";
import {
  checkModel,
  resolveCollectionSpec,
  type ValidItem,
  validateCollectionName,
  validateIds,
  validateItems,
  validateListPage,
  validateQuery,
} from "../validate.js";
import { DEFAULT_HNSW, FlatIndex, type HnswParameters, type IndexHit } from "../vector-index.js";
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
} from "../vector-store.js";
import { type IndexBuildMode, IndexCache } from "./index-cache.js";
import {
  type CollectionRow,
  createCollectionTables,
  decodeVector,
  dropCollectionTables,
  encodeVector,
  type ItemRow,
  infoOf,
  openDatabase,
  translateError,
} from "./schema.js";
import { removeIndexFiles, removeStaleIndexFiles } from "./snapshots.js";

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
  /**
   * Where HNSW graphs are built. `background`: in a worker thread; queries are
   * answered exactly (or from the previous graph plus an exact scan of newer
   * rows) until the graph is ready, so the event loop never stalls.
   * `blocking`: inside the query that needs the graph, on the calling thread
   * (the query waits for the build; for one-shot scripts and benchmarks).
   * @default "background"
   */
  readonly indexBuild?: IndexBuildMode;
  /**
   * Worker threads (= shards) an HNSW build uses. `2`: the collection's labels
   * are split by parity into two graphs built at once (about 0.55× the wall
   * time of one graph on two cores) and every query searches both (about 0.8×
   * the queries per CPU-second at equal recall); their files form one
   * snapshot. `1`: one graph in one worker. Default: 2 for collections of
   * 100,000 items or more when `os.availableParallelism()` is 2 or more, else
   * 1 (see docs/STORE.md, "Sharded builds"). Snapshots written with either
   * setting load with the other: a build whose shard count differs from the
   * recorded snapshot's starts from the store rather than the snapshot.
   */
  readonly buildWorkers?: 1 | 2;
  /**
   * Called with a message when a recorded HNSW snapshot file is damaged
   * (size/CRC-32 mismatch, unreadable) and the graph is rebuilt from the
   * store. Queries stay correct meanwhile. @default no report
   */
  readonly onWarning?: (message: string) => void;
}

/** The embedded store: a {@link VectorStore} plus control over its background index builds. */
export interface EmbeddedVectorStore extends VectorStore {
  /**
   * Resolves when no HNSW build is running (builds start on demand, from
   * queries). Rejects with the EmbedkitError of a build that failed since the
   * last call; queries stay correct meanwhile (they are answered exactly).
   */
  waitForIndexBuilds(): Promise<void>;
}

/**
 * The default store directory: `collections/` under the embedkit home (the
 * model store decides where home is; imported lazily, since it is heavy).
 */
export async function defaultStorePath(home?: string): Promise<string> {
  const { createModelStore } = await import("../../models/store-impl.js");
  return join(createModelStore(home === undefined ? {} : { home }).home, "collections");
}

/** A filter matching at most this many items (or 5 % of the collection) is answered exactly. */
const EXACT_FILTER_LIMIT = 2048;

/** Floats read per statement of an exact scan (128 KiB of vectors). */
const SCAN_CHUNK_FLOATS = 32 * 1024;

/**
 * An exact scan yields to the event loop after this much wall time: short
 * enough for other requests, long enough not to crawl when every turn of a
 * busy loop takes a while (a yield per chunk made a 100k scan take minutes).
 */
const SCAN_SLICE_MS = 8;

/** A flat index bigger than the collection by this many rows is dropped rather than caught up. */
const FLAT_CATCH_UP_LIMIT = 4096;

/** The columns of an item row a query reads (the vector only with includeVectors). */
type ItemFields = Omit<ItemRow, "label" | "vector"> & { vector?: Buffer };

/** Something kept in step with a collection's rows: the flat index or the metadata map. */
interface Mirror {
  watermark: number;
  upsert(label: number, row: { vector?: Buffer; metadata?: string }): void;
  remove(label: number): void;
}

interface CollectionState {
  readonly cid: number;
  flat?: { readonly index: FlatIndex; watermark: number } | undefined;
  metadata?: { readonly map: Map<number, Metadata>; watermark: number };
}

function score(metric: VectorMetric, query: Float32Array, vector: Float32Array): number {
  if (metric === "cosine") return cosineSimilarity(query, vector);
  if (metric === "dot") return dot(query, vector);
  return -euclideanDistance(query, vector);
}

/** Keeps the best `k` scored labels seen so far. */
class TopK {
  readonly best: IndexHit[] = [];
  constructor(private readonly k: number) {}
  add(label: number, s: number): void {
    const best = this.best;
    if (best.length === this.k && s <= (best[this.k - 1] as IndexHit).score) return;
    let i = best.length;
    while (i > 0 && (best[i - 1] as IndexHit).score < s) i--;
    best.splice(i, 0, { label, score: s });
    if (best.length > this.k) best.pop();
  }
}

/** A stored vector for scoring: a view when the blob is 4-byte aligned (no copy), else a copy. */
function viewVector(blob: Buffer, dims: number, where: string): Float32Array {
  if (blob.byteOffset % 4 === 0 && blob.byteLength === dims * 4) {
    return new Float32Array(blob.buffer, blob.byteOffset, dims);
  }
  return decodeVector(blob, dims, where);
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function positiveInteger(value: unknown, option: string): number {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${option} must be a positive integer, received ${JSON.stringify(value)}.`,
      { details: { option } },
    );
  }
  return value as number;
}

class EmbeddedStore implements EmbeddedVectorStore {
  readonly backend = "embedded";
  readonly location: string;
  private readonly db: Database.Database;
  private readonly indexDir: string;
  private readonly indexes: IndexCache;
  private readonly states = new Map<number, CollectionState>();
  /** Prepared statements by SQL text (preparing costs more than running a point query). */
  private readonly statements = new Map<string, Database.Statement>();
  private closed = false;

  constructor(
    path: string,
    private readonly annThreshold: number,
    hnsw: HnswParameters,
    durability: "full" | "normal",
    busyTimeoutMs: number,
    mode: IndexBuildMode,
    extra: { buildWorkers?: 1 | 2 | undefined; onWarning?: ((message: string) => void) | undefined },
  ) {
    this.location = path;
    this.indexDir = join(path, "index");
    mkdirSync(this.indexDir, { recursive: true });
    const file = join(path, "store.db");
    try {
      this.db = openDatabase(file, durability, busyTimeoutMs);
    } catch (error) {
      throw translateError(error, "open", this.location);
    }
    removeStaleIndexFiles(this.db, this.indexDir);
    this.indexes = new IndexCache(this.db, {
      dbFile: file,
      indexDir: this.indexDir,
      location: path,
      hnsw,
      busyTimeoutMs,
      mode,
      ...extra,
    });
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
          createCollectionTables(this.db, Number(lastInsertRowid));
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
    const row = this.guard("drop collection", () => {
      validateCollectionName(name);
      return this.db
        .transaction(() => {
          const found = this.findRow(name);
          if (!found) throw this.unknown(name);
          this.prepare("DELETE FROM collections WHERE cid = ?").run(found.cid);
          dropCollectionTables(this.db, found.cid);
          return found;
        })
        .immediate();
    });
    this.states.delete(row.cid);
    this.statements.clear();
    await this.indexes.drop(row.cid);
    removeIndexFiles(this.indexDir, row.cid);
  }

  async waitForIndexBuilds(): Promise<void> {
    this.guard("wait for index builds", () => undefined);
    await this.indexes.settle();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // A running build is cancelled (its worker terminated, its temp file removed); the next open resumes
      // from the last recorded snapshot.
      await this.indexes.close();
    } finally {
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
      if (matching === 0 && row.count > 0) this.checkRangeFields(row, handle.info.name, resolved);
      return matching;
    });
  }

  /** @internal */
  list(handle: EmbeddedCollection, page: ListPage): StoredItem[] {
    return this.guard("list", () => {
      const { after, limit } = validateListPage(page);
      const row = this.row(handle);
      const columns = "label, id, vector, metadata, text";
      const rows = (
        after === undefined
          ? this.prepare(`SELECT ${columns} FROM items_${row.cid} ORDER BY id LIMIT ?`).all(limit)
          : this.prepare(`SELECT ${columns} FROM items_${row.cid} WHERE id > ? ORDER BY id LIMIT ?`).all(
              after,
              limit,
            )
      ) as ItemRow[];
      return rows.map((item) => this.storedItem(row, item));
    });
  }

  /** @internal */
  version(handle: EmbeddedCollection): string {
    return this.guard("version", () => {
      const row = this.row(handle);
      return `${row.cid}:${row.seq}`;
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
  async query(handle: EmbeddedCollection, query: Query): Promise<Hit[]> {
    const plan = this.guard("query", () => {
      const row = this.row(handle);
      const valid = validateQuery(handle.info, query);
      if (row.count === 0) return undefined;
      let matching: number[] | undefined;
      if (valid.filter.length > 0) {
        matching = [];
        for (const [label, metadata] of this.metadataMap(row)) {
          if (matchesFilter(metadata, valid.filter)) matching.push(label);
        }
        if (matching.length === 0) {
          this.checkRangeFields(row, handle.info.name, valid.filter);
          return undefined;
        }
      }
      return { row, valid, matching };
    });
    if (!plan) return [];
    const { row, valid, matching } = plan;
    const k = valid.k;
    let found: IndexHit[];
    try {
      const allowed = matching && new Set(matching);
      if (matching && (valid.exact || matching.length <= Math.max(EXACT_FILTER_LIMIT, k, row.count * 0.05))) {
        // Selective filters (and exact filtered queries) score just the matching items.
        found =
          matching.length <= Math.max(EXACT_FILTER_LIMIT, k)
            ? this.exactOver(row, valid.vector, k, matching)
            : await this.scan(row, valid.vector, k, allowed);
      } else if (valid.exact && row.count >= this.annThreshold) {
        found = await this.scan(row, valid.vector, k, allowed);
      } else {
        found = await this.search(row, valid.vector, k, allowed);
      }
    } catch (error) {
      throw translateError(error, "query", this.location);
    }
    return this.guard("query", () => {
      // Scores come from the index or the scan; the vector is read only when asked for.
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

  // ---------------------------------------------------------------- search

  /**
   * The top k through the collection's search structure: the flat index below
   * the ANN threshold; above it the served HNSW graph plus an exact scan of
   * the rows written after it, or (no graph yet) the flat index if it is
   * current, else an exact chunked scan. Starts a build when the graph is
   * missing or far behind.
   */
  private async search(
    row: CollectionRow,
    query: Float32Array,
    k: number,
    allowed: Set<number> | undefined,
  ): Promise<IndexHit[]> {
    const accept = allowed && ((label: number) => allowed.has(label));
    let served = this.indexes.served(row.cid);
    if (!served && row.count < this.annThreshold) return this.flat(row).search(query, k, accept);
    if (served && served.seq < row.tomb_floor) {
      // Another process pruned tombstones this graph would need: it cannot be caught up.
      this.indexes.discard(row.cid);
      served = undefined;
    }
    if (!served) {
      await this.indexes.ensureBuild(row);
      this.checkOpen(row.cid);
      served = this.indexes.served(row.cid);
    }
    if (!served) {
      const state = this.state(row.cid);
      if (state.flat && Math.abs(row.count - state.flat.index.size) <= FLAT_CATCH_UP_LIMIT) {
        return this.flat(row).search(query, k, accept);
      }
      state.flat = undefined;
      return this.scan(row, query, k, allowed);
    }
    this.state(row.cid).flat = undefined;
    // Rows written after the graph's sequence: the graph's copies of them are stale or missing.
    const { gone, rows } = this.db.transaction(() => ({
      gone: this.prepare(`SELECT label FROM tombstones_${row.cid} WHERE seq > ?`)
        .pluck()
        .all(served.seq) as number[],
      rows: this.prepare(`SELECT label, vector FROM items_${row.cid} WHERE seq > ?`).all(served.seq) as {
        label: number;
        vector: Buffer;
      }[],
    }))();
    const stale = new Set(gone);
    for (const item of rows) stale.add(item.label);
    const top = new TopK(k);
    const hits = served.index.search(
      query,
      k,
      stale.size === 0 && !accept ? accept : (label) => !stale.has(label) && (!accept || accept(label)),
    );
    for (const hit of hits) top.add(hit.label, hit.score);
    const where = `Collection "${row.name}"`;
    for (const item of rows) {
      if (accept && !accept(item.label)) continue;
      top.add(item.label, score(row.metric, query, viewVector(item.vector, row.dims, where)));
    }
    const behind = gone.length + rows.length;
    if (served.index.wasteful || behind >= Math.max(1000, served.index.size / 20)) {
      await this.indexes.ensureBuild(row);
    }
    return top.best;
  }

  /** The flat index of a small collection, created or caught up as needed. */
  private flat(row: CollectionRow): FlatIndex {
    const state = this.state(row.cid);
    state.flat ??= { index: new FlatIndex(row.dims, row.metric), watermark: 0 };
    const entry = state.flat;
    const where = `Collection "${row.name}"`;
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
    if (this.catchUp(row.cid, mirror, "vector", row.seq) === false) {
      state.flat = undefined;
      return this.flat(row);
    }
    return entry.index;
  }

  /**
   * Exact top k by scanning every stored vector in label order, in chunks of
   * 128 KiB, yielding to the event loop every {@link SCAN_SLICE_MS}. A row written
   * during the scan is seen in one version or the other; a row deleted during
   * it is dropped when the hits are read.
   */
  private async scan(
    row: CollectionRow,
    query: Float32Array,
    k: number,
    allowed?: Set<number>,
  ): Promise<IndexHit[]> {
    const limit = Math.max(64, Math.floor(SCAN_CHUNK_FLOATS / row.dims));
    const where = `Collection "${row.name}"`;
    const top = new TopK(k);
    let after = 0;
    let slice = performance.now();
    for (;;) {
      const chunk = this.prepare(
        `SELECT label, vector FROM items_${row.cid} WHERE label > ? ORDER BY label LIMIT ?`,
      ).all(after, limit) as { label: number; vector: Buffer }[];
      for (const item of chunk) {
        if (allowed && !allowed.has(item.label)) continue;
        top.add(item.label, score(row.metric, query, viewVector(item.vector, row.dims, where)));
      }
      if (chunk.length < limit) return top.best;
      after = (chunk[chunk.length - 1] as { label: number }).label;
      if (performance.now() - slice >= SCAN_SLICE_MS) {
        await yieldToEventLoop();
        this.checkOpen(row.cid);
        slice = performance.now();
      }
    }
  }

  /** Exact top k over a (small) list of candidate labels. */
  private exactOver(
    row: CollectionRow,
    query: Float32Array,
    k: number,
    candidates: readonly number[],
  ): IndexHit[] {
    const where = `Collection "${row.name}"`;
    const top = new TopK(k);
    const select = this.prepare(`SELECT vector FROM items_${row.cid} WHERE label = ?`).pluck();
    for (const label of candidates) {
      const blob = select.get(label) as Buffer | undefined;
      if (blob) top.add(label, score(row.metric, query, viewVector(blob, row.dims, where)));
    }
    return top.best;
  }

  // ---------------------------------------------------------------- internals

  /** After an await: CLOSED when the store was closed, UNKNOWN_COLLECTION when the collection was dropped. */
  private checkOpen(cid: number): void {
    this.guard("query", () => {
      const name = this.prepare("SELECT name FROM collections WHERE cid = ?").pluck().get(cid) as
        | string
        | undefined;
      if (name === undefined) {
        throw new EmbedkitError(
          "UNKNOWN_COLLECTION",
          `The collection was dropped from ${this.location} during the query.`,
        );
      }
    });
  }

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
      throw translateError(error, action, this.location);
    }
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
      for (const label of this.prepare(`SELECT label FROM tombstones_${cid} WHERE seq > ?`)
        .pluck()
        .iterate(mirror.watermark) as Iterable<number>) {
        mirror.remove(label);
        changed++;
      }
      for (const item of this.prepare(`SELECT label, ${column} FROM items_${cid} WHERE seq > ?`).iterate(
        mirror.watermark,
      ) as Iterable<{ label: number; vector?: Buffer; metadata?: string }>) {
        mirror.upsert(item.label, item);
        changed++;
      }
      mirror.watermark = row.seq;
      return changed;
    })();
  }

  /**
   * After a filter matched nothing: refuse a range condition on a field that holds no numbers
   * in the collection (see `fieldWithoutNumbersError`), so it does not pass as "no results".
   */
  private checkRangeFields(row: CollectionRow, collection: string, filter: Filter): void {
    for (const field of rangeFields(filter)) {
      let sample: MetadataValue | undefined;
      let numeric = false;
      for (const metadata of this.metadataMap(row).values()) {
        if (!Object.hasOwn(metadata, field)) continue;
        const value = metadata[field];
        if (typeof value === "number") {
          numeric = true;
          break;
        }
        sample ??= value;
      }
      if (!numeric) throw fieldWithoutNumbersError(collection, field, sample);
    }
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

  async list(page: ListPage): Promise<StoredItem[]> {
    return this.store.list(this, page);
  }

  async version(): Promise<string> {
    return this.store.version(this);
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
export async function openEmbeddedStore(options: EmbeddedStoreOptions = {}): Promise<EmbeddedVectorStore> {
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
  const indexBuild = options.indexBuild ?? "background";
  if (indexBuild !== "background" && indexBuild !== "blocking") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `indexBuild must be "background" or "blocking", received ${JSON.stringify(indexBuild)}.`,
      { details: { option: "indexBuild" } },
    );
  }
  const busyTimeoutMs = positiveInteger(options.busyTimeoutMs ?? 10_000, "busyTimeoutMs");
  const buildWorkers = options.buildWorkers;
  if (buildWorkers !== undefined && buildWorkers !== 1 && buildWorkers !== 2) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `buildWorkers must be 1 or 2, received ${JSON.stringify(buildWorkers)}.`,
      { details: { option: "buildWorkers" } },
    );
  }
  if (options.onWarning !== undefined && typeof options.onWarning !== "function") {
    throw new EmbedkitError("INVALID_OPTION", "onWarning must be a function.", {
      details: { option: "onWarning" },
    });
  }
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
  return new EmbeddedStore(path, annThreshold, hnsw, durability, busyTimeoutMs, indexBuild, {
    buildWorkers,
    onWarning: options.onWarning,
  });
}
