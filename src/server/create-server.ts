/**
 * @module server/create-server
 * The OpenAI-compatible HTTP server: `POST /v1/embeddings` with OpenAI's
 * request and response semantics (so the official clients work by changing
 * only their base URL), `GET /v1/models`, `GET /health` and `GET /metrics`.
 * {@link createServer} returns a configured fastify instance that is not yet
 * listening: tests drive it with `app.inject()`, the `embedkit serve` command
 * calls `listen`. Bodies are parsed strictly (UTF-8 checked before JSON),
 * validated before any model work, and every failure leaves through one error
 * handler in OpenAI's error shape.
 */
import { isUtf8 } from "node:buffer";
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { createEmbedder } from "../embed/create-embedder.js";
import type { Embedder, ModelInfo } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import { checkInteger, checkNumber } from "../internal/options.js";
import { DEFAULT_MODEL_ID } from "../models/catalog.js";
import type { ModelStore } from "../models/model-store.js";
import { createModelStore } from "../models/store-impl.js";
import { openVectorStore } from "../store/open-vector-store.js";
import type { VectorStore } from "../store/vector-store.js";
import { float32ToBase64 } from "../vectors/codec.js";
import { truncateDimensions } from "../vectors/math.js";
import { createApiKeyCheck } from "./auth.js";
import { registerCollectionRoutes, withModel } from "./collection-routes.js";
import { defaultDashboardDir, registerDashboardRoutes } from "./dashboard-routes.js";
import { type EmbeddingsRequest, OPENAI_MAX_INPUTS, parseEmbeddingsRequest } from "./embeddings-request.js";
import { HttpError, toErrorResponse } from "./http-error.js";
import { createMediaModels } from "./media-models.js";
import { createServerMetrics, type ServerMetrics } from "./metrics.js";
import { canDecodeTokenIds, createModelPool, type ModelPool } from "./model-pool.js";
import { contentTokenLimit, pooledEmbedder } from "./pooled-embedder.js";
import { registerRecommendRoutes } from "./recommend-routes.js";
import { untilAborted, watchRequest } from "./request-signal.js";
import { canEmbedInWorker, createWorkerEmbedder } from "./worker-embedder.js";

/** Dynamic batching settings (see src/server/batcher.ts). */
export interface BatchingOptions {
  /** Coalesce concurrent requests for the same model into one embed call. @default true */
  readonly enabled?: boolean;
  /** Longest wait of the first queued request for others to join (ms). @default 2 */
  readonly maxWaitMs?: number;
  /** Token budget of one batch (real tokens, special tokens included). @default 8192 */
  readonly maxBatchTokens?: number;
  /** Most requests queued per model (in flight when batching is off); beyond it, 429. @default 1024 */
  readonly maxQueue?: number;
  /** Target duration of one batch at the measured speed; caps the batch's tokens. @default 250 */
  readonly maxBatchMs?: number;
  /**
   * Longest expected wait of the queue at the measured rate; beyond it, 429 with Retry-After.
   * @default 10 s, or half of `requestTimeoutMs` when that is shorter
   */
  readonly maxQueueMs?: number;
  /**
   * With the inference worker, hand it the next batch shortly before the running one is expected
   * to end, so the runtime never waits for the event loop (see src/server/batcher.ts). No effect
   * on models that run in-process. @default true
   */
  readonly prefetch?: boolean;
}

/** Creates the embedder of a served model (an injection point; the default loads real models). */
export type EmbedderFactory = (model: string, context: { readonly store: ModelStore }) => Promise<Embedder>;

