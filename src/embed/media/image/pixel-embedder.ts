/**
 * @module embed/media/image/pixel-embedder
 * The part every image runtime shares, as a provider of the media pipeline
 * (../media-pipeline.ts): every header checked against the pixel limit before
 * anything is decoded (`inspect`), then per sub-batch decode and resize, pack
 * the batch into one normalized Float32 tensor in the model's layout and hand
 * it to the runtime; the core normalizes / truncates / quantizes each row. A
 * runtime (TF.js, onnxruntime) only supplies `run(tensor, count)`.
 */
import type { ImagePreprocessSpec, ModelSpec } from "../../../models/model-spec.js";
import { assertOpen } from "../../inputs.js";
import { type EmbedProvider, embedDecoded } from "../../pipeline.js";
import {
  DEFAULT_MEDIA_LIMITS,
  type MediaEmbedder,
  type MediaLimits,
  type MediaModelInfo,
} from "../media-embedder.js";
import type { MediaFile } from "../media-input.js";
import { embedMedia, type MediaProvider } from "../media-pipeline.js";
import { checkImageHeaders, decodeImage, type RgbImage, resizeRgb, writeNormalized } from "./decode-image.js";

/** An image embedder that can also embed already-decoded RGB pixels (video frames). */
export interface PixelEmbedder extends MediaEmbedder {
  /** The pixel preprocessing the model expects. */
  readonly preprocess: ImagePreprocessSpec;
  /**
   * Embed decoded RGB images (any size; resized by the model rule) into unit
   * float32 vectors. Used by the video embedder for frames; no file checks apply.
   */
  embedPixels(
    images: readonly RgbImage[],
    options?: { readonly signal?: AbortSignal },
  ): Promise<Float32Array[]>;
}

/** What a runtime supplies to {@link createPixelEmbedder}. */
export interface PixelRuntime {
  readonly model: MediaModelInfo;
  readonly preprocess: ImagePreprocessSpec;
  /** Run `count` images packed in `tensor` (model layout); one raw row per image. */
  run(tensor: Float32Array, count: number): Promise<Float32Array[]>;
  /** Free the runtime's resources. */
  close(): Promise<void>;
}

/**
 * The {@link MediaModelInfo} of a catalog image model: its id, dims and
 * normalization, `maxBatchSize` (default 16) and limits over {@link DEFAULT_MEDIA_LIMITS}.
 */
export function imageModelInfo(
  spec: Pick<ModelSpec, "id" | "dims" | "normalize">,
  options: { readonly maxBatchSize?: number; readonly limits?: Partial<MediaLimits> },
): MediaModelInfo {
  return Object.freeze({
    id: spec.id,
    dims: spec.dims,
    modality: "image",
    normalize: spec.normalize,
    maxBatchSize: options.maxBatchSize ?? 16,
    limits: Object.freeze({ ...DEFAULT_MEDIA_LIMITS, ...options.limits }),
  });
}

/** Build a {@link PixelEmbedder} around a runtime. */
export function createPixelEmbedder(runtime: PixelRuntime): PixelEmbedder {
  const { model, preprocess } = runtime;
  const size = preprocess.width * preprocess.height * 3;
  let closed = false;

  /**
   * Decode one batch concurrently (sharp works on libuv's thread pool; the batch
   * bounds memory as before). The first failure in input order is thrown, so
   * errors do not depend on which decode finished first.
   */
  async function decodeBatch(files: readonly MediaFile[], maxPixels: number): Promise<RgbImage[]> {
    const settled = await Promise.allSettled(
      files.map((file) => decodeImage(file, { maxPixels, resize: preprocess })),
    );
    const failed = settled.find((result) => result.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return settled.map((result) => (result as PromiseFulfilledResult<RgbImage>).value);
  }

  async function runImages(images: readonly RgbImage[]): Promise<Float32Array[]> {
    const tensor = new Float32Array(images.length * size);
    images.forEach((image, index) => {
      writeNormalized(image, preprocess, tensor, index * size);
    });
    return runtime.run(tensor, images.length);
  }

  const assertNotClosed = (): void => assertOpen(closed, model.id);
  /** Files: every header checked against the pixel limit first, then decoded batch by batch. */
  const files: MediaProvider = {
    model,
    read: true,
    measures: { pixels: true, seconds: false },
    limits: { maxBatchSize: model.maxBatchSize },
    assertOpen: assertNotClosed,
    inspect: async (opened, { limits }) => ({ pixels: await checkImageHeaders(opened, limits.maxPixels) }),
    doEmbed: async ({ values, context }) => ({
      vectors: await runImages(await decodeBatch(values, context.limits.maxPixels)),
    }),
  };
  /** Decoded pixels (video frames): only resized. */
  const decoded: EmbedProvider<RgbImage> = {
    limits: { maxBatchSize: model.maxBatchSize },
    doEmbed: async ({ values }) => ({
      vectors: await runImages(await Promise.all(values.map((image) => resizeRgb(image, preprocess)))),
    }),
  };

  return {
    model,
    preprocess,
    embed: (inputs, options) => embedMedia(files, inputs, options),
    async embedPixels(images, options = {}) {
      return embedDecoded(decoded, images, {
        dims: model.dims,
        normalize: model.normalize,
        signal: options.signal,
        assertOpen: assertNotClosed,
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await runtime.close();
    },
  };
}
