/**
 * @module eval
 * Evaluation: metrics (correlation, retrieval, classification, clustering,
 * entity F1), label-free quality measures, readers and the tables of shared
 * sets, the embedding cache, task runners (STS, pair classification, retrieval,
 * classification, clustering), the `runEvaluation` orchestration and report
 * rendering. Re-exports only.
 */

export type { F1Report, Label, VMeasure } from "./classification-metrics.js";
export { accuracy, averagePrecision, f1Report, macroF1, rocAuc, vMeasure } from "./classification-metrics.js";
export { DATA_DIR_ENV, resolveDataDir } from "./data-dir.js";
export type {
  EmbeddingCache,
  EmbedTextsOptions,
  EmbedTextsProgress,
  EmbedTextsResult,
  OpenEmbeddingCacheOptions,
} from "./embedding-cache.js";
export {
  createCachingEmbedder,
  defaultEvalCacheDir,
  embedTexts,
  openEmbeddingCache,
} from "./embedding-cache.js";
export type { EntityF1Report, EntityScores, EntitySpan } from "./entity-f1.js";
export { bioToSpans, entityF1 } from "./entity-f1.js";
export type { KMeansOptions, KMeansResult } from "./kmeans.js";
export { kMeans } from "./kmeans.js";
export type { LogisticProbe, TrainLogisticProbeOptions } from "./logistic-probe.js";
export { trainLogisticProbe } from "./logistic-probe.js";
export type { NumberList } from "./metrics.js";
export { pearson, rankWithTies, spearman } from "./metrics.js";
export type { Projection, ProjectionMethod } from "./projection.js";
export { projectPca, projectUmap } from "./projection.js";
export type {
  DimensionEntropy,
  InformationDensity,
  Isotropy,
  MeasureRobustnessOptions,
  ParticipationRatio,
  PerturbationRobustness,
  Robustness,
  Summary,
  TextPerturbation,
} from "./quality.js";
export {
  dimensionEntropy,
  informationDensity,
  isotropy,
  measureRobustness,
  participationRatio,
  perturbText,
  SYNONYMS,
  summarize,
  TEXT_PERTURBATIONS,
} from "./quality.js";
export type { Random } from "./random.js";
export { createRandom } from "./random.js";
export type {
  EvalReport,
  EvalReportEntry,
  EvalTaskName,
  InspectReport,
  LearningCurveReport,
} from "./report.js";
export { renderHtml, renderInspectHtml, renderLearningCurveHtml, renderMarkdown } from "./report.js";
export type { QueryMean, RelevanceJudgements } from "./retrieval-metrics.js";
export {
  averagePrecisionAtK,
  meanOverQueries,
  ndcgAtK,
  recallAtK,
  reciprocalRankAtK,
} from "./retrieval-metrics.js";
export type { EvalTaskChoice, FileMapping, RunEvaluationOptions } from "./run-evaluation.js";
export { DEFAULT_SUITE_SETS, EVAL_TASKS, runEvaluation } from "./run-evaluation.js";
export type { EvaluateStsOptions, StsProgress, StsResult } from "./sts.js";
export { evaluateSts } from "./sts.js";
export type {
  ColumnReference,
  PairColumns,
  PairFileFormat,
  ReadPairsOptions,
  ReadStsSetOptions,
  ScoreScale,
  StsLanguage,
  StsPair,
  StsSetId,
  StsSetSpec,
  StsSplit,
} from "./sts-data.js";
export { getStsSet, readPairs, readStsSet, STS_SETS } from "./sts-data.js";
export type {
  LabeledFileFormat,
  LabeledSetSpec,
  LabeledSplit,
  LabeledText,
  LoadLabeledSetOptions,
  ReadLabeledTextsOptions,
  ReadRetrievalSetOptions,
  RetrievalDocument,
  RetrievalQuery,
  RetrievalSet,
  RetrievalSetSpec,
  TaskKind,
  TaskSetSpec,
} from "./task-data.js";
export {
  getTaskSet,
  loadLabeledSet,
  loadRetrievalSet,
  readLabeledTexts,
  readRetrievalSet,
  splitLabeled,
  TASK_SETS,
} from "./task-data.js";
export type {
  ClassificationResult,
  ClusteringResult,
  EmbeddingStats,
  PairClassificationResult,
  RetrievalQueryResult,
  RetrievalResult,
  TaskRunOptions,
} from "./tasks.js";
export {
  evaluateClassification,
  evaluateClustering,
  evaluatePairClassification,
  evaluateRetrieval,
  symmetricInputType,
} from "./tasks.js";
export type { ScoreVectorRetrievalOptions, VectorRetrievalScores } from "./vector-retrieval.js";
export { scoreVectorRetrieval } from "./vector-retrieval.js";
