/**
 * @module eval/logistic-probe
 * A multinomial logistic-regression probe on frozen embeddings: the standard way
 * (SentEval, MTEB) to ask how linearly separable the classes are in a model's
 * vector space. It minimises mean cross-entropy + (l2 / 2)·‖W‖² (bias not
 * penalised) with full-batch L-BFGS and a backtracking Armijo line search, from
 * zero weights — so training is fully deterministic (no seed is needed; the
 * same data in the same order gives the same weights). The default `l2 = 1 / n`
 * is scikit-learn's `LogisticRegression(C=1)` objective, which MTEB uses.
 */
import { EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";
import type { Label } from "./classification-metrics.js";

/** Options of {@link trainLogisticProbe}. */
export interface TrainLogisticProbeOptions {
  /** Training vectors (all the same length). */
  readonly vectors: readonly Float32Array[];
  /** One label per vector; at least two distinct labels. */
  readonly labels: readonly Label[];
  /** L2 penalty on the weights. @default 1 / number of training vectors (sklearn C = 1) */
  readonly l2?: number;
  /** Most L-BFGS iterations. @default 200 */
  readonly maxIterations?: number;
  /** Stop when the gradient's max-norm falls below this. @default 1e-5 */
  readonly tolerance?: number;
}

/** A trained probe. */
export interface LogisticProbe {
  /** The classes, in the order of {@link LogisticProbe.probabilities}' columns. */
  readonly classes: readonly Label[];
  /** L-BFGS iterations used. */
  readonly iterations: number;
  /** Final value of the training objective. */
  readonly loss: number;
  /** Class probabilities of each vector (rows sum to 1). */
  probabilities(vectors: readonly Float32Array[]): Float64Array[];
  /** Most probable class of each vector. */
  predict(vectors: readonly Float32Array[]): Label[];
}

/** Softmax probabilities of one input for weights laid out [class][dims + 1] (bias last). */
function softmaxRow(
  weights: Float64Array,
  classes: number,
  dims: number,
  vector: Float32Array,
  out: Float64Array,
): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < classes; c++) {
    const offset = c * (dims + 1);
    let logit = weights[offset + dims] as number;
    for (let d = 0; d < dims; d++) logit += (weights[offset + d] as number) * (vector[d] as number);
    out[c] = logit;
    if (logit > max) max = logit;
  }
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const value = Math.exp((out[c] as number) - max);
    out[c] = value;
    sum += value;
  }
  for (let c = 0; c < classes; c++) out[c] = (out[c] as number) / sum;
}

