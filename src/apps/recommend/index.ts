/**
 * @module apps/recommend
 * Recommendation as a tool: item catalogs embedded into a vector collection,
 * interactions saved with the recommender, user profiles, item-kNN, the
 * validated content/CF blend, MMR diversity and the ranking metrics.
 * Re-exports only.
 */
export type {
  InteractionColumns,
  InteractionRow,
  ItemCatalog,
  ItemColumns,
} from "./recommend-input.js";
export {
  MAX_RECOMMEND_FILE_BYTES,
  readInteractions,
  readItemCatalog,
} from "./recommend-input.js";
export type {
  InteractionColumnsData,
  ItemNeighbors,
  RankingQuality,
  UserTable,
  WeightOptions,
} from "./recommend-math.js";
export {
  blendScores,
  buildItemNeighbors,
  groupByUser,
  maximalMarginalRelevance,
  profileWeights,
  rankingQuality,
  scoreAll,
  scoreNeighbors,
  weightedProfile,
} from "./recommend-math.js";
export type {
  IndexRecommenderOptions,
  IndexRecommenderReport,
  InteractionInput,
  OpenRecommenderOptions,
  Recommendation,
  RecommendationSource,
  RecommendedItem,
  Recommender,
  RecommenderInfo,
  RecommendIndexProgress,
  RecommendOptions,
  RecommendQueryOptions,
  RecommendUserOptions,
} from "./recommender.js";
export {
  BLEND_GRID,
  DEFAULT_BLEND_WEIGHT,
  DEFAULT_NEIGHBORS,
  DEFAULT_VALIDATION_USERS,
  indexRecommender,
  openRecommender,
  parseDuration,
  splitLastFraction,
} from "./recommender.js";
export type { BlendPoint, RecommenderSettings, RecommenderState } from "./recommender-state.js";
export {
  RECOMMENDER_STATE_FORMAT,
  readRecommenderState,
  recommenderStatePath,
  removeRecommenderState,
  writeRecommenderState,
} from "./recommender-state.js";
