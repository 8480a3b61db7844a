/**
 * @module cli/media-embed
 * The `--modality image|video|audio` branch of `embedkit embed`: file paths
 * (arguments, or one per line on stdin) → the modality's media embedder →
 * vectors in input order, written by the same output code as text. One table
 * maps each modality to the factory that opens its embedder, so adding a
 * modality is adding a line.
 */
import type { MediaEmbedder, MediaLimits, MediaModality } from "../embed/media/media-embedder.js";
import { EmbedkitError } from "../errors.js";
import type { PullProgress } from "../models/model-store.js";
import type { Precision } from "../vectors/quantize.js";
import { createPullProgress, openStore } from "./context.js";
import { createProgressBar } from "./io.js";
import { readStdinTexts } from "./text-input.js";

/** What a media factory gets from the command line. */
interface MediaFactoryOptions {
  readonly model?: string;
  readonly home?: string;
  readonly limits: Partial<MediaLimits>;
  readonly onPullProgress: (progress: PullProgress) => void;
  /** Video: frames per second sampled. */
  readonly fps?: number;
  /** Video: temporal pooling of frame vectors. */
  readonly pooling?: "mean" | "max";
}

/** Opens the embedder of each media modality (lazy imports keep text-only runs light). */
const MEDIA_FACTORIES: Readonly<
  Partial<Record<MediaModality, (options: MediaFactoryOptions) => Promise<MediaEmbedder>>>
> = Object.freeze({
  image: async (options: MediaFactoryOptions) => {
    const { createImageEmbedder } = await import("../embed/media/image/create-image-embedder.js");
    return createImageEmbedder({
      store: openStore(options),
      limits: options.limits,
      onPullProgress: options.onPullProgress,
      ...(options.model === undefined ? {} : { model: options.model }),
    });
  },
  video: async (options: MediaFactoryOptions) => {
    const { createVideoEmbedder } = await import("../embed/media/video/video-embedder.js");
    return createVideoEmbedder({
      store: openStore(options),
      limits: options.limits,
      onPullProgress: options.onPullProgress,
      ...(options.model === undefined ? {} : { model: options.model }),
      ...(options.fps === undefined ? {} : { sampling: { kind: "uniform", fps: options.fps } }),
      ...(options.pooling === undefined ? {} : { pooling: options.pooling }),
    });
  },
  audio: async (options: MediaFactoryOptions) => {
    const { createAudioEmbedder } = await import("../embed/media/audio/create-audio-embedder.js");
    return createAudioEmbedder({
      store: openStore(options),
      limits: options.limits,
      onPullProgress: options.onPullProgress,
      ...(options.model === undefined ? {} : { model: options.model }),
    });
  },
});

/**
 * Open the media embedder of a modality for a command (model pull progress on stderr).
 * @throws EmbedkitError INVALID_OPTION (modality without an embedder) and the factory's errors
 */
export async function openMediaEmbedder(
  modality: MediaModality,
  options: Omit<MediaFactoryOptions, "onPullProgress" | "limits"> & {
    readonly limits?: Partial<MediaLimits>;
    readonly quiet?: boolean;
  },
): Promise<MediaEmbedder> {
  const factory = MEDIA_FACTORIES[modality];
  if (factory === undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `--modality ${modality} has no embedder in this build. Available: text, ${Object.keys(MEDIA_FACTORIES).join(", ")}.`,
      { details: { modality } },
    );
  }
  const progress = createPullProgress(options.quiet ?? false);
  try {
    const { quiet: _quiet, limits, ...rest } = options;
    return await factory({ ...rest, limits: limits ?? {}, onPullProgress: progress.onProgress });
  } finally {
    progress.stop();
  }
}

/** Options of {@link embedMediaFiles} (the `embed` command's, as parsed). */
export interface MediaEmbedCommandOptions {
  readonly model?: string;
  readonly home?: string;
  readonly dimensions?: number;
  readonly precision: Precision;
  readonly maxDuration?: number;
  readonly maxBytes?: number;
  readonly maxPixels?: number;
  readonly fps?: number;
  readonly pooling?: "mean" | "max";
  readonly quiet?: boolean;
  /** Leave out files the embedder refuses (a user error such as NO_FACE) instead of failing the batch. */
  readonly skipErrors?: boolean;
}

