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
import { availableParallelism } from "node:os";
import type * as ort from "onnxruntime-node";
import { loadOnnxRuntime } from "../../../internal/load-dependency.js";
import type { ImagePreprocessSpec, ModelSpec } from "../../../models/model-spec.js";
import type { ModelStore, PullProgress } from "../../../models/model-store.js";
import { createModelStore } from "../../../models/store-impl.js";
import { loadTextTokenizer } from "../../onnx/text-tokenizer.js";
import { DEFAULT_MEDIA_LIMITS, type ImageTextEmbedder, type MediaLimits } from "../media-embedder.js";
import {
  checkPairFolder,
  createTextTowerEmbedder,
  openTowerSession,
  type PairReference,
  pairSpec,
  parsePairReference,
  projectionDims,
  readPairJson,
  requireTowerNames,
  tensorRows,
  transformersJsFamily,
} from "../pair-model.js";
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

/** CLIP in the Transformers.js layout. */
const CLIP_FAMILY = transformersJsFamily("CLIP", "vision", "vision_model.onnx");

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

function clipSpec(
  reference: PairReference,
  dims: number,
  preprocess: ImagePreprocessSpec,
  maxTokens: number,
): ModelSpec {
  return pairSpec(reference, CLIP_FAMILY, {
    prefix: "clip",
    alias: `clip:${reference.kind}:${reference.location}`,
    description: `CLIP-style image+text ONNX pair from ${reference.kind}:${reference.location}`,
    modality: "image",
    format: "onnx-clip",
    dims,
    maxTokens,
    image: preprocess,
  });
}

/**
 * Load a CLIP-style ONNX pair (from a folder or the Hub) as an image embedder and
 * a text embedder sharing one vector space.
 *
 * @throws EmbedkitError UNKNOWN_MODEL (bad reference), FILE_NOT_FOUND (a folder that is
 *   missing or lacks files), CORRUPT_MODEL (unreadable configs, wrong graph signature),
 *   DOWNLOAD_FAILED
 * @example
 * ```ts
 * const clip = await createClipEmbedder({ model: "hf:Xenova/clip-vit-base-patch32" });
 * const photos = await clip.image.embed(["beach.jpg", "city.jpg"]);
 * const [query] = (await clip.text.embed(["a photo of the sea"])).vectors;
 * await clip.close();
 * ```
 */
export async function createClipEmbedder(options: CreateClipEmbedderOptions): Promise<ClipEmbedder> {
  const reference = parsePairReference(options.model, CLIP_FAMILY);
  const store = options.store ?? createModelStore();
  await checkPairFolder(reference, CLIP_FAMILY);
  const ort = await loadOnnxRuntime();
  // The two small configs are read before the pull: they decide the spec.
  const config = await readPairJson(reference, CLIP_FAMILY, CLIP_FAMILY.names.config, store.home);
  const preprocessor = await readPairJson(reference, CLIP_FAMILY, CLIP_FAMILY.names.preprocessor, store.home);
  const dims = projectionDims(config, options.model);
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
  const vision = await openTowerSession(visionPath, threads, spec.id);
  const text = await openTowerSession(textPath, threads, spec.id);
  const expected =
    "a CLIP export (vision: pixel_values → image_embeds, text: input_ids + attention_mask → text_embeds)";
  try {
    requireTowerNames(vision, ["pixel_values"], "image_embeds", { id: spec.id, path: visionPath, expected });
    requireTowerNames(text, ["input_ids"], "text_embeds", { id: spec.id, path: textPath, expected });
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
      return tensorRows(output.data as Float32Array, count, dims);
    },
    async close() {
      await vision.release();
    },
  });
  const textEmbedder = createTextTowerEmbedder({
    id: spec.id,
    dims,
    maxTokens,
    maxBatchSize,
    tokenizer,
    session: text,
    output: "text_embeds",
  });
  return {
    image,
    text: textEmbedder,
    async close() {
      await Promise.all([image.close(), textEmbedder.close()]);
    },
  };
}
