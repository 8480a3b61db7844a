/**
 * @module jobs/worker
 * A BullMQ worker that indexes chunk jobs: embeds each chunk's documents with
 * the collection's model and upserts them by id into the store named in the
 * job. Delivery is at least once (a chunk can run again after a crash); the
 * upsert by id makes that harmless, and documents already stored unchanged are
 * skipped without embedding.
 *
 * Failure handling: errors of the environment (store down, lock timeouts,
 * network) are retried by BullMQ with exponential backoff; errors of the data
 * or settings (an over-long text with truncation off, a model this worker
 * cannot load or is not configured for) fail the chunk at once. Either way the
 * chunk ends in BullMQ's failed set with its error (the dead letter). A worker
 * that dies mid-chunk loses its lock; BullMQ's stalled check hands the chunk
 * to another worker.
 */
import { type Job, UnrecoverableError, Worker } from "bullmq";
import { createEmbedder } from "../embed/create-embedder.js";
import type { Embedder } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import type { ModelStore } from "../models/model-store.js";
import { indexDocuments } from "../store/documents.js";
import { openVectorStore } from "../store/open-vector-store.js";
import { checkModel } from "../store/validate.js";
import type { Collection, VectorStore } from "../store/vector-store.js";
import { type ChunkJobData, doneKey, KEY_PREFIX, openJobQueue, QUEUE_NAME, runKey } from "./queue.js";

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  /** Chunks processed at once by this worker. @default 1 */
  readonly concurrency?: number;
  /** Inference threads per model. @default os.availableParallelism() */
  readonly threads?: number;
  /** Only index collections of this model; chunks of others fail with MODEL_MISMATCH. */
  readonly model?: string;
  /** Model store (downloads and cache). @default the one at EMBEDKIT_HOME */
  readonly modelStore?: ModelStore;
  /** Documents embedded and written per step inside a chunk. @default 64 */
  readonly batchSize?: number;
  /** How long a chunk's lock lasts without renewal before it counts as stalled (ms). @default 30000 */
  readonly lockDurationMs?: number;
  /** How often stalled chunks are looked for (ms). @default 30000 */
  readonly stalledIntervalMs?: number;
  /** How often a chunk may stall (its worker died) before it is failed. @default 3 */
  readonly maxStalledCount?: number;
  /** Called when a chunk finishes or fails (for logs). */
  readonly onEvent?: (event: WorkerEvent) => void;
}

/** What a worker reports about a chunk. */
export type WorkerEvent =
  | {
      readonly type: "completed";
      readonly runId: string;
      readonly index: number;
      readonly documents: number;
      readonly embedded: number;
      /** Milliseconds of the chunk, from pickup to done. */
      readonly ms: number;
      /** Of which in the store's upserts (writes) and gets (the unchanged-document check). */
      readonly storeWriteMs: number;
      readonly storeReadMs: number;
    }
  | {
      readonly type: "failed";
      readonly runId: string;
      readonly index: number;
      readonly error: string;
      readonly final: boolean;
    }
  | { readonly type: "skipped"; readonly runId: string; readonly index: number; readonly reason: string };

/** A running worker. */
export interface JobWorker {
  /**
   * Finish the chunks in progress, take no new ones, and close models, stores
   * and connections. When Redis is unreachable it does not wait (the chunks in
   * progress cannot be acknowledged; another worker runs them again).
   */
  close(): Promise<void>;
  /** The BullMQ worker (for advanced use). */
  readonly worker: Worker<ChunkJobData>;
}

/** Codes caused by the environment, worth retrying with backoff. */
const TRANSIENT = new Set([
  "STORE_UNAVAILABLE",
  "LOCK_TIMEOUT",
  "REMOTE_ERROR",
  "RATE_LIMITED",
  "DOWNLOAD_FAILED",
]);

/**
 * Record a finished chunk once (a re-run after a crash does not count twice),
 * with its time split: chunk ms, store write ms, store read ms.
 */
const MARK_DONE = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'doneDocs', ARGV[2])
  redis.call('HINCRBY', KEYS[2], 'workerMs', ARGV[4])
  redis.call('HINCRBY', KEYS[2], 'storeWriteMs', ARGV[5])
  redis.call('HINCRBY', KEYS[2], 'storeReadMs', ARGV[6])
