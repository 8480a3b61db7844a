/**
 * @module embed/media/audio/mfcc-embedder
 * The classical baseline: a clip's vector is the mean and standard deviation
 * over time of its MFCCs and their deltas. No model, no download — it is the
 * yardstick the learned audio embedders are measured against in
 * `bench/audio.ts`.
 *
 * Front-end at 16 kHz: 25 ms Hann window in a 512-point FFT, 10 ms hop,
 * 40 Slaney mel bands, `power_to_db` with an 80 dB floor, 20 orthonormal
 * DCT-II coefficients (librosa's `mfcc` defaults apart from the window
 * sizes), deltas by the HTK regression formula over ±2 frames. The vector is
 * [mean c1..c19, std c0..c19, mean Δc0..Δc19, std Δc0..Δc19] (79-d): the mean
 * of c0 (overall loudness) is left out so level differences between recordings
 * do not dominate the distance. L2-normalised.
 */
import { normalizeInPlace } from "../../../vectors/math.js";
import type { AudioCore } from "./audio-embedder.js";
import { deltas, type FeatureMatrix, melSpectrogram, mfccFromLogMel, powerToDecibels } from "./mel.js";

/** Front-end settings of the MFCC-statistics embedder. */
export const MFCC_FRONT_END = Object.freeze({
  sampleRate: 16_000,
  nFft: 512,
  windowLength: 400,
  hopLength: 160,
  melBands: 40,
  coefficients: 20,
  topDb: 80,
  deltaWidth: 2,
});

/** Output width: 19 means + 20 stds of the MFCCs, 20 + 20 of the deltas. */
export const MFCC_STATISTICS_DIMS = 2 * MFCC_FRONT_END.coefficients - 1 + 2 * MFCC_FRONT_END.coefficients;

/** Mean and standard deviation of each column of a frames × bands matrix. */
function columnStatistics(matrix: FeatureMatrix): { mean: Float64Array; std: Float64Array } {
  const { frames, bands, data } = matrix;
  const mean = new Float64Array(bands);
  const std = new Float64Array(bands);
  for (let f = 0; f < frames; f++)
    for (let b = 0; b < bands; b++) mean[b] = (mean[b] as number) + (data[f * bands + b] as number);
  for (let b = 0; b < bands; b++) mean[b] = (mean[b] as number) / frames;
  for (let f = 0; f < frames; f++) {
    for (let b = 0; b < bands; b++) {
      const difference = (data[f * bands + b] as number) - (mean[b] as number);
      std[b] = (std[b] as number) + difference * difference;
    }
  }
  for (let b = 0; b < bands; b++) std[b] = Math.sqrt((std[b] as number) / frames);
  return { mean, std };
}

/** The MFCC-statistics vector of one clip (mono, 16 kHz), L2-normalised. */
export function mfccStatistics(samples: Float32Array): Float32Array {
  const { sampleRate, nFft, windowLength, hopLength, melBands, coefficients, topDb, deltaWidth } =
    MFCC_FRONT_END;
  const mel = melSpectrogram(samples, { sampleRate, nFft, windowLength, hopLength, melBands });
  const mfcc = mfccFromLogMel(powerToDecibels(mel, topDb), coefficients);
  const cepstra = columnStatistics(mfcc);
  const velocity = columnStatistics(deltas(mfcc, deltaWidth));
  const vector = new Float32Array(MFCC_STATISTICS_DIMS);
  let at = 0;
  for (let k = 1; k < coefficients; k++) vector[at++] = cepstra.mean[k] as number;
  for (let k = 0; k < coefficients; k++) vector[at++] = cepstra.std[k] as number;
  for (let k = 0; k < coefficients; k++) vector[at++] = velocity.mean[k] as number;
  for (let k = 0; k < coefficients; k++) vector[at++] = velocity.std[k] as number;
  return normalizeInPlace(vector);
}

/**
 * The {@link AudioCore} of the MFCC-statistics baseline (pure TypeScript).
 * @example
 * ```ts
 * const embedder = wrapAudioCore(createMfccCore());
 * ```
 */
export function createMfccCore(options: { readonly maxBatchSize?: number } = {}): AudioCore {
  return {
    id: "mfcc-stats",
    dims: MFCC_STATISTICS_DIMS,
    sampleRate: MFCC_FRONT_END.sampleRate,
    normalize: true,
    maxBatchSize: options.maxBatchSize ?? 64,
    async embedSamples(clips) {
      return clips.map((clip) => mfccStatistics(clip));
    },
    async close() {},
  };
}
