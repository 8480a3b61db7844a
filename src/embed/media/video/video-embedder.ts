/**
 * @module embed/media/video/video-embedder
 * Video embeddings from an image embedder: sample frames with ffmpeg (uniform
 * fps or scene-change based) as a stream, embed each batch of frames as it
 * arrives (pixels are dropped after their batch, so memory does not grow with
 * the video's length), then
 * - pool over time (`mean` or `max`, re-normalized) into one vector per video,
 * - find scene boundaries where the cosine distance between consecutive frame
 *   vectors exceeds a threshold (the boundary is placed midway between them),
 * - and pool each segment between boundaries into a per-segment vector.
 * `embed()` gives one vector per video (the {@link MediaEmbedder} contract);
 * `analyze()` gives frames, boundaries and segments of one video.
 */
import { EmbedkitError } from "../../../errors.js";
import { cosineSimilarity, normalizeInPlace } from "../../../vectors/math.js";
import type { Precision } from "../../../vectors/quantize.js";
import { assertOpen } from "../../inputs.js";
import { type CreateImageEmbedderOptions, createImageEmbedder } from "../image/create-image-embedder.js";
import type { PixelEmbedder } from "../image/pixel-embedder.js";
import {
  DEFAULT_MEDIA_LIMITS,
  type MediaEmbedder,
  type MediaEmbeddings,
  type MediaEmbedOptions,
  type MediaInput,
  type MediaLimits,
  type MediaModelInfo,
} from "../media-embedder.js";
import { type MediaFile, openMediaInput, resolveMediaLimits } from "../media-input.js";
import { embedMedia, type MediaProvider } from "../media-pipeline.js";
import { type FrameSampling, streamFrames, type VideoInfo } from "./sample-frames.js";

/** How frame vectors become one vector. */
export type TemporalPooling = "mean" | "max";

/** Temporal poolings {@link createVideoEmbedder} supports. */
export const TEMPORAL_POOLINGS = Object.freeze(["mean", "max"] as const);

/** Options of a video call (on top of {@link MediaEmbedOptions}). */
export interface VideoEmbedOptions<P extends Precision = "float32"> extends MediaEmbedOptions<P> {
  /** Frame sampling for this call. @default the embedder's */
  readonly sampling?: FrameSampling;
  /** Temporal pooling for this call. @default the embedder's */
  readonly pooling?: TemporalPooling;
}

/** A frame's vector and time. */
export interface FrameVector {
  readonly time: number;
  readonly vector: Float32Array;
}

/** A stretch of video between two boundaries, with its pooled vector. */
export interface VideoSegment {
  /** Start and end in seconds. */
  readonly start: number;
  readonly end: number;
  readonly vector: Float32Array;
  /** Frames pooled into it. */
  readonly frames: number;
}

/** Everything {@link VideoEmbedder.analyze} finds in one video. */
export interface VideoAnalysis {
  readonly name: string;
  readonly duration: number;
  readonly width: number;
  readonly height: number;
  readonly frames: readonly FrameVector[];
  /** Scene boundaries in seconds (midway between the frames they separate). */
  readonly boundaries: readonly number[];
  readonly segments: readonly VideoSegment[];
  /** The whole video, pooled. */
  readonly vector: Float32Array;
}

/** A {@link MediaEmbedder} for video that can also analyze one video in detail. */
export interface VideoEmbedder extends MediaEmbedder {
  /** The image embedder used for frames. */
  readonly image: PixelEmbedder;
  embed<P extends Precision = "float32">(
    inputs: readonly MediaInput[],
    options?: VideoEmbedOptions<P>,
  ): Promise<MediaEmbeddings<P>>;
  /**
   * Frames, scene boundaries and per-segment vectors of one video.
   * @throws EmbedkitError like {@link MediaEmbedder.embed}
   */
  analyze(input: MediaInput, options?: AnalyzeVideoOptions): Promise<VideoAnalysis>;
}

/** Options of {@link VideoEmbedder.analyze}. */
export interface AnalyzeVideoOptions {
  readonly sampling?: FrameSampling;
  readonly pooling?: TemporalPooling;
  /** Cosine distance between consecutive frames that counts as a cut. @default the embedder's */
  readonly boundaryThreshold?: number;
  readonly limits?: Partial<MediaLimits>;
  readonly signal?: AbortSignal;
}

