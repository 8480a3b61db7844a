/**
 * @module server/worker-embedder
 * A local ONNX text encoder whose inference runs in a worker thread, so the
 * server's event loop keeps parsing, validating, counting and answering
 * requests while a batch runs. onnxruntime-node executes `session.run`
 * synchronously on the thread that calls it: in-process, each batch (up to
 * `maxBatchMs`, 250 ms by default) froze every connection, and the HTTP work of
 * the next batch could only start once the runtime was idle again — the
 * measured gap between the server's batching gain and the library's own
 * (bench/notes/server.md). Here the main thread keeps only the tokenizer
 * (`countTokens` for the request limits, `decodeTokenIds`), while
 * `embed` is posted to the worker (src/server/inference-worker.ts), which
 * loads the very embedder `createEmbedder` returns in-process; vectors are
 * therefore identical, bit for bit.
 *
 * Only plain transformer text encoders from the catalog qualify
 * ({@link canEmbedInWorker}); other models keep running in-process.
 */
import type { Worker } from "node:worker_threads";
import type { Embedder, Embeddings, EmbedOptions, ModelInfo } from "../embed/embedder.js";
import { assertOpen, validateTexts } from "../embed/inputs.js";
import { loadTextTokenizer } from "../embed/onnx/text-tokenizer.js";
import { EmbedkitError, type ErrorCode } from "../errors.js";
import { startModuleWorker } from "../internal/module-worker.js";
import { findModel } from "../models/catalog.js";
import type { ModelStore } from "../models/model-store.js";
import type { Precision } from "../vectors/quantize.js";
import type {
  InferenceReply,
  InferenceRequest,
  InferenceWorkerData,
  SerializedError,
} from "./inference-worker.js";

/** Options of {@link createWorkerEmbedder}. */
export interface WorkerEmbedderOptions {
  /** A catalog model id or alias that {@link canEmbedInWorker} accepts. */
  readonly model: string;
  /** Where the model is pulled (the worker opens a store on the same home). */
  readonly store: ModelStore;
  /** Threads of one inference call. @default os.availableParallelism() */
  readonly threads?: number;
}

/**
 * Key of a {@link WorkerEmbedder}'s live worker thread (undefined while none runs), for
 * diagnostics and for tests that stop the thread to check that the embedder replaces it.
 */
export const INFERENCE_WORKER: unique symbol = Symbol("embedkit.inferenceWorker");

/** An embedder whose `embed` runs in a worker thread; `countTokens` and `decodeTokenIds` run here. */
export interface WorkerEmbedder extends Embedder {
  /** The worker thread running now; a dead one is replaced by the next `embed` call. */
  readonly [INFERENCE_WORKER]: Worker | undefined;
  decodeTokenIds(ids: readonly number[]): string;
  /** Calls queue in the worker and run one at a time off the event loop (the batcher may prefetch). */
  readonly offEventLoop: true;
}

/** Whether an embedder runs its calls off the event loop, queued (a {@link WorkerEmbedder}). */
export function runsOffEventLoop(embedder: Embedder): boolean {
  return (embedder as Partial<WorkerEmbedder>).offEventLoop === true;
}

/**
 * Whether `model` is a catalog transformer text encoder, the kind
 * {@link createWorkerEmbedder} serves (CLAP text towers, USE, word vectors,
 * `dir:`/`hf:` folders and OpenAI models run in-process).
 */
export function canEmbedInWorker(model: string): boolean {
  const spec = findModel(model);
  return spec !== undefined && spec.modality === "text" && spec.format === "onnx-transformer";
}

function revive(error: SerializedError): Error {
  if (error.code !== undefined) {
    return new EmbedkitError(error.code as ErrorCode, error.message, { details: error.details ?? {} });
  }
  return new EmbedkitError("INFERENCE_FAILED", `The inference worker failed: ${error.message}`);
}

interface Call {
  readonly resolve: (result: { readonly vectors: Float32Array[]; readonly tokens: number }) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
}

/**
 * Pull the model (on this thread, with the server's store), load its tokenizer
 * here and its ONNX session in a worker thread.
 *
 * @throws EmbedkitError UNKNOWN_MODEL, DOWNLOAD_FAILED, CHECKSUM_MISMATCH, CORRUPT_MODEL, INVALID_OPTION
 *   (a model {@link canEmbedInWorker} refuses)
 * @example
 * ```ts
 * const embedder = await createWorkerEmbedder({ model: "all-minilm-l6-v2", store: createModelStore() });
 * const { vectors } = await embedder.embed(["hello"]);
 * await embedder.close();
 * ```
 */
