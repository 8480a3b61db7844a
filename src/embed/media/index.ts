/**
 * @module embed/media
 * Media (image, video, audio) embedders: the shared contract, input checks and
 * decoders. Re-exports only.
 */

// Audio: decoding, features, embedders (GE2E speaker encoder, openWakeWord speech embedding, MFCC baseline, wav2vec2-style ONNX folders, CLAP audio-text pairs)
export type { AudioCore, AudioEmbedder, AudioEmbedderSettings } from "./audio/audio-embedder.js";
export { DEFAULT_AUDIO_LIMITS, wrapAudioCore } from "./audio/audio-embedder.js";
export type { ClapEmbedder, CreateClapEmbedderOptions } from "./audio/clap-embedder.js";
export {
  createClapAudioEmbedder,
  createClapEmbedder,
  createClapTextEmbedder,
} from "./audio/clap-embedder.js";
export type { ClapFrontEnd } from "./audio/clap-features.js";
export {
  CLAP_HTSAT_UNFUSED_FRONT_END,
  clapFrontEndFromConfig,
  clapLogMel,
  clapWindows,
} from "./audio/clap-features.js";
export type { CreateAudioEmbedderOptions } from "./audio/create-audio-embedder.js";
export { BUILTIN_AUDIO_MODELS, createAudioEmbedder } from "./audio/create-audio-embedder.js";
export type { DecodeAudioOptions, DecodedAudio } from "./audio/decode-audio.js";
export { DEFAULT_MAX_AUDIO_SECONDS, decodeAudio, decodeAudioFile } from "./audio/decode-audio.js";
export type { FeatureMatrix, MelOptions } from "./audio/mel.js";
export { deltas, melFilterbank, melSpectrogram, mfccFromLogMel, powerToDecibels } from "./audio/mel.js";
export { MFCC_FRONT_END, MFCC_STATISTICS_DIMS, mfccStatistics } from "./audio/mfcc-embedder.js";
export { resample } from "./audio/resample.js";
export type { SpeechCore, SpeechCoreOptions, SpeechPadding, SpeechPooling } from "./audio/speech-embedder.js";
export {
  createSpeechCore,
  poolSpeechWindows,
  SPEECH_FRONT_END,
  SPEECH_PADDINGS,
  SPEECH_POOLINGS,
} from "./audio/speech-embedder.js";
// Image: decoding (sharp), the TF.js MobileNetV2 default, CLIP-style ONNX pairs, face-api face descriptors
export type { ClipEmbedder, CreateClipEmbedderOptions } from "./image/clip-embedder.js";
export { createClipEmbedder, preprocessFromConfig } from "./image/clip-embedder.js";
export type { CreateImageEmbedderOptions, ImageRuntime } from "./image/create-image-embedder.js";
export { createImageEmbedder, IMAGE_RUNTIMES } from "./image/create-image-embedder.js";
export type { ImageHeader, RgbImage } from "./image/decode-image.js";
export { decodeImage, readImageHeader } from "./image/decode-image.js";
export type {
  DetectedFace,
  DetectFacesOptions,
  FaceEmbedder,
  FaceEmbedderOptions,
} from "./image/face-embedder.js";
export { createFaceEmbedder, FACE_MAX_SIDE } from "./image/face-embedder.js";
export type { KerasOnnxImageEmbedderOptions } from "./image/keras-onnx-image-embedder.js";
export { createKerasOnnxImageEmbedder } from "./image/keras-onnx-image-embedder.js";
export type { PixelEmbedder } from "./image/pixel-embedder.js";
export type { TfjsImageEmbedder, TfjsImageEmbedderOptions } from "./image/tfjs-image-embedder.js";
export { createTfjsImageEmbedder } from "./image/tfjs-image-embedder.js";
export type { TfjsBackend } from "./image/tfjs-runtime.js";
export { TFJS_BACKENDS } from "./image/tfjs-runtime.js";
export type { ImageThumbnailOptions } from "./image/thumbnail.js";
export {
  imageThumbnail,
  isThumbnailDataUrl,
  MAX_THUMBNAIL_CHARS,
  THUMBNAIL_FIELD,
  THUMBNAIL_SIZE,
} from "./image/thumbnail.js";
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
export {
  MEDIA_FORMATS,
  openMediaInput,
  resolveMediaLimits,
  sniffFileModality,
  sniffMediaType,
} from "./media-input.js";
export { mediaPathEmbedder } from "./media-path-embedder.js";
// Video: ffmpeg frame sampling, temporal pooling, segments and cuts
export type {
  FrameSampling,
  SampledVideo,
  SampleFramesOptions,
  StreamedVideo,
  StreamFramesOptions,
  VideoFrame,
  VideoInfo,
} from "./video/sample-frames.js";
export { sampleFrames, streamFrames } from "./video/sample-frames.js";
export type {
  AnalyzeVideoOptions,
  CreateVideoEmbedderOptions,
  FrameVector,
  TemporalPooler,
  TemporalPooling,
  VideoAnalysis,
  VideoEmbedder,
  VideoEmbedOptions,
  VideoSegment,
} from "./video/video-embedder.js";
export {
  createTemporalPooler,
  createVideoEmbedder,
  detectBoundaries,
  poolVectors,
  segmentFrames,
  TEMPORAL_POOLINGS,
} from "./video/video-embedder.js";
