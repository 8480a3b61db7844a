/**
 * @module store/embedded/snapshots
 * HNSW snapshot files of the embedded store (`index/<cid>-<seq>.hnsw`, or one
 * `index/<cid>-<seq>.<shard>of<shards>.hnsw` per shard of a sharded build):
 * their checksum, promotion from temp files, their record in SQLite, and
 * cleanup of files nobody needs. The record is the commit point: the files of
 * a sharded snapshot are renamed into place one by one, but they are served
 * (and reopened) only once one SQLite transaction records them together. A snapshot is recorded (with size, CRC-32 and the
 * labels marked deleted in it) only after the file is complete and fsynced,
 * so a torn or missing snapshot is simply rebuilt; it never holds the only
 * copy of anything.
 */

import { randomBytes } from "node:crypto";
import { closeSync, openSync, readdirSync, readSync, unlinkSync } from "node:fs";
import { open, readdir, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type Database from "better-sqlite3";
import type { CollectionRow } from "./schema.js";

/**
 * File name of the snapshot of collection `cid` caught up to sequence `seq`:
 * the graph file of a single-graph snapshot, the record's name of a sharded
 * one (`<cid>-<seq>.<shards>shards`, no file; see {@link partName}).
 */
export function snapshotName(cid: number, seq: number, shards = 1): string {
  return shards === 1 ? `${cid}-${seq}.hnsw` : `${cid}-${seq}.${shards}shards`;
}

/** File name of shard `shard` of a sharded snapshot. */
export function partName(cid: number, seq: number, shard: number, shards: number): string {
  return `${cid}-${seq}.${shard}of${shards}.hnsw`;
}

/** A snapshot file name: collection, sequence (single graphs and shards alike). */
const SNAPSHOT_FILE = /^(\d+)-(\d+)(?:\.\d+of\d+)?\.hnsw$/;

/** One graph file of a recorded snapshot, with the size and CRC-32 recorded for it. */
export interface SnapshotPart {
  readonly file: string;
  readonly bytes: number;
  readonly crc: number;
}

/** A snapshot as recorded in a collection's row: one part per shard (one for a single graph). */
export interface RecordedSnapshot {
  /** `index_file`: the graph file, or the sharded record's name. */
  readonly name: string;
  readonly seq: number;
  readonly parts: readonly SnapshotPart[];
  /** Labels marked deleted in the graphs, all shards together. */
  readonly deleted: readonly number[];
}

/** The snapshot a row records, if any (single-graph rows written before shards existed included). */
export function recordedSnapshot(row: CollectionRow): RecordedSnapshot | undefined {
  if (row.index_file === null) return undefined;
  const deleted = JSON.parse(row.index_deleted ?? "[]") as number[];
  if (row.index_parts !== null && row.index_parts !== undefined) {
    const parts = JSON.parse(row.index_parts) as SnapshotPart[];
    return { name: row.index_file, seq: row.index_seq, parts, deleted };
  }
  if (row.index_bytes === null || row.index_crc === null) return undefined;
  return {
    name: row.index_file,
    seq: row.index_seq,
    parts: [{ file: row.index_file, bytes: row.index_bytes, crc: row.index_crc }],
    deleted,
  };
}

/** The graph files of a recorded snapshot. */
export function snapshotFiles(snapshot: RecordedSnapshot | undefined): string[] {
  return snapshot ? snapshot.parts.map((part) => part.file) : [];
}

let builds = 0;

/**
 * A temp file name for a build, unique within this process (several stores
 * may share a folder) and ending in `.tmp-<pid>`, which marks it as owned by
 * a live process for the cleanup on open.
 */
export function temporaryName(cid: number): string {
  return `${cid}-build${++builds}-${randomBytes(4).toString("hex")}.hnsw.tmp-${process.pid}`;
}

/** CRC-32 of a whole file, read in 8 MiB chunks (snapshots can be gigabytes). Synchronous: for worker threads. */
export function fileCrc32(path: string): number {
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

/** fsync a file or directory (synchronous; for worker threads and the blocking build mode). */
export function fsyncPathSync(path: string, fsync: (fd: number) => void): void {
  const fd = openSync(path, "r");
  try {
    fsync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Rename complete, fsynced temp files to their final names (`[temporary, final]`
 * pairs) and fsync the folder once, without blocking the event loop. Calls
 * `renamed` after each rename, so the caller can undo them on failure.
 */
export async function promote(
  pairs: readonly (readonly [string, string])[],
  folder: string,
  renamed: (final: string) => void = () => {},
): Promise<void> {
  for (const [temporary, final] of pairs) {
    await rename(temporary, final);
    renamed(final);
  }
  const handle = await open(folder, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Delete a file if it exists; errors are ignored (cleanup is best effort). */
export async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => {});
}

/** What {@link recordSnapshot} did. */
export interface RecordOutcome {
  /** False when the collection was dropped or a newer snapshot is already recorded. */
  readonly recorded: boolean;
  /** The graph files of the snapshot the record replaced (to delete). */
  readonly replaced: readonly string[];
}

/**
 * Whether a snapshot at `seq` in `shards` parts replaces the one `row` records:
 * when it is newer, or as new but split otherwise (the `buildWorkers` setting
 * changed). False when the collection is gone.
 */
export function supersedes(row: CollectionRow | undefined, seq: number, shards: number): boolean {
  if (!row) return false;
  if (row.index_seq !== seq) return row.index_seq < seq;
  return (recordedSnapshot(row)?.parts.length ?? 0) !== shards;
}

/**
 * Record a promoted snapshot in SQLite and prune the tombstones it covers, in
 * one short write transaction. Not recorded when the collection was dropped
 * meanwhile or another process recorded a newer snapshot.
 */
export function recordSnapshot(
  db: Database.Database,
  cid: number,
  snapshot: RecordedSnapshot,
): RecordOutcome {
  return db
    .transaction((): RecordOutcome => {
      const current = db.prepare("SELECT * FROM collections WHERE cid = ?").get(cid) as
        | CollectionRow
        | undefined;
      if (!current || !supersedes(current, snapshot.seq, snapshot.parts.length)) {
        return { recorded: false, replaced: [] };
      }
      const single = snapshot.parts.length === 1 ? (snapshot.parts[0] as SnapshotPart) : undefined;
      db.prepare(
        "UPDATE collections SET index_file = ?, index_seq = ?, index_bytes = ?, index_crc = ?, index_deleted = ?, index_parts = ?, tomb_floor = max(tomb_floor, ?) WHERE cid = ?",
      ).run(
        snapshot.name,
        snapshot.seq,
        single?.bytes ?? null,
        single?.crc ?? null,
        JSON.stringify(snapshot.deleted),
        single ? null : JSON.stringify(snapshot.parts),
        snapshot.seq,
        cid,
      );
      db.prepare(`DELETE FROM tombstones_${cid} WHERE seq <= ?`).run(snapshot.seq);
      const replaced = snapshotFiles(recordedSnapshot(current));
      if (current.index_file !== null && replaced.length === 0) replaced.push(current.index_file);
      return { recorded: true, replaced: replaced.filter((file) => !snapshotFiles(snapshot).includes(file)) };
    })
    .immediate();
}

/** Forget a recorded snapshot that turned out damaged, so the rebuilt graph replaces it. */
export function forgetSnapshot(db: Database.Database, cid: number, name: string): void {
  db.prepare(
    "UPDATE collections SET index_file = NULL, index_seq = 0, index_parts = NULL WHERE cid = ? AND index_file = ?",
  ).run(cid, name);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function unlinkSyncQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}

/**
 * On open: remove temp files of dead writers, snapshots of collections that no
 * longer exist, and snapshot files of sequences older than their collection's
 * recorded snapshot (left by a crash between the renames of a build and its
 * record; no build still running can record them). Files at the recorded
 * sequence are kept: another process may be between renaming and recording a
 * snapshot of another shard count at that sequence.
 */
export function removeStaleIndexFiles(db: Database.Database, folder: string): void {
  const rows = new Map(
    (db.prepare("SELECT * FROM collections").all() as CollectionRow[]).map((row) => [row.cid, row]),
  );
  for (const file of readdirSync(folder)) {
    const temporary = /\.tmp-(\d+)$/.exec(file);
    if (temporary) {
      if (!processAlive(Number(temporary[1]))) unlinkSyncQuietly(join(folder, file));
      continue;
    }
    const snapshot = SNAPSHOT_FILE.exec(file);
    if (!snapshot) continue;
    const row = rows.get(Number(snapshot[1]));
    if (!row) unlinkSyncQuietly(join(folder, file));
    else if (Number(snapshot[2]) < row.index_seq) {
      unlinkSyncQuietly(join(folder, file));
    }
  }
}

/**
 * After a snapshot at `seq` was recorded: remove the collection's snapshot files
 * of older sequences (replaced ones, and any a crash left between the renames
 * of a build and its record; no build still running can record them).
 */
export async function removeOlderSnapshots(folder: string, cid: number, seq: number): Promise<void> {
  const old = (await readdir(folder)).filter((file) => {
    const snapshot = SNAPSHOT_FILE.exec(file);
    return snapshot !== null && Number(snapshot[1]) === cid && Number(snapshot[2]) < seq;
  });
  await Promise.all(old.map((file) => unlinkQuietly(join(folder, file))));
}

/** Remove every index file (snapshots and this process's temp files) of a dropped collection. */
export function removeIndexFiles(folder: string, cid: number): void {
  for (const file of readdirSync(folder)) {
    const owner = /^(\d+)-/.exec(file);
    if (owner && Number(owner[1]) === cid) unlinkSyncQuietly(join(folder, file));
  }
}
