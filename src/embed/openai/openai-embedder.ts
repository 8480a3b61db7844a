/**
 * @module embed/openai/openai-embedder
 * The OpenAI provider: an {@link Embedder} that calls `POST {baseURL}/embeddings`
 * on api.openai.com or any OpenAI-compatible endpoint (embedkit's own server,
 * vLLM, Ollama, LiteLLM, Azure behind a gateway) with plain `fetch` — no SDK, so
 * the library stays dependency-light and every byte on the wire is ours to check.
 * It is a thin provider of the pipeline core (../pipeline.ts): it declares its
 * limits — inputs and estimated tokens per request, `maxParallelRequests`,
 * retries — and the core validates inputs and options first (a bad input sends
 * nothing), splits the job into API-sized requests, runs at most
 * `maxParallelRequests` at once and retries transient failures (429, 5xx,
 * network errors, timeouts: thrown here as TransientError) with exponential
 * backoff and full jitter while honouring `retry-after-ms` / `Retry-After`.
 * One request here is one attempt, under its own timeout; it checks the response
 * with zod (count, indices, vector length, finite values — never silently
 * misaligned); the core reassembles vectors in input order and applies the
 * shared `dimensions` / `precision` post-processing. HTTP failures become {@link EmbedkitError}s that carry the
 * endpoint's own `error.message` / `code`, the status and the URL, never the key.
 * Without the remote tokenizer, token counts are estimates ({@link estimateTokens})
 * and the `truncate` option is left to the endpoint: texts are sent whole, and an
 * endpoint that rejects an over-long input (OpenAI's 400 "maximum context length")
 * surfaces as INPUT_TOO_LONG.
 */
import { EmbedkitError } from "../../errors.js";
import { base64ToFloat32 } from "../../vectors/codec.js";
import type { Embedder, ModelInfo } from "../embedder.js";
import { validateTexts } from "../inputs.js";
import { embedTexts, planContiguous, type TextProvider, TransientError } from "../pipeline.js";
import { parseRetryAfter, RETRYABLE_STATUSES } from "../retry-policy.js";
import { findOpenAIModel } from "./openai-models.js";
import { type EmbeddingsResponse, embeddingsResponseSchema, errorResponseSchema } from "./openai-schema.js";

/** OpenAI's public API; the only base URL for which an API key is mandatory. */
export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

/** How vectors travel over the wire. */
export type OpenAIEncodingFormat = "base64" | "float";

const ENCODING_FORMATS: readonly OpenAIEncodingFormat[] = ["base64", "float"];

/** Options of {@link createOpenAIEmbedder}. */
export interface OpenAIEmbedderOptions {
  /** Model name sent as `model` (e.g. `text-embedding-3-small`, or a compatible server's id). */
  readonly model: string;
  /**
   * API root, up to and including the version segment; `/embeddings` is appended.
   * @default process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1"
   */
  readonly baseURL?: string;
  /**
   * Bearer token. Required for api.openai.com; optional for other endpoints
   * (no `Authorization` header is sent without one).
   * @default process.env.OPENAI_API_KEY
   */
  readonly apiKey?: string;
  /**
   * Output dimensions of the model (`model.dims`). Known OpenAI models default to
   * their table value (3-small 1536, 3-large 3072, ada-002 1536); a smaller value
   * for a text-embedding-3 model is requested from the API. For any other model
   * it is discovered from the first response and fixed thereafter, unless given.
   */
  readonly dimensions?: number;
  /**
   * Send the API's `dimensions` parameter when fewer dimensions are wanted
   * (the server shortens and re-normalizes); otherwise vectors are truncated and
   * re-normalized locally, which is the same operation for Matryoshka-trained models.
   * @default true for text-embedding-3 models, false otherwise
   */
  readonly sendDimensions?: boolean;
  /** Most inputs per request (OpenAI's limit is 2048). @default 2048 */
  readonly maxInputsPerRequest?: number;
  /**
   * Most estimated tokens per request (OpenAI's limit is 300,000). Tokens are
   * estimated by {@link estimateTokens} (no tokenizer is shipped for remote models);
   * lower this if an endpoint still reports too many tokens per request.
   * @default 300000
   */
  readonly maxTokensPerRequest?: number;
  /** Most requests in flight at once for one `embed` call. @default 4 */
  readonly maxParallelRequests?: number;
  /** Retries per request after the first attempt, for transient failures only. @default 4 */
  readonly maxRetries?: number;
  /** Ceiling of the first backoff window; doubles per retry (full jitter). @default 1000 */
  readonly initialRetryDelayMs?: number;
  /** Longest wait between attempts, for backoff and server hints alike. @default 60000 */
  readonly maxRetryDelayMs?: number;
  /** Timeout of one attempt, response body included. @default 60000 */
  readonly timeoutMs?: number;
  /** Extra headers sent with every request (they override the defaults, e.g. for Azure's `api-key`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** `fetch` implementation; meant for tests. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Wire format of vectors. base64 (little-endian float32) is about 4× smaller
   * than JSON numbers and exact; float is for servers without base64 support.
   * Either kind of response is accepted.
   * @default "base64"
   */
  readonly encodingFormat?: OpenAIEncodingFormat;
  /** Query/passage prefixes applied by `inputType` (OpenAI models use none). @default {} */
  readonly prefixes?: ModelInfo["prefixes"];
  /** Normalize vectors to unit length (OpenAI's already are). @default true */
  readonly normalize?: boolean;
  /** Per-input token limit reported in `model.maxTokens` (informational). @default 8192 */
  readonly maxTokens?: number;
}

