/**
 * @module test/embed/openai-fault-server
 * A loopback OpenAI-compatible embeddings server (node:http on 127.0.0.1, a free
 * port) for testing the OpenAI provider end to end. Vectors come from a pluggable
 * source — embedkit's real local embedder for semantic tests, an index-encoding
 * fake for orchestration tests — and a FIFO schedule of faults (HTTP errors with
 * Retry-After, hangs, malformed JSON, wrong counts, wrong lengths, delays) is
 * consumed one per request. It records every request and the peak concurrency.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { float32ToBase64 } from "../../src/vectors/codec.js";
import { normalize } from "../../src/vectors/math.js";

/** Produces one vector per text plus the token count to report. */
export type VectorSource = (
  texts: readonly string[],
) => Promise<{ readonly vectors: readonly Float32Array[]; readonly tokens: number }>;

/** One scheduled behaviour, consumed by the next request. */
export type Fault =
  | {
      readonly kind: "status";
      readonly status: number;
      readonly body?: unknown;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** Accept the request and never answer (until the client gives up). */
  | { readonly kind: "hang" }
  /** 200 with a body that is not JSON. */
  | { readonly kind: "malformed" }
  /** 200 with one embedding fewer than inputs. */
  | { readonly kind: "wrong-count" }
  /** 200 with every vector one dimension short. */
  | { readonly kind: "wrong-length" }
  /** 200 with every index shifted by one (out of range at the end). */
  | { readonly kind: "bad-index" };

/** What the server saw for one request. */
export interface RecordedRequest {
  readonly body: {
    readonly model?: string;
    readonly input?: string[];
    readonly encoding_format?: string;
    readonly dimensions?: number;
  };
  readonly headers: IncomingMessage["headers"];
}

/** A running fault server. Its fields are mutable so one instance serves many tests. */
export interface FaultServer {
  /** `http://127.0.0.1:<port>/v1` */
  readonly baseURL: string;
  readonly requests: RecordedRequest[];
  /** Faults consumed FIFO, one per request; an empty queue answers normally. */
  faults: Fault[];
  /** Milliseconds every normal answer waits (to make requests overlap). */
  delayMs: number;
  /** When set, requests without `Authorization: Bearer <apiKey>` get OpenAI's 401. */
  apiKey: string | undefined;
  /** Highest number of requests in flight at once since the last reset. */
  maxConcurrent: number;
  /** Clear recorded requests, faults, delay and the concurrency peak. */
  reset(): void;
  close(): Promise<void>;
}

/** OpenAI's documented error body. */
export function openAIError(
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
): unknown {
  return { error: { message, type, param, code } };
}

/**
 * A fake source for orchestration tests: the text `item <n>` maps to
 * `[1, n, n mod 7, 3, 0, …]` of `dims` dimensions, so after the client's
 * normalization `vector[1] / vector[0]` recovers n and proves the order.
 */
export function indexVectorSource(dims = 4): VectorSource {
  return async (texts) => ({
    vectors: texts.map((text) => {
      const n = Number(/(\d+)$/.exec(text)?.[1] ?? 0);
      const vector = new Float32Array(dims);
      vector.set([1, n, n % 7, 3].slice(0, dims));
      return vector;
    }),
    tokens: texts.reduce((sum, text) => sum + text.split(/\s+/).length, 0),
  });
}

/** Start a fault server on 127.0.0.1 with a free port. */
export async function startFaultServer(source: VectorSource): Promise<FaultServer> {
  let inFlight = 0;
  const state = {
    requests: [] as RecordedRequest[],
    faults: [] as Fault[],
    delayMs: 0,
    apiKey: undefined as string | undefined,
    maxConcurrent: 0,
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      response.writeHead(status, { "content-type": "application/json", ...headers });
      response.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.method !== "POST" || new URL(request.url ?? "/", "http://x").pathname !== "/v1/embeddings") {
      send(404, openAIError(`Unknown route ${request.method} ${request.url}`, "invalid_request_error"));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as RecordedRequest["body"];
    state.requests.push({ body, headers: request.headers });
    if (state.apiKey !== undefined && request.headers.authorization !== `Bearer ${state.apiKey}`) {
      send(
        401,
        openAIError(
          "Incorrect API key provided: sk-***. You can find your API key at https://platform.openai.com/account/api-keys.",
          "invalid_request_error",
          "invalid_api_key",
        ),
      );
      return;
    }
    const fault = state.faults.shift();
    if (fault?.kind === "hang") return; // the socket stays open; the client times out
    if (fault?.kind === "status") {
      send(
        fault.status,
        fault.body ?? openAIError(`Injected ${fault.status}`, "server_error"),
        fault.headers ? { ...fault.headers } : {},
      );
      return;
    }
    if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
    if (fault?.kind === "malformed") {
      send(200, '{"object":"list","data":[{"object":"embedding",');
      return;
    }
    const texts = body.input ?? [];
    const { vectors, tokens } = await source(texts);
    let data = vectors.map((vector, index) => {
      let out = vector;
      // OpenAI's `dimensions`: shorten and re-normalize on the server.
      if (body.dimensions !== undefined) out = normalize(out.subarray(0, body.dimensions));
      if (fault?.kind === "wrong-length") out = out.subarray(0, out.length - 1);
      return {
        object: "embedding",
        index: fault?.kind === "bad-index" ? index + 1 : index,
        embedding: body.encoding_format === "base64" ? float32ToBase64(out) : Array.from(out),
      };
    });
    if (fault?.kind === "wrong-count") data = data.slice(1);
    send(200, {
      object: "list",
      data,
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  const server = createServer((request, response) => {
    inFlight++;
    state.maxConcurrent = Math.max(state.maxConcurrent, inFlight);
    const done = (): void => {
      inFlight--;
    };
    response.once("close", done);
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify(openAIError(String(error), "server_error")));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return state.requests;
    },
    get faults() {
      return state.faults;
    },
    set faults(value) {
      state.faults = value;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value) {
      state.delayMs = value;
    },
    get apiKey() {
      return state.apiKey;
    },
    set apiKey(value) {
      state.apiKey = value;
    },
    get maxConcurrent() {
      return state.maxConcurrent;
    },
    set maxConcurrent(value) {
      state.maxConcurrent = value;
    },
    reset() {
      state.requests = [];
      state.faults = [];
      state.delayMs = 0;
      state.apiKey = undefined;
      state.maxConcurrent = 0;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
