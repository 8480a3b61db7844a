/**
 * @module apps/faq/answer-threshold
 * When to answer and when to fall back. A FAQ answers with its best match only
 * when the match's confidence (its aggregated cosine) reaches a threshold;
 * otherwise it gives the fallback ("Sorry, I don't know — let me connect you
 * with a person"). This file turns labelled outcomes into the
 * precision/coverage curve of that threshold and picks a threshold on a
 * calibration split by one of three objectives:
 * - `accuracy`: most right decisions (right answer, or fallback for a question the FAQ cannot answer);
 * - `precision`: answer as often as possible while at least `target` of the answers given are right;
 * - `in-scope-accuracy`: reject as much as possible while at least `target` of answerable questions
 *   still get the right answer ("out-of-scope recall at a given in-scope accuracy").
 *
 * The threshold returned lies halfway between two neighbouring confidences of
 * the calibration split, not on one of them, so it does not overfit an exact
 * calibration value.
 */
import { EmbedkitError } from "../../errors.js";

/** One labelled question's outcome when the FAQ always answers with its best match. */
export interface AnswerOutcome {
  /** Confidence of the best answer. */
  readonly confidence: number;
  /** Whether the FAQ holds a right answer for the question. */
  readonly inScope: boolean;
  /** Whether the best answer is a right one (always false when not in scope). */
  readonly correct: boolean;
}

/** Quality of one threshold. Ratios in [0, 1]. */
export interface ThresholdPoint {
  /** Answer when confidence ≥ threshold. */
  readonly threshold: number;
  /** Share of all questions answered (not fallen back). */
  readonly coverage: number;
  /** Share of the answers given that are right (1 when nothing is answered). */
  readonly precision: number;
  /** Share of answerable questions that get the right answer. */
  readonly inScopeAccuracy: number;
  /** Share of unanswerable questions that get the fallback; `null` without such questions. */
  readonly outOfScopeRecall: number | null;
  /** Share of right decisions: right answer, or fallback when unanswerable. */
  readonly accuracy: number;
}

/** What {@link calibrateThreshold} optimizes. */
export type CalibrationObjective =
  | { readonly kind: "accuracy" }
  | { readonly kind: "precision"; readonly target: number }
  | { readonly kind: "in-scope-accuracy"; readonly target: number };

/** Result of {@link calibrateThreshold}. */
export interface Calibration {
  readonly threshold: number;
  readonly objective: CalibrationObjective;
  /** The chosen threshold's quality on the calibration outcomes. */
  readonly point: ThresholdPoint;
  /** False when no threshold reaches the target; then the closest one is returned. */
  readonly targetMet: boolean;
}

function checkOutcomes(outcomes: readonly AnswerOutcome[]): void {
  if (outcomes.length === 0) {
    throw new EmbedkitError("INVALID_INPUT", "Threshold calibration needs at least one labelled question.");
  }
  outcomes.forEach((outcome, index) => {
    if (!Number.isFinite(outcome.confidence)) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `outcome ${index} has confidence ${String(outcome.confidence)}; confidences must be finite numbers.`,
      );
    }
  });
}

/**
 * Quality of answering when confidence ≥ `threshold`.
 * @throws EmbedkitError INVALID_INPUT for no outcomes or a non-finite confidence
 */
export function evaluateThreshold(outcomes: readonly AnswerOutcome[], threshold: number): ThresholdPoint {
  checkOutcomes(outcomes);
  return sweep(outcomes, [threshold])[0] as ThresholdPoint;
}

/** Evaluate several thresholds with one sort (thresholds in any order; points in the same order). */
function sweep(outcomes: readonly AnswerOutcome[], thresholds: readonly number[]): ThresholdPoint[] {
  const sorted = [...outcomes].sort((a, b) => b.confidence - a.confidence);
  const inScope = outcomes.filter((outcome) => outcome.inScope).length;
  const outOfScope = outcomes.length - inScope;
  const order = thresholds
    .map((threshold, index) => ({ threshold, index }))
    .sort((a, b) => b.threshold - a.threshold);
  const points: ThresholdPoint[] = new Array(thresholds.length);
  let position = 0;
  let answered = 0;
  let correct = 0;
  let answeredOutOfScope = 0;
  for (const { threshold, index } of order) {
    while (position < sorted.length && (sorted[position] as AnswerOutcome).confidence >= threshold) {
      const outcome = sorted[position] as AnswerOutcome;
      answered++;
      if (outcome.correct) correct++;
      if (!outcome.inScope) answeredOutOfScope++;
      position++;
    }
    const rejectedOutOfScope = outOfScope - answeredOutOfScope;
    points[index] = {
      threshold,
      coverage: answered / outcomes.length,
      precision: answered === 0 ? 1 : correct / answered,
      inScopeAccuracy: inScope === 0 ? 0 : correct / inScope,
      outOfScopeRecall: outOfScope === 0 ? null : rejectedOutOfScope / outOfScope,
      accuracy: (correct + rejectedOutOfScope) / outcomes.length,
    };
  }
  return points;
}

