/**
 * @module models/onnx-initializers
 * Find the initializers (weight tensors) of an ONNX model on its protobuf
 * bytes: name, shape, element type and where the tensor's `raw_data` payload
 * sits in the file. Fine-tuning reads the float32 weights from here and writes
 * trained ones back in place (same shape ⇒ same byte length, so the rest of the
 * file is copied unchanged). Tensors stored as typed repeated fields
 * (`float_data`) or in external files are reported but have no `raw_data` range.
 */
import { readFile } from "node:fs/promises";
import { EmbedkitError } from "../errors.js";
import { float32FromLittleEndian } from "../vectors/codec.js";
import { ONNX_DATA_LOCATION_EXTERNAL, ONNX_FIELDS } from "./onnx-proto.js";
import { ONNX_TYPES } from "./onnx-writer.js";
import { protobufFields } from "./protobuf.js";

/** Where and what one initializer is. */
export interface OnnxInitializerLocation {
  readonly name: string;
  readonly dims: readonly number[];
  /** ONNX `TensorProto.DataType` (1 = float32, 7 = int64, …). */
  readonly dataType: number;
  /** Number of elements (product of `dims`). */
  readonly elements: number;
  /** Byte offset of the `raw_data` payload in the model file; `undefined` when stored otherwise. */
  readonly rawOffset?: number;
  /** Byte length of the `raw_data` payload. */
  readonly rawLength?: number;
  /** The tensor's data lives in an external file. */
  readonly external: boolean;
}

/** A float32 initializer with its values. */
export interface OnnxFloatInitializer {
  readonly dims: readonly number[];
  readonly values: Float32Array;
}

function malformed(path: string, cause: unknown): EmbedkitError {
  return new EmbedkitError(
    "MALFORMED_FILE",
    `${path} is not a readable ONNX model: ${(cause as Error).message}. Re-pull the model (embedkit models pull --force).`,
    { cause, details: { path } },
  );
}

function packedVarints(bytes: Uint8Array): number[] {
  const out: number[] = [];
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
  return out;
}

function locateTensor(tensor: Uint8Array, fileOffset: number): OnnxInitializerLocation {
  const dims: number[] = [];
  let name = "";
  let dataType = 0;
  let rawOffset: number | undefined;
  let rawLength: number | undefined;
  let external = false;
  for (const field of protobufFields(tensor)) {
    if (field.number === ONNX_FIELDS.tensorDims) {
      if (field.value !== undefined) dims.push(field.value);
      else if (field.bytes) dims.push(...packedVarints(field.bytes));
    } else if (field.number === ONNX_FIELDS.tensorDataType && field.value !== undefined)
      dataType = field.value;
    else if (field.number === ONNX_FIELDS.tensorName && field.bytes)
      name = new TextDecoder().decode(field.bytes);
    else if (field.number === ONNX_FIELDS.tensorRawData && field.bytes) {
      rawOffset = fileOffset + field.bytes.byteOffset - tensor.byteOffset;
      rawLength = field.bytes.length;
    } else if (field.number === ONNX_FIELDS.tensorDataLocation && field.value === ONNX_DATA_LOCATION_EXTERNAL)
      external = true;
  }
  const elements = dims.reduce((product, dim) => product * dim, 1);
  return {
    name,
    dims,
    dataType,
    elements,
    ...(rawOffset === undefined || rawLength === undefined ? {} : { rawOffset, rawLength }),
    external,
  };
}

/**
 * Every initializer of an ONNX model given as bytes, by name, with the file
 * offset of its `raw_data`.
 * @throws EmbedkitError MALFORMED_FILE when the bytes are not an ONNX model (`path` names it)
 */
export function locateOnnxInitializers(
  model: Uint8Array,
  path = "ONNX model",
): Map<string, OnnxInitializerLocation> {
  const found = new Map<string, OnnxInitializerLocation>();
  try {
    let graph: Uint8Array | undefined;
    for (const field of protobufFields(model))
      if (field.number === ONNX_FIELDS.modelGraph && field.bytes) graph = field.bytes;
    if (graph === undefined) throw new Error("no graph field");
    for (const field of protobufFields(graph)) {
      if (field.number !== ONNX_FIELDS.graphInitializer || field.bytes === undefined) continue;
      const location = locateTensor(field.bytes, field.bytes.byteOffset - model.byteOffset);
      found.set(location.name, location);
    }
  } catch (cause) {
    throw malformed(path, cause);
  }
  return found;
}

/**
 * The float32 initializers of the ONNX model at `path` (values copied out, little-endian),
 * keyed by initializer name — the names and layouts a fine-tuning engine must use.
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE
 */
export async function readOnnxInitializers(path: string): Promise<Map<string, OnnxFloatInitializer>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new EmbedkitError(
      "FILE_NOT_FOUND",
      `Cannot read ONNX model ${path}: ${(cause as Error).message}.`,
      {
        cause,
        details: { path },
      },
    );
  }
  const out = new Map<string, OnnxFloatInitializer>();
  for (const [name, location] of locateOnnxInitializers(bytes, path)) {
    if (location.dataType !== ONNX_TYPES.float || location.rawOffset === undefined) continue;
    if (location.rawLength !== location.elements * 4) {
      throw malformed(
        path,
        new Error(`initializer ${name} has ${location.rawLength} bytes for ${location.elements} floats`),
      );
    }
    const values = float32FromLittleEndian(
      bytes.subarray(location.rawOffset, location.rawOffset + location.elements * 4),
    );
    out.set(name, { dims: location.dims, values });
  }
  return out;
}
