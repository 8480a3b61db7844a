/**
 * @module embed/media/image/clip-embedder
 * CLIP-family image + text encoders from ONNX exports laid out like the
 * Transformers.js repositories (`Xenova/clip-vit-base-patch32`, SigLIP-style
 * exports with the same names): `onnx/vision_model.onnx` (pixel_values →
 * image_embeds), `onnx/text_model.onnx` (input_ids + attention_mask →
 * text_embeds), `tokenizer.json`, `preprocessor_config.json` and `config.json`
 * (projection_dim). Both towers run on onnxruntime-node; both sides are
 * L2-normalized so cosine = dot product, and `text.embed(["a photo of a dog"])`
 * searches vectors from `image.embed([...])`.
 *
 * A model is named `dir:/path/to/folder` or `hf:owner/name[@revision]`; the
 * files go through the model store (trusted on first use and pinned in the
 * manifest, like other ad-hoc models). Settings after `#`: `vision=` and
 * `text=` pick other graph files (e.g. `onnx/vision_model_quantized.onnx`).
 * No real CLIP weights can be obtained on this project's machines; the code
 * path is tested with the random-weight fixture from scripts/make-tiny-clip.ts.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, isAbsolute, resolve } from "node:path";
import * as ort from "onnxruntime-node";
import { EmbedkitError } from "../../../errors.js";
import { UNPINNED } from "../../../models/adhoc.js";
import { fetchJson } from "../../../models/download.js";
import type { ImagePreprocessSpec, ModelSource, ModelSpec } from "../../../models/model-spec.js";
import type { ModelStore, PullProgress } from "../../../models/model-store.js";
import { hfFileUrl } from "../../../models/sources.js";
import { createModelStore } from "../../../models/store-impl.js";
import type { Precision, PrecisionVector } from "../../../vectors/quantize.js";
import type { Embedder, Embeddings, EmbedOptions, ModelInfo } from "../../embedder.js";
import { assertOpen, finishVector, resolveEmbedOptions, validateTexts } from "../../inputs.js";
import { loadTextTokenizer } from "../../onnx/text-tokenizer.js";
import { DEFAULT_MEDIA_LIMITS, type ImageTextEmbedder, type MediaLimits } from "../media-embedder.js";
import { createPixelEmbedder, type PixelEmbedder } from "./pixel-embedder.js";

/** Options of {@link createClipEmbedder}. */
export interface CreateClipEmbedderOptions {
  /** `dir:/path/to/folder` or `hf:owner/name[@revision]`, optionally `#vision=...&text=...`. */
  readonly model: string;
  /** Model cache. @default createModelStore() */
  readonly store?: ModelStore;
  readonly onPullProgress?: (progress: PullProgress) => void;
  /** Inference threads per tower. @default os.availableParallelism() */
  readonly threads?: number;
  /** Images or texts per inference call. @default 16 */
  readonly maxBatchSize?: number;
  /** Limits for image inputs. @default DEFAULT_MEDIA_LIMITS */
  readonly limits?: Partial<MediaLimits>;
}

/** An image-text pair whose image side also embeds decoded pixels. */
export interface ClipEmbedder extends ImageTextEmbedder {
  readonly image: PixelEmbedder;
}

const FILES = {
  vision: "vision_model.onnx",
  text: "text_model.onnx",
  tokenizer: "tokenizer.json",
  preprocessor: "preprocessor_config.json",
  config: "config.json",
} as const;

interface ClipReference {
  readonly kind: "dir" | "hf";
  /** Folder (dir) or repository (hf). */
  readonly location: string;
  readonly revision: string;
  readonly vision: string;
  readonly text: string;
}

