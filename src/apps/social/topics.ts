/**
 * @module apps/social/topics
 * BERTopic-style topic discovery (Grootendorst 2022) over texts and their
 * embeddings: UMAP to 5 dimensions → HDBSCAN (outliers become topic -1), or
 * k-means when a number of topics is asked for → class-based TF-IDF keywords
 * (English stop words removed, Chinese segmented by jieba) → the texts closest to
 * each topic's centroid as examples, plus a 2-D UMAP map for plots. Keyword
 * lists are chosen across topics with a diversity penalty, so topics share
 * fewer keywords. The same seed
 * gives the same result. Large inputs are bounded: UMAP and clustering run on a
 * sample (5000 texts by default) and the rest follow their nearest sample texts;
 * see docs/SOCIAL-TOPICS.md for the method, its limits and the measured quality.
 */
import { EmbedkitError } from "../../errors.js";
import { kMeans } from "../../eval/kmeans.js";
import { checkInteger, checkNumber } from "../../internal/options.js";
import {
  classTfIdf,
  countWords,
  DEFAULT_KEYWORD_DIVERSITY,
  diverseTopWords,
  indexWords,
  mergeTopics,
  type TokenizedTexts,
  topWords,
  type WordCounts,
} from "./topics/class-tfidf.js";
import { hdbscan } from "./topics/hdbscan.js";
import {
  LANDMARK_NEIGHBOURS,
  mapVectors,
  type ReductionState,
  reduceVectors,
  type TopicReduction,
  throwIfAborted,
  yieldToEventLoop,
} from "./topics/topic-reduction.js";
import { TOPIC_LANGUAGES, type TopicLanguage, tokenizeForTopics } from "./topics/topic-tokens.js";

export type { TopicLanguage, TopicReduction };
export { TOPIC_LANGUAGES, tokenizeForTopics };

/** Stages reported through {@link DiscoverTopicsOptions.onProgress}, in the order they run. */
export type TopicStage = "reduce" | "cluster" | "keywords" | "map";

/** How texts are grouped when a number of topics is asked for. */
export type TopicClustering = "kmeans" | "hdbscan";

/** Options of {@link discoverTopics}. */
export interface DiscoverTopicsOptions {
  /**
   * `"auto"`: HDBSCAN finds the topics and leaves outliers in topic -1. A number N:
   * k-means with N clusters (no outliers), or with `clustering: "hdbscan"` HDBSCAN
   * whose topics are merged down to N when it found more.
   * @default "auto"
   */
  readonly topics?: number | "auto";
  /** Language for keywords; `auto` decides per text by its share of CJK letters. @default "auto" */
  readonly lang?: TopicLanguage;
  /** Seed of the sample, UMAP and k-means: the same seed gives the same result. @default 42 */
  readonly seed?: number;
  /**
   * Smallest topic HDBSCAN keeps, in texts (scaled to the sample when the input is sampled).
   * @default max(10, round(texts / 500)), at most 500 (BERTopic's 10; about 10 in a 5000-text sample)
   */
  readonly minTopicSize?: number;
  /** Keywords per topic (fewer when a topic has fewer distinct words). @default 10 */
  readonly keywords?: number;
  /**
   * How strongly keyword lists of different topics are kept apart, 0..1: a word that
   * is already a keyword of another topic must beat the next unused word by this share
   * of the topic's best c-TF-IDF weight (topics choose in rounds, largest first).
   * 0 = plain c-TF-IDF ranking per topic. Outliers (-1) neither take part nor block words.
   * @default 0.1
   */
  readonly keywordDiversity?: number;
  /** Representative texts per topic. @default 3 */
  readonly examples?: number;
  /** Grouping used with a number of topics. @default "kmeans" */
  readonly clustering?: TopicClustering;
  /** Texts UMAP and clustering see; the rest follow their nearest sampled texts. @default 5000 */
  readonly sampleSize?: number;
  /** UMAP optimisation epochs per fit. @default 200 */
  readonly epochs?: number;
  /** Compute the 2-D map (a second UMAP fit); `false` leaves {@link TopicResult.map} empty. @default true */
  readonly map?: boolean;
  /** Only these words may be keywords (e.g. a benchmark's fixed vocabulary). @default every word */
  readonly vocabulary?: readonly string[];
  /** A reduction from {@link reduceForTopics} on the same vectors, to try several topic counts without redoing UMAP. */
  readonly reduction?: TopicReduction;
  /** Progress per stage, in stage-local units (rows, epochs, texts, topics). */
  readonly onProgress?: (stage: TopicStage, done: number, total: number) => void;
  /** Stops the work at the next step; the promise rejects with INVALID_INPUT "cancelled". */
  readonly signal?: AbortSignal;
}