/** Options of {@link createServer}. Every field is optional. */
export interface ServerOptions {
  /**
   * Models served (catalog ids or aliases, `dir:` / `hf:` names), loaded lazily on first use. Only these
   * can ever be downloaded or loaded through the API.
   * @default the default model plus the targets of `aliases`
   */
  readonly models?: readonly string[];
  /** The model `/health` waits for and OpenAI names alias by default. @default models[0] or "all-minilm-l6-v2" */
  readonly defaultModel?: string;
  /**
   * Extra request names → served models. Merged over the defaults, which map
   * `text-embedding-3-small`, `text-embedding-3-large` and `text-embedding-ada-002`
   * to the default model so unchanged OpenAI applications work.
   */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Accepted Bearer keys; none = no authentication. @default [] */
  readonly apiKeys?: readonly string[];
  /** Serve `/metrics` without a key when keys are configured (`/health` is always public). @default false */
  readonly publicMetrics?: boolean;
  /**
   * Host names (without port) the `Host` header may carry; `"*"` allows any. Protects a local server
   * from DNS rebinding (a web page reaching 127.0.0.1 through a name it controls).
   * @default ["localhost", "127.0.0.1", "::1"]
   */
  readonly allowedHosts?: readonly string[];
  /**
   * Accept token-id input (arrays of integers). Off by default: OpenAI clients send tiktoken ids,
   * which mean other words to this server's tokenizers. @default false
   */
  readonly allowTokenIds?: boolean;
  /** Most content tokens in one embeddings request (OpenAI's limit is 300,000). @default 300000 */
  readonly maxRequestTokens?: number;
  /** Most simultaneous TCP connections; further ones are refused. @default 1024 */
  readonly maxConnections?: number;
  /** Largest request body in bytes; larger bodies get 413. @default 8 MiB */
  readonly bodyLimit?: number;
  /** Deadline for receiving and answering one request (ms); 0 disables. @default 60000 */
  readonly requestTimeoutMs?: number;
  /** Allowed CORS origin(s), or "*". @default undefined (CORS off) */
  readonly cors?: string | readonly string[];
  /** Truncate over-long inputs instead of answering 400. @default false */
  readonly autoTruncate?: boolean;
  /** Most items in one `input` array. @default 2048 (OpenAI's limit) */
  readonly maxInputs?: number;
  /** Unload non-default models idle this long (ms); 0 keeps them. @default 0 */
  readonly idleUnloadMs?: number;
  /** Dynamic batching. @default enabled, 2 ms, 8192 tokens, 1024 queued requests */
  readonly batching?: BatchingOptions;
  /** Model cache shared by every model. @default createModelStore() */
  readonly store?: ModelStore;
  /** Inference threads per model. @default os.availableParallelism() */
  readonly threads?: number;
  /**
   * Run the inference of catalog transformer text encoders in a worker thread
   * (src/server/worker-embedder.ts), so the event loop keeps serving HTTP while
   * a batch runs (onnxruntime-node runs a session synchronously on its calling
   * thread). Other models, and any `embedderFactory`, run in-process.
   * @default true
   */
  readonly inferenceWorker?: boolean;
  /**
   * Creates embedders.
   * @default createWorkerEmbedder({ model, store, threads }) for catalog transformer text encoders
   *   (unless `inferenceWorker` is false), else createEmbedder({ model, store, threads })
   */
  readonly embedderFactory?: EmbedderFactory;
  /** fastify request logging. @default false */
  readonly logger?: boolean;
  /** Export process metrics (RSS, CPU, event loop) on /metrics. @default true */
  readonly processMetrics?: boolean;
  /**
   * Vector store behind `/v1/collections` and `/v1/faq`: an open store (the caller closes it), or a
   * location for `openVectorStore` (folder path or URL such as `postgres://…`), opened on first use and
   * closed with the server.
   * @default the embedded store under the model store's home
   */
  readonly vectorStore?: VectorStore | string;
  /**
   * Audio and image models also served on `/v1/embeddings` (e.g. `resemblyzer-ge2e`, `mfcc-stats`):
   * each `input` string is the file's bytes in base64 or a `data:…;base64,` URL. See src/server/media-models.ts.
   * @default []
   */
  readonly mediaModels?: readonly string[];
  /**
   * The web dashboard at `/` (docs/DASHBOARD.md): `true` serves the built assets of the package
   * (`dist/web`), a string serves those of another folder, `false` serves none. Its data routes
   * (`/v1/dashboard/…`) need the API key like every route. @default true
   */
  readonly dashboard?: boolean | string;
  /** Folder of `embedkit eval` / `embedkit inspect` outputs listed on the dashboard's Reports page. */
  readonly reportsDir?: string;
}

