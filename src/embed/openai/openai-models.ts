/**
 * @module embed/openai/openai-models
 * The frozen table of OpenAI embedding models whose facts we know without a
 * request: output dimensions, the per-input token limit and whether the API
 * accepts the `dimensions` parameter (only the text-embedding-3 family does).
 * Any other model name (an OpenAI-compatible server's model) is allowed; its
 * dimensions are then given by the caller or discovered from the first response.
 */

/** What we know about one hosted OpenAI embedding model. */
export interface OpenAIModelFacts {
  /** Native output dimensions. */
  readonly dims: number;
  /** Most tokens per input the API accepts. */
  readonly maxTokens: number;
  /** Whether the API shortens vectors itself when sent `dimensions`. */
  readonly supportsDimensions: boolean;
}

/**
 * Known OpenAI embedding models (https://platform.openai.com/docs/guides/embeddings).
 * Data only: add a row here rather than a branch in the provider.
 */
export const OPENAI_EMBEDDING_MODELS = Object.freeze({
  "text-embedding-3-small": Object.freeze({ dims: 1536, maxTokens: 8192, supportsDimensions: true }),
  "text-embedding-3-large": Object.freeze({ dims: 3072, maxTokens: 8192, supportsDimensions: true }),
  "text-embedding-ada-002": Object.freeze({ dims: 1536, maxTokens: 8192, supportsDimensions: false }),
} as const satisfies Record<string, OpenAIModelFacts>);

/** Name of a model in {@link OPENAI_EMBEDDING_MODELS}. */
export type OpenAIEmbeddingModelId = keyof typeof OPENAI_EMBEDDING_MODELS;

/** Facts of a known OpenAI model, or undefined for any other name. */
export function findOpenAIModel(model: string): OpenAIModelFacts | undefined {
  return Object.hasOwn(OPENAI_EMBEDDING_MODELS, model)
    ? OPENAI_EMBEDDING_MODELS[model as OpenAIEmbeddingModelId]
    : undefined;
}
