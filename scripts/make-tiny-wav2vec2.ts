/**
 * @module scripts/make-tiny-wav2vec2
 * Generate a tiny, random-weight wav2vec2-style model folder with the real
 * input/output signature of the Hugging Face / Transformers.js ONNX exports
 * (e.g. Xenova/wav2vec2-base-960h), laid out the same way:
 *
 * ```
 * onnx/model.onnx            input_values [batch, samples] float → last_hidden_state [batch, frames, H]
 * preprocessor_config.json   sampling_rate 16000, do_normalize true (Wav2Vec2FeatureExtractor)
 * config.json                hidden_size H
 * ```
 *
 * The graph has wav2vec2's framing (a strided 1-D convolution: 400-sample
 * kernel, 320-sample stride = 25 ms / 20 ms at 16 kHz) followed by a random
 * projection and tanh. THIS IS A TEST FIXTURE, NOT A WORKING MODEL: its vectors
 * are random features of the waveform, so only the code path (decode →
 * normalize → ONNX → mean-pool → normalize) is exercised. Real wav2vec2 or CLAP
 * weights need a model hub, which this project's machines cannot reach. Built
 * with src/models/onnx-writer.ts; no Python.
 *
 * Run: `npx tsx scripts/make-tiny-wav2vec2.ts <folder> [--hidden 32] [--seed 1]`
 */
import { encodeOnnxModel } from "../src/models/onnx-writer.js";
import { createRandom } from "../src/vectors/random.js";
import { fixtureArguments, writeFixtureFiles } from "./lib/fixture-folder.js";

/** Options of {@link writeTinyWav2Vec2}. */
export interface TinyWav2Vec2Options {
  /** Output width (hidden_size). @default 32 */
  readonly hidden?: number;
  /** Seed of the random weights. @default 1 */
  readonly seed?: number;
  /** Also declare an `attention_mask` input (as some exports do). @default false */
  readonly attentionMask?: boolean;
}

const KERNEL = 400;
const STRIDE = 320;
const CHANNELS = 16;

/**
 * Write the fixture folder (files appear atomically: temp file + rename).
 * @example
 * ```ts
 * await writeTinyWav2Vec2("/tmp/tiny-w2v");
 * const embedder = await createAudioEmbedder({ model: "wav2vec2:dir:/tmp/tiny-w2v" });
 * ```
 */
export async function writeTinyWav2Vec2(folder: string, options: TinyWav2Vec2Options = {}): Promise<void> {
  const hidden = options.hidden ?? 32;
  const random = createRandom(options.seed ?? 1);
  const gaussian = (count: number, scale: number): Float32Array =>
    Float32Array.from({ length: count }, () => random.gaussian() * scale);
  const graph = encodeOnnxModel({
    name: "tiny-wav2vec2-fixture",
    inputs: [
      { name: "input_values", type: "float", shape: ["batch_size", "sequence_length"] },
      ...(options.attentionMask
        ? [{ name: "attention_mask", type: "int64" as const, shape: ["batch_size", "sequence_length"] }]
        : []),
    ],
    outputs: [{ name: "last_hidden_state", type: "float", shape: ["batch_size", "frames", hidden] }],
    initializers: [
      { name: "axis1", dims: [1], data: BigInt64Array.of(1n) },
      { name: "conv_weight", dims: [CHANNELS, 1, KERNEL], data: gaussian(CHANNELS * KERNEL, 1 / Math.sqrt(KERNEL)) },
      { name: "projection", dims: [CHANNELS, hidden], data: gaussian(CHANNELS * hidden, 1 / Math.sqrt(CHANNELS)) },
    ],
    nodes: [
      // [batch, samples] → [batch, 1, samples] → conv → [batch, 16, frames] → [batch, frames, 16]
      { op: "Unsqueeze", inputs: ["input_values", "axis1"], outputs: ["waveform"] },
      {
        op: "Conv",
        inputs: ["waveform", "conv_weight"],
        outputs: ["features"],
        attributes: { kernel_shape: [KERNEL], strides: [STRIDE] },
      },
      { op: "Transpose", inputs: ["features"], outputs: ["frames"], attributes: { perm: [0, 2, 1] } },
      { op: "MatMul", inputs: ["frames", "projection"], outputs: ["projected"] },
      { op: "Tanh", inputs: ["projected"], outputs: ["last_hidden_state"] },
    ],
    metadata: { fixture: "random weights; not a working model (scripts/make-tiny-wav2vec2.ts)" },
  });
  const preprocessor = {
    feature_extractor_type: "Wav2Vec2FeatureExtractor",
    sampling_rate: 16_000,
    do_normalize: true,
    feature_size: 1,
    padding_value: 0,
    return_attention_mask: options.attentionMask ?? false,
  };
  const config = { model_type: "wav2vec2", hidden_size: hidden, _fixture: "random weights, not a working model" };
  const files: [string, Uint8Array | string][] = [
    ["onnx/model.onnx", graph],
    ["preprocessor_config.json", JSON.stringify(preprocessor, null, 2)],
    ["config.json", JSON.stringify(config, null, 2)],
  ];
  await writeFixtureFiles(folder, files);
}

if (process.argv[1]?.endsWith("make-tiny-wav2vec2.ts")) {
  const { folder, numbers } = fixtureArguments(
    "npx tsx scripts/make-tiny-wav2vec2.ts <folder> [--hidden 32] [--seed 1]",
    ["hidden", "seed"],
  );
  await writeTinyWav2Vec2(folder, numbers);
  console.log(`wrote a tiny random-weight wav2vec2 fixture (not a working model) to ${folder}`);
}