/** What the server adds to its fastify instance, under `app.embedkit`. */
export interface ServerControls {
  /** Load the default model (and `extra` models); `/health` is ready once the default is loaded. */
  preload(extra?: readonly string[]): Promise<void>;
  readonly models: ModelPool;
  readonly metrics: ServerMetrics;
  /** The resolved settings (API keys omitted). */
  readonly settings: ResolvedServerSettings;
}

/** The settings a server runs with, defaults filled in. */
export interface ResolvedServerSettings {
  readonly models: readonly string[];
  readonly defaultModel: string;
  readonly aliases: Readonly<Record<string, string>>;
  readonly authentication: boolean;
  readonly publicMetrics: boolean;
  /** Allowed `Host` names, lower-case, without port; `["*"]` = any. */
  readonly allowedHosts: readonly string[];
  readonly allowTokenIds: boolean;
  readonly maxRequestTokens: number;
  readonly maxConnections: number;
  readonly bodyLimit: number;
  readonly requestTimeoutMs: number;
  readonly cors: readonly string[];
  readonly autoTruncate: boolean;
  readonly maxInputs: number;
  readonly idleUnloadMs: number;
  readonly batching: Required<BatchingOptions>;
}

/** A fastify instance configured by {@link createServer}. */
export type EmbedkitServer = FastifyInstance & { readonly embedkit: ServerControls };

/** OpenAI model names that map to the default model unless configured otherwise. */
export const DEFAULT_OPENAI_ALIASES = Object.freeze([
  "text-embedding-3-small",
  "text-embedding-3-large",
  "text-embedding-ada-002",
] as const);

/** Defaults of {@link createServer} (the `embedkit serve` defaults derive from these). */
export const SERVER_DEFAULTS = Object.freeze({
  bodyLimit: 8 * 1024 * 1024,
  requestTimeoutMs: 60_000,
  maxWaitMs: 2,
  maxBatchTokens: 8192,
  maxBatchMs: 250,
  maxQueue: 1024,
  maxRequestTokens: 300_000,
  maxConnections: 1024,
  idleUnloadMs: 0,
} as const);

/** Host names a server bound to loopback answers to by default. */
export const LOOPBACK_HOSTS = Object.freeze(["localhost", "127.0.0.1", "::1"] as const);

/** A host name as compared by the Host check: lower-case, no brackets, no trailing dot. */
function normalizeHost(host: string): string {
  const trimmed = host.trim().toLowerCase();
  const bare = trimmed.startsWith("[") && trimmed.endsWith("]") ? trimmed.slice(1, -1) : trimmed;
  return bare.endsWith(".") ? bare.slice(0, -1) : bare;
}

/** The host name of a `Host` header value (port removed), or undefined when it is malformed. */
function hostOfHeader(value: string): string | undefined {
  const header = value.trim().toLowerCase();
  if (header.startsWith("[")) {
    const close = header.indexOf("]");
    if (close === -1) return undefined;
    const rest = header.slice(close + 1);
    if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return undefined;
    return normalizeHost(header.slice(0, close + 1));
  }
  const match = /^([^:\s]+)(?::\d{1,5})?$/.exec(header);
  return match === null ? undefined : normalizeHost(match[1] as string);
}

