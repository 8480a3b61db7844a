/**
 * @module models/onnx-writer
 * Build small ONNX graphs from TypeScript: a protobuf encoder for the handful
 * of `onnx.proto3` messages a graph needs (model, graph, node, attribute,
 * tensor, value info). Used to turn weights read from another format (the
 * GE2E speaker encoder's PyTorch checkpoint; TF.js Keras image models through
 * `keras-onnx.ts`: Conv with `group`, Clip, Add, GlobalAveragePool, Gemm…) into
 * a graph onnxruntime runs, and by `scripts/` to generate tiny random-weight
 * fixture models with a real model's input/output signature. Operators are
 * plain {@link OnnxNode}s with attributes, so a new op needs no change here.
 * Like `onnx-dims.ts`, hand-written instead of a protobuf dependency: only
 * writing, only these messages.
 */

/** ONNX tensor element types used here (TensorProto.DataType). */
export const ONNX_TYPES = Object.freeze({ float: 1, int32: 6, int64: 7 } as const);

/** A dimension: a fixed size or a symbolic name (`"batch"`). */
export type OnnxDim = number | string;

/** A graph input or output. */
export interface OnnxValueInfo {
  readonly name: string;
  readonly type: keyof typeof ONNX_TYPES;
  readonly shape: readonly OnnxDim[];
}

/** A constant tensor stored in the graph. */
export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

/** An attribute value: int, float, string, ints or floats. */
export type OnnxAttribute =
  | number
  | string
  | readonly number[]
  | { readonly float: number }
  | { readonly floats: readonly number[] };

/** One operator call. */
export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
  /** Operator domain (default ONNX). */
  readonly domain?: string;
}

/** A whole model. */
export interface OnnxGraph {
  readonly name: string;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly initializers: readonly OnnxInitializer[];
  readonly nodes: readonly OnnxNode[];
  /** Default ONNX opset. @default 17 */
  readonly opset?: number;
  readonly producer?: string;
  /** Free-form key/value metadata stored in the model. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Growable byte buffer with protobuf primitives. */
class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  varint(value: number | bigint): void {
    let rest = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      let byte = Number(rest & 0x7fn);
      rest >>= 7n;
      if (rest !== 0n) byte |= 0x80;
      out.push(byte);
    } while (rest !== 0n);
    this.push(Uint8Array.from(out));
  }

  tag(field: number, wire: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): void {
    this.tag(field, 0);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, 5);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, 2);
    this.varint(value.length);
    this.push(value);
  }

  string(field: number, value: string): void {
    this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (writer: Writer) => void): void {
    const inner = new Writer();
    build(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    this.chunks = [out];
    return out;
  }
}

function writeValueInfo(writer: Writer, value: OnnxValueInfo): void {
  writer.string(1, value.name);
  writer.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ONNX_TYPES[value.type]);
      tensor.message(2, (shape) => {
        for (const dim of value.shape) {
          shape.message(1, (d) => (typeof dim === "number" ? d.int(1, dim) : d.string(2, dim)));
        }
      });
    }),
  );
}

