/**
 * @module embed/media/image/decode-image
 * Image decoding and model preprocessing with sharp (libvips): JPEG, PNG, WebP,
 * GIF (first frame), TIFF and AVIF; EXIF orientation applied; alpha flattened on
 * white; resized by the model's rule (`fill` or `cover` = shortest side + center
 * crop) and normalized into a Float32 tensor in the model's layout.
 *
 * Hostile inputs are refused before pixels are allocated: the header's width ×
 * height is checked against `maxPixels` (a 50k×50k PNG is a few hundred bytes
 * but 7.5 GB decoded), and sharp's own `limitInputPixels` enforces the same
 * bound inside libvips. Truncated or corrupt data fails with MALFORMED_FILE
 * (`failOn: "truncated"` makes libvips stop instead of returning a grey tail).
 */
import type { Metadata, ResizeOptions } from "sharp";
import { EmbedkitError } from "../../../errors.js";
import { loadSharp } from "../../../internal/load-dependency.js";
import type { ImagePreprocessSpec } from "../../../models/model-spec.js";
import type { MediaFile } from "../media-input.js";

/** Raw 8-bit RGB pixels, row-major, 3 bytes per pixel. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Size of an image as its header declares it (before decoding). */
export interface ImageHeader {
  readonly width: number;
  readonly height: number;
  /** sharp's format name (`jpeg`, `png`, `webp`, `gif`, ...). */
  readonly format: string;
  /** Frames in the file (GIF/WebP animations); only the first is used. */
  readonly pages: number;
}

// sharp is loaded on first decode, and its process-wide settings (libvips'
// operation cache, bounded at 50 MB / 100 operations by default; concurrency)
// are left to the host application: a library must not change them on import.

/** The MALFORMED_FILE error for an image sharp could not decode (`cause`: sharp's error). */
export function malformedImage(file: MediaFile, cause: unknown): EmbedkitError {
  const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
  return new EmbedkitError(
    "MALFORMED_FILE",
    `${file.name} could not be decoded as ${file.type.mime}: ${reason}. The file is truncated or corrupt; ` +
      "re-export or re-download it.",
    { cause, details: { name: file.name, mime: file.type.mime } },
  );
}

function bytesOf(file: MediaFile): Uint8Array {
  if (file.data === undefined) {
    throw new EmbedkitError(
      "INTERNAL",
      `${file.name} was opened without its bytes; images are read into memory.`,
    );
  }
  return file.data;
}

/**
 * Read an image's header (no pixel decoding) and refuse it when width × height
 * exceeds `maxPixels`.
 * @throws EmbedkitError INPUT_TOO_LARGE, MALFORMED_FILE
 */
