/**
 * @module store/embedded/index-cache
 * The HNSW graphs the embedded store searches, and the builds that make them.
 *
 * A build runs off the request path: in a worker thread (`index-worker.ts`)
 * that reads SQLite through its own read-only connection, starts from the
 * recorded snapshot (or from nothing), catches up and writes a temp file. The
 * main thread then loads that file on libuv's thread pool, renames it into
 * place, fsyncs the folder (fs/promises) and records it in SQLite. Only then
 * does the new graph replace the served one; graphs are never modified on the
 * main thread, so a query that started on the previous graph keeps a
 * consistent view. At most one build runs per collection; writes that arrive
 * during a build are caught up by the next one (started from the snapshot the
 * finished build recorded).
 *
 * A large collection is built as two shards (labels split by parity) in two
 * workers at once; both graph files are promoted and recorded as one
 * snapshot, and searched together (`HnswShards`).
 *
 * In the `blocking` mode the same build runs on the calling thread inside the
 * query (the graph is served straight from memory) — kept for one-shot tools
 * and as the baseline of `bench/store-event-loop.ts`.
 */
import { copyFile, link, open } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import { EmbedkitError } from "../../errors.js";
import { startModuleWorker } from "../../internal/module-worker.js";
import { HnswIndex, type HnswParameters, HnswShards } from "../vector-index.js";
import { type BuildJob, type BuildResult, runBuild } from "./build.js";
import type { WorkerReply } from "./index-worker.js";
import { type CollectionRow, translateError } from "./schema.js";
import {
  forgetSnapshot,
  partName,
  promote,
  type RecordedSnapshot,
  recordedSnapshot,
  recordSnapshot,
  removeOlderSnapshots,
  snapshotFiles,
  snapshotName,
  supersedes,
  temporaryName,
  unlinkQuietly,
} from "./snapshots.js";

/** Where index builds run: a worker thread (default) or inside `query()` on the calling thread. */
export type IndexBuildMode = "background" | "blocking";

/** A graph queries may search (one or more shards): it reflects the collection's rows up to sequence `seq`. */
export interface ServedIndex {
  readonly index: HnswShards;
  readonly seq: number;
}

/** After a failed build, queries stay exact and no new build starts for this long. */
export const BUILD_RETRY_MS = 30_000;

/**
 * Collections with at least this many items are built as two shards in two
 * worker threads by default (when the machine has two cores or more): about
 * 0.55× the build's wall time for about 0.8× the queries per CPU-second at
 * equal recall (bench/notes/store-shards.md). A collection already sharded
 * stays sharded down to half of it, so one near the line is not rebuilt from
 * scratch each time it crosses it.
 */
export const SHARD_MIN_ITEMS = 100_000;

/**
 * How many shards a build of a collection of `count` items uses: the
 * `buildWorkers` option when set, else two for large collections on a
 * machine with two cores or more. `recorded`: the shards of the recorded
 * snapshot (a different count means a build from scratch).
 */
export function shardCount(option: 1 | 2 | undefined, count: number, recorded?: number): number {
  if (option !== undefined) return option;
  if (availableParallelism() < 2) return 1;
  return count >= (recorded === 2 ? SHARD_MIN_ITEMS / 2 : SHARD_MIN_ITEMS) ? 2 : 1;
}

interface RunningBuild {
  cancelled: boolean;
  /** Shared with every shard's worker: element 0 set to 1 asks them to stop (see BuildJob.cancel). */
  readonly cancel: Int32Array;
  readonly done: Promise<void>;
}

interface Entry {
  served?: ServedIndex | undefined;
  build?: RunningBuild | undefined;
  failure?: { readonly error: EmbedkitError; readonly at: number } | undefined;
}

/** Settings of an {@link IndexCache}. */
export interface IndexCacheOptions {
  readonly dbFile: string;
  readonly indexDir: string;
  readonly location: string;
  readonly hnsw: HnswParameters;
  readonly busyTimeoutMs: number;
  readonly mode: IndexBuildMode;
  /** Shards (= build worker threads) per graph; undefined: chosen by size (see {@link shardCount}). */
  readonly buildWorkers?: 1 | 2 | undefined;
  /** Told when a recorded snapshot file is damaged and the graph is rebuilt from SQLite. */
  readonly onWarning?: ((message: string) => void) | undefined;
}

/** Start a build worker on `index-worker` (src/internal/module-worker.ts). */
function startWorker(job: BuildJob): Worker {
  return startModuleWorker(import.meta.url, "index-worker", job);
}

