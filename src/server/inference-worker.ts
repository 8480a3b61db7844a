/**
 * @module server/inference-worker
 * Worker-thread entry of {@link createWorkerEmbedder}: loads one local text
 * embedder (the same `createEmbedder` the server would call in-process) and
 * serves `embed` calls posted by the main thread, one at a time in arrival
 * order. onnxruntime-node runs a session synchronously on the calling thread,
 * so in the main thread every batch froze the HTTP event loop for its whole
 * duration; here it blocks only this thread. Results travel back as one packed
 * `Float32Array` whose buffer is transferred, not copied. An `abort` message
 * reaches the embedder between its sub-batches (the runtime yields to the
 * event loop before each run).
 */
import { parentPort, workerData } from "node:worker_threads";
import type { InputType } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import { createModelStore } from "../models/store-impl.js";

/** What the main thread passes as `workerData`. */
export interface InferenceWorkerData {
  readonly model: string;
  /** The model store's home folder (the model is already pulled there). */
  readonly home: string;
  readonly threads?: number;
}

/** Messages the main thread posts. */
export type InferenceRequest =
  | {
      readonly type: "embed";
      readonly id: number;
      readonly texts: readonly string[];
      readonly truncate: boolean;
      readonly inputType?: InputType;
    }
  | { readonly type: "abort"; readonly id: number }
  | { readonly type: "close" };

/** An error as it crosses the thread boundary (EmbedkitErrors keep code and details). */
export interface SerializedError {
  readonly message: string;
  readonly code?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /** The request's own abort, not a failure. */
  readonly aborted?: boolean;
}

/** Messages the worker posts. */
export type InferenceReply =
  | { readonly type: "ready"; readonly model: unknown }
  | { readonly type: "failed"; readonly error: SerializedError }
  | {
      readonly type: "result";
      readonly id: number;
      readonly data: Float32Array;
      readonly dims: number;
      /** The embedder's `usage.tokens`. */
      readonly tokens: number;
    }
  | { readonly type: "error"; readonly id: number; readonly error: SerializedError }
  | { readonly type: "closed" };

function serialize(error: unknown, aborted = false): SerializedError {
  if (EmbedkitError.isInstance(error)) {
    return { message: error.message, code: error.code, details: { ...error.details }, aborted };
  }
  return { message: error instanceof Error ? error.message : String(error), aborted };
}

const port = parentPort;
if (port === null) throw new Error("server/inference-worker must run in a worker thread.");
const data = workerData as InferenceWorkerData;
const { createEmbedder } = await import("../embed/create-embedder.js");
const embedder = await createEmbedder({
  model: data.model,
  store: createModelStore({ home: data.home }),
  ...(data.threads === undefined ? {} : { threads: data.threads }),
}).catch((error: unknown) => {
  // The main thread reports the failure and terminates this worker.
  port.postMessage({ type: "failed", error: serialize(error) } satisfies InferenceReply);
  return undefined;
});
if (embedder !== undefined) {
  port.postMessage({ type: "ready", model: { ...embedder.model } } satisfies InferenceReply);
}

const controllers = new Map<number, AbortController>();
// One call at a time, in arrival order: the session already uses every core it was given.
let chain: Promise<void> = Promise.resolve();

async function embedOne(request: Extract<InferenceRequest, { type: "embed" }>): Promise<void> {
  const controller = controllers.get(request.id);
  if (controller === undefined) return;
  try {
    if (controller.signal.aborted) throw controller.signal.reason;
    if (embedder === undefined) throw new Error("the embedder failed to load");
    const { vectors, usage } = await embedder.embed(request.texts, {
      truncate: request.truncate,
      signal: controller.signal,
      ...(request.inputType === undefined ? {} : { inputType: request.inputType }),
    });
    const dims = vectors[0]?.length ?? 0;
    const packed = new Float32Array(vectors.length * dims);
    vectors.forEach((vector, row) => {
      packed.set(vector, row * dims);
    });
    port?.postMessage(
      { type: "result", id: request.id, data: packed, dims, tokens: usage.tokens } satisfies InferenceReply,
      [packed.buffer],
    );
  } catch (error) {
    port?.postMessage({
      type: "error",
      id: request.id,
      error: serialize(error, controller.signal.aborted),
    } satisfies InferenceReply);
  } finally {
    controllers.delete(request.id);
  }
}

port.on("message", (message: InferenceRequest) => {
  switch (message.type) {
    case "embed":
      controllers.set(message.id, new AbortController());
      chain = chain.then(() => embedOne(message));
      break;
    case "abort":
      controllers.get(message.id)?.abort(new Error("aborted by the server"));
      break;
    case "close":
      chain = chain.then(async () => {
        await embedder?.close();
        port.postMessage({ type: "closed" } satisfies InferenceReply);
        port.close();
      });
      break;
  }
});