function writeInitializer(writer: Writer, tensor: OnnxInitializer): void {
  for (const dim of tensor.dims) writer.int(1, dim);
  writer.int(2, tensor.data instanceof Float32Array ? ONNX_TYPES.float : ONNX_TYPES.int64);
  writer.string(8, tensor.name);
  // raw_data is little-endian, which is the host order on every platform Node supports here.
  writer.bytes(9, new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
}

// AttributeProto.AttributeType
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_STRING = 3;
const ATTRIBUTE_FLOATS = 6;
const ATTRIBUTE_INTS = 7;

function writeAttribute(writer: Writer, name: string, value: OnnxAttribute): void {
  writer.string(1, name);
  if (typeof value === "number") {
    writer.int(3, value);
    writer.int(20, ATTRIBUTE_INT);
  } else if (typeof value === "string") {
    writer.bytes(4, new TextEncoder().encode(value));
    writer.int(20, ATTRIBUTE_STRING);
  } else if (Array.isArray(value)) {
    for (const item of value as readonly number[]) writer.int(8, item);
    writer.int(20, ATTRIBUTE_INTS);
  } else if ("float" in (value as object)) {
    writer.float(2, (value as { float: number }).float);
    writer.int(20, ATTRIBUTE_FLOAT);
  } else {
    for (const item of (value as { floats: readonly number[] }).floats) writer.float(7, item);
    writer.int(20, ATTRIBUTE_FLOATS);
  }
}

function writeNode(writer: Writer, node: OnnxNode, index: number): void {
  for (const input of node.inputs) writer.string(1, input);
  for (const output of node.outputs) writer.string(2, output);
  writer.string(3, node.name ?? `${node.op}_${index}`);
  writer.string(4, node.op);
  for (const [name, value] of Object.entries(node.attributes ?? {})) {
    writer.message(5, (a) => writeAttribute(a, name, value));
  }
  if (node.domain !== undefined) writer.string(7, node.domain);
}

/**
 * Encode graph fields as they appear inside a `GraphProto` (each with its key:
 * `node` = 1, `input` = 11), for splicing into the bytes of an existing graph
 * (see `use-graph.ts`) without re-encoding the rest of it.
 */
export function encodeOnnxGraphFields(fields: {
  readonly nodes?: readonly OnnxNode[];
  readonly inputs?: readonly OnnxValueInfo[];
}): { readonly nodes: Uint8Array; readonly inputs: Uint8Array } {
  const nodes = new Writer();
  (fields.nodes ?? []).forEach((node, index) => {
    nodes.message(1, (n) => writeNode(n, node, index));
  });
  const inputs = new Writer();
  for (const input of fields.inputs ?? []) inputs.message(11, (v) => writeValueInfo(v, input));
  return { nodes: nodes.finish(), inputs: inputs.finish() };
}

/** Encode one length-delimited protobuf field (key, length, payload) from its parts. */
export function encodeProtobufField(number: number, payload: Uint8Array): Uint8Array {
  const writer = new Writer();
  writer.bytes(number, payload);
  return writer.finish();
}

/**
 * Serialize a graph as an ONNX model (`ModelProto` bytes, IR version 8) that
 * onnxruntime can load from memory.
 *
 * @example
 * ```ts
 * const bytes = encodeOnnxModel({
 *   name: "double", inputs: [{ name: "x", type: "float", shape: ["n"] }],
 *   outputs: [{ name: "y", type: "float", shape: ["n"] }],
 *   initializers: [{ name: "two", dims: [], data: Float32Array.of(2) }],
 *   nodes: [{ op: "Mul", inputs: ["x", "two"], outputs: ["y"] }],
 * });
 * const session = await InferenceSession.create(bytes);
 * ```
 */
export function encodeOnnxModel(graph: OnnxGraph): Uint8Array {
  const model = new Writer();
  model.int(1, 8); // ir_version
  model.string(2, graph.producer ?? "embedkit");
  model.message(7, (g) => {
    graph.nodes.forEach((node, index) => {
      g.message(1, (n) => writeNode(n, node, index));
    });
    g.string(2, graph.name);
    for (const tensor of graph.initializers) g.message(5, (t) => writeInitializer(t, tensor));
    for (const input of graph.inputs) g.message(11, (v) => writeValueInfo(v, input));
    for (const output of graph.outputs) g.message(12, (v) => writeValueInfo(v, output));
  });
  model.message(8, (opset) => {
    opset.string(1, "");
    opset.int(2, graph.opset ?? 17);
  });
  for (const [key, value] of Object.entries(graph.metadata ?? {})) {
    model.message(14, (entry) => {
      entry.string(1, key);
      entry.string(2, value);
    });
  }
  return model.finish();
}
