/**
 * @module train/finetune/export
 * Write a fine-tuned encoder as a model folder every part of embedkit opens
 * with `dir:<folder>`: the base model's ONNX graph with the trained
 * initializers written over the old ones (same names, shapes and byte lengths,
 * so the graph — and its inference speed — is the base model's), the
 * tokenizer, `config.json` and `1_Pooling/config.json` (what other tools and
 * `dir:` models read), and `embedkit-finetune.json` (base model and its ONNX
 * sha256, task, training-data sha256, metrics, creation time, embedkit
 * version, and the sha256 and size of every model file, which the model store
 * pins and `embedkit models verify` checks).
 *
 * Every weight is checked (known initializer, float32, element count, finite)
 * before anything is written. The folder is built under a temporary name next
 * to `outDir` and renamed into place, so `outDir` holds a complete export or
 * nothing; the ONNX file is streamed from the base file's bytes with the new
 * tensors spliced in, never held twice.
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { EmbedkitError } from "../../errors.js";
import { temporaryPathFor } from "../../internal/atomic-write.js";
import {
  FINETUNE_MANIFEST_FILE,
  FINETUNE_MANIFEST_FORMAT,
  FINETUNE_MANIFEST_VERSION,
  type FinetuneManifest,
  type FinetuneTask,
} from "../../models/finetuned-folder.js";
import type { ModelSpec } from "../../models/model-spec.js";
import { locateOnnxInitializers, type OnnxInitializerLocation } from "../../models/onnx-initializers.js";
import { ONNX_TYPES } from "../../models/onnx-writer.js";
import { createModelStore } from "../../models/store-impl.js";
import { float32ToLittleEndian } from "../../vectors/codec.js";

export { FINETUNE_MANIFEST_FILE, type FinetuneManifest, type FinetuneTask };

const TASKS: readonly FinetuneTask[] = ["embeddings", "classifier", "ner"];
const SHA256 = /^[0-9a-f]{64}$/;
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Unknown names listed in one error at most (the rest are counted). */
const LISTED_NAMES = 5;

/** Options of {@link exportFinetunedEncoder}. */
export interface ExportFinetunedEncoderOptions {
  /** The base model (catalog id, `dir:`/`hf:` reference or spec); pulled into the store if missing. */
  readonly base: string | ModelSpec;
  /**
   * Trained weights by the base ONNX file's initializer names, each with exactly that
   * initializer's element count and layout; initializers not in the map keep the base values.
   */
  readonly weights: ReadonlyMap<string, Float32Array>;
  readonly task: FinetuneTask;
  /** sha256 (hex) of the training data (see `data.ts`). */
  readonly dataSha256: string;
  /** Final metrics to record (e.g. `{ "valid.f1": 0.91 }`); finite numbers only. */
  readonly metrics?: Readonly<Record<string, number>>;
  /** Folder to create; must not exist unless `overwrite`. */
  readonly outDir: string;
  /** Short model name (lower-case letters, digits, `.`, `_`, `-`). @default the folder's name, lower-cased */
  readonly name?: string;
  /** Replace an existing `outDir` (only after the new folder is complete). @default false */
  readonly overwrite?: boolean;
  /** Model cache folder. @default $EMBEDKIT_HOME or ~/.cache/embedkit */
  readonly home?: string;
}

/** Result of {@link exportFinetunedEncoder}. */
export interface ExportedEncoder {
  /** Absolute path of the folder. */
  readonly dir: string;
  /** Model reference that opens it everywhere (`dir:<dir>`). */
  readonly reference: string;
  /** Model id the store gives it (`ft--<name>--<8 hex>`), for heads trained on it. */
  readonly modelId: string;
  readonly manifest: FinetuneManifest;
}

function invalid(message: string, details: Record<string, unknown> = {}): EmbedkitError {
  return new EmbedkitError("INVALID_INPUT", message, { details });
}

/** The model reference that opens a fine-tuned folder: `dir:<absolute path>`. */
export function encoderReference(dir: string): string {
  return `dir:${resolve(dir)}`;
}

function checkOptions(options: ExportFinetunedEncoderOptions, name: string): void {
  if (!TASKS.includes(options.task)) {
    throw invalid(`Unknown fine-tuning task "${String(options.task)}". Expected one of ${TASKS.join(", ")}.`);
  }
  if (!SHA256.test(options.dataSha256)) {
    throw invalid(
      `dataSha256 "${options.dataSha256}" is not a sha256: expected 64 lower-case hexadecimal digits.`,
    );
  }
  if (!NAME.test(name)) {
    throw invalid(
      `Model name "${name}" is not usable: expected 1-64 lower-case letters, digits, ".", "_" or "-" (e.g. "minilm-sst2").`,
    );
  }
  for (const [key, value] of Object.entries(options.metrics ?? {})) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw invalid(`Metric "${key}" is ${String(value)}; metrics must be finite numbers.`, { metric: key });
    }
  }
}

