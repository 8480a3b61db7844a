/**
 * @module train/encoder/onnx-bert
 * Read a BERT-family encoder (all-MiniLM-L6-v2, bge-small-en/zh-v1.5,
 * e5-small-v2: the Hugging Face `optimum` ONNX export) into a description the
 * trainable copy is built from: the architecture (layers, hidden size, heads,
 * intermediate size, LayerNorm epsilon — read from the graph, not guessed) and
 * every weight with the name of the ONNX initializer it came from. Keeping the
 * initializer names is the seam with export (docs/FINETUNE-SEAM.md): trained
 * weights go back into the same graph under the same names and layouts.
 *
 * The graph's nodes are walked on its protobuf bytes (`models/protobuf.ts`);
 * the initializers (weights) are found by `models/onnx-initializers.ts`, the
 * reader export writes them back with, and their payloads copied out once. A graph that is not a BERT export of this
 * shape is refused with `INVALID_OPTION` naming what is missing.
 */
import { readFile } from "node:fs/promises";
import { EmbedkitError } from "../../errors.js";
import { locateOnnxInitializers, type OnnxInitializerLocation } from "../../models/onnx-initializers.js";
import { ONNX_FIELDS } from "../../models/onnx-proto.js";
import { ONNX_TYPES } from "../../models/onnx-writer.js";
import { protobufChild, protobufFields, protobufString } from "../../models/protobuf.js";
import { float32FromLittleEndian } from "../../vectors/codec.js";

/** Architecture of a BERT encoder. */
export interface BertConfig {
  readonly vocabSize: number;
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly maxPositions: number;
  readonly typeVocabSize: number;
  /** LayerNorm epsilon (1e-12 for BERT). */
  readonly layerNormEpsilon: number;
}

/** One encoder weight: the ONNX initializer name and shape it maps to. */
export interface BertWeight {
  /** Initializer name in the base ONNX file (the key export uses). */
  readonly onnxName: string;
  /** Shape as stored in ONNX (MatMul weights `[in, out]`). */
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Structural role of each weight: `embeddings.word`, `layer.3.query.weight`… */
export type BertWeights = ReadonlyMap<string, BertWeight>;

/** A BERT encoder read from ONNX. */
export interface OnnxBert {
  readonly config: BertConfig;
  /** Weights by structural role (see {@link bertRoles}). */
  readonly weights: BertWeights;
}

interface Tensor {
  readonly name: string;
  readonly dims: number[];
  readonly dataType: number;
  readonly raw?: Uint8Array;
  readonly floats: number[];
  readonly ints: number[];
}

interface Node {
  readonly name: string;
  readonly opType: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly value?: Tensor;
}

function packedOrSingle(
  field: { wireType: number; value?: number; bytes?: Uint8Array },
  out: number[],
): void {
  if (field.wireType === 0) {
    out.push(field.value as number);
    return;
  }
  const bytes = field.bytes as Uint8Array;
  let value = 0;
  let scale = 1;
  for (const byte of bytes) {
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      out.push(value);
      value = 0;
      scale = 1;
    } else scale *= 128;
  }
}

function readTensor(message: Uint8Array): Tensor {
  const dims: number[] = [];
  const floats: number[] = [];
  const ints: number[] = [];
  let dataType = 0;
  let name = "";
  let raw: Uint8Array | undefined;
  for (const field of protobufFields(message)) {
    if (field.number === ONNX_FIELDS.tensorDims) packedOrSingle(field, dims);
    else if (field.number === ONNX_FIELDS.tensorDataType) dataType = field.value ?? 0;
    else if (field.number === ONNX_FIELDS.tensorName && field.bytes)
      name = new TextDecoder().decode(field.bytes);
    else if (field.number === ONNX_FIELDS.tensorRawData) raw = field.bytes;
    else if (field.number === ONNX_FIELDS.tensorInt64Data) packedOrSingle(field, ints);
    else if (field.number === ONNX_FIELDS.tensorFloatData) {
      if (field.wireType === 5) floats.push(field.float as number);
      else if (field.bytes) {
        const view = new DataView(field.bytes.buffer, field.bytes.byteOffset, field.bytes.byteLength);
        for (let offset = 0; offset + 4 <= field.bytes.length; offset += 4)
          floats.push(view.getFloat32(offset, true));
      }
    }
  }
  return { name, dims, dataType, ...(raw === undefined ? {} : { raw }), floats, ints };
}