end
redis.call('HSET', KEYS[2], 'lastDoneAt', ARGV[3])
return 1`;

/** Time spent in a collection's writes (upsert) and reads (get), in ms. */
interface StoreClock {
  writeMs: number;
  readMs: number;
}

/** `collection` with its upsert and get calls timed into `clock` (everything else passes through). */
function timedCollection(collection: Collection, clock: StoreClock): Collection {
  const timed =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>, field: keyof StoreClock) =>
    async (...args: A): Promise<R> => {
      const start = performance.now();
      try {
        return await call(...args);
      } finally {
        clock[field] += performance.now() - start;
      }
    };
  return new Proxy(collection, {
    get(target, property) {
      if (property === "upsert") return timed(target.upsert.bind(target), "writeMs");
      if (property === "get") return timed(target.get.bind(target), "readMs");
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function describe(error: unknown): string {
  if (EmbedkitError.isInstance(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Start a worker on the queue at `url`. Resolves once connected.
 * @throws EmbedkitError QUEUE_UNAVAILABLE, INVALID_OPTION
 * @example
 * ```ts
 * const worker = await startWorker("redis://127.0.0.1:6379", { concurrency: 1, threads: 2 });
 * process.once("SIGTERM", () => void worker.close());
 * ```
 */
export async function startWorker(url: string, options: WorkerOptions = {}): Promise<JobWorker> {
  for (const [name, value] of Object.entries({
    concurrency: options.concurrency,
    threads: options.threads,
    batchSize: options.batchSize,
    lockDurationMs: options.lockDurationMs,
    stalledIntervalMs: options.stalledIntervalMs,
  })) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `${name} must be a positive integer, received ${String(value)}.`,
      );
    }
  }
  const queue = await openJobQueue(url);
  const embedders = new Map<string, Promise<Embedder>>();
  const stores = new Map<string, Promise<VectorStore>>();

  const embedderFor = (model: string): Promise<Embedder> => {
    let embedder = embedders.get(model);
    if (embedder === undefined) {
      embedder = createEmbedder({
        model,
        ...(options.modelStore === undefined ? {} : { store: options.modelStore }),
        ...(options.threads === undefined ? {} : { threads: options.threads }),
      });
      embedders.set(model, embedder);
      embedder.catch(() => embedders.delete(model));
    }
    return embedder;
  };
  const storeFor = (location: string): Promise<VectorStore> => {
    let store = stores.get(location);
    if (store === undefined) {
      store = openVectorStore(location);
      stores.set(location, store);
      store.catch(() => stores.delete(location));
    }
    return store;
  };

  const process = async (job: Job<ChunkJobData>) => {
    const data = job.data;
    const started = performance.now();
    const key = runKey(data.runId);
    if ((await queue.redis.hget(key, "state")) === "cancelled") {
      options.onEvent?.({ type: "skipped", runId: data.runId, index: data.index, reason: "run cancelled" });
      return { skipped: "cancelled" };
    }
    await queue.redis.hsetnx(key, "startedAt", String(Date.now()));
    if (options.model !== undefined && options.model !== data.model) {
      throw new UnrecoverableError(
        `MODEL_MISMATCH: collection "${data.collection}" uses model "${data.model}" but this worker runs with --model ${options.model}; start a worker for "${data.model}" and retry the failed chunks.`,
      );
    }
    let embedder: Embedder;
    try {
      embedder = await embedderFor(data.model);
    } catch (error) {
      if (EmbedkitError.isInstance(error) && TRANSIENT.has(error.code)) throw new Error(describe(error));
      throw new UnrecoverableError(`This worker cannot load model "${data.model}": ${describe(error)}`);
    }
    try {
      const store = await storeFor(data.store);
      const collection = await store.getCollection(data.collection);
      checkModel(collection.info, data.model, "job's");
      const clock: StoreClock = { writeMs: 0, readMs: 0 };
      const result = await indexDocuments(timedCollection(collection, clock), embedder, data.documents, {
        batchSize: options.batchSize ?? 64,
        truncate: data.truncate,
      });
      const ms = performance.now() - started;
      await queue.redis.eval(
        MARK_DONE,
        2,
        doneKey(data.runId),
        key,
        String(data.index),
        String(data.documents.length),
        String(Date.now()),
        String(Math.round(ms)),
        String(Math.round(clock.writeMs)),
        String(Math.round(clock.readMs)),
      );
      options.onEvent?.({
        type: "completed",
        runId: data.runId,
        index: data.index,
        documents: result.total,
        embedded: result.embedded,
        ms,
        storeWriteMs: clock.writeMs,
        storeReadMs: clock.readMs,
      });
      return { documents: result.total, embedded: result.embedded, skipped: result.skipped };
    } catch (error) {
      if (EmbedkitError.isInstance(error) && !TRANSIENT.has(error.code) && error.code !== "CLOSED") {
        throw new UnrecoverableError(describe(error));
      }
      throw new Error(describe(error));
    }
  };

  const connection = queue.connect();
  const worker = new Worker<ChunkJobData>(QUEUE_NAME, process, {
    connection,
    prefix: KEY_PREFIX,
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 3,
    autorun: true,
  });
  worker.on("error", () => {});
  worker.on("failed", (job, error) => {
    if (job === undefined) return;
    const final =
      error instanceof UnrecoverableError ||
      error.name === "UnrecoverableError" ||
      job.attemptsMade >= (job.opts.attempts ?? 1);
    options.onEvent?.({
      type: "failed",
      runId: job.data.runId,
      index: job.data.index,
      error: error.message,
      final,
    });
  });
  await worker.waitUntilReady();
  let closing: Promise<void> | undefined;
  return {
    worker,
    close() {
      closing ??= (async () => {
        if (connection.status === "ready") await worker.close();
        else {
          // Redis is unreachable: a chunk in progress could not be acknowledged
          // anyway (its lock expires and another worker runs it again), and
          // BullMQ's graceful close would wait for a reconnect. Stop at once.
          void worker.close(true).catch(() => {});
        }
        // BullMQ does not close a connection it was given.
        connection.disconnect();
        for (const embedder of embedders.values()) await (await embedder.catch(() => undefined))?.close();
        for (const store of stores.values()) await (await store.catch(() => undefined))?.close();
        await queue.close();
      })();
      return closing;
    },
  };
}
