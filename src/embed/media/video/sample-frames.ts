/**
 * @module embed/media/video/sample-frames
 * Frame sampling with ffmpeg (via {@link runMediaTool}): probe the stream
 * (ffprobe: size, duration), refuse what is over the limits before decoding,
 * then decode frames already scaled to the model's input (`fill` or `cover` =
 * scale + center crop) as raw RGB on a pipe that is read one batch of frames at
 * a time ({@link streamFrames}: memory is two batches, not one video). Two samplers:
 * - `uniform`: `fps` frames per second (ffmpeg's `fps` filter), frame k at k/fps s;
 * - `scene`: only frames whose ffmpeg scene score exceeds `sceneThreshold`
 *   (the `select='gt(scene,T)'` filter), plus the first frame; timestamps come
 *   from the `metadata=print` filter written to a temporary file.
 * A file whose decoded frames cover much less than its declared duration is
 * reported as truncated.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbedkitError } from "../../../errors.js";
import type { ImagePreprocessSpec } from "../../../models/model-spec.js";
import { ffmpegBinaries, ffmpegReason, runMediaTool, streamMediaTool } from "../ffmpeg.js";
import type { RgbImage } from "../image/decode-image.js";
import type { MediaLimits } from "../media-embedder.js";
import type { MediaFile } from "../media-input.js";

/** How frames are picked from a video. */
export type FrameSampling =
  | { readonly kind: "uniform" /** Frames per second. @default 1 */; readonly fps?: number }
  | {
      readonly kind: "scene";
      /** ffmpeg scene score (0..1) above which a frame starts a new scene. @default 0.3 */
      readonly sceneThreshold?: number;
    };

/** One decoded frame and when it is shown. */
export interface VideoFrame {
  /** Presentation time in seconds from the start. */
  readonly time: number;
  readonly image: RgbImage;
}

/** What ffprobe says about the first video stream. */
export interface VideoInfo {
  readonly width: number;
  readonly height: number;
  /** Seconds (container duration, else stream duration). */
  readonly duration: number;
}

