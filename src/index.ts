/**
 * @module embedkit
 * Embeddings, end to end, in TypeScript. The public API, grouped by area.
 *
 * @example
 * ```ts
 * import { createEmbedder, cosineSimilarity } from "embedkit";
 * const embedder = await createEmbedder();            // all-MiniLM-L6-v2, pulled once
 * const { vectors } = await embedder.embed(["sunny day", "bright weather"]);
 * console.log(cosineSimilarity(vectors[0], vectors[1]));
 * await embedder.close();
 * ```
 */

export type {
  AskFaqOptions,
  CalibrationObjective,
  Faq,
  FaqCalibration,
  FaqCandidate,
  FaqEntry,
  FaqReply,
  FaqSettings,
  IndexFaqOptions,
  IndexFaqReport,
  IndexRecommenderOptions,
  IndexRecommenderReport,
  LabelledQuery,
  Recommendation,
  Recommender,
} from "./apps/index.js";
// Apps: FAQ answering (customer service), recommendation (content-based + hybrid)
export {
  calibrateThreshold,
  createFaq,
  detectFaqLanguage,
  indexFaq,
  indexRecommender,
  openRecommender,
  parseFaqEntries,
  readFaqFile,
  readLabelledQueries,
} from "./apps/index.js";
export type {
  AiSdkCallOptions,
  AiSdkEmbedCall,
  AiSdkEmbeddingModel,
  AiSdkEmbeddingModelOptions,
  AiSdkEmbedResult,
  CreateEmbedderOptions,
  CreateLocalEmbedderOptions,
  CreateOpenAIEmbedderOptions,
  Embedder,
  EmbedderLike,
  Embeddings,
  EmbedManyOptions,
  EmbedOneOptions,
  EmbedOptions,
  InputType,
  LangChainEmbeddings,
  ModelInfo,
  OnnxEmbedder,
  OnnxEmbedderOptions,
  OpenAIEmbedder,
  OpenAIEmbedderOptions,
  OpenAIEmbeddingModelId,
  OpenAIEncodingFormat,
  OpenAIModelFacts,
  ParaphraseMiningOptions,
  ParaphrasePair,
  ReferenceResult,
  SearchHit,
  SemanticSearchOptions,
  TokenEmbeddings,
  ZeroShotClassifier,
  ZeroShotClassifierOptions,
  ZeroShotClassifyOptions,
  ZeroShotPrediction,
  ZeroShotSettings,
} from "./embed/index.js";
// Embedding
// Zero-shot classification
export {
  AI_SDK_PROVIDER,
  checkReferences,
  closeEmbedders,
  createEmbedder,
  createOnnxEmbedder,
  createOpenAIEmbedder,
  createZeroShotClassifier,
  DEFAULT_ZERO_SHOT_MODELS,
  DEFAULT_ZERO_SHOT_TEMPERATURE,
  EMBEDDER_PROVIDERS,
  embed,
  embedMany,
  GENERIC_ZERO_SHOT_SETTINGS,
  OPENAI_DEFAULT_BASE_URL,
  OPENAI_EMBEDDING_MODELS,
  paraphraseMining,
  semanticSearch,
  toAiSdkEmbeddingModel,
  toLangChainEmbeddings,
  ZERO_SHOT_DEFAULTS,
  zeroShotDefaults,
} from "./embed/index.js";
export type {
  AudioEmbedder,
  ClapEmbedder,
  ClipEmbedder,
  CreateAudioEmbedderOptions,
  CreateClapEmbedderOptions,
  CreateClipEmbedderOptions,
  CreateImageEmbedderOptions,
  CreateVideoEmbedderOptions,
  DecodeAudioOptions,
  DecodedAudio,
  DetectedFace,
  FaceEmbedder,
  FrameSampling,
  ImageRuntime,
  ImageTextEmbedder,
  MediaEmbedder,
  MediaEmbeddings,
  MediaEmbedOptions,
  MediaInput,
  MediaLimits,
  MediaModality,
  PixelEmbedder,
  TemporalPooling,
  VideoAnalysis,
  VideoEmbedder,
  VideoSegment,
} from "./embed/media/index.js";
// Media: audio (decoding, log-mel/MFCC features, speaker embeddings, CLAP audio-text pairs)
// Media: images (MobileNetV2 default, CLIP-style pairs) and video (frames, pooling, cuts)
export {
  createAudioEmbedder,
  createClapEmbedder,
  createClipEmbedder,
  createFaceEmbedder,
  createImageEmbedder,
  createVideoEmbedder,
  DEFAULT_AUDIO_LIMITS,
  DEFAULT_MEDIA_LIMITS,
  decodeAudio,
  IMAGE_RUNTIMES,
  melSpectrogram,
  mfccFromLogMel,
  powerToDecibels,
  resample,
} from "./embed/media/index.js";
export type {
  NearestWordsOptions,
  WordNeighbor,
  WordPooling,
  WordVectorEmbedder,
  WordVectorEmbedderOptions,
} from "./embed/word-vectors/index.js";
// Word-level vectors
export { createWordVectorEmbedder, tokenizeWords, WORD_POOLINGS } from "./embed/word-vectors/index.js";
export type { EmbedkitErrorOptions, ErrorCode } from "./errors.js";
// Errors
export { describeType, EmbedkitError, ERROR_CODES } from "./errors.js";
export type {
  ClassificationResult,
  ClusteringResult,
  EvalReport,
  EvaluateStsOptions,
  InformationDensity,
  LabeledText,
  PairClassificationResult,
  RetrievalResult,
  RetrievalSet,
  Robustness,
  RunEvaluationOptions,
  StsPair,
  StsResult,
  StsSetId,
  StsSetSpec,
} from "./eval/index.js";
// Evaluation (also available as the `embedkit/eval` subpath)
export {
  accuracy,
  averagePrecision,
  entityF1,
  evaluateClassification,
  evaluateClustering,
  evaluatePairClassification,
  evaluateRetrieval,
  evaluateSts,
  getStsSet,
  informationDensity,
  kMeans,
  macroF1,
  measureRobustness,
  ndcgAtK,
  pearson,
  rankWithTies,
  readLabeledTexts,
  readPairs,
  readRetrievalSet,
  readStsSet,
  recallAtK,
  renderHtml,
  renderMarkdown,
  rocAuc,
  runEvaluation,
  STS_SETS,
  spearman,
  TASK_SETS,
  trainLogisticProbe,
  vMeasure,
} from "./eval/index.js";
export type {
  InstalledModel,
  Modality,
  ModelFile,
  ModelSource,
  ModelSpec,
  ModelStore,
  Pooling,
  PulledModel,
  PullOptions,
  PullProgress,
  ReferenceCheck,
  VerifyReport,
} from "./models/index.js";
// Models: catalog and store
export {
  CATALOG,
  createModelStore,
  DEFAULT_MODEL_ID,
  DEFAULT_MODELS,
  findModel,
  getModel,
  listModels,
} from "./models/index.js";
export type {
  Entity,
  LoadedTagger,
  TaggedCorpus,
  TaggedSentence,
  Tagger,
  TagScheme,
  TrainTaggerOptions,
  TrainTaggerResult,
} from "./ner/index.js";
// Named entities (also available as the `embedkit/ner` subpath)
export {
  loadTagger,
  openTagger,
  readTaggedFile,
  recognizeEntities,
  recognizeEntitiesMany,
  saveTagger,
  trainTagger,
} from "./ner/index.js";
export type {
  Collection,
  CollectionInfo,
  CollectionSpec,
  CollectionStats,
  Document,
  EmbeddedStoreOptions,
  Filter,
  FilterCondition,
  FilterOperator,
  Hit,
  IndexDocumentsOptions,
  IndexDocumentsResult,
  IndexProgress,
  Item,
  Metadata,
  MetadataValue,
  OpenVectorStoreOptions,
  Query,
  SearchTextOptions,
  StoredItem,
  UpsertOptions,
  VectorMetric,
  VectorStore,
} from "./store/index.js";
// Vector collections (also available as the `embedkit/store` subpath)
export {
  collectionSpecFor,
  ensureCollection,
  indexDocuments,
  openEmbeddedStore,
  openVectorStore,
  parseFilter,
  STORE_LIMITS,
  searchText,
  VECTOR_METRICS,
} from "./store/index.js";
// Training: classifier heads, query adapters, augmentation (more in `embedkit/train`)
export type {
  Classifier,
  EmbeddingAdapter,
  Prediction,
  TrainAdapterFromFileOptions,
  TrainAdapterFromFileResult,
  TrainClassifierFromFileOptions,
  TrainClassifierFromFileResult,
  TrainClassifierOptions,
} from "./train/index.js";
export {
  augmentDataset,
  augmentText,
  loadAdapter,
  loadClassifier,
  saveAdapter,
  saveClassifier,
  trainAdapter,
  trainAdapterFromFile,
  trainClassifier,
  trainClassifierFromFile,
} from "./train/index.js";
export type {
  Precision,
  PrecisionVector,
  ScoredIndex,
  SimilarityMetric,
  VectorLike,
} from "./vectors/index.js";
// Vectors: math, quantization, codecs
export {
  assertPrecision,
  base64ToFloat32,
  cosineSimilarity,
  dequantize,
  dot,
  encodeNpy,
  euclideanDistance,
  float32ToBase64,
  hammingDistance,
  norm,
  normalize,
  PRECISIONS,
  quantize,
  similarityMatrix,
  toNumberArray,
  topK,
  truncateDimensions,
} from "./vectors/index.js";
