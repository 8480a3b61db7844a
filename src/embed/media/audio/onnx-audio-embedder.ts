/**
 * @module embed/media/audio/onnx-audio-embedder
 * Raw-waveform encoders from the Hugging Face world (wav2vec2, HuBERT, WavLM,
 * data2vec-audio) exported to ONNX, for users who have such a folder (e.g.
 * downloaded from the Hub on a machine that can reach it). The graph takes
 * `input_values` `[batch, samples]` (and optionally `attention_mask`) and
 * returns `last_hidden_state` `[batch, frames, hidden]`, which is mean-pooled
 * over frames and L2-normalised; a graph whose first output is already 2-D
 * (`[batch, dims]`, e.g. a pooled head) is used as is.
 *
 * `preprocessor_config.json` (when present) gives `sampling_rate` (default
 * 16000) and `do_normalize` (default true: zero mean, unit variance per clip,
 * as `Wav2Vec2FeatureExtractor` does). Clips run one at a time, so no padding
 * changes the pooled vector.
 */
import { readFile, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type * as ort from "onnxruntime-node";
import { EmbedkitError } from "../../../errors.js";
import { loadOnnxRuntime } from "../../../internal/load-dependency.js";
import { normalizeInPlace } from "../../../vectors/math.js";
import type { AudioCore } from "./audio-embedder.js";

/** Options of {@link createOnnxAudioCore}. */
export interface OnnxAudioCoreOptions {
  /** Model id reported by the embedder. @default `wav2vec2:dir:<folder>` */
  readonly id?: string;
  /** Folder with `model.onnx` (or `onnx/model.onnx`) and optionally `preprocessor_config.json`. */
  readonly folder: string;
  /** Inference threads. @default os.availableParallelism() */
  readonly threads?: number;
  /** Clips decoded per batch. @default 16 */
  readonly maxBatchSize?: number;
}

const GRAPH_CANDIDATES = ["model.onnx", "onnx/model.onnx"];

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function readPreprocessor(folder: string): Promise<{ sampleRate: number; normalize: boolean }> {
  const path = join(folder, "preprocessor_config.json");
  if (!(await isFile(path))) return { sampleRate: 16_000, normalize: true };
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch (cause) {
    throw new EmbedkitError("MALFORMED_FILE", `${path} is not valid JSON: ${(cause as Error).message}.`, {
      cause,
      details: { path },
    });
  }
  const rate = config.sampling_rate;
  if (rate !== undefined && !(typeof rate === "number" && Number.isInteger(rate) && rate >= 1000)) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${path}: "sampling_rate" must be an integer number of Hz (e.g. 16000), received ${JSON.stringify(rate)}.`,
      { details: { path } },
    );
  }
  return { sampleRate: (rate as number | undefined) ?? 16_000, normalize: config.do_normalize !== false };
}

/** Zero mean, unit variance (`Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm`). */
function zeroMeanUnitVariance(samples: Float32Array): Float32Array {
  let mean = 0;
  for (const value of samples) mean += value;
  mean /= samples.length;
  let variance = 0;
  for (const value of samples) variance += (value - mean) ** 2;
  variance /= samples.length;
  const scale = 1 / Math.sqrt(variance + 1e-7);
  return samples.map((value) => (value - mean) * scale);
}

/**
 * Load a raw-waveform ONNX encoder folder and return its {@link AudioCore}.
 * @throws EmbedkitError FILE_NOT_FOUND (no folder / no model.onnx), MALFORMED_FILE (bad
 *   preprocessor_config.json), CORRUPT_MODEL (onnxruntime refuses the graph, or it has no
 *   `input_values` input)
 */
export async function createOnnxAudioCore(options: OnnxAudioCoreOptions): Promise<AudioCore> {
  const folder = isAbsolute(options.folder) ? options.folder : resolve(options.folder);
  let graphPath: string | undefined;
  for (const candidate of GRAPH_CANDIDATES) {
    if (await isFile(join(folder, candidate))) {
      graphPath = join(folder, candidate);
      break;
    }
  }
  if (graphPath === undefined && (await isFile(join(folder, "onnx", "audio_model.onnx")))) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${folder} holds onnx/audio_model.onnx: it is a CLAP (audio-text) export, not a raw-waveform encoder. ` +
        `Use clap:dir:${folder} (or dir:${folder}).`,
      { details: { folder } },
    );
  }
  if (graphPath === undefined) {
    throw new EmbedkitError(
      "FILE_NOT_FOUND",
      `${folder} has no ${GRAPH_CANDIDATES.join(" or ")}. Expected a Hugging Face style ONNX export of a raw-waveform ` +
        "encoder (e.g. the files of Xenova/wav2vec2-base-960h), referenced as wav2vec2:dir:/path/to/folder.",
      { details: { folder } },
    );
  }
  const preprocessor = await readPreprocessor(folder);
  const ort = await loadOnnxRuntime();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(graphPath, {
      intraOpNumThreads: options.threads ?? availableParallelism(),
    });
  } catch (cause) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `onnxruntime cannot load ${graphPath}: ${(cause as Error).message}`,
      {
        cause,
        details: { path: graphPath },
      },
    );
  }
  if (!session.inputNames.includes("input_values")) {
    await session.release();
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${graphPath} takes ${session.inputNames.join(", ")}, not "input_values": it is not a raw-waveform audio encoder.`,
      { details: { path: graphPath, inputs: session.inputNames } },
    );
  }
  const wantsMask = session.inputNames.includes("attention_mask");
  const outputName = session.outputNames.includes("last_hidden_state")
    ? "last_hidden_state"
    : (session.outputNames[0] as string);

  const run = async (clip: Float32Array): Promise<Float32Array> => {
    const samples = preprocessor.normalize ? zeroMeanUnitVariance(clip) : clip;
    const feeds: Record<string, ort.Tensor> = {
      input_values: new ort.Tensor("float32", samples, [1, samples.length]),
    };
    if (wantsMask) {
      feeds.attention_mask = new ort.Tensor("int64", new BigInt64Array(samples.length).fill(1n), [
        1,
        samples.length,
      ]);
    }
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await session.run(feeds);
    } catch (cause) {
      throw new EmbedkitError(
        "INFERENCE_FAILED",
        `${graphPath} failed on a clip of ${samples.length} samples: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    const output = result[outputName] as ort.Tensor;
    const data = output.data as Float32Array;
    const dims = output.dims;
    if (dims.length === 2) return normalizeInPlace(Float32Array.from(data));
    // [1, frames, hidden] → mean over frames.
    const frames = dims[1] as number;
    const hidden = dims[2] as number;
    const pooled = new Float32Array(hidden);
    for (let f = 0; f < frames; f++)
      for (let d = 0; d < hidden; d++) pooled[d] = (pooled[d] as number) + (data[f * hidden + d] as number);
    for (let d = 0; d < hidden; d++) pooled[d] = (pooled[d] as number) / Math.max(1, frames);
    return normalizeInPlace(pooled);
  };

  // One second of silence tells the output width and proves the graph runs.
  const probe = await run(new Float32Array(preprocessor.sampleRate));
  return {
    id: options.id ?? `wav2vec2:dir:${folder}`,
    dims: probe.length,
    sampleRate: preprocessor.sampleRate,
    normalize: true,
    maxBatchSize: options.maxBatchSize ?? 16,
    async embedSamples(clips, signal) {
      const out: Float32Array[] = [];
      for (const clip of clips) {
        signal?.throwIfAborted();
        out.push(await run(clip));
      }
      return out;
    },
    async close() {
      await session.release();
    },
  };
}
