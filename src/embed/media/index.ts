/**
 * @module embed/media
 * Media (image, video, audio) embedders: the shared contract, input checks and
 * decoders. Re-exports only.
 */
export type {
  ImageTextEmbedder,
  MediaEmbedder,
  MediaEmbeddings,
  MediaEmbedOptions,
  MediaInput,
  MediaLimits,
  MediaModality,
  MediaModelInfo,
  NamedBytes,
} from "./media-embedder.js";
export { DEFAULT_MEDIA_LIMITS, MEDIA_MODALITIES } from "./media-embedder.js";
export type { MediaFile, OpenMediaInputOptions, SniffedType } from "./media-input.js";
export { MEDIA_FORMATS, openMediaInput, resolveMediaLimits, sniffMediaType } from "./media-input.js";