/** An {@link Embedder} backed by an OpenAI-compatible HTTP endpoint. */
export interface OpenAIEmbedder extends Embedder {
  /**
   * Facts about the remote model. `dims` is 0 until the first response when the
   * model is not a known OpenAI model and no `dimensions` option was given.
   */
  readonly model: ModelInfo;
  /** The embeddings endpoint being called, with any credentials redacted. */
  readonly url: string;
}

/** A contiguous slice `[start, end)` of the inputs sent in one request. */
export interface RequestRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Conservative token estimate for a text whose tokenizer we do not have:
 * ⌈ASCII characters / 3⌉ plus one token per non-ASCII character. English runs
 * about 4 characters per token with OpenAI's BPE and CJK about one token per
 * character, so this over-counts typical text — which is the safe direction for
 * staying under a per-request token limit. At least 1.
 */
export function estimateTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (const character of text) {
    if ((character.codePointAt(0) as number) < 128) ascii++;
    else other++;
  }
  return Math.max(1, Math.ceil(ascii / 3) + other);
}

/**
 * Split inputs (by their token estimates) into contiguous request ranges of at
 * most `maxInputs` inputs and `maxTokens` estimated tokens. An input whose own
 * estimate exceeds the budget travels alone; the endpoint decides about it.
 * Contiguous ranges keep reassembly trivial: range order is input order.
 */
export function planRequests(
  tokenEstimates: readonly number[],
  maxInputs: number,
  maxTokens: number,
): RequestRange[] {
  return planContiguous(tokenEstimates, maxInputs, maxTokens).map((batch) => ({
    start: batch[0] as number,
    end: (batch[batch.length - 1] as number) + 1,
  }));
}

function checkInteger(name: string, value: number, minimum: number): number {
  if (!Number.isInteger(value) || value < minimum) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${name} must be an integer ≥ ${minimum}, received ${String(value)}.`,
      { details: { option: name, received: value } },
    );
  }
  return value;
}

/** An environment variable, with the empty string treated as unset. */
function readEnvironment(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
}

/** `{baseURL}/embeddings`, keeping any query string (Azure's `api-version`). */
function embeddingsUrl(baseURL: string): URL {
  let url: URL;
  try {
    url = new URL(baseURL);
  } catch (error) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `baseURL must be an absolute http(s) URL such as ${OPENAI_DEFAULT_BASE_URL}, received ${JSON.stringify(baseURL)}.`,
      { cause: error, details: { option: "baseURL" } },
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `baseURL must use http or https, received ${JSON.stringify(url.protocol)}.`,
      { details: { option: "baseURL" } },
    );
  }
  if (url.username !== "" || url.password !== "") {
    // fetch refuses such URLs, and echoing them would print the secret.
    throw new EmbedkitError(
      "INVALID_OPTION",
      "baseURL must not contain credentials (user:password@). Pass the key with `apiKey` or `headers`.",
      { details: { option: "baseURL" } },
    );
  }
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/embeddings`;
  return url;
}

