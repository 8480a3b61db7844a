/**
 * @module embed/media/media-call
 * What every {@link MediaEmbedder} does the same way at the start of a call:
 * check the inputs array and the options (dimensions, precision, limits) and
 * open + sniff every input, all before the first decode or inference, so a bad
 * item rejects the whole call and nothing is half-done.
 */
import { describeType, EmbedkitError } from "../../errors.js";
import type { Precision } from "../../vectors/quantize.js";
import {
  MAX_INPUTS_PER_CALL,
  type ResolvedEmbedOptions,
  resolveEmbedOptions,
  throwIfCancelled,
} from "../inputs.js";
import type { MediaEmbedOptions, MediaInput, MediaModelInfo } from "./media-embedder.js";
import { type MediaFile, openMediaInput, resolveMediaLimits } from "./media-input.js";

/** A validated media call: options with defaults and every input opened. */
export interface PreparedMediaCall<P extends Precision> {
  readonly options: ResolvedEmbedOptions<P>;
  readonly limits: MediaModelInfo["limits"];
  readonly files: readonly MediaFile[];
}

/**
 * Validate `inputs` and `options` for `model` and open every input.
 * @param read load file bytes into memory (images, audio) or keep paths (video)
 * @throws EmbedkitError INVALID_INPUT, INVALID_OPTION and the errors of {@link openMediaInput}
 */
export async function prepareMediaCall<P extends Precision>(
  model: MediaModelInfo,
  inputs: readonly MediaInput[],
  options: MediaEmbedOptions<P>,
  read: boolean,
): Promise<PreparedMediaCall<P>> {
  if (!Array.isArray(inputs)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `inputs must be an array of ${model.modality} files (paths or bytes), received ${describeType(inputs)}. ` +
        "Wrap a single input in an array.",
    );
  }
  if (inputs.length > MAX_INPUTS_PER_CALL) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Too many inputs in one call: ${inputs.length} (limit ${MAX_INPUTS_PER_CALL}). Split the job.`,
    );
  }
  const resolved = resolveEmbedOptions<P>(model, {
    ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions }),
    ...(options.precision === undefined ? {} : { precision: options.precision }),
  });
  const limits = resolveMediaLimits(model.limits, options.limits);
  const files: MediaFile[] = [];
  for (let index = 0; index < inputs.length; index++) {
    throwIfCancelled(options.signal);
    files.push(
      await openMediaInput(inputs[index] as MediaInput, { modality: model.modality, limits, index, read }),
    );
  }
  return { options: resolved, limits, files };
}
