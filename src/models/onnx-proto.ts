/**
 * @module models/onnx-proto
 * Field numbers of the `onnx.proto3` messages the hand-written ONNX readers walk
 * (`onnx-initializers.ts`, `train/encoder/onnx-bert.ts`), in one place. Element
 * types (TensorProto.DataType) are {@link ONNX_TYPES} in `onnx-writer.ts`.
 */

/** ModelProto, GraphProto, NodeProto, AttributeProto and TensorProto field numbers. */
export const ONNX_FIELDS = Object.freeze({
  modelGraph: 7,
  graphNode: 1,
  graphInitializer: 5,
  nodeInput: 1,
  nodeOutput: 2,
  nodeName: 3,
  nodeOpType: 4,
  nodeAttribute: 5,
  attributeTensor: 5,
  tensorDims: 1,
  tensorDataType: 2,
  tensorFloatData: 4,
  tensorInt64Data: 7,
  tensorName: 8,
  tensorRawData: 9,
  tensorDataLocation: 14,
} as const);

/** TensorProto.DataLocation value of a tensor stored in an external file. */
export const ONNX_DATA_LOCATION_EXTERNAL = 1;
