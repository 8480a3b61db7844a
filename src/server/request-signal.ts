/**
 * @module server/request-signal
 * One `AbortSignal` per request: it aborts when the client closes the
 * connection before the response is written (499, never sent) or when the
 * request's deadline passes (503 with Retry-After). Routes hand it to
 * everything that costs time — model loading, token counting, the batcher,
 * the embedder — so abandoned work stops.
 */
import type { FastifyReply } from "fastify";
import { HttpError } from "./http-error.js";

/** Reject when `signal` aborts, even if `promise` is still running (its result is then dropped). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Error used when the client went away; never reaches the client. */
function clientClosed(): HttpError {
  return new HttpError({
    statusCode: 499,
    code: "client_closed_request",
    message: "The client closed the connection before the response was ready.",
  });
}

function deadlinePassed(milliseconds: number): HttpError {
  return new HttpError({
    statusCode: 503,
    code: "timeout",
    message:
      `The request did not finish within ${milliseconds} ms (the server is overloaded or the request is ` +
      "very large). Retry later, send fewer inputs, or raise --timeout-ms.",
    headers: { "retry-after": "1" },
  });
}

/** A request's signal and the function that stops watching (call it when the route is done). */
export interface RequestWatch {
  readonly signal: AbortSignal;
  release(): void;
}

/**
 * Watch a request: its signal aborts on client disconnect or after `timeoutMs` (0 = no deadline).
 * @example
 * ```ts
 * const watch = watchRequest(reply, 60_000);
 * try { await work(watch.signal); } finally { watch.release(); }
 * ```
 */
export function watchRequest(reply: FastifyReply, timeoutMs: number): RequestWatch {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) controller.abort(clientClosed());
  };
  reply.raw.once("close", onClose);
  const deadline =
    timeoutMs > 0 ? setTimeout(() => controller.abort(deadlinePassed(timeoutMs)), timeoutMs) : undefined;
  return {
    signal: controller.signal,
    release() {
      if (deadline !== undefined) clearTimeout(deadline);
      reply.raw.off("close", onClose);
    },
  };
}
