/**
 * @module jobs/runs
 * Runs of distributed indexing: {@link submitRun} streams a document file into
 * chunk jobs on the queue, and {@link runStatus}, {@link listRuns},
 * {@link cancelRun} and {@link retryFailed} look after them.
 *
 * Idempotency: the run id is a hash of the collection, the store, the file's
 * content (sha256 of its bytes) and the reading options; chunk `i` of a run is
 * the BullMQ job `<run>-<i>`. BullMQ ignores an add whose job id exists, and
 * chunks already finished (recorded in the run's done set) are not added again,
 * so submitting the same file twice enqueues nothing new.
 */
import { createHash } from "node:crypto";
import type { Job } from "bullmq";
import { createEmbedder } from "../embed/create-embedder.js";
import { applyMetadataTypes, createMetadataTyper, type MetadataTypes } from "../embed/metadata-types.js";
import { textFileFormat } from "../embed/text-file.js";
import { EmbedkitError } from "../errors.js";
import type { ModelStore } from "../models/model-store.js";
import { ensureCollection } from "../store/documents.js";
import { openVectorStore, redactUrl } from "../store/open-vector-store.js";
import { validateCollectionName } from "../store/validate.js";
import {
  type DocumentStreamOptions,
  inputFileSize,
  type LocatedDocument,
  readDocumentStream,
} from "./input.js";
import { type ChunkJobData, chunkJobId, doneKey, type JobQueue, jobKey, RUNS_KEY, runKey } from "./queue.js";

/** Options of {@link submitRun}. */
export interface SubmitOptions extends DocumentStreamOptions {
  /** Vector store location (postgres://… or an embedded store folder) that workers write to. */
  readonly store: string;
  /** Model for a new collection (default: all-minilm-l6-v2); an existing collection keeps its own and must agree. */
  readonly model?: string;
  /** Documents per chunk job. @default 1000 */
  readonly chunkSize?: number;
  /** Attempts per chunk before it goes to the failed set (dead letter). @default 5 */
  readonly attempts?: number;
  /** First retry delay in ms; doubles on each attempt (exponential backoff). @default 2000 */
  readonly backoffMs?: number;
  /** Truncate over-long texts (false: they fail with INPUT_TOO_LONG). @default true */
  readonly truncate?: boolean;
  /** Model store used to resolve the model when the collection is created. */
  readonly modelStore?: ModelStore;
  /**
   * Metadata types forced per field (`--metadata-types`); otherwise a CSV/TSV column whose
   * non-empty values are all numbers is stored as numbers (`embed/metadata-types`).
   */
  readonly metadataTypes?: MetadataTypes;
}

/** What {@link submitRun} did. */
export interface SubmitResult {
  readonly runId: string;
  readonly collection: string;
  readonly model: string;
  readonly chunks: number;
  readonly documents: number;
  /** Chunk jobs added now (0 when the same run was already fully submitted). */
  readonly enqueued: number;
  /** True when the run existed before this call. */
  readonly resubmitted: boolean;
}

/** One chunk in the failed set. */
export interface FailedChunk {
  readonly index: number;
  readonly jobId: string;
  readonly error: string;
  readonly attempts: number;
}

/** State of a run. */
export type RunState = "queued" | "running" | "done" | "failed" | "cancelled";

/** Progress of a run (see {@link runStatus}). */
export interface RunStatus {
  readonly runId: string;
  readonly state: RunState;
  readonly collection: string;
  /** The store location without its password. */
  readonly store: string;
  readonly model: string;
  readonly file: string;
  readonly submittedAt: string;
  readonly chunks: {
    readonly total: number;
    readonly done: number;
    readonly failed: number;
    readonly active: number;
    /** Waiting, delayed (backing off) or not yet picked up. */
    readonly pending: number;
  };
  readonly documents: { readonly total: number; readonly done: number };
  /** Documents per second since the first chunk started (null before any finished). */
  readonly docsPerSecond: number | null;
  /** Seconds left at that rate (null when unknown or finished). */
  readonly etaSeconds: number | null;
  /**
   * Where the workers' time went, summed over finished chunks (each counted
   * once): whole chunks, and of that the store's writes (upserts) and reads
   * (the check for documents already stored unchanged). The rest is embedding
   * and overhead.
   */
  readonly workerTime: {
    readonly seconds: number;
    readonly storeWriteSeconds: number;
    readonly storeReadSeconds: number;
  };
  /** Chunks in the failed set with their errors (first 100). */
  readonly failures: readonly FailedChunk[];
}

