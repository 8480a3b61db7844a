/**
 * @module embed/retry-policy
 * When and how long to wait before retrying a failed call (an HTTP request of
 * the OpenAI provider, or any provider's transient failure): which statuses are
 * transient, exponential backoff with full jitter (so many clients hitting one
 * rate limit spread out instead of retrying in lockstep), the server's own
 * `retry-after-ms` / `Retry-After` hints, and a sleep that a caller's
 * AbortSignal interrupts. Pure helpers; the pipeline core (pipeline.ts) owns the loop.
 */

/** Statuses worth retrying: rate limiting and transient server or gateway failures. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/**
 * The server's requested wait in milliseconds, from `retry-after-ms` (OpenAI's
 * extension, milliseconds) or `Retry-After` (seconds or an HTTP date), or
 * undefined when absent or unparseable.
 */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const milliseconds = headers.get("retry-after-ms");
  if (milliseconds !== null && milliseconds.trim() !== "") {
    const value = Number(milliseconds);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const retryAfter = headers.get("retry-after");
  if (retryAfter === null || retryAfter.trim() === "") return undefined;
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Options of {@link retryDelay}. */
export interface RetryDelayOptions {
  /** Zero-based number of the retry about to happen. */
  readonly attempt: number;
  /** Ceiling of the first backoff window. */
  readonly initialDelayMs: number;
  /** Largest wait, for backoff and for honoured server hints alike. */
  readonly maxDelayMs: number;
  /** The server's hint from {@link parseRetryAfter}, if any. */
  readonly retryAfterMs?: number | undefined;
  /** Random source in [0, 1), injectable for tests. @default Math.random */
  readonly random?: () => number;
}

/**
 * Milliseconds to wait before the next attempt. A server hint wins when it is
 * within `maxDelayMs` (the server knows its rate-limit window; a hint above the
 * ceiling is treated as no hint rather than stalling for minutes). Otherwise
 * "full jitter": uniform in [0, min(max, initial × 2^attempt)).
 */
export function retryDelay(options: RetryDelayOptions): number {
  const { retryAfterMs, maxDelayMs } = options;
  if (retryAfterMs !== undefined && retryAfterMs <= maxDelayMs) return retryAfterMs;
  const ceiling = Math.min(maxDelayMs, options.initialDelayMs * 2 ** options.attempt);
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * Wait `milliseconds`, rejecting with the signal's reason as soon as it aborts.
 * The timer is cleared on abort so a cancelled job leaves nothing pending.
 */
export function sleep(milliseconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, milliseconds);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
