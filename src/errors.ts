/**
 * @module errors
 * The single error catalogue of embedkit. Every failure the library raises on
 * purpose is an {@link EmbedkitError} with a stable `code` from {@link ERROR_CODES};
 * the CLI maps codes to exit codes and the HTTP server maps them to statuses from
 * this one table, so the meaning of an error is decided in exactly one place.
 * Messages say what was wrong, what was expected and received, and how to fix it.
 */

/**
 * Stable error codes. `kind` says whose fault it is: `user` errors are caused by
 * input or configuration and map to exit code 1 / HTTP 4xx; `internal` errors are
 * bugs or environment failures and map to exit code 2 / HTTP 5xx.
 */
export const ERROR_CODES = {
  INVALID_INPUT: { kind: "user", httpStatus: 400 },
  INVALID_OPTION: { kind: "user", httpStatus: 400 },
  INPUT_TOO_LONG: { kind: "user", httpStatus: 400 },
  DIMENSION_MISMATCH: { kind: "user", httpStatus: 400 },
  UNKNOWN_MODEL: { kind: "user", httpStatus: 404 },
  MODEL_NOT_PULLED: { kind: "user", httpStatus: 404 },
  CHECKSUM_MISMATCH: { kind: "user", httpStatus: 500 },
  CORRUPT_MODEL: { kind: "user", httpStatus: 500 },
  DOWNLOAD_FAILED: { kind: "user", httpStatus: 502 },
  LOCK_TIMEOUT: { kind: "user", httpStatus: 503 },
  FILE_NOT_FOUND: { kind: "user", httpStatus: 400 },
  MALFORMED_FILE: { kind: "user", httpStatus: 400 },
  CLOSED: { kind: "user", httpStatus: 500 },
  INFERENCE_FAILED: { kind: "internal", httpStatus: 500 },
  INTERNAL: { kind: "internal", httpStatus: 500 },
  /** A remote embeddings endpoint failed (5xx, network, timeout, malformed reply). */
  REMOTE_ERROR: { kind: "internal", httpStatus: 502 },
  /** A remote endpoint kept rate-limiting (429) after every retry. */
  RATE_LIMITED: { kind: "user", httpStatus: 429 },
  /** A vector collection that does not exist (store/). */
  UNKNOWN_COLLECTION: { kind: "user", httpStatus: 404 },
  /** Creating a collection whose name is taken. */
  COLLECTION_EXISTS: { kind: "user", httpStatus: 409 },
  /** Vectors from one model sent to a collection built with another. */
  MODEL_MISMATCH: { kind: "user", httpStatus: 400 },
  /** A metadata filter that does not parse or does not type-check. */
  INVALID_FILTER: { kind: "user", httpStatus: 400 },
  /** A vector store's files are damaged or not an embedkit store. */
  CORRUPT_STORE: { kind: "user", httpStatus: 500 },
  /** A vector store backend is unreachable (database down, refused connection). */
  STORE_UNAVAILABLE: { kind: "user", httpStatus: 503 },
  /** Media input over a size limit: bytes, pixels (decompression bombs), duration, frames. */
  INPUT_TOO_LARGE: { kind: "user", httpStatus: 413 },
  /** Media whose content is not what the call expects (a PDF named .jpg, a WAV given as an image). */
  UNSUPPORTED_MEDIA: { kind: "user", httpStatus: 415 },
  /** An external program (ffmpeg/ffprobe) or package (onnxruntime-node, sharp, ...) the feature needs is not installed or cannot load. */
  DEPENDENCY_MISSING: { kind: "user", httpStatus: 500 },
  /** A face model was given an image in which it found no face. */
  NO_FACE: { kind: "user", httpStatus: 422 },
  /** The job queue (Redis) is unreachable or refused the connection (jobs/). */
  QUEUE_UNAVAILABLE: { kind: "user", httpStatus: 503 },
  /** A job run id that the queue does not know (jobs/). */
  UNKNOWN_RUN: { kind: "user", httpStatus: 404 },
} as const satisfies Record<string, { kind: "user" | "internal"; httpStatus: number }>;

/** One of the stable error codes in {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

const MARKER = Symbol.for("embedkit.error");

/** Options accepted by {@link EmbedkitError}. */
export interface EmbedkitErrorOptions {
  /** The underlying error, kept for debugging. */
  readonly cause?: unknown;
  /** Structured details (expected vs received values, paths, limits). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Base class of every error embedkit throws on purpose.
 *
 * @example
 * ```ts
 * try { await embedder.embed([""]); }
 * catch (error) { if (EmbedkitError.isInstance(error)) console.error(error.code, error.message); }
 * ```
 */
export class EmbedkitError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Structured details; safe to show to users. */
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: ErrorCode, message: string, options: EmbedkitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    Object.defineProperty(this, MARKER, { value: true });
    this.name = "EmbedkitError";
    this.code = code;
    this.details = options.details ?? {};
  }

  /**
   * True for any EmbedkitError, even one created by another copy of the package
   * (a `Symbol.for` marker instead of `instanceof`).
   */
  static isInstance(error: unknown): error is EmbedkitError {
    return typeof error === "object" && error !== null && MARKER in error;
  }

  /** Whether this error is the caller's to fix (input/config) rather than a bug. */
  get isUserError(): boolean {
    return ERROR_CODES[this.code].kind === "user";
  }
}

/** Shorthand for `new EmbedkitError(code, message, options)`. */
export function embedkitError(
  code: ErrorCode,
  message: string,
  options?: EmbedkitErrorOptions,
): EmbedkitError {
  return new EmbedkitError(code, message, options);
}

/** Describe a value's type for error messages ("string", "array", "null", ...). */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Float32Array) return "Float32Array";
  return typeof value;
}
