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
 * In the `blocking` mode the same build runs on the calling thread inside the
 * query (the graph is served straight from memory) — kept for one-shot tools
 * and as the baseline of `bench/store-event-loop.ts`.
 */
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import { EmbedkitError } from "../../errors.js";
import { startModuleWorker } from "../../internal/module-worker.js";
import { HnswIndex, type HnswParameters } from "../vector-index.js";
import { type BuildJob, type BuildResult, runBuild } from "./build.js";
import type { WorkerReply } from "./index-worker.js";
import { type CollectionRow, translateError } from "./schema.js";
import {
  forgetSnapshot,
  promote,
  recordSnapshot,
  snapshotName,
  temporaryName,
  unlinkQuietly,
} from "./snapshots.js";

/** Where index builds run: a worker thread (default) or inside `query()` on the calling thread. */
export type IndexBuildMode = "background" | "blocking";

/** A graph queries may search: it reflects the collection's rows up to sequence `seq`. */
export interface ServedIndex {
  readonly index: HnswIndex;
  readonly seq: number;
}

/** After a failed build, queries stay exact and no new build starts for this long. */
export const BUILD_RETRY_MS = 30_000;

interface RunningBuild {
  cancelled: boolean;
  /** Shared with the worker: element 0 set to 1 asks it to stop (see BuildJob.cancel). */
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
    const job: BuildJob = {
      dbFile: this.options.dbFile,
      busyTimeoutMs: this.options.busyTimeoutMs,
      cid: row.cid,
      name: row.name,
      dims: row.dims,
      metric: row.metric,
      hnsw: this.options.hnsw,
      ...(row.index_file !== null &&
      row.index_bytes !== null &&
      row.index_crc !== null &&
      row.index_seq >= row.tomb_floor
        ? {
            base: {
              path: join(this.options.indexDir, row.index_file),
              seq: row.index_seq,
              bytes: row.index_bytes,
              crc: row.index_crc,
              deleted: JSON.parse(row.index_deleted ?? "[]") as number[],
            },
          }
        : {}),
      temporary: join(this.options.indexDir, temporaryName(row.cid)),
      cancel: new Int32Array(new SharedArrayBuffer(4)),
    };
    const build: RunningBuild = {
      cancelled: false,
      cancel: job.cancel as Int32Array,
      done: Promise.resolve(),
    };
    const run = async () => {
      try {
        await this.run(job, build, entry, row.index_file);
      } catch (error) {
        await unlinkQuietly(job.temporary);
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

  private async run(
    job: BuildJob,
    build: RunningBuild,
    entry: Entry,
    baseFile: string | null,
  ): Promise<void> {
    let result: BuildResult;
    let built: HnswIndex | undefined;
    if (this.options.mode === "blocking") {
      const outcome = runBuild(job);
      result = outcome.result;
      built = outcome.index;
    } else {
      result = await this.inWorker(job, build);
    }
    if (build.cancelled || result.kind === "dropped") {
      await unlinkQuietly(job.temporary);
      return;
    }
    const { dims, metric, hnsw, cid } = job;
    if (result.kind === "unchanged") {
      const base = job.base as NonNullable<BuildJob["base"]>;
      let index: HnswIndex;
      try {
        index = await HnswIndex.load(base.path, dims, metric, hnsw, base.deleted);
      } catch (error) {
        // Intact (size and CRC-32 checked by the build) but unreadable: forget it, so the next build starts from SQLite.
        if (baseFile !== null) forgetSnapshot(this.db, cid, baseFile);
        await unlinkQuietly(base.path);
        throw error;
      }
      if (build.cancelled) index.release();
      else serve(entry, { index, seq: result.seq });
      return;
    }
    if (result.baseRejected && baseFile !== null) {
      forgetSnapshot(this.db, cid, baseFile);
      await unlinkQuietly(join(this.options.indexDir, baseFile));
    }
    const index = built ?? (await HnswIndex.load(job.temporary, dims, metric, hnsw, result.deleted));
    if (build.cancelled) {
      index.release();
      await unlinkQuietly(job.temporary);
      return;
    }
    const file = snapshotName(cid, result.seq);
    const final = join(this.options.indexDir, file);
    const recorded = this.db.prepare("SELECT index_seq FROM collections WHERE cid = ?").pluck().get(cid) as
      | number
      | undefined;
    if (recorded === undefined || recorded >= result.seq) {
      // Dropped, or another store on this folder already recorded a snapshot as new: serve ours, keep theirs.
      await unlinkQuietly(job.temporary);
      if (recorded !== undefined && !build.cancelled) serve(entry, { index, seq: result.seq });
      else index.release();
      return;
    }
    await promote(job.temporary, final, this.options.indexDir);
    if (build.cancelled) {
      index.release();
      await unlinkQuietly(final);
      return;
    }
    const outcome = recordSnapshot(this.db, cid, {
      file,
      seq: result.seq,
      bytes: result.bytes,
      crc: result.crc,
      deleted: result.deleted,
    });
    if (!outcome.recorded) await unlinkQuietly(final);
    else if (outcome.replaced !== null && outcome.replaced !== file) {
      await unlinkQuietly(join(this.options.indexDir, outcome.replaced));
    }
    if (build.cancelled) index.release();
    else serve(entry, { index, seq: result.seq });
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
