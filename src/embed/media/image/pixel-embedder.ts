/**
 * @module embed/media/image/pixel-embedder
 * The part every image runtime shares: check the call (inputs opened and
 * sniffed, every header checked against the pixel limit before anything is
 * decoded), decode and resize in batches, pack the batch into one normalized
 * Float32 tensor in the model's layout, hand it to the runtime, then normalize /
 * truncate / quantize each row. A runtime (TF.js, onnxruntime) only supplies
 * `run(tensor, count)`.
 */
import type { ImagePreprocessSpec, ModelSpec } from "../../../models/model-spec.js";
import type { Precision, PrecisionVector } from "../../../vectors/quantize.js";
import { assertOpen, finishVector } from "../../inputs.js";
import { prepareMediaCall } from "../media-call.js";
import {
  DEFAULT_MEDIA_LIMITS,
  type MediaEmbedder,
  type MediaEmbeddings,
  type MediaEmbedOptions,
  type MediaInput,
  type MediaLimits,
  type MediaModelInfo,
} from "../media-embedder.js";
import type { MediaFile } from "../media-input.js";
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
  const raw = { inputType: "none", truncate: true, dimensions: model.dims, precision: "float32" } as const;
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

  return {
    model,
    preprocess,
    async embed<P extends Precision = "float32">(
      inputs: readonly MediaInput[],
      options: MediaEmbedOptions<P> = {},
    ): Promise<MediaEmbeddings<P>> {
      assertOpen(closed, model.id);
      const call = await prepareMediaCall(model, inputs, options, true);
      const pixels = await checkImageHeaders(call.files, call.limits.maxPixels);
      const vectors: PrecisionVector[P][] = [];
      for (let start = 0; start < call.files.length; start += model.maxBatchSize) {
        options.signal?.throwIfAborted();
        const images = await decodeBatch(
          call.files.slice(start, start + model.maxBatchSize),
          call.limits.maxPixels,
        );
        for (const row of await runImages(images))
          vectors.push(finishVector(row, model.normalize, call.options));
        options.onProgress?.(vectors.length, call.files.length);
      }
      return {
        vectors,
        dims: call.options.dimensions,
        precision: call.options.precision,
        modality: "image",
        usage: { tokens: 0, inputs: call.files.length, pixels },
      };
    },
    async embedPixels(images, options = {}) {
      assertOpen(closed, model.id);
      const out: Float32Array[] = [];
      for (let start = 0; start < images.length; start += model.maxBatchSize) {
        options.signal?.throwIfAborted();
        const resized = await Promise.all(
          images.slice(start, start + model.maxBatchSize).map((image) => resizeRgb(image, preprocess)),
        );
        for (const row of await runImages(resized)) out.push(finishVector(row, model.normalize, raw));
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await runtime.close();
    },
  };
}
