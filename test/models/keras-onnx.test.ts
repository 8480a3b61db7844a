import type { io } from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTensorFlow, type TensorFlow } from "../../src/embed/media/image/tfjs-runtime.js";
import { EmbedkitError } from "../../src/errors.js";
import { convertKerasToOnnx } from "../../src/models/keras-onnx.js";
import { encodeOnnxModel } from "../../src/models/onnx-writer.js";
import { decodeTfjsWeights, type TfjsWeightEntry } from "../../src/models/tfjs-layers.js";
import { createRandom } from "../../src/vectors/random.js";

/**
 * A small Keras functional model that exercises every converter path the
 * MobileNetV2 test does not: TensorFlow's asymmetric SAME padding on a stride-2
 * convolution with bias and a fused relu, a depthwise convolution with
 * depth_multiplier 2, a batch normalization that cannot be folded (after Add),
 * a non-global AveragePooling2D, a Flatten of a 2×2 map (channel order), and a
 * softmax Dense head.
 */
function layer(name: string, className: string, config: Record<string, unknown>, inputs: string[]) {
  return {
    name,
    class_name: className,
    config: { name, ...config },
    inbound_nodes: inputs.length === 0 ? [] : [inputs.map((input) => [input, 0, 0, {}])],
  };
}

const LAYERS = [
  layer("input_1", "InputLayer", { batch_input_shape: [null, 8, 8, 3], dtype: "float32" }, []),
  layer(
    "conv_a",
    "Conv2D",
    {
      filters: 4,
      kernel_size: [3, 3],
      strides: [2, 2],
      padding: "same",
      dilation_rate: [1, 1],
      activation: "relu",
      use_bias: true,
    },
    ["input_1"],
  ),
  layer("bn_a", "BatchNormalization", { axis: -1, epsilon: 0.001, center: true, scale: true }, ["conv_a"]),
  layer(
    "dw",
    "DepthwiseConv2D",
    {
      kernel_size: [3, 3],
      strides: [1, 1],
      padding: "same",
      depth_multiplier: 2,
      activation: "linear",
      use_bias: true,
    },
    ["bn_a"],
  ),
  layer("relu6", "ReLU", { max_value: 6, negative_slope: 0, threshold: 0 }, ["dw"]),
  layer(
    "conv_b",
    "Conv2D",
    {
      filters: 8,
      kernel_size: [1, 1],
      strides: [1, 1],
      padding: "valid",
      activation: "linear",
      use_bias: false,
    },
    ["relu6"],
  ),
  layer("add", "Add", {}, ["relu6", "conv_b"]),
  layer("bn_b", "BatchNormalization", { axis: -1, epsilon: 0.001, center: true, scale: true }, ["add"]),
  layer("pool", "AveragePooling2D", { pool_size: [2, 2], strides: [2, 2], padding: "valid" }, ["bn_b"]),
  layer("flat", "Flatten", {}, ["pool"]),
  layer("drop", "Dropout", { rate: 0.5 }, ["flat"]),
  layer("dense", "Dense", { units: 5, activation: "softmax", use_bias: true }, ["drop"]),
];

const TOPOLOGY = {
  keras_version: "2.2.4",
  backend: "tensorflow",
  model_config: {
    class_name: "Model",
    config: {
      name: "tiny",
      layers: LAYERS,
      input_layers: [["input_1", 0, 0]],
      output_layers: [["dense", 0, 0]],
    },
  },
};

const WEIGHT_SHAPES: Array<[string, number[]]> = [
  ["conv_a/kernel", [3, 3, 3, 4]],
  ["conv_a/bias", [4]],
  ["bn_a/gamma", [4]],
  ["bn_a/beta", [4]],
  ["bn_a/moving_mean", [4]],
  ["bn_a/moving_variance", [4]],
  ["dw/depthwise_kernel", [3, 3, 4, 2]],
  ["dw/bias", [8]],
  ["conv_b/kernel", [1, 1, 8, 8]],
  ["bn_b/gamma", [8]],
  ["bn_b/beta", [8]],
  ["bn_b/moving_mean", [8]],
  ["bn_b/moving_variance", [8]],
  ["dense/kernel", [32, 5]],
  ["dense/bias", [5]],
];

let tf: TensorFlow;
let weightSpecs: TfjsWeightEntry[];
let weightData: Uint8Array;
let input: Float32Array;

beforeAll(async () => {
  tf = await loadTensorFlow("cpu");
  const random = createRandom(5);
  weightSpecs = WEIGHT_SHAPES.map(([name, shape]) => ({ name, shape, dtype: "float32" }));
  const values = WEIGHT_SHAPES.flatMap(([name, shape]) =>
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () =>
      name.endsWith("variance") ? 0.5 + random.next() : random.gaussian() * 0.5,
    ),
  );
  weightData = new Uint8Array(Float32Array.from(values).buffer);
  input = Float32Array.from({ length: 2 * 8 * 8 * 3 }, () => random.next() * 2);
});

async function tfjsOutput(outputLayer: string): Promise<Float32Array> {
  const full = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: TOPOLOGY,
      weightSpecs: weightSpecs as io.WeightsManifestEntry[],
      weightData: weightData.slice().buffer,
    }),
  );
  const layerOutput = full.getLayer(outputLayer).output as Parameters<typeof tf.model>[0]["outputs"];
  const model = tf.model({ inputs: full.inputs, outputs: layerOutput });
  const result = model.predict(tf.tensor4d(input, [2, 8, 8, 3])) as ReturnType<typeof tf.tensor>;
  const data = (await result.data()) as Float32Array;
  full.dispose();
  return data;
}

