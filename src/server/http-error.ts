/**
 * @module server/http-error
 * The server's single error mapping. Everything a route, hook or body parser
 * throws ends up in {@link toErrorResponse}, which turns it into OpenAI's error
 * shape `{"error": {"message", "type", "param", "code"}}` with the right status:
 * {@link EmbedkitError}s take their status from `ERROR_CODES` (the one table of
 * HTTP statuses in src/errors.ts), fastify's own errors (body too large, bad
 * JSON, wrong content type) keep their 4xx status, transport-only conditions
 * (401, 429, 503) are {@link HttpError}s, and anything else is a 500 whose
 * message never leaks internals or stack traces.
 */
import { EmbedkitError, ERROR_CODES } from "../errors.js";

/** OpenAI's error `type` values used by this server. */
export type OpenAiErrorType = "invalid_request_error" | "rate_limit_error" | "server_error";

/** The JSON body of every error response, exactly as OpenAI shapes it. */
export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: OpenAiErrorType;
    readonly param: string | null;
    readonly code: string | null;
  };
}

/** Fields of an {@link HttpError}. */
export interface HttpErrorOptions {
  readonly statusCode: number;
  readonly message: string;
  readonly type?: OpenAiErrorType;
  readonly param?: string | null;
  readonly code?: string | null;
  /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
  readonly headers?: Readonly<Record<string, string>>;
}

const MARKER = Symbol.for("embedkit.http-error");

/**
 * An error that only exists at the HTTP edge (authentication, backpressure,
 * deadlines, unknown routes). Library failures stay {@link EmbedkitError}s.
 *
 * @example
 * ```ts
 * throw new HttpError({ statusCode: 429, message: "Queue full; retry later.", code: "rate_limit_exceeded",
 *   headers: { "retry-after": "1" } });
 * ```
 */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly type: OpenAiErrorType;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Readonly<Record<string, string>>;
  constructor(options: HttpErrorOptions) {
    super(options.message);
    Object.defineProperty(this, MARKER, { value: true });
    this.name = "HttpError";
    this.statusCode = options.statusCode;
    this.type = options.type ?? defaultType(options.statusCode);
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.headers = options.headers ?? {};
  }

  /** True for any HttpError, even from another copy of the package. */
  static isInstance(error: unknown): error is HttpError {
    return typeof error === "object" && error !== null && MARKER in error;
  }
}

/** A fully mapped error response: status, headers and OpenAI-shaped body. */
export interface ErrorResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: OpenAiErrorBody;
  /** True when the cause is ours (a bug or environment failure) and should be logged. */
  readonly internal: boolean;
}

function defaultType(statusCode: number): OpenAiErrorType {
  if (statusCode === 429) return "rate_limit_error";
  return statusCode >= 500 ? "server_error" : "invalid_request_error";
}

function body(
  message: string,
  type: OpenAiErrorType,
  param: string | null,
  code: string | null,
): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

/** OpenAI-style `code` for library error codes where OpenAI has a name for it. */
const OPENAI_CODES: Readonly<Partial<Record<EmbedkitError["code"], string>>> = Object.freeze({
  UNKNOWN_MODEL: "model_not_found",
  MODEL_NOT_PULLED: "model_not_found",
  INPUT_TOO_LONG: "context_length_exceeded",
});

/** Fastify's own error codes we expect, with the status and message users should see. */
const FASTIFY_ERRORS: Readonly<Record<string, { statusCode: number; code: string; message: string }>> =
  Object.freeze({
    FST_ERR_CTP_BODY_TOO_LARGE: {
      statusCode: 413,
      code: "request_too_large",
      message:
        "The request body is larger than this server accepts. Send fewer or shorter inputs per request, " +
        "or start the server with a larger --body-limit.",
    },
    FST_ERR_CTP_INVALID_MEDIA_TYPE: {
      statusCode: 415,
      code: "unsupported_media_type",
      message: 'The request body must be JSON: send it with the header "Content-Type: application/json".',
    },
    FST_ERR_CTP_EMPTY_JSON_BODY: {
      statusCode: 400,
      code: "invalid_json",
      message:
        'The request body is empty. Send a JSON object such as {"model": "all-minilm-l6-v2", "input": "hello"}.',
    },
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
      statusCode: 400,
      code: "invalid_content_length",
      message: "The Content-Length header does not match the body that was sent.",
    },
  });

const INTERNAL_MESSAGE =
  "The server had an error while processing your request. It has been logged; retry, and report it if it persists.";

/**
 * Map anything thrown while handling a request to an OpenAI-shaped response.
 * The only place where errors become HTTP statuses.
 */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (HttpError.isInstance(error)) {
    return {
      statusCode: error.statusCode,
      headers: error.headers,
      body: body(error.message, error.type, error.param, error.code),
      internal: error.statusCode >= 500 && error.code === null,
    };
  }
  if (EmbedkitError.isInstance(error)) {
    const statusCode = ERROR_CODES[error.code].httpStatus;
    const param = typeof error.details.param === "string" ? error.details.param : null;
    // User-caused errors carry messages written for users; internal ones may hold paths and traces.
    const message = error.isUserError ? error.message : INTERNAL_MESSAGE;
    return {
      statusCode,
      headers: {},
      body: body(
        message,
        defaultType(statusCode),
        param,
        OPENAI_CODES[error.code] ?? error.code.toLowerCase(),
      ),
      internal: !error.isUserError,
    };
  }
  const candidate = error as { code?: unknown; statusCode?: unknown; message?: unknown } | null;
  const fastifyCode = typeof candidate?.code === "string" ? candidate.code : "";
  const known = FASTIFY_ERRORS[fastifyCode];
  if (known !== undefined) {
    return {
      statusCode: known.statusCode,
      headers: {},
      body: body(known.message, defaultType(known.statusCode), null, known.code),
      internal: false,
    };
  }
  const statusCode = typeof candidate?.statusCode === "number" ? candidate.statusCode : 500;
  if (statusCode >= 400 && statusCode < 500) {
    // fastify's own 4xx (e.g. a JSON syntax error from a parser): its message is about the request.
    const detail = typeof candidate?.message === "string" ? candidate.message : "invalid request";
    return {
      statusCode,
      headers: {},
      body: body(`Invalid request: ${detail}`, "invalid_request_error", null, null),
      internal: false,
    };
  }
  return {
    statusCode: 500,
    headers: {},
    body: body(INTERNAL_MESSAGE, "server_error", null, null),
    internal: true,
  };
}