/** A file left out by `skipErrors`, with the error that refused it. */
export interface SkippedFile {
  readonly file: string;
  readonly code: string;
  readonly reason: string;
}

/** Vectors of the files, in order, plus what was embedded. */
export interface MediaEmbedResult {
  /** The embedded files (without the skipped ones), in input order. */
  readonly files: readonly string[];
  readonly vectors: readonly (Float32Array | Int8Array | Uint8Array)[];
  readonly model: string;
  readonly seconds: number;
  /** Files left out by `skipErrors` (empty otherwise). */
  readonly skipped: readonly SkippedFile[];
}

/** Error codes that refuse one input (bad file, no face, too long…), not a broken model or machine. */
const INPUT_ERROR_CODES: ReadonlySet<string> = new Set([
  "INVALID_INPUT",
  "INPUT_TOO_LONG",
  "INPUT_TOO_LARGE",
  "UNSUPPORTED_MEDIA",
  "NO_FACE",
  "FILE_NOT_FOUND",
  "MALFORMED_FILE",
]);

function isInputError(error: unknown): error is EmbedkitError {
  return EmbedkitError.isInstance(error) && INPUT_ERROR_CODES.has(error.code);
}

/** Embed at most this many files per call so the progress bar moves. */
const CHUNK = 32;

/**
 * Embed media files given as arguments (or paths on stdin) with the modality's embedder.
 * @throws EmbedkitError INVALID_INPUT (no files), INVALID_OPTION (modality without an embedder)
 *   and the embedder's input errors
 */
export async function embedMediaFiles(
  modality: MediaModality,
  paths: readonly string[],
  options: MediaEmbedCommandOptions,
): Promise<MediaEmbedResult> {
  const files =
    paths.length > 0 ? [...paths] : process.stdin.isTTY ? [] : (await readStdinTexts()).map((r) => r.text);
  if (files.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `No ${modality} files to embed. Pass file paths as arguments, or pipe them on stdin (one per line).`,
    );
  }
  const limits: Partial<MediaLimits> = {
    ...(options.maxDuration === undefined ? {} : { maxDurationSeconds: options.maxDuration }),
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.maxPixels === undefined ? {} : { maxPixels: options.maxPixels }),
  };
  const embedder = await openMediaEmbedder(modality, {
    limits,
    ...(options.model === undefined ? {} : { model: options.model }),
    ...(options.home === undefined ? {} : { home: options.home }),
    ...(options.fps === undefined ? {} : { fps: options.fps }),
    ...(options.pooling === undefined ? {} : { pooling: options.pooling }),
    ...(options.quiet === undefined ? {} : { quiet: options.quiet }),
  });
  const bar = createProgressBar({ unit: "files", quiet: options.quiet ?? false });
  try {
    const vectors: (Float32Array | Int8Array | Uint8Array)[] = [];
    const embedded: string[] = [];
    const skipped: SkippedFile[] = [];
    let seconds = 0;
    const embedOptions = {
      precision: options.precision,
      ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions }),
    };
    bar.start(files.length, `embed ${embedder.model.id}`);
    for (let start = 0; start < files.length; start += CHUNK) {
      const chunk = files.slice(start, start + CHUNK);
      try {
        const result = await embedder.embed(chunk, embedOptions);
        vectors.push(...result.vectors);
        embedded.push(...chunk);
        seconds += result.usage.seconds ?? 0;
      } catch (error) {
        if (!options.skipErrors || !isInputError(error)) throw error;
        // A call fails as a whole: embed this chunk's files one by one to find the ones refused.
        for (const file of chunk) {
          try {
            const result = await embedder.embed([file], embedOptions);
            vectors.push(...result.vectors);
            embedded.push(file);
            seconds += result.usage.seconds ?? 0;
          } catch (fileError) {
            if (!isInputError(fileError)) throw fileError;
            skipped.push({ file, code: fileError.code, reason: fileError.message });
          }
        }
      }
      bar.update(Math.min(start + CHUNK, files.length));
    }
    if (embedded.length === 0) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Every ${modality} file was refused; the first: ${skipped[0]?.file} (${skipped[0]?.code}: ${skipped[0]?.reason}).`,
        { details: { skipped } },
      );
    }
    return { files: embedded, vectors, model: embedder.model.id, seconds, skipped };
  } finally {
    bar.stop();
    await embedder.close();
  }
}
