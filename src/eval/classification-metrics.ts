/**
 * @module eval/classification-metrics
 * Metrics for classification, pair classification and clustering, following
 * scikit-learn's definitions so numbers can be checked against it: accuracy,
 * macro-F1 (`f1_score(average="macro")`, an undefined precision or recall counts
 * as 0), binary ROC-AUC (`roc_auc_score`, ties get half credit), average
 * precision (`average_precision_score`, step-wise, tied scores form one
 * threshold) and V-measure with homogeneity and completeness
 * (`homogeneity_completeness_v_measure`, natural logarithms).
 * Labels may be numbers or strings; inputs are validated and bad input throws
 * INVALID_INPUT rather than returning NaN.
 */
import { describeType, EmbedkitError } from "../errors.js";
import { rankWithTies } from "./metrics.js";

/** A class label: any string or number (compared with `===`). */
export type Label = string | number;

function checkSameLength(name: string, expected: ArrayLike<unknown>, received: ArrayLike<unknown>): void {
  if (!Array.isArray(expected) && !ArrayBuffer.isView(expected)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${name}: the first argument must be an array, received ${describeType(expected)}.`,
    );
  }
  if (!Array.isArray(received) && !ArrayBuffer.isView(received)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${name}: the second argument must be an array, received ${describeType(received)}.`,
    );
  }
  if (expected.length !== received.length) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${name}: both lists must have the same length (one entry per item), received ${expected.length} and ${received.length}.`,
      { details: { expected: expected.length, received: received.length } },
    );
  }
  if (expected.length === 0) {
    throw new EmbedkitError("INVALID_INPUT", `${name} needs at least one item, received an empty list.`);
  }
}

/**
 * Share of items whose predicted label equals the true label.
 *
 * @throws EmbedkitError INVALID_INPUT for lists of different length or empty lists.
 * @example
 * ```ts
 * accuracy([0, 1, 2, 3], [0, 2, 1, 3]); // 0.5
 * ```
 */
export function accuracy(truth: readonly Label[], predicted: readonly Label[]): number {
  checkSameLength("accuracy", truth, predicted);
  let correct = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) correct++;
  return correct / truth.length;
}

/** Per-class precision, recall and F1 plus their unweighted (macro) means. */
export interface F1Report {
  readonly macroF1: number;
  readonly macroPrecision: number;
  readonly macroRecall: number;
  readonly perClass: ReadonlyArray<{
    readonly label: Label;
    readonly precision: number;
    readonly recall: number;
    readonly f1: number;
    /** Items whose true label is this class. */
    readonly support: number;
  }>;
}

/**
 * Per-class precision/recall/F1 and their macro averages over every label that
 * occurs in either list (scikit-learn's default label set). A class never
 * predicted has precision 0, a class never true has recall 0 (sklearn's
 * `zero_division=0`).
 *
 * @throws EmbedkitError INVALID_INPUT for lists of different length or empty lists.
 */
export function f1Report(truth: readonly Label[], predicted: readonly Label[]): F1Report {
  checkSameLength("f1Report", truth, predicted);
  const labels = [...new Set<Label>([...truth, ...predicted])].sort((a, b) =>
    typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b)),
  );
  const perClass = labels.map((label) => {
    let truePositives = 0;
    let predictedCount = 0;
    let support = 0;
    for (let i = 0; i < truth.length; i++) {
      const isTrue = truth[i] === label;
      const isPredicted = predicted[i] === label;
      if (isTrue) support++;
      if (isPredicted) predictedCount++;
      if (isTrue && isPredicted) truePositives++;
    }
    const precision = predictedCount === 0 ? 0 : truePositives / predictedCount;
    const recall = support === 0 ? 0 : truePositives / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support };
  });
  const mean = (key: "precision" | "recall" | "f1"): number =>
    perClass.reduce((sum, row) => sum + row[key], 0) / perClass.length;
  return { macroF1: mean("f1"), macroPrecision: mean("precision"), macroRecall: mean("recall"), perClass };
}

/**
 * Macro-averaged F1 (unweighted mean of per-class F1), as
 * `sklearn.metrics.f1_score(average="macro")`.
 *
 * @throws EmbedkitError INVALID_INPUT for lists of different length or empty lists.
 * @example
 * ```ts
 * macroF1([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1]); // 0.2666…
 * ```
 */
export function macroF1(truth: readonly Label[], predicted: readonly Label[]): number {
  return f1Report(truth, predicted).macroF1;
}

function checkBinary(
  name: string,
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): { positives: number; negatives: number } {
  checkSameLength(name, labels, scores);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label !== 0 && label !== 1) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${name}: labels[${i}] must be 0 or 1, received ${String(label)}. Map the positive class to 1 and the rest to 0.`,
        { details: { index: i } },
      );
    }
    if (!Number.isFinite(scores[i] as number)) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${name}: scores[${i}] must be a finite number, received ${String(scores[i])}.`,
      );
    }
    if (label === 1) positives++;
  }
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${name} is undefined when only one class is present: received ${positives} positive and ${negatives} negative labels. ` +
        "Evaluate on data that holds both classes.",
    );
  }
  return { positives, negatives };
}

