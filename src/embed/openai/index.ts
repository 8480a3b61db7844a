/**
 * @module embed/openai
 * The OpenAI provider for api.openai.com and OpenAI-compatible endpoints: the
 * embedder, its known-model table and the token estimate it plans requests with.
 * Re-exports only.
 */

export type {
  OpenAIEmbedder,
  OpenAIEmbedderOptions,
  OpenAIEncodingFormat,
  RequestRange,
} from "./openai-embedder.js";
export {
  createOpenAIEmbedder,
  estimateTokens,
  OPENAI_DEFAULT_BASE_URL,
  planRequests,
} from "./openai-embedder.js";
export type { OpenAIEmbeddingModelId, OpenAIModelFacts } from "./openai-models.js";
export { findOpenAIModel, OPENAI_EMBEDDING_MODELS } from "./openai-models.js";
