/**
 * @module eval/metrics
 * Correlation metrics for STS-style evaluation: Pearson's r, Spearman's rho and
 * the average-rank transform behind it. Spearman is computed the way SciPy's
 * `scipy.stats.spearmanr` does it (Pearson's r of the average ranks, so tied
 * values share the mean of the ranks they span), which is what SBERT, MTEB and
 * C-MTEB report. Inputs are validated strictly: a correlation over mismatched,
 * too short, non-finite or constant data is undefined, and we throw rather than
 * return NaN so a broken evaluation never prints a plausible-looking number.
 */
import { describeType, EmbedkitError } from "../errors.js";

/** A list of numbers as accepted by the metrics (plain arrays or typed arrays). */
export type NumberList = ArrayLike<number>;

function validateList(values: unknown, name: string): asserts values is NumberList {
  const isList = Array.isArray(values) || (ArrayBuffer.isView(values) && !(values instanceof DataView));
  if (!isList) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${name} must be an array of numbers, received ${describeType(values)}.`,
      { details: { argument: name, received: describeType(values) } },
    );
  }
  const list = values as ArrayLike<unknown>;
  for (let i = 0; i < list.length; i++) {
    const value = list[i];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${name}[${i}] must be a finite number, received ${typeof value === "number" ? String(value) : describeType(value)}. ` +
          "Remove or repair that item before computing a correlation (NaN and Infinity have no rank or mean).",
        { details: { argument: name, index: i } },
      );
    }
  }
}

function validatePair(x: unknown, y: unknown): asserts x is NumberList {
  validateList(x, "x");
  validateList(y, "y");
  const yList = y as NumberList;
  if (x.length !== yList.length) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `x and y must have the same length, received ${x.length} and ${yList.length}. ` +
        "Each position must hold the two scores of the same item.",
      { details: { expected: x.length, received: yList.length } },
    );
  }
  if (x.length < 2) {
    throw new EmbedkitError("INVALID_INPUT", `A correlation needs at least 2 items, received ${x.length}.`, {
      details: { expected: 2, received: x.length },
    });
  }
}

/** Pearson's r of validated lists; throws when either side is constant. */
function pearsonUnchecked(x: NumberList, y: NumberList, what: string): number {
  const n = x.length;
  let meanX = 0;
  let meanY = 0;
  for (let i = 0; i < n; i++) {
    meanX += x[i] as number;
    meanY += y[i] as number;
  }
  meanX /= n;
  meanY /= n;
  // Two-pass (centred) sums: stable even when values sit far from zero.
  let sumXY = 0;
  let sumXX = 0;
  let sumYY = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - meanX;
    const dy = (y[i] as number) - meanY;
    sumXY += dx * dy;
    sumXX += dx * dx;
    sumYY += dy * dy;
  }
  if (sumXX === 0 || sumYY === 0) {
    const side = sumXX === 0 ? "x" : "y";
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${what} is undefined when one side has zero variance: all ${n} ${side} values are equal. ` +
        "Expected scores that vary; check that the scores were read from the right column.",
      { details: { constant: side } },
    );
  }
  const r = sumXY / Math.sqrt(sumXX * sumYY);
  // Rounding can push |r| a hair past 1 for perfectly (anti-)correlated data.
  return Math.max(-1, Math.min(1, r));
}

/**
 * Pearson's correlation coefficient r between two equally long lists.
 *
 * @returns r in [-1, 1]: 1 for a perfect increasing linear relation, -1 for a
 *   perfect decreasing one, 0 for none. Never NaN.
 * @throws EmbedkitError INVALID_INPUT when the inputs are not arrays of finite
 *   numbers (NaN or Infinity anywhere), differ in length, hold fewer than 2 items,
 *   or when either list is constant (zero variance: r is undefined).
 * @example
 * ```ts
 * pearson([1, 2, 3], [2, 4, 6]); // 1
 * pearson([1, 2, 3], [3, 2, 1]); // -1
 * ```
 */
export function pearson(x: NumberList, y: NumberList): number {
  validatePair(x, y);
  return pearsonUnchecked(x, y, "Pearson's r");
}

/**
 * Ranks of values, 1-based, with ties given the average of the ranks they span
 * (SciPy's `rankdata(method="average")`). `[10, 20, 20, 30]` → `[1, 2.5, 2.5, 4]`.
 *
 * @returns a new Float64Array, one rank per input in input order.
 * @throws EmbedkitError INVALID_INPUT when `values` is not an array of finite numbers.
 * @example
 * ```ts
 * rankWithTies([3, 1, 3, 2]); // Float64Array [3.5, 1, 3.5, 2]
 * ```
 */
export function rankWithTies(values: NumberList): Float64Array {
  validateList(values, "values");
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (values[a] as number) - (values[b] as number),
  );
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    // Find the run [start, end) of equal values in sorted order.
    const value = values[order[start] as number] as number;
    let end = start + 1;
    while (end < n && values[order[end] as number] === value) end++;
    // Positions start..end-1 hold ranks start+1..end; their mean is (start+1+end)/2.
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k] as number] = averageRank;
    start = end;
  }
  return ranks;
}

/**
 * Spearman's rank correlation rho: Pearson's r of the average ranks
 * ({@link rankWithTies}), so ties are handled exactly as `scipy.stats.spearmanr`.
 *
 * @returns rho in [-1, 1]: 1 when y increases with x (any monotone relation),
 *   -1 when it decreases. Never NaN.
 * @throws EmbedkitError INVALID_INPUT when the inputs are not arrays of finite
 *   numbers, differ in length, hold fewer than 2 items, or when either list is
 *   constant (all values tied: rho is undefined).
 * @example
 * ```ts
 * spearman([1, 2, 3, 4], [1, 4, 9, 16]); // 1 (monotone, not linear)
 * spearman([1, 2, 2, 3], [1, 2, 3, 4]); // 0.9486832980505138
 * ```
 */
export function spearman(x: NumberList, y: NumberList): number {
  validatePair(x, y);
  return pearsonUnchecked(rankWithTies(x), rankWithTies(y), "Spearman's rho");
}
