/**
 * @module embed/media/audio/mel
 * Mel spectrograms, log-mel features and MFCCs, computed the way librosa does
 * by default (so numbers match models trained with it, and a committed
 * librosa fixture checks them): centred frames with zero padding of
 * `nFft/2` on each side, a periodic Hann window of `windowLength` centred in
 * `nFft`, power spectra, Slaney-style mel filters with Slaney area
 * normalisation (`librosa.filters.mel(htk=False, norm="slaney")`),
 * `power_to_db` with `amin = 1e-10` and an optional `top_db` floor, and an
 * orthonormal DCT-II for MFCCs. Matrices are row-major `Float32Array`s with
 * one row per frame.
 */
import { createFftPlan } from "./fft.js";

/** Settings of {@link melSpectrogram}. */
export interface MelOptions {
  readonly sampleRate: number;
  /** FFT size in samples. */
  readonly nFft: number;
  /** Window length in samples (≤ nFft; centred in the FFT frame). @default nFft */
  readonly windowLength?: number;
  /** Hop between frames in samples. */
  readonly hopLength: number;
  /** Number of mel bands. */
  readonly melBands: number;
  /** Lowest filter edge in Hz. @default 0 */
  readonly minFrequency?: number;
  /** Highest filter edge in Hz. @default sampleRate / 2 */
  readonly maxFrequency?: number;
  /**
   * How the `nFft/2` samples before the first and after the last sample are filled:
   * `constant` (zeros, librosa ≥ 0.10's default) or `reflect` (mirror without repeating
   * the edge sample, `numpy.pad(mode="reflect")` — what Hugging Face's
   * `audio_utils.spectrogram` uses, e.g. for CLAP). @default "constant"
   */
  readonly padMode?: "constant" | "reflect";
}

/** A frames × bands matrix (row-major). */
export interface FeatureMatrix {
  readonly data: Float32Array;
  readonly frames: number;
  readonly bands: number;
}

/** Slaney's mel scale (linear below 1 kHz, logarithmic above), as librosa's `hz_to_mel(htk=False)`. */
function hzToMel(hz: number): number {
  const linearStep = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / linearStep;
  const logStep = Math.log(6.4) / 27;
  return hz >= minLogHz ? minLogMel + Math.log(hz / minLogHz) / logStep : hz / linearStep;
}

function melToHz(mel: number): number {
  const linearStep = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / linearStep;
  const logStep = Math.log(6.4) / 27;
  return mel >= minLogMel ? minLogHz * Math.exp(logStep * (mel - minLogMel)) : mel * linearStep;
}

/**
 * The mel filterbank (bands × (nFft/2 + 1), row-major), equal to
 * `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)` with its defaults.
 */
export function melFilterbank(options: MelOptions): Float32Array {
  const { sampleRate, nFft, melBands } = options;
  const minFrequency = options.minFrequency ?? 0;
  const maxFrequency = options.maxFrequency ?? sampleRate / 2;
  const bins = (nFft >> 1) + 1;
  const minMel = hzToMel(minFrequency);
  const maxMel = hzToMel(maxFrequency);
  const edges = Array.from({ length: melBands + 2 }, (_, i) =>
    melToHz(minMel + ((maxMel - minMel) * i) / (melBands + 1)),
  );
  const weights = new Float32Array(melBands * bins);
  for (let band = 0; band < melBands; band++) {
    const lower = edges[band] as number;
    const centre = edges[band + 1] as number;
    const upper = edges[band + 2] as number;
    const area = 2 / (upper - lower);
    for (let bin = 0; bin < bins; bin++) {
      const frequency = (bin * sampleRate) / nFft;
      const rising = (frequency - lower) / (centre - lower);
      const falling = (upper - frequency) / (upper - centre);
      const weight = Math.max(0, Math.min(rising, falling));
      weights[band * bins + bin] = weight * area;
    }
  }
  return weights;
}

/** Number of centred frames librosa produces for `samples` samples. */
export function frameCount(samples: number, hopLength: number): number {
  return 1 + Math.floor(samples / hopLength);
}

/** Index into `length` samples with numpy's `reflect` padding (edge not repeated). */
function reflectIndex(index: number, length: number): number {
  if (length === 1) return 0;
  const period = 2 * (length - 1);
  const folded = ((index % period) + period) % period;
  return folded < length ? folded : period - folded;
}

/**
 * Power mel spectrogram (frames × melBands): `librosa.feature.melspectrogram`
 * with `center=True, pad_mode="constant", power=2` (or `reflect`, see
 * {@link MelOptions.padMode}), transposed to one row per frame.
 */
