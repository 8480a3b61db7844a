/**
 * @module embed/media/audio/decode-audio
 * Audio input → mono float samples at the rate a model wants. Plain PCM/float
 * WAV is read in TypeScript; FLAC, MP3, OGG (Vorbis/Opus), M4A/AAC, AIFF and
 * compressed WAV are decoded by ffmpeg to raw f32le at their own rate. Every
 * path then mixes channels down by averaging and resamples with the same
 * band-limited resampler (`resample.ts`), so a clip gives the same samples in
 * any container.
 *
 * Inputs are checked first by the shared media gate (`openMediaInput`: exists,
 * not empty, under `maxBytes`, magic bytes say audio, extension agrees). Memory
 * is then bounded before any decoding: the duration comes from the WAV header
 * or `ffprobe`, and anything longer than `maxDurationSeconds` is refused at
 * once; ffmpeg's output is also capped in bytes, so a file whose header lies
 * still cannot fill memory.
 */
import { open } from "node:fs/promises";
import { EmbedkitError } from "../../../errors.js";
import { type FfmpegPaths, ffmpegBinaries, ffmpegReason, runMediaTool } from "../ffmpeg.js";
import { DEFAULT_MEDIA_LIMITS, type MediaInput } from "../media-embedder.js";
import { type MediaFile, openMediaInput } from "../media-input.js";
import { resample } from "./resample.js";
import { decodeWavSamples, parseWavHeader } from "./wav.js";

/** Default longest audio input, in seconds (10 minutes). */
export const DEFAULT_MAX_AUDIO_SECONDS = 600;
/** Bytes searched for a WAV header. */
const HEAD_BYTES = 65_536;

/** Options of {@link decodeAudio} and {@link decodeAudioFile}. */
export interface DecodeAudioOptions extends FfmpegPaths {
  /** Output sample rate in Hz. @default 16000 */
  readonly sampleRate?: number;
  /**
   * Longest audio accepted, in seconds; longer inputs fail with INPUT_TOO_LARGE
   * before they are decoded. @default 600
   */
  readonly maxDurationSeconds?: number;
  /** Largest encoded input in bytes ({@link decodeAudio} only). @default 100 MiB */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
}

/** Decoded audio: mono samples in [-1, 1] at {@link DecodedAudio.sampleRate}. */
export interface DecodedAudio {
  readonly samples: Float32Array;
  readonly sampleRate: number;
  readonly durationSeconds: number;
  /** Container the content really is (sniffed, not taken from the name). */
  readonly format: string;
  readonly sourceSampleRate: number;
  readonly sourceChannels: number;
}

