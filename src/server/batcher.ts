/**
 * @module server/batcher
 * Dynamic batching for one model, with fair scheduling and bounded latency.
 *
 * - **Coalescing.** Requests that arrive close together share one `embed`
 *   call: the first request in an empty queue waits at most `maxWaitMs` for
 *   company (adaptive: after a batch that held a single request the next one is
 *   dispatched at once, so a lone client never pays the wait), and at most one
 *   batch runs at a time (the ONNX session already uses every core) — or, with
 *   `prefetch` (an embedder that runs off the event loop and queues its calls),
 *   the next batch is handed over shortly before the running one is expected
 *   to end, so the runtime never idles while the event loop forms a batch.
 * - **Short batches.** A batch holds at most `maxBatchTokens` tokens and, once
 *   the model's speed is measured, no more than it processes in `maxBatchMs`,
 *   so a request that arrives while a batch runs waits a fraction of a second.
 * - **Slices and round-robin.** A batch is filled round-robin over the queued
 *   requests, each giving a slice of its next texts (at most a quarter of the
 *   budget per turn while others wait), so a small request is served between the
 *   slices of a huge one instead of behind all of it.
 * - **Cancellation.** A request whose signal aborts (client gone, deadline
 *   passed) loses its queued texts at once; a running batch gets a signal that
 *   aborts when every request in it has aborted, and the embedder stops between
 *   its sub-batches.
 * - **Backpressure by time, not only count.** A request is admitted only while
 *   its expected completion under round-robin sharing — its own tokens plus, of
 *   every queued request, at most as many tokens as its own — is within
 *   `maxQueueMs` at the measured rate (an idle queue always admits), and while
 *   fewer than `maxQueue` requests wait; otherwise 429 with a `Retry-After` =
 *   the time the work queued ahead takes to drain at the measured rate.
 *
 * With batching disabled every request becomes its own `embed` call started at
 * once, like a naive server, still bounded by `maxQueue` requests in flight.
 */
import type { InputType } from "../embed/embedder.js";
import { checkNumber } from "../internal/options.js";
import { HttpError } from "./http-error.js";

/** One request's share of work. */
export interface BatchJob {
  /** Texts to embed (already validated and checked against the model's limit). */
  readonly texts: readonly string[];
  /** Token cost of the texts (special tokens included), for the batch budget. */
  readonly tokens: number;
  /** Token cost of each text (same order as `texts`); when absent the cost is spread evenly. */
  readonly textTokens?: readonly number[];
  /** Aborts the job: queued texts are dropped, a running batch stops once all its requests aborted. */
  readonly signal?: AbortSignal;
  /** Query/passage prefixes to apply; a batch only mixes jobs of the same input type. */
  readonly inputType?: InputType;
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
  /**
   * Embeds a list of texts into unit vectors at the model's full dimensions, in order.
   * `signal` aborts when nobody waits for the result any more.
   */
  readonly run: (
    texts: readonly string[],
    signal: AbortSignal,
    inputType: InputType | undefined,
  ) => Promise<Float32Array[]>;
  /** Coalesce concurrent requests. @default true */
  readonly enabled?: boolean;
  /** Longest time the first queued request waits for others. @default 2 */
  readonly maxWaitMs?: number;
  /** Token budget of one batch; a single text above it still runs (alone). @default 8192 */
  readonly maxBatchTokens?: number;
  /** Target duration of one batch at the measured speed (caps the token budget). @default 250 */
  readonly maxBatchMs?: number;
  /** Most requests waiting (batching) or in flight (no batching); beyond it, 429. @default 1024 */
  readonly maxQueue?: number;
  /** Longest expected drain time of the queue at the measured rate; beyond it, 429. @default 30000 */
  readonly maxQueueMs?: number;
  /** Throughput assumed before the first batch is measured (tokens/s). @default 2000 */
  readonly initialTokensPerSecond?: number;
  /**
   * Hand the next batch to `run` when the running one is expected to end within a fifth of its
   * duration (at least {@link PREFETCH_LEAD_MS}), so at most two are in flight. Only for a `run`
   * that queues calls and executes them one at a time off the event loop (the inference worker).
   * @default false
   */
  readonly prefetch?: boolean;
  /** Called after every batch. */
  readonly onBatch?: (report: BatchReport) => void;
  /** Called whenever the number of queued requests changes. */
  readonly onQueueDepth?: (depth: number) => void;
}