/** Options of {@link createVideoEmbedder}. */
export interface CreateVideoEmbedderOptions extends CreateImageEmbedderOptions {
  /** An image embedder to use for frames (then `model` etc. are ignored); not closed by the video embedder. */
  readonly image?: PixelEmbedder;
  /** @default { kind: "uniform", fps: 1 } */
  readonly sampling?: FrameSampling;
  /** @default "mean" */
  readonly pooling?: TemporalPooling;
  /**
   * Cosine distance between consecutive frame vectors above which a scene boundary
   * is declared. 0.2 suits the default MobileNetV2 features (distinct photos are
   * 0.25–0.5 apart; re-encoded or slightly moving copies of one shot < 0.1).
   * @default 0.2
   */
  readonly boundaryThreshold?: number;
}

/** Pools frame vectors one batch at a time (see {@link createTemporalPooler}). */
export interface TemporalPooler {
  /** Add one frame vector. */
  add(vector: Float32Array): void;
  /** Vectors added so far. */
  readonly count: number;
  /**
   * The pooled, L2-normalized vector of everything added.
   * @throws EmbedkitError INVALID_INPUT when nothing was added
   */
  result(): Float32Array;
}

function checkPooling(pooling: TemporalPooling): void {
  if (!TEMPORAL_POOLINGS.includes(pooling)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `pooling must be one of ${TEMPORAL_POOLINGS.join(", ")}, received ${JSON.stringify(pooling)}.`,
      { details: { option: "pooling" } },
    );
  }
}

/**
 * An incremental temporal pooler: keeps one running sum (mean) or element-wise
 * max, so pooling a video needs one vector of memory however many frames it has.
 * Gives exactly what {@link poolVectors} gives for the same vectors in the same order.
 * @throws EmbedkitError INVALID_OPTION for an unknown pooling
 */
export function createTemporalPooler(pooling: TemporalPooling): TemporalPooler {
  checkPooling(pooling);
  let pooled: Float32Array | undefined;
  let count = 0;
  return {
    add(vector) {
      count++;
      if (pooled === undefined) {
        pooled = Float32Array.from(vector);
        return;
      }
      const out = pooled;
      for (let i = 0; i < out.length; i++) {
        const value = vector[i] as number;
        out[i] = pooling === "mean" ? (out[i] as number) + value : Math.max(out[i] as number, value);
      }
    },
    get count() {
      return count;
    },
    result() {
      if (pooled === undefined) {
        throw new EmbedkitError("INVALID_INPUT", "Nothing to pool: the video gave no frames.");
      }
      return normalizeInPlace(Float32Array.from(pooled));
    },
  };
}

/**
 * Pool vectors over time: element-wise mean or max, then L2-normalize.
 * @throws EmbedkitError INVALID_INPUT when there are no vectors, INVALID_OPTION for an unknown pooling
 */
export function poolVectors(vectors: readonly Float32Array[], pooling: TemporalPooling): Float32Array {
  const pooler = createTemporalPooler(pooling);
  for (const vector of vectors) pooler.add(vector);
  return pooler.result();
}

/** Boundaries (seconds) where consecutive frame vectors are more than `threshold` apart in cosine distance. */
export function detectBoundaries(frames: readonly FrameVector[], threshold: number): number[] {
  const boundaries: number[] = [];
  for (let index = 1; index < frames.length; index++) {
    const previous = frames[index - 1] as FrameVector;
    const current = frames[index] as FrameVector;
    if (1 - cosineSimilarity(previous.vector, current.vector) > threshold) {
      boundaries.push((previous.time + current.time) / 2);
    }
  }
  return boundaries;
}

/** Split frames at the boundaries and pool each part. */
export function segmentFrames(
  frames: readonly FrameVector[],
  boundaries: readonly number[],
  options: { readonly duration: number; readonly pooling: TemporalPooling },
): VideoSegment[] {
  const edges = [0, ...boundaries, options.duration];
  const segments: VideoSegment[] = [];
  for (let index = 0; index + 1 < edges.length; index++) {
    const start = edges[index] as number;
    const end = edges[index + 1] as number;
    const inside = frames.filter((frame) => frame.time >= start && frame.time < end);
    if (inside.length === 0) continue;
    segments.push({
      start,
      end,
      vector: poolVectors(
        inside.map((frame) => frame.vector),
        options.pooling,
      ),
      frames: inside.length,
    });
  }
  return segments;
}

/**
 * Create a video embedder on top of an image embedder (default: the offline
 * MobileNetV2). Needs ffmpeg/ffprobe on PATH (`scripts/ensure-ffmpeg.sh`).
 *
 * @throws EmbedkitError like {@link createImageEmbedder}; INVALID_OPTION for a bad pooling
 * @example
 * ```ts
 * const video = await createVideoEmbedder({ sampling: { kind: "uniform", fps: 2 } });
 * const { vectors } = await video.embed(["a.mp4", "b.webm"]);
 * const { boundaries, segments } = await video.analyze("a.mp4");
 * await video.close();
 * ```
 */
