/**
 * @module eval/vector-retrieval
 * Retrieval scores for vectors already in hand (no embedder): rank documents
 * by cosine for each query vector and average nDCG@k, recall@k and MRR@k with
 * the per-query metrics of `retrieval-metrics`. Used to validate and measure
 * query adapters, whose queries are transformed after embedding.
 */
import { EmbedkitError } from "../errors.js";
import { cosineSimilarity, topK } from "../vectors/math.js";
import {
  meanOverQueries,
  ndcgAtK,
  type RelevanceJudgements,
  recallAtK,
  reciprocalRankAtK,
} from "./retrieval-metrics.js";

/** Options of {@link scoreVectorRetrieval}. */
export interface ScoreVectorRetrievalOptions {
  readonly queryVectors: readonly Float32Array[];
  /** Relevance judgements of each query (same order). */
  readonly relevance: readonly RelevanceJudgements[];
  readonly documentIds: readonly string[];
  readonly documentVectors: readonly Float32Array[];
  /** Cut-off. @default 10 */
  readonly k?: number;
}

/** Mean scores (0–1) over queries that have a relevant document. */
export interface VectorRetrievalScores {
  readonly ndcg: number;
  readonly recall: number;
  readonly mrr: number;
  readonly queries: number;
}

/**
 * Score a vector search of `queryVectors` over `documentVectors`.
 *
 * @throws EmbedkitError INVALID_INPUT for mismatched lengths.
 */
export function scoreVectorRetrieval(options: ScoreVectorRetrievalOptions): VectorRetrievalScores {
  const { queryVectors, relevance, documentIds, documentVectors } = options;
  if (queryVectors.length !== relevance.length || documentIds.length !== documentVectors.length) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `scoreVectorRetrieval needs one judgement set per query and one id per document, received ${queryVectors.length}/${relevance.length} and ${documentIds.length}/${documentVectors.length}.`,
    );
  }
  const k = options.k ?? 10;
  const ndcg: (number | null)[] = [];
  const recall: (number | null)[] = [];
  const mrr: (number | null)[] = [];
  const scores = new Float32Array(documentVectors.length);
  queryVectors.forEach((query, index) => {
    documentVectors.forEach((document, d) => {
      scores[d] = cosineSimilarity(query, document);
    });
    const ranked = topK(scores, Math.min(k, documentVectors.length)).map(
      (hit) => documentIds[hit.index] as string,
    );
    const judgements = relevance[index] as RelevanceJudgements;
    ndcg.push(ndcgAtK(ranked, judgements, k));
    recall.push(recallAtK(ranked, judgements, k));
    mrr.push(reciprocalRankAtK(ranked, judgements, k));
  });
  const ndcgMean = meanOverQueries(ndcg);
  return {
    ndcg: ndcgMean.mean,
    recall: meanOverQueries(recall).mean,
    mrr: meanOverQueries(mrr).mean,
    queries: ndcgMean.scored,
  };
}