/** A per-model request coalescer. */
export interface Batcher {
  /**
   * Queue a job and resolve to its vectors (full model dimensions, input order).
   * @throws HttpError 429 when the queue is full; the signal's reason when aborted;
   *   HttpError 503 after {@link Batcher.close}
   */
  submit(job: BatchJob): Promise<Float32Array[]>;
  /**
   * Refuse early (before tokenizing) when even a job of `tokens` would not be admitted now.
   * @throws HttpError 429 with Retry-After
   */
  checkCapacity(tokens: number): void;
  /** Requests waiting for a batch. */
  readonly depth: number;
  /** Tokens waiting for a batch. */
  readonly queuedTokens: number;
  /** Measured throughput (tokens/s, exponentially weighted). */
  readonly tokensPerSecond: number;
  /** True while anything is queued or running. */
  readonly busy: boolean;
  /** Reject everything queued with 503 and refuse new jobs. */
  close(): void;
}

/** A slice of one request's texts taken into a batch. */
interface Chunk {
  readonly request: Pending;
  /** Index of the chunk's first text in the request. */
  readonly start: number;
  readonly texts: readonly string[];
  readonly tokens: number;
}

interface Pending {
  readonly job: BatchJob;
  /** Token cost of each text. */
  readonly costs: readonly number[];
  readonly vectors: Float32Array[];
  readonly enqueuedAt: number;
  /** First text not yet taken into a batch. */
  next: number;
  /** Tokens of the texts not yet taken. */
  remainingTokens: number;
  /** Texts taken into batches whose vectors have not arrived. */
  inFlight: number;
  settled: boolean;
  readonly resolve: (vectors: Float32Array[]) => void;
  readonly reject: (error: unknown) => void;
  removeAbortListener: () => void;
}

const MAX_RETRY_AFTER_SECONDS = 60;
/** Smallest time-derived batch budget, so a slow measurement never starves batching. */
const MIN_BATCH_TOKENS = 256;
/** Batch budget before the model's speed has been measured (≈ 0.5 s on two cores for small encoders). */
const UNMEASURED_BATCH_TOKENS = 2048;
/** Least lead time of a prefetched batch: posting it and waking the runtime must fit in it. */
export const PREFETCH_LEAD_MS = 5;

/** Token cost of each text of a job (spread evenly when the job gives only a total). */
function textCosts(job: BatchJob): number[] {
  if (job.textTokens !== undefined && job.textTokens.length === job.texts.length) return [...job.textTokens];
  const each = Math.max(1, Math.ceil(job.tokens / Math.max(job.texts.length, 1)));
  return job.texts.map(() => each);
}

/** Take the next texts of a request, at most `room` tokens (always at least one text). */
function takeSlice(request: Pending, room: number): Chunk {
  const start = request.next;
  let end = start;
  let tokens = 0;
  while (end < request.costs.length) {
    const cost = request.costs[end] as number;
    if (end > start && tokens + cost > room) break;
    tokens += cost;
    end++;
  }
  request.next = end;
  request.remainingTokens -= tokens;
  request.inFlight += end - start;
  return { request, start, texts: request.job.texts.slice(start, end), tokens };
}

/**
 * Create a batcher around an embed function.
 *
 * @example
 * ```ts
 * const batcher = createBatcher({ run: async (texts, signal) => (await embedder.embed(texts, { signal })).vectors });
 * const [vector] = await batcher.submit({ texts: ["hello"], tokens: 3 });
 * ```
 */