export async function readImageHeader(file: MediaFile, maxPixels: number): Promise<ImageHeader> {
  const sharp = await loadSharp();
  let metadata: Metadata;
  try {
    // limitInputPixels: false so an over-limit header is reported by us, with its size.
    metadata = await sharp(bytesOf(file), { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw malformedImage(file, cause);
  }
  const width = metadata.width ?? 0;
  const height = metadata.pageHeight ?? metadata.height ?? 0;
  if (width <= 0 || height <= 0) throw malformedImage(file, new Error("the header declares no size"));
  if (width * height > maxPixels) {
    throw new EmbedkitError(
      "INPUT_TOO_LARGE",
      `${file.name} declares ${width}×${height} = ${width * height} pixels, over the limit of ${maxPixels} ` +
        "pixels (decoding it would need about " +
        `${Math.round((width * height * 3) / 1024 ** 2)} MiB). Downscale it first, or raise limits.maxPixels ` +
        "(CLI: --max-pixels) if you trust it.",
      { details: { name: file.name, width, height, pixels: width * height, maxPixels } },
    );
  }
  return { width, height, format: metadata.format ?? file.type.ext, pages: metadata.pages ?? 1 };
}

/**
 * Check every file's header against `maxPixels` before anything is decoded (one
 * bomb rejects the whole call) and return their total pixel count (for `usage`).
 * @throws EmbedkitError INPUT_TOO_LARGE, MALFORMED_FILE
 */
export async function checkImageHeaders(files: readonly MediaFile[], maxPixels: number): Promise<number> {
  let pixels = 0;
  for (const file of files) {
    const header = await readImageHeader(file, maxPixels);
    pixels += header.width * header.height;
  }
  return pixels;
}

/**
 * Decode the first frame, honour EXIF orientation and flatten alpha onto white;
 * returns 8-bit RGB. With `resize`, the image is also resized by the model rule.
 * @throws EmbedkitError INPUT_TOO_LARGE, MALFORMED_FILE
 */
export async function decodeImage(
  file: MediaFile,
  options: {
    readonly maxPixels: number;
    readonly resize?: Pick<ImagePreprocessSpec, "width" | "height" | "fit">;
  },
): Promise<RgbImage> {
  await readImageHeader(file, options.maxPixels);
  const sharp = await loadSharp();
  try {
    let pipeline = sharp(bytesOf(file), {
      limitInputPixels: options.maxPixels,
      failOn: "truncated",
      pages: 1,
    })
      .rotate()
      .flatten({ background: "#ffffff" })
      .toColourspace("srgb");
    if (options.resize !== undefined) pipeline = pipeline.resize(resizeOptions(options.resize));
    const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  } catch (cause) {
    throw malformedImage(file, cause);
  }
}

function resizeOptions(spec: Pick<ImagePreprocessSpec, "width" | "height" | "fit">): ResizeOptions {
  return {
    width: spec.width,
    height: spec.height,
    fit: spec.fit === "fill" ? "fill" : "cover",
    position: "centre",
    kernel: "cubic",
  };
}

/**
 * Resize raw RGB pixels (e.g. a decoded video frame) by the model rule.
 * @throws EmbedkitError INTERNAL when the buffer does not match width × height × 3
 */
export async function resizeRgb(
  image: RgbImage,
  spec: Pick<ImagePreprocessSpec, "width" | "height" | "fit">,
): Promise<RgbImage> {
  if (image.data.length !== image.width * image.height * 3) {
    throw new EmbedkitError(
      "INTERNAL",
      `RGB buffer has ${image.data.length} bytes, expected ${image.width}×${image.height}×3 = ${image.width * image.height * 3}.`,
    );
  }
  if (image.width === spec.width && image.height === spec.height) return image;
  const sharp = await loadSharp();
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .resize(resizeOptions(spec))
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  };
}

/**
 * Write one model-sized RGB image into `target` at `offset` (in floats) as
 * `(value · rescale − mean) / std`, in the model's layout (`nhwc` or `nchw`).
 * @throws EmbedkitError INTERNAL when the image is not the model's size
 */
export function writeNormalized(
  image: RgbImage,
  spec: ImagePreprocessSpec,
  target: Float32Array,
  offset: number,
): void {
  if (image.width !== spec.width || image.height !== spec.height) {
    throw new EmbedkitError(
      "INTERNAL",
      `Image is ${image.width}×${image.height}, expected ${spec.width}×${spec.height} after resizing.`,
    );
  }
  const pixels = spec.width * spec.height;
  const scale = [0, 1, 2].map((c) => spec.rescale / (spec.std[c] as number));
  const shift = [0, 1, 2].map((c) => (spec.mean[c] as number) / (spec.std[c] as number));
  const { data } = image;
  if (spec.layout === "nhwc") {
    for (let i = 0; i < pixels * 3; i++) {
      const c = i % 3;
      target[offset + i] = (data[i] as number) * (scale[c] as number) - (shift[c] as number);
    }
    return;
  }
  for (let c = 0; c < 3; c++) {
    const s = scale[c] as number;
    const t = shift[c] as number;
    const plane = offset + c * pixels;
    for (let p = 0; p < pixels; p++) target[plane + p] = (data[p * 3 + c] as number) * s - t;
  }
}
