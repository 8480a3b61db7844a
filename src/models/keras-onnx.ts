/**
 * @module models/keras-onnx
 * Convert a Keras functional model (as a TF.js Layers `model.json` describes
 * it, with weights from {@link decodeTfjsWeights}) into an ONNX graph that
 * onnxruntime runs multi-threaded. Written for convolutional image networks of
 * the MobileNet family and kept to the layers they use:
 *
 * | Keras layer | ONNX |
 * |---|---|
 * | `InputLayer` (NHWC image) | graph input `[batch, H, W, C]` + `Transpose` to NCHW |
 * | `ZeroPadding2D` | folded into the next convolution's `pads` |
 * | `Conv2D` (incl. `groups`), `DepthwiseConv2D` | `Conv` (depthwise: `group = channels`), kernels re-laid from HWIO |
 * | `BatchNormalization` | folded into the preceding convolution's weights and bias; `BatchNormalization` otherwise |
 * | `ReLU` / activation `relu`, `relu6` | `Relu`, `Clip(0, max_value)` |
 * | `Add` | `Add` |
 * | `AveragePooling2D` over the whole map, `GlobalAveragePooling2D` | `GlobalAveragePool` (`AveragePool` otherwise) |
 * | `Flatten` | `Flatten` (after a `Transpose` back to NHWC when the map is larger than 1×1) |
 * | `Dense` | `Gemm` (+ activation) |
 * | `Dropout` | nothing (inference) |
 *
 * Anything else is refused with `CORRUPT_MODEL` naming the layer, so a model
 * the converter does not understand is never run half-converted. Only the
 * layers the requested output depends on are converted (e.g. up to a feature
 * layer before a classification head).
 */
import { EmbedkitError } from "../errors.js";
import type { OnnxGraph, OnnxInitializer, OnnxNode } from "./onnx-writer.js";
import type { FloatWeight } from "./tfjs-layers.js";

/** Bumped whenever the produced graph changes, so cached conversions are rebuilt. */
export const KERAS_ONNX_CONVERTER_VERSION = "keras-onnx/2";

/** Options of {@link convertKerasToOnnx}. */
export interface KerasToOnnxOptions {
  /** Layer whose output becomes the graph output. @default the model's first output layer */
  readonly outputLayer?: string;
  /** Name of the graph input (NHWC float32 pixels). @default "pixels" */
  readonly inputName?: string;
  /** Name of the graph output. @default "features" */
  readonly outputName?: string;
  /** For messages (a model id). */
  readonly label: string;
}

interface KerasLayer {
  readonly name: string;
  readonly class_name: string;
  readonly config: Record<string, unknown>;
  readonly inbound_nodes?: unknown;
}

/** A tensor flowing between layers: an image map `[C, H, W]` or a feature vector `[F]`. */
interface Value {
  readonly name: string;
  readonly shape: readonly number[];
  /** Set when this value is a convolution output BatchNormalization may fold into. */
  readonly conv?: ConvRecord;
  /** Set for a `ZeroPadding2D` output: the padded source and [top, bottom, left, right]. */
  readonly padded?: { readonly source: Value; readonly pads: readonly [number, number, number, number] };
}

interface ConvRecord {
  weight: Float32Array;
  bias: Float32Array;
  readonly outChannels: number;
  /** ONNX kernel dims [out, in / group, kh, kw]. */
  readonly dims: readonly number[];
  readonly weightName: string;
  readonly biasName: string;
}

function unsupported(label: string, layer: KerasLayer, problem: string): EmbedkitError {
  return new EmbedkitError(
    "CORRUPT_MODEL",
    `${label}: cannot convert layer "${layer.name}" (${layer.class_name}) to ONNX: ${problem}. ` +
      'Use the TF.js runtime for this model (runtime: "tfjs").',
    { details: { model: label, layer: layer.name, className: layer.class_name } },
  );
}

function pair(value: unknown, fallback: number): [number, number] {
  if (Array.isArray(value)) return [Number(value[0] ?? fallback), Number(value[1] ?? value[0] ?? fallback)];
  if (typeof value === "number") return [value, value];
  return [fallback, fallback];
}