/** Check every weight against the base graph; returns the replacements sorted by file offset. */
function checkWeights(
  weights: ReadonlyMap<string, Float32Array>,
  initializers: ReadonlyMap<string, OnnxInitializerLocation>,
  baseId: string,
): { location: OnnxInitializerLocation; values: Float32Array }[] {
  const unknown = [...weights.keys()].filter((name) => !initializers.has(name));
  if (unknown.length > 0) {
    const listed = unknown.slice(0, LISTED_NAMES).map((name) => `"${name}"`);
    const more = unknown.length > LISTED_NAMES ? ` and ${unknown.length - LISTED_NAMES} more` : "";
    throw invalid(
      `${unknown.length} weight name(s) are not initializers of ${baseId}'s ONNX graph: ${listed.join(", ")}${more}. ` +
        "Weights must be keyed by the base ONNX file's initializer names (readOnnxInitializers lists them).",
      { unknown: unknown.slice(0, 50) },
    );
  }
  const out: { location: OnnxInitializerLocation; values: Float32Array }[] = [];
  for (const [name, values] of weights) {
    const location = initializers.get(name) as OnnxInitializerLocation;
    if (location.dataType !== ONNX_TYPES.float) {
      throw invalid(
        `Initializer "${name}" of ${baseId} is not float32 (ONNX type ${location.dataType}); it cannot be trained.`,
        {
          name,
        },
      );
    }
    if (!(values instanceof Float32Array) || values.length !== location.elements) {
      const got = values instanceof Float32Array ? `${values.length} values` : "not a Float32Array";
      throw invalid(
        `Weight "${name}" has the wrong shape: ${got}, expected ${location.elements} (shape [${location.dims.join(", ")}] of ${baseId}).`,
        {
          name,
          expected: location.elements,
          received: values instanceof Float32Array ? values.length : null,
        },
      );
    }
    if (
      location.rawOffset === undefined ||
      location.rawLength !== location.elements * 4 ||
      location.external
    ) {
      throw invalid(
        `Initializer "${name}" of ${baseId} is not stored as inline raw_data, so it cannot be replaced in place.`,
        { name },
      );
    }
    for (let index = 0; index < values.length; index++) {
      if (!Number.isFinite(values[index] as number)) {
        throw invalid(
          `Weight "${name}" has a non-finite value (${values[index]}) at index ${index}; training diverged.`,
          {
            name,
            index,
          },
        );
      }
    }
    out.push({ location, values });
  }
  return out.sort((a, b) => (a.location.rawOffset as number) - (b.location.rawOffset as number));
}

/** Write `base` to `path` with the replacements spliced in; returns sha256 and size. */
async function writeGraph(
  path: string,
  base: Uint8Array,
  replacements: readonly { location: OnnxInitializerLocation; values: Float32Array }[],
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  const handle = await open(path, "wx");
  try {
    let position = 0;
    const put = async (chunk: Uint8Array): Promise<void> => {
      hash.update(chunk);
      await handle.write(chunk);
    };
    for (const { location, values } of replacements) {
      const offset = location.rawOffset as number;
      await put(base.subarray(position, offset));
      await put(float32ToLittleEndian(values));
      position = offset + (location.rawLength as number);
    }
    await put(base.subarray(position));
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest("hex"), bytes: base.length };
}

async function hashOf(path: string): Promise<{ sha256: string; bytes: number }> {
  const bytes = await readFile(path);
  return { sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length };
}

