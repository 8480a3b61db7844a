/**
 * @module embed/media/media-embedder
 * The contract for embedders of non-text inputs (images, video, audio). It
 * mirrors the text {@link Embedder}: the same result shape ({@link Embeddings}:
 * vectors, dims, precision, usage), the same model facts (id, dims, modality,
 * normalize, batch size) and the same rules (every input validated before any
 * work, so one bad file rejects the whole call and nothing is half-done). Types
 * and limits only, no behaviour: decoders live beside this file, providers
 * (image, video, audio) implement {@link MediaEmbedder}.
 *
 * Inputs are files (a path), raw bytes, or bytes with a name (the name is only
 * used in messages and for the extension-vs-content check). Text for image-text
 * models (CLIP) goes through a separate text {@link Embedder} that shares the
 * vector space, so a string is never ambiguous between "path" and "text".
 */
import type { Precision } from "../../vectors/quantize.js";
import type { Embedder, Embeddings } from "../embedder.js";

/** Modalities a {@link MediaEmbedder} can take. */
export const MEDIA_MODALITIES = Object.freeze(["image", "video", "audio"] as const);

/** One of {@link MEDIA_MODALITIES}. */
export type MediaModality = (typeof MEDIA_MODALITIES)[number];

/** Bytes with an optional display name (e.g. an upload's file name). */
export interface NamedBytes {
  readonly data: Uint8Array;
  /** File name used in error messages and to check extension vs content. */
  readonly name?: string;
}

/**
 * One media input: a file path, raw bytes, or {@link NamedBytes}.
 * Strings are always paths (never data URLs; decode those at the HTTP edge).
 */
export type MediaInput = string | Uint8Array | NamedBytes;

/**
 * Size limits checked before and during decoding, so hostile inputs (a 50k×50k
 * PNG header, a 10-hour WAV) are refused with INPUT_TOO_LARGE instead of
 * exhausting memory. Every field is a hard upper bound per input.
 */
export interface MediaLimits {
  /** Largest encoded input in bytes. @default 100 MiB (104857600) */
  readonly maxBytes: number;
  /** Largest decoded image/frame in pixels (width × height). @default 8192×8192 (67108864) */
  readonly maxPixels: number;
  /** Longest audio/video in seconds. @default 3600 */
  readonly maxDurationSeconds: number;
  /** Most frames decoded from one video. @default 2000 */
  readonly maxFrames: number;
}

/** The defaults of {@link MediaLimits}. */
export const DEFAULT_MEDIA_LIMITS: MediaLimits = Object.freeze({
  maxBytes: 100 * 1024 * 1024,
  maxPixels: 8192 * 8192,
  maxDurationSeconds: 3600,
  maxFrames: 2000,
});

/** Options of {@link MediaEmbedder.embed}. */
export interface MediaEmbedOptions<P extends Precision = "float32"> {
  /** Keep the first N dimensions and re-normalize. @default the model's dims */
  readonly dimensions?: number;
  /** Output precision. @default "float32" */
  readonly precision?: P;
  /** Tighter (or looser) limits for this call; unset fields keep the embedder's. */
  readonly limits?: Partial<MediaLimits>;
  /** Called after each batch with the number of inputs done so far. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Cancels between batches. */
  readonly signal?: AbortSignal;
}

/** Result of {@link MediaEmbedder.embed}: {@link Embeddings} plus what was processed. */
export interface MediaEmbeddings<P extends Precision = "float32"> extends Embeddings<P> {
  readonly modality: MediaModality;
  readonly usage: {
    /** Always 0 for media (kept so a media result is also a text-shaped result). */
    readonly tokens: number;
    /** Inputs embedded. */
    readonly inputs: number;
    /** Decoded pixels (images and video frames). */
    readonly pixels?: number;
    /** Seconds of audio or video. */
    readonly seconds?: number;
  };
}

/** Public facts about the model behind a {@link MediaEmbedder}. */
export interface MediaModelInfo {
  readonly id: string;
  readonly dims: number;
  readonly modality: MediaModality;
  /** Whether output vectors are L2-normalized. */
  readonly normalize: boolean;
  /** Largest number of inputs sent to the runtime in one call. */
  readonly maxBatchSize: number;
  /** Limits applied to every input unless a call overrides them. */
  readonly limits: MediaLimits;
}

/** Anything that turns media inputs into fixed-length vectors. */
export interface MediaEmbedder {
  readonly model: MediaModelInfo;
  /**
   * Embed media inputs, one vector per input in input order. Every input is read,
   * sniffed and checked against the limits before the first inference.
   * @throws EmbedkitError INVALID_INPUT, FILE_NOT_FOUND, MALFORMED_FILE, UNSUPPORTED_MEDIA,
   *   INPUT_TOO_LARGE, INVALID_OPTION, CLOSED
   */
  embed<P extends Precision = "float32">(
    inputs: readonly MediaInput[],
    options?: MediaEmbedOptions<P>,
  ): Promise<MediaEmbeddings<P>>;
  /** Free native resources. Further calls throw CLOSED. Idempotent. */
  close(): Promise<void>;
}

/**
 * An image-text model (CLIP family): an image side and a text side whose vectors
 * share one space, so `text.embed(["a dog"])` can search images embedded by `image`.
 */
export interface ImageTextEmbedder {
  readonly image: MediaEmbedder;
  readonly text: Embedder;
  /** Close both sides. Idempotent. */
  close(): Promise<void>;
}
