/**
 * @module embed
 * Embedders and the operations on top of them. Re-exports only.
 */
export { createEmbedder } from "./create-embedder.js";
export type { CreateEmbedderOptions } from "./create-embedder.js";
export type { EmbedOptions, Embedder, Embeddings, InputType, ModelInfo } from "./embedder.js";
export { createOnnxEmbedder, planBatches } from "./onnx/onnx-embedder.js";
export type { OnnxEmbedder, OnnxEmbedderOptions, TokenEmbeddings } from "./onnx/onnx-embedder.js";
export {
  closeEmbedders,
  embed,
  embedMany,
  paraphraseMining,
  resolveEmbedder,
  semanticSearch,
} from "./operations.js";
export type {
  EmbedderLike,
  EmbedManyOptions,
  EmbedOneOptions,
  ParaphraseMiningOptions,
  ParaphrasePair,
  SearchHit,
  SemanticSearchOptions,
} from "./operations.js";
export { toLangChainEmbeddings } from "./langchain.js";
export type { LangChainEmbeddings } from "./langchain.js";
export { checkReferences } from "./reference-check.js";
export type { ReferenceResult } from "./reference-check.js";
