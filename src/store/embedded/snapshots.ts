/**
 * @module store/embedded/snapshots
 * HNSW snapshot files of the embedded store (`index/<cid>-<seq>.hnsw`): their
 * checksum, promotion from a temp file, their record in SQLite, and cleanup
 * of files nobody needs. A snapshot is recorded (with size, CRC-32 and the
 * labels marked deleted in it) only after the file is complete and fsynced,
 * so a torn or missing snapshot is simply rebuilt; it never holds the only
 * copy of anything.
 */

import { randomBytes } from "node:crypto";
import { closeSync, openSync, readdirSync, readSync, unlinkSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type Database from "better-sqlite3";
import type { CollectionRow } from "./schema.js";

/** File name of the snapshot of collection `cid` caught up to sequence `seq`. */
export function snapshotName(cid: number, seq: number): string {
  return `${cid}-${seq}.hnsw`;
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

/** Rename a complete, fsynced temp file to its final name and fsync the folder, without blocking the event loop. */
export async function promote(temporary: string, final: string, folder: string): Promise<void> {
  await rename(temporary, final);
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
  /** The file the record replaced (to delete), if any. */
  readonly replaced: string | null;
}

/**
 * Record a promoted snapshot in SQLite and prune the tombstones it covers, in
 * one short write transaction. Not recorded when the collection was dropped
 * meanwhile or another process recorded a newer snapshot.
 */
export function recordSnapshot(
  db: Database.Database,
  cid: number,
  snapshot: { file: string; seq: number; bytes: number; crc: number; deleted: readonly number[] },
): RecordOutcome {
  return db
    .transaction((): RecordOutcome => {
      const current = db.prepare("SELECT * FROM collections WHERE cid = ?").get(cid) as
        | CollectionRow
        | undefined;
      if (!current || current.index_seq >= snapshot.seq) return { recorded: false, replaced: null };
      db.prepare(
        "UPDATE collections SET index_file = ?, index_seq = ?, index_bytes = ?, index_crc = ?, index_deleted = ?, tomb_floor = max(tomb_floor, ?) WHERE cid = ?",
      ).run(
        snapshot.file,
        snapshot.seq,
        snapshot.bytes,
        snapshot.crc,
        JSON.stringify(snapshot.deleted),
        snapshot.seq,
        cid,
      );
      db.prepare(`DELETE FROM tombstones_${cid} WHERE seq <= ?`).run(snapshot.seq);
      return { recorded: true, replaced: current.index_file };
    })
    .immediate();
}

/** Forget a recorded snapshot that turned out damaged, so the rebuilt graph replaces it. */
export function forgetSnapshot(db: Database.Database, cid: number, file: string): void {
  db.prepare("UPDATE collections SET index_file = NULL, index_seq = 0 WHERE cid = ? AND index_file = ?").run(
    cid,
    file,
  );
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

/** On open: remove temp files of dead writers and snapshots of collections that no longer exist. */
export function removeStaleIndexFiles(db: Database.Database, folder: string): void {
  const referenced = new Set(
    (db.prepare("SELECT cid FROM collections").all() as { cid: number }[]).map((row) => row.cid),
  );
  for (const file of readdirSync(folder)) {
    const temporary = /\.tmp-(\d+)$/.exec(file);
    if (temporary) {
      if (!processAlive(Number(temporary[1]))) unlinkSyncQuietly(join(folder, file));
      continue;
    }
    const snapshot = /^(\d+)-(\d+)\.hnsw$/.exec(file);
    if (snapshot && !referenced.has(Number(snapshot[1]))) unlinkSyncQuietly(join(folder, file));
  }
}

/** Remove every index file (snapshots and this process's temp files) of a dropped collection. */
export function removeIndexFiles(folder: string, cid: number): void {
  for (const file of readdirSync(folder)) {
    const owner = /^(\d+)-/.exec(file);
    if (owner && Number(owner[1]) === cid) unlinkSyncQuietly(join(folder, file));
  }
}