/**
 * Area under the ROC curve for binary labels (1 = positive), from the
 * Mann–Whitney U statistic over average ranks, so tied scores count half
 * (identical to `sklearn.metrics.roc_auc_score`).
 *
 * @throws EmbedkitError INVALID_INPUT for labels other than 0/1, non-finite
 *   scores, different lengths, or when only one class is present.
 * @example
 * ```ts
 * rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.75
 * ```
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { positives, negatives } = checkBinary("rocAuc", labels, scores);
  const ranks = rankWithTies(scores);
  let positiveRankSum = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) positiveRankSum += ranks[i] as number;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Average precision of a scored binary ranking: Σ (Rₙ − Rₙ₋₁) · Pₙ over the
 * distinct score thresholds from high to low (tied scores enter together), as
 * `sklearn.metrics.average_precision_score`. Used for pair classification
 * (score = cosine of the pair, label = paraphrase or not).
 *
 * @throws EmbedkitError INVALID_INPUT as {@link rocAuc}.
 * @example
 * ```ts
 * averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.8333…
 * ```
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { positives } = checkBinary("averagePrecision", labels, scores);
  const order = Array.from({ length: labels.length }, (_, i) => i).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number),
  );
  let truePositives = 0;
  let seen = 0;
  let previousRecall = 0;
  let sum = 0;
  let index = 0;
  while (index < order.length) {
    const threshold = scores[order[index] as number] as number;
    // Take every item tied at this threshold before measuring precision.
    while (index < order.length && scores[order[index] as number] === threshold) {
      if (labels[order[index] as number] === 1) truePositives++;
      seen++;
      index++;
    }
    const recall = truePositives / positives;
    sum += (recall - previousRecall) * (truePositives / seen);
    previousRecall = recall;
  }
  return sum;
}

/** Result of {@link vMeasure}. */
export interface VMeasure {
  /** Each cluster holds members of one class only (1 = perfectly homogeneous). */
  readonly homogeneity: number;
  /** All members of a class fall in one cluster (1 = perfectly complete). */
  readonly completeness: number;
  /** Harmonic mean of homogeneity and completeness. */
  readonly vMeasure: number;
}

function entropy(counts: Iterable<number>, total: number): number {
  let value = 0;
  for (const count of counts) {
    if (count > 0) value -= (count / total) * Math.log(count / total);
  }
  return value;
}

/**
 * Homogeneity, completeness and V-measure of a clustering against true classes
 * (Rosenberg & Hirschberg 2007), as scikit-learn computes them: when the classes
 * (or clusters) have zero entropy, homogeneity (or completeness) is 1. The score
 * ignores how clusters are numbered.
 *
 * @throws EmbedkitError INVALID_INPUT for lists of different length or empty lists.
 * @example
 * ```ts
 * vMeasure([0, 0, 1, 1], [0, 0, 1, 2]); // { homogeneity: 1, completeness: 0.666…, vMeasure: 0.8 }
 * ```
 */
export function vMeasure(classes: readonly Label[], clusters: readonly Label[]): VMeasure {
  checkSameLength("vMeasure", classes, clusters);
  const n = classes.length;
  const classCounts = new Map<Label, number>();
  const clusterCounts = new Map<Label, number>();
  const joint = new Map<string, { count: number; cluster: Label; label: Label }>();
  for (let i = 0; i < n; i++) {
    const label = classes[i] as Label;
    const cluster = clusters[i] as Label;
    classCounts.set(label, (classCounts.get(label) ?? 0) + 1);
    clusterCounts.set(cluster, (clusterCounts.get(cluster) ?? 0) + 1);
    const key = `${typeof label}:${String(label)}\u0000${typeof cluster}:${String(cluster)}`;
    const cell = joint.get(key);
    if (cell === undefined) joint.set(key, { count: 1, cluster, label });
    else cell.count++;
  }
  const classEntropy = entropy(classCounts.values(), n);
  const clusterEntropy = entropy(clusterCounts.values(), n);
  // Conditional entropies H(C|K) and H(K|C) from the contingency table.
  let classGivenCluster = 0;
  let clusterGivenClass = 0;
  for (const { count, cluster, label } of joint.values()) {
    classGivenCluster -= (count / n) * Math.log(count / (clusterCounts.get(cluster) as number));
    clusterGivenClass -= (count / n) * Math.log(count / (classCounts.get(label) as number));
  }
  const homogeneity = classEntropy === 0 ? 1 : 1 - classGivenCluster / classEntropy;
  const completeness = clusterEntropy === 0 ? 1 : 1 - clusterGivenClass / clusterEntropy;
  const v =
    homogeneity + completeness === 0 ? 0 : (2 * homogeneity * completeness) / (homogeneity + completeness);
  return { homogeneity, completeness, vMeasure: v };
}