function parseClipReference(name: string): ClipReference {
  const trimmed = name.trim();
  const hash = trimmed.indexOf("#");
  const body = hash < 0 ? trimmed : trimmed.slice(0, hash);
  const settings = new URLSearchParams(hash < 0 ? "" : trimmed.slice(hash + 1));
  for (const key of settings.keys()) {
    if (key !== "vision" && key !== "text") {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Unknown setting "${key}" in CLIP model reference "${name}". Expected vision=<path> and/or text=<path>.`,
        { details: { reference: name } },
      );
    }
  }
  const vision = settings.get("vision") ?? `onnx/${FILES.vision}`;
  const text = settings.get("text") ?? `onnx/${FILES.text}`;
  if (/^dir:/i.test(body)) {
    const path = body.slice(4);
    if (path === "") throw badReference(name);
    return { kind: "dir", location: isAbsolute(path) ? path : resolve(path), revision: "", vision, text };
  }
  if (/^hf:/i.test(body)) {
    const [repo = "", revision = "main"] = body.slice(3).split("@");
    if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw badReference(name);
    return { kind: "hf", location: repo, revision, vision, text };
  }
  throw badReference(name);
}

function badReference(name: string): EmbedkitError {
  return new EmbedkitError(
    "UNKNOWN_MODEL",
    `"${name}" is not a CLIP model reference. Expected "dir:/path/to/folder" or "hf:owner/name[@revision]" ` +
      "naming a folder with onnx/vision_model.onnx, onnx/text_model.onnx, tokenizer.json, preprocessor_config.json " +
      "and config.json (the Transformers.js layout).",
    { details: { reference: name } },
  );
}

function number(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

function triple(
  value: unknown,
  fallback: readonly [number, number, number],
): readonly [number, number, number] {
  return Array.isArray(value) && value.length === 3 && value.every((item) => typeof item === "number")
    ? [value[0] as number, value[1] as number, value[2] as number]
    : fallback;
}

/** Turn a Hugging Face `preprocessor_config.json` into our preprocessing spec. */
export function preprocessFromConfig(config: Record<string, unknown>): ImagePreprocessSpec {
  const crop = (config.crop_size ?? config.size) as Record<string, unknown> | number | undefined;
  const side = typeof crop === "number" ? crop : number(crop?.height ?? crop?.shortest_edge, 224);
  const width = typeof crop === "number" ? crop : number(crop?.width ?? crop?.shortest_edge, side);
  return {
    width,
    height: side,
    fit: config.do_center_crop === false ? "fill" : "cover",
    rescale: config.do_rescale === false ? 1 : number(config.rescale_factor, 1 / 255),
    mean:
      config.do_normalize === false
        ? [0, 0, 0]
        : triple(config.image_mean, [0.48145466, 0.4578275, 0.40821073]),
    std:
      config.do_normalize === false
        ? [1, 1, 1]
        : triple(config.image_std, [0.26862954, 0.26130258, 0.27577711]),
    layout: "nchw",
  };
}

async function readConfigs(
  reference: ClipReference,
  store: ModelStore,
): Promise<{ config: Record<string, unknown>; preprocessor: Record<string, unknown> }> {
  const read = async (name: string): Promise<Record<string, unknown>> => {
    try {
      if (reference.kind === "dir") {
        return JSON.parse(await readFile(resolve(reference.location, name), "utf8")) as Record<
          string,
          unknown
        >;
      }
      // The two small configs are read before the pull (they decide the spec), from
      // HF_ENDPOINT with HF_TOKEN, which is also where a default store pulls from.
      const endpoint = process.env.HF_ENDPOINT ?? "https://huggingface.co";
      const token = process.env.HF_TOKEN;
      return (await fetchJson(hfFileUrl(endpoint, reference.location, reference.revision, name), {
        retries: 2,
        retryDelayMs: 500,
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      })) as Record<string, unknown>;
    } catch (cause) {
      if (EmbedkitError.isInstance(cause)) throw cause;
      throw new EmbedkitError(
        "CORRUPT_MODEL",
        `Cannot read ${name} of CLIP model ${reference.location}: ${(cause as Error).message}. ` +
          "Expected the Transformers.js layout (config.json with projection_dim, preprocessor_config.json).",
        { cause, details: { model: reference.location, file: name, home: store.home } },
      );
    }
  };
  return { config: await read(FILES.config), preprocessor: await read(FILES.preprocessor) };
}

function clipSpec(
  reference: ClipReference,
  dims: number,
  preprocess: ImagePreprocessSpec,
  maxTokens: number,
): ModelSpec {
  const digest = createHash("sha256")
    .update(
      `${reference.kind}:${reference.location}@${reference.revision}#${reference.vision}&${reference.text}`,
    )
    .digest("hex")
    .slice(0, 8);
  const label =
    basename(reference.location)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-") || "model";
  const entries = {
    [FILES.vision]: reference.vision,
    [FILES.text]: reference.text,
    [FILES.tokenizer]: FILES.tokenizer,
    [FILES.preprocessor]: FILES.preprocessor,
    [FILES.config]: FILES.config,
  };
  const source: ModelSource =
    reference.kind === "dir"
      ? { type: "dir", path: reference.location, entries }
      : { type: "hf", repo: reference.location, revision: reference.revision, entries };
  return {
    id: `clip--${label}--${digest}`,
    aliases: [`clip:${reference.kind}:${reference.location}`],
    description: `CLIP-style image+text ONNX pair from ${reference.kind}:${reference.location}`,
    modality: "image",
    format: "onnx-clip",
    dims,
    maxTokens,
    pooling: "mean",
    normalize: true,
    prefixes: {},
    languages: [],
    quantized: false,
    license: "see the model's own license",
    upstream: `${reference.kind}:${reference.location}`,
    files: [
      { role: "onnx", name: FILES.vision, sha256: UNPINNED },
      { role: "text-onnx", name: FILES.text, sha256: UNPINNED },
      { role: "tokenizer", name: FILES.tokenizer, sha256: UNPINNED },
      { role: "config", name: FILES.preprocessor, sha256: UNPINNED },
    ],
    sources: [source],
    references: [],
    image: preprocess,
  };
}

async function openSession(path: string, threads: number, id: string): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  } catch (cause) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${id}: onnxruntime cannot load ${path}: ${(cause as Error).message}`,
      {
        cause,
        details: { model: id, path },
      },
    );
  }
}

function requireNames(
  session: ort.InferenceSession,
  inputs: readonly string[],
  output: string,
  id: string,
  path: string,
): void {
  const missing = [...inputs.filter((name) => !session.inputNames.includes(name))];
  if (!session.outputNames.includes(output)) missing.push(output);
  if (missing.length > 0) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${id}: ${path} lacks ${missing.join(", ")}. It has inputs ${session.inputNames.join(", ")} and outputs ` +
        `${session.outputNames.join(", ")}; expected a CLIP export (vision: pixel_values → image_embeds, ` +
        "text: input_ids + attention_mask → text_embeds).",
      { details: { model: id, path, missing } },
    );
  }
}

