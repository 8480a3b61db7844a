/**
 * @module store/embedded/build
 * One HNSW build of a collection, or of one shard of it: start from a
 * recorded snapshot (when it is intact and still usable) or from nothing,
 * replay the rows and tombstones SQLite holds beyond it in one read
 * transaction, and write the graph to a temp file (fsynced, with its size and
 * CRC-32). A shard holds the labels `label % shards === shard`, so rows,
 * tombstones and catch-up always reach the same shard. Synchronous on purpose:
 * it runs in a worker thread (`index-worker.ts`, one per shard), or on the
 * calling thread in the `blocking` build mode.
 */
import { closeSync, fsyncSync, openSync, statSync } from "node:fs";
import type Database from "better-sqlite3";
import { loadedSqlite } from "../../internal/load-dependency.js";
import { HnswIndex, type HnswParameters } from "../vector-index.js";
import type { VectorMetric } from "../vector-store.js";
import { decodeVector } from "./schema.js";
import { fileCrc32, fsyncPathSync } from "./snapshots.js";

/** A recorded snapshot a build may start from. */
export interface BuildBase {
  readonly path: string;
  readonly seq: number;
  readonly bytes: number;
  readonly crc: number;
  readonly deleted: readonly number[];
}

/** Everything a build needs; plain data, so it can be posted to a worker. */
export interface BuildJob {
  readonly dbFile: string;
  readonly busyTimeoutMs: number;
  readonly cid: number;
  readonly name: string;
  readonly dims: number;
  readonly metric: VectorMetric;
  readonly hnsw: HnswParameters;
  /** The snapshot part of this shard to start from (its `deleted` holds this shard's labels only). */
  readonly base?: BuildBase;
  /** This build's shard and the number of shards (0 of 1: the whole collection). */
  readonly shard: number;
  readonly shards: number;
  /**
   * Catch up to this sequence at most (every shard of a build to the same
   * one, though each reads SQLite in its own transaction). Rows written
   * later are left to the next build and to the query's catch-up. Default:
   * the collection's sequence when the build reads it.
   */
  readonly upTo?: number;
  /** Where to write the graph (a temp name; the caller promotes it). */
  readonly temporary: string;
  /**
   * Set element 0 to 1 to cancel: the build stops at its next check (every
   * 64 rows). A worker inside hnswlib must never be terminated — the addon
   * aborts the whole process when its call is interrupted.
   */
  readonly cancel?: Int32Array;
}

/** The outcome of a build. */
export type BuildResult =
  /** The collection is gone, or the build was cancelled. */
  | { readonly kind: "dropped" }
  /** Nothing changed since the base: use the base file itself. */
  | { readonly kind: "unchanged"; readonly seq: number }
  /** A graph caught up to `seq` was written to the job's temp file. */
  | {
      readonly kind: "written";
      readonly seq: number;
      readonly bytes: number;
      readonly crc: number;
      readonly deleted: readonly number[];
      /** The base file failed its size/CRC check or could not be read (the caller forgets it). */
      readonly baseRejected: boolean;
    };

/**
 * Run a build. Returns the in-memory graph too (the blocking mode serves it
 * directly; a worker drops it).
 */
export function runBuild(job: BuildJob): { result: BuildResult; index?: HnswIndex } {
  const db = new (loadedSqlite())(job.dbFile, {
    readonly: true,
    fileMustExist: true,
    timeout: job.busyTimeoutMs,
  });
  try {
    return db.transaction(() => build(db, job))();
  } finally {
    db.close();
  }
}

/** Whether a recorded snapshot still has the size and CRC-32 recorded after its rename. */
function intact(base: BuildBase): boolean {
  try {
    return statSync(base.path).size === base.bytes && fileCrc32(base.path) === base.crc;
  } catch {
    return false;
  }
}

function readBase(job: BuildJob, base: BuildBase): HnswIndex | undefined {
  try {
    return HnswIndex.read(base.path, job.dims, job.metric, job.hnsw, base.deleted);
  } catch {
    return undefined;
  }
}

const CANCEL_CHECK_ROWS = 64;

function cancelled(job: BuildJob): boolean {
  return job.cancel !== undefined && Atomics.load(job.cancel, 0) === 1;
}

/** A cancelled build: its graph is freed at once (see {@link HnswIndex.release}). */
function dropped(index: HnswIndex): { result: BuildResult } {
  index.release();
  return { result: { kind: "dropped" } };
}

function build(db: Database.Database, job: BuildJob): { result: BuildResult; index?: HnswIndex } {
  const row = db.prepare("SELECT count, seq, tomb_floor FROM collections WHERE cid = ?").get(job.cid) as
    | { count: number; seq: number; tomb_floor: number }
    | undefined;
  if (!row) return { result: { kind: "dropped" } };
  const upTo = Math.min(row.seq, job.upTo ?? row.seq);
  const live = row.count / job.shards;
  // This shard's rows and tombstones (all of them for a single graph).
  const mine = job.shards === 1 ? "" : ` AND label % ${job.shards} = ${job.shard}`;
  const base = job.base;
  // A damaged file is rebuilt, never loaded.
  const usable = base !== undefined && intact(base);
  // Tombstones the base would need were pruned by a newer snapshot: start over.
  const current = usable && base.seq >= row.tomb_floor;
  // Nothing to catch up and not mostly deleted marks (then live rows = row.count): the caller
  // loads the base file itself, so it is not read here (two copies would be resident at once).
  if (current && base.seq >= upTo && !(base.deleted.length > 1024 && base.deleted.length > live)) {
    return { result: { kind: "unchanged", seq: base.seq } };
  }
  let index = current ? readBase(job, base) : undefined;
  const baseRejected = base !== undefined && (!usable || (current && index === undefined));
  let from = index ? (base?.seq ?? 0) : 0;
  // Mostly deleted marks: a rebuild is cheaper than carrying them.
  if (index?.wasteful) {
    // Free it before the new graph grows: two full graphs would be resident at once.
    index.release();
    index = undefined;
    from = 0;
  }
  // Fail before the expensive part when the file cannot be created (an fs error with its errno code).
  closeSync(openSync(job.temporary, "w"));
  index ??= HnswIndex.create(job.dims, job.metric, job.hnsw, Math.ceil(live * 1.1) + 16);
  const where = `Collection "${job.name}"`;
  let rows = 0;
  if (from > 0) {
    for (const label of db
      .prepare(`SELECT label FROM tombstones_${job.cid} WHERE seq > ? AND seq <= ?${mine}`)
      .pluck()
      .iterate(from, upTo) as Iterable<number>) {
      index.remove(label);
      if (++rows % CANCEL_CHECK_ROWS === 0 && cancelled(job)) return dropped(index);
    }
  }
  for (const item of db
    .prepare(`SELECT label, vector FROM items_${job.cid} WHERE seq > ? AND seq <= ?${mine}`)
    .iterate(from, upTo) as Iterable<{ label: number; vector: Buffer }>) {
    index.upsert(item.label, decodeVector(item.vector, job.dims, where));
    if (++rows % CANCEL_CHECK_ROWS === 0 && cancelled(job)) return dropped(index);
  }
  if (cancelled(job)) return dropped(index);
  index.write(job.temporary);
  fsyncPathSync(job.temporary, fsyncSync);
  const bytes = statSync(job.temporary).size;
  const crc = fileCrc32(job.temporary);
  return {
    result: { kind: "written", seq: upTo, bytes, crc, deleted: index.deletedLabels, baseRejected },
    index,
  };
}