/** A video input readable by ffmpeg from a path; byte inputs are written to a temp file. */
async function withPath<T>(file: MediaFile, use: (path: string) => Promise<T>): Promise<T> {
  if (file.path !== undefined) return use(file.path);
  const folder = await mkdtemp(join(tmpdir(), "embedkit-video-"));
  try {
    const path = join(folder, `input.${file.type.ext}`);
    await writeFile(path, file.data ?? new Uint8Array(0));
    return await use(path);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

function malformed(file: MediaFile, reason: string): EmbedkitError {
  return new EmbedkitError(
    "MALFORMED_FILE",
    `${file.name} could not be read as a video: ${reason}. The file is truncated or corrupt; re-export or re-download it.`,
    { details: { name: file.name } },
  );
}

async function probe(file: MediaFile, path: string, signal?: AbortSignal): Promise<VideoInfo> {
  const { ffprobe } = ffmpegBinaries();
  const result = await runMediaTool(
    ffprobe,
    [
      "-v",
      "error",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=width,height,duration:format=duration",
      "-of",
      "json",
      path,
    ],
    {
      maxOutputBytes: 1 << 20,
      onOverflow: () => malformed(file, "ffprobe printed more than 1 MiB"),
      ...(signal === undefined ? {} : { signal }),
    },
  );
  if (result.exitCode !== 0) throw malformed(file, ffmpegReason(result.stderr));
  let parsed: {
    streams?: { width?: number; height?: number; duration?: string }[];
    format?: { duration?: string };
  };
  try {
    parsed = JSON.parse(result.stdout.toString("utf8"));
  } catch {
    throw malformed(file, "ffprobe gave no readable description");
  }
  const stream = parsed.streams?.[0];
  if (stream?.width === undefined || stream.height === undefined)
    throw malformed(file, "it has no video stream");
  const duration = Number(parsed.format?.duration ?? stream.duration);
  if (!Number.isFinite(duration) || duration <= 0) throw malformed(file, "it declares no duration");
  return { width: stream.width, height: stream.height, duration };
}

function scaleFilter(size: Pick<ImagePreprocessSpec, "width" | "height" | "fit">): string {
  const { width, height } = size;
  return size.fit === "fill"
    ? `scale=${width}:${height}:flags=bicubic`
    : `scale=${width}:${height}:force_original_aspect_ratio=increase:flags=bicubic,crop=${width}:${height}`;
}

/** Options of {@link sampleFrames} and {@link streamFrames}. */
export interface SampleFramesOptions {
  readonly sampling: FrameSampling;
  /** Output frame size and fit (the image model's input). */
  readonly size: Pick<ImagePreprocessSpec, "width" | "height" | "fit">;
  readonly limits: Pick<MediaLimits, "maxPixels" | "maxDurationSeconds" | "maxFrames">;
  readonly signal?: AbortSignal;
}

/** Frames of one video plus its probe. */
export interface SampledVideo {
  readonly info: VideoInfo;
  readonly frames: readonly VideoFrame[];
}

/** Options of {@link streamFrames}. */
export interface StreamFramesOptions extends SampleFramesOptions {
  /** Frames per call of `onFrames` (the last call may get fewer). @default 16 */
  readonly batchFrames?: number;
  /**
   * Called with each batch of decoded frames; `first` is the index of the
   * batch's first frame. Calls come in order, one at a time; ffmpeg decodes the
   * next batch meanwhile and then waits.
   */
  readonly onFrames: (frames: readonly RgbImage[], first: number) => Promise<void>;
}

/** What {@link streamFrames} found, once the whole video went through. */
export interface StreamedVideo {
  readonly info: VideoInfo;
  /** Presentation time (seconds) of every frame handed over, by index. */
  readonly times: readonly number[];
}

/**
 * Probe a video, check it against the limits, and decode sampled frames into
 * one array (memory: every frame). Built on {@link streamFrames}; prefer that
 * when the frames are only consumed once (embedding, pooling).
 * @throws EmbedkitError like {@link streamFrames}
 */
export async function sampleFrames(file: MediaFile, options: SampleFramesOptions): Promise<SampledVideo> {
  const images: RgbImage[] = [];
  const { info, times } = await streamFrames(file, {
    ...options,
    async onFrames(frames) {
      images.push(...frames);
    },
  });
  return { info, frames: images.map((image, index) => ({ time: times[index] ?? index, image })) };
}

/**
 * Probe a video, check it against the limits, and decode sampled frames as a
 * stream: ffmpeg writes raw RGB frames to a pipe, and every `batchFrames`
 * frames go to `onFrames`; the next batch is decoded while `onFrames` runs, and
 * nothing more is read until it returns, so memory is two batches (plus the
 * pipe) however long the video is. Frame times are known at the end (scene
 * sampling reads them from ffmpeg's metadata file) and returned with the probe.
 * @throws EmbedkitError MALFORMED_FILE (not decodable, truncated), INPUT_TOO_LARGE (size, duration,
 *   frames), DEPENDENCY_MISSING (no ffmpeg), INVALID_OPTION (bad fps / threshold / batchFrames);
 *   whatever `onFrames` throws
 */
export async function streamFrames(file: MediaFile, options: StreamFramesOptions): Promise<StreamedVideo> {
  const { sampling, size, limits } = options;
  const fps = sampling.kind === "uniform" ? (sampling.fps ?? 1) : undefined;
  const threshold = sampling.kind === "scene" ? (sampling.sceneThreshold ?? 0.3) : undefined;
  const batchFrames = options.batchFrames ?? 16;
  if (fps !== undefined && !(fps > 0 && fps <= 120)) {
    throw new EmbedkitError("INVALID_OPTION", `fps must be in (0, 120], received ${String(fps)}.`, {
      details: { option: "fps" },
    });
  }
  if (threshold !== undefined && !(threshold > 0 && threshold < 1)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `sceneThreshold must be in (0, 1), received ${String(threshold)}.`,
      {
        details: { option: "sceneThreshold" },
      },
    );
  }
  if (!Number.isInteger(batchFrames) || batchFrames < 1) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `batchFrames must be a positive integer, received ${String(batchFrames)}.`,
      { details: { option: "batchFrames" } },
    );
  }
  return withPath(file, async (path) => {
    const info = await probe(file, path, options.signal);
    if (info.width * info.height > limits.maxPixels) {
      throw new EmbedkitError(
        "INPUT_TOO_LARGE",
        `${file.name} is ${info.width}×${info.height} per frame, over the limit of ${limits.maxPixels} pixels. ` +
          "Downscale it first or raise limits.maxPixels.",
        { details: { name: file.name, width: info.width, height: info.height, maxPixels: limits.maxPixels } },
      );
    }
    if (info.duration > limits.maxDurationSeconds) {
      throw new EmbedkitError(
        "INPUT_TOO_LARGE",
        `${file.name} lasts ${info.duration.toFixed(1)} s, over the limit of ${limits.maxDurationSeconds} s. ` +
          "Cut it into parts or raise limits.maxDurationSeconds (CLI: --max-duration).",
        {
          details: { name: file.name, seconds: info.duration, maxDurationSeconds: limits.maxDurationSeconds },
        },
      );
    }
    if (fps !== undefined && Math.ceil(info.duration * fps) > limits.maxFrames) {
      throw new EmbedkitError(
        "INPUT_TOO_LARGE",
        `${file.name}: ${info.duration.toFixed(1)} s at ${fps} fps is ${Math.ceil(info.duration * fps)} frames, over ` +
          `the limit of ${limits.maxFrames}. Lower fps or raise limits.maxFrames.`,
        { details: { name: file.name, maxFrames: limits.maxFrames } },
      );
    }
    const scratch = await mkdtemp(join(tmpdir(), "embedkit-frames-"));
    try {
      const timesFile = join(scratch, "times.txt");
      const select =
        threshold === undefined
          ? `fps=${fps}`
          : `select='eq(n\\,0)+gt(scene\\,${threshold})',metadata=print:file=${timesFile.replace(/[\\':]/g, "\\$&")}`;
      const frameBytes = size.width * size.height * 3;
      let seen = 0;
      const { ffmpeg } = ffmpegBinaries();
      const result = await streamMediaTool(
        ffmpeg,
        [
          "-v",
          "error",
          "-nostdin",
          "-i",
          path,
          "-an",
          "-sn",
          "-vf",
          `${select},${scaleFilter(size)}`,
          ...(threshold === undefined ? [] : ["-fps_mode", "vfr"]),
          "-frames:v",
          String(limits.maxFrames + 1),
          "-f",
          "rawvideo",
          "-pix_fmt",
          "rgb24",
          "pipe:1",
        ],
        {
          recordBytes: frameBytes,
          recordsPerBatch: batchFrames,
          maxRecords: limits.maxFrames,
          onOverflow: () =>
            new EmbedkitError(
              "INPUT_TOO_LARGE",
              `${file.name} yields more than ${limits.maxFrames} sampled frames. Raise the scene threshold or limits.maxFrames.`,
              { details: { name: file.name, maxFrames: limits.maxFrames } },
            ),
          async onRecords(records, count) {
            const frames: RgbImage[] = [];
            for (let index = 0; index < count; index++) {
              frames.push({
                width: size.width,
                height: size.height,
                data: new Uint8Array(records.buffer, records.byteOffset + index * frameBytes, frameBytes),
              });
            }
            await options.onFrames(frames, seen);
            seen += count;
          },
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        },
      );
      const count = result.records;
      if (result.exitCode !== 0 && count === 0) throw malformed(file, ffmpegReason(result.stderr));
      let times: number[];
      if (threshold === undefined) {
        times = Array.from({ length: count }, (_, index) => index / (fps as number));
      } else {
        const text = await readFile(timesFile, "utf8").catch(() => "");
        times = [...text.matchAll(/pts_time:([\d.]+)/g)].map((match) => Number(match[1])).slice(0, count);
      }
      const lastTime = times[count - 1] ?? 0;
      // Decoded frames must reach near the declared end; otherwise the data stops early.
      if (
        threshold === undefined &&
        info.duration - lastTime > Math.max(2, 0.2 * info.duration) + 1 / (fps as number)
      ) {
        throw malformed(
          file,
          `frames stop at ${lastTime.toFixed(1)} s of a declared ${info.duration.toFixed(1)} s (${ffmpegReason(result.stderr)})`,
        );
      }
      return { info, times };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
}