export async function createWorkerEmbedder(options: WorkerEmbedderOptions): Promise<WorkerEmbedder> {
  if (!canEmbedInWorker(options.model)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${options.model} is not a catalog transformer text encoder, so it cannot run in an inference worker; ` +
        "serve it in-process (createServer({ inferenceWorker: false }) or embedkit serve --no-inference-worker).",
      { details: { option: "inferenceWorker", model: options.model } },
    );
  }
  const pulled = await options.store.ensure(options.model);
  const spec = pulled.spec;
  const tokenizer = await loadTextTokenizer(pulled.path("tokenizer"), spec.maxTokens);
  const data: InferenceWorkerData = {
    model: spec.id,
    home: options.store.home,
    ...(options.threads === undefined ? {} : { threads: options.threads }),
  };
  const calls = new Map<number, Call>();
  let nextId = 1;
  let closed = false;
  let closing: Promise<void> | undefined;

  const failAll = (error: Error): void => {
    for (const call of calls.values()) call.reject(error);
    calls.clear();
  };

  /** Start a worker, wait until its model is loaded, and route its replies to {@link calls}. */
  async function spawn(): Promise<{ readonly worker: Worker; readonly model: ModelInfo }> {
    const started: Worker = startModuleWorker(import.meta.url, "inference-worker", data);
    const info = await new Promise<ModelInfo>((resolve, reject) => {
      const onMessage = (reply: InferenceReply): void => {
        if (reply.type === "ready") {
          started.off("error", reject);
          resolve(Object.freeze(reply.model as ModelInfo));
        } else if (reply.type === "failed") {
          void started.terminate();
          reject(revive(reply.error));
        }
      };
      started.once("message", onMessage);
      started.once("error", reject);
    });
    started.on("message", (reply: InferenceReply) => {
      if (reply.type !== "result" && reply.type !== "error") return;
      const call = calls.get(reply.id);
      if (call === undefined) return;
      calls.delete(reply.id);
      if (reply.type === "error") {
        // A call stopped by its own signal rejects with that signal's reason, as in-process embedders do.
        call.reject(reply.error.aborted && call.signal?.aborted ? call.signal.reason : revive(reply.error));
        return;
      }
      const vectors: Float32Array[] = [];
      for (let row = 0; row * reply.dims < reply.data.length; row++) {
        vectors.push(reply.data.subarray(row * reply.dims, (row + 1) * reply.dims));
      }
      call.resolve({ vectors, tokens: reply.tokens });
    });
    // A worker that dies (a crash in the runtime, out of memory, terminated) fails the calls it
    // held with a clear error and is replaced on the next call, so the model keeps being served.
    const died = (reason: string): void => {
      if (current?.worker !== started) return;
      current = undefined;
      failAll(new EmbedkitError("INFERENCE_FAILED", `The inference worker of ${spec.id} ${reason}.`));
    };
    started.on("error", (error) => died(`crashed: ${error.message}`));
    started.on("exit", (code) => {
      if (!closed) died(`exited (${code})`);
    });
    return { worker: started, model: info };
  }

  let current: { readonly worker: Worker; readonly model: ModelInfo } | undefined = await spawn();
  const model = current.model;
  let respawning: Promise<Worker> | undefined;

  /** The live worker, started anew (once, shared by concurrent calls) when the last one died. */
  async function liveWorker(): Promise<Worker> {
    if (current !== undefined) return current.worker;
    respawning ??= (async () => {
      try {
        current = await spawn();
        return current.worker;
      } finally {
        respawning = undefined;
      }
    })();
    return respawning;
  }

  function post(worker: Worker, message: InferenceRequest): void {
    worker.postMessage(message);
  }

  async function embed<P extends Precision = "float32">(
    inputs: readonly string[],
    embedOptions: EmbedOptions<P> = {},
  ): Promise<Embeddings<P>> {
    assertOpen(closed, spec.id);
    validateTexts(inputs);
    if (embedOptions.dimensions !== undefined || (embedOptions.precision ?? "float32") !== "float32") {
      throw new EmbedkitError(
        "INVALID_OPTION",
        "The inference worker returns full float32 vectors; apply dimensions/precision afterwards.",
      );
    }
    const signal = embedOptions.signal;
    if (signal?.aborted) throw signal.reason;
    const worker = await liveWorker();
    if (signal?.aborted) throw signal.reason;
    const truncate = embedOptions.truncate ?? false;
    const id = nextId++;
    const onAbort = (): void => post(worker, { type: "abort", id });
    const { vectors, tokens } = await new Promise<{ vectors: Float32Array[]; tokens: number }>(
      (resolve, reject) => {
        calls.set(id, { resolve, reject, signal });
        post(worker, {
          type: "embed",
          id,
          texts: [...inputs],
          truncate,
          ...(embedOptions.inputType === undefined ? {} : { inputType: embedOptions.inputType }),
        });
        signal?.addEventListener("abort", onAbort, { once: true });
      },
    ).finally(() => signal?.removeEventListener("abort", onAbort));
    embedOptions.onProgress?.(vectors.length, vectors.length);
    return {
      vectors: vectors as Embeddings<P>["vectors"],
      dims: model.dims,
      precision: "float32" as P,
      usage: { tokens },
    };
  }

  return {
    model,
    offEventLoop: true,
    get [INFERENCE_WORKER]() {
      return current?.worker;
    },
    embed,
    async countTokens(inputs) {
      assertOpen(closed, spec.id);
      validateTexts(inputs);
      return inputs.map((text) => tokenizer.count(text));
    },
    decodeTokenIds(ids) {
      assertOpen(closed, spec.id);
      return tokenizer.decode(ids);
    },
    close() {
      closing ??= (async () => {
        closed = true;
        await respawning?.catch(() => undefined);
        const worker = current?.worker;
        current = undefined;
        if (worker === undefined) return;
        const done = new Promise<void>((resolve) => {
          worker.on("message", (reply: InferenceReply) => {
            if (reply.type === "closed") resolve();
          });
          worker.once("exit", () => resolve());
        });
        post(worker, { type: "close" });
        await done;
        await worker.terminate();
        // Calls still pending once the worker has drained its queue cannot be answered any more.
        failAll(new EmbedkitError("CLOSED", `${spec.id} was closed while a call was pending.`));
      })();
      return closing;
    },
  };
}
