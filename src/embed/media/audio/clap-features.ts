/**
 * @module embed/media/audio/clap-features
 * The audio front-end of CLAP (LAION's contrastive language-audio model) with
 * fusion off, as Hugging Face's `ClapFeatureExtractor` computes it for the
 * unfused checkpoints (`laion/clap-htsat-unfused`, `Xenova/clap-htsat-unfused`):
 * mono 48 kHz audio in windows of `nb_max_samples` (480 000 = 10 s), a clip
 * shorter than a window repeated whole as often as it fits and then
 * zero-padded (`padding: "repeatpad"`), centred frames with reflect padding, a
 * periodic Hann window of 1024, power spectrum, 64 Slaney mel bands between
 * 50 Hz and 14 kHz with Slaney area normalisation, and `10·log10(max(S, 1e-10))`
 * with no `top_db` floor. One window gives 1 + 480 000 / 480 = 1001 frames of 64
 * bands: the `input_features [batch, 1, 1001, 64]` the audio tower takes.
 *
 * One deliberate difference: a clip longer than a window is not randomly
 * cropped (`truncation: "rand_trunc"`, which makes the same file give a
 * different vector on every call); it is cut into consecutive full windows,
 * the last one ending at the clip's end, and the caller averages their
 * vectors. The numbers are checked against `ClapFeatureExtractor` itself
 * (test/fixtures/audio/clap-logmel.json, made by scripts/audio/make-clap-mel-fixture.py).
 */
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { EmbedkitError } from "../../../errors.js";
import { type FeatureMatrix, melSpectrogram, powerToDecibels } from "./mel.js";

/** Prefix of CLAP model names (`clap:dir:/path`, `clap:hf:owner/name`). */
export const CLAP_PREFIX = /^clap:/i;

/**
 * Whether `name` is a plain `dir:<folder>` reference to a CLAP export (the folder holds
 * `onnx/audio_model.onnx`), so `dir:` works like `clap:dir:` for such folders.
 */
export async function isClapFolder(name: string): Promise<boolean> {
  const match = /^dir:(.+)$/i.exec(name.trim());
  if (match === null) return false;
  const graph = await stat(join(resolve(match[1] as string), "onnx", "audio_model.onnx")).catch(
    () => undefined,
  );
  return graph?.isFile() ?? false;
}

/** The settings of a CLAP feature extractor (from `preprocessor_config.json`). */
export interface ClapFrontEnd {
  /** Sample rate the model was trained at (`sampling_rate`). */
  readonly sampleRate: number;
  /** Mel bands (`feature_size`). */
  readonly melBands: number;
  /** FFT and window size (`fft_window_size`). */
  readonly nFft: number;
  /** Hop between frames in samples (`hop_length`). */
  readonly hopLength: number;
  /** Lowest and highest filter edges in Hz (`frequency_min`, `frequency_max`). */
  readonly minFrequency: number;
  readonly maxFrequency: number;
  /** Samples per window (`nb_max_samples`, else `max_length_s · sampling_rate`). */
  readonly windowSamples: number;
  /** How a clip shorter than a window is filled (`padding`). */
  readonly padding: "repeatpad" | "repeat" | "zeros";
}

/** The values of `laion/clap-htsat-unfused`'s preprocessor_config.json. */
export const CLAP_HTSAT_UNFUSED_FRONT_END: ClapFrontEnd = Object.freeze({
  sampleRate: 48_000,
  melBands: 64,
  nFft: 1024,
  hopLength: 480,
  minFrequency: 50,
  maxFrequency: 14_000,
  windowSamples: 480_000,
  padding: "repeatpad",
});