/** Inbound layer names of a layer (Keras 2 `inbound_nodes: [[[name, node, tensor, kwargs], ...]]`). */
function inboundNames(layer: KerasLayer): string[] {
  const nodes = layer.inbound_nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) return [];
  const first = nodes[0] as unknown;
  if (!Array.isArray(first)) return [];
  return first.map((entry) => (Array.isArray(entry) ? String(entry[0]) : String(entry)));
}

/** The layer list and output layer names of a TF.js `modelTopology` (functional or Sequential). */
function readTopology(topology: unknown, label: string): { layers: KerasLayer[]; outputs: string[] } {
  const root = topology as { model_config?: unknown; class_name?: unknown; config?: unknown } | null;
  const model = (root?.model_config ?? root) as {
    class_name?: string;
    config?: { layers?: KerasLayer[]; output_layers?: unknown[] } | KerasLayer[];
  } | null;
  const config = model?.config;
  const listed = Array.isArray(config) ? config : config?.layers;
  // Sequential exports may carry the name only inside `config`.
  const layers = listed?.map((layer) => ({ ...layer, name: layer.name ?? String(layer.config?.name) }));
  if (!Array.isArray(layers) || layers.length === 0) {
    throw new EmbedkitError("CORRUPT_MODEL", `${label}: the TF.js topology has no layers.`, {
      details: { model: label },
    });
  }
  if (model?.class_name === "Sequential") {
    // Sequential models list layers in order (the first one carrying batch_input_shape); chain them.
    const first = layers[0] as KerasLayer;
    const ordered: KerasLayer[] =
      first.class_name === "InputLayer"
        ? layers
        : [
            {
              name: `${first.name}_input`,
              class_name: "InputLayer",
              config: { batch_input_shape: first.config.batch_input_shape },
            },
            ...layers,
          ];
    const chained = ordered.map((layer, index) => ({
      ...layer,
      inbound_nodes: index === 0 ? [] : [[[(ordered[index - 1] as KerasLayer).name, 0, 0, {}]]],
    }));
    return { layers: chained, outputs: [(chained.at(-1) as KerasLayer).name] };
  }
  const outputs = (
    !Array.isArray(config) && Array.isArray(config?.output_layers) ? config.output_layers : []
  ).map((entry) => String((entry as unknown[])[0]));
  return { layers, outputs };
}

/**
 * Convert a Keras model to an ONNX graph (input NHWC float32 `[batch, H, W, C]`,
 * output `[batch, F]`), folding batch normalization and explicit zero padding
 * into the convolutions.
 *
 * @throws EmbedkitError CORRUPT_MODEL for an unsupported layer or configuration, a missing
 *   weight, or an output layer that does not exist or is not a flat feature vector
 * @example
 * ```ts
 * const files = await readTfjsModelFiles("model.json", (shard) => `${shard}.bin`);
 * const graph = convertKerasToOnnx(files.json.modelTopology, decodeTfjsWeights(files, "m"), {
 *   label: "m", outputLayer: "flatten_1",
 * });
 * const session = await ort.InferenceSession.create(encodeOnnxModel(graph));
 * ```
 */
