/**
 * @module apps/faq/faq-evaluation
 * Scoring a FAQ matcher on labelled questions: accuracy@1 and MRR@10 over the
 * answerable test questions (the retrieval metrics of `eval/`), the
 * precision/coverage curve of the confidence threshold on the test split, and
 * thresholds calibrated on the calibration split by several objectives
 * (answer-threshold.ts) with their quality on the test split — so a reported
 * operating point never saw the questions it is reported on.
 *
 * A matcher is any {@link FaqRanker}: the embedding ranker here (exact
 * in-memory ranking with the same aggregation code `askFaq` uses), or a
 * lexical baseline in bench/.
 */
import type { Embedder, InputType } from "../../embed/embedder.js";
import { EmbedkitError } from "../../errors.js";
import { accuracy } from "../../eval/classification-metrics.js";
import { createCachingEmbedder } from "../../eval/embedding-cache.js";
import { meanOverQueries, reciprocalRankAtK } from "../../eval/retrieval-metrics.js";
import { symmetricInputType } from "../../eval/tasks.js";
import {
  type AnswerAggregation,
  type AnswerMatrix,
  DEFAULT_AGGREGATION,
  type RankedAnswer,
  rankAnswersExactly,
} from "./answer-ranking.js";
import {
  type AnswerOutcome,
  type CalibrationObjective,
  calibrateThreshold,
  evaluateThreshold,
  type ThresholdPoint,
  thresholdCurve,
} from "./answer-threshold.js";
import type { FaqAnswer } from "./faq-entries.js";
import type { FaqBenchmarkSet, FaqEvalQuery } from "./faq-sets.js";

/** Ranks a FAQ's answers for user questions. */
export interface FaqRanker {
  /** Name shown in reports (model id and aggregation, or the baseline's name). */
  readonly name: string;
  /** The top `k` answers (positions in the FAQ's answer list) for each text, best first. */
  rank(texts: readonly string[], k: number): Promise<RankedAnswer[][]>;
}

/** Options of {@link createEmbeddingRanker}. */
export interface EmbeddingRankerOptions {
  readonly embedder: Embedder;
  readonly answers: readonly FaqAnswer[];
  /** @default DEFAULT_AGGREGATION ("centroid") */
  readonly aggregation?: AnswerAggregation;
  /** Embedding cache folder; `false` disables it. @default the eval cache */
  readonly cacheDir?: string | false;
  /** Input type of questions and user questions alike. @default symmetricInputType(embedder) */
  readonly inputType?: InputType;
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * A ranker that embeds the FAQ's questions once (through the on-disk embedding
 * cache) and ranks answers exactly in memory with the given aggregation.
 */
export function createEmbeddingRanker(options: EmbeddingRankerOptions): FaqRanker {
  const aggregation = options.aggregation ?? DEFAULT_AGGREGATION;
  const inputType = options.inputType ?? symmetricInputType(options.embedder);
  // Plain float32 calls of the caching wrapper go through the on-disk cache (eval/embedding-cache.ts).
  const cached =
    options.cacheDir === false
      ? options.embedder
      : createCachingEmbedder(
          options.embedder,
          options.cacheDir === undefined ? {} : { dir: options.cacheDir },
        );
  const embed = async (texts: readonly string[]): Promise<Float32Array[]> =>
    (
      await cached.embed(texts, {
        inputType,
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      })
    ).vectors;
  let matrix: Promise<AnswerMatrix> | undefined;
  const buildMatrix = async (): Promise<AnswerMatrix> => {
    const texts: string[] = [];
    const questionAnswer: number[] = [];
    options.answers.forEach((answer, index) => {
      for (const question of answer.questions) {
        texts.push(question);
        questionAnswer.push(index);
      }
    });
    return { questionVectors: await embed(texts), questionAnswer, answers: options.answers.length };
  };
  return {
    name: `${options.embedder.model.id} (${aggregation})`,
    async rank(texts, k) {
      matrix ??= buildMatrix();
      const built = await matrix;
      return rankAnswersExactly(await embed(texts), built, { aggregation, k });
    },
  };
}

/** A threshold chosen on the calibration split and how it does on the test split. */
export interface CalibratedOperatingPoint {
  /** Short label, e.g. "max accuracy", "in-scope acc ≥ 0.812", "precision ≥ 0.9". */
  readonly label: string;
  readonly objective: CalibrationObjective;
  readonly threshold: number;
  readonly targetMet: boolean;
  readonly calibration: ThresholdPoint;
  readonly test: ThresholdPoint;
}

/** Result of {@link evaluateFaq}. Ratios in [0, 1]. */
export interface FaqEvaluation {
  readonly set: FaqBenchmarkSet["id"];
  readonly ranker: string;
  readonly answers: number;
  readonly questions: number;
  readonly calibrationQuestions: { readonly answerable: number; readonly unanswerable: number };
  readonly testQuestions: { readonly answerable: number; readonly unanswerable: number };
  /** Top answer right, over answerable test questions (no threshold). */
  readonly accuracyAt1: number;
  /** Mean reciprocal rank of the right answer within 10, over answerable test questions. */
  readonly mrrAt10: number;
  /** accuracy@1 on the calibration split (the base of the in-scope target). */
  readonly calibrationAccuracyAt1: number;
  /** Thresholds calibrated on the calibration split, evaluated on test. */
  readonly operatingPoints: readonly CalibratedOperatingPoint[];
  /** The test split's precision/coverage curve (thinned). */
  readonly curve: readonly ThresholdPoint[];
  readonly seconds: number;
}

