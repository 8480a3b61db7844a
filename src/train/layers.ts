/**
 * @module train/layers
 * Layers with hand-written forward and backward passes on `[batch, features]`
 * tensors: {@link createLinear} (PyTorch's `nn.Linear`: weight `[out, in]`,
 * init U(−1/√in, 1/√in)), ReLU, GELU (exact, erf form — PyTorch's default),
 * inverted dropout, and {@link createSequential} to chain them;
 * {@link createMlp} builds the usual classifier head. A layer keeps what its
 * last `forward` needs for `backward`, so call them in pairs (forward, then
 * backward on the same batch). `backward` *adds* to parameter gradients and
 * returns the gradient with respect to the layer's input.
 *
 * For sparse features there is {@link createEmbeddingBag} (a table row per
 * hashed feature id, summed — a sparse linear layer), and
 * {@link createColumnSum} runs layers on column blocks of one input and adds
 * their outputs (e.g. a dense head on encoder vectors + an embedding bag on
 * feature ids).
 *
 * Layers describe themselves as plain JSON ({@link LayerConfig}) so a model
 * can be saved and rebuilt with {@link createLayer}.
 */
import { EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";
import type { Random } from "../vectors/random.js";
import { createParameter, type Parameter } from "./parameter.js";
import type { Tensor } from "./tensor.js";

/** Per-call state of a forward pass. */
export interface ForwardContext {
  /** Training mode: dropout is active. Inference uses `false`. */
  readonly training: boolean;
  /** Source of randomness for dropout (required when training with dropout). */
  readonly random?: Random;
}

/** Options of {@link Layer.backward}. */
export interface BackwardOptions {
  /** Compute d(loss)/d(input). @default true */
  readonly inputGradient?: boolean;
}

/** Plain-JSON description of a layer (what checkpoints store). */
export type LayerConfig =
  | { readonly type: "linear"; readonly inputs: number; readonly outputs: number }
  | { readonly type: "relu" }
  | { readonly type: "gelu" }
  | { readonly type: "dropout"; readonly rate: number }
  | { readonly type: "sequential"; readonly layers: readonly LayerConfig[] }
  | {
      readonly type: "embedding-bag";
      readonly buckets: number;
      readonly outputs: number;
      readonly slots: number;
    }
  | {
      readonly type: "column-sum";
      readonly widths: readonly number[];
      readonly layers: readonly LayerConfig[];
    };

/** Names of the activation functions {@link createMlp} accepts. */
export const ACTIVATIONS = ["relu", "gelu"] as const;
/** An activation function name. */
export type Activation = (typeof ACTIVATIONS)[number];

/** A differentiable layer. */
export interface Layer {
  /** Its JSON description. */
  readonly config: LayerConfig;
  /** Compute the output of a `[batch, inputs]` tensor. */
  forward(input: Tensor, context: ForwardContext): Tensor;
  /**
   * Given d(loss)/d(output) of the last forward, add parameter gradients and
   * return d(loss)/d(input). With `{ inputGradient: false }` (the first layer of
   * a model, whose input is data) the input gradient is skipped and an empty
   * tensor returned, which saves a third of the work of a linear layer.
   */
  backward(gradOutput: Tensor, options?: BackwardOptions): Tensor;
  /** Trainable parameters (empty for activations and dropout). */
  parameters(): Parameter[];
}

function requireInput(input: Tensor | undefined, kind: string): Tensor {
  if (input === undefined) {
    throw new EmbedkitError("INTERNAL", `${kind}.backward was called before forward.`);
  }
  return input;
}

function checkColumns(input: Tensor, expected: number, kind: string): number {
  if (input.shape.length !== 2 || input.shape[1] !== expected) {
    throw new EmbedkitError(
      "DIMENSION_MISMATCH",
      `${kind} expects a [batch, ${expected}] tensor, received shape [${input.shape.join(", ")}].`,
      { details: { expected, received: input.shape[1] } },
    );
  }
  return input.shape[0] as number;
}

/** Options of {@link createLinear}. */
export interface LinearOptions {
  /** Input features. */
  readonly inputs: number;
  /** Output features. */
  readonly outputs: number;
  /** Randomness for PyTorch-style initialisation; without it weights start at zero. */
  readonly random?: Random;
  /** Prefix of the parameter names (`"<prefix>weight"`, `"<prefix>bias"`). @default "" */
  readonly name?: string;
}

/**
 * A fully connected layer `y = x·Wᵀ + b` with `W` shaped `[outputs, inputs]`.
 *
 * @throws EmbedkitError INVALID_OPTION for non-positive sizes.
 */
export function createLinear(options: LinearOptions): Layer {
  const { inputs, outputs } = options;
  checkInteger("Linear inputs", inputs, { min: 1 });
  checkInteger("Linear outputs", outputs, { min: 1 });
  const prefix = options.name ?? "";
  const weight = createParameter({ name: `${prefix}weight`, shape: [outputs, inputs] });
  const bias = createParameter({ name: `${prefix}bias`, shape: [outputs], decay: false });
  if (options.random !== undefined) {
    // PyTorch: kaiming_uniform_(a=√5) on the weight and U(−1/√fan_in, 1/√fan_in) on the bias,
    // both of which come to U(−1/√in, 1/√in).
    const bound = 1 / Math.sqrt(inputs);
    for (let i = 0; i < weight.value.length; i++) weight.value[i] = (2 * options.random.next() - 1) * bound;
    for (let i = 0; i < bias.value.length; i++) bias.value[i] = (2 * options.random.next() - 1) * bound;
  }
  let lastInput: Tensor | undefined;
  const w = weight.value;
  const b = bias.value;
  return {
    config: { type: "linear", inputs, outputs },
    forward(input) {
      const rows = checkColumns(input, inputs, "Linear");
      lastInput = input;
      const out = new Float32Array(rows * outputs);
      linearForward(input.data, w, b, out, rows, inputs, outputs);
      return { data: out, shape: [rows, outputs] };
    },
    backward(gradOutput, backwardOptions) {
      const input = requireInput(lastInput, "Linear");
      const rows = input.shape[0] as number;
      linearWeightGradient(input.data, gradOutput.data, weight.grad, bias.grad, rows, inputs, outputs);
      if (backwardOptions?.inputGradient === false) return { data: new Float32Array(0), shape: [rows, 0] };
      const gradInput = new Float32Array(rows * inputs);
      linearInputGradient(gradOutput.data, w, gradInput, rows, inputs, outputs);
      return { data: gradInput, shape: [rows, inputs] };
    },
    parameters() {
      return [weight, bias];
    },
  };
}

// The dense kernels below work on four rows (or four outputs) at a time: each
// weight/gradient element loaded is used four times, and four independent sums
// keep the CPU's pipelines busy. Scalar JavaScript still, ~2–3× the plain loops
// (bench/train.ts, "Speed").

/** `out[r, o] = b[o] + Σ_i x[r, i] · w[o, i]`. */
function linearForward(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  out: Float32Array,
  rows: number,
  inputs: number,
  outputs: number,
): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const x0 = r * inputs;
    const x1 = x0 + inputs;
    const x2 = x1 + inputs;
    const x3 = x2 + inputs;
    for (let o = 0; o < outputs; o++) {
      const wOffset = o * inputs;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < inputs; i++) {
        const wi = w[wOffset + i] as number;
        s0 += (x[x0 + i] as number) * wi;
        s1 += (x[x1 + i] as number) * wi;
        s2 += (x[x2 + i] as number) * wi;
        s3 += (x[x3 + i] as number) * wi;
      }
      const bias = b[o] as number;
      out[r * outputs + o] = bias + s0;
      out[(r + 1) * outputs + o] = bias + s1;
      out[(r + 2) * outputs + o] = bias + s2;
      out[(r + 3) * outputs + o] = bias + s3;
    }
  }
  for (; r < rows; r++) {
    const xOffset = r * inputs;
    for (let o = 0; o < outputs; o++) {
      const wOffset = o * inputs;
      let sum = b[o] as number;
      for (let i = 0; i < inputs; i++) sum += (x[xOffset + i] as number) * (w[wOffset + i] as number);
      out[r * outputs + o] = sum;
    }
  }
}