async function embedkitVersion(): Promise<string> {
  // src/train/finetune/ and dist/train/finetune/ are both three levels below package.json.
  try {
    const text = await readFile(new URL("../../../package.json", import.meta.url), "utf8");
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/**
 * Export trained encoder weights as a model folder (see the module description).
 *
 * @throws EmbedkitError INVALID_INPUT (unknown initializer name, shape mismatch, non-float32
 *   target, non-finite value, bad task/data sha256/metric/name), INVALID_OPTION (`outDir`
 *   exists without `overwrite`, or cannot be written), UNKNOWN_MODEL / download errors for `base`.
 *   Nothing is left behind on failure.
 * @example
 * ```ts
 * const exported = await exportFinetunedEncoder({
 *   base: "all-minilm-l6-v2", weights: trained, task: "classifier",
 *   dataSha256: data.sha256, metrics: { "valid.accuracy": 0.91 }, outDir: "models/minilm-sst2",
 * });
 * const embedder = await createEmbedder({ model: exported.reference });
 * ```
 */
export async function exportFinetunedEncoder(
  options: ExportFinetunedEncoderOptions,
): Promise<ExportedEncoder> {
  const outDir = resolve(options.outDir);
  const name = options.name ?? basename(outDir).toLowerCase();
  checkOptions(options, name);
  if (!options.overwrite && (await exists(outDir))) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${outDir} already exists. Choose a new folder or pass overwrite: true (--overwrite) to replace it.`,
      { details: { path: outDir } },
    );
  }
  const store = createModelStore(options.home === undefined ? {} : { home: options.home });
  const pulled = await store.ensure(options.base);
  const spec = pulled.spec;
  if (spec.modality !== "text" || spec.format !== "onnx-transformer" || spec.quantized) {
    throw invalid(
      `${spec.id} cannot be fine-tuned: expected a float32 ONNX text transformer (e.g. all-minilm-l6-v2), got ${spec.format}${spec.quantized ? " (quantized)" : ""}.`,
      { model: spec.id },
    );
  }
  const onnxPath = pulled.path("onnx");
  const tokenizerPath = pulled.path("tokenizer");
  const base = await readFile(onnxPath);
  const replacements = checkWeights(options.weights, locateOnnxInitializers(base, onnxPath), spec.id);
  const baseSha256 = createHash("sha256").update(base).digest("hex");

  await mkdir(dirname(outDir), { recursive: true });
  const staging = temporaryPathFor(outDir);
  try {
    await mkdir(staging);
    const onnx = await writeGraph(join(staging, "model.onnx"), base, replacements);
    await copyFile(tokenizerPath, join(staging, "tokenizer.json"));
    const tokenizer = await hashOf(join(staging, "tokenizer.json"));
    const config = {
      hidden_size: spec.dims,
      max_position_embeddings: spec.maxTokens,
      embedkit_base_model: spec.id,
    };
    await writeFile(join(staging, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
    await mkdir(join(staging, "1_Pooling"));
    const pooling = {
      word_embedding_dimension: spec.dims,
      pooling_mode_cls_token: spec.pooling === "cls",
      pooling_mode_mean_tokens: spec.pooling === "mean",
      pooling_mode_max_tokens: false,
      pooling_mode_mean_sqrt_len_tokens: false,
    };
    await writeFile(join(staging, "1_Pooling", "config.json"), `${JSON.stringify(pooling, null, 2)}\n`);
    const manifest: FinetuneManifest = {
      format: FINETUNE_MANIFEST_FORMAT,
      version: FINETUNE_MANIFEST_VERSION,
      name,
      task: options.task,
      base: { id: spec.id, upstream: spec.upstream, onnxSha256: baseSha256 },
      dataSha256: options.dataSha256,
      metrics: { ...(options.metrics ?? {}) },
      created: new Date().toISOString(),
      embedkitVersion: await embedkitVersion(),
      replacedInitializers: replacements.length,
      model: {
        dims: spec.dims,
        maxTokens: spec.maxTokens,
        pooling: spec.pooling === "cls" ? "cls" : "mean",
        normalize: spec.normalize,
        prefixes: { ...spec.prefixes },
        languages: [...spec.languages],
      },
      files: [
        { name: "model.onnx", role: "onnx", sha256: onnx.sha256, bytes: onnx.bytes },
        { name: "tokenizer.json", role: "tokenizer", sha256: tokenizer.sha256, bytes: tokenizer.bytes },
      ],
    };
    await writeFile(join(staging, FINETUNE_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await moveIntoPlace(staging, outDir, options.overwrite === true);
    return {
      dir: outDir,
      reference: encoderReference(outDir),
      modelId: `ft--${name}--${onnx.sha256.slice(0, 8)}`,
      manifest,
    };
  } catch (error) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    if (error instanceof EmbedkitError) throw error;
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Cannot write the fine-tuned model to ${outDir}: ${(error as Error).message}. Check that the folder is writable and the disk has room.`,
      { cause: error, details: { path: outDir } },
    );
  }
}

/** Rename the finished staging folder to `outDir`; an old `outDir` is removed only after. */
async function moveIntoPlace(staging: string, outDir: string, overwrite: boolean): Promise<void> {
  if (!(await exists(outDir))) {
    await rename(staging, outDir);
    return;
  }
  if (!overwrite) throw new Error(`${outDir} appeared while exporting`);
  const old = temporaryPathFor(outDir);
  await rename(outDir, old);
  try {
    await rename(staging, outDir);
  } catch (error) {
    await rename(old, outDir).catch(() => undefined);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}