/** Options of {@link evaluateFaq}. */
export interface EvaluateFaqOptions {
  readonly set: FaqBenchmarkSet;
  readonly ranker: FaqRanker;
  /**
   * In-scope accuracy the "given in-scope accuracy" point keeps: the
   * calibration accuracy@1 minus this many points (0.05 = 5 points).
   * @default 0.05
   */
  readonly inScopeAccuracyDrop?: number;
  /** Precision the "precision" point must reach. @default 0.9 */
  readonly precisionTarget?: number;
  /** Points of the reported curve. @default 21 */
  readonly curvePoints?: number;
}

const MRR_K = 10;

interface SplitScores {
  readonly outcomes: AnswerOutcome[];
  readonly truth: string[];
  readonly predicted: string[];
  readonly reciprocalRanks: (number | null)[];
}

async function scoreSplit(
  queries: readonly FaqEvalQuery[],
  answers: readonly FaqAnswer[],
  ranker: FaqRanker,
): Promise<SplitScores> {
  const rankings = await ranker.rank(
    queries.map((query) => query.text),
    MRR_K,
  );
  const scores: SplitScores = { outcomes: [], truth: [], predicted: [], reciprocalRanks: [] };
  queries.forEach((query, index) => {
    const ranked = (rankings[index] ?? []).map((entry) => ({
      id: (answers[entry.answer] as FaqAnswer).id,
      score: entry.score,
    }));
    const best = ranked[0];
    if (best === undefined) {
      throw new EmbedkitError(
        "INTERNAL",
        `The ranker ${ranker.name} returned no answer for "${query.text}".`,
      );
    }
    scores.outcomes.push({
      confidence: best.score,
      inScope: query.answer !== null,
      correct: query.answer !== null && best.id === query.answer,
    });
    if (query.answer === null) return;
    scores.truth.push(query.answer);
    scores.predicted.push(best.id);
    scores.reciprocalRanks.push(
      reciprocalRankAtK(
        ranked.map((entry) => entry.id),
        new Map([[query.answer, 1]]),
        MRR_K,
      ),
    );
  });
  return scores;
}

function counts(queries: readonly FaqEvalQuery[]): { answerable: number; unanswerable: number } {
  const unanswerable = queries.filter((query) => query.answer === null).length;
  return { answerable: queries.length - unanswerable, unanswerable };
}

/**
 * Evaluate a FAQ matcher on a benchmark set (see the module comment).
 *
 * @throws EmbedkitError INVALID_INPUT when a split has no answerable question
 * @example
 * ```ts
 * const set = await loadFaqBenchmarkSet("clinc150", { dataDir: "/path/to/data" });
 * const result = await evaluateFaq({ set, ranker: createEmbeddingRanker({ embedder, answers: set.answers }) });
 * ```
 */
export async function evaluateFaq(options: EvaluateFaqOptions): Promise<FaqEvaluation> {
  const { set, ranker } = options;
  const started = performance.now();
  for (const [name, queries] of [
    ["calibration", set.calibration],
    ["test", set.test],
  ] as const) {
    if (!queries.some((query) => query.answer !== null)) {
      throw new EmbedkitError("INVALID_INPUT", `The ${name} split of ${set.id} has no answerable question.`);
    }
  }
  const calibration = await scoreSplit(set.calibration, set.answers, ranker);
  const test = await scoreSplit(set.test, set.answers, ranker);
  const calibrationAccuracyAt1 = accuracy(calibration.truth, calibration.predicted);
  const drop = options.inScopeAccuracyDrop ?? 0.05;
  const precisionTarget = options.precisionTarget ?? 0.9;
  const inScopeTarget = Math.max(0.01, calibrationAccuracyAt1 - drop);
  const objectives: [string, CalibrationObjective][] = [
    ["max accuracy", { kind: "accuracy" }],
    [`in-scope acc ≥ ${inScopeTarget.toFixed(3)}`, { kind: "in-scope-accuracy", target: inScopeTarget }],
    [`precision ≥ ${precisionTarget}`, { kind: "precision", target: precisionTarget }],
  ];
  const operatingPoints = objectives.map(([label, objective]) => {
    const chosen = calibrateThreshold(calibration.outcomes, objective);
    return {
      label,
      objective,
      threshold: chosen.threshold,
      targetMet: chosen.targetMet,
      calibration: chosen.point,
      test: evaluateThreshold(test.outcomes, chosen.threshold),
    };
  });
  return {
    set: set.id,
    ranker: ranker.name,
    answers: set.answers.length,
    questions: set.answers.reduce((sum, answer) => sum + answer.questions.length, 0),
    calibrationQuestions: counts(set.calibration),
    testQuestions: counts(set.test),
    accuracyAt1: accuracy(test.truth, test.predicted),
    mrrAt10: meanOverQueries(test.reciprocalRanks).mean,
    calibrationAccuracyAt1,
    operatingPoints,
    curve: thresholdCurve(test.outcomes, { points: options.curvePoints ?? 21 }),
    seconds: (performance.now() - started) / 1000,
  };
}