export function melSpectrogram(samples: Float32Array, options: MelOptions): FeatureMatrix {
  const { nFft, hopLength, melBands } = options;
  const windowLength = options.windowLength ?? nFft;
  const bins = (nFft >> 1) + 1;
  const filters = melFilterbank(options);
  // Periodic Hann of windowLength, centred in nFft (librosa pads the window the same way).
  const window = new Float32Array(nFft);
  const windowStart = Math.floor((nFft - windowLength) / 2);
  for (let i = 0; i < windowLength; i++) {
    window[windowStart + i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / windowLength);
  }
  const frames = frameCount(samples.length, hopLength);
  const plan = createFftPlan(nFft);
  const frame = new Float32Array(nFft);
  const power = new Float32Array(bins);
  const data = new Float32Array(frames * melBands);
  const padding = nFft >> 1;
  const reflect = options.padMode === "reflect";
  // Only the filter's non-zero bins are summed.
  const ranges = Array.from({ length: melBands }, (_, band) => {
    let first = 0;
    while (first < bins && filters[band * bins + first] === 0) first++;
    let last = bins - 1;
    while (last >= first && filters[band * bins + last] === 0) last--;
    return [first, last] as const;
  });
  for (let f = 0; f < frames; f++) {
    const start = f * hopLength - padding;
    for (let i = 0; i < nFft; i++) {
      const index = start + i;
      const inside = index >= 0 && index < samples.length;
      const value = inside
        ? (samples[index] as number)
        : reflect
          ? (samples[reflectIndex(index, samples.length)] as number)
          : 0;
      frame[i] = value * (window[i] as number);
    }
    plan.powerSpectrum(frame, power);
    for (let band = 0; band < melBands; band++) {
      const [first, last] = ranges[band] as readonly [number, number];
      let sum = 0;
      for (let bin = first; bin <= last; bin++)
        sum += (filters[band * bins + bin] as number) * (power[bin] as number);
      data[f * melBands + band] = sum;
    }
  }
  return { data, frames, bands: melBands };
}

/**
 * Power → decibels as `librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db)`:
 * `10·log10(max(S, 1e-10))`, floored at (max − topDb) when `topDb` is given.
 * Returns a new matrix.
 */
export function powerToDecibels(power: FeatureMatrix, topDb?: number): FeatureMatrix {
  const data = new Float32Array(power.data.length);
  let maximum = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) {
    const value = 10 * Math.log10(Math.max(power.data[i] as number, 1e-10));
    data[i] = value;
    if (value > maximum) maximum = value;
  }
  if (topDb !== undefined) {
    const floor = maximum - topDb;
    for (let i = 0; i < data.length; i++) if ((data[i] as number) < floor) data[i] = floor;
  }
  return { data, frames: power.frames, bands: power.bands };
}

/**
 * MFCCs from a log-mel matrix: orthonormal DCT-II over the bands, first
 * `coefficients` kept (librosa's `mfcc(S=..., dct_type=2, norm="ortho")`).
 */
export function mfccFromLogMel(logMel: FeatureMatrix, coefficients: number): FeatureMatrix {
  const { frames, bands } = logMel;
  const basis = new Float64Array(coefficients * bands);
  for (let k = 0; k < coefficients; k++) {
    const scale = k === 0 ? Math.sqrt(1 / bands) : Math.sqrt(2 / bands);
    for (let n = 0; n < bands; n++)
      basis[k * bands + n] = scale * Math.cos((Math.PI * k * (2 * n + 1)) / (2 * bands));
  }
  const data = new Float32Array(frames * coefficients);
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < coefficients; k++) {
      let sum = 0;
      for (let n = 0; n < bands; n++)
        sum += (basis[k * bands + n] as number) * (logMel.data[f * bands + n] as number);
      data[f * coefficients + k] = sum;
    }
  }
  return { data, frames, bands: coefficients };
}

/**
 * Regression deltas over time (HTK formula with a ±`width` frame window, edges
 * repeated): d[t] = Σₙ n·(x[t+n] − x[t−n]) / (2·Σₙ n²).
 */
export function deltas(features: FeatureMatrix, width = 2): FeatureMatrix {
  const { frames, bands } = features;
  const data = new Float32Array(frames * bands);
  let denominator = 0;
  for (let n = 1; n <= width; n++) denominator += 2 * n * n;
  const at = (t: number, band: number): number =>
    features.data[Math.min(frames - 1, Math.max(0, t)) * bands + band] as number;
  for (let t = 0; t < frames; t++) {
    for (let band = 0; band < bands; band++) {
      let sum = 0;
      for (let n = 1; n <= width; n++) sum += n * (at(t + n, band) - at(t - n, band));
      data[t * bands + band] = sum / denominator;
    }
  }
  return { data, frames, bands };
}