export async function createVideoEmbedder(options: CreateVideoEmbedderOptions = {}): Promise<VideoEmbedder> {
  const defaults = {
    sampling: options.sampling ?? ({ kind: "uniform", fps: 1 } as FrameSampling),
    pooling: options.pooling ?? "mean",
    boundaryThreshold: options.boundaryThreshold ?? 0.2,
  };
  checkPooling(defaults.pooling);
  const owned = options.image === undefined;
  const image = options.image ?? (await createImageEmbedder(options));
  const model: MediaModelInfo = Object.freeze({
    id: image.model.id,
    dims: image.model.dims,
    modality: "video",
    normalize: true,
    maxBatchSize: image.model.maxBatchSize,
    limits: Object.freeze({ ...DEFAULT_MEDIA_LIMITS, ...options.limits }),
  });
  let closed = false;

  /**
   * Stream one video's frames through the image model a batch at a time and pool
   * them as they come; frame pixels are dropped after their batch. With
   * `keepFrames`, the frame vectors (not pixels) are kept for cuts and segments.
   */
  async function streamVideo(
    file: MediaFile,
    sampling: FrameSampling,
    pooling: TemporalPooling,
    limits: MediaLimits,
    signal: AbortSignal | undefined,
    keepFrames: boolean,
  ): Promise<{ vector: Float32Array; frames: FrameVector[]; count: number; info: VideoInfo }> {
    const pooler = createTemporalPooler(pooling);
    const vectors: Float32Array[] = [];
    const { info, times } = await streamFrames(file, {
      sampling,
      size: image.preprocess,
      limits,
      batchFrames: image.model.maxBatchSize,
      ...(signal === undefined ? {} : { signal }),
      async onFrames(frames) {
        for (const vector of await image.embedPixels(frames, signal === undefined ? {} : { signal })) {
          pooler.add(vector);
          if (keepFrames) vectors.push(vector);
        }
      },
    });
    if (pooler.count === 0) {
      throw new EmbedkitError(
        "MALFORMED_FILE",
        `${file.name} gave no frames to embed; is the video stream empty?`,
        {
          details: { name: file.name },
        },
      );
    }
    return {
      vector: pooler.result(),
      frames: vectors.map((vector, index) => ({ time: times[index] ?? index, vector })),
      count: pooler.count,
      info,
    };
  }

  /** One video per call: frames streamed through the image model and pooled. */
  const files: MediaProvider = {
    model,
    read: false,
    measures: { pixels: true, seconds: true },
    normalize: true,
    limits: { maxBatchSize: 1 },
    assertOpen: () => assertOpen(closed, model.id),
    async doEmbed({ values, signal, context }) {
      const options = context.options as VideoEmbedOptions<Precision>;
      const vectors: Float32Array[] = [];
      let seconds = 0;
      let pixels = 0;
      for (const file of values) {
        const { vector, count, info } = await streamVideo(
          file,
          options.sampling ?? defaults.sampling,
          options.pooling ?? defaults.pooling,
          context.limits,
          signal,
          false,
        );
        seconds += info.duration;
        pixels += count * info.width * info.height;
        vectors.push(vector);
      }
      return { vectors, seconds, pixels };
    },
  };

  return {
    model,
    image,
    embed: (inputs, callOptions) => embedMedia(files, inputs, callOptions),
    async analyze(input, analyzeOptions = {}) {
      assertOpen(closed, model.id);
      const limits = resolveMediaLimits(model.limits, analyzeOptions.limits);
      const threshold = analyzeOptions.boundaryThreshold ?? defaults.boundaryThreshold;
      if (!(threshold > 0 && threshold < 2)) {
        throw new EmbedkitError(
          "INVALID_OPTION",
          `boundaryThreshold must be a cosine distance in (0, 2), received ${String(threshold)}.`,
          { details: { option: "boundaryThreshold" } },
        );
      }
      const pooling = analyzeOptions.pooling ?? defaults.pooling;
      const file = await openMediaInput(input, { modality: "video", limits, read: false });
      const { vector, frames, info } = await streamVideo(
        file,
        analyzeOptions.sampling ?? defaults.sampling,
        pooling,
        limits,
        analyzeOptions.signal,
        true,
      );
      const boundaries = detectBoundaries(frames, threshold);
      return {
        name: file.name,
        duration: info.duration,
        width: info.width,
        height: info.height,
        frames,
        boundaries,
        segments: segmentFrames(frames, boundaries, { duration: info.duration, pooling }),
        vector,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await image.close();
    },
  };
}