/** Turn what a build threw (here or in its worker) into an EmbedkitError naming the collection. */
function buildError(
  raw: { message: string; code?: string | undefined },
  name: string,
  location: string,
): EmbedkitError {
  const action = `build the HNSW index of collection "${name}"`;
  const after = "Queries are answered by exact search until a build succeeds (retried after 30 s).";
  const code = raw.code ?? "";
  if (code.startsWith("SQLITE_")) {
    const error = translateError(Object.assign(new Error(raw.message), { code }), action, location);
    return new EmbedkitError(error.code, `${error.message} ${after}`, { cause: error });
  }
  if (/^E[A-Z]+$/.test(code)) {
    return new EmbedkitError(
      "STORE_UNAVAILABLE",
      `Could not ${action} in ${location}: ${raw.message} (${code}). Check that the folder's index/ directory is writable and the disk is not full. ${after}`,
      { details: { collection: name } },
    );
  }
  return new EmbedkitError("INTERNAL", `Could not ${action} in ${location}: ${raw.message}. ${after}`, {
    details: { collection: name },
  });
}

/**
 * Serve `next` in place of the entry's graph, freeing the graph it replaces
 * (native memory V8 does not see; see {@link HnswIndex.release}). Searches are
 * synchronous, so none is running on the old graph here.
 */
function serve(entry: Entry, next: ServedIndex | undefined): void {
  const previous = entry.served;
  entry.served = next;
  if (previous && previous.index !== next?.index) previous.index.release();
}

/** The served HNSW graphs of one store and their builds. */
export class IndexCache {
  private readonly entries = new Map<number, Entry>();
  /** Failures not yet reported by {@link IndexCache.settle}. */
  private unreported: EmbedkitError[] = [];

  constructor(
    private readonly db: Database.Database,
    private readonly options: IndexCacheOptions,
  ) {}

  private entry(cid: number): Entry {
    let entry = this.entries.get(cid);
    if (!entry) {
      entry = {};
      this.entries.set(cid, entry);
    }
    return entry;
  }

  /** The graph to search, if one is loaded. */
  served(cid: number): ServedIndex | undefined {
    return this.entries.get(cid)?.served;
  }

  /** Stop serving a graph that can no longer be caught up (another process pruned tombstones it needs). */
  discard(cid: number): void {
    const entry = this.entries.get(cid);
    if (entry) serve(entry, undefined);
  }

  /** Whether a build of the collection is running. */
  building(cid: number): boolean {
    return this.entries.get(cid)?.build !== undefined;
  }

  /**
   * Make sure a build that brings the collection's graph up to date is running
   * (at most one per collection; none for {@link BUILD_RETRY_MS} after a
   * failure). In the background mode this returns at once; in the blocking
   * mode it runs the build and rethrows its error.
   */
  async ensureBuild(row: CollectionRow): Promise<void> {
    const entry = this.entry(row.cid);
    if (entry.build) {
      if (this.options.mode === "blocking") await entry.build.done;
      return;
    }
    if (entry.failure && Date.now() - entry.failure.at < BUILD_RETRY_MS) {
      if (this.options.mode === "blocking") throw entry.failure.error;
      return;
    }
    entry.failure = undefined;
    const recorded = row.index_seq >= row.tomb_floor ? recordedSnapshot(row) : undefined;
    const shards = shardCount(this.options.buildWorkers, row.count, recorded?.parts.length);
    // A snapshot split otherwise is not a base: the build starts from SQLite.
    const base = recorded?.parts.length === shards ? recorded : undefined;
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const jobs = Array.from({ length: shards }, (_, shard): BuildJob => {
      const part = base?.parts[shard];
      return {
        dbFile: this.options.dbFile,
        busyTimeoutMs: this.options.busyTimeoutMs,
        cid: row.cid,
        name: row.name,
        dims: row.dims,
        metric: row.metric,
        hnsw: this.options.hnsw,
        shard,
        shards,
        // Every shard catches up to the same sequence, so the pair is one snapshot.
        ...(shards > 1 ? { upTo: row.seq } : {}),
        ...(base && part
          ? {
              base: {
                path: join(this.options.indexDir, part.file),
                seq: base.seq,
                bytes: part.bytes,
                crc: part.crc,
                deleted:
                  shards === 1 ? base.deleted : base.deleted.filter((label) => label % shards === shard),
              },
            }
          : {}),
        temporary: join(this.options.indexDir, temporaryName(row.cid)),
        cancel,
      };
    });
    const build: RunningBuild = { cancelled: false, cancel, done: Promise.resolve() };
    const run = async () => {
      try {
        await this.run(jobs, build, entry, recorded);
      } catch (error) {
        await Promise.all(jobs.map((job) => unlinkQuietly(job.temporary)));
        if (build.cancelled) return;
        const failure = EmbedkitError.isInstance(error)
          ? error
          : buildError(
              { message: (error as Error).message ?? String(error), code: (error as { code?: string }).code },
              row.name,
              this.options.location,
            );
        entry.failure = { error: failure, at: Date.now() };
        this.unreported.push(failure);
      } finally {
        if (entry.build === build) entry.build = undefined;
      }
    };
    entry.build = build;
    (build as { done: Promise<void> }).done = run();
    if (this.options.mode === "blocking") {
      await build.done;
      const failure = entry.failure as Entry["failure"];
      if (failure) throw failure.error;
    }
  }