/** At most 80 characters of client text for an error message. */
function excerpt(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Deepest nesting of arrays/objects a request body may have (the API needs 3). */
const MAX_JSON_DEPTH = 64;

/**
 * Deepest nesting of a JSON text, found with one pass over its bytes (strings skipped), so a
 * pathological body is refused before `JSON.parse` spends seconds on it.
 */
function jsonDepth(bytes: Uint8Array): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (inString) {
      if (byte === 0x5c) i++;
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x5b || byte === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > MAX_JSON_DEPTH) return deepest;
      }
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/** Request ids clients may choose (echoed back); anything else is replaced by a generated one. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fill defaults and check every option. Never mutates `options`. */
function resolveSettings(options: ServerOptions): ResolvedServerSettings {
  const defaultModel = options.defaultModel ?? options.models?.[0] ?? DEFAULT_MODEL_ID;
  const aliases: Record<string, string> = {};
  for (const name of DEFAULT_OPENAI_ALIASES) aliases[name] = defaultModel;
  Object.assign(aliases, options.aliases ?? {});
  // Only operator-named models are ever loaded: by default the default model and the alias targets.
  const models = options.models ?? [...new Set([defaultModel, ...Object.values(aliases)])];
  const allowedHosts = (options.allowedHosts ?? LOOPBACK_HOSTS).map((host) => normalizeHost(host));
  if (allowedHosts.length === 0 || allowedHosts.some((host) => host === "")) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      'allowedHosts must list host names such as "localhost" or "api.example.com", or "*" for any.',
      { details: { option: "allowedHosts" } },
    );
  }
  const requestTimeoutMs = checkInteger(
    "requestTimeoutMs",
    options.requestTimeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs,
    { min: 0 },
  );
  const cors =
    options.cors === undefined ? [] : typeof options.cors === "string" ? [options.cors] : [...options.cors];
  const maxInputs = checkInteger("maxInputs", options.maxInputs ?? OPENAI_MAX_INPUTS, { min: 1 });
  return {
    models: [...models],
    defaultModel,
    aliases,
    authentication: (options.apiKeys ?? []).length > 0,
    publicMetrics: options.publicMetrics ?? false,
    allowedHosts,
    allowTokenIds: options.allowTokenIds ?? false,
    maxRequestTokens: checkInteger(
      "maxRequestTokens",
      options.maxRequestTokens ?? SERVER_DEFAULTS.maxRequestTokens,
      { min: 1 },
    ),
    maxConnections: checkInteger("maxConnections", options.maxConnections ?? SERVER_DEFAULTS.maxConnections, {
      min: 1,
    }),
    bodyLimit: checkInteger("bodyLimit", options.bodyLimit ?? SERVER_DEFAULTS.bodyLimit, { min: 1 }),
    requestTimeoutMs,
    cors,
    autoTruncate: options.autoTruncate ?? false,
    maxInputs,
    idleUnloadMs: checkInteger("idleUnloadMs", options.idleUnloadMs ?? SERVER_DEFAULTS.idleUnloadMs, {
      min: 0,
    }),
    batching: {
      enabled: options.batching?.enabled ?? true,
      prefetch: options.batching?.prefetch ?? true,
      maxWaitMs: checkNumber("batching.maxWaitMs", options.batching?.maxWaitMs ?? SERVER_DEFAULTS.maxWaitMs, {
        min: 0,
      }),
      maxBatchTokens: checkInteger(
        "batching.maxBatchTokens",
        options.batching?.maxBatchTokens ?? SERVER_DEFAULTS.maxBatchTokens,
        { min: 1 },
      ),
      maxQueue: checkInteger("batching.maxQueue", options.batching?.maxQueue ?? SERVER_DEFAULTS.maxQueue, {
        min: 1,
      }),
      maxBatchMs: checkNumber(
        "batching.maxBatchMs",
        options.batching?.maxBatchMs ?? SERVER_DEFAULTS.maxBatchMs,
        {
          min: 1,
        },
      ),
      maxQueueMs: checkNumber(
        "batching.maxQueueMs",
        options.batching?.maxQueueMs ??
          (requestTimeoutMs > 0 ? Math.min(10_000, requestTimeoutMs / 2) : 10_000),
        { min: 1 },
      ),
    },
  };
}

function tooLong(model: ModelInfo, index: number, tokens: number, limit: number): EmbedkitError {
  return new EmbedkitError(
    "INPUT_TOO_LONG",
    `input[${index}] has ${tokens} tokens, but ${model.id} accepts at most ${limit} tokens per input ` +
      `(${model.maxTokens} including special tokens). Shorten or split the input, ` +
      "or start the server with --auto-truncate to cut long inputs to the limit.",
    { details: { param: "input", index, tokens, maxTokens: limit } },
  );
}

/**
 * Refuse a request whose `Host` header names a host this server does not answer to (DNS rebinding).
 * A missing header (HTTP/1.0 clients; browsers always send one) passes.
 * @throws HttpError 403 (code `host_not_allowed`)
 */