function dotProduct(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/**
 * Train a multinomial logistic-regression probe with L-BFGS.
 *
 * @throws EmbedkitError INVALID_INPUT for mismatched lengths, fewer than two
 *   classes or an empty training set; DIMENSION_MISMATCH for vectors of different
 *   lengths; INVALID_OPTION for a negative l2 or non-positive iteration count.
 * @example
 * ```ts
 * const probe = trainLogisticProbe({ vectors: trainVectors, labels: trainLabels });
 * const predicted = probe.predict(testVectors);
 * ```
 */
export function trainLogisticProbe(options: TrainLogisticProbeOptions): LogisticProbe {
  const { vectors, labels } = options;
  if (vectors.length === 0 || vectors.length !== labels.length) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `The probe needs one label per training vector and at least one vector, received ${vectors.length} vectors and ${labels.length} labels.`,
    );
  }
  const dims = (vectors[0] as Float32Array).length;
  vectors.forEach((vector, index) => {
    if (vector.length !== dims) {
      throw new EmbedkitError(
        "DIMENSION_MISMATCH",
        `Training vector ${index} has ${vector.length} dimensions, expected ${dims}.`,
        { details: { index, expected: dims, received: vector.length } },
      );
    }
  });
  const classes = [...new Set(labels)].sort((a, b) =>
    typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b)),
  );
  if (classes.length < 2) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `The probe needs at least two classes in the training labels, received ${classes.length} (${JSON.stringify(classes)}).`,
    );
  }
  const n = vectors.length;
  const l2 = options.l2 ?? 1 / n;
  const maxIterations = options.maxIterations ?? 200;
  const tolerance = options.tolerance ?? 1e-5;
  if (!(l2 >= 0) || !Number.isFinite(l2)) {
    throw new EmbedkitError("INVALID_OPTION", `l2 must be a finite number >= 0, received ${String(l2)}.`);
  }
  checkInteger("maxIterations", maxIterations, { min: 1 });
  const classIndex = new Map(classes.map((label, index) => [label, index]));
  const targets = Int32Array.from(labels, (label) => classIndex.get(label) as number);
  const count = classes.length;
  const size = count * (dims + 1);
  const probabilities = new Float64Array(count);

  /** Objective and its gradient at `weights`. */
  const evaluate = (weights: Float64Array, gradient: Float64Array): number => {
    gradient.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const vector = vectors[i] as Float32Array;
      softmaxRow(weights, count, dims, vector, probabilities);
      const target = targets[i] as number;
      loss -= Math.log(Math.max(probabilities[target] as number, 1e-300));
      for (let c = 0; c < count; c++) {
        const error = ((probabilities[c] as number) - (c === target ? 1 : 0)) / n;
        const offset = c * (dims + 1);
        for (let d = 0; d < dims; d++)
          gradient[offset + d] = (gradient[offset + d] as number) + error * (vector[d] as number);
        gradient[offset + dims] = (gradient[offset + dims] as number) + error;
      }
    }
    loss /= n;
    for (let c = 0; c < count; c++) {
      const offset = c * (dims + 1);
      for (let d = 0; d < dims; d++) {
        const weight = weights[offset + d] as number;
        loss += 0.5 * l2 * weight * weight;
        gradient[offset + d] = (gradient[offset + d] as number) + l2 * weight;
      }
    }
    return loss;
  };

  // L-BFGS with memory 10 and a backtracking Armijo line search.
  const memory = 10;
  const steps: Float64Array[] = [];
  const gradientChanges: Float64Array[] = [];
  const rhos: number[] = [];
  let weights = new Float64Array(size);
  let gradient = new Float64Array(size);
  let loss = evaluate(weights, gradient);
  let iterations = 0;
  const direction = new Float64Array(size);
  const alphas = new Float64Array(memory);
  for (; iterations < maxIterations; iterations++) {
    let maxGradient = 0;
    for (let i = 0; i < size; i++) maxGradient = Math.max(maxGradient, Math.abs(gradient[i] as number));
    if (maxGradient < tolerance) break;
    // Two-loop recursion: direction = -H·gradient.
    direction.set(gradient);
    for (let m = steps.length - 1; m >= 0; m--) {
      const alpha = (rhos[m] as number) * dotProduct(steps[m] as Float64Array, direction);
      alphas[m] = alpha;
      const change = gradientChanges[m] as Float64Array;
      for (let i = 0; i < size; i++) direction[i] = (direction[i] as number) - alpha * (change[i] as number);
    }
    if (steps.length > 0) {
      const last = steps.length - 1;
      const change = gradientChanges[last] as Float64Array;
      const scale = dotProduct(steps[last] as Float64Array, change) / dotProduct(change, change);
      for (let i = 0; i < size; i++) direction[i] = (direction[i] as number) * scale;
    } else {
      // First step: a unit-length move along the negative gradient.
      const length = Math.sqrt(dotProduct(gradient, gradient));
      for (let i = 0; i < size; i++) direction[i] = (direction[i] as number) / length;
    }
    for (let m = 0; m < steps.length; m++) {
      const beta = (rhos[m] as number) * dotProduct(gradientChanges[m] as Float64Array, direction);
      const step = steps[m] as Float64Array;
      for (let i = 0; i < size; i++)
        direction[i] = (direction[i] as number) + (step[i] as number) * ((alphas[m] as number) - beta);
    }
    for (let i = 0; i < size; i++) direction[i] = -(direction[i] as number);
    let slope = dotProduct(gradient, direction);
    if (slope >= 0) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      steps.length = 0;
      gradientChanges.length = 0;
      rhos.length = 0;
      for (let i = 0; i < size; i++) direction[i] = -(gradient[i] as number);
      slope = dotProduct(gradient, direction);
    }
    let stepSize = 1;
    const candidate = new Float64Array(size);
    const candidateGradient = new Float64Array(size);
    let candidateLoss = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 40; attempt++) {
      for (let i = 0; i < size; i++)
        candidate[i] = (weights[i] as number) + stepSize * (direction[i] as number);
      candidateLoss = evaluate(candidate, candidateGradient);
      if (candidateLoss <= loss + 1e-4 * stepSize * slope) break;
      stepSize /= 2;
    }
    if (!(candidateLoss < loss)) break; // no progress possible: converged to rounding level
    const step = new Float64Array(size);
    const change = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      step[i] = (candidate[i] as number) - (weights[i] as number);
      change[i] = (candidateGradient[i] as number) - (gradient[i] as number);
    }
    const curvature = dotProduct(step, change);
    if (curvature > 1e-12) {
      steps.push(step);
      gradientChanges.push(change);
      rhos.push(1 / curvature);
      if (steps.length > memory) {
        steps.shift();
        gradientChanges.shift();
        rhos.shift();
      }
    }
    const relativeDecrease = (loss - candidateLoss) / Math.max(Math.abs(loss), 1);
    weights = candidate;
    gradient = candidateGradient;
    loss = candidateLoss;
    if (relativeDecrease < 1e-10) {
      iterations++;
      break;
    }
  }

  const finalWeights = weights;
  const probabilitiesOf = (inputs: readonly Float32Array[]): Float64Array[] =>
    inputs.map((vector, index) => {
      if (vector.length !== dims) {
        throw new EmbedkitError(
          "DIMENSION_MISMATCH",
          `Vector ${index} has ${vector.length} dimensions, but the probe was trained on ${dims}.`,
          { details: { index, expected: dims, received: vector.length } },
        );
      }
      const row = new Float64Array(count);
      softmaxRow(finalWeights, count, dims, vector, row);
      return row;
    });
  return {
    classes,
    iterations,
    loss,
    probabilities: probabilitiesOf,
    predict(inputs) {
      return probabilitiesOf(inputs).map((row) => {
        let best = 0;
        for (let c = 1; c < count; c++) if ((row[c] as number) > (row[best] as number)) best = c;
        return classes[best] as Label;
      });
    },
  };
}
