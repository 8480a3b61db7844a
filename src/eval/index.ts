/**
 * @module eval
 * Evaluation: correlation metrics, STS pair readers with the table of shared
 * evaluation sets, and the STS task runner. Re-exports only.
 */
export type { NumberList } from "./metrics.js";
export { pearson, rankWithTies, spearman } from "./metrics.js";
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