function checkHost(header: string | undefined, allowed: readonly string[]): void {
  if (header === undefined) return;
  const host = hostOfHeader(header);
  if (host !== undefined && allowed.includes(host)) return;
  throw new HttpError({
    statusCode: 403,
    code: "host_not_allowed",
    message:
      `This server does not answer to the host "${header.slice(0, 100)}" (allowed: ${allowed.join(", ")}). ` +
      "If you reach it through another name, start it with --allowed-hosts <name>.",
  });
}

/** Refuse token-id input unless the operator allowed it (OpenAI clients send tiktoken ids). */
function refuseTokenIds(request: EmbeddingsRequest, settings: ResolvedServerSettings): void {
  if (settings.allowTokenIds) return;
  const index = request.inputs.findIndex((input) => typeof input !== "string");
  if (index === -1) return;
  throw new HttpError({
    statusCode: 400,
    code: "token_ids_not_supported",
    param: "input",
    message:
      `Invalid 'input': input[${index}] is an array of token ids. This server does not accept token ids by default: ` +
      "OpenAI clients send ids of OpenAI's tiktoken vocabulary, which stand for other words in this server's " +
      "model, so the vectors would be silently wrong. Send the text itself (LangChain's OpenAIEmbeddings: " +
      "set checkEmbeddingCtxLength: false). If your client really sends ids of this model's own tokenizer, " +
      "start the server with --allow-token-ids.",
  });
}

/** The embeddings endpoint's work once the body is valid. */
async function embedRequest(
  request: EmbeddingsRequest,
  context: {
    readonly pool: ModelPool;
    readonly settings: ResolvedServerSettings;
    readonly metrics: ServerMetrics;
    readonly signal: AbortSignal;
  },
): Promise<unknown> {
  const { pool, settings, signal } = context;
  const id = pool.resolve(request.model);
  const acquiring = pool.acquire(id);
  let lease: Awaited<typeof acquiring>;
  try {
    lease = await untilAborted(acquiring, signal);
  } catch (error) {
    // Gave up while the model was loading: hand the lease back once the load ends.
    acquiring.then(
      (late) => late.release(),
      () => {},
    );
    throw error;
  }
  try {
    const model = lease.embedder.model;
    if (request.dimensions !== undefined && request.dimensions > model.dims) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `Invalid 'dimensions': ${request.dimensions} is larger than ${model.id}'s ${model.dims} dimensions. ` +
          `Send a value from 1 to ${model.dims}, or omit it for full vectors.`,
        { details: { param: "dimensions", max: model.dims, received: request.dimensions } },
      );
    }
    const limit = contentTokenLimit(model);
    const texts = request.inputs.map((input, index) => {
      if (typeof input === "string") return input;
      if (!canDecodeTokenIds(lease.embedder)) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `${model.id} does not accept token-id input (it has no subword tokenizer); send text instead.`,
          { details: { param: "input" } },
        );
      }
      let ids = input;
      if (ids.length > limit) {
        if (!settings.autoTruncate) throw tooLong(model, index, ids.length, limit);
        ids = ids.slice(0, limit);
      }
      let text: string;
      try {
        text = lease.embedder.decodeTokenIds(ids);
      } catch (error) {
        if (!EmbedkitError.isInstance(error)) throw error;
        throw new EmbedkitError("INVALID_INPUT", `Invalid 'input': input[${index}]: ${error.message}`, {
          cause: error,
          details: { ...error.details, param: "input", index },
        });
      }
      if (text.trim().length === 0) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `Invalid 'input': input[${index}] holds only special tokens, which decode to no text. Send content tokens.`,
          { details: { param: "input", index } },
        );
      }
      return text;
    });
    const embedded = await untilAborted(
      pooledEmbedder(lease, {
        autoTruncate: settings.autoTruncate,
        maxRequestTokens: settings.maxRequestTokens,
        signal,
      }).embed(texts),
      signal,
    );
    const vectors = embedded.vectors;
    const promptTokens = embedded.usage.tokens;
    context.metrics.tokens.inc({ model: id }, promptTokens);
    const dimensions = request.dimensions;
    return {
      object: "list",
      data: vectors.map((full, index) => {
        const vector =
          dimensions !== undefined && dimensions < full.length ? truncateDimensions(full, dimensions) : full;
        return {
          object: "embedding",
          index,
          embedding: request.encodingFormat === "base64" ? float32ToBase64(vector) : Array.from(vector),
        };
      }),
      model: id,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    };
  } finally {
    lease.release();
  }
}