/**
 * `dst[at + i] += c0·src[from + i] + c1·src[from + n + i] + c2·src[from + 2n + i] + c3·src[from + 3n + i]`
 * for i < n: four consecutive source rows of length n scaled into one destination row.
 */
function addScaledRows4(
  dst: Float32Array,
  at: number,
  src: Float32Array,
  from: number,
  n: number,
  c0: number,
  c1: number,
  c2: number,
  c3: number,
): void {
  const s1 = from + n;
  const s2 = s1 + n;
  const s3 = s2 + n;
  for (let i = 0; i < n; i++) {
    dst[at + i] =
      (dst[at + i] as number) +
      c0 * (src[from + i] as number) +
      c1 * (src[s1 + i] as number) +
      c2 * (src[s2 + i] as number) +
      c3 * (src[s3 + i] as number);
  }
}

/** `dst[at + i] += c·src[from + i]` for i < n. */
function addScaledRow(
  dst: Float32Array,
  at: number,
  src: Float32Array,
  from: number,
  n: number,
  c: number,
): void {
  for (let i = 0; i < n; i++) dst[at + i] = (dst[at + i] as number) + c * (src[from + i] as number);
}

/** `gw[o, i] += Σ_r g[r, o] · x[r, i]`, `gb[o] += Σ_r g[r, o]`. */
function linearWeightGradient(
  x: Float32Array,
  g: Float32Array,
  gw: Float32Array,
  gb: Float32Array,
  rows: number,
  inputs: number,
  outputs: number,
): void {
  for (let o = 0; o < outputs; o++) {
    const wOffset = o * inputs;
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const g0 = g[r * outputs + o] as number;
      const g1 = g[(r + 1) * outputs + o] as number;
      const g2 = g[(r + 2) * outputs + o] as number;
      const g3 = g[(r + 3) * outputs + o] as number;
      // Rows whose gradient is zero (a ReLU that was off) add nothing.
      if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
      gb[o] = (gb[o] as number) + g0 + g1 + g2 + g3;
      addScaledRows4(gw, wOffset, x, r * inputs, inputs, g0, g1, g2, g3);
    }
    for (; r < rows; r++) {
      const go = g[r * outputs + o] as number;
      if (go === 0) continue;
      gb[o] = (gb[o] as number) + go;
      addScaledRow(gw, wOffset, x, r * inputs, inputs, go);
    }
  }
}