/** One discovered topic. */
export interface DiscoveredTopic {
  /** Topic id: 0.. by size (largest first); -1 = the outliers HDBSCAN left unassigned. */
  readonly id: number;
  /** Number of texts in the topic. */
  readonly size: number;
  /** c-TF-IDF keywords, best first. */
  readonly keywords: readonly { readonly word: string; readonly score: number }[];
  /** The top four keywords joined with " · " (or "outliers" / "topic N" without keywords). */
  readonly label: string;
  /** Indices into the texts, most representative (closest to the topic's centroid) first. */
  readonly examples: readonly number[];
}

/** Result of {@link discoverTopics}. */
export interface TopicResult {
  /** Topic id of each text (-1 = outlier). */
  readonly assignments: Int32Array;
  /** The topics: the outliers (-1) first when there are any, then 0, 1, ... */
  readonly topics: readonly DiscoveredTopic[];
  /** 2-D coordinates of each text (x, y interleaved: `n × 2`), for a topic map; empty with `map: false`. */
  readonly map: Float32Array;
}

/** Options of {@link reduceForTopics}. */
export interface ReduceForTopicsOptions {
  /** @default 42 */
  readonly seed?: number;
  /** @default 5000 */
  readonly sampleSize?: number;
  /** @default 200 */
  readonly epochs?: number;
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

const DEFAULT_SAMPLE = 5000;
const DEFAULT_EPOCHS = 200;
const MAX_TOPICS = 1000;

function invalidInput(message: string, details?: Record<string, unknown>): EmbedkitError {
  return new EmbedkitError("INVALID_INPUT", message, details === undefined ? {} : { details });
}

/** Vectors: one per text, equal lengths, finite values. */
function checkVectors(vectors: readonly Float32Array[], count: number): void {
  if (!Array.isArray(vectors)) throw invalidInput("vectors must be an array of Float32Array, one per text.");
  if (vectors.length !== count) {
    throw invalidInput(
      `discoverTopics needs one vector per text: received ${count} texts and ${vectors.length} vectors. Embed exactly the texts you pass, in the same order.`,
      { texts: count, vectors: vectors.length },
    );
  }
  const dims = vectors[0]?.length ?? 0;
  vectors.forEach((vector, index) => {
    if (!(vector instanceof Float32Array) || vector.length === 0) {
      throw invalidInput(`vectors[${index}] must be a non-empty Float32Array.`, { index });
    }
    if (vector.length !== dims) {
      throw new EmbedkitError(
        "DIMENSION_MISMATCH",
        `All vectors must have the same length: vectors[0] has ${dims} dimensions, vectors[${index}] has ${vector.length}. Embed all texts with one model.`,
        { details: { expected: dims, received: vector.length, index } },
      );
    }
    for (const value of vector) {
      if (!Number.isFinite(value))
        throw invalidInput(`vectors[${index}] holds a non-finite value (${value}).`, { index });
    }
  });
}

function checkOptions(options: DiscoverTopicsOptions, n: number): void {
  if (options.topics !== undefined && options.topics !== "auto") {
    checkInteger("topics", options.topics, {
      min: 1,
      max: Math.min(n, MAX_TOPICS),
      reason: `or "auto"; at most the number of texts (${n}) and ${MAX_TOPICS}`,
    });
  }
  if (options.lang !== undefined && !TOPIC_LANGUAGES.includes(options.lang)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `lang must be one of ${TOPIC_LANGUAGES.join(", ")}, received ${JSON.stringify(options.lang)}.`,
      { details: { param: "lang", received: options.lang } },
    );
  }
  if (
    options.clustering !== undefined &&
    options.clustering !== "kmeans" &&
    options.clustering !== "hdbscan"
  ) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `clustering must be "kmeans" or "hdbscan", received ${JSON.stringify(options.clustering)}.`,
      { details: { param: "clustering", received: options.clustering } },
    );
  }
  if (options.seed !== undefined) checkInteger("seed", options.seed);
  if (options.minTopicSize !== undefined) checkInteger("minTopicSize", options.minTopicSize, { min: 2 });
  if (options.keywords !== undefined) checkInteger("keywords", options.keywords, { min: 1, max: 100 });
  if (options.keywordDiversity !== undefined)
    checkNumber("keywordDiversity", options.keywordDiversity, { min: 0, max: 1 });
  if (options.examples !== undefined) checkInteger("examples", options.examples, { min: 0, max: 100 });
  if (options.sampleSize !== undefined)
    checkInteger("sampleSize", options.sampleSize, { min: 50, max: 100_000 });
  if (options.epochs !== undefined) checkInteger("epochs", options.epochs, { min: 10, max: 2000 });
  if (options.map !== undefined && typeof options.map !== "boolean") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `map must be true or false, received ${JSON.stringify(options.map)}.`,
      {
        details: { param: "map", received: options.map },
      },
    );
  }
  if (options.vocabulary !== undefined) {
    if (!Array.isArray(options.vocabulary) || options.vocabulary.some((word) => typeof word !== "string")) {
      throw new EmbedkitError("INVALID_OPTION", "vocabulary must be an array of words (strings).", {
        details: { param: "vocabulary" },
      });
    }
  }
  if (options.reduction !== undefined && options.reduction.size !== n) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `reduction was made for ${options.reduction.size} texts, received ${n}: reduce the same vectors with reduceForTopics first.`,
      { details: { param: "reduction", expected: n, received: options.reduction.size } },
    );
  }
}

