/**
 * @module embed/media
 * Media (image, video, audio) embedders: the shared contract, input checks and
 * decoders. Re-exports only.
 */

// Audio: decoding, features, embedders (GE2E speaker encoder, MFCC baseline, wav2vec2-style ONNX folders)
export type { AudioCore, AudioEmbedder, AudioEmbedderSettings } from "./audio/audio-embedder.js";
export { DEFAULT_AUDIO_LIMITS, wrapAudioCore } from "./audio/audio-embedder.js";
export type { CreateAudioEmbedderOptions } from "./audio/create-audio-embedder.js";
export { BUILTIN_AUDIO_MODELS, createAudioEmbedder } from "./audio/create-audio-embedder.js";
export type { DecodeAudioOptions, DecodedAudio } from "./audio/decode-audio.js";
export { DEFAULT_MAX_AUDIO_SECONDS, decodeAudio, decodeAudioFile } from "./audio/decode-audio.js";
export type { FeatureMatrix, MelOptions } from "./audio/mel.js";
export { deltas, melFilterbank, melSpectrogram, mfccFromLogMel, powerToDecibels } from "./audio/mel.js";
export { MFCC_FRONT_END, MFCC_STATISTICS_DIMS, mfccStatistics } from "./audio/mfcc-embedder.js";
export { resample } from "./audio/resample.js";
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
