/**
 * @module embed/langchain
 * An adapter with LangChain.js's `Embeddings` method names (`embedDocuments`,
 * `embedQuery`), so an embedkit embedder drops into LangChain vector stores and
 * retrievers without embedkit depending on LangChain.
 */
import type { Embedder } from "./embedder.js";

/** The two methods LangChain.js calls on an embeddings object. */
export interface LangChainEmbeddings {
  embedDocuments(documents: string[]): Promise<number[][]>;
  embedQuery(document: string): Promise<number[]>;
}

/**
 * Wrap an embedder for LangChain.js. Documents are embedded as passages and
 * queries as queries, so models with prefixes (e5, bge) are used correctly.
 * @example
 * ```ts
 * const embeddings = toLangChainEmbeddings(await createEmbedder({ model: "e5-small-v2" }));
 * const store = await MemoryVectorStore.fromTexts(texts, metadata, embeddings);
 * ```
 */
export function toLangChainEmbeddings(embedder: Embedder): LangChainEmbeddings {
  return {
    async embedDocuments(documents) {
      const { vectors } = await embedder.embed(documents, { inputType: "passage" });
      return vectors.map((vector) => Array.from(vector));
    },
    async embedQuery(document) {
      const { vectors } = await embedder.embed([document], { inputType: "query" });
      return Array.from(vectors[0] as Float32Array);
    },
  };
}
