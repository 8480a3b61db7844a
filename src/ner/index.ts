/**
 * @module ner
 * Named-entity recognition on token-level embeddings: data readers (CoNLL,
 * character-per-line BIO), tagging schemes, constrained Viterbi decoding, a
 * tagging head trained with `embedkit/train` over frozen encoder vectors (with
 * an on-disk word-vector cache), save/load, and `recognizeEntities`.
 * Re-exports only.
 */

export type { MostFrequentTagBaseline } from "./baseline.js";
export { fitMostFrequentTag } from "./baseline.js";
export { SHAPE_FEATURES, writeShapeFeatures } from "./features.js";
export type { TaggingUnit } from "./ner-words.js";
export { splitForTagging, TAGGING_UNITS } from "./ner-words.js";
export { DEFAULT_NGRAM_BUCKETS, NGRAM_TEMPLATES, writeNgramIds } from "./ngrams.js";
export type {
  ReadTaggedOptions,
  SplitCorpusOptions,
  TaggedCorpus,
  TaggedFormat,
  TaggedSentence,
} from "./readers.js";
export {
  concatCorpora,
  parseTagged,
  readTaggedFile,
  selectSentences,
  splitCorpus,
  TAGGED_FORMATS,
} from "./readers.js";
export type { Entity, LoadedTagger, OpenTaggerOptions, RecognizeOptions } from "./recognize.js";
export { openTagger, recognizeEntities, recognizeEntitiesMany } from "./recognize.js";
export type { ParsedTag, TagScheme } from "./tag-scheme.js";
export {
  convertTags,
  isAllowedEnd,
  isAllowedTransition,
  parseTag,
  spansToTags,
  TAG_SCHEMES,
  tagSet,
  tagsToSpans,
} from "./tag-scheme.js";
export type {
  ClassWeighting,
  TaggedOutput,
  Tagger,
  TaggerSettings,
  TrainTaggerOptions,
  TrainTaggerResult,
} from "./tagger.js";
export {
  evaluateTagger,
  loadTagger,
  saveTagger,
  TAGGER_FORMAT_VERSION,
  TAGGER_KIND,
  tagSentences,
  trainTagger,
} from "./tagger.js";
export type { TransitionTable } from "./viterbi.js";
export { buildTransitions, viterbiDecode } from "./viterbi.js";
export type { EmbedCorpusWordsOptions, WordVectorCorpus } from "./word-vector-cache.js";
export { defaultNerCacheDir, embedCorpusWords, selectWordVectors } from "./word-vector-cache.js";