function rows(data: Float32Array, count: number, dims: number): Float32Array[] {
  return Array.from({ length: count }, (_, index) => data.slice(index * dims, (index + 1) * dims));
}

/**
 * Load a CLIP-style ONNX pair (from a folder or the Hub) as an image embedder and
 * a text embedder sharing one vector space.
 *
 * @throws EmbedkitError UNKNOWN_MODEL (bad reference), CORRUPT_MODEL (missing files, wrong
 *   graph signature), DOWNLOAD_FAILED
 * @example
 * ```ts
 * const clip = await createClipEmbedder({ model: "hf:Xenova/clip-vit-base-patch32" });
 * const photos = await clip.image.embed(["beach.jpg", "city.jpg"]);
 * const [query] = (await clip.text.embed(["a photo of the sea"])).vectors;
 * await clip.close();
 * ```
 */
export async function createClipEmbedder(options: CreateClipEmbedderOptions): Promise<ClipEmbedder> {
  const reference = parseClipReference(options.model);
  const store = options.store ?? createModelStore();
  const { config, preprocessor } = await readConfigs(reference, store);
  const dims = number(config.projection_dim, 0);
  if (!Number.isInteger(dims) || dims <= 0) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `config.json of ${options.model} has no positive integer projection_dim (received ${JSON.stringify(config.projection_dim)}).`,
      { details: { model: options.model } },
    );
  }
  const textConfig = (config.text_config ?? {}) as Record<string, unknown>;
  const maxTokens = number(textConfig.max_position_embeddings, 77);
  const spec = clipSpec(reference, dims, preprocessFromConfig(preprocessor), maxTokens);
  const pulled = await store.ensure(
    spec,
    options.onPullProgress ? { onProgress: options.onPullProgress } : {},
  );
  const threads = options.threads ?? availableParallelism();
  const maxBatchSize = options.maxBatchSize ?? 16;
  const visionPath = pulled.path("onnx");
  const textPath = pulled.path("text-onnx");
  const vision = await openSession(visionPath, threads, spec.id);
  const text = await openSession(textPath, threads, spec.id);
  try {
    requireNames(vision, ["pixel_values"], "image_embeds", spec.id, visionPath);
    requireNames(text, ["input_ids"], "text_embeds", spec.id, textPath);
  } catch (error) {
    await Promise.all([vision.release(), text.release()]);
    throw error;
  }
  const tokenizer = await loadTextTokenizer(pulled.path("tokenizer"), maxTokens);
  const preprocess = spec.image as ImagePreprocessSpec;

  const image = createPixelEmbedder({
    model: Object.freeze({
      id: spec.id,
      dims,
      modality: "image",
      normalize: true,
      maxBatchSize,
      limits: Object.freeze({ ...DEFAULT_MEDIA_LIMITS, ...options.limits }),
    }),
    preprocess,
    async run(tensor, count) {
      const feeds = {
        pixel_values: new ort.Tensor("float32", tensor, [count, 3, preprocess.height, preprocess.width]),
      };
      const output = (await vision.run(feeds)).image_embeds as ort.Tensor;
      return rows(output.data as Float32Array, count, dims);
    },
    async close() {
      await vision.release();
    },
  });

  const textModel: ModelInfo = Object.freeze({
    id: spec.id,
    dims,
    modality: "text",
    maxTokens,
    pooling: "mean",
    normalize: true,
    prefixes: {},
    maxBatchSize,
  });
  let textClosed = false;
  const textEmbedder: Embedder = {
    model: textModel,
    async embed<P extends Precision = "float32">(
      inputs: readonly string[],
      embedOptions: EmbedOptions<P> = {},
    ): Promise<Embeddings<P>> {
      assertOpen(textClosed, spec.id);
      validateTexts(inputs);
      const resolved = resolveEmbedOptions(textModel, embedOptions);
      const encoded = inputs.map((input, index) =>
        tokenizer.encode(input, { truncate: resolved.truncate, index }),
      );
      const vectors: PrecisionVector[P][] = [];
      let tokens = 0;
      for (let start = 0; start < encoded.length; start += maxBatchSize) {
        embedOptions.signal?.throwIfAborted();
        const batch = encoded.slice(start, start + maxBatchSize);
        const length = Math.max(...batch.map((item) => item.ids.length));
        const ids = new BigInt64Array(batch.length * length);
        const mask = new BigInt64Array(batch.length * length);
        batch.forEach((item, row) => {
          tokens += item.fullLength;
          item.ids.forEach((id, column) => {
            ids[row * length + column] = BigInt(id);
            mask[row * length + column] = 1n;
          });
        });
        const feeds: Record<string, ort.Tensor> = {
          input_ids: new ort.Tensor("int64", ids, [batch.length, length]),
        };
        if (text.inputNames.includes("attention_mask")) {
          feeds.attention_mask = new ort.Tensor("int64", mask, [batch.length, length]);
        }
        const output = (await text.run(feeds)).text_embeds as ort.Tensor;
        for (const row of rows(output.data as Float32Array, batch.length, dims)) {
          vectors.push(finishVector(row, true, resolved));
        }
        embedOptions.onProgress?.(vectors.length, encoded.length);
      }
      return { vectors, dims: resolved.dimensions, precision: resolved.precision, usage: { tokens } };
    },
    async countTokens(inputs) {
      validateTexts(inputs);
      return inputs.map((input) => tokenizer.count(input));
    },
    async close() {
      if (textClosed) return;
      textClosed = true;
      await text.release();
    },
  };
  return {
    image,
    text: textEmbedder,
    async close() {
      await Promise.all([image.close(), textEmbedder.close()]);
    },
  };
}
