/**
 * @module scripts/lib/tiny-text-tower
 * The random-weight text tower the two-tower fixtures share (make-tiny-clip.ts,
 * make-tiny-clap.ts): `input_ids` + `attention_mask` `[batch, seq]` int64 →
 * masked mean of random token vectors → random projection → `text_embeds
 * [batch, dims]`. The mask is honoured, so a text alone and inside a padded
 * batch give the same vector, as with a real transformer. Not a language model.
 */
import { encodeOnnxModel } from "../../src/models/onnx-writer.js";
import type { createRandom } from "../../src/vectors/random.js";

/** Gaussian random weights with standard deviation `scale`. */
export function gaussian(count: number, scale: number, random: ReturnType<typeof createRandom>): Float32Array {
  return Float32Array.from({ length: count }, () => random.gaussian() * scale);
}

/** Options of {@link tinyTextTower}. */
export interface TinyTextTowerOptions {
  /** Graph name. */
  readonly name: string;
  /** Rows of the token table (the tokenizer's vocabulary size). */
  readonly vocabularySize: number;
  /** Width of the token vectors. */
  readonly width: number;
  /** Output size (projection_dim). */
  readonly dims: number;
}

/** Encode the tower; draws the token table, then the projection, from `random`. */
export function tinyTextTower(options: TinyTextTowerOptions, random: ReturnType<typeof createRandom>): Uint8Array {
  const { vocabularySize, width, dims } = options;
  return encodeOnnxModel({
    name: options.name,
    inputs: [
      { name: "input_ids", type: "int64", shape: ["batch_size", "sequence_length"] },
      { name: "attention_mask", type: "int64", shape: ["batch_size", "sequence_length"] },
    ],
    outputs: [{ name: "text_embeds", type: "float", shape: ["batch_size", dims] }],
    initializers: [
      { name: "token_embedding", dims: [vocabularySize, width], data: gaussian(vocabularySize * width, 1, random) },
      { name: "text_projection", dims: [width, dims], data: gaussian(width * dims, 1 / Math.sqrt(width), random) },
      { name: "last_axis", dims: [1], data: BigInt64Array.from([-1n]) },
      { name: "sequence_axis", dims: [1], data: BigInt64Array.from([1n]) },
    ],
    nodes: [
      { op: "Gather", inputs: ["token_embedding", "input_ids"], outputs: ["tokens"] },
      { op: "Cast", inputs: ["attention_mask"], outputs: ["mask"], attributes: { to: 1 } },
      { op: "Unsqueeze", inputs: ["mask", "last_axis"], outputs: ["mask3"] },
      { op: "Mul", inputs: ["tokens", "mask3"], outputs: ["masked"] },
      { op: "ReduceSum", inputs: ["masked", "sequence_axis"], outputs: ["summed"], attributes: { keepdims: 0 } },
      { op: "ReduceSum", inputs: ["mask3", "sequence_axis"], outputs: ["count"], attributes: { keepdims: 0 } },
      { op: "Div", inputs: ["summed", "count"], outputs: ["mean"] },
      { op: "MatMul", inputs: ["mean", "text_projection"], outputs: ["text_embeds"] },
    ],
  });
}
