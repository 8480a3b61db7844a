/**
 * @module eval/retrieval-metrics
 * Ranking metrics for retrieval, computed per query the way `trec_eval` /
 * `pytrec_eval` (what BEIR and MTEB use) computes them: nDCG@k with linear gains
 * and a log2(rank + 1) discount, reciprocal rank of the first relevant hit
 * within k, recall@k and average precision@k (denominator: all relevant
 * documents of the query, not just those within k).
 *
 * A query without any relevant document has no defined score on any of these
 * metrics (the ideal DCG and the recall denominator are zero). Instead of
 * inventing 0 or 1, the per-query functions return `null`, and
 * {@link meanOverQueries} leaves such queries out and reports how many were
 * skipped — the same as pytrec_eval, which only scores queries present in qrels.
 */
import { checkInteger } from "../internal/options.js";

/** Graded relevance judgements of one query: document id → gain (> 0 is relevant). */
export type RelevanceJudgements = ReadonlyMap<string, number>;

function checkK(k: number): void {
  checkInteger("k", k, { min: 1 });
}

function relevantCount(relevance: RelevanceJudgements): number {
  let count = 0;
  for (const gain of relevance.values()) if (gain > 0) count++;
  return count;
}

/**
 * nDCG@k: DCG of the ranking's first k documents (gain = judged relevance,
 * discount = log2(rank + 1)) divided by the DCG of the ideal ranking of all
 * judged documents, cut at k.
 *
 * @param ranked document ids, best first (only the first k are read).
 * @returns a value in [0, 1], or `null` when the query has no relevant document.
 * @throws EmbedkitError INVALID_OPTION for a k that is not a positive integer.
 * @example
 * ```ts
 * ndcgAtK(["d3", "d1"], new Map([["d1", 1]]), 10); // 1 / log2(3) ≈ 0.6309
 * ```
 */
export function ndcgAtK(ranked: readonly string[], relevance: RelevanceJudgements, k: number): number | null {
  checkK(k);
  if (relevantCount(relevance) === 0) return null;
  let dcg = 0;
  const limit = Math.min(k, ranked.length);
  for (let rank = 0; rank < limit; rank++) {
    const gain = relevance.get(ranked[rank] as string) ?? 0;
    if (gain > 0) dcg += gain / Math.log2(rank + 2);
  }
  const ideal = [...relevance.values()].filter((gain) => gain > 0).sort((a, b) => b - a);
  let idealDcg = 0;
  for (let rank = 0; rank < Math.min(k, ideal.length); rank++) {
    idealDcg += (ideal[rank] as number) / Math.log2(rank + 2);
  }
  return dcg / idealDcg;
}

/**
 * Reciprocal rank of the first relevant document within the first k (0 when
 * none is there).
 *
 * @returns a value in [0, 1], or `null` when the query has no relevant document.
 * @throws EmbedkitError INVALID_OPTION for a k that is not a positive integer.
 */
export function reciprocalRankAtK(
  ranked: readonly string[],
  relevance: RelevanceJudgements,
  k: number,
): number | null {
  checkK(k);
  if (relevantCount(relevance) === 0) return null;
  const limit = Math.min(k, ranked.length);
  for (let rank = 0; rank < limit; rank++) {
    if ((relevance.get(ranked[rank] as string) ?? 0) > 0) return 1 / (rank + 1);
  }
  return 0;
}

/**
 * Recall@k: the share of the query's relevant documents found in the first k.
 *
 * @returns a value in [0, 1], or `null` when the query has no relevant document.
 * @throws EmbedkitError INVALID_OPTION for a k that is not a positive integer.
 */
export function recallAtK(
  ranked: readonly string[],
  relevance: RelevanceJudgements,
  k: number,
): number | null {
  checkK(k);
  const total = relevantCount(relevance);
  if (total === 0) return null;
  let found = 0;
  const limit = Math.min(k, ranked.length);
  for (let rank = 0; rank < limit; rank++) {
    if ((relevance.get(ranked[rank] as string) ?? 0) > 0) found++;
  }
  return found / total;
}

/**
 * Average precision@k (trec_eval `map_cut_k`): the mean, over all relevant
 * documents of the query, of precision at the rank where each was retrieved
 * within the first k (a relevant document not retrieved within k contributes 0).
 * The mean of this over queries is MAP@k.
 *
 * @returns a value in [0, 1], or `null` when the query has no relevant document.
 * @throws EmbedkitError INVALID_OPTION for a k that is not a positive integer.
 */
export function averagePrecisionAtK(
  ranked: readonly string[],
  relevance: RelevanceJudgements,
  k: number,
): number | null {
  checkK(k);
  const total = relevantCount(relevance);
  if (total === 0) return null;
  let found = 0;
  let sum = 0;
  const limit = Math.min(k, ranked.length);
  for (let rank = 0; rank < limit; rank++) {
    if ((relevance.get(ranked[rank] as string) ?? 0) > 0) {
      found++;
      sum += found / (rank + 1);
    }
  }
  return sum / total;
}

/** Result of {@link meanOverQueries}. */
export interface QueryMean {
  /** Mean over the queries with a defined score; 0 when there is none. */
  readonly mean: number;
  /** Queries that had a score. */
  readonly scored: number;
  /** Queries left out because they have no relevant document (`null` scores). */
  readonly skipped: number;
}

/**
 * Mean of per-query scores, leaving out `null` (queries without relevant
 * documents) and counting them.
 *
 * @example
 * ```ts
 * meanOverQueries([1, null, 0.5]); // { mean: 0.75, scored: 2, skipped: 1 }
 * ```
 */
export function meanOverQueries(scores: readonly (number | null)[]): QueryMean {
  let sum = 0;
  let scored = 0;
  for (const score of scores) {
    if (score === null) continue;
    sum += score;
    scored++;
  }
  return { mean: scored === 0 ? 0 : sum / scored, scored, skipped: scores.length - scored };
}
