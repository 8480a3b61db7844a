/**
 * @module server/batcher
 * Dynamic batching for one model. Requests that arrive close together are
 * coalesced into a single `embed` call: the first request in an empty queue
 * waits at most `maxWaitMs` for company, a batch leaves early once the queued
 * tokens fill `maxBatchTokens`, and at most one batch runs at a time (the ONNX
 * session already uses every core), so requests arriving during a run simply
 * form the next batch. Length-sorting and padding-aware splitting happen inside
 * `embed`. The queue is bounded (`maxQueue` requests): beyond it `submit`
 * rejects with 429 and a Retry-After estimate instead of growing memory. A
 * request whose signal aborts (client gone, deadline passed) while queued is
 * dropped before it costs any inference. The wait is adaptive: after a batch
 * that held a single request (no concurrency seen), the next request is
 * dispatched at once, so a lone client never pays `maxWaitMs` per request;
 * as soon as a batch coalesces two or more requests, waiting resumes.
 *
 * With batching disabled every request becomes its own `embed` call started at
 * once, like a naive server, still bounded by `maxQueue` requests in flight.
 */
import { HttpError } from "./http-error.js";

/** One request's share of work. */
export interface BatchJob {
  /** Texts to embed (already validated and checked against the model's limit). */
  readonly texts: readonly string[];
  /** Token cost of the texts (special tokens included), for the batch budget. */
  readonly tokens: number;
  /** Aborts the job while it is still queued (client disconnect, deadline). */
  readonly signal?: AbortSignal;
}

/** What one executed batch looked like (for metrics). */
export interface BatchReport {
  readonly requests: number;
  readonly inputs: number;
  readonly tokens: number;
  readonly milliseconds: number;
  readonly failed: boolean;
}

/** Options of {@link createBatcher}. */
export interface BatcherOptions {
  /** Embeds a list of texts into unit vectors at the model's full dimensions, in order. */
  readonly run: (texts: readonly string[]) => Promise<Float32Array[]>;
  /** Coalesce concurrent requests. @default true */
  readonly enabled?: boolean;
  /** Longest time the first queued request waits for others. @default 2 */
  readonly maxWaitMs?: number;
  /** Token budget of one batch; a bigger single request still runs (alone). @default 8192 */
  readonly maxBatchTokens?: number;
  /** Most requests waiting (batching) or in flight (no batching); beyond it, 429. @default 1024 */
  readonly maxQueue?: number;
  /** Called after every batch. */
  readonly onBatch?: (report: BatchReport) => void;
  /** Called whenever the number of queued requests changes. */
  readonly onQueueDepth?: (depth: number) => void;
}

/** A per-model request coalescer. */
export interface Batcher {
  /**
   * Queue a job and resolve to its vectors (full model dimensions, input order).
   * @throws HttpError 429 when the queue is full; the signal's reason when aborted while queued;
   *   HttpError 503 after {@link Batcher.close}
   */
  submit(job: BatchJob): Promise<Float32Array[]>;
  /** Requests waiting for a batch. */
  readonly depth: number;
  /** True while anything is queued or running. */
  readonly busy: boolean;
  /** Reject everything queued with 503 and refuse new jobs. */
  close(): void;
}

interface Entry {
  readonly job: BatchJob;
  readonly resolve: (vectors: Float32Array[]) => void;
  readonly reject: (error: unknown) => void;
  readonly enqueuedAt: number;
  removeAbortListener: () => void;
}

/** Throughput assumed before the first batch has been measured (tokens/s). */
const INITIAL_TOKENS_PER_SECOND = 1000;
const MAX_RETRY_AFTER_SECONDS = 60;

function checkNonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number ≥ 0, received ${String(value)}.`);
  }
  return value;
}

/**
 * Create a batcher around an embed function.
 *
 * @example
 * ```ts
 * const batcher = createBatcher({ run: async (texts) => (await embedder.embed(texts)).vectors });
 * const [vector] = await batcher.submit({ texts: ["hello"], tokens: 3 });
 * ```
 */
export function createBatcher(options: BatcherOptions): Batcher {
  const enabled = options.enabled ?? true;
  const maxWaitMs = checkNonNegative("maxWaitMs", options.maxWaitMs ?? 2);
  const maxBatchTokens = Math.max(1, checkNonNegative("maxBatchTokens", options.maxBatchTokens ?? 8192));
  const maxQueue = Math.max(1, checkNonNegative("maxQueue", options.maxQueue ?? 1024));
  const queue: Entry[] = [];
  let queuedTokens = 0;
  let running = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // Exponentially weighted throughput, for Retry-After estimates.
  let tokensPerSecond = INITIAL_TOKENS_PER_SECOND;
  // Requests in the last dispatched batch; 1 means no concurrency was seen, so do not wait.
  let lastBatchRequests = Number.POSITIVE_INFINITY;

  function reportDepth(): void {
    options.onQueueDepth?.(queue.length);
  }

  function retryAfterSeconds(): number {
    const seconds = Math.ceil(queuedTokens / Math.max(tokensPerSecond, 1));
    return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, seconds));
  }

  function queueFull(): HttpError {
    const seconds = retryAfterSeconds();
    return new HttpError({
      statusCode: 429,
      code: "rate_limit_exceeded",
      message:
        `The server is at capacity: ${maxQueue} requests are already ${enabled ? "queued" : "in flight"}. ` +
        `Retry after ${seconds} s, lower your concurrency, or start the server with a larger --max-queue.`,
      headers: { "retry-after": String(seconds) },
    });
  }

  function closedError(): HttpError {
    return new HttpError({
      statusCode: 503,
      code: "server_shutting_down",
      message: "The server is shutting down and no longer accepts work. Retry against a running instance.",
    });
  }

  function takeBatch(): Entry[] {
    const batch: Entry[] = [];
    let tokens = 0;
    while (queue.length > 0) {
      const next = queue[0] as Entry;
      if (batch.length > 0 && tokens + next.job.tokens > maxBatchTokens) break;
      queue.shift();
      queuedTokens -= next.job.tokens;
      next.removeAbortListener();
      tokens += next.job.tokens;
      batch.push(next);
    }
    return batch;
  }

  function dispatch(): void {
    const batch = takeBatch();
    lastBatchRequests = batch.length;
    reportDepth();
    const texts: string[] = [];
    let tokens = 0;
    for (const entry of batch) {
      texts.push(...entry.job.texts);
      tokens += entry.job.tokens;
    }
    running++;
    const started = performance.now();
    options
      .run(texts)
      .then(
        (vectors) => {
          const seconds = Math.max((performance.now() - started) / 1000, 1e-3);
          tokensPerSecond = 0.8 * tokensPerSecond + 0.2 * (tokens / seconds);
          let offset = 0;
          for (const entry of batch) {
            const count = entry.job.texts.length;
            entry.resolve(vectors.slice(offset, offset + count));
            offset += count;
          }
          options.onBatch?.({
            requests: batch.length,
            inputs: texts.length,
            tokens,
            milliseconds: performance.now() - started,
            failed: false,
          });
        },
        (error: unknown) => {
          for (const entry of batch) entry.reject(error);
          options.onBatch?.({
            requests: batch.length,
            inputs: texts.length,
            tokens,
            milliseconds: performance.now() - started,
            failed: true,
          });
        },
      )
      .finally(() => {
        running--;
        schedule();
      });
  }

  function schedule(): void {
    if (closed || running > 0 || queue.length === 0) return;
    const waited = performance.now() - (queue[0] as Entry).enqueuedAt;
    const patience = lastBatchRequests > 1 ? maxWaitMs : 0;
    if (queuedTokens >= maxBatchTokens || waited >= patience) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      dispatch();
    } else if (timer === undefined) {
      timer = setTimeout(
        () => {
          timer = undefined;
          schedule();
        },
        Math.max(0, patience - waited),
      );
    }
  }

  function removeEntry(entry: Entry): boolean {
    const index = queue.indexOf(entry);
    if (index === -1) return false;
    queue.splice(index, 1);
    queuedTokens -= entry.job.tokens;
    reportDepth();
    return true;
  }

  async function submitUnbatched(job: BatchJob): Promise<Float32Array[]> {
    if (running >= maxQueue) throw queueFull();
    running++;
    const started = performance.now();
    let failed = true;
    try {
      const vectors = await options.run(job.texts);
      failed = false;
      const seconds = Math.max((performance.now() - started) / 1000, 1e-3);
      tokensPerSecond = 0.8 * tokensPerSecond + 0.2 * (job.tokens / seconds);
      return vectors;
    } finally {
      running--;
      options.onBatch?.({
        requests: 1,
        inputs: job.texts.length,
        tokens: job.tokens,
        milliseconds: performance.now() - started,
        failed,
      });
    }
  }

  return {
    submit(job) {
      if (closed) return Promise.reject(closedError());
      if (job.signal?.aborted) return Promise.reject(job.signal.reason);
      if (!enabled) return submitUnbatched(job);
      if (queue.length >= maxQueue) return Promise.reject(queueFull());
      return new Promise<Float32Array[]>((resolve, reject) => {
        const entry: Entry = {
          job,
          resolve,
          reject,
          enqueuedAt: performance.now(),
          removeAbortListener: () => {},
        };
        const signal = job.signal;
        if (signal !== undefined) {
          const onAbort = (): void => {
            if (removeEntry(entry)) reject(signal.reason);
          };
          signal.addEventListener("abort", onAbort, { once: true });
          entry.removeAbortListener = () => signal.removeEventListener("abort", onAbort);
        }
        queue.push(entry);
        queuedTokens += job.tokens;
        reportDepth();
        schedule();
      });
    },
    get depth() {
      return queue.length;
    },
    get busy() {
      return running > 0 || queue.length > 0;
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      const pending = queue.splice(0, queue.length);
      queuedTokens = 0;
      for (const entry of pending) {
        entry.removeAbortListener();
        entry.reject(closedError());
      }
      reportDepth();
    },
  };
}
