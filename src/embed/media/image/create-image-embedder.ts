/**
 * @module embed/media/image/create-image-embedder
 * The one entry point that turns a model name into a ready image
 * {@link MediaEmbedder}: resolve the name in the catalog (default
 * `mobilenet-v2-nsfwjs`), pull and verify its files through the model store,
 * then start the runtime the model's format calls for: for `tfjs-layers` models
 * onnxruntime on a one-time ONNX conversion (the default, multi-threaded) or
 * TF.js itself (`runtime: "tfjs"`); onnxruntime for an `onnx-clip` pair — see
 * `createClipEmbedder` for the text side.
 */

import { EmbedkitError } from "../../../errors.js";
import { DEFAULT_MODELS } from "../../../models/catalog.js";
import type { ModelStore, PullProgress } from "../../../models/model-store.js";
import { createModelStore } from "../../../models/store-impl.js";
import { CLAP_PREFIX } from "../audio/clap-features.js";
import type { MediaLimits } from "../media-embedder.js";
import { pullMediaModel } from "../pull-media-model.js";
import { createKerasOnnxImageEmbedder } from "./keras-onnx-image-embedder.js";
import type { PixelEmbedder } from "./pixel-embedder.js";
import { createTfjsImageEmbedder } from "./tfjs-image-embedder.js";
import type { TfjsBackend } from "./tfjs-runtime.js";

/** Runtimes for TF.js Keras image models (see {@link CreateImageEmbedderOptions.runtime}). */
export const IMAGE_RUNTIMES = Object.freeze(["onnx", "tfjs"] as const);

/** One of {@link IMAGE_RUNTIMES}. */
export type ImageRuntime = (typeof IMAGE_RUNTIMES)[number];

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
  /**
   * How a `tfjs-layers` model (the default MobileNetV2) runs. `"onnx"`: its
   * weights are converted once into an ONNX graph cached in the model's folder
   * (sha256-recorded; rebuilt when missing or corrupted) and run by onnxruntime
   * on `threads` cores. `"tfjs"`: TensorFlow.js on `backend` (single-threaded
   * wasm in Node). Both give the same vectors to float rounding.
   * The environment variable `EMBEDKIT_IMAGE_RUNTIME` (`onnx` or `tfjs`) sets it
   * where no code is written (CLI, server, video).
   * @default "onnx", or "tfjs" when `backend` is given
   */
  readonly runtime?: ImageRuntime;
  /** TF.js backend for `tfjs-layers` models on the tfjs runtime; giving it selects that runtime. @default "wasm" */
  readonly backend?: TfjsBackend;
  /** Images per inference call. @default 16 */
  readonly maxBatchSize?: number;
  /** Limits applied to every call. @default DEFAULT_MEDIA_LIMITS */
  readonly limits?: Partial<MediaLimits>;
  /** Inference threads for onnxruntime (CLIP, and the onnx runtime of TF.js models). @default os.availableParallelism() */
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
  if (CLAP_PREFIX.test(name.trim())) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${name} is an audio-text (CLAP) model; it cannot embed images or video frames. Use it with --modality audio ` +
        '(or for text queries), or give an image model: "mobilenet-v2-nsfwjs" or "clip:dir:/path".',
      { details: { model: name } },
    );
  }
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
    const fromEnvironment = process.env.EMBEDKIT_IMAGE_RUNTIME?.trim() || undefined;
    const runtime =
      options.runtime ??
      (options.backend !== undefined ? "tfjs" : ((fromEnvironment as ImageRuntime | undefined) ?? "onnx"));
    if (!IMAGE_RUNTIMES.includes(runtime)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `runtime must be one of ${IMAGE_RUNTIMES.join(", ")}; received ${JSON.stringify(runtime)}` +
          `${options.runtime === undefined ? " (from EMBEDKIT_IMAGE_RUNTIME)" : ""}.`,
        { details: { runtime: String(runtime) } },
      );
    }
    if (runtime === "onnx") {
      return createKerasOnnxImageEmbedder({
        spec,
        paths: pulled.paths,
        ...(options.threads === undefined ? {} : { threads: options.threads }),
        ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
        ...(options.limits === undefined ? {} : { limits: options.limits }),
      });
    }
    return createTfjsImageEmbedder({
      spec: pulled.spec,
      paths: pulled.paths,
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
  }
  if (spec.format === "tfjs-faceapi") {
    const { createFaceEmbedder } = await import("./face-embedder.js");
    return createFaceEmbedder({
      spec: pulled.spec,
      paths: pulled.paths,
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
  }
  throw new EmbedkitError(
    "INVALID_OPTION",
    `${spec.id} has format ${spec.format}, which has no image runtime. Expected tfjs-layers, tfjs-faceapi or a "clip:" model.`,
    { details: { model: spec.id, format: spec.format } },
  );
}
