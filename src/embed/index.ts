/**
 * @module embed
 * Embedders and the operations on top of them. Re-exports only.
 */

export type {
  AiSdkCallOptions,
  AiSdkEmbedCall,
  AiSdkEmbeddingModel,
  AiSdkEmbeddingModelOptions,
  AiSdkEmbedResult,
} from "./ai-sdk.js";
export { AI_SDK_PROVIDER, toAiSdkEmbeddingModel } from "./ai-sdk.js";
export type {
  CreateEmbedderOptions,
  CreateLocalEmbedderOptions,
  CreateOpenAIEmbedderOptions,
} from "./create-embedder.js";
export { createEmbedder, EMBEDDER_PROVIDERS } from "./create-embedder.js";
export type { Embedder, Embeddings, EmbedOptions, InputType, ModelInfo } from "./embedder.js";
export type { LangChainEmbeddings } from "./langchain.js";
export { toLangChainEmbeddings } from "./langchain.js";
export type {
  OnnxEmbedder,
  OnnxEmbedderOptions,
  TokenEmbeddings,
  TokenLevelOptions,
  WordEmbeddings,
  WordLevelOptions,
} from "./onnx/onnx-embedder.js";
export { createOnnxEmbedder, planBatches } from "./onnx/onnx-embedder.js";
export type { TextSpan, WindowPlan, WordWindow } from "./onnx/word-pieces.js";
export { pieceSpans, planWindows, splitCharacters, splitWords } from "./onnx/word-pieces.js";
export type {
  OpenAIEmbedder,
  OpenAIEmbedderOptions,
  OpenAIEmbeddingModelId,
  OpenAIEncodingFormat,
  OpenAIModelFacts,
} from "./openai/index.js";
export {
  createOpenAIEmbedder,
  estimateTokens,
  OPENAI_DEFAULT_BASE_URL,
  OPENAI_EMBEDDING_MODELS,
} from "./openai/index.js";
export type {
  EmbedderLike,
  EmbedManyOptions,
  EmbedOneOptions,
  ParaphraseMiningOptions,
  ParaphrasePair,
  SearchHit,
  SemanticSearchOptions,
} from "./operations.js";
export {
  closeEmbedders,
  embed,
  embedMany,
  paraphraseMining,
  resolveEmbedder,
  semanticSearch,
} from "./operations.js";
export type { ReferenceResult } from "./reference-check.js";
export { checkReferences } from "./reference-check.js";
export type {
  ZeroShotClassifier,
  ZeroShotClassifierOptions,
  ZeroShotClassifyOptions,
  ZeroShotPrediction,
  ZeroShotSettings,
} from "./zero-shot.js";
export {
  createZeroShotClassifier,
  DEFAULT_ZERO_SHOT_MODELS,
  DEFAULT_ZERO_SHOT_TEMPERATURE,
  GENERIC_ZERO_SHOT_SETTINGS,
  ZERO_SHOT_DEFAULTS,
  zeroShotDefaults,
} from "./zero-shot.js";
