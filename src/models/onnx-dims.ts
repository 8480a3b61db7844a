/**
 * @module models/onnx-dims
 * Read the output width of a transformer ONNX graph (the `384` in
 * `last_hidden_state: [batch, tokens, 384]`) straight from the protobuf, so a
 * local model folder without `config.json` still gets the right `dims`. A tiny
 * protobuf walk (`protobuf.ts`: length-delimited fields are viewed, never copied)
 * instead of a protobuf dependency.
 */
import { readFile } from "node:fs/promises";
import { protobufChild as child, protobufFields as fields } from "./protobuf.js";

// Field numbers from onnx.proto3.
const MODEL_GRAPH = 7;
const GRAPH_OUTPUT = 12;
const VALUE_INFO_NAME = 1;
const VALUE_INFO_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;

/** Shape of a ValueInfoProto: numbers for fixed dims, `undefined` for symbolic ones. */
function shapeOf(valueInfo: Uint8Array): (number | undefined)[] {
  const type = child(valueInfo, VALUE_INFO_TYPE);
  const tensor = type && child(type, TYPE_TENSOR);
  const shape = tensor && child(tensor, TENSOR_SHAPE);
  if (shape === undefined) return [];
  const dims: (number | undefined)[] = [];
  for (const field of fields(shape)) {
    if (field.number !== SHAPE_DIM || !field.bytes) continue;
    let value: number | undefined;
    for (const dim of fields(field.bytes)) if (dim.number === DIM_VALUE) value = dim.value;
    dims.push(value);
  }
  return dims;
}

/**
 * The hidden size of a transformer ONNX file: the last dim of `last_hidden_state`,
 * or of the first rank-3 output with a fixed last dim. `undefined` when the graph
 * does not say (or the file is not ONNX).
 */
export async function readOnnxHiddenSize(path: string): Promise<number | undefined> {
  const bytes = new Uint8Array(await readFile(path));
  try {
    const graph = child(bytes, MODEL_GRAPH);
    if (graph === undefined) return undefined;
    let fallback: number | undefined;
    for (const field of fields(graph)) {
      if (field.number !== GRAPH_OUTPUT || !field.bytes) continue;
      const nameBytes = child(field.bytes, VALUE_INFO_NAME);
      const name = nameBytes ? new TextDecoder().decode(nameBytes) : "";
      const shape = shapeOf(field.bytes);
      const last = shape.length === 3 ? shape[2] : undefined;
      if (name === "last_hidden_state" && last !== undefined) return last;
      fallback ??= last;
    }
    return fallback;
  } catch {
    return undefined;
  }
}