function positiveInteger(
  config: Record<string, unknown>,
  key: string,
  fallback: number,
  source: string,
): number {
  const value = config[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${source}: "${key}" must be a positive integer, received ${JSON.stringify(value)}.`,
      { details: { file: source, key } },
    );
  }
  return value;
}

/**
 * Read a CLAP `preprocessor_config.json` (parsed) into a {@link ClapFrontEnd};
 * missing keys take laion/clap-htsat-unfused's values.
 * @throws EmbedkitError CORRUPT_MODEL when it names another feature extractor or holds
 *   impossible values (non-integer sizes, frequencies outside 0 … rate/2)
 */
export function clapFrontEndFromConfig(config: Record<string, unknown>, source: string): ClapFrontEnd {
  const type = config.feature_extractor_type;
  if (type !== undefined && type !== "ClapFeatureExtractor") {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${source} is for ${JSON.stringify(type)}, not ClapFeatureExtractor: this folder is not a CLAP model.`,
      { details: { file: source, featureExtractor: type } },
    );
  }
  const base = CLAP_HTSAT_UNFUSED_FRONT_END;
  const sampleRate = positiveInteger(config, "sampling_rate", base.sampleRate, source);
  const seconds = config.max_length_s;
  const windowSamples = positiveInteger(
    config,
    "nb_max_samples",
    typeof seconds === "number" && seconds > 0 ? Math.round(seconds * sampleRate) : base.windowSamples,
    source,
  );
  const minFrequency = typeof config.frequency_min === "number" ? config.frequency_min : base.minFrequency;
  const maxFrequency = typeof config.frequency_max === "number" ? config.frequency_max : base.maxFrequency;
  if (!(minFrequency >= 0 && minFrequency < maxFrequency && maxFrequency <= sampleRate / 2)) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${source}: frequency_min ${minFrequency} and frequency_max ${maxFrequency} must satisfy ` +
        `0 ≤ min < max ≤ sampling_rate/2 (${sampleRate / 2}).`,
      { details: { file: source } },
    );
  }
  const padding =
    config.padding === "repeat"
      ? "repeat"
      : config.padding === "repeatpad" || config.padding === undefined
        ? "repeatpad"
        : "zeros";
  return Object.freeze({
    sampleRate,
    melBands: positiveInteger(config, "feature_size", base.melBands, source),
    nFft: positiveInteger(config, "fft_window_size", base.nFft, source),
    hopLength: positiveInteger(config, "hop_length", base.hopLength, source),
    minFrequency,
    maxFrequency,
    windowSamples,
    padding,
  });
}

/** Frames per window: 1 + windowSamples / hopLength (centred frames). */
export function clapFrames(frontEnd: ClapFrontEnd): number {
  return 1 + Math.floor(frontEnd.windowSamples / frontEnd.hopLength);
}

/**
 * Fill a clip shorter than a window as `ClapFeatureExtractor._get_input_mel` does:
 * `repeatpad` tiles it ⌊window/length⌋ times then pads with zeros, `repeat` tiles it
 * and cuts at the window, `zeros` pads with zeros.
 */
export function padClip(samples: Float32Array, frontEnd: ClapFrontEnd): Float32Array {
  const size = frontEnd.windowSamples;
  if (samples.length >= size) return samples.subarray(0, size);
  const out = new Float32Array(size);
  const copies =
    frontEnd.padding === "zeros"
      ? 1
      : frontEnd.padding === "repeatpad"
        ? Math.floor(size / samples.length)
        : Math.ceil(size / samples.length);
  for (let copy = 0; copy < copies; copy++) {
    const start = copy * samples.length;
    out.set(samples.subarray(0, Math.min(samples.length, size - start)), start);
  }
  return out;
}

/**
 * The windows a clip is embedded as: one (filled by {@link padClip}) when it fits,
 * else consecutive full windows with the last one ending at the clip's end.
 */
export function clapWindows(samples: Float32Array, frontEnd: ClapFrontEnd): Float32Array[] {
  const size = frontEnd.windowSamples;
  if (samples.length <= size) return [padClip(samples, frontEnd)];
  const windows: Float32Array[] = [];
  for (let start = 0; start + size <= samples.length; start += size) {
    windows.push(samples.subarray(start, start + size));
  }
  if (samples.length % size !== 0) windows.push(samples.subarray(samples.length - size));
  return windows;
}

/**
 * Log-mel features (frames × melBands, dB) of one window of exactly
 * `windowSamples` samples, as `ClapFeatureExtractor._np_extract_fbank_features`
 * with the Slaney filterbank.
 */
export function clapLogMel(window: Float32Array, frontEnd: ClapFrontEnd): FeatureMatrix {
  const power = melSpectrogram(window, {
    sampleRate: frontEnd.sampleRate,
    nFft: frontEnd.nFft,
    hopLength: frontEnd.hopLength,
    melBands: frontEnd.melBands,
    minFrequency: frontEnd.minFrequency,
    maxFrequency: frontEnd.maxFrequency,
    padMode: "reflect",
  });
  return powerToDecibels(power);
}