/**
 * Create the OpenAI-compatible embeddings server (not listening yet).
 *
 * @throws EmbedkitError INVALID_OPTION / UNKNOWN_MODEL for bad options (checked before anything loads)
 * @example
 * ```ts
 * const app = createServer({ models: ["all-minilm-l6-v2"], apiKeys: ["sk-local"] });
 * await app.embedkit.preload();
 * await app.listen({ host: "127.0.0.1", port: 8080 });
 * // any OpenAI client: new OpenAI({ baseURL: "http://127.0.0.1:8080/v1", apiKey: "sk-local" })
 * ```
 */
export function createServer(options: ServerOptions = {}): EmbedkitServer {
  const settings = resolveSettings(options);
  const auth = createApiKeyCheck(options.apiKeys ?? []);
  const metrics = createServerMetrics({ processMetrics: options.processMetrics ?? true });
  const store = options.store ?? createModelStore();
  const factory: EmbedderFactory =
    options.embedderFactory ??
    ((model, context) => {
      const common = {
        model,
        store: context.store,
        ...(options.threads === undefined ? {} : { threads: options.threads }),
      };
      return (options.inferenceWorker ?? true) && canEmbedInWorker(model)
        ? createWorkerEmbedder(common)
        : createEmbedder(common);
    });
  const pool = createModelPool({
    models: settings.models,
    defaultModel: settings.defaultModel,
    aliases: settings.aliases,
    create: (model) => factory(model, { store }),
    batching: settings.batching,
    metrics,
    idleUnloadMs: settings.idleUnloadMs,
  });
  const media = createMediaModels({
    models: options.mediaModels ?? [],
    store,
    ...(options.threads === undefined ? {} : { threads: options.threads }),
  });
  const startedAt = Math.floor(Date.now() / 1000);
  let closing = false;

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: settings.bodyLimit,
    return503OnClosing: false,
    // Our own HTTP server: Node checks request deadlines only every `connectionsCheckingInterval`
    // (30 s by default, so slow bodies lived ~80 s); check every second, cap connections.
    serverFactory: (handler) => {
      const server = createHttpServer(
        {
          requestTimeout: settings.requestTimeoutMs,
          // Headers are small: a client gets 10 s for them, so idle sockets cannot hold slots for a minute.
          headersTimeout:
            settings.requestTimeoutMs > 0 ? Math.min(settings.requestTimeoutMs, 10_000) : 10_000,
          connectionsCheckingInterval: 1000,
        },
        handler,
      );
      server.maxConnections = settings.maxConnections;
      return server;
    },
    requestIdHeader: false,
    genReqId: (raw) => {
      const given = raw.headers["x-request-id"];
      return typeof given === "string" && CLIENT_REQUEST_ID.test(given) ? given : `req-${randomUUID()}`;
    },
    // Malformed percent-encoding and similar router failures answer in OpenAI's shape too.
    frameworkErrors: (_error, request, reply) => {
      const response = toErrorResponse(
        new HttpError({
          statusCode: 400,
          code: "invalid_url",
          message:
            "The request URL could not be routed: its percent-encoding is malformed or a path segment is too long.",
        }),
      );
      // frameworkErrors' reply is typed per route schema; ours has none, so the plain FastifyReply API applies.
      void (reply as unknown as FastifyReply)
        .code(400)
        .header("x-request-id", request.id)
        .send(response.body);
    },
    // Errors Node raises before a request exists (oversized headers, malformed HTTP).
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) {
        socket.destroy(error);
        return;
      }
      const code = (error as NodeJS.ErrnoException).code;
      const [status, reason, message] =
        code === "HPE_HEADER_OVERFLOW"
          ? [
              431,
              "Request Header Fields Too Large",
              "The request headers are larger than this server accepts.",
            ]
          : code === "ERR_HTTP_REQUEST_TIMEOUT"
            ? [408, "Request Timeout", "The request was not received in time."]
            : [400, "Bad Request", "The request is not valid HTTP."];
      const body = JSON.stringify(
        toErrorResponse(new HttpError({ statusCode: status, code: "bad_request", message })).body,
      );
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });

  // JSON only, decoded strictly: invalid UTF-8 is a 400, never silently replaced by U+FFFD.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, raw, done) => {
    const bytes = raw as Buffer;
    if (!isUtf8(bytes)) {
      done(
        new EmbedkitError(
          "INVALID_INPUT",
          "The request body is not valid UTF-8. Encode the JSON body as UTF-8 (escape other bytes as \\uXXXX).",
        ),
      );
      return;
    }
    const text = bytes.toString("utf8");
    if (text.trim().length === 0) {
      done(
        new EmbedkitError(
          "INVALID_INPUT",
          'The request body is empty. Send a JSON object such as {"model": "all-minilm-l6-v2", "input": "hello"}.',
        ),
      );
      return;
    }
    const depth = jsonDepth(bytes);
    if (depth > MAX_JSON_DEPTH) {
      done(
        new EmbedkitError(
          "INVALID_INPUT",
          `The request body nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep; no request of this API needs that.`,
        ),
      );
      return;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      // JSON.parse keeps "__proto__" as a plain key, but any object spread or zod record drops it silently.
      if (text.includes('"__proto__"')) {
        JSON.parse(text, (key, value: unknown) => {
          if (key === "__proto__") {
            throw new EmbedkitError(
              "INVALID_INPUT",
              'The request body uses the key "__proto__", which is not accepted.',
            );
          }
          return value;
        });
      }
      done(null, parsed);
    } catch (error) {
      if (EmbedkitError.isInstance(error)) {
        done(error);
        return;
      }
      done(
        new EmbedkitError(
          "INVALID_INPUT",
          `We could not parse the JSON body of your request (${(error as Error).message}). ` +
            "Send valid JSON with the header Content-Type: application/json.",
          { cause: error },
        ),
      );
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const response = toErrorResponse(error);
    if (response.internal) request.log.error({ err: error }, "internal error");
    if (reply.raw.destroyed) return;
    void reply.code(response.statusCode).headers(response.headers).send(response.body);
  });

  app.setNotFoundHandler((request, reply) => {
    const response = toErrorResponse(
      new HttpError({
        statusCode: 404,
        code: "not_found",
        message:
          `Unknown route ${request.method} ${excerpt(request.url.split("?")[0] ?? "")}. This server serves POST /v1/embeddings, ` +
          "GET /v1/models, /v1/collections, POST /v1/faq/{collection}/ask, GET /health and GET /metrics.",
      }),
    );
    void reply.code(404).type("application/json; charset=utf-8").send(response.body);
  });

  // Routes served without a key: decided on the route the router matched, never on the raw URL.
  const publicRoutes = new Set<string>(["/health", ...(settings.publicMetrics ? ["/metrics"] : [])]);
  const anyHost = settings.allowedHosts.includes("*");
  const corsAll = settings.cors.includes("*");
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header("x-request-id", request.id);
    if (!anyHost) checkHost(request.headers.host, settings.allowedHosts);
    if (settings.cors.length > 0) {
      const origin = request.headers.origin;
      if (origin !== undefined && (corsAll || settings.cors.includes(origin))) {
        reply.header("access-control-allow-origin", corsAll ? "*" : origin);
        reply.header("access-control-expose-headers", "retry-after, x-request-id");
        reply.header("vary", "Origin");
        if (request.method === "OPTIONS") {
          reply.header("access-control-allow-methods", "GET, POST, DELETE, OPTIONS");
          reply.header("access-control-allow-headers", "authorization, content-type, x-request-id");
          reply.header("access-control-max-age", "600");
          return reply.code(204).send();
        }
      }
    }
    if (auth.enabled) {
      // `routeOptions.url` is the matched route's pattern (undefined when nothing matched).
      const route = request.is404 ? undefined : request.routeOptions.url;
      if (route === undefined || !publicRoutes.has(route)) auth.verify(request.headers.authorization);
    }
    return undefined;
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });

  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onClose", async () => {
    await pool.close();
    await media.close();
  });

  app.post("/v1/embeddings", async (request, reply) => {
    const parsed = parseEmbeddingsRequest(request.body, { maxInputs: settings.maxInputs });
    if (!media.has(parsed.model)) refuseTokenIds(parsed, settings);
    if (closing) {
      throw new HttpError({
        statusCode: 503,
        code: "server_shutting_down",
        message: "The server is shutting down. Retry against a running instance.",
      });
    }
    const watch = watchRequest(reply, settings.requestTimeoutMs);
    try {
      if (media.has(parsed.model)) return await media.embed(parsed, watch.signal);
      return await embedRequest(parsed, { pool, settings, metrics, signal: watch.signal });
    } finally {
      watch.release();
    }
  });

  const modelEntry = (entry: { id: string; root: string }): Record<string, unknown> => ({
    id: entry.id,
    object: "model",
    created: startedAt,
    owned_by: "embedkit",
    root: entry.root,
  });

  app.get("/v1/models", async () => ({
    object: "list",
    data: [...pool.list(), ...media.list().map((id) => ({ id, root: id }))].map(modelEntry),
  }));

  app.get<{ Params: { model: string } }>("/v1/models/:model", async (request) => {
    const id = pool.resolve(request.params.model);
    const entry = pool.list().find((candidate) => candidate.id === request.params.model) ?? { id, root: id };
    return modelEntry(entry);
  });

  app.get("/health", async (_request, reply) => {
    const loaded = pool.list().filter((entry) => entry.loaded && entry.id === entry.root);
    const ready = !closing && pool.isLoaded(pool.defaultModel);
    return reply.code(ready ? 200 : 503).send({
      status: closing ? "closing" : ready ? "ok" : "loading",
      default_model: pool.defaultModel,
      loaded_models: loaded.map((entry) => entry.id),
    });
  });

  app.get("/metrics", async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // Collections and FAQ answering share the pool, auth and error handler (src/server/collection-routes.ts).
  let vectorStore: Promise<VectorStore> | undefined;
  const givenStore = typeof options.vectorStore === "object" ? options.vectorStore : undefined;
  const openStoreOnce = (): Promise<VectorStore> => {
    if (givenStore !== undefined) return Promise.resolve(givenStore);
    vectorStore ??= openVectorStore(
      typeof options.vectorStore === "string" ? options.vectorStore : undefined,
      {
        home: store.home,
      },
    );
    // A failed open is forgotten so the next request retries.
    vectorStore.catch(() => {
      vectorStore = undefined;
    });
    return vectorStore;
  };
  app.addHook("onClose", async () => {
    const opened = vectorStore;
    if (opened !== undefined) await (await opened.catch(() => undefined))?.close();
  });
  const routeContext = {
    pool,
    store: openStoreOnce,
    maxDocuments: settings.maxInputs,
    autoTruncate: settings.autoTruncate,
    requestTimeoutMs: settings.requestTimeoutMs,
    maxRequestTokens: settings.maxRequestTokens,
  };
  registerCollectionRoutes(app, routeContext);
  // The dashboard: public static assets (added to publicRoutes), data routes behind the key.
  registerDashboardRoutes(app, {
    pool,
    store: openStoreOnce,
    metrics,
    assetsDir:
      options.dashboard === false
        ? false
        : typeof options.dashboard === "string"
          ? options.dashboard
          : defaultDashboardDir(),
    reportsDir: options.reportsDir,
    home: store.home,
    openEmbedder: (model) => factory(model, { store }),
    publicRoutes,
    startedAt,
  });
  // Recommendations share the pool, the store and the bounded, batched query embedding.
  registerRecommendRoutes(app, {
    pool,
    store: openStoreOnce,
    home: store.home,
    embedQuery: (model, owner, text, reply) =>
      withModel(routeContext, { reply }, model, owner, async (embedder) => {
        const { vectors } = await embedder.embed([text], { inputType: "query" });
        return vectors[0] as Float32Array;
      }),
  });

  const controls: ServerControls = {
    async preload(extra = []) {
      await pool.preload(pool.defaultModel);
      for (const name of extra) await pool.preload(pool.resolve(name));
    },
    models: pool,
    metrics,
    settings,
  };
  app.decorate("embedkit", controls);
  // decorate() adds the property at runtime; the intersection type records it for callers.
  return app as unknown as EmbedkitServer;
}
