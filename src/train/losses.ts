/**
 * @module train/losses
 * Loss functions returning the mean loss and its gradient with respect to the
 * logits, following PyTorch's definitions: {@link softmaxCrossEntropy} is
 * `F.cross_entropy(logits, target, weight=w)` — with class weights the mean is
 * Σ wᵧ·nllᵢ / Σ wᵧ, exactly as PyTorch's `reduction="mean"` — and
 * {@link binaryCrossEntropy} is `F.binary_cross_entropy_with_logits(logits,
 * target, weight=w, pos_weight=p)` (computed stably from the logits).
 */
import { EmbedkitError } from "../errors.js";
import type { Tensor } from "./tensor.js";

/** A loss value and d(loss)/d(logits). */
export interface LossResult {
  /** Mean loss over the batch. */
  readonly loss: number;
  /** Gradient with respect to the logits (same shape). */
  readonly grad: Tensor;
}

/** Options of {@link softmaxCrossEntropy}. */
export interface SoftmaxCrossEntropyOptions {
  /** One weight per class (PyTorch's `weight`); rare classes get larger weights. */
  readonly classWeights?: ArrayLike<number>;
}

/** Softmax of each row of a `[rows, classes]` tensor, computed stably in float64. */
export function softmaxRows(logits: Tensor): Float32Array {
  const rows = logits.shape[0] as number;
  const classes = logits.shape[1] as number;
  const out = new Float32Array(logits.data.length);
  for (let r = 0; r < rows; r++) {
    const offset = r * classes;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits.data[offset + c] as number);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp((logits.data[offset + c] as number) - max);
    for (let c = 0; c < classes; c++)
      out[offset + c] = Math.exp((logits.data[offset + c] as number) - max) / sum;
  }
  return out;
}

/**
 * Mean softmax cross-entropy of `[rows, classes]` logits against integer targets.
 *
 * @throws EmbedkitError INVALID_INPUT for a target outside [0, classes), a
 *   length mismatch, or class weights of the wrong length / negative.
 * @example
 * ```ts
 * const { loss, grad } = softmaxCrossEntropy(logits, Int32Array.of(2, 0), { classWeights: [1, 2, 1] });
 * ```
 */
export function softmaxCrossEntropy(
  logits: Tensor,
  targets: ArrayLike<number>,
  options: SoftmaxCrossEntropyOptions = {},
): LossResult {
  const rows = logits.shape[0] as number;
  const classes = logits.shape[1] as number;
  if (logits.shape.length !== 2 || targets.length !== rows) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Cross-entropy needs [rows, classes] logits and one target per row, received shape [${logits.shape.join(", ")}] and ${targets.length} targets.`,
    );
  }
  const weights = options.classWeights;
  if (weights !== undefined && (weights.length !== classes || Array.from(weights).some((w) => !(w >= 0)))) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Class weights must be ${classes} non-negative numbers (one per class), received ${weights.length}.`,
    );
  }
  const grad = new Float32Array(logits.data.length);
  let total = 0;
  let weightSum = 0;
  const probabilities = new Float64Array(classes);
  for (let r = 0; r < rows; r++) {
    const target = targets[r] as number;
    if (!Number.isInteger(target) || target < 0 || target >= classes) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Target ${r} is ${String(target)}, expected a class index in [0, ${classes}).`,
      );
    }
    const offset = r * classes;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits.data[offset + c] as number);
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const value = Math.exp((logits.data[offset + c] as number) - max);
      probabilities[c] = value;
      sum += value;
    }
    const weight = weights === undefined ? 1 : (weights[target] as number);
    // −log softmax = log Σ exp(z − max) − (z_t − max)
    total += weight * (Math.log(sum) - ((logits.data[offset + target] as number) - max));
    weightSum += weight;
    for (let c = 0; c < classes; c++) {
      grad[offset + c] = weight * ((probabilities[c] as number) / sum - (c === target ? 1 : 0));
    }
  }
  if (weightSum === 0) return { loss: 0, grad: { data: grad, shape: logits.shape } };
  for (let i = 0; i < grad.length; i++) grad[i] = (grad[i] as number) / weightSum;
  return { loss: total / weightSum, grad: { data: grad, shape: logits.shape } };
}

/** Options of {@link binaryCrossEntropy}. */
export interface BinaryCrossEntropyOptions {
  /** A weight per row (PyTorch's `weight`, broadcast over the batch). */
  readonly weights?: ArrayLike<number>;
  /** Weight of positive examples (PyTorch's `pos_weight`). @default 1 */
  readonly positiveWeight?: number;
}

/**
 * Mean binary cross-entropy of logits (any shape) against targets in [0, 1],
 * `−w·[p·y·log σ(x) + (1 − y)·log(1 − σ(x))]`, averaged over all elements.
 *
 * @throws EmbedkitError INVALID_INPUT for a length mismatch or a target outside [0, 1].
 */
export function binaryCrossEntropy(
  logits: Tensor,
  targets: ArrayLike<number>,
  options: BinaryCrossEntropyOptions = {},
): LossResult {
  const count = logits.data.length;
  if (targets.length !== count) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Binary cross-entropy needs one target per logit, received ${count} logits and ${targets.length} targets.`,
    );
  }
  const positiveWeight = options.positiveWeight ?? 1;
  const grad = new Float32Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const x = logits.data[i] as number;
    const y = targets[i] as number;
    if (!(y >= 0 && y <= 1)) {
      throw new EmbedkitError("INVALID_INPUT", `Target ${i} is ${String(y)}, expected a value in [0, 1].`);
    }
    const weight = options.weights === undefined ? 1 : (options.weights[i] as number);
    // log σ(x) = −softplus(−x), log(1 − σ(x)) = −softplus(x), softplus stable for any x.
    const softplusPositive = Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    const softplusNegative = softplusPositive - x;
    total += weight * (positiveWeight * y * softplusNegative + (1 - y) * softplusPositive);
    const sigmoid = 1 / (1 + Math.exp(-x));
    // d/dx = w·[(1 − y)·σ(x) − p·y·(1 − σ(x))]
    grad[i] = (weight * ((1 - y) * sigmoid - positiveWeight * y * (1 - sigmoid))) / count;
  }
  return { loss: total / count, grad: { data: grad, shape: logits.shape } };
}