export function convertKerasToOnnx(
  topology: unknown,
  weights: ReadonlyMap<string, FloatWeight>,
  options: KerasToOnnxOptions,
): OnnxGraph {
  const { label } = options;
  const { layers, outputs } = readTopology(topology, label);
  const byName = new Map(layers.map((layer) => [layer.name, layer]));
  const outputLayer = options.outputLayer ?? outputs[0];
  if (outputLayer === undefined || !byName.has(outputLayer)) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${label}: the model has no layer "${String(outputLayer)}". Its last layers are ${layers
        .slice(-5)
        .map((layer) => layer.name)
        .join(", ")}.`,
      { details: { model: label } },
    );
  }
  // Only the layers the output depends on, in the topology's (topological) order.
  const needed = new Set<string>();
  const stack = [outputLayer];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (needed.has(name)) continue;
    needed.add(name);
    const layer = byName.get(name);
    if (layer !== undefined) stack.push(...inboundNames(layer));
  }
  const consumers = new Map<string, number>();
  for (const layer of layers) {
    if (!needed.has(layer.name)) continue;
    for (const input of inboundNames(layer)) consumers.set(input, (consumers.get(input) ?? 0) + 1);
  }

  const inputName = options.inputName ?? "pixels";
  const outputName = options.outputName ?? "features";
  const nodes: OnnxNode[] = [];
  const initializers: OnnxInitializer[] = [];
  const convs: ConvRecord[] = [];
  const constants = new Map<number, string>();
  const values = new Map<string, Value>();
  let inputShape: readonly number[] | undefined;

  const constant = (value: number): string => {
    let name = constants.get(value);
    if (name === undefined) {
      name = `const_${constants.size}`;
      constants.set(value, name);
      initializers.push({ name, dims: [], data: Float32Array.of(value) });
    }
    return name;
  };
  const weight = (layer: KerasLayer, suffix: string): FloatWeight => {
    const found =
      weights.get(`${layer.name}/${suffix}`) ??
      [...weights.entries()].find(([name]) => name.endsWith(`/${layer.name}/${suffix}`))?.[1];
    if (found === undefined)
      throw unsupported(label, layer, `its weight "${layer.name}/${suffix}" is missing`);
    return found;
  };
  const activation = (layer: KerasLayer, input: string, kind: unknown, maxValue?: unknown): string => {
    if (kind === undefined || kind === null || kind === "linear") return input;
    const output = `${layer.name}/act`;
    if (kind === "relu" && (maxValue === undefined || maxValue === null)) {
      nodes.push({ op: "Relu", inputs: [input], outputs: [output] });
    } else if (kind === "relu" || kind === "relu6") {
      const max = kind === "relu6" ? 6 : Number(maxValue);
      nodes.push({ op: "Clip", inputs: [input, constant(0), constant(max)], outputs: [output] });
    } else if (kind === "softmax") {
      nodes.push({ op: "Softmax", inputs: [input], outputs: [output], attributes: { axis: -1 } });
    } else {
      throw unsupported(
        label,
        layer,
        `activation "${String(kind)}" is not supported (relu, relu6, softmax, linear)`,
      );
    }
    return output;
  };
  const single = (layer: KerasLayer): Value => {
    const names = inboundNames(layer);
    const value = names.length === 1 ? values.get(names[0] as string) : undefined;
    if (value === undefined)
      throw unsupported(label, layer, `expected one converted input, got ${names.join(", ")}`);
    if (value.padded !== undefined && !/Conv2D$/.test(layer.class_name)) {
      throw unsupported(label, layer, "only a convolution may follow ZeroPadding2D");
    }
    return value;
  };
  const requireMap = (layer: KerasLayer, value: Value): readonly [number, number, number] => {
    const shape = value.padded?.source.shape ?? value.shape;
    if (shape.length !== 3)
      throw unsupported(label, layer, `expected an image feature map, got shape [${shape}]`);
    return shape as [number, number, number];
  };

  for (const layer of layers) {
    if (!needed.has(layer.name)) continue;
    const config = layer.config;
    if (config.data_format !== undefined && config.data_format !== "channels_last") {
      throw unsupported(label, layer, `data_format ${String(config.data_format)} (only channels_last)`);
    }
    switch (layer.class_name) {
      case "InputLayer": {
        const shape = (config.batch_input_shape ?? config.batch_shape) as (number | null)[] | undefined;
        if (
          !Array.isArray(shape) ||
          shape.length !== 4 ||
          shape.slice(1).some((dim) => typeof dim !== "number")
        ) {
          throw unsupported(label, layer, `input shape [${String(shape)}] is not a fixed-size NHWC image`);
        }
        const [, height, width, channels] = shape as [null, number, number, number];
        inputShape = [height, width, channels];
        const nchw = `${layer.name}/nchw`;
        nodes.push({
          op: "Transpose",
          inputs: [inputName],
          outputs: [nchw],
          attributes: { perm: [0, 3, 1, 2] },
        });
        values.set(layer.name, { name: nchw, shape: [channels, height, width] });
        break;
      }
      case "ZeroPadding2D": {
        const source = single(layer);
        requireMap(layer, source);
        const raw = config.padding;
        const [[top, bottom], [left, right]] = Array.isArray(raw)
          ? [pair(raw[0], 0), pair(raw[1], 0)]
          : [pair(raw, 0), pair(raw, 0)];
        if ((consumers.get(layer.name) ?? 0) !== 1) {
          throw unsupported(
            label,
            layer,
            "its output feeds more than one layer (only folding into one convolution is supported)",
          );
        }
        values.set(layer.name, {
          name: layer.name,
          shape: source.shape,
          padded: { source, pads: [top, bottom, left, right] },
        });
        break;
      }
      case "Conv2D":
      case "DepthwiseConv2D": {
        const input = single(layer);
        const [channels, height, width] = requireMap(layer, input);
        const depthwise = layer.class_name === "DepthwiseConv2D";
        const [kh, kw] = pair(config.kernel_size, 1);
        const [sh, sw] = pair(config.strides, 1);
        const [dh, dw] = pair(config.dilation_rate, 1);
        const kernel = weight(layer, depthwise ? "depthwise_kernel" : "kernel");
        const groups = depthwise ? channels : Number(config.groups ?? 1);
        const inPerGroup = depthwise ? 1 : channels / groups;
        const multiplier = depthwise ? Number(config.depth_multiplier ?? 1) : 1;
        const outChannels = depthwise ? channels * multiplier : Number(config.filters);
        const expected = depthwise ? [kh, kw, channels, multiplier] : [kh, kw, inPerGroup, outChannels];
        if (kernel.shape.join() !== expected.join()) {
          throw unsupported(label, layer, `kernel shape [${kernel.shape}] does not match [${expected}]`);
        }
        // Keras HWIO (depthwise: H, W, C, multiplier) → ONNX OIHW (depthwise: C·multiplier, 1, H, W).
        const onnxWeight = new Float32Array(kernel.data.length);
        const lastDim = expected[3] as number;
        const thirdDim = expected[2] as number;
        for (let y = 0; y < kh; y++) {
          for (let x = 0; x < kw; x++) {
            for (let i = 0; i < thirdDim; i++) {
              for (let o = 0; o < lastDim; o++) {
                const from = ((y * kw + x) * thirdDim + i) * lastDim + o;
                const out = depthwise ? i * multiplier + o : o;
                const inner = depthwise ? 0 : i;
                const perOut = depthwise ? 1 : inPerGroup;
                onnxWeight[((out * perOut + inner) * kh + y) * kw + x] = kernel.data[from] as number;
              }
            }
          }
        }
        const bias =
          config.use_bias === false
            ? new Float32Array(outChannels)
            : Float32Array.from(weight(layer, "bias").data);
        let pads: [number, number, number, number];
        let inH = height;
        let inW = width;
        let source = input.name;
        if (input.padded !== undefined) {
          if (config.padding !== "valid")
            throw unsupported(label, layer, 'ZeroPadding2D before a "same" convolution');
          const [top, bottom, left, right] = input.padded.pads;
          pads = [top, left, bottom, right];
          inH += top + bottom;
          inW += left + right;
          source = input.padded.source.name;
        } else if (config.padding === "same") {
          // TensorFlow's SAME: the extra pixel goes after (bottom/right).
          const total = (size: number, k: number, s: number, d: number): number =>
            Math.max((Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0);
          const th = total(height, kh, sh, dh);
          const tw = total(width, kw, sw, dw);
          pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
          inH += th;
          inW += tw;
        } else if (config.padding === "valid") {
          pads = [0, 0, 0, 0];
        } else {
          throw unsupported(label, layer, `padding "${String(config.padding)}"`);
        }
        const outH = Math.floor((inH - ((kh - 1) * dh + 1)) / sh) + 1;
        const outW = Math.floor((inW - ((kw - 1) * dw + 1)) / sw) + 1;
        const record: ConvRecord = {
          weight: onnxWeight,
          bias,
          outChannels,
          dims: [outChannels, depthwise ? 1 : inPerGroup, kh, kw],
          weightName: `${layer.name}/W`,
          biasName: `${layer.name}/B`,
        };
        convs.push(record);
        const convOut = `${layer.name}/conv`;
        nodes.push({
          op: "Conv",
          inputs: [source, record.weightName, record.biasName],
          outputs: [convOut],
          attributes: {
            kernel_shape: [kh, kw],
            strides: [sh, sw],
            dilations: [dh, dw],
            pads,
            group: groups,
          },
        });
        const act = config.activation;
        const out = activation(layer, convOut, act);
        values.set(layer.name, {
          name: out,
          shape: [outChannels, outH, outW],
          ...(out === convOut ? { conv: record } : {}),
        });
        break;
      }
      case "BatchNormalization": {
        const input = single(layer);
        const axis = Number(config.axis ?? -1);
        const rank = input.shape.length + 1;
        if (axis !== -1 && axis !== rank - 1)
          throw unsupported(label, layer, `axis ${axis} (only the channel axis)`);
        const channels = input.shape[0] as number;
        const epsilon = Number(config.epsilon ?? 1e-3);
        const gamma = config.scale === false ? undefined : weight(layer, "gamma").data;
        const beta = config.center === false ? undefined : weight(layer, "beta").data;
        const mean = weight(layer, "moving_mean").data;
        const variance = weight(layer, "moving_variance").data;
        const scale = new Float32Array(channels);
        const shift = new Float32Array(channels);
        for (let c = 0; c < channels; c++) {
          const s = (gamma?.[c] ?? 1) / Math.sqrt((variance[c] as number) + epsilon);
          scale[c] = s;
          shift[c] = (beta?.[c] ?? 0) - (mean[c] as number) * s;
        }
        const inputs = inboundNames(layer);
        const conv = input.conv;
        if (conv !== undefined && (consumers.get(inputs[0] as string) ?? 0) === 1) {
          // y = s·(W∗x + b) + t  =  (s·W)∗x + (s·b + t)
          const perOut = conv.weight.length / conv.outChannels;
          for (let o = 0; o < conv.outChannels; o++) {
            const s = scale[o] as number;
            for (let k = 0; k < perOut; k++)
              conv.weight[o * perOut + k] = (conv.weight[o * perOut + k] as number) * s;
            conv.bias[o] = (conv.bias[o] as number) * s + (shift[o] as number);
          }
          values.set(layer.name, input);
        } else {
          const prefix = `${layer.name}/bn`;
          const ones = new Float32Array(channels).fill(1);
          initializers.push(
            { name: `${prefix}/scale`, dims: [channels], data: scale },
            { name: `${prefix}/shift`, dims: [channels], data: shift },
            { name: `${prefix}/mean`, dims: [channels], data: new Float32Array(channels) },
            { name: `${prefix}/var`, dims: [channels], data: ones },
          );
          nodes.push({
            op: "BatchNormalization",
            inputs: [input.name, `${prefix}/scale`, `${prefix}/shift`, `${prefix}/mean`, `${prefix}/var`],
            outputs: [layer.name],
            attributes: { epsilon: { float: 0 } },
          });
          values.set(layer.name, { name: layer.name, shape: input.shape });
        }
        break;
      }
      case "ReLU":
      case "Activation": {
        const input = single(layer);
        if (
          layer.class_name === "ReLU" &&
          (Number(config.negative_slope ?? 0) !== 0 || Number(config.threshold ?? 0) !== 0)
        ) {
          throw unsupported(label, layer, "negative_slope / threshold other than 0");
        }
        const kind = layer.class_name === "ReLU" ? "relu" : config.activation;
        const out = activation(
          layer,
          input.name,
          kind,
          layer.class_name === "ReLU" ? config.max_value : undefined,
        );
        values.set(layer.name, { name: out, shape: input.shape });
        break;
      }
      case "Add": {
        const inputs = inboundNames(layer).map((name) => values.get(name));
        if (inputs.length < 2 || inputs.some((value) => value === undefined || value.padded !== undefined)) {
          throw unsupported(label, layer, "expected two or more converted inputs");
        }
        let sum = (inputs[0] as Value).name;
        inputs.slice(1).forEach((value, index) => {
          const out = index === inputs.length - 2 ? layer.name : `${layer.name}/${index}`;
          nodes.push({ op: "Add", inputs: [sum, (value as Value).name], outputs: [out] });
          sum = out;
        });
        values.set(layer.name, { name: layer.name, shape: (inputs[0] as Value).shape });
        break;
      }
      case "AveragePooling2D":
      case "GlobalAveragePooling2D": {
        const input = single(layer);
        const [channels, height, width] = requireMap(layer, input);
        const global = layer.class_name === "GlobalAveragePooling2D";
        const [ph, pw] = global ? [height, width] : pair(config.pool_size, 2);
        const [sh, sw] = global ? [height, width] : pair(config.strides ?? config.pool_size, 2);
        if (!global && config.padding !== "valid")
          throw unsupported(label, layer, 'padding other than "valid"');
        const outH = Math.floor((height - ph) / sh) + 1;
        const outW = Math.floor((width - pw) / sw) + 1;
        const pooled = `${layer.name}/pool`;
        if (ph === height && pw === width) {
          nodes.push({ op: "GlobalAveragePool", inputs: [input.name], outputs: [pooled] });
        } else {
          nodes.push({
            op: "AveragePool",
            inputs: [input.name],
            outputs: [pooled],
            attributes: { kernel_shape: [ph, pw], strides: [sh, sw] },
          });
        }
        if (global) {
          nodes.push({ op: "Flatten", inputs: [pooled], outputs: [layer.name], attributes: { axis: 1 } });
          values.set(layer.name, { name: layer.name, shape: [channels] });
        } else {
          values.set(layer.name, { name: pooled, shape: [channels, outH, outW] });
        }
        break;
      }
      case "Flatten": {
        const input = single(layer);
        let source = input.name;
        const size = input.shape.reduce((product, dim) => product * dim, 1);
        if (input.shape.length === 3 && (input.shape[1] !== 1 || input.shape[2] !== 1)) {
          // Keras flattens NHWC: go back to channels-last first so the element order matches.
          source = `${layer.name}/nhwc`;
          nodes.push({
            op: "Transpose",
            inputs: [input.name],
            outputs: [source],
            attributes: { perm: [0, 2, 3, 1] },
          });
        }
        nodes.push({ op: "Flatten", inputs: [source], outputs: [layer.name], attributes: { axis: 1 } });
        values.set(layer.name, { name: layer.name, shape: [size] });
        break;
      }
      case "Dense": {
        const input = single(layer);
        if (input.shape.length !== 1)
          throw unsupported(label, layer, "Dense on a feature map (Flatten first)");
        const kernel = weight(layer, "kernel");
        const units = Number(config.units);
        if (kernel.shape.join() !== [input.shape[0], units].join()) {
          throw unsupported(
            label,
            layer,
            `kernel shape [${kernel.shape}] does not match [${input.shape[0]},${units}]`,
          );
        }
        const bias = config.use_bias === false ? new Float32Array(units) : weight(layer, "bias").data;
        initializers.push(
          { name: `${layer.name}/W`, dims: [...kernel.shape], data: kernel.data },
          { name: `${layer.name}/B`, dims: [units], data: bias },
        );
        const gemm = `${layer.name}/gemm`;
        nodes.push({
          op: "Gemm",
          inputs: [input.name, `${layer.name}/W`, `${layer.name}/B`],
          outputs: [gemm],
        });
        values.set(layer.name, { name: activation(layer, gemm, config.activation), shape: [units] });
        break;
      }
      case "Dropout":
        values.set(layer.name, single(layer));
        break;
      default:
        throw unsupported(label, layer, "this layer type is not supported by the converter");
    }
  }

  const result = values.get(outputLayer);
  if (result === undefined || inputShape === undefined || result.shape.length !== 1) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${label}: layer "${outputLayer}" gives shape [${String(result?.shape)}], not a flat feature vector; pick a pooled or flattened layer.`,
      { details: { model: label, layer: outputLayer } },
    );
  }
  for (const conv of convs) {
    initializers.push(
      {
        name: conv.weightName,
        dims: conv.dims,
        data: conv.weight,
      },
      { name: conv.biasName, dims: [conv.outChannels], data: conv.bias },
    );
  }
  nodes.push({ op: "Identity", inputs: [result.name], outputs: [outputName] });
  return {
    name: label,
    inputs: [{ name: inputName, type: "float", shape: ["batch", ...inputShape] }],
    outputs: [{ name: outputName, type: "float", shape: ["batch", result.shape[0] as number] }],
    initializers,
    nodes,
    opset: 17,
    producer: KERAS_ONNX_CONVERTER_VERSION,
    metadata: { converter: KERAS_ONNX_CONVERTER_VERSION, source: label, outputLayer },
  };
}