async function onnxOutput(outputLayer: string): Promise<Float32Array> {
  const weights = decodeTfjsWeights(
    { json: { modelTopology: TOPOLOGY, weightsManifest: [] }, weightSpecs, weightData },
    "tiny",
  );
  const graph = convertKerasToOnnx(TOPOLOGY, weights, { label: "tiny", outputLayer });
  const session = await ort.InferenceSession.create(encodeOnnxModel(graph));
  const result = await session.run({ pixels: new ort.Tensor("float32", input, [2, 8, 8, 3]) });
  await session.release();
  return result.features?.data as Float32Array;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

function conversionError(topology: unknown, outputLayer?: string): EmbedkitError {
  const weights = decodeTfjsWeights(
    { json: { modelTopology: topology, weightsManifest: [] }, weightSpecs, weightData },
    "tiny",
  );
  try {
    convertKerasToOnnx(topology, weights, {
      label: "tiny",
      ...(outputLayer === undefined ? {} : { outputLayer }),
    });
  } catch (error) {
    if (EmbedkitError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("conversion did not fail");
}

describe("Keras → ONNX converter against TF.js on a small model", () => {
  it("matches TF.js at the flattened features (SAME stride 2, depthwise ×2, unfoldable BN, 2×2 average pool)", async () => {
    const [expected, actual] = [await tfjsOutput("flat"), await onnxOutput("flat")];
    expect(actual.length).toBe(2 * 32);
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-4);
  });

  it("matches TF.js at the softmax head (Dense, Dropout skipped)", async () => {
    const [expected, actual] = [await tfjsOutput("dense"), await onnxOutput("dense")];
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-5);
  });

  it("converts a Sequential model (input shape on its first layer, global average pooling)", async () => {
    const sequential = {
      model_config: {
        class_name: "Sequential",
        config: {
          name: "seq",
          layers: [
            {
              class_name: "Conv2D",
              config: {
                name: "conv_a",
                batch_input_shape: [null, 8, 8, 3],
                filters: 4,
                kernel_size: [3, 3],
                strides: [2, 2],
                padding: "same",
                activation: "relu",
                use_bias: true,
              },
            },
            { class_name: "GlobalAveragePooling2D", config: { name: "gap" } },
            { class_name: "Dense", config: { name: "head", units: 3, activation: "linear", use_bias: true } },
          ],
        },
      },
    };
    const specs: TfjsWeightEntry[] = [
      { name: "conv_a/kernel", shape: [3, 3, 3, 4], dtype: "float32" },
      { name: "conv_a/bias", shape: [4], dtype: "float32" },
      { name: "head/kernel", shape: [4, 3], dtype: "float32" },
      { name: "head/bias", shape: [3], dtype: "float32" },
    ];
    const random = createRandom(9);
    const data = new Uint8Array(
      Float32Array.from({ length: 108 + 4 + 12 + 3 }, () => random.gaussian()).buffer,
    );
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: sequential,
        weightSpecs: specs as io.WeightsManifestEntry[],
        weightData: data.slice().buffer,
      }),
    );
    const expected = (await (
      model.predict(tf.tensor4d(input, [2, 8, 8, 3])) as ReturnType<typeof tf.tensor>
    ).data()) as Float32Array;
    model.dispose();
    const weights = decodeTfjsWeights(
      { json: { modelTopology: sequential, weightsManifest: [] }, weightSpecs: specs, weightData: data },
      "seq",
    );
    const session = await ort.InferenceSession.create(
      encodeOnnxModel(convertKerasToOnnx(sequential, weights, { label: "seq" })),
    );
    const actual = (await session.run({ pixels: new ort.Tensor("float32", input, [2, 8, 8, 3]) })).features
      ?.data as Float32Array;
    await session.release();
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-4);
  });

  it("refuses a layer it does not know with CORRUPT_MODEL naming the layer and the fallback", () => {
    const topology = structuredClone(TOPOLOGY);
    (topology.model_config.config.layers[6] as { class_name: string }).class_name = "Multiply";
    const error = conversionError(topology);
    expect(error.code).toBe("CORRUPT_MODEL");
    expect(error.message).toMatch(/layer "add" \(Multiply\).*runtime: "tfjs"/);
  });

  it("refuses an output layer that does not exist or is not a flat vector", () => {
    expect(conversionError(TOPOLOGY, "nope").message).toMatch(/has no layer "nope"/);
    expect(conversionError(TOPOLOGY, "pool").message).toMatch(/not a flat feature vector/);
  });

  it("refuses weights that run past the shards with CORRUPT_MODEL", () => {
    let error: unknown;
    try {
      decodeTfjsWeights(
        {
          json: { modelTopology: TOPOLOGY, weightsManifest: [] },
          weightSpecs,
          weightData: weightData.subarray(0, 100),
        },
        "tiny",
      );
    } catch (caught) {
      error = caught;
    }
    expect(EmbedkitError.isInstance(error) && error.code).toBe("CORRUPT_MODEL");
  });
});