const DEFAULT_CHUNK_SIZE = 1000;

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${name} must be a positive integer, received ${String(value)}.`,
    );
  }
  return value;
}

/** Group a stream of documents into chunks; within a chunk, identical content ids collapse, explicit duplicate ids fail. */
async function* chunksOf(
  documents: AsyncIterable<LocatedDocument>,
  chunkSize: number,
  explicitIds: boolean,
  path: string,
): AsyncGenerator<LocatedDocument[]> {
  let chunk: LocatedDocument[] = [];
  let ids = new Map<string, number>();
  for await (const document of documents) {
    const first = ids.get(document.id);
    if (first !== undefined) {
      if (explicitIds) {
        throw new EmbedkitError(
          "MALFORMED_FILE",
          `${path}:${document.line}: duplicate id ${JSON.stringify(document.id)} (first on line ${first}); ids must be unique.`,
          { details: { path, line: document.line } },
        );
      }
      continue;
    }
    ids.set(document.id, document.line);
    chunk.push(document);
    if (chunk.length === chunkSize) {
      yield chunk;
      chunk = [];
      ids = new Map();
    }
  }
  if (chunk.length > 0) yield chunk;
}

async function resolveModel(store: string, collection: string, options: SubmitOptions): Promise<string> {
  const vectorStore = await openVectorStore(store);
  try {
    const existing = (await vectorStore.listCollections()).find((item) => item.name === collection);
    const model = options.model ?? existing?.model;
    const embedder = await createEmbedder({
      ...(model === undefined ? {} : { model }),
      ...(options.modelStore === undefined ? {} : { store: options.modelStore }),
      threads: 1,
    });
    try {
      await ensureCollection(vectorStore, collection, embedder.model);
      return embedder.model.id;
    } finally {
      await embedder.close();
    }
  } finally {
    await vectorStore.close();
  }
}

/**
 * Submit a document file as a run of chunk jobs. The file is streamed twice:
 * first to validate every record and hash the content (a malformed line fails
 * here, naming the line, with nothing enqueued), then to enqueue the chunks.
 * The collection is created for the model when missing (so the model is
 * recorded before any worker starts).
 *
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE, INVALID_OPTION, UNKNOWN_MODEL,
 *   MODEL_MISMATCH (an existing collection of another model), STORE_UNAVAILABLE
 * @example
 * ```ts
 * const queue = await openJobQueue("redis://127.0.0.1:6379");
 * const { runId } = await submitRun(queue, "docs", "docs.jsonl", { store: "postgres://app@db/app", idField: "id" });
 * ```
 */
export async function submitRun(
  queue: JobQueue,
  collection: string,
  file: string,
  options: SubmitOptions,
): Promise<SubmitResult> {
  validateCollectionName(collection);
  const chunkSize = positiveInteger(options.chunkSize ?? DEFAULT_CHUNK_SIZE, "chunkSize");
  const attempts = positiveInteger(options.attempts ?? 5, "attempts");
  const backoffMs = positiveInteger(options.backoffMs ?? 2000, "backoffMs");
  if (typeof options.store !== "string" || options.store === "") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "A run needs --store: the postgres://… URL (or embedded store folder) every worker writes to.",
    );
  }
  await inputFileSize(file);
  const reading: DocumentStreamOptions = {
    ...(options.textField === undefined ? {} : { textField: options.textField }),
    ...(options.idField === undefined ? {} : { idField: options.idField }),
    ...(options.metadataFields === undefined ? {} : { metadataFields: options.metadataFields }),
    ...(options.format === undefined ? {} : { format: options.format }),
  };
  // Pass 1: validate everything, learn the metadata types and hash the bytes; nothing is written yet.
  const hash = createHash("sha256");
  const format = textFileFormat(file, options.format);
  const typer = createMetadataTyper({
    detect: format === "csv" || format === "tsv",
    ...(options.metadataTypes === undefined ? {} : { forced: options.metadataTypes }),
  });
  const metadataSeen = new Set<string>();
  let chunks = 0;
  let documents = 0;
  for await (const chunk of chunksOf(
    readDocumentStream(file, reading, (bytes) => hash.update(bytes)),
    chunkSize,
    options.idField !== undefined,
    file,
  )) {
    chunks += 1;
    documents += chunk.length;
    for (const document of chunk) {
      typer.observe(document.metadata);
      // Forced types are known now: a cell they refuse fails here, before anything is enqueued.
      if (options.metadataTypes !== undefined && document.metadata !== undefined) {
        applyMetadataTypes(document.metadata, options.metadataTypes, `${file}:${document.line}`);
      }
      for (const key of Object.keys(document.metadata ?? {})) metadataSeen.add(key);
    }
  }
  if (documents === 0) {
    throw new EmbedkitError("INVALID_INPUT", `${file} contains no documents.`, { details: { path: file } });
  }
  // JSONL fields vary per line: a --metadata-fields name found on no line is a typo (CSV: checked on the header).
  for (const field of options.metadataFields ?? []) {
    if (!metadataSeen.has(field)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `--metadata-fields: no document of ${file} has a field "${field}" (metadata fields found: ${[...metadataSeen].join(", ") || "none"}).`,
        { details: { param: "--metadata-fields", field, path: file } },
      );
    }
  }
  const metadataTypes = typer.types();
  const contentSha256 = hash.digest("hex");
  const model = await resolveModel(options.store, collection, options);
  const truncate = options.truncate ?? true;
  const runId = createHash("sha256")
    .update(
      JSON.stringify({
        collection,
        store: options.store,
        model,
        contentSha256,
        reading,
        ...(options.metadataTypes === undefined ? {} : { metadataTypes: options.metadataTypes }),
        chunkSize,
        truncate,
      }),
    )
    .digest("hex")
    .slice(0, 16);
  const key = runKey(runId);
  const resubmitted = (await queue.redis.exists(key)) === 1;
  const now = new Date().toISOString();
  await queue.redis.hset(key, {
    collection,
    store: options.store,
    model,
    file,
    contentSha256,
    totalChunks: String(chunks),
    totalDocs: String(documents),
    state: "queued",
  });
  await queue.redis.hsetnx(key, "submittedAt", now);
  await queue.redis.hsetnx(key, "doneDocs", "0");
  await queue.redis.zadd(RUNS_KEY, "NX", Date.now(), runId);
  // Pass 2: enqueue the chunks not finished yet, in groups.
  const done = new Set(await queue.redis.smembers(doneKey(runId)));
  let enqueued = 0;
  let index = 0;
  let group: Array<{ name: string; data: ChunkJobData; opts: Record<string, unknown> }> = [];
  const flush = async () => {
    if (group.length === 0) return;
    // Skip chunks whose job exists (waiting, active, delayed or failed): BullMQ would ignore them anyway.
    const pipeline = queue.redis.pipeline();
    for (const item of group) pipeline.exists(jobKey(item.opts.jobId as string));
    const exists = ((await pipeline.exec()) ?? []).map(([, value]) => value === 1);
    const fresh = group.filter((_, i) => !exists[i]);
    if (fresh.length > 0) await queue.queue.addBulk(fresh);
    enqueued += fresh.length;
    group = [];
  };
  for await (const chunk of chunksOf(
    readDocumentStream(file, reading),
    chunkSize,
    options.idField !== undefined,
    file,
  )) {
    if (!done.has(String(index))) {
      group.push({
        name: "chunk",
        data: {
          runId,
          index,
          collection,
          store: options.store,
          model,
          truncate,
          documents: chunk.map(({ id, text, metadata, line }) => ({
            id,
            text,
            ...(metadata ? { metadata: applyMetadataTypes(metadata, metadataTypes, `${file}:${line}`) } : {}),
          })),
        },
        opts: {
          jobId: chunkJobId(runId, index),
          attempts,
          backoff: { type: "exponential", delay: backoffMs },
          removeOnComplete: true,
          removeOnFail: false,
        },
      });
      if (group.length >= 20) await flush();
    }
    index += 1;
  }
  await flush();
  return { runId, collection, model, chunks, documents, enqueued, resubmitted };
}

async function runRecord(queue: JobQueue, runId: string): Promise<Record<string, string>> {
  if (typeof runId !== "string" || !/^[0-9a-f]{16}$/.test(runId)) {
    throw new EmbedkitError(
      "UNKNOWN_RUN",
      `${JSON.stringify(runId)} is not a run id (16 hex digits, printed by jobs submit).`,
    );
  }
  const record = await queue.redis.hgetall(runKey(runId));
  if (record.collection === undefined) {
    throw new EmbedkitError(
      "UNKNOWN_RUN",
      `No run ${runId} on the queue at ${queue.label}. List the runs with: embedkit jobs list --queue ${queue.label}`,
      { details: { runId } },
    );
  }
  return record;
}

/** Jobs of one run in BullMQ states (scans the state's list page by page). */
async function jobsOfRun(
  queue: JobQueue,
  runId: string,
  states: Array<"failed" | "active" | "waiting" | "delayed" | "prioritized" | "waiting-children">,
): Promise<Job<ChunkJobData>[]> {
  const jobs: Job<ChunkJobData>[] = [];
  const page = 500;
  for (let start = 0; ; start += page) {
    const batch = (await queue.queue.getJobs(states, start, start + page - 1, true)) as Job<ChunkJobData>[];
    for (const job of batch) if (job?.id?.startsWith(`${runId}-`)) jobs.push(job);
    if (batch.length < page) break;
  }
  return jobs;
}

/**
 * Progress of a run: chunks done/failed/active/pending, documents done,
 * documents per second and ETA, and the failed chunks with their errors.
 * @throws EmbedkitError UNKNOWN_RUN
 */
export async function runStatus(queue: JobQueue, runId: string): Promise<RunStatus> {
  const record = await runRecord(queue, runId);
  const total = Number(record.totalChunks);
  const totalDocs = Number(record.totalDocs);
  const done = await queue.redis.scard(doneKey(runId));
  const doneDocs = Number(record.doneDocs ?? 0);
  const failedJobs = await jobsOfRun(queue, runId, ["failed"]);
  const active = (await jobsOfRun(queue, runId, ["active"])).length;
  const failed = failedJobs.length;
  const pending = Math.max(0, total - done - failed - active);
  let state: RunState;
  if (record.state === "cancelled") state = "cancelled";
  else if (done >= total) state = "done";
  else if (pending === 0 && active === 0 && failed > 0) state = "failed";
  else if (active > 0 || done > 0 || failed > 0) state = "running";
  else state = "queued";
  const firstStart = Number(record.startedAt ?? Number.NaN);
  const lastDone = Number(record.lastDoneAt ?? Number.NaN);
  const end = state === "running" ? Date.now() : lastDone;
  const seconds = (end - firstStart) / 1000;
  const docsPerSecond = doneDocs > 0 && seconds > 0 ? doneDocs / seconds : null;
  const etaSeconds =
    docsPerSecond !== null && (state === "running" || state === "queued")
      ? (totalDocs - doneDocs) / docsPerSecond
      : null;
  return {
    runId,
    state,
    collection: record.collection ?? "",
    store: redactUrl(record.store ?? ""),
    model: record.model ?? "",
    file: record.file ?? "",
    submittedAt: record.submittedAt ?? "",
    chunks: { total, done, failed, active, pending },
    documents: { total: totalDocs, done: doneDocs },
    docsPerSecond,
    etaSeconds,
    workerTime: {
      seconds: Number(record.workerMs ?? 0) / 1000,
      storeWriteSeconds: Number(record.storeWriteMs ?? 0) / 1000,
      storeReadSeconds: Number(record.storeReadMs ?? 0) / 1000,
    },
    failures: failedJobs
      .sort((a, b) => a.data.index - b.data.index)
      .slice(0, 100)
      .map((job) => ({
        index: job.data.index,
        jobId: job.id ?? "",
        error: job.failedReason ?? "",
        attempts: job.attemptsMade,
      })),
  };
}

/** Every run on the queue, newest first. */
export async function listRuns(queue: JobQueue): Promise<RunStatus[]> {
  const ids = await queue.redis.zrevrange(RUNS_KEY, 0, -1);
  const runs: RunStatus[] = [];
  for (const id of ids) {
    if ((await queue.redis.exists(runKey(id))) === 1) runs.push(await runStatus(queue, id));
  }
  return runs;
}

/**
 * Cancel a run: its waiting, delayed and failed chunks are removed; a chunk a
 * worker is processing finishes (chunks are atomic upserts). Chunks already
 * written stay in the collection. Submitting the same file again resumes it.
 * @returns the number of chunk jobs removed
 * @throws EmbedkitError UNKNOWN_RUN
 */
export async function cancelRun(queue: JobQueue, runId: string): Promise<number> {
  const record = await runRecord(queue, runId);
  await queue.redis.hset(runKey(runId), "state", "cancelled");
  let removed = 0;
  const total = Number(record.totalChunks);
  for (let index = 0; index < total; index += 1) {
    removed += await queue.queue.remove(chunkJobId(runId, index));
  }
  return removed;
}

/** Options of {@link retryFailed}. */
export interface RetryFailedOptions {
  /** Change the chunks' truncation setting before retrying (the fix for INPUT_TOO_LONG). */
  readonly truncate?: boolean;
}

/**
 * Move a run's failed chunks (the dead letter) back to the queue, with fresh
 * attempts, optionally after changing their settings.
 * @returns the number of chunks retried
 * @throws EmbedkitError UNKNOWN_RUN
 */
export async function retryFailed(
  queue: JobQueue,
  runId: string,
  options: RetryFailedOptions = {},
): Promise<number> {
  await runRecord(queue, runId);
  const failed = await jobsOfRun(queue, runId, ["failed"]);
  await queue.redis.hset(runKey(runId), "state", "queued");
  for (const job of failed) {
    if (options.truncate !== undefined && options.truncate !== job.data.truncate) {
      await job.updateData({ ...job.data, truncate: options.truncate });
    }
    await job.retry("failed");
  }
  return failed.length;
}
