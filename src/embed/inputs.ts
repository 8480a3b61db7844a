/**
 * @module embed/inputs
 * Checks and transformations every text provider applies the same way:
 * validating inputs and options before any work starts (so a bad input rejects
 * the whole call and changes nothing), query/passage prefixes, the final
 * `dimensions` / `precision` post-processing of unit vectors, and the one
 * error of a cancelled call. The pipeline core (pipeline.ts) applies them.
 */
import { describeType, EmbedkitError } from "../errors.js";
import { normalizeInPlace, truncateDimensions } from "../vectors/math.js";
import { assertPrecision, type Precision, type PrecisionVector, quantize } from "../vectors/quantize.js";
import type { EmbedOptions, InputType, ModelInfo } from "./embedder.js";

/** Inputs per call above which we refuse (guards memory; split bigger jobs). */
export const MAX_INPUTS_PER_CALL = 1_000_000;

/**
 * Validate a list of texts: an array of non-empty strings.
 * @throws EmbedkitError INVALID_INPUT naming the first bad index and what it received
 */
export function validateTexts(inputs: unknown): asserts inputs is readonly string[] {
  if (!Array.isArray(inputs)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `inputs must be an array of strings, received ${describeType(inputs)}. Wrap a single text in an array.`,
    );
  }
  if (inputs.length > MAX_INPUTS_PER_CALL) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Too many inputs in one call: ${inputs.length} (limit ${MAX_INPUTS_PER_CALL}). Split the job into smaller calls.`,
    );
  }
  for (let i = 0; i < inputs.length; i++) {
    const value: unknown = inputs[i];
    if (typeof value !== "string") {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Input ${i} must be a string, received ${describeType(value)}.`,
        { details: { index: i, received: describeType(value) } },
      );
    }
    if (value.length === 0) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Input ${i} is an empty string; an empty text has no meaning to embed. Remove it or give it content.`,
        { details: { index: i } },
      );
    }
  }
}

const INPUT_TYPES: readonly InputType[] = ["query", "passage", "none"];

/** Resolved, validated embed options. */
export interface ResolvedEmbedOptions<P extends Precision> {
  readonly inputType: InputType;
  readonly truncate: boolean;
  readonly dimensions: number;
  readonly precision: P;
}

/**
 * Validate options against the model and fill defaults. Never mutates `options`.
 * @throws EmbedkitError INVALID_OPTION
 */
export function resolveEmbedOptions<P extends Precision>(
  model: Pick<ModelInfo, "id" | "dims">,
  options: EmbedOptions<P> = {},
): ResolvedEmbedOptions<P> {
  if (typeof options !== "object" || options === null) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `options must be an object, received ${describeType(options)}.`,
    );
  }
  const inputType = options.inputType ?? "none";
  if (!INPUT_TYPES.includes(inputType)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `inputType must be one of ${INPUT_TYPES.join(", ")}, received ${JSON.stringify(inputType)}.`,
    );
  }
  const truncate = options.truncate ?? true;
  if (typeof truncate !== "boolean") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `truncate must be a boolean, received ${describeType(truncate)}.`,
    );
  }
  const dimensions = options.dimensions ?? model.dims;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > model.dims) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `dimensions must be an integer between 1 and ${model.dims} (${model.id}'s dimensions), received ${String(dimensions)}.`,
      { details: { max: model.dims, received: dimensions } },
    );
  }
  const precision = (options.precision ?? "float32") as P;
  assertPrecision(precision);
  return { inputType, truncate, dimensions, precision };
}

/** Prepend the model's query/passage prefix for the given input type. */
export function applyPrefix(text: string, inputType: InputType, prefixes: ModelInfo["prefixes"]): string {
  if (inputType === "none") return text;
  const prefix = prefixes[inputType];
  return prefix ? prefix + text : text;
}

/**
 * Final post-processing of one pooled vector: normalize (when the model does),
 * truncate to `dimensions` (re-normalizing), then quantize.
 */
export function finishVector<P extends Precision>(
  pooled: Float32Array,
  normalize: boolean,
  options: ResolvedEmbedOptions<P>,
): PrecisionVector[P] {
  let vector = normalize ? normalizeInPlace(pooled) : pooled;
  if (options.dimensions < vector.length) vector = truncateDimensions(vector, options.dimensions);
  return quantize(vector, options.precision);
}

/**
 * The error of a call stopped by the caller's AbortSignal: the signal's reason
 * itself when the caller gave one of its own (an `Error` that is not a
 * DOMException, e.g. a server's deadline error, so it keeps its meaning);
 * otherwise INVALID_INPUT "cancelled" with the reason (`AbortError`,
 * `TimeoutError`, anything else) as cause.
 */
export function cancelledError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && !(reason instanceof DOMException)) return reason;
  return new EmbedkitError("INVALID_INPUT", "Embedding was cancelled by the caller's AbortSignal.", {
    cause: reason,
  });
}

/** Throw {@link cancelledError} when `signal` has aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError(signal);
}

/** Throw CLOSED if an embedder was closed. */
export function assertOpen(closed: boolean, id: string): void {
  if (closed) {
    throw new EmbedkitError(
      "CLOSED",
      `The embedder for ${id} was closed; create a new one with createEmbedder().`,
    );
  }
}
