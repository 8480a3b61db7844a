/**
 * @module embed/media/image/create-image-embedder
 * The one entry point that turns a model name into a ready image
 * {@link MediaEmbedder}: resolve the name in the catalog (default
 * `mobilenet-v2-nsfwjs`), pull and verify its files through the model store,
 * then start the runtime the model's format calls for (TF.js for `tfjs-layers`,
 * onnxruntime for an `onnx-clip` pair — see `createClipEmbedder` for the text side).
 */
import { EmbedkitError } from "../../../errors.js";
import { DEFAULT_MODELS } from "../../../models/catalog.js";
import type { ModelStore, PullProgress } from "../../../models/model-store.js";
import { createModelStore } from "../../../models/store-impl.js";
import type { MediaLimits } from "../media-embedder.js";
import { pullMediaModel } from "../pull-media-model.js";
import type { PixelEmbedder } from "./pixel-embedder.js";
import { createTfjsImageEmbedder } from "./tfjs-image-embedder.js";
import type { TfjsBackend } from "./tfjs-runtime.js";

/** Options of {@link createImageEmbedder}. */
export interface CreateImageEmbedderOptions {
  /**
   * Catalog id or alias of an image model (see `embedkit models list`), or a
   * CLIP-style folder / Hub repo as `clip:dir:/path` or `clip:hf:owner/name`.
   * @default "mobilenet-v2-nsfwjs"
   */
  readonly model?: string;
  /** Model cache to use. @default createModelStore() */
  readonly store?: ModelStore;
  /** Progress of a first-time model download. */
  readonly onPullProgress?: (progress: PullProgress) => void;
  /** TF.js backend for `tfjs-layers` models. @default "wasm" */
  readonly backend?: TfjsBackend;
  /** Images per inference call. @default 16 */
  readonly maxBatchSize?: number;
  /** Limits applied to every call. @default DEFAULT_MEDIA_LIMITS */
  readonly limits?: Partial<MediaLimits>;
  /** Inference threads for ONNX (CLIP) models. @default os.availableParallelism() */
  readonly threads?: number;
}

/**
 * Create an image embedder, pulling and verifying the model on first use.
 *
 * @throws EmbedkitError UNKNOWN_MODEL, INVALID_OPTION (a text model), DOWNLOAD_FAILED,
 *   CHECKSUM_MISMATCH, CORRUPT_MODEL
 * @example
 * ```ts
 * const embedder = await createImageEmbedder();            // MobileNetV2 features, 1280-d
 * const { vectors } = await embedder.embed(["photo.jpg", "scan.png"]);
 * await embedder.close();
 * ```
 */
export async function createImageEmbedder(options: CreateImageEmbedderOptions = {}): Promise<PixelEmbedder> {
  const name = options.model ?? DEFAULT_MODELS.image;
  if (/^clip:/i.test(name.trim())) {
    const { createClipEmbedder } = await import("./clip-embedder.js");
    const clip = await createClipEmbedder({ ...options, model: name.trim().slice("clip:".length) });
    return clip.image;
  }
  const pulled = await pullMediaModel({
    store: options.store ?? createModelStore(),
    name,
    modality: "image",
    choices: `default ${DEFAULT_MODELS.image}, or "clip:dir:/path" for a CLIP folder`,
    ...(options.onPullProgress === undefined ? {} : { onPullProgress: options.onPullProgress }),
  });
  const { spec } = pulled;
  if (spec.format === "tfjs-layers") {
    return createTfjsImageEmbedder({
      spec: pulled.spec,
      paths: pulled.paths,
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
  }
  throw new EmbedkitError(
    "INVALID_OPTION",
    `${spec.id} has format ${spec.format}, which has no image runtime. Expected tfjs-layers or a "clip:" model.`,
    { details: { model: spec.id, format: spec.format } },
  );
}
