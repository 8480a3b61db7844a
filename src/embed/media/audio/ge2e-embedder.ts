/**
 * @module embed/media/audio/ge2e-embedder
 * The offline speaker embedder: resemblyzer's GE2E encoder (PyPI
 * `resemblyzer==0.1.4`, `pretrained.pt`), run with onnxruntime from a graph
 * built in TypeScript at load time (`ge2e-graph.ts`) — no Python at run time.
 *
 * The front-end follows resemblyzer 0.1.4 (`audio.py`, `voice_encoder.py`,
 * `hparams.py`): 16 kHz mono; volume raised to −30 dBFS when quieter (never
 * lowered); 40-band power mel spectrogram with a 25 ms window and 10 ms hop
 * (n_fft 400, librosa defaults); partial utterances of 160 frames (1.6 s)
 * every 77 frames (rate 1.3/s), the last kept when it is ≥ 75 % covered,
 * short clips zero-padded to one partial; each partial → LSTM → linear → ReLU
 * → L2 norm; the clip's vector is the L2-normalised mean of its partials.
 * One deliberate difference: resemblyzer's optional webrtcvad silence
 * trimming is not applied (no VAD model is bundled); trim long silences
 * before embedding if your recordings have them.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import type * as ort from "onnxruntime-node";
import { EmbedkitError } from "../../../errors.js";
import { loadOnnxRuntime } from "../../../internal/load-dependency.js";
import { readTorchCheckpoint } from "../../../models/torch-checkpoint.js";
import { normalizeInPlace } from "../../../vectors/math.js";
import { type EmbedProvider, embedDecoded } from "../../pipeline.js";
import type { AudioCore } from "./audio-embedder.js";
import { buildGe2eOnnx, GE2E_INPUT, GE2E_OUTPUT, GE2E_SHAPE } from "./ge2e-graph.js";
import { melSpectrogram } from "./mel.js";

/** resemblyzer's hyper-parameters (hparams.py and embed_utterance defaults). */
export const GE2E_FRONT_END = Object.freeze({
  sampleRate: 16_000,
  nFft: 400,
  hopLength: 160,
  melBands: 40,
  partialFrames: 160,
  partialsPerSecond: 1.3,
  minCoverage: 0.75,
  targetDbfs: -30,
});

/** Options of {@link createGe2eCore}. */
export interface Ge2eCoreOptions {
  /** Model id reported by the embedder. @default "resemblyzer-ge2e" */
  readonly id?: string;
  /** Path of resemblyzer's `pretrained.pt`. */
  readonly weightsPath: string;
  /** Inference threads. @default os.availableParallelism() */
  readonly threads?: number;
  /** Clips per batch. @default 16 */
  readonly maxBatchSize?: number;
  /** Partial utterances per onnxruntime call. @default 32 */
  readonly maxPartialsPerRun?: number;
}

/** The GE2E {@link AudioCore}, which can also run the network on ready mel windows. */
export interface Ge2eCore extends AudioCore {
  /**
   * Run partial utterances (each 160 frames × 40 mel bands, row-major power mel)
   * through the network; one unit vector per window. Used to check the network
   * alone against reference outputs.
   */
  embedPartials(windows: readonly Float32Array[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** Frame ranges [start, end) of the partial utterances of a clip of `samples` samples. */
export function partialSlices(samples: number): Array<readonly [number, number]> {
  const { hopLength, sampleRate, partialFrames, partialsPerSecond, minCoverage } = GE2E_FRONT_END;
  const frames = Math.ceil((samples + 1) / hopLength);
  const step = Math.round(sampleRate / partialsPerSecond / hopLength);
  const steps = Math.max(1, frames - partialFrames + step + 1);
  const slices: Array<readonly [number, number]> = [];
  for (let start = 0; start < steps; start += step) slices.push([start, start + partialFrames]);
  const last = slices[slices.length - 1] as readonly [number, number];
  const coverage = (samples - last[0] * hopLength) / (partialFrames * hopLength);
  if (coverage < minCoverage && slices.length > 1) slices.pop();
  return slices;
}

/** Raise a clip to −30 dBFS RMS if it is quieter (resemblyzer's `normalize_volume(increase_only=True)`). */
export function normalizeVolume(samples: Float32Array): Float32Array {
  let sum = 0;
  for (const value of samples) sum += value * value;
  const rms = Math.sqrt(sum / samples.length);
  if (rms === 0) return samples;
  const change = GE2E_FRONT_END.targetDbfs - 20 * Math.log10(rms);
  if (change <= 0) return samples;
  const gain = 10 ** (change / 20);
  return samples.map((value) => value * gain);
}

/**
 * Load the GE2E encoder from `pretrained.pt` and return its {@link AudioCore}.
 * @throws EmbedkitError CORRUPT_MODEL when the checkpoint cannot be read or converted
 */
export async function createGe2eCore(options: Ge2eCoreOptions): Promise<Ge2eCore> {
  const bytes = await readFile(options.weightsPath);
  const graph = buildGe2eOnnx(readTorchCheckpoint(bytes, options.weightsPath));
  const ort = await loadOnnxRuntime();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(graph, {
      intraOpNumThreads: options.threads ?? availableParallelism(),
      interOpNumThreads: 1,
    });
  } catch (cause) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `onnxruntime refused the graph built from ${options.weightsPath}: ${(cause as Error).message}`,
      { cause, details: { file: options.weightsPath } },
    );
  }
  const { melBands, partialFrames, hopLength, sampleRate, nFft } = GE2E_FRONT_END;
  const maxPartials = options.maxPartialsPerRun ?? 32;
  const frameValues = partialFrames * melBands;