function floatValues(tensor: Tensor): Float32Array {
  if (tensor.dataType !== ONNX_TYPES.float) throw new Error(`${tensor.name} is not float32`);
  if (tensor.raw !== undefined) {
    const copy = new Uint8Array(tensor.raw); // aligned copy
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  return Float32Array.from(tensor.floats);
}

function scalarOf(tensor: Tensor): number {
  if (tensor.dataType === ONNX_TYPES.float) return floatValues(tensor)[0] as number;
  if (tensor.dataType === ONNX_TYPES.int64) {
    if (tensor.raw !== undefined) {
      const view = new DataView(tensor.raw.buffer, tensor.raw.byteOffset, tensor.raw.byteLength);
      return Number(view.getBigInt64(0, true));
    }
    return tensor.ints[0] as number;
  }
  throw new Error(`constant ${tensor.name} has data type ${tensor.dataType}`);
}

function readNode(message: Uint8Array): Node {
  const inputs: string[] = [];
  const outputs: string[] = [];
  let value: Tensor | undefined;
  for (const field of protobufFields(message)) {
    if (field.number === ONNX_FIELDS.nodeInput && field.bytes)
      inputs.push(new TextDecoder().decode(field.bytes));
    else if (field.number === ONNX_FIELDS.nodeOutput && field.bytes)
      outputs.push(new TextDecoder().decode(field.bytes));
    else if (field.number === ONNX_FIELDS.nodeAttribute && field.bytes) {
      const tensor = protobufChild(field.bytes, ONNX_FIELDS.attributeTensor);
      if (tensor !== undefined) value = readTensor(tensor);
    }
  }
  return {
    name: protobufString(message, ONNX_FIELDS.nodeName) ?? "",
    opType: protobufString(message, ONNX_FIELDS.nodeOpType) ?? "",
    inputs,
    outputs,
    ...(value === undefined ? {} : { value }),
  };
}

/** The names of the 16 weights of encoder layer `index`, by role suffix → ONNX node / initializer. */
const LAYER_MATMULS = {
  "query.weight": "attention/self/query/MatMul",
  "key.weight": "attention/self/key/MatMul",
  "value.weight": "attention/self/value/MatMul",
  "attention.output.weight": "attention/output/dense/MatMul",
  "intermediate.weight": "intermediate/dense/MatMul",
  "output.weight": "output/dense/MatMul",
} as const;
const LAYER_INITIALIZERS = {
  "query.bias": "attention.self.query.bias",
  "key.bias": "attention.self.key.bias",
  "value.bias": "attention.self.value.bias",
  "attention.output.bias": "attention.output.dense.bias",
  "attention.norm.gamma": "attention.output.LayerNorm.weight",
  "attention.norm.beta": "attention.output.LayerNorm.bias",
  "intermediate.bias": "intermediate.dense.bias",
  "output.bias": "output.dense.bias",
  "output.norm.gamma": "output.LayerNorm.weight",
  "output.norm.beta": "output.LayerNorm.bias",
} as const;
const EMBEDDING_INITIALIZERS = {
  "embeddings.word": "embeddings.word_embeddings.weight",
  "embeddings.position": "embeddings.position_embeddings.weight",
  "embeddings.type": "embeddings.token_type_embeddings.weight",
  "embeddings.norm.gamma": "embeddings.LayerNorm.weight",
  "embeddings.norm.beta": "embeddings.LayerNorm.bias",
} as const;

/** Every structural role of a `layers`-layer encoder, in a fixed order. */
export function bertRoles(layers: number): string[] {
  const roles: string[] = Object.keys(EMBEDDING_INITIALIZERS);
  for (let layer = 0; layer < layers; layer++) {
    for (const role of [...Object.keys(LAYER_MATMULS), ...Object.keys(LAYER_INITIALIZERS)])
      roles.push(`layer.${layer}.${role}`);
  }
  return roles;
}

/**
 * Read a BERT encoder from the bytes of its ONNX file.
 * @throws EmbedkitError INVALID_OPTION when the graph is not a BERT export embedkit can train
 */
export function parseOnnxBert(bytes: Uint8Array, label = "model.onnx"): OnnxBert {
  const unsupported = (why: string): EmbedkitError =>
    new EmbedkitError(
      "INVALID_OPTION",
      `${label} cannot be fine-tuned: ${why}. Fine-tuning supports BERT-family encoders exported by Hugging Face optimum (all-MiniLM-L6-v2, bge-small-en-v1.5, bge-small-zh-v1.5, e5-small-v2).`,
      { details: { model: label } },
    );
  let graph: Uint8Array | undefined;
  let initializers: Map<string, OnnxInitializerLocation>;
  const nodes = new Map<string, Node>();
  const constants = new Map<string, Tensor>();
  try {
    graph = protobufChild(bytes, ONNX_FIELDS.modelGraph);
    if (graph === undefined) throw unsupported("the file has no ONNX graph");
    initializers = locateOnnxInitializers(bytes, label);
    for (const field of protobufFields(graph)) {
      if (!field.bytes) continue;
      if (field.number === ONNX_FIELDS.graphNode) {
        const node = readNode(field.bytes);
        nodes.set(node.name, node);
        if (node.opType === "Constant" && node.value !== undefined)
          for (const output of node.outputs) constants.set(output, node.value);
      }
    }
  } catch (error) {
    if (error instanceof EmbedkitError && error.code !== "MALFORMED_FILE") throw error;
    throw unsupported(`the ONNX protobuf is malformed (${(error as Error).message})`);
  }
  const payload = (location: OnnxInitializerLocation): Uint8Array => {
    if (location.rawOffset === undefined || location.rawLength === undefined)
      throw unsupported(`initializer ${location.name} has no raw_data (external or typed storage)`);
    return bytes.subarray(location.rawOffset, location.rawOffset + location.rawLength);
  };
  const initializer = (name: string): { dims: number[]; values: Float32Array } => {
    const location = initializers.get(name);
    if (location === undefined) throw unsupported(`initializer ${name} is missing`);
    if (location.dataType !== ONNX_TYPES.float)
      throw unsupported(`initializer ${name} is not float32 (a quantized graph?)`);
    const raw = payload(location);
    if (raw.length !== location.elements * 4)
      throw unsupported(`initializer ${name} has ${raw.length} bytes for ${location.elements} floats`);
    return { dims: [...location.dims], values: float32FromLittleEndian(raw) };
  };
  // A scalar stored as an initializer rather than a Constant node.
  const initializerScalar = (location: OnnxInitializerLocation): number => {
    const raw = payload(location);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (location.dataType === ONNX_TYPES.float && raw.length >= 4) return view.getFloat32(0, true);
    if (location.dataType === ONNX_TYPES.int64 && raw.length >= 8) return Number(view.getBigInt64(0, true));
    throw unsupported(`constant ${location.name} has data type ${location.dataType}`);
  };
  const constantInput = (nodeName: string, index: number): number => {
    const node = nodes.get(nodeName);
    const input = node?.inputs[index];
    const tensor = input === undefined ? undefined : constants.get(input);
    if (tensor !== undefined) return scalarOf(tensor);
    const location = input === undefined ? undefined : initializers.get(input);
    if (location === undefined) throw unsupported(`node ${nodeName} has no constant input ${index}`);
    return initializerScalar(location);
  };
  let layers = 0;
  while (nodes.has(`/encoder/layer.${layers}/attention/self/query/MatMul`)) layers++;
  if (layers === 0) throw unsupported("no /encoder/layer.N/attention nodes were found");

  const weights = new Map<string, BertWeight>();
  const add = (role: string, name: string): void => {
    const tensor = initializer(name);
    weights.set(role, { onnxName: name, shape: tensor.dims, values: tensor.values });
  };
  for (const [role, name] of Object.entries(EMBEDDING_INITIALIZERS)) add(role, name);
  for (let layer = 0; layer < layers; layer++) {
    for (const [role, nodeSuffix] of Object.entries(LAYER_MATMULS)) {
      const node = nodes.get(`/encoder/layer.${layer}/${nodeSuffix}`);
      const weightName = node?.inputs.find((input) => initializers.has(input));
      if (weightName === undefined) throw unsupported(`layer ${layer} ${nodeSuffix} has no weight`);
      add(`layer.${layer}.${role}`, weightName);
    }
    for (const [role, name] of Object.entries(LAYER_INITIALIZERS))
      add(`layer.${layer}.${role}`, `encoder.layer.${layer}.${name}`);
  }
  const word = weights.get("embeddings.word") as BertWeight;
  const [vocabSize, hidden] = word.shape as [number, number];
  const intermediate = (weights.get("layer.0.intermediate.weight") as BertWeight).shape[1] as number;
  // The reshape to [batch, tokens, heads, headSize] concatenates two constants.
  const heads = constantInput("/encoder/layer.0/attention/self/Concat", 2);
  const headSize = constantInput("/encoder/layer.0/attention/self/Concat", 3);
  if (heads * headSize !== hidden) throw unsupported(`${heads} heads × ${headSize} ≠ hidden size ${hidden}`);
  const layerNormEpsilon = constantInput("/embeddings/LayerNorm/Add", 1);
  if (!nodes.has("/encoder/layer.0/intermediate/intermediate_act_fn/Erf"))
    throw unsupported("the feed-forward activation is not the exact (erf) GELU");
  return {
    config: {
      vocabSize,
      hidden,
      layers,
      heads,
      intermediate,
      maxPositions: (weights.get("embeddings.position") as BertWeight).shape[0] as number,
      typeVocabSize: (weights.get("embeddings.type") as BertWeight).shape[0] as number,
      layerNormEpsilon,
    },
    weights,
  };
}

/** Read a BERT encoder from an ONNX file. @see parseOnnxBert */
export async function readOnnxBert(path: string): Promise<OnnxBert> {
  return parseOnnxBert(new Uint8Array(await readFile(path)), path);
}
