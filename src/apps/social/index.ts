/**
 * @module apps/social
 * Social-media analysis (issue 14): sentiment with shipped heads, topics
 * BERTopic-style, trends over time, and the output files and HTML report of
 * `embedkit social analyze`. Re-exports only.
 */
export type {
  AnalyzedPost,
  AnalyzeSocialOptions,
  SocialAnalysis,
  SocialStage,
  SocialSummary,
  SocialTopic,
} from "./analyze.js";
export { analyzeSocialPosts, MIN_POSTS_FOR_TOPICS, SOCIAL_STAGES } from "./analyze.js";
export type { PostLanguage } from "./language.js";
export { detectPostLanguage } from "./language.js";
export type { ExamplePost } from "./outputs.js";
export { renderSocialOutputs, SOCIAL_OUTPUT_FILES, writeSocialOutputs } from "./outputs.js";
export type { NeutralBand, PostSentiment, SentimentHead, SentimentLanguage } from "./sentiment.js";
export {
  calibrateNeutralBand,
  loadSentimentHead,
  SHIPPED_SENTIMENT_HEADS,
  scoreSentiment,
  shippedSentimentHeadDir,
} from "./sentiment.js";
export type { SentimentExample, SentimentSplit } from "./sentiment-sets.js";
export { isHeldOut, loadSentimentSplit, SENTIMENT_SPLITS } from "./sentiment-sets.js";
export type {
  FieldValue,
  ReadSocialPostsOptions,
  SocialFileFormat,
  SocialInput,
  SocialPost,
} from "./social-input.js";
export { readSocialPosts } from "./social-input.js";
export { renderSocialReport } from "./social-report.js";
export type { Bucket, PostTime } from "./timestamps.js";
export { BUCKETS, parseTimestamp } from "./timestamps.js";
export type {
  DiscoveredTopic,
  DiscoverTopicsOptions,
  TopicLanguage,
  TopicResult,
} from "./topics.js";
export { discoverTopics, tokenizeForTopics } from "./topics.js";
export type { NegativePeak, NegativeSpike, TopicMovement, TrendPost, Trends } from "./trends.js";
export { computeTrends } from "./trends.js";