/**
 * Text safe to print: the API key replaced by `***` wherever it appears (some
 * gateways take the key in the query string, and some servers echo it back).
 */
function redact(text: string, apiKey: string | undefined): string {
  return apiKey ? text.split(apiKey).join("***").split(encodeURIComponent(apiKey)).join("***") : text;
}

/** Why one attempt failed, and whether another attempt may help. */
interface AttemptFailure {
  readonly error: EmbedkitError;
  readonly retryable: boolean;
  readonly retryAfterMs?: number | undefined;
}

/** Result of one successful request. */
interface RequestResult {
  readonly vectors: Float32Array[];
  readonly tokens: number | undefined;
}

/**
 * Create an embedder for an OpenAI or OpenAI-compatible embeddings endpoint.
 * No request is made until the first `embed` call.
 *
 * @throws EmbedkitError INVALID_OPTION when the API key is missing for
 *   api.openai.com (the message names the `apiKey` option and `OPENAI_API_KEY`),
 *   or when an option is out of range
 * @example
 * ```ts
 * const embedder = createOpenAIEmbedder({ model: "text-embedding-3-small" }); // OPENAI_API_KEY
 * const { vectors } = await embedder.embed(["hello"], { dimensions: 256 });
 *
 * // Any OpenAI-compatible server, e.g. `embedkit serve`:
 * const local = createOpenAIEmbedder({ baseURL: "http://127.0.0.1:8080/v1", model: "all-minilm-l6-v2" });
 * ```
 */