/**
 * Reduce embeddings once for topic discovery (sample, UMAP to 5 dimensions,
 * landmarks for the texts outside the sample). Pass the result as
 * {@link DiscoverTopicsOptions.reduction} to several {@link discoverTopics} calls
 * on the same vectors (different topic counts) to skip the slowest step.
 *
 * @throws EmbedkitError INVALID_INPUT for no vectors or non-finite values; DIMENSION_MISMATCH
 * @example
 * ```ts
 * const reduction = await reduceForTopics(vectors, { seed: 1 });
 * for (const topics of [10, 20]) await discoverTopics(texts, vectors, { topics, seed: 1, reduction });
 * ```
 */
export async function reduceForTopics(
  vectors: readonly Float32Array[],
  options: ReduceForTopicsOptions = {},
): Promise<TopicReduction> {
  if (!Array.isArray(vectors) || vectors.length === 0)
    throw invalidInput("reduceForTopics needs at least one vector.");
  checkVectors(vectors, vectors.length);
  const seed = options.seed ?? 42;
  checkInteger("seed", seed);
  const sampleSize = options.sampleSize ?? DEFAULT_SAMPLE;
  checkInteger("sampleSize", sampleSize, { min: 50, max: 100_000 });
  const epochs = options.epochs ?? DEFAULT_EPOCHS;
  checkInteger("epochs", epochs, { min: 10, max: 2000 });
  return reduceVectors(vectors, {
    seed,
    sampleSize,
    epochs,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

/** Sample rows of the clustering space. */
function sampleRows(reduction: TopicReduction): Float32Array[] {
  const { dimensions, space } = reduction;
  return Array.from(reduction.sample, (text) =>
    Float32Array.from(space.subarray(text * dimensions, (text + 1) * dimensions)),
  );
}

/** Labels of the sample, then of every text (the rest by their landmarks' weighted vote). */
function spreadLabels(reduction: TopicReduction, sampleLabels: Int32Array): Int32Array {
  const labels = new Int32Array(reduction.size);
  const inSample = new Uint8Array(reduction.size);
  reduction.sample.forEach((text, position) => {
    labels[text] = sampleLabels[position] as number;
    inSample[text] = 1;
  });
  const { index, weight } = reduction.landmarks;
  let rest = 0;
  for (let text = 0; text < reduction.size; text++) {
    if (inSample[text] === 1) continue;
    const votes = new Map<number, number>();
    for (let k = 0; k < LANDMARK_NEIGHBOURS; k++) {
      const slot = rest * LANDMARK_NEIGHBOURS + k;
      const label = sampleLabels[index[slot] as number] as number;
      votes.set(label, (votes.get(label) ?? 0) + (weight[slot] as number));
    }
    let best = -1;
    let bestVote = Number.NEGATIVE_INFINITY;
    for (const [label, vote] of votes) {
      if (vote > bestVote || (vote === bestVote && label < best)) {
        best = label;
        bestVote = vote;
      }
    }
    labels[text] = best;
    rest++;
  }
  return labels;
}

/** Renumber topics 0.. by size (largest first, ties by first text); -1 stays -1. */
function rankBySize(labels: Int32Array): { labels: Int32Array; count: number } {
  const stats = new Map<number, { size: number; first: number }>();
  labels.forEach((label, text) => {
    if (label < 0) return;
    const entry = stats.get(label);
    if (entry === undefined) stats.set(label, { size: 1, first: text });
    else entry.size++;
  });
  const order = [...stats.entries()].sort((a, b) => b[1].size - a[1].size || a[1].first - b[1].first);
  const rank = new Map(order.map(([label], position) => [label, position]));
  return {
    labels: labels.map((label) => (label < 0 ? -1 : (rank.get(label) as number))),
    count: order.length,
  };
}

/** Texts closest (cosine) to their topic's mean unit vector, per topic slot (outliers at slot 0). */
function representativeTexts(
  vectors: readonly Float32Array[],
  labels: Int32Array,
  topicCount: number,
  examples: number,
): number[][] {
  const dims = vectors[0]?.length ?? 0;
  const centroids = Array.from({ length: topicCount + 1 }, () => new Float64Array(dims));
  const norms = vectors.map((vector) => {
    let sum = 0;
    for (const value of vector) sum += value * value;
    return Math.sqrt(sum) || 1;
  });
  vectors.forEach((vector, text) => {
    const centroid = centroids[(labels[text] as number) + 1] as Float64Array;
    const norm = norms[text] as number;
    for (let d = 0; d < dims; d++) centroid[d] = (centroid[d] as number) + (vector[d] as number) / norm;
  });
  const best: { text: number; score: number }[][] = centroids.map(() => []);
  vectors.forEach((vector, text) => {
    const slot = (labels[text] as number) + 1;
    const centroid = centroids[slot] as Float64Array;
    let score = 0;
    for (let d = 0; d < dims; d++) score += (vector[d] as number) * (centroid[d] as number);
    score /= norms[text] as number;
    const list = best[slot] as { text: number; score: number }[];
    if (list.length < examples || score > (list[list.length - 1] as { score: number }).score) {
      list.push({ text, score });
      list.sort((a, b) => b.score - a.score || a.text - b.text);
      if (list.length > examples) list.pop();
    }
  });
  return best.map((list) => list.map((entry) => entry.text));
}

function labelOf(id: number, keywords: readonly { readonly word: string }[]): string {
  if (keywords.length === 0) return id < 0 ? "outliers" : `topic ${id}`;
  return keywords
    .slice(0, 4)
    .map((keyword) => keyword.word)
    .join(" · ");
}

/**
 * Discover topics in texts from their embeddings, BERTopic-style.
 *
 * @param texts the texts (keywords and examples come from them)
 * @param vectors one embedding per text, same order (any model; cosine geometry is used)
 * @throws EmbedkitError INVALID_INPUT for no texts, a non-string text, a count mismatch,
 *   non-finite values or cancellation; DIMENSION_MISMATCH for vectors of different lengths;
 *   INVALID_OPTION for a bad option (named, with the accepted range); DEPENDENCY_MISSING when
 *   umap-js, jieba or a stop-word list cannot load
 * @example
 * ```ts
 * const { vectors } = await embedder.embed(texts);
 * const { topics, assignments } = await discoverTopics(texts, vectors, { topics: "auto", seed: 7 });
 * for (const topic of topics) console.log(topic.id, topic.size, topic.label);
 * ```
 */
export async function discoverTopics(
  texts: readonly string[],
  vectors: readonly Float32Array[],
  options: DiscoverTopicsOptions = {},
): Promise<TopicResult> {
  if (!Array.isArray(texts) || texts.length === 0) {
    throw invalidInput("discoverTopics needs at least one text; received none.");
  }
  texts.forEach((text, index) => {
    if (typeof text !== "string")
      throw invalidInput(`texts[${index}] must be a string, received ${typeof text}.`, { index });
  });
  checkVectors(vectors, texts.length);
  const n = texts.length;
  checkOptions(options, n);
  const seed = options.seed ?? 42;
  const lang = options.lang ?? "auto";
  const keywordCount = options.keywords ?? 10;
  const exampleCount = options.examples ?? 3;
  const epochs = options.epochs ?? DEFAULT_EPOCHS;
  const requested = options.topics ?? "auto";
  const clustering: TopicClustering = requested === "auto" ? "hdbscan" : (options.clustering ?? "kmeans");
  // BERTopic's min_cluster_size (10), growing with large inputs so that the sample keeps about 10.
  const minTopicSize = options.minTopicSize ?? Math.min(500, Math.max(10, Math.round(n / 500)));
  const { signal, onProgress } = options;
  throwIfAborted(signal);

  // 1. Reduce (or reuse a reduction of the same vectors).
  const reduction = (options.reduction ??
    (await reduceVectors(vectors, {
      seed,
      sampleSize: options.sampleSize ?? DEFAULT_SAMPLE,
      epochs,
      onProgress: (done, total) => onProgress?.("reduce", done, total),
      ...(signal === undefined ? {} : { signal }),
    }))) as ReductionState;

  // 2. Cluster the sample, then let the rest follow their landmarks.
  throwIfAborted(signal);
  const m = reduction.sample.length;
  onProgress?.("cluster", 0, m);
  let sampleLabels: Int32Array;
  if (clustering === "kmeans") {
    const k = Math.min(requested as number, m);
    sampleLabels = kMeans(sampleRows(reduction), { k, seed }).assignments;
  } else {
    // minTopicSize counts texts; on a sample the same share of the sample.
    const minClusterSize = Math.max(2, Math.round((minTopicSize * m) / n));
    const found = hdbscan(sampleSpace(reduction), reduction.dimensions, {
      minClusterSize,
      minSamples: Math.min(minClusterSize, 10),
      onProgress: (done, total) => onProgress?.("cluster", Math.round((done / total) * m), m),
      checkCancelled: () => throwIfAborted(signal),
    });
    // No dense group at all (tiny or uniform input): everything is one topic.
    sampleLabels = found.clusters === 0 ? new Int32Array(m) : found.labels;
  }
  onProgress?.("cluster", m, m);
  let ranked = rankBySize(spreadLabels(reduction, sampleLabels));
  await yieldToEventLoop();

  // 3. Keywords: c-TF-IDF over the words of each topic; merge down to N when HDBSCAN found more.
  throwIfAborted(signal);
  const tokenized: TokenizedTexts = indexWords(
    texts.map((text, index) => {
      if (index % 2000 === 0) onProgress?.("keywords", index, n);
      return tokenizeForTopics(text, lang);
    }),
    options.vocabulary === undefined ? undefined : new Set(options.vocabulary),
  );
  throwIfAborted(signal);
  const slotOf = (labels: Int32Array): Int32Array => labels.map((label) => label + 1);
  if (requested !== "auto" && ranked.count > requested) {
    const counts = countWords(tokenized, slotOf(ranked.labels), ranked.count + 1);
    const sizes = new Array<number>(ranked.count).fill(0);
    for (const label of ranked.labels) if (label >= 0) sizes[label] = (sizes[label] as number) + 1;
    const into = mergeTopics(counts.slice(1), sizes, requested, [counts[0] as WordCounts]);
    ranked = rankBySize(ranked.labels.map((label) => (label < 0 ? -1 : (into[label] as number))));
  }
  const counts = countWords(tokenized, slotOf(ranked.labels), ranked.count + 1);
  const weights = classTfIdf(counts);
  // Slot 0 holds the outliers: plain ranking, and they do not take words from the topics.
  const keywordLists = [
    topWords(weights[0] as WordCounts, tokenized.words, keywordCount),
    ...diverseTopWords(
      weights.slice(1),
      tokenized.words,
      keywordCount,
      options.keywordDiversity ?? DEFAULT_KEYWORD_DIVERSITY,
    ),
  ];
  onProgress?.("keywords", n, n);
  await yieldToEventLoop();

  // 4. Examples and the map.
  throwIfAborted(signal);
  const examples = representativeTexts(vectors, ranked.labels, ranked.count, exampleCount);
  const map =
    options.map === false
      ? new Float32Array(0)
      : await mapVectors(reduction, {
          seed,
          epochs,
          onProgress: (done, total) => onProgress?.("map", done, total),
          ...(signal === undefined ? {} : { signal }),
        });

  const topics: DiscoveredTopic[] = [];
  const sizes = new Array<number>(ranked.count + 1).fill(0);
  for (const label of ranked.labels) sizes[label + 1] = (sizes[label + 1] as number) + 1;
  for (let slot = (sizes[0] as number) > 0 ? 0 : 1; slot <= ranked.count; slot++) {
    const id = slot - 1;
    const keywords = keywordLists[slot] as { word: string; score: number }[];
    topics.push({
      id,
      size: sizes[slot] as number,
      keywords,
      label: labelOf(id, keywords),
      examples: examples[slot] as number[],
    });
  }
  return { assignments: ranked.labels, topics, map };
}

/** The sample's clustering coordinates as one row-major array. */
function sampleSpace(reduction: TopicReduction): Float64Array {
  const { dimensions, space } = reduction;
  const flat = new Float64Array(reduction.sample.length * dimensions);
  reduction.sample.forEach((text, position) => {
    flat.set(space.subarray(text * dimensions, (text + 1) * dimensions), position * dimensions);
  });
  return flat;
}
