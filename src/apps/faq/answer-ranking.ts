/**
 * @module apps/faq/answer-ranking
 * From question similarities to ranked answers. A FAQ item can be asked in
 * several ways (several questions, one answer); a user question is compared
 * with every stored question and the answer's score aggregates the scores of
 * its questions:
 * - `max`: the best-matching phrasing decides (nearest neighbour);
 * - `mean`: the mean cosine over all the answer's phrasings (= the dot product
 *   with the mean of their unit vectors);
 * - `centroid`: the cosine with the normalized mean vector of the phrasings
 *   (one vector per answer).
 * bench/faq.ts measures all three (bench/RESULTS.md, "FAQ answering"). The same
 * aggregation code serves `askFaq` (candidates from a vector store) and the
 * in-memory evaluation, so the benchmark measures what users run.
 */
import { EmbedkitError } from "../../errors.js";
import { normalizeInPlace, topK } from "../../vectors/math.js";

/** How question scores combine into an answer score. */
export const ANSWER_AGGREGATIONS = Object.freeze(["max", "mean", "centroid"] as const);

/** One of {@link ANSWER_AGGREGATIONS}. */
export type AnswerAggregation = (typeof ANSWER_AGGREGATIONS)[number];

/**
 * The aggregation FAQs use unless told otherwise: `centroid` had the best
 * accuracy@1 on BQ, BANKING77 and CLINC150 and tied on ATEC (whose items have
 * one question each) in bench/faq.ts; see bench/RESULTS.md, "FAQ answering".
 */
export const DEFAULT_AGGREGATION: AnswerAggregation = "centroid";

/** Check an aggregation name. @throws EmbedkitError INVALID_OPTION */
export function assertAggregation(value: unknown): asserts value is AnswerAggregation {
  if (!(ANSWER_AGGREGATIONS as readonly unknown[]).includes(value)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Unknown answer aggregation ${JSON.stringify(value)}. Expected one of: ${ANSWER_AGGREGATIONS.join(", ")}.`,
      { details: { param: "aggregation", received: value } },
    );
  }
}

/** A question's similarity to the user question, with the answer it belongs to. */
export interface QuestionScore {
  readonly answerId: string;
  readonly score: number;
  /** The stored question (shown as "matched question"). */
  readonly question?: string;
}

/** One ranked answer. */
export interface AnswerScore {
  readonly answerId: string;
  /** Aggregated similarity (cosine scale). */
  readonly score: number;
  /** The answer's question that matched best. */
  readonly matchedQuestion?: string;
  /** The best question's own score. */
  readonly matchedScore: number;
}

/**
 * Combine question scores into answer scores (`max` or `mean` over the scores
 * given for each answer) and sort best first; ties go to the lower answer id.
 * For `mean` the caller passes the scores of *all* questions of each candidate
 * answer. For `centroid` each answer has one score (its centroid vector), so
 * `max` and `mean` coincide and either may be used.
 */
export function aggregateAnswerScores(
  scores: readonly QuestionScore[],
  aggregation: AnswerAggregation,
): AnswerScore[] {
  const groups = new Map<string, { sum: number; count: number; best: QuestionScore }>();
  for (const entry of scores) {
    const group = groups.get(entry.answerId);
    if (group === undefined) {
      groups.set(entry.answerId, { sum: entry.score, count: 1, best: entry });
      continue;
    }
    group.sum += entry.score;
    group.count++;
    if (entry.score > group.best.score) group.best = entry;
  }
  const ranked = [...groups.entries()].map(([answerId, group]) => ({
    answerId,
    score: aggregation === "mean" ? group.sum / group.count : group.best.score,
    matchedScore: group.best.score,
    ...(group.best.question === undefined ? {} : { matchedQuestion: group.best.question }),
  }));
  return ranked.sort((a, b) => b.score - a.score || (a.answerId < b.answerId ? -1 : 1));
}

/** The normalized mean of unit vectors (an answer's centroid). */
export function centroidOf(vectors: readonly Float32Array[]): Float32Array {
  const first = vectors[0];
  if (first === undefined) {
    throw new EmbedkitError("INVALID_INPUT", "A centroid needs at least one vector.");
  }
  const sum = new Float32Array(first.length);
  for (const vector of vectors) {
    for (let d = 0; d < sum.length; d++) sum[d] = (sum[d] as number) + (vector[d] as number);
  }
  return normalizeInPlace(sum);
}

/** Questions of a FAQ as unit vectors, each tagged with its answer's position. */
export interface AnswerMatrix {
  /** One unit vector per question. */
  readonly questionVectors: readonly Float32Array[];
  /** Position (in the answer list) of each question's answer. */
  readonly questionAnswer: readonly number[];
  /** Number of answers. */
  readonly answers: number;
}

/** A ranked answer by position. */
export interface RankedAnswer {
  /** Position of the answer in the answer list. */
  readonly answer: number;
  readonly score: number;
}

/**
 * Rank every answer for each query vector, in memory and exactly (the
 * evaluation's counterpart of a vector-store query): answer scores are the
 * `max`/`mean` of question cosines or the cosine with the answer centroid.
 * Returns the top `k` answers per query.
 */
export function rankAnswersExactly(
  queries: readonly Float32Array[],
  matrix: AnswerMatrix,
  options: { readonly aggregation: AnswerAggregation; readonly k: number },
): RankedAnswer[][] {
  const { questionVectors, questionAnswer, answers } = matrix;
  const k = Math.min(options.k, answers);
  let targets: readonly Float32Array[] = questionVectors;
  let targetAnswer: readonly number[] = questionAnswer;
  if (options.aggregation === "centroid") {
    const members: Float32Array[][] = Array.from({ length: answers }, () => []);
    questionVectors.forEach((vector, index) => {
      members[questionAnswer[index] as number]?.push(vector);
    });
    targets = members.map((group) => centroidOf(group));
    targetAnswer = targets.map((_, index) => index);
  }
  const counts = new Float32Array(answers);
  for (const answer of targetAnswer) counts[answer] = (counts[answer] as number) + 1;
  const scores = new Float32Array(answers);
  return queries.map((query) => {
    scores.fill(options.aggregation === "mean" ? 0 : Number.NEGATIVE_INFINITY);
    targets.forEach((target, index) => {
      let similarity = 0;
      for (let d = 0; d < target.length; d++) similarity += (target[d] as number) * (query[d] as number);
      const answer = targetAnswer[index] as number;
      if (options.aggregation === "mean") scores[answer] = (scores[answer] as number) + similarity;
      else if (similarity > (scores[answer] as number)) scores[answer] = similarity;
    });
    if (options.aggregation === "mean") {
      for (let a = 0; a < answers; a++) scores[a] = (scores[a] as number) / (counts[a] as number);
    }
    return topK(scores, k).map((hit) => ({ answer: hit.index, score: hit.score }));
  });
}