export function createOpenAIEmbedder(options: OpenAIEmbedderOptions): OpenAIEmbedder {
  if (typeof options !== "object" || options === null) {
    throw new EmbedkitError("INVALID_OPTION", "createOpenAIEmbedder needs an options object with a `model`.");
  }
  const modelName = options.model;
  if (typeof modelName !== "string" || modelName.trim() === "") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `model must be a non-empty string such as "text-embedding-3-small", received ${JSON.stringify(modelName)}.`,
      { details: { option: "model" } },
    );
  }
  const baseURL = options.baseURL ?? readEnvironment("OPENAI_BASE_URL") ?? OPENAI_DEFAULT_BASE_URL;
  const endpoint = embeddingsUrl(baseURL);
  const apiKey = options.apiKey || readEnvironment("OPENAI_API_KEY");
  const hasAuthorizationHeader = Object.keys(options.headers ?? {}).some(
    (name) => name.toLowerCase() === "authorization",
  );
  if (apiKey === undefined && !hasAuthorizationHeader && endpoint.hostname === "api.openai.com") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "OpenAI API key is missing. Pass it using the `apiKey` option or the OPENAI_API_KEY environment variable.",
      { details: { option: "apiKey", environmentVariable: "OPENAI_API_KEY" } },
    );
  }
  const url = redact(endpoint.toString(), apiKey);
  const facts = findOpenAIModel(modelName);
  const sendDimensions = options.sendDimensions ?? facts?.supportsDimensions ?? false;
  const configuredDimensions =
    options.dimensions === undefined ? undefined : checkInteger("dimensions", options.dimensions, 1);
  if (facts !== undefined && configuredDimensions !== undefined && configuredDimensions > facts.dims) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `dimensions must be at most ${facts.dims} for ${modelName}, received ${configuredDimensions}.`,
      { details: { option: "dimensions", max: facts.dims, received: configuredDimensions } },
    );
  }
  const maxInputsPerRequest = checkInteger("maxInputsPerRequest", options.maxInputsPerRequest ?? 2048, 1);
  const maxTokensPerRequest = checkInteger("maxTokensPerRequest", options.maxTokensPerRequest ?? 300_000, 1);
  const maxParallelRequests = checkInteger("maxParallelRequests", options.maxParallelRequests ?? 4, 1);
  const maxRetries = checkInteger("maxRetries", options.maxRetries ?? 4, 0);
  const initialRetryDelayMs = checkInteger("initialRetryDelayMs", options.initialRetryDelayMs ?? 1000, 0);
  const maxRetryDelayMs = checkInteger("maxRetryDelayMs", options.maxRetryDelayMs ?? 60_000, 0);
  const timeoutMs = checkInteger("timeoutMs", options.timeoutMs ?? 60_000, 1);
  const maxTokens = checkInteger("maxTokens", options.maxTokens ?? facts?.maxTokens ?? 8192, 1);
  const encodingFormat = options.encodingFormat ?? "base64";
  if (!ENCODING_FORMATS.includes(encodingFormat)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `encodingFormat must be one of ${ENCODING_FORMATS.join(", ")}, received ${JSON.stringify(encodingFormat)}.`,
      { details: { option: "encodingFormat" } },
    );
  }
  const normalize = options.normalize ?? true;
  const prefixes = Object.freeze({ ...(options.prefixes ?? {}) });
  const fetchImplementation = options.fetch ?? globalThis.fetch;
  // Copy now: later changes to the caller's object must not change our requests.
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json",
    ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
    ...(options.headers ?? {}),
  };

  /** Length of vectors the endpoint returns when no `dimensions` is sent. */
  let responseDimensions: number | undefined = facts?.dims ?? configuredDimensions;
  let closed = false;
  const closeController = new AbortController();

  function describeModel(): ModelInfo {
    return Object.freeze({
      id: modelName,
      dims: configuredDimensions ?? responseDimensions ?? 0,
      modality: "text",
      maxTokens,
      // Remote models do not say how they pool; mean is the common case and the
      // field is informational for this provider.
      pooling: "mean",
      normalize,
      prefixes,
      maxBatchSize: maxInputsPerRequest,
    });
  }
  let model = describeModel();

  /** Throw CLOSED after close(), also for a request stopped in flight by it. */
  function assertNotClosed(): void {
    if (closed) {
      throw new EmbedkitError(
        "CLOSED",
        `The embedder for ${modelName} was closed; create a new one with createOpenAIEmbedder().`,
      );
    }
  }

  /** Turn a non-2xx response into an error; decide whether it is worth retrying. */
  function httpFailure(response: Response, body: string, attempts: number): AttemptFailure {
    const { status } = response;
    const parsed = (() => {
      try {
        return errorResponseSchema.safeParse(JSON.parse(body));
      } catch {
        return undefined;
      }
    })();
    const remote = parsed?.success ? parsed.data.error : undefined;
    const remoteMessage = redact(
      remote?.message ?? (body.trim().slice(0, 300) || response.statusText || "no body"),
      apiKey,
    );
    const remoteCode = remote?.code ?? undefined;
    const summary =
      `${status} from POST ${url}: ${remoteMessage}` +
      (remoteCode === undefined || remoteCode === null ? "" : ` (code ${String(remoteCode)})`);
    const details = {
      status,
      url,
      type: remote?.type ?? undefined,
      code: remoteCode,
      param: remote?.param ?? undefined,
      requestId: response.headers.get("x-request-id") ?? undefined,
      attempts,
    };
    // A 429 for an exhausted quota does not clear by waiting (OpenAI's insufficient_quota).
    const retryable = RETRYABLE_STATUSES.has(status) && remoteCode !== "insufficient_quota";
    const retryAfterMs = parseRetryAfter(response.headers);
    const make = (code: EmbedkitError["code"], message: string): AttemptFailure => ({
      error: new EmbedkitError(code, message, { details }),
      retryable,
      retryAfterMs,
    });
    if (status === 401 || status === 403) {
      return make(
        "INVALID_OPTION",
        `The endpoint refused the credentials (${summary}). Check the \`apiKey\` option / the OPENAI_API_KEY environment variable.`,
      );
    }
    if (status === 404) {
      return remoteCode === "model_not_found" || /model/i.test(remoteMessage)
        ? make(
            "UNKNOWN_MODEL",
            `The endpoint does not serve model "${modelName}" (${summary}). Check the \`model\` option.`,
          )
        : make(
            "INVALID_OPTION",
            `No embeddings endpoint at ${url} (${summary}). Check \`baseURL\`: it should end with the API version, e.g. ${OPENAI_DEFAULT_BASE_URL}.`,
          );
    }
    if (status === 429) {
      return make(
        "RATE_LIMITED",
        `Rate limited after ${attempts} attempt(s) (${summary}). Lower maxParallelRequests, raise maxRetries, or check your quota.`,
      );
    }
    if (status === 400 && /maximum context length|too many tokens|maximum.*tokens/i.test(remoteMessage)) {
      return make(
        "INPUT_TOO_LONG",
        `The endpoint rejected an input as too long (${summary}). Shorten or split the text (${modelName} accepts about ${maxTokens} tokens per input), or lower maxTokensPerRequest.`,
      );
    }
    if (status === 413) {
      return make(
        "INVALID_INPUT",
        `The request body was too large (${summary}). Lower maxInputsPerRequest or maxTokensPerRequest.`,
      );
    }
    if (status >= 400 && status < 500) {
      return make("INVALID_INPUT", `The endpoint rejected the request (${summary}).`);
    }
    return make(
      "REMOTE_ERROR",
      `The endpoint failed after ${attempts} attempt(s) (${summary}). It may be overloaded; try again later.`,
    );
  }

  /** Check one response against the request; every failure names what was expected. */
  function readVectors(
    payload: EmbeddingsResponse,
    count: number,
    expectedLength: number | undefined,
  ): Float32Array[] {
    const invalid = (message: string, details: Record<string, unknown> = {}): EmbedkitError =>
      new EmbedkitError("REMOTE_ERROR", `Invalid response from POST ${url}: ${message}`, {
        details: { url, ...details },
      });
    if (payload.data.length !== count) {
      throw invalid(`expected ${count} embeddings (one per input), received ${payload.data.length}.`, {
        expected: count,
        received: payload.data.length,
      });
    }
    const vectors = new Array<Float32Array | undefined>(count);
    let length = expectedLength;
    for (const item of payload.data) {
      if (item.index >= count || vectors[item.index] !== undefined) {
        throw invalid(`embedding index ${item.index} is out of range or repeated (inputs: ${count}).`, {
          index: item.index,
        });
      }
      let vector: Float32Array;
      if (typeof item.embedding === "string") {
        try {
          vector = base64ToFloat32(item.embedding);
        } catch (error) {
          throw invalid(`embedding ${item.index} is not valid base64 float32: ${(error as Error).message}`);
        }
      } else {
        vector = Float32Array.from(item.embedding);
      }
      length ??= vector.length;
      if (vector.length !== length || vector.length === 0) {
        throw invalid(
          `embedding ${item.index} has ${vector.length} dimensions, expected ${length}. ` +
            "Set the `dimensions` option to the model's real output size (or leave it out to discover it).",
          { index: item.index, expected: length, received: vector.length },
        );
      }
      for (const value of vector) {
        if (!Number.isFinite(value)) throw invalid(`embedding ${item.index} contains ${value}.`);
      }
      vectors[item.index] = vector;
    }
    return vectors as Float32Array[];
  }

  /**
   * POST one request (one attempt; the pipeline core retries a
   * {@link TransientError}). `signal` aborts on the caller's signal, on close(),
   * or when a sibling request failed for good.
   */
  async function post(
    texts: readonly string[],
    requestDimensions: number | undefined,
    expectedLength: number | undefined,
    signal: AbortSignal,
    attempts: number,
  ): Promise<RequestResult> {
    const body = JSON.stringify({
      model: modelName,
      input: texts,
      encoding_format: encodingFormat,
      ...(requestDimensions === undefined ? {} : { dimensions: requestDimensions }),
    });
    const controller = new AbortController();
    const timeout = new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError");
    const timer = setTimeout(() => controller.abort(timeout), timeoutMs);
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    let failure: AttemptFailure;
    try {
      const response = await fetchImplementation(endpoint, {
        method: "POST",
        headers,
        body,
        signal: controller.signal,
      });
      // Read the body under the same timeout: a server may stall mid-body.
      const text = await response.text();
      if (response.ok) return readResponse(text, response.status, texts.length, expectedLength);
      failure = httpFailure(response, text, attempts);
    } catch (error) {
      if (EmbedkitError.isInstance(error) || signal.aborted) throw error;
      const timedOut = controller.signal.reason === timeout;
      throw new TransientError(
        new EmbedkitError(
          "REMOTE_ERROR",
          timedOut
            ? `POST ${url} timed out after ${timeoutMs} ms (${attempts} attempt(s)). Raise timeoutMs or lower maxInputsPerRequest.`
            : `POST ${url} failed (${attempts} attempt(s)): ${redact(describeNetworkError(error), apiKey)}. Check that the endpoint is reachable.`,
          { cause: error, details: { url, attempts, timedOut } },
        ),
      );
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
    if (failure.retryable) throw new TransientError(failure.error, failure.retryAfterMs);
    throw failure.error;
  }

  /** Parse and check a 2xx body. */
  function readResponse(
    text: string,
    status: number,
    count: number,
    expectedLength: number | undefined,
  ): RequestResult {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new EmbedkitError(
        "REMOTE_ERROR",
        `Invalid response from POST ${url}: the body is not JSON (${redact(text.slice(0, 120), apiKey)}).`,
        { cause: error, details: { url, status } },
      );
    }
    const parsed = embeddingsResponseSchema.safeParse(json);
    const embeddedError = parsed.success ? undefined : errorResponseSchema.safeParse(json);
    if (embeddedError?.success) {
      // Some proxies answer 200 with an OpenAI error body; it is still an error.
      throw new EmbedkitError(
        "REMOTE_ERROR",
        `POST ${url} answered ${status} with an error: ${redact(embeddedError.data.error.message, apiKey)}.`,
        { details: { url, status, code: embeddedError.data.error.code ?? undefined } },
      );
    }
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new EmbedkitError(
        "REMOTE_ERROR",
        `Invalid response from POST ${url}: ${issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "unexpected shape"}. ` +
          "Expected OpenAI's {object:'list', data:[{index, embedding}], usage}.",
        { details: { url, status } },
      );
    }
    return {
      vectors: readVectors(parsed.data, count, expectedLength),
      tokens: parsed.data.usage?.prompt_tokens,
    };
  }

  /** The pipeline provider: one POST per request range, dims discovered from the first response. */
  const provider: TextProvider<string> = {
    get model(): ModelInfo {
      return model;
    },
    limits: {
      maxBatchSize: maxInputsPerRequest,
      maxBatchTokens: maxTokensPerRequest,
      cost: estimateTokens,
      maxParallelCalls: maxParallelRequests,
      retry: { maxRetries, initialDelayMs: initialRetryDelayMs, maxDelayMs: maxRetryDelayMs },
    },
    closeSignal: closeController.signal,
    assertOpen: assertNotClosed,
    async doEmbed({ values, signal, attempt, context }) {
      const wanted = context.dimensions ?? configuredDimensions;
      const requestDimensions =
        sendDimensions && wanted !== undefined && wanted !== facts?.dims ? wanted : undefined;
      const expected = requestDimensions ?? responseDimensions;
      const result = await post(values, requestDimensions, expected, signal, attempt + 1);
      const length = result.vectors[0]?.length;
      if (requestDimensions === undefined && length !== undefined) {
        if (responseDimensions === undefined) {
          // First response of a model with unknown dims: fix them from now on.
          responseDimensions = length;
          model = describeModel();
        } else if (length !== responseDimensions) {
          // A parallel request started before discovery and got another size.
          throw new EmbedkitError(
            "REMOTE_ERROR",
            `Invalid response from POST ${url}: vectors have ${length} dimensions, expected ${responseDimensions} like the earlier responses.`,
            { details: { url, expected: responseDimensions, received: length } },
          );
        }
      }
      return {
        vectors: result.vectors,
        tokens: result.tokens ?? values.reduce((sum, text) => sum + estimateTokens(text), 0),
      };
    },
  };

  return {
    get model(): ModelInfo {
      return model;
    },
    url,
    embed: (inputs, embedOptions) => embedTexts(provider, inputs, embedOptions),
    async countTokens(inputs: readonly string[]): Promise<number[]> {
      assertNotClosed();
      validateTexts(inputs);
      // An estimate (see estimateTokens): remote tokenizers are not available locally.
      return inputs.map(estimateTokens);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      closeController.abort();
    },
  };
}

/** Node's fetch hides the socket error in `cause`; surface it (ECONNREFUSED, ...). */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? error.message;
}
