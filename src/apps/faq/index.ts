/**
 * @module apps/faq
 * FAQ answering (customer service): FAQ files, language → model choice,
 * answer aggregation, confidence thresholds and their calibration, indexing
 * into and asking a vector store collection, and the evaluation on the shared
 * benchmark sets. Re-exports only.
 */
export type {
  AnswerAggregation,
  AnswerMatrix,
  AnswerScore,
  QuestionScore,
  RankedAnswer,
} from "./answer-ranking.js";
export {
  ANSWER_AGGREGATIONS,
  aggregateAnswerScores,
  assertAggregation,
  centroidOf,
  DEFAULT_AGGREGATION,
  rankAnswersExactly,
} from "./answer-ranking.js";
export type {
  AnswerOutcome,
  Calibration,
  CalibrationObjective,
  ThresholdPoint,
} from "./answer-threshold.js";
export { calibrateThreshold, evaluateThreshold, thresholdCurve } from "./answer-threshold.js";
export type {
  AskFaqOptions,
  CalibrateFaqOptions,
  CreateFaqOptions,
  EvaluateFaqThresholdOptions,
  Faq,
  FaqCalibration,
  FaqCandidate,
  FaqReply,
  FaqSettings,
  FaqThresholdEvaluation,
  IndexFaqOptions,
  IndexFaqReport,
} from "./faq.js";
export {
  createFaq,
  DEFAULT_FALLBACK,
  DEFAULT_THRESHOLDS,
  FAQ_SETTINGS_ID,
  indexFaq,
} from "./faq.js";
export type { FaqAnswer, FaqColumns, FaqEntry, LabelledQuery } from "./faq-entries.js";
export {
  answerId,
  groupFaqEntries,
  MAX_FAQ_FILE_BYTES,
  MAX_FAQ_TEXT_CHARACTERS,
  NO_ANSWER_LABELS,
  parseFaqEntries,
  parseLabelledQueries,
  readFaqFile,
  readLabelledQueries,
} from "./faq-entries.js";
export type {
  CalibratedOperatingPoint,
  EmbeddingRankerOptions,
  EvaluateFaqOptions,
  FaqEvaluation,
  FaqRanker,
} from "./faq-evaluation.js";
export { createEmbeddingRanker, evaluateFaq } from "./faq-evaluation.js";
export type { FaqLanguage } from "./faq-language.js";
export {
  CJK_THRESHOLD,
  cjkRatio,
  DEFAULT_FAQ_MODELS,
  detectFaqLanguage,
  FAQ_LANGUAGES,
} from "./faq-language.js";
export type {
  FaqBenchmarkSet,
  FaqBenchmarkSetId,
  FaqEvalQuery,
  LoadFaqBenchmarkSetOptions,
} from "./faq-sets.js";
export { FAQ_BENCHMARK_SETS, loadFaqBenchmarkSet } from "./faq-sets.js";