/** `gradInput[r, i] += Σ_o g[r, o] · w[o, i]`. */
function linearInputGradient(
  g: Float32Array,
  w: Float32Array,
  gradInput: Float32Array,
  rows: number,
  inputs: number,
  outputs: number,
): void {
  for (let r = 0; r < rows; r++) {
    const xOffset = r * inputs;
    const gOffset = r * outputs;
    let o = 0;
    for (; o + 4 <= outputs; o += 4) {
      const g0 = g[gOffset + o] as number;
      const g1 = g[gOffset + o + 1] as number;
      const g2 = g[gOffset + o + 2] as number;
      const g3 = g[gOffset + o + 3] as number;
      if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
      addScaledRows4(gradInput, xOffset, w, o * inputs, inputs, g0, g1, g2, g3);
    }
    for (; o < outputs; o++) {
      const go = g[gOffset + o] as number;
      if (go === 0) continue;
      addScaledRow(gradInput, xOffset, w, o * inputs, inputs, go);
    }
  }
}

/** An element-wise activation from its function and derivative. */
function createElementwise(
  config: LayerConfig,
  apply: (x: number) => number,
  derivative: (x: number) => number,
): Layer {
  let lastInput: Tensor | undefined;
  return {
    config,
    forward(input) {
      lastInput = input;
      const out = new Float32Array(input.data.length);
      for (let i = 0; i < out.length; i++) out[i] = apply(input.data[i] as number);
      return { data: out, shape: input.shape };
    },
    backward(gradOutput) {
      const input = requireInput(lastInput, config.type);
      const out = new Float32Array(input.data.length);
      for (let i = 0; i < out.length; i++)
        out[i] = (gradOutput.data[i] as number) * derivative(input.data[i] as number);
      return { data: out, shape: input.shape };
    },
    parameters() {
      return [];
    },
  };
}