/** Read `length` bytes at `offset` of a checked input (from memory or disk). */
async function readRange(file: MediaFile, offset: number, length: number): Promise<Uint8Array> {
  if (file.data !== undefined) return file.data.subarray(offset, offset + length);
  const handle = await open(file.path as string, "r");
  try {
    const buffer = new Uint8Array(Math.max(0, length));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function tooLong(label: string, seconds: number, max: number): EmbedkitError {
  return new EmbedkitError(
    "INPUT_TOO_LARGE",
    `${label} is ${formatSeconds(seconds)} long; the limit is ${formatSeconds(max)}. Cut it into shorter pieces ` +
      "(e.g. `ffmpeg -i in.wav -f segment -segment_time 300 part%03d.wav`) or raise maxDurationSeconds (--max-duration).",
    { details: { input: label, durationSeconds: seconds, maxDurationSeconds: max } },
  );
}

function formatSeconds(seconds: number): string {
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(2)} h`;
  if (seconds >= 60) return `${(seconds / 60).toFixed(1)} min`;
  return `${seconds.toFixed(2)} s`;
}

function checkOptions(options: DecodeAudioOptions): { sampleRate: number; maxSeconds: number } {
  const sampleRate = options.sampleRate ?? 16_000;
  const maxSeconds = options.maxDurationSeconds ?? DEFAULT_MAX_AUDIO_SECONDS;
  if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 384_000) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `sampleRate must be an integer between 1000 and 384000 Hz, received ${String(sampleRate)}.`,
    );
  }
  if (!(typeof maxSeconds === "number" && maxSeconds > 0 && Number.isFinite(maxSeconds))) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `maxDurationSeconds must be a positive number of seconds, received ${String(maxSeconds)}.`,
    );
  }
  return { sampleRate, maxSeconds };
}

/**
 * Decode an audio file (a path, bytes, or named bytes) to mono float samples at `sampleRate`.
 *
 * @throws EmbedkitError FILE_NOT_FOUND; MALFORMED_FILE (0 bytes, unrecognised, truncated or
 *   corrupt); UNSUPPORTED_MEDIA (not audio, or extension ≠ content); INPUT_TOO_LARGE (over
 *   `maxBytes` or longer than `maxDurationSeconds`); DEPENDENCY_MISSING (non-WAV input without ffmpeg)
 * @example
 * ```ts
 * const { samples, sampleRate } = await decodeAudio("speech.mp3", { sampleRate: 16000 });
 * ```
 */
export async function decodeAudio(
  input: MediaInput,
  options: DecodeAudioOptions = {},
): Promise<DecodedAudio> {
  checkOptions(options);
  const file = await openMediaInput(input, {
    modality: "audio",
    limits: { maxBytes: options.maxBytes ?? DEFAULT_MEDIA_LIMITS.maxBytes },
    read: false,
  });
  return decodeAudioFile(file, options);
}

/**
 * Decode an input already checked by `openMediaInput` (the media embedders open
 * every input of a call first, then decode).
 * @throws EmbedkitError as {@link decodeAudio}
 */
export async function decodeAudioFile(
  file: MediaFile,
  options: DecodeAudioOptions = {},
): Promise<DecodedAudio> {
  const { sampleRate, maxSeconds } = checkOptions(options);
  if (file.type.ext === "wav") {
    const head = await readRange(file, 0, HEAD_BYTES);
    const header = parseWavHeader(head, file.bytes, file.name);
    if (header !== undefined) {
      if (header.durationSeconds > maxSeconds) throw tooLong(file.name, header.durationSeconds, maxSeconds);
      if (header.availableBytes < header.dataBytes) {
        throw new EmbedkitError(
          "MALFORMED_FILE",
          `${file.name} is truncated: its header declares ${header.dataBytes} bytes of audio but the file holds ` +
            `${header.availableBytes}. Re-export or re-download the file.`,
          {
            details: {
              input: file.name,
              declaredBytes: header.dataBytes,
              availableBytes: header.availableBytes,
            },
          },
        );
      }
      if (header.frames === 0) {
        throw new EmbedkitError(
          "MALFORMED_FILE",
          `${file.name} holds no audio samples (its data chunk is empty).`,
          {
            details: { input: file.name },
          },
        );
      }
      const data = await readRange(file, header.dataOffset, header.dataBytes);
      const mono = decodeWavSamples(header, data);
      return finish(mono, header.sampleRate, header.channels, sampleRate, "wav");
    }
  }
  return decodeWithFfmpeg(file, { ...options, sampleRate, maxDurationSeconds: maxSeconds });
}

function finish(
  mono: Float32Array,
  sourceRate: number,
  channels: number,
  sampleRate: number,
  format: string,
): DecodedAudio {
  const samples = resample(mono, sourceRate, sampleRate);
  return {
    samples,
    sampleRate,
    durationSeconds: samples.length / sampleRate,
    format,
    sourceSampleRate: sourceRate,
    sourceChannels: channels,
  };
}

interface Probe {
  readonly durationSeconds: number | undefined;
  readonly sampleRate: number;
  readonly channels: number;
}

async function probe(opened: MediaFile, options: DecodeAudioOptions): Promise<Probe> {
  const { ffprobe } = ffmpegBinaries(options);
  const args = [
    "-v",
    "error",
    "-select_streams",
    "a:0",
    "-show_entries",
    "format=duration:stream=sample_rate,channels,duration",
    "-of",
    "json",
    opened.path ?? "pipe:0",
  ];
  const result = await runMediaTool(ffprobe, args, {
    ...(opened.path === undefined && opened.data !== undefined ? { input: opened.data } : {}),
    maxOutputBytes: 1 << 20,
    onOverflow: () => new EmbedkitError("MALFORMED_FILE", `ffprobe printed too much for ${opened.name}.`),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const parsed = (() => {
    try {
      return JSON.parse(result.stdout.toString("utf8")) as {
        streams?: { sample_rate?: string; channels?: number; duration?: string }[];
        format?: { duration?: string };
      };
    } catch {
      return undefined;
    }
  })();
  const stream = parsed?.streams?.[0];
  if (result.exitCode !== 0 || stream === undefined) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${opened.name} cannot be read as audio: ${result.exitCode !== 0 ? ffmpegReason(result.stderr) : "it has no audio stream"}. ` +
        "The file may be truncated or corrupt; re-export or re-download it.",
      { details: { input: opened.name } },
    );
  }
  const sampleRate = Number(stream.sample_rate);
  const channels = Number(stream.channels);
  const durations = [Number(stream.duration), Number(parsed?.format?.duration)].filter(
    (value) => Number.isFinite(value) && value > 0,
  );
  if (!(sampleRate > 0 && channels > 0)) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${opened.name} has an audio stream without a sample rate or channel count; the file is corrupt.`,
      { details: { input: opened.name } },
    );
  }
  return { durationSeconds: durations.length > 0 ? Math.max(...durations) : undefined, sampleRate, channels };
}

async function decodeWithFfmpeg(
  opened: MediaFile,
  options: DecodeAudioOptions & { sampleRate: number; maxDurationSeconds: number },
): Promise<DecodedAudio> {
  const max = options.maxDurationSeconds;
  const info = await probe(opened, options);
  if (info.durationSeconds !== undefined && info.durationSeconds > max) {
    throw tooLong(opened.name, info.durationSeconds, max);
  }
  const { ffmpeg } = ffmpegBinaries(options);
  const frameBytes = 4 * info.channels;
  // One extra second of slack: containers round their durations.
  const maxOutputBytes = Math.ceil((max + 1) * info.sampleRate) * frameBytes;
  const args = [
    "-v",
    "error",
    "-nostdin",
    "-i",
    opened.path ?? "pipe:0",
    "-map",
    "0:a:0",
    "-f",
    "f32le",
    "-acodec",
    "pcm_f32le",
    "pipe:1",
  ];
  const result = await runMediaTool(ffmpeg, args, {
    ...(opened.path === undefined && opened.data !== undefined ? { input: opened.data } : {}),
    maxOutputBytes,
    onOverflow: () =>
      new EmbedkitError(
        "INPUT_TOO_LARGE",
        `${opened.name} is longer than the limit of ${formatSeconds(max)} (its header did not say how long it is; ` +
          `decoding was stopped after ${formatSeconds(maxOutputBytes / frameBytes / info.sampleRate)}). Cut it into ` +
          "shorter pieces or raise maxDurationSeconds (--max-duration).",
        { details: { input: opened.name, maxDurationSeconds: max } },
      ),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const frames = Math.floor(result.stdout.length / frameBytes);
  if (result.exitCode !== 0 || frames === 0) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${opened.name} could not be decoded (${opened.type.ext.toUpperCase()}): ${result.exitCode !== 0 ? ffmpegReason(result.stderr) : "it holds no audio samples"}. ` +
        "The file may be truncated or corrupt; re-export or re-download it.",
      { details: { input: opened.name } },
    );
  }
  const decodedSeconds = frames / info.sampleRate;
  // A container that declares its exact length (FLAC STREAMINFO, WAV header) but holds less was cut
  // short. MP3/OGG durations are estimates (bitrate, last page), so they are not held to this.
  const format = opened.type.ext;
  const exact = format === "flac" || format === "wav" || format === "aiff";
  if (exact && info.durationSeconds !== undefined && decodedSeconds < 0.9 * info.durationSeconds - 0.05) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${opened.name} is truncated: it declares ${formatSeconds(info.durationSeconds)} of audio but only ` +
        `${formatSeconds(decodedSeconds)} could be decoded. Re-export or re-download the file.`,
      { details: { input: opened.name, declaredSeconds: info.durationSeconds, decodedSeconds } },
    );
  }
  // Copy into fresh memory: Buffer slices need not be 4-byte aligned (f32le is the host order on x86/ARM).
  const raw = new Float32Array(frames * info.channels);
  new Uint8Array(raw.buffer).set(result.stdout.subarray(0, raw.byteLength));
  const mono = mixDown(raw, info.channels);
  return finish(mono, info.sampleRate, info.channels, options.sampleRate, format);
}

/** Average interleaved channels into one. */
function mixDown(interleaved: Float32Array, channels: number): Float32Array {
  if (channels === 1) return interleaved;
  const frames = interleaved.length / channels;
  const out = new Float32Array(frames);
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let channel = 0; channel < channels; channel++)
      sum += interleaved[frame * channels + channel] as number;
    out[frame] = sum / channels;
  }
  return out;
}