/** A small step away from `value` (relative for large values). */
function nudge(value: number): number {
  return Math.max(1e-6, Math.abs(value) * 1e-6);
}

/**
 * Every threshold worth considering, ascending: one just below the lowest
 * confidence (answer everything), each midpoint between neighbouring distinct
 * confidences, and one just above the highest (answer nothing). All finite, so
 * a chosen threshold can be stored as JSON.
 */
function candidateThresholds(outcomes: readonly AnswerOutcome[]): number[] {
  const distinct = [...new Set(outcomes.map((outcome) => outcome.confidence))].sort((a, b) => a - b);
  const lowest = distinct[0] as number;
  const candidates = [lowest - nudge(lowest)];
  for (let i = 1; i < distinct.length; i++) {
    candidates.push(((distinct[i - 1] as number) + (distinct[i] as number)) / 2);
  }
  const highest = distinct[distinct.length - 1] as number;
  candidates.push(highest + nudge(highest));
  return candidates;
}

/**
 * The precision/coverage curve: the quality of every candidate threshold
 * (below the minimum, midpoints between neighbouring confidences, above the maximum), in
 * ascending threshold order. Pass `points` to thin it to about that many
 * evenly spaced (by coverage) points for reports.
 *
 * @throws EmbedkitError INVALID_INPUT for no outcomes or a non-finite confidence
 */
export function thresholdCurve(
  outcomes: readonly AnswerOutcome[],
  options: { readonly points?: number } = {},
): ThresholdPoint[] {
  checkOutcomes(outcomes);
  const curve = sweep(outcomes, candidateThresholds(outcomes));
  const wanted = options.points;
  if (wanted === undefined || curve.length <= wanted) return curve;
  const thinned: ThresholdPoint[] = [];
  let nextCoverage = Number.POSITIVE_INFINITY;
  const step = 1 / Math.max(1, wanted - 1);
  for (const point of curve) {
    if (point.coverage <= nextCoverage) {
      thinned.push(point);
      nextCoverage = point.coverage - step;
    }
  }
  const last = curve[curve.length - 1] as ThresholdPoint;
  if (thinned[thinned.length - 1] !== last) thinned.push(last);
  return thinned;
}

function checkTarget(objective: CalibrationObjective): void {
  if (objective.kind === "accuracy") return;
  if (!Number.isFinite(objective.target) || objective.target <= 0 || objective.target > 1) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `The ${objective.kind} target must be a number in (0, 1], received ${String(objective.target)}.`,
      { details: { param: "target", received: objective.target } },
    );
  }
}

/**
 * Choose a confidence threshold on labelled calibration outcomes.
 *
 * @throws EmbedkitError INVALID_INPUT (no outcomes), INVALID_OPTION (target outside (0, 1])
 * @example
 * ```ts
 * const { threshold } = calibrateThreshold(outcomes, { kind: "precision", target: 0.9 });
 * ```
 */
export function calibrateThreshold(
  outcomes: readonly AnswerOutcome[],
  objective: CalibrationObjective = { kind: "accuracy" },
): Calibration {
  checkOutcomes(outcomes);
  checkTarget(objective);
  const curve = sweep(outcomes, candidateThresholds(outcomes));
  // curve is in ascending threshold order: coverage falls, rejection rises along it.
  const finish = (point: ThresholdPoint, targetMet: boolean): Calibration => ({
    threshold: point.threshold,
    objective,
    point,
    targetMet,
  });
  if (objective.kind === "accuracy") {
    let best = curve[0] as ThresholdPoint;
    for (const point of curve) if (point.accuracy > best.accuracy) best = point;
    return finish(best, true);
  }
  if (objective.kind === "precision") {
    // Lowest threshold (most coverage) whose answers are precise enough.
    const met = curve.find((point) => point.coverage > 0 && point.precision >= objective.target);
    if (met !== undefined) return finish(met, true);
    let best = curve[0] as ThresholdPoint;
    for (const point of curve) if (point.coverage > 0 && point.precision > best.precision) best = point;
    return finish(best, false);
  }
  // Highest threshold (most fallbacks) that keeps enough answerable questions right.
  for (let i = curve.length - 1; i >= 0; i--) {
    const point = curve[i] as ThresholdPoint;
    if (point.inScopeAccuracy >= objective.target) return finish(point, true);
  }
  return finish(curve[0] as ThresholdPoint, false);
}
