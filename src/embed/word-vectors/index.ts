/**
 * @module embed/word-vectors
 * Static word vectors (GloVe-derived wink-glove-100d): table loading with a verified
 * binary cache, a Unicode-aware word tokenizer, and the word-vector embedder with
 * mean/SIF pooling, nearest words and analogies. Re-exports only.
 */

export type { ResolvedToken, TokenizeWordsOptions } from "./word-tokenizer.js";
export { resolveTokens, stripAccents, tokenizeWords } from "./word-tokenizer.js";
export type {
  NearestWordsOptions,
  UnknownTextPolicy,
  WordNeighbor,
  WordPooling,
  WordVectorEmbedder,
  WordVectorEmbedderOptions,
  WordVectorPoolingOptions,
} from "./word-vector-embedder.js";
export {
  createWordVectorEmbedder,
  createWordVectorEmbedderFromTable,
  WORD_POOLINGS,
} from "./word-vector-embedder.js";
export type {
  LoadWordVectorTableOptions,
  WordVectorCacheMeta,
  WordVectorTable,
  WordVectorTableLoad,
} from "./word-vector-table.js";
export {
  createWordVectorTable,
  decodeWordVectorCache,
  encodeWordVectorCache,
  loadWordVectorTable,
  parseWinkWordVectors,
  wordVectorCachePaths,
} from "./word-vector-table.js";