  /** Every shard's build, in worker threads at once (or one after the other on this thread when blocking). */
  private async builds(
    jobs: readonly BuildJob[],
    build: RunningBuild,
  ): Promise<{ result: BuildResult; index?: HnswIndex | undefined }[]> {
    if (this.options.mode === "blocking") {
      const outcomes: { result: BuildResult; index?: HnswIndex | undefined }[] = [];
      try {
        for (const job of jobs) outcomes.push(runBuild(job));
      } catch (error) {
        for (const outcome of outcomes) outcome.index?.release();
        throw error;
      }
      return outcomes;
    }
    const settled = await Promise.allSettled(
      jobs.map((job) =>
        this.inWorker(job, build).catch((error: unknown) => {
          // One shard failed: stop the others at their next check (never terminate them).
          Atomics.store(build.cancel, 0, 1);
          throw error;
        }),
      ),
    );
    const failed = settled.find((outcome) => outcome.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((outcome) => ({ result: (outcome as PromiseFulfilledResult<BuildResult>).value }));
  }

  private async run(
    jobs: readonly BuildJob[],
    build: RunningBuild,
    entry: Entry,
    recorded: RecordedSnapshot | undefined,
  ): Promise<void> {
    const outcomes = await this.builds(jobs, build);
    const releaseBuilt = () => {
      for (const outcome of outcomes) outcome.index?.release();
    };
    const temporaries = jobs.map((job) => job.temporary);
    const removeTemporaries = () => Promise.all(temporaries.map(unlinkQuietly));
    if (build.cancelled || outcomes.some((outcome) => outcome.result.kind === "dropped")) {
      releaseBuilt();
      await removeTemporaries();
      return;
    }
    const { dims, metric, hnsw, cid } = jobs[0] as BuildJob;
    const forgetRecorded = async (damaged: readonly string[]) => {
      if (recorded === undefined) return;
      this.options.onWarning?.(
        `Collection "${jobs[0]?.name}": HNSW snapshot file ${damaged.map((file) => `index/${file}`).join(", ")} ` +
          "failed its size/CRC-32 check or could not be read; it was removed and the graph is rebuilt from the store.",
      );
      forgetSnapshot(this.db, cid, recorded.name);
      await Promise.all(
        snapshotFiles(recorded).map((file) => unlinkQuietly(join(this.options.indexDir, file))),
      );
    };
    const loaded: HnswIndex[] = [];
    const releaseLoaded = () => {
      for (const index of loaded) index.release();
    };
    if (outcomes.every((outcome) => outcome.result.kind === "unchanged")) {
      try {
        for (const job of jobs) {
          const base = job.base as NonNullable<BuildJob["base"]>;
          loaded.push(await HnswIndex.load(base.path, dims, metric, hnsw, base.deleted));
        }
      } catch (error) {
        // Intact (size and CRC-32 checked by the build) but unreadable: forget it, so the next build starts from SQLite.
        releaseLoaded();
        await forgetRecorded(snapshotFiles(recorded).slice(loaded.length, loaded.length + 1));
        throw error;
      }
      const seq = ((jobs[0] as BuildJob).base as NonNullable<BuildJob["base"]>).seq;
      if (build.cancelled) releaseLoaded();
      else serve(entry, { index: new HnswShards(loaded), seq });
      return;
    }
    // Some shard was written. A shard whose part of the base is unchanged (possible only when another part
    // was rejected) reuses that file: hard-linked to its temp name, so forgetting the base keeps it.
    const parts: { bytes: number; crc: number; deleted: readonly number[] }[] = [];
    let seq = 0;
    const rejected: string[] = [];
    for (const [shard, { result }] of outcomes.entries()) {
      const job = jobs[shard] as BuildJob;
      if (result.kind === "written") {
        parts.push(result);
        seq = Math.max(seq, result.seq);
        if (result.baseRejected) rejected.push(recorded?.parts[shard]?.file ?? "");
      } else {
        const base = job.base as NonNullable<BuildJob["base"]>;
        // A file system without hard links gets a copy (fsynced like a built file).
        await link(base.path, job.temporary).catch(async () => {
          await copyFile(base.path, job.temporary);
          const handle = await open(job.temporary, "r");
          await handle.sync().finally(() => handle.close());
        });
        parts.push(base);
        seq = Math.max(seq, base.seq);
      }
    }
    if (rejected.length > 0) await forgetRecorded(rejected);
    try {
      for (const [shard, outcome] of outcomes.entries()) {
        const part = parts[shard] as (typeof parts)[number];
        loaded.push(
          outcome.index ??
            (await HnswIndex.load(temporaries[shard] as string, dims, metric, hnsw, part.deleted)),
        );
      }
    } catch (error) {
      releaseLoaded();
      releaseBuilt();
      throw error;
    }
    const index = new HnswShards(loaded);
    if (build.cancelled) {
      index.release();
      await removeTemporaries();
      return;
    }
    const shards = jobs.length;
    const name = snapshotName(cid, seq, shards);
    const files = shards === 1 ? [name] : jobs.map((_, shard) => partName(cid, seq, shard, shards));
    const finals = files.map((file) => join(this.options.indexDir, file));
    const current = this.db.prepare("SELECT * FROM collections WHERE cid = ?").get(cid) as
      | CollectionRow
      | undefined;
    if (!supersedes(current, seq, shards)) {
      // Dropped, or another store on this folder already recorded a snapshot as new: serve ours, keep theirs.
      await removeTemporaries();
      if (current !== undefined && !build.cancelled) serve(entry, { index, seq });
      else index.release();
      return;
    }
    // Renamed but not recorded (an error or a cancel here) is removed: only the record makes them a snapshot.
    const renamed: string[] = [];
    const removeRenamed = () => Promise.all(renamed.map(unlinkQuietly));
    try {
      await promote(
        temporaries.map((temporary, shard) => [temporary, finals[shard] as string] as const),
        this.options.indexDir,
        (final) => renamed.push(final),
      );
    } catch (error) {
      index.release();
      await removeRenamed();
      throw error;
    }
    if (build.cancelled) {
      index.release();
      await removeRenamed();
      return;
    }
    const outcome = recordSnapshot(this.db, cid, {
      name,
      seq,
      parts: files.map((file, shard) => {
        const part = parts[shard] as (typeof parts)[number];
        return { file, bytes: part.bytes, crc: part.crc };
      }),
      deleted: parts.flatMap((part) => part.deleted),
    });
    if (!outcome.recorded) await removeRenamed();
    else {
      await Promise.all(outcome.replaced.map((file) => unlinkQuietly(join(this.options.indexDir, file))));
      await removeOlderSnapshots(this.options.indexDir, cid, seq);
    }
    if (build.cancelled) index.release();
    else serve(entry, { index, seq });
  }

  private inWorker(job: BuildJob, build: RunningBuild): Promise<BuildResult> {
    return new Promise<BuildResult>((resolve, reject) => {
      let settled = false;
      const worker = startWorker(job);
      worker.on("message", (reply: WorkerReply) => {
        settled = true;
        if (reply.error) reject(buildError(reply.error, job.name, this.options.location));
        else resolve(reply.result);
      });
      worker.on("error", (error: Error & { code?: string }) => {
        if (settled) return;
        settled = true;
        const memory = error.code === "ERR_WORKER_OUT_OF_MEMORY";
        reject(
          buildError(
            {
              message: memory
                ? `the build worker ran out of memory (${error.message}); lower hnsw.m or free memory`
                : `the build worker failed: ${error.message}`,
            },
            job.name,
            this.options.location,
          ),
        );
      });
      worker.on("exit", (code) => {
        if (settled) return;
        settled = true;
        if (build.cancelled) resolve({ kind: "dropped" });
        else
          reject(
            buildError(
              { message: `the build worker exited with code ${code} before reporting` },
              job.name,
              this.options.location,
            ),
          );
      });
    });
  }

  /**
   * Wait until no build is running (including builds that finish and start
   * nothing new). Rejects with the first build failure since the last call.
   */
  async settle(): Promise<void> {
    for (;;) {
      const running = [...this.entries.values()].flatMap((entry) => (entry.build ? [entry.build.done] : []));
      if (running.length === 0) break;
      await Promise.all(running);
    }
    const [first] = this.unreported;
    this.unreported = [];
    if (first) throw first;
  }

  /**
   * Cancel the collection's build and forget its graph. The worker stops at
   * its next check (it is never terminated: interrupting hnswlib's native
   * code aborts the process); its temp file is removed.
   */
  async drop(cid: number): Promise<void> {
    const entry = this.entries.get(cid);
    this.entries.delete(cid);
    if (entry) serve(entry, undefined);
    if (!entry?.build) return;
    entry.build.cancelled = true;
    Atomics.store(entry.build.cancel, 0, 1);
    await entry.build.done;
  }

  /** Cancel every build and forget every graph. */
  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((cid) => this.drop(cid)));
  }
}