/** Rectified linear unit, `max(0, x)` (gradient 0 at 0, as PyTorch). */
export function createRelu(): Layer {
  return createElementwise(
    { type: "relu" },
    (x) => Math.max(x, 0),
    (x) => (x > 0 ? 1 : 0),
  );
}

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * The error function to about 1e-12: its Maclaurin series below |x| = 4 (the
 * alternating terms lose at most ~5 of 16 digits there), the asymptotic
 * expansion of erfc beyond (erfc(4) ≈ 1.5e-8, so four terms are plenty).
 */
export function erf(x: number): number {
  const z = Math.abs(x);
  let result: number;
  if (z < 4) {
    const z2 = z * z;
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= -z2 / n;
      const contribution = term / (2 * n + 1);
      sum += contribution;
      if (Math.abs(contribution) < 1e-17 * Math.abs(sum)) break;
    }
    result = (2 / SQRT_PI) * sum;
  } else {
    const inverse = 1 / (2 * z * z);
    const series = 1 - inverse + 3 * inverse * inverse - 15 * inverse * inverse * inverse;
    result = 1 - (Math.exp(-z * z) / (z * SQRT_PI)) * series;
  }
  return x < 0 ? -result : result;
}

/** Exact GELU, `x·Φ(x)` with the normal CDF Φ (PyTorch's `approximate="none"`). */
export function createGelu(): Layer {
  return createElementwise(
    { type: "gelu" },
    (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    // d/dx x·Φ(x) = Φ(x) + x·φ(x)
    (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
  );
}

/**
 * Inverted dropout: in training each value is zeroed with probability `rate`
 * and the survivors scaled by 1/(1 − rate); at inference it is the identity.
 *
 * @throws EmbedkitError INVALID_OPTION unless 0 <= rate < 1.
 */
export function createDropout(rate: number): Layer {
  if (!(rate >= 0 && rate < 1)) {
    throw new EmbedkitError("INVALID_OPTION", `Dropout rate must be in [0, 1), received ${String(rate)}.`);
  }
  let mask: Float32Array | undefined;
  let shape: readonly number[] = [];
  return {
    config: { type: "dropout", rate },
    forward(input, context) {
      shape = input.shape;
      if (!context.training || rate === 0) {
        mask = undefined;
        return input;
      }
      if (context.random === undefined) {
        throw new EmbedkitError(
          "INVALID_OPTION",
          "Dropout in training mode needs context.random (a seeded Random).",
        );
      }
      const keep = 1 / (1 - rate);
      mask = new Float32Array(input.data.length);
      const out = new Float32Array(input.data.length);
      for (let i = 0; i < out.length; i++) {
        const scale = context.random.next() < rate ? 0 : keep;
        mask[i] = scale;
        out[i] = (input.data[i] as number) * scale;
      }
      return { data: out, shape: input.shape };
    },
    backward(gradOutput) {
      if (mask === undefined) return gradOutput;
      const out = new Float32Array(mask.length);
      for (let i = 0; i < out.length; i++) out[i] = (gradOutput.data[i] as number) * (mask[i] as number);
      return { data: out, shape };
    },
    parameters() {
      return [];
    },
  };
}

/** Chain layers; parameters are named `<index>.weight`, `<index>.bias` as in `nn.Sequential`. */
export function createSequential(layers: readonly Layer[]): Layer {
  return {
    config: { type: "sequential", layers: layers.map((layer) => layer.config) },
    forward(input, context) {
      let output = input;
      for (const layer of layers) output = layer.forward(output, context);
      return output;
    },
    backward(gradOutput, backwardOptions) {
      let grad = gradOutput;
      // Layers before the first one with parameters need no gradient at all when the input needs none.
      const firstTrainable = layers.findIndex((layer) => layer.parameters().length > 0);
      for (let i = layers.length - 1; i >= 0; i--) {
        if (backwardOptions?.inputGradient === false && i <= firstTrainable) {
          grad = (layers[i] as Layer).backward(grad, { inputGradient: false });
          break;
        }
        grad = (layers[i] as Layer).backward(grad);
      }
      return grad;
    },
    parameters() {
      return layers.flatMap((layer) => layer.parameters());
    },
  };
}

/** Options of {@link createMlp}. */
export interface MlpOptions {
  /** Input features (the embedding dimensions). */
  readonly inputs: number;
  /** Sizes of the hidden layers; `[]` gives a linear model (multinomial logistic regression). @default [] */
  readonly hidden?: readonly number[];
  /** Output units (the number of classes; 1 for a binary logit). */
  readonly outputs: number;
  /** Activation after each hidden layer. @default "relu" */
  readonly activation?: Activation;
  /** Dropout rate before each linear layer after the first, and on the input when > 0. @default 0 */
  readonly dropout?: number;
  /** Randomness for initialisation (seed it for reproducible runs). */
  readonly random?: Random;
  /** Prefix of the parameter names (`"<prefix>0.weight"`…), as {@link createLayer} names nested layers. @default "" */
  readonly name?: string;
}

/**
 * A multi-layer perceptron: `[dropout] → linear → act → [dropout] → … → linear`.
 *
 * @example
 * ```ts
 * const model = createMlp({ inputs: 384, hidden: [256], outputs: 4, activation: "gelu", dropout: 0.1, random: createRandom(1) });
 * ```
 */
export function createMlp(options: MlpOptions): Layer {
  const hidden = options.hidden ?? [];
  const activation = options.activation ?? "relu";
  if (!ACTIVATIONS.includes(activation)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Unknown activation "${String(activation)}"; expected one of ${ACTIVATIONS.join(", ")}.`,
    );
  }
  const dropout = options.dropout ?? 0;
  const layers: Layer[] = [];
  let width = options.inputs;
  const sizes = [...hidden, options.outputs];
  sizes.forEach((size, index) => {
    if (dropout > 0) layers.push(createDropout(dropout));
    layers.push(
      createLinear({
        inputs: width,
        outputs: size,
        name: `${options.name ?? ""}${layers.length}.`,
        ...(options.random === undefined ? {} : { random: options.random }),
      }),
    );
    if (index < sizes.length - 1) layers.push(activation === "gelu" ? createGelu() : createRelu());
    width = size;
  });
  return createSequential(layers);
}

/** Options of {@link createEmbeddingBag}. */
export interface EmbeddingBagOptions {
  /** Rows of the table (feature ids are 0 … buckets − 1). At most 2^24, so ids are exact in float32. */
  readonly buckets: number;
  /** Output features (columns of the table). */
  readonly outputs: number;
  /** Feature ids per input row. */
  readonly slots: number;
  /** Prefix of the parameter name (`"<prefix>weight"`). @default "" */
  readonly name?: string;
}

/** Largest table an embedding bag takes: ids above 2^24 are not exact in float32. */
export const MAX_EMBEDDING_BUCKETS = 2 ** 24;

/**
 * A sparse linear layer over hashed feature ids (PyTorch's `nn.EmbeddingBag`
 * with `mode="sum"`): each input row holds `slots` integer ids in
 * `[0, buckets)` (stored as floats; −1 = no feature in this slot) and the
 * output is the sum of their rows of the table `[buckets, outputs]`. Equivalent
 * to a linear layer on a one-hot input of width `buckets` without bias, at the
 * cost of `slots × outputs` per row. The table starts at zero; the ids get no
 * gradient (the input gradient is zero). The table is a row-sparse parameter:
 * optimizers update only the rows a batch used.
 *
 * @throws EmbedkitError INVALID_OPTION for sizes out of range; INVALID_INPUT
 *   (in `forward`) for an id that is not an integer in range or −1.
 * @example
 * ```ts
 * const bag = createEmbeddingBag({ buckets: 1 << 18, outputs: 7, slots: 10 });
 * ```
 */
export function createEmbeddingBag(options: EmbeddingBagOptions): Layer {
  const { buckets, outputs, slots } = options;
  checkInteger("Embedding bag buckets", buckets, { min: 1, max: MAX_EMBEDDING_BUCKETS });
  checkInteger("Embedding bag outputs", outputs, { min: 1 });
  checkInteger("Embedding bag slots", slots, { min: 1 });
  const weight = createParameter({
    name: `${options.name ?? ""}weight`,
    shape: [buckets, outputs],
    sparseRowSize: outputs,
  });
  const touched = (weight.sparse as { touched: Set<number> }).touched;
  const table = weight.value;
  let lastIds: Int32Array | undefined;
  return {
    config: { type: "embedding-bag", buckets, outputs, slots },
    forward(input) {
      const rows = checkColumns(input, slots, "EmbeddingBag");
      const ids = new Int32Array(rows * slots);
      const out = new Float32Array(rows * outputs);
      for (let r = 0; r < rows; r++) {
        for (let s = 0; s < slots; s++) {
          const value = input.data[r * slots + s] as number;
          if (value === -1) {
            ids[r * slots + s] = -1;
            continue;
          }
          if (!Number.isInteger(value) || value < 0 || value >= buckets) {
            throw new EmbedkitError(
              "INVALID_INPUT",
              `EmbeddingBag ids must be integers from 0 to ${buckets - 1} (or -1 for none), received ${String(value)} in row ${r}, slot ${s}.`,
            );
          }
          ids[r * slots + s] = value;
          const base = value * outputs;
          for (let o = 0; o < outputs; o++)
            out[r * outputs + o] = (out[r * outputs + o] as number) + (table[base + o] as number);
        }
      }
      lastIds = ids;
      return { data: out, shape: [rows, outputs] };
    },
    backward(gradOutput, backwardOptions) {
      if (lastIds === undefined) requireInput(undefined, "EmbeddingBag");
      const ids = lastIds as Int32Array;
      const rows = ids.length / slots;
      const g = gradOutput.data;
      const grad = weight.grad;
      for (let r = 0; r < rows; r++) {
        for (let s = 0; s < slots; s++) {
          const id = ids[r * slots + s] as number;
          if (id < 0) continue;
          touched.add(id);
          const base = id * outputs;
          for (let o = 0; o < outputs; o++)
            grad[base + o] = (grad[base + o] as number) + (g[r * outputs + o] as number);
        }
      }
      if (backwardOptions?.inputGradient === false) return { data: new Float32Array(0), shape: [rows, 0] };
      return { data: new Float32Array(rows * slots), shape: [rows, slots] };
    },
    parameters() {
      return [weight];
    },
  };
}

/**
 * Run each layer on its own block of input columns (`widths[i]` columns, in
 * order) and add their outputs, which must have the same shape. With a dense
 * head on the first block and an {@link createEmbeddingBag} on the second, the
 * logits are `head(vector) + Σ table[id]`. Parameters of layer `i` should be
 * named with prefix `"<i>."` (as {@link createLayer} does), e.g. build them
 * with `createMlp({ name: "0." })` and `createEmbeddingBag({ name: "1." })`.
 *
 * @throws EmbedkitError INVALID_OPTION when widths and layers differ in number
 *   or a width is not a positive integer; DIMENSION_MISMATCH (in `forward`)
 *   when the input is not `Σ widths` wide or the outputs differ in shape.
 */
export function createColumnSum(widths: readonly number[], layers: readonly Layer[]): Layer {
  if (widths.length !== layers.length || widths.length === 0) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `A column sum needs one width per layer, received ${widths.length} widths and ${layers.length} layers.`,
    );
  }
  if (!widths.every((width) => Number.isInteger(width) && width > 0)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Column-sum widths must be positive integers, received [${widths.join(", ")}].`,
    );
  }
  const total = widths.reduce((sum, width) => sum + width, 0);
  const starts = widths.map((_, index) => widths.slice(0, index).reduce((sum, width) => sum + width, 0));
  return {
    config: { type: "column-sum", widths: [...widths], layers: layers.map((layer) => layer.config) },
    forward(input, context) {
      const rows = checkColumns(input, total, "ColumnSum");
      let sum: Float32Array | undefined;
      let shape: readonly number[] = [];
      layers.forEach((layer, index) => {
        const width = widths[index] as number;
        const start = starts[index] as number;
        const block = new Float32Array(rows * width);
        for (let r = 0; r < rows; r++)
          block.set(input.data.subarray(r * total + start, r * total + start + width), r * width);
        const output = layer.forward({ data: block, shape: [rows, width] }, context);
        if (sum === undefined) {
          sum = Float32Array.from(output.data);
          shape = output.shape;
        } else {
          if (output.data.length !== sum.length) {
            throw new EmbedkitError(
              "DIMENSION_MISMATCH",
              `ColumnSum layer ${index} returned shape [${output.shape.join(", ")}], expected [${shape.join(", ")}].`,
            );
          }
          for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (output.data[i] as number);
        }
      });
      return { data: sum as Float32Array, shape };
    },
    backward(gradOutput, backwardOptions) {
      const grads = layers.map((layer) => layer.backward(gradOutput, backwardOptions));
      const rows = gradOutput.shape[0] as number;
      if (backwardOptions?.inputGradient === false) return { data: new Float32Array(0), shape: [rows, 0] };
      const out = new Float32Array(rows * total);
      grads.forEach((grad, index) => {
        const width = widths[index] as number;
        const start = starts[index] as number;
        for (let r = 0; r < rows; r++)
          out.set(grad.data.subarray(r * width, (r + 1) * width), r * total + start);
      });
      return { data: out, shape: [rows, total] };
    },
    parameters() {
      return layers.flatMap((layer) => layer.parameters());
    },
  };
}

/**
 * Rebuild a layer (zero weights) from its JSON description, e.g. when loading a checkpoint.
 *
 * @throws EmbedkitError MALFORMED_FILE for an unknown layer type.
 */
export function createLayer(config: LayerConfig, name = ""): Layer {
  switch (config.type) {
    case "linear":
      return createLinear({ inputs: config.inputs, outputs: config.outputs, name });
    case "relu":
      return createRelu();
    case "gelu":
      return createGelu();
    case "dropout":
      return createDropout(config.rate);
    case "sequential":
      return createSequential(config.layers.map((layer, index) => createLayer(layer, `${name}${index}.`)));
    case "embedding-bag":
      return createEmbeddingBag({ ...config, name });
    case "column-sum":
      return createColumnSum(
        config.widths,
        config.layers.map((layer, index) => createLayer(layer, `${name}${index}.`)),
      );
    default:
      throw new EmbedkitError(
        "MALFORMED_FILE",
        `Unknown layer type ${JSON.stringify((config as { type?: unknown }).type)} in a model description.`,
      );
  }
}