export function createBatcher(options: BatcherOptions): Batcher {
  const enabled = options.enabled ?? true;
  const maxWaitMs = checkNumber("maxWaitMs", options.maxWaitMs ?? 2, { min: 0 });
  const maxBatchTokens = Math.max(
    1,
    checkNumber("maxBatchTokens", options.maxBatchTokens ?? 8192, { min: 0 }),
  );
  const maxBatchMs = Math.max(1, checkNumber("maxBatchMs", options.maxBatchMs ?? 250, { min: 0 }));
  const maxQueue = Math.max(1, checkNumber("maxQueue", options.maxQueue ?? 1024, { min: 0 }));
  const maxQueueMs = Math.max(1, checkNumber("maxQueueMs", options.maxQueueMs ?? 30_000, { min: 0 }));
  // Requests with texts not yet taken, in round-robin order.
  const queue: Pending[] = [];
  let queuedTokens = 0;
  let running = 0;
  const prefetch = options.prefetch ?? false;
  // When the work handed to `run` so far is expected to be done (prefetch), and when the last batch ended.
  let expectedEnd = 0;
  let lastFinished = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let measured = false;
  // Exponentially weighted throughput, for batch budgets, admission and Retry-After.
  let tokensPerSecond = Math.max(1, options.initialTokensPerSecond ?? 2000);
  // Requests in the last dispatched batch; 1 means no concurrency was seen, so do not wait.
  let lastBatchRequests = Number.POSITIVE_INFINITY;

  function reportDepth(): void {
    options.onQueueDepth?.(queue.length);
  }

  function batchBudget(): number {
    if (!measured) return Math.min(maxBatchTokens, UNMEASURED_BATCH_TOKENS);
    const byTime = Math.floor((tokensPerSecond * maxBatchMs) / 1000);
    return Math.min(maxBatchTokens, Math.max(MIN_BATCH_TOKENS, byTime));
  }

  function observe(tokens: number, milliseconds: number): void {
    const rate = tokens / Math.max(milliseconds / 1000, 1e-3);
    tokensPerSecond = measured ? 0.8 * tokensPerSecond + 0.2 * rate : rate;
    measured = true;
  }

  /** Seconds until `tokens` of queued work drain at the measured rate (1–60). */
  function retryAfter(tokens: number): number {
    const seconds = Math.ceil(Math.max(tokens, 1) / Math.max(tokensPerSecond, 1));
    return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, seconds));
  }

  function rejectFull(reason: string, excessTokens: number): HttpError {
    const seconds = retryAfter(excessTokens);
    return new HttpError({
      statusCode: 429,
      code: "rate_limit_exceeded",
      message:
        `The server is at capacity: ${reason}. Retry after ${seconds} s, lower your concurrency or request size, ` +
        "or start the server with a larger --max-queue / --max-queue-ms.",
      headers: { "retry-after": String(seconds) },
    });
  }

  function admissionError(tokens: number): HttpError | undefined {
    if (!enabled) {
      return running >= maxQueue
        ? rejectFull(`${maxQueue} requests are already in flight`, tokensPerSecond)
        : undefined;
    }
    if (queue.length >= maxQueue) {
      return rejectFull(`${maxQueue} requests are already queued`, queuedTokens / Math.max(queue.length, 1));
    }
    // An idle queue always admits (a big request then meets its deadline, not a 429).
    if (queuedTokens === 0) return undefined;
    // Round-robin is processor sharing: a job of `tokens` finishes after at most `tokens` of every
    // queued request's remaining work plus its own, so one huge request never locks small ones out.
    let ahead = 0;
    for (const request of queue) ahead += Math.min(request.remainingTokens, tokens);
    const capacity = (tokensPerSecond * maxQueueMs) / 1000;
    if (ahead + tokens > capacity) {
      return rejectFull(
        `${queue.length} requests with ${queuedTokens} tokens are queued, about ${Math.ceil(
          (ahead + tokens) / tokensPerSecond,
        )} s of work before this one would finish`,
        // Come back once the work queued ahead has drained: retrying sooner meets the same queue
        // (closed-loop clients refill it), which made 1 s hints wrong two times out of three at 512 clients.
        ahead + tokens,
      );
    }
    return undefined;
  }

  function closedError(): HttpError {
    return new HttpError({
      statusCode: 503,
      code: "server_shutting_down",
      message: "The server is shutting down and no longer accepts work. Retry against a running instance.",
    });
  }

  function settle(request: Pending, error?: unknown): void {
    if (request.settled) return;
    request.settled = true;
    request.removeAbortListener();
    if (error === undefined) request.resolve(request.vectors);
    else request.reject(error);
  }

  /** Drop a request's texts not yet taken into a batch (it failed or was aborted). */
  function dropQueued(request: Pending): void {
    const index = queue.indexOf(request);
    if (index !== -1) queue.splice(index, 1);
    queuedTokens -= request.remainingTokens;
    request.remainingTokens = 0;
    request.next = request.costs.length;
    reportDepth();
  }

  /**
   * Fill one batch round-robin over the queued requests of the head request's input type: each
   * gives a slice, then goes behind the others. Requests of another type keep their place and come
   * first next time.
   */
  function takeBatch(): { readonly chunks: Chunk[]; readonly inputType: InputType | undefined } {
    const budget = batchBudget();
    const inputType = (queue[0] as Pending).job.inputType;
    const others = queue.filter((request) => request.job.inputType !== inputType);
    const turn = queue.filter((request) => request.job.inputType === inputType);
    const chunks: Chunk[] = [];
    let tokens = 0;
    while (turn.length > 0) {
      const request = turn[0] as Pending;
      const nextCost = request.costs[request.next] as number;
      if (chunks.length > 0 && tokens + nextCost > budget) break;
      // A slice per turn of at most a quarter budget while others wait, so several requests share a batch.
      const room = Math.max(budget - tokens, 1);
      const chunk = takeSlice(request, turn.length > 1 ? Math.min(room, Math.ceil(budget / 4)) : room);
      turn.shift();
      if (request.next < request.costs.length) turn.push(request);
      queuedTokens -= chunk.tokens;
      tokens += chunk.tokens;
      chunks.push(chunk);
    }
    queue.splice(0, queue.length, ...others, ...turn);
    return { chunks, inputType };
  }

  function dispatch(): void {
    const { chunks: batch, inputType } = takeBatch();
    const requests = [...new Set(batch.map((chunk) => chunk.request))];
    lastBatchRequests = requests.length;
    reportDepth();
    const texts: string[] = [];
    let tokens = 0;
    for (const chunk of batch) {
      texts.push(...chunk.texts);
      tokens += chunk.tokens;
    }
    // The batch's own signal: aborted once every request in it has given up.
    const controller = new AbortController();
    const watchers = requests.map((request) => {
      const signal = request.job.signal;
      if (signal === undefined) return () => {};
      const check = (): void => {
        if (requests.every((r) => r.settled || r.job.signal?.aborted === true)) controller.abort();
      };
      signal.addEventListener("abort", check, { once: true });
      return () => signal.removeEventListener("abort", check);
    });
    if (requests.every((r) => r.settled || r.job.signal?.aborted === true)) controller.abort();
    running++;
    const started = performance.now();
    const expectedMs = (tokens / Math.max(tokensPerSecond, 1)) * 1000;
    expectedEnd = Math.max(started, expectedEnd) + expectedMs;
    options
      .run(texts, controller.signal, inputType)
      .then(
        (vectors) => {
          // A prefetched batch waited behind the previous one: its own run began when that one ended.
          const finished = performance.now();
          const milliseconds = finished - Math.max(started, lastFinished);
          lastFinished = finished;
          if (!controller.signal.aborted) observe(tokens, milliseconds);
          let offset = 0;
          for (const chunk of batch) {
            const request = chunk.request;
            const count = chunk.texts.length;
            if (!request.settled) {
              for (let i = 0; i < count; i++) {
                request.vectors[chunk.start + i] = vectors[offset + i] as Float32Array;
              }
              request.inFlight -= count;
              if (request.inFlight === 0 && request.next === request.costs.length) settle(request);
            }
            offset += count;
          }
          options.onBatch?.({
            requests: requests.length,
            inputs: texts.length,
            tokens,
            milliseconds,
            failed: false,
          });
        },
        (error: unknown) => {
          for (const request of requests) {
            if (request.settled) continue;
            dropQueued(request);
            settle(request, request.job.signal?.aborted ? request.job.signal.reason : error);
          }
          lastFinished = performance.now();
          options.onBatch?.({
            requests: requests.length,
            inputs: texts.length,
            tokens,
            milliseconds: lastFinished - started,
            failed: true,
          });
        },
      )
      .finally(() => {
        for (const unwatch of watchers) unwatch();
        running--;
        schedule();
      });
  }

  function schedule(): void {
    if (closed || queue.length === 0 || running >= (prefetch ? 2 : 1)) return;
    const now = performance.now();
    if (running === 1) {
      // Prefetch: keep collecting until the running batch is about to end, then hand the next one over.
      const remaining = expectedEnd - now;
      const lead = Math.max(PREFETCH_LEAD_MS, (remaining + (now - lastFinished)) / 5);
      if (remaining > lead) {
        if (timer === undefined) {
          timer = setTimeout(() => {
            timer = undefined;
            schedule();
          }, remaining - lead);
        }
        return;
      }
    }
    const oldest = Math.min(...queue.map((request) => request.enqueuedAt));
    const waited = now - oldest;
    const patience = lastBatchRequests > 1 ? maxWaitMs : 0;
    if (queuedTokens >= batchBudget() || waited >= patience) {
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

  async function submitUnbatched(job: BatchJob): Promise<Float32Array[]> {
    const full = admissionError(job.tokens);
    if (full !== undefined) throw full;
    running++;
    const started = performance.now();
    let failed = true;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(job.signal?.reason);
    job.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const vectors = await options.run(job.texts, controller.signal, job.inputType);
      failed = false;
      observe(job.tokens, performance.now() - started);
      return vectors;
    } catch (error) {
      if (job.signal?.aborted) throw job.signal.reason;
      throw error;
    } finally {
      job.signal?.removeEventListener("abort", onAbort);
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
      if (job.texts.length === 0) return Promise.resolve([]);
      if (!enabled) return submitUnbatched(job);
      const full = admissionError(job.tokens);
      if (full !== undefined) return Promise.reject(full);
      return new Promise<Float32Array[]>((resolve, reject) => {
        const costs = textCosts(job);
        const request: Pending = {
          job,
          costs,
          vectors: new Array<Float32Array>(job.texts.length),
          enqueuedAt: performance.now(),
          next: 0,
          remainingTokens: costs.reduce((sum, cost) => sum + cost, 0),
          inFlight: 0,
          settled: false,
          resolve,
          reject,
          removeAbortListener: () => {},
        };
        const signal = job.signal;
        if (signal !== undefined) {
          const onAbort = (): void => {
            dropQueued(request);
            settle(request, signal.reason);
          };
          signal.addEventListener("abort", onAbort, { once: true });
          request.removeAbortListener = () => signal.removeEventListener("abort", onAbort);
        }
        queue.push(request);
        queuedTokens += request.remainingTokens;
        reportDepth();
        schedule();
      });
    },
    checkCapacity(tokens) {
      if (closed) throw closedError();
      const full = admissionError(tokens);
      if (full !== undefined) throw full;
    },
    get depth() {
      return queue.length;
    },
    get queuedTokens() {
      return queuedTokens;
    },
    get tokensPerSecond() {
      return tokensPerSecond;
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
      for (const request of pending) {
        request.remainingTokens = 0;
        request.next = request.costs.length;
        settle(request, closedError());
      }
      reportDepth();
    },
  };
}
