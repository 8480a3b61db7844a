/**
 * @module jobs/queue
 * The connection to the job queue: one BullMQ queue (`embedkit:index`) on a
 * Redis server given by URL, plus the Redis keys embedkit keeps per run
 * (`embedkit:run:<id>` record, `…:done` set of finished chunks, `embedkit:runs`
 * index). The URL is checked with a short, non-retrying ping first, so a dead
 * or wrong URL fails in seconds with QUEUE_UNAVAILABLE instead of hanging.
 */
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { EmbedkitError } from "../errors.js";
import { redactUrl } from "../store/open-vector-store.js";

/** BullMQ queue name (keys `embedkit:index:*`). */
export const QUEUE_NAME = "index";
/** Prefix of every Redis key embedkit writes. */
export const KEY_PREFIX = "embedkit";

/** Redis key of a run's record (hash). */
export const runKey = (runId: string): string => `${KEY_PREFIX}:run:${runId}`;
/** Redis key of a run's finished chunk indexes (set). */
export const doneKey = (runId: string): string => `${KEY_PREFIX}:run:${runId}:done`;
/** Redis key of all runs (sorted set by submit time). */
export const RUNS_KEY = `${KEY_PREFIX}:runs`;
/** BullMQ job id of chunk `index` of `runId` (deterministic: re-adding it is a no-op). */
export const chunkJobId = (runId: string, index: number): string => `${runId}-${index}`;

/** Redis key of a BullMQ job's hash. */
export const jobKey = (jobId: string): string => `${KEY_PREFIX}:${QUEUE_NAME}:${jobId}`;

/** Options of {@link openJobQueue}. */
export interface OpenJobQueueOptions {
  /** How long the first connection may take before QUEUE_UNAVAILABLE. @default 3000 */
  readonly connectTimeoutMs?: number;
}

/** An open job queue: the BullMQ queue and a Redis client for run records. */
export interface JobQueue {
  /** The URL as given (may hold a password: use {@link JobQueue.label} in messages). */
  readonly url: string;
  /** The URL without its password. */
  readonly label: string;
  readonly redis: Redis;
  readonly queue: Queue;
  /** A new Redis connection to the same server (BullMQ workers need their own). */
  connect(): Redis;
  /** Close the queue and the connections (at once when Redis is unreachable). Idempotent. */
  close(): Promise<void>;
}

function checkUrl(url: string): void {
  if (typeof url !== "string" || !/^rediss?:\/\/[^/]/i.test(url)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `--queue must be a Redis URL like redis://127.0.0.1:6379 (or rediss:// for TLS), received ${JSON.stringify(
        typeof url === "string" ? redactUrl(url) : url,
      )}.`,
    );
  }
}

/**
 * Check that the Redis server at `url` answers, within `timeoutMs`, without retries.
 * @throws EmbedkitError QUEUE_UNAVAILABLE naming the URL without its password; INVALID_OPTION for a non-Redis URL
 */
export async function probeQueue(url: string, timeoutMs = 3000): Promise<void> {
  checkUrl(url);
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The first socket error (ECONNREFUSED, ENOTFOUND, auth) says more than "Connection is closed".
  let cause: Error | undefined;
  probe.on("error", (error: Error) => {
    cause ??= error;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new EmbedkitError(
      "QUEUE_UNAVAILABLE",
      `Cannot reach the job queue at ${redactUrl(url)} (${(cause ?? (error as Error)).message}). ` +
        "Check the URL and that Redis runs there; for a local one run scripts/redis-start.sh.",
      { details: { queue: redactUrl(url) } },
    );
  } finally {
    probe.disconnect();
  }
}

/**
 * Open the job queue at a Redis URL (checked first, see {@link probeQueue}).
 * @throws EmbedkitError QUEUE_UNAVAILABLE, INVALID_OPTION
 */
export async function openJobQueue(url: string, options: OpenJobQueueOptions = {}): Promise<JobQueue> {
  await probeQueue(url, options.connectTimeoutMs ?? 3000);
  const connect = () => {
    const client = new Redis(url, { maxRetriesPerRequest: null });
    client.on("error", () => {});
    return client;
  };
  const redis = connect();
  const queueConnection = connect();
  const queue = new Queue(QUEUE_NAME, { connection: queueConnection, prefix: KEY_PREFIX });
  queue.on("error", () => {});
  let closed: Promise<void> | undefined;
  return {
    url,
    label: redactUrl(url),
    redis,
    queue,
    connect,
    close() {
      closed ??= (async () => {
        // With Redis unreachable, BullMQ's close would wait for a reconnect that may
        // never come; there is nothing left to flush then, so just drop the sockets.
        if (redis.status === "ready" && queueConnection.status === "ready") await queue.close();
        else void queue.close().catch(() => {});
        queueConnection.disconnect();
        redis.disconnect();
      })();
      return closed;
    },
  };
}

/** Open the queue at `url`, run `work`, and close it. */
export async function withJobQueue<T>(url: string, work: (queue: JobQueue) => Promise<T>): Promise<T> {
  const queue = await openJobQueue(url);
  try {
    return await work(queue);
  } finally {
    await queue.close();
  }
}

/** One document of a chunk job. */
export interface ChunkDocument {
  readonly id: string;
  readonly text: string;
  readonly metadata?: Record<string, string | number | boolean | null>;
}

/** Payload of a chunk job: everything a worker needs, no shared state. */
export interface ChunkJobData {
  readonly runId: string;
  /** 0-based chunk index in the run. */
  readonly index: number;
  readonly collection: string;
  /** Store location as submitted (workers open it with openVectorStore). */
  readonly store: string;
  /** The collection's model id. */
  readonly model: string;
  readonly truncate: boolean;
  readonly documents: readonly ChunkDocument[];
}
