/**
 * @module internal/options
 * One family of option validators, with one argument order:
 * `checkX(name, value, { min, max })`. Each returns the value (typed) or throws
 * `EmbedkitError` INVALID_OPTION whose message names the option, the accepted
 * range and what was received, with the same facts in `details`
 * (`param` — the name the server's error handler reports, as for request
 * fields — `received`, `min`, `max`).
 *
 * Internal: not re-exported from `src/index.ts`.
 */
import { EmbedkitError } from "../errors.js";

/** Inclusive bounds of a numeric option. */
export interface NumberRange {
  /** Smallest accepted value (inclusive). */
  readonly min?: number;
  /** Largest accepted value (inclusive). */
  readonly max?: number;
  /** Why the bound exists, shown in parentheses after the range ("the other rows are the negatives"). */
  readonly reason?: string;
}

/** Bounds of {@link checkNumber}, which may also exclude its lower bound. */
export interface RealRange extends NumberRange {
  /** Smallest value, excluded (`> above`), e.g. `0` for a positive learning rate. */
  readonly above?: number;
}

function received(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    return String(value);
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function rangeText(range: RealRange): string {
  const parts: string[] = [];
  if (range.above !== undefined) parts.push(`> ${range.above}`);
  if (range.min !== undefined && range.max !== undefined) parts.push(`from ${range.min} to ${range.max}`);
  else if (range.min !== undefined) parts.push(`>= ${range.min}`);
  else if (range.max !== undefined) parts.push(`<= ${range.max}`);
  return parts.length === 0 ? "" : ` ${parts.join(" and ")}`;
}

/** `shown` is the part of `range` the message spells out (the rest is in `kind`). */
function invalid(name: string, kind: string, value: unknown, range: RealRange, shown = range): EmbedkitError {
  const { reason, ...bounds } = range;
  return new EmbedkitError(
    "INVALID_OPTION",
    `${name} must be ${kind}${rangeText(shown)}${reason === undefined ? "" : ` (${reason})`}, received ${received(value)}.`,
    { details: { param: name, received: value, ...bounds } },
  );
}

/** "a positive integer" reads better than "an integer >= 1" (and is what users search for). */
function integerKind(range: NumberRange): { kind: string; rest: NumberRange } {
  if (range.max === undefined && range.min === 1) return { kind: "a positive integer", rest: {} };
  if (range.max === undefined && range.min === 0) return { kind: "a non-negative integer", rest: {} };
  return { kind: "an integer", rest: range };
}

/**
 * `value` as an integer within `range` (a safe integer, so counts stay exact).
 *
 * @throws EmbedkitError INVALID_OPTION for a non-integer or out-of-range value.
 * @example
 * ```ts
 * const k = checkInteger("k", options.k ?? 10, { min: 1, max: 100 });
 * ```
 */
export function checkInteger(name: string, value: unknown, range: NumberRange = {}): number {
  if (
    typeof value !== "number" ||
    !Number.isSafeInteger(value) ||
    (range.min !== undefined && value < range.min) ||
    (range.max !== undefined && value > range.max)
  ) {
    const { kind, rest } = integerKind(range);
    throw invalid(name, kind, value, range, rest);
  }
  return value;
}

/**
 * `value` as a finite number within `range`.
 *
 * @throws EmbedkitError INVALID_OPTION for NaN, ±Infinity, a non-number or an out-of-range value.
 */
export function checkNumber(name: string, value: unknown, range: RealRange = {}): number {
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    (range.above !== undefined && value <= range.above) ||
    (range.min !== undefined && value < range.min) ||
    (range.max !== undefined && value > range.max)
  ) {
    throw invalid(name, "a finite number", value, range);
  }
  return value;
}

/**
 * {@link checkInteger} for an optional option: `fallback` when `value` is
 * `undefined`, else the checked value.
 */
export function checkOptionalInteger(
  name: string,
  value: unknown,
  fallback: number,
  range: NumberRange = {},
): number {
  return value === undefined ? fallback : checkInteger(name, value, range);
}
