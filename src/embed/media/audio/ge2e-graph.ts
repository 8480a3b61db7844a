/**
 * @module embed/media/audio/ge2e-graph
 * Turn the GE2E speaker encoder shipped in PyPI `resemblyzer` (`pretrained.pt`:
 * 3-layer LSTM, 40 → 256 hidden, linear 256 → 256, ReLU) into an ONNX graph
 * that onnxruntime runs, entirely in TypeScript: the checkpoint's tensors are
 * read by the safe pickle reader and laid out as ONNX `LSTM` operators.
 *
 * PyTorch stores LSTM gates in the order (input, forget, cell, output) and
 * two biases; ONNX wants (input, output, forget, cell) and the two biases
 * concatenated, so rows are reordered, not changed. The graph ends at the
 * ReLU; L2 normalisation and averaging of partial utterances happen in the
 * embedder, exactly as in resemblyzer's `VoiceEncoder.forward` + `embed_utterance`.
 */
import { EmbedkitError } from "../../../errors.js";
import { encodeOnnxModel, type OnnxInitializer, type OnnxNode } from "../../../models/onnx-writer.js";
import type { FloatTensor } from "../../../models/torch-checkpoint.js";

/** Shape facts of the GE2E network. */
export const GE2E_SHAPE = Object.freeze({ melBands: 40, hidden: 256, layers: 3, embedding: 256 });

/** Graph input name: mel frames `[partials, frames, 40]`. */
export const GE2E_INPUT = "mels";
/** Graph output name: ReLU(linear(h_last)) `[partials, 256]`, not yet normalised. */
export const GE2E_OUTPUT = "embeddings_raw";

function tensor(
  tensors: ReadonlyMap<string, FloatTensor>,
  name: string,
  shape: readonly number[],
): FloatTensor {
  const found = tensors.get(`model_state.${name}`) ?? tensors.get(name);
  if (found === undefined || found.shape.join("x") !== shape.join("x")) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `The GE2E checkpoint ${found === undefined ? "has no" : `has a ${found.shape.join("x")}`} tensor ${name}; ` +
        `expected ${shape.join("x")} (resemblyzer's pretrained.pt). Re-pull the model.`,
      { details: { tensor: name, expected: shape, received: found?.shape ?? null } },
    );
  }
  return found;
}

/** Reorder the four gate blocks of a PyTorch LSTM tensor (i, f, g, o) to ONNX's (i, o, f, g). */
function reorderGates(data: Float32Array, hidden: number): Float32Array {
  const block = data.length / 4;
  const out = new Float32Array(data.length);
  // PyTorch block index for each ONNX position: i←0, o←3, f←1, c←2.
  [0, 3, 1, 2].forEach((source, target) => {
    out.set(data.subarray(source * block, (source + 1) * block), target * block);
  });
  if (block % hidden !== 0) throw new RangeError("gate block is not a multiple of hidden size");
  return out;
}

/**
 * Build the ONNX model bytes of the GE2E encoder from its checkpoint tensors.
 * @throws EmbedkitError CORRUPT_MODEL when a tensor is missing or has the wrong shape
 */
export function buildGe2eOnnx(tensors: ReadonlyMap<string, FloatTensor>): Uint8Array {
  const { melBands, hidden, layers, embedding } = GE2E_SHAPE;
  const initializers: OnnxInitializer[] = [];
  const nodes: OnnxNode[] = [
    // [partials, frames, 40] → [frames, partials, 40]: onnxruntime's LSTM is time-major.
    { op: "Transpose", inputs: [GE2E_INPUT], outputs: ["x0"], attributes: { perm: [1, 0, 2] } },
  ];
  initializers.push({ name: "axis1", dims: [1], data: BigInt64Array.of(1n) });
  initializers.push({ name: "axis0", dims: [1], data: BigInt64Array.of(0n) });
  for (let layer = 0; layer < layers; layer++) {
    const inputSize = layer === 0 ? melBands : hidden;
    const weightIh = tensor(tensors, `lstm.weight_ih_l${layer}`, [4 * hidden, inputSize]);
    const weightHh = tensor(tensors, `lstm.weight_hh_l${layer}`, [4 * hidden, hidden]);
    const biasIh = tensor(tensors, `lstm.bias_ih_l${layer}`, [4 * hidden]);
    const biasHh = tensor(tensors, `lstm.bias_hh_l${layer}`, [4 * hidden]);
    const bias = new Float32Array(8 * hidden);
    bias.set(reorderGates(biasIh.data, hidden), 0);
    bias.set(reorderGates(biasHh.data, hidden), 4 * hidden);
    initializers.push(
      { name: `W${layer}`, dims: [1, 4 * hidden, inputSize], data: reorderGates(weightIh.data, hidden) },
      { name: `R${layer}`, dims: [1, 4 * hidden, hidden], data: reorderGates(weightHh.data, hidden) },
      { name: `B${layer}`, dims: [1, 8 * hidden], data: bias },
    );
    const last = layer === layers - 1;
    nodes.push({
      op: "LSTM",
      inputs: [`x${layer}`, `W${layer}`, `R${layer}`, `B${layer}`],
      // Y [frames, 1, partials, hidden] feeds the next layer; the last layer only needs Y_h.
      outputs: last ? ["", `h${layer}`] : [`y${layer}`],
      attributes: { hidden_size: hidden },
    });
    if (!last) nodes.push({ op: "Squeeze", inputs: [`y${layer}`, "axis1"], outputs: [`x${layer + 1}`] });
  }
  const linearWeight = tensor(tensors, "linear.weight", [embedding, hidden]);
  const linearBias = tensor(tensors, "linear.bias", [embedding]);
  initializers.push(
    { name: "linear_weight", dims: [embedding, hidden], data: linearWeight.data },
    { name: "linear_bias", dims: [embedding], data: linearBias.data },
  );
  nodes.push(
    { op: "Squeeze", inputs: [`h${layers - 1}`, "axis0"], outputs: ["h_last"] },
    {
      op: "Gemm",
      inputs: ["h_last", "linear_weight", "linear_bias"],
      outputs: ["linear"],
      attributes: { transB: 1 },
    },
    { op: "Relu", inputs: ["linear"], outputs: [GE2E_OUTPUT] },
  );
  return encodeOnnxModel({
    name: "resemblyzer-ge2e",
    inputs: [{ name: GE2E_INPUT, type: "float", shape: ["partials", "frames", melBands] }],
    outputs: [{ name: GE2E_OUTPUT, type: "float", shape: ["partials", embedding] }],
    initializers,
    nodes,
    opset: 17,
    metadata: { source: "resemblyzer 0.1.4 pretrained.pt (GE2E speaker encoder)" },
  });
}
