/**
 * @module embed/media/media-pipeline
 * The pipeline core (../pipeline.ts) for media files: a media provider says how
 * inputs are opened (bytes or paths), what it checks up front (`inspect`, e.g.
 * image headers against the pixel limit) and how one sub-batch of opened files
 * becomes raw vectors (`doEmbed`); {@link embedMedia} does the rest exactly as
 * for text — checks before any work, planning, cancellation between
 * sub-batches, finishing, progress — and adds media usage (inputs, pixels, seconds).
 */
import type { Precision } from "../../vectors/quantize.js";
import { type EmbedProvider, runPipeline } from "../pipeline.js";
import { prepareMediaCall } from "./media-call.js";
import type {
  MediaEmbeddings,
  MediaEmbedOptions,
  MediaInput,
  MediaLimits,
  MediaModality,
  MediaModelInfo,
} from "./media-embedder.js";
import type { MediaFile } from "./media-input.js";

/** Per-call facts a media provider gets with every sub-batch. */
export interface MediaContext {
  /** The call's limits (the embedder's, overridden by the call's). */
  readonly limits: MediaLimits;
  /** The caller's options (a provider may read its own extra options from them). */
  readonly options: MediaEmbedOptions<Precision>;
}

/** A media provider: model facts, how inputs are opened, and {@link EmbedProvider.doEmbed} over opened files. */
export interface MediaProvider extends EmbedProvider<MediaFile, MediaContext> {
  readonly model: MediaModelInfo;
  /** Modality reported in the result. @default model.modality */
  readonly modality?: MediaModality;
  /** Load every input's bytes up front (images) or keep paths for streaming decoders (audio, video). */
  readonly read: boolean;
  /** Whether raw vectors are normalized before `dimensions`. @default model.normalize */
  readonly normalize?: boolean;
  /** What the result's usage reports besides `inputs`: decoded pixels, seconds of media. */
  readonly measures: { readonly pixels: boolean; readonly seconds: boolean };
  /** Throws CLOSED when the embedder was closed. */
  assertOpen(): void;
  /**
   * Check every opened input before the first sub-batch (e.g. image headers
   * against the pixel limit); returns usage known up front.
   */
  inspect?(files: readonly MediaFile[], context: MediaContext): Promise<{ readonly pixels?: number }>;
}

/**
 * The whole `embed(inputs, options)` of a media provider: the inputs array and
 * options checked, every input opened and sniffed (and inspected) before the
 * first decode, {@link runPipeline}, the result with media usage.
 * @throws EmbedkitError INVALID_INPUT, FILE_NOT_FOUND, MALFORMED_FILE, UNSUPPORTED_MEDIA,
 *   INPUT_TOO_LARGE, INVALID_OPTION, CLOSED and the provider's errors
 */
export async function embedMedia<P extends Precision = "float32">(
  provider: MediaProvider,
  inputs: readonly MediaInput[],
  options: MediaEmbedOptions<P> = {},
): Promise<MediaEmbeddings<P>> {
  provider.assertOpen();
  const { model } = provider;
  const call = await prepareMediaCall(model, inputs, options, provider.read);
  const context: MediaContext = { limits: call.limits, options: options as MediaEmbedOptions<Precision> };
  const inspected = (await provider.inspect?.(call.files, context)) ?? {};
  const result = await runPipeline(provider, call.files, context, {
    resolved: call.options,
    normalize: provider.normalize ?? model.normalize,
    signal: options.signal,
    assertOpen: () => provider.assertOpen(),
    onProgress: options.onProgress,
  });
  const { measures } = provider;
  return {
    vectors: result.vectors,
    dims: call.options.dimensions,
    precision: call.options.precision,
    modality: provider.modality ?? model.modality,
    usage: {
      tokens: 0,
      inputs: call.files.length,
      ...(measures.pixels ? { pixels: inspected.pixels ?? result.pixels } : {}),
      ...(measures.seconds ? { seconds: result.seconds } : {}),
    },
  };
}