  /** Run partial-utterance mel windows through the network; unit vectors out. */
  const partials: EmbedProvider<Float32Array> = {
    limits: { maxBatchSize: maxPartials },
    async doEmbed({ values: chunk }) {
      const input = new Float32Array(chunk.length * frameValues);
      chunk.forEach((window, index) => {
        input.set(window, index * frameValues);
      });
      let result: ort.InferenceSession.OnnxValueMapType;
      try {
        result = await session.run({
          [GE2E_INPUT]: new ort.Tensor("float32", input, [chunk.length, partialFrames, melBands]),
        });
      } catch (cause) {
        throw new EmbedkitError("INFERENCE_FAILED", `GE2E inference failed: ${(cause as Error).message}`, {
          cause,
        });
      }
      const raw = result[GE2E_OUTPUT]?.data as Float32Array;
      const width = GE2E_SHAPE.embedding;
      return { vectors: chunk.map((_, i) => raw.slice(i * width, (i + 1) * width)) };
    },
  };
  const runPartials = (windows: readonly Float32Array[], signal?: AbortSignal): Promise<Float32Array[]> =>
    embedDecoded(partials, windows, { dims: GE2E_SHAPE.embedding, normalize: true, signal });

  return {
    id: options.id ?? "resemblyzer-ge2e",
    dims: GE2E_SHAPE.embedding,
    sampleRate,
    normalize: true,
    maxBatchSize: options.maxBatchSize ?? 16,
    async embedPartials(windows, signal) {
      windows.forEach((window, index) => {
        if (window.length !== frameValues) {
          throw new EmbedkitError(
            "DIMENSION_MISMATCH",
            `Mel window ${index} has ${window.length} values; expected ${partialFrames}×${melBands} = ${frameValues}.`,
            { details: { index, expected: frameValues, received: window.length } },
          );
        }
      });
      return runPartials(windows, signal);
    },
    async embedSamples(clips, signal) {
      // Partials of every clip in this batch go through the network together.
      const windows: Float32Array[] = [];
      const owners: number[] = [];
      clips.forEach((clip, clipIndex) => {
        const slices = partialSlices(clip.length);
        const needed = (slices[slices.length - 1] as readonly [number, number])[1] * hopLength;
        let samples = normalizeVolume(clip);
        if (needed >= samples.length) {
          const padded = new Float32Array(needed);
          padded.set(samples);
          samples = padded;
        }
        const mel = melSpectrogram(samples, { sampleRate, nFft, hopLength, melBands });
        for (const [first, end] of slices) {
          windows.push(mel.data.slice(first * melBands, end * melBands));
          owners.push(clipIndex);
        }
      });
      const partials = await runPartials(windows, signal);
      const sums = clips.map(() => new Float32Array(GE2E_SHAPE.embedding));
      partials.forEach((vector, index) => {
        const sum = sums[owners[index] as number] as Float32Array;
        for (let d = 0; d < vector.length; d++) sum[d] = (sum[d] as number) + (vector[d] as number);
      });
      return sums.map((sum) => normalizeInPlace(sum));
    },
    async close() {
      await session.release();
    },
  };
}
