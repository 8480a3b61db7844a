/**
 * @module apps/social/analyze
 * `analyzeSocialPosts`: the whole social-media analysis of one export —
 * read the posts (streamed, strict UTF-8), parse timestamps, decide each
 * post's language, embed through the on-disk embedding cache (a re-run embeds
 * nothing), label sentiment with the shipped heads (or a trained classifier),
 * discover topics BERTopic-style (`topics.ts`: UMAP → HDBSCAN or k-means →
 * class-based TF-IDF), and compute trends over time buckets. Every option is
 * checked and every timestamp parsed before the first embedding, so bad input
 * costs nothing. Writing the outputs is `writeSocialOutputs` (outputs.ts).
 */

import { createEmbedder } from "../../embed/create-embedder.js";
import type { Embedder } from "../../embed/embedder.js";
import { EmbedkitError } from "../../errors.js";
import { embedTexts, openEmbeddingCache } from "../../eval/embedding-cache.js";
import { checkInteger } from "../../internal/options.js";
import { detectPostLanguage, type PostLanguage } from "./language.js";
import {
  loadSentimentHead,
  type SentimentHead,
  SHIPPED_SENTIMENT_HEADS,
  scoreSentiment,
} from "./sentiment.js";
import { type FieldValue, readSocialPosts, type SocialFileFormat } from "./social-input.js";
import {
  autoBucket,
  type Bucket,
  checkBucket,
  createBucketClock,
  dominantOffset,
  formatOffset,
  MAX_BUCKETS,
  type PostTime,
  parseTimestamp,
} from "./timestamps.js";
import {
  type DiscoveredTopic,
  discoverTopics,
  type TopicLanguage,
  type TopicResult,
  tokenizeForTopics,
} from "./topics.js";
import { computeTrends, type Trends } from "./trends.js";

/** Stages reported by {@link AnalyzeSocialOptions.onProgress}, in order. */
export const SOCIAL_STAGES = Object.freeze([
  "read",
  "embed",
  "sentiment",
  "reduce",
  "cluster",
  "keywords",
  "map",
  "trends",
] as const);
/** One stage of the analysis. */
export type SocialStage = (typeof SOCIAL_STAGES)[number];

/**
 * Wrap a progress callback so that the wall time between stage changes is summed per stage
 * (a stage runs from its first report to the first report of another stage, or to `seconds()`).
 */
function stageClock(onProgress: AnalyzeSocialOptions["onProgress"]): {
  report: (stage: SocialStage, done: number, total: number) => void;
  seconds: () => Partial<Record<SocialStage, number>>;
} {
  const totals: Partial<Record<SocialStage, number>> = {};
  let current: SocialStage | undefined;
  let since = performance.now();
  const close = (): void => {
    if (current === undefined) return;
    const now = performance.now();
    totals[current] = (totals[current] ?? 0) + (now - since) / 1000;
    since = now;
  };
  return {
    report: (stage, done, total) => {
      if (stage !== current) {
        close();
        current = stage;
        since = performance.now();
      }
      onProgress?.(stage, done, total);
    },
    seconds: () => {
      close();
      current = undefined;
      return Object.fromEntries(
        Object.entries(totals).map(([stage, value]) => [stage, Number((value as number).toFixed(2))]),
      );
    },
  };
}

/** Options of {@link analyzeSocialPosts}. */
export interface AnalyzeSocialOptions {
  /** Field/column with the post text. @default "text" */
  readonly textField?: string;
  /** Field/column with the post time; without it there are no trends. */
  readonly timeField?: string;
  /** Field/column to compare groups by (brand, airline, product…). */
  readonly groupField?: string;
  /** Field/column with the post id (echoed in examples and spikes). */
  readonly idField?: string;
  /** Post language: decided per post (`auto`) or forced. @default "auto" */
  readonly lang?: "auto" | "en" | "zh";
  /** Number of topics, or `auto` (density clustering decides). @default "auto" */
  readonly topics?: number | "auto";
  /** Time bucket of trends. @default "auto" (hour ≤ 3 days, day ≤ 120 days, else week) */
  readonly bucket?: Bucket | "auto";
  /** Seed of every random step (same seed, same result). @default 42 */
  readonly seed?: number;
  /** Folder of a head from `embedkit train classifier` to use instead of the shipped sentiment heads. */
  readonly classifier?: string;
  /** Skip (and count) posts whose timestamp does not parse instead of failing. @default false */
  readonly skipInvalid?: boolean;
  /** Input format (otherwise from the extension). */
  readonly format?: SocialFileFormat;
  /** Embedding cache folder, or `false` for none. @default `$EMBEDKIT_HOME/eval-cache` */
  readonly cacheDir?: string | false;
  /** Keywords per topic. @default 10 */
  readonly keywords?: number;
  /** Example posts per topic. @default 5 */
  readonly examples?: number;
  /** Buckets in the trailing window of emerging/fading topics. @default 3 */
  readonly trailingBuckets?: number;
  /** z from which a bucket's negative share is a spike. @default 3 */
  readonly spikeZ?: number;
  /** Fewest posts a bucket needs to count as a spike or peak. @default 10 */
  readonly minBucketPosts?: number;
  /** How to open an embedding model (the CLI passes one honouring `--home`). @default createEmbedder({ model }) */
  readonly openEmbedder?: (model: string) => Promise<Embedder>;
  /** Progress per stage. */
  readonly onProgress?: (stage: SocialStage, done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

/** One analysed post. */
export interface AnalyzedPost {
  /** Row (CSV/TSV, header excluded) or line (JSONL) in the input. */
  readonly row: number;
  readonly text: string;
  /** Every input field, passed through. */
  readonly fields: Readonly<Record<string, FieldValue>>;
  readonly language: PostLanguage;
  readonly sentiment: string;
  readonly sentimentScore: number;
  /** Topic id (-1 = outlier). */
  readonly topic: number;
  /** Epoch ms (with `timeField`). */
  readonly time?: number;
  /** Bucket index into `trends.buckets`. */
  readonly bucket?: number;
  readonly group?: string;
  readonly id?: string;
}

/** One topic with its keywords, examples and sentiment. */
export interface SocialTopic {
  /** -1 = outliers. */
  readonly id: number;
  readonly size: number;
  /** Best first. */
  readonly keywords: readonly string[];
  readonly keywordScores: readonly number[];
  readonly label: string;
  readonly language: PostLanguage | "mixed";
  /** Representative posts (indices into `posts`). */
  readonly examples: readonly number[];
  /** Posts per sentiment label and the mean score. */
  readonly sentiment: { readonly counts: Readonly<Record<string, number>>; readonly meanScore: number };
}

/** The run's numbers, as written to summary.json. */
export interface SocialSummary {
  readonly file: string;
  readonly posts: number;
  readonly emptyTexts: number;
  readonly invalidTimestamps: number;
  /** Rows skipped for their timestamp (first 100). */
  readonly invalidTimestampRows: readonly number[];
  readonly languages: Readonly<Record<string, number>>;
  readonly models: Readonly<Record<string, string>>;
  readonly sentimentHeads: Readonly<Record<string, string>>;
  readonly sentiment: Readonly<Record<string, number>>;
  readonly topics: number;
  readonly outliers: number;
  readonly embedding: { readonly embedded: number; readonly cached: number; readonly seconds: number };
  /** Wall seconds per stage (stages that ran; repeated stages, e.g. per language, are summed). */
  readonly stageSeconds: Readonly<Partial<Record<SocialStage, number>>>;
  readonly seed: number;
  /** Only with a time field. */
  readonly time?: {
    readonly bucket: Bucket;
    readonly timeZone: string;
    readonly from: string;
    readonly to: string;
    readonly buckets: number;
  };
}

/** Result of {@link analyzeSocialPosts}. */
export interface SocialAnalysis {
  readonly columns: readonly string[];
  readonly format: SocialFileFormat;
  readonly posts: readonly AnalyzedPost[];
  readonly topics: readonly SocialTopic[];
  /** 2-D topic map, two numbers per post. */
  readonly map: Float32Array;
  /** Sentiment labels in display order. */
  readonly sentimentLabels: readonly string[];
  /** Only with a time field. */
  readonly trends?: Trends;
  readonly summary: SocialSummary;
  /** Options as used (after defaults). */
  readonly options: {
    readonly textField: string;
    readonly timeField?: string;
    readonly groupField?: string;
    readonly idField?: string;
    readonly lang: "auto" | "en" | "zh";
    readonly topics: number | "auto";
    readonly seed: number;
  };
}

/** A post's text for topic keywords: @handles and links removed (the vector still sees them). */
export function textForKeywords(text: string): string {
  return text.replace(/https?:\/\/\S+|www\.\S+/g, " ").replace(/(^|[^\w])@\w+/g, "$1 ");
}

/** Below this many posts, a language's posts form a single topic (too few to cluster). */
export const MIN_POSTS_FOR_TOPICS = 8;

function fieldString(value: FieldValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === "string"
    ? value
    : typeof value === "object"
      ? JSON.stringify(value)
      : String(value);
}

function checkOptions(options: AnalyzeSocialOptions): void {
  for (const name of ["textField", "timeField", "groupField", "idField", "classifier"] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== "string" || value.trim() === "")) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `${name} must be a non-empty string, received ${JSON.stringify(value)}.`,
        {
          details: { param: name },
        },
      );
    }
  }
  if (options.lang !== undefined && !["auto", "en", "zh"].includes(options.lang)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `lang must be auto, en or zh, received ${JSON.stringify(options.lang)}.`,
      {
        details: { param: "lang" },
      },
    );
  }
  if (options.topics !== undefined && options.topics !== "auto") {
    checkInteger("topics", options.topics, { min: 1, max: 500 });
  }
  if (options.bucket !== undefined) checkBucket(options.bucket);
  if (options.seed !== undefined) checkInteger("seed", options.seed, { min: 0, max: 2 ** 32 - 1 });
  if (options.keywords !== undefined) checkInteger("keywords", options.keywords, { min: 1, max: 100 });
  if (options.examples !== undefined) checkInteger("examples", options.examples, { min: 1, max: 100 });
  if (options.trailingBuckets !== undefined) {
    checkInteger("trailingBuckets", options.trailingBuckets, { min: 1, max: 1000 });
  }
  if (options.minBucketPosts !== undefined)
    checkInteger("minBucketPosts", options.minBucketPosts, { min: 1 });
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new EmbedkitError("INVALID_INPUT", "Social analysis was cancelled by the caller's AbortSignal.", {
      cause: signal.reason,
    });
  }
}

/** Parse every post's timestamp (before any embedding). */
function parseTimes(
  posts: readonly { row: number; fields: Readonly<Record<string, FieldValue>> }[],
  timeField: string,
  skipInvalid: boolean,
): { times: (PostTime | undefined)[]; invalidRows: number[] } {
  const invalidRows: number[] = [];
  const times = posts.map((post) => {
    const raw = post.fields[timeField];
    const time = parseTimestamp(raw);
    if (time === undefined) {
      if (!skipInvalid) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `Row ${post.row}: cannot read ${JSON.stringify(raw ?? null)} in "${timeField}" as a time. Accepted: ISO 8601 (2015-02-24T11:35:52-08:00), "2015-02-24 11:35:52 -0800", epoch seconds or milliseconds. Fix the row, or pass --skip-invalid to skip such rows (they are counted).`,
          { details: { row: post.row, field: timeField, value: raw ?? null } },
        );
      }
      invalidRows.push(post.row);
    }
    return time;
  });
  return { times, invalidRows };
}

interface LanguageGroup {
  readonly language: PostLanguage;
  readonly topicLanguage: TopicLanguage;
  readonly model: string;
  readonly head: SentimentHead;
  readonly indices: number[];
}

/** Topics of one language group; ids local to the group (-1 = outlier). */
async function groupTopics(
  texts: readonly string[],
  vectors: readonly Float32Array[],
  options: {
    topics: number | "auto";
    lang: TopicLanguage;
    seed: number;
    keywords: number;
    examples: number;
    onProgress?: AnalyzeSocialOptions["onProgress"];
    signal?: AbortSignal;
  },
): Promise<TopicResult> {
  if (texts.length < MIN_POSTS_FOR_TOPICS) {
    // Too few posts to cluster: one topic, keywords by frequency, posts on a small circle.
    const counts = new Map<string, number>();
    for (const text of texts) {
      for (const word of tokenizeForTopics(text, options.lang)) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    const keywords = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, options.keywords)
      .map(([word, count]) => ({ word, score: count / texts.length }));
    const map = new Float32Array(texts.length * 2);
    texts.forEach((_, index) => {
      map[2 * index] = Math.cos((2 * Math.PI * index) / texts.length);
      map[2 * index + 1] = Math.sin((2 * Math.PI * index) / texts.length);
    });
    return {
      assignments: new Int32Array(texts.length),
      topics: [
        {
          id: 0,
          size: texts.length,
          keywords,
          label: keywords
            .slice(0, 3)
            .map((keyword) => keyword.word)
            .join(" · "),
          examples: texts.map((_, index) => index).slice(0, options.examples),
        },
      ],
      map,
    };
  }
  return discoverTopics(texts, vectors, {
    topics: options.topics,
    lang: options.lang,
    seed: options.seed,
    keywords: options.keywords,
    examples: options.examples,
    ...(options.onProgress === undefined
      ? {}
      : { onProgress: (stage, done, total) => options.onProgress?.(stage, done, total) }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

/**
 * Analyse a social-media export: sentiment, topics and (with a time field) trends.
 *
 * @param file - .csv, .tsv or .jsonl export
 * @throws EmbedkitError FILE_NOT_FOUND; INVALID_INPUT (empty file, missing
 *   column naming the available ones, no posts, unparsable timestamp with its
 *   row, too many buckets); MALFORMED_FILE (not UTF-8, bad CSV/JSON);
 *   INVALID_OPTION; MODEL_MISMATCH when `classifier` and the model disagree.
 * @example
 * ```ts
 * import { analyzeSocialPosts, writeSocialOutputs } from "embedkit/apps";
 * const analysis = await analyzeSocialPosts("Tweets.csv", { timeField: "tweet_created", groupField: "airline" });
 * await writeSocialOutputs(analysis, "out/");
 * ```
 */
export async function analyzeSocialPosts(
  file: string,
  options: AnalyzeSocialOptions = {},
): Promise<SocialAnalysis> {
  checkOptions(options);
  const textField = options.textField ?? "text";
  const lang = options.lang ?? "auto";
  const topicCount = options.topics ?? "auto";
  const seed = options.seed ?? 42;
  const keywords = options.keywords ?? 10;
  const examples = options.examples ?? 5;
  // Every stage report goes through the clock, so summary.stageSeconds holds wall time per stage.
  const stages = stageClock(options.onProgress);
  const progress = stages.report;
  // A custom head is loaded (and checked) before reading, so a bad folder costs nothing.
  const customHead =
    options.classifier === undefined ? undefined : await loadSentimentHead({ dir: options.classifier });

  const requiredFields: Record<string, string> = {};
  if (options.timeField !== undefined) requiredFields["--time-field"] = options.timeField;
  if (options.groupField !== undefined) requiredFields["--group-field"] = options.groupField;
  if (options.idField !== undefined) requiredFields["--id-field"] = options.idField;
  progress?.("read", 0, 1);
  const input = await readSocialPosts(file, {
    textField,
    requiredFields,
    ...(options.format === undefined ? {} : { format: options.format }),
  });
  for (const added of ["sentiment", "sentiment_score", "topic"]) {
    if (input.columns.includes(added)) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${file} already has a column "${added}", which the outputs add; rename that column first.`,
        { details: { column: added } },
      );
    }
  }
  progress?.("read", 1, 1);
  aborted(options.signal);

  // Timestamps and buckets: all checked before any embedding.
  let kept = input.posts;
  let times: PostTime[] = [];
  let invalidRows: number[] = [];
  if (options.timeField !== undefined) {
    const parsed = parseTimes(input.posts, options.timeField, options.skipInvalid ?? false);
    invalidRows = parsed.invalidRows;
    kept = input.posts.filter((_, index) => parsed.times[index] !== undefined);
    times = parsed.times.filter((time): time is PostTime => time !== undefined);
    if (kept.length === 0) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${file}: no post has a readable time in "${options.timeField}" (${invalidRows.length} skipped).`,
        { details: { invalidTimestamps: invalidRows.length } },
      );
    }
  }
  let clock: ReturnType<typeof createBucketClock> | undefined;
  let bucketStarts: number[] = [];
  if (times.length > 0) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const time of times) {
      min = Math.min(min, time.epochMs);
      max = Math.max(max, time.epochMs);
    }
    const requested = options.bucket ?? "auto";
    clock = createBucketClock(
      requested === "auto" ? autoBucket(max - min) : requested,
      dominantOffset(times),
    );
    const first = clock.startOf(min);
    const last = clock.startOf(max);
    for (let start = first; start <= last; start = clock.next(start)) {
      bucketStarts.push(start);
      if (bucketStarts.length > MAX_BUCKETS) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `The posts span more than ${MAX_BUCKETS} ${clock.bucket} buckets (${new Date(min).toISOString()} to ${new Date(max).toISOString()}); choose a larger --bucket.`,
          { details: { bucket: clock.bucket } },
        );
      }
    }
  } else {
    bucketStarts = [];
  }
  const bucketIndex = (epochMs: number): number => {
    const start = (clock as NonNullable<typeof clock>).startOf(epochMs);
    const size =
      (bucketStarts[1] ?? (clock as NonNullable<typeof clock>).next(start)) - (bucketStarts[0] ?? start);
    return Math.round((start - (bucketStarts[0] as number)) / size);
  };

  // Languages and heads.
  const languages: PostLanguage[] = kept.map((post) =>
    lang === "auto" ? detectPostLanguage(post.text) : lang,
  );
  const groupsByModel: LanguageGroup[] = [];
  if (customHead !== undefined) {
    groupsByModel.push({
      language: lang === "zh" ? "zh" : "en",
      topicLanguage: lang,
      model: customHead.classifier.embedding.modelId,
      head: customHead,
      indices: kept.map((_, index) => index),
    });
  } else {
    for (const language of ["en", "zh"] as const) {
      const indices = languages.flatMap((value, index) => (value === language ? [index] : []));
      if (indices.length === 0) continue;
      groupsByModel.push({
        language,
        topicLanguage: language,
        model: SHIPPED_SENTIMENT_HEADS[language].model,
        head: await loadSentimentHead({ language }),
        indices,
      });
    }
  }
  aborted(options.signal);

  // Embed (cached), label sentiment, discover topics — per embedding model.
  const sentiments: { label: string; score: number }[] = new Array(kept.length);
  const topicOf = new Int32Array(kept.length).fill(-1);
  const map = new Float32Array(kept.length * 2);
  const topics: SocialTopic[] = [];
  const topicBase: (Omit<DiscoveredTopic, "examples"> & { examples: number[]; language: PostLanguage })[] =
    [];
  let outlierExamples: number[] = [];
  let embedded = 0;
  let cached = 0;
  let embedSeconds = 0;
  let nextTopicId = 0;
  let mapOffset = 0;
  const totalPosts = kept.length;
  let labelled = 0;
  for (const group of groupsByModel) {
    const texts = group.indices.map((index) => (kept[index] as (typeof kept)[number]).text);
    // Keywords come from the text without @handles and links: in an export about brands the
    // handles (@united) would otherwise top every topic. Clustering still uses the full post's vector.
    const keywordTexts = texts.map(textForKeywords);
    const embedder = await (options.openEmbedder ?? ((model: string) => createEmbedder({ model })))(
      group.model,
    );
    let vectors: Float32Array[];
    try {
      group.head.classifier.assertEmbedding({ modelId: embedder.model.id, dims: embedder.model.dims });
      let batchStart = 0;
      let distinct = texts.length;
      // Progress inside each cache batch comes from the embedder's own sub-batches.
      const reporting: Embedder = {
        ...embedder,
        embed: ((inputs, embedOptions) =>
          embedder.embed(inputs, {
            ...embedOptions,
            onProgress: (done: number) => progress?.("embed", batchStart + done, distinct),
            ...(options.signal === undefined ? {} : { signal: options.signal }),
          })) as Embedder["embed"],
      };
      const result = await embedTexts({
        embedder: reporting,
        texts,
        // Large batches: each one rewrites the cache shards it touches.
        batchSize: 4096,
        cache:
          options.cacheDir === false
            ? false
            : openEmbeddingCache({
                modelId: embedder.model.id,
                inputType: "none",
                dims: embedder.model.dims,
                ...(options.cacheDir === undefined ? {} : { dir: options.cacheDir }),
              }),
        onProgress: ({ done, total }) => {
          batchStart = done;
          distinct = total;
          progress?.("embed", done, total);
        },
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      vectors = result.vectors;
      embedded += result.embedded;
      cached += result.cached;
      embedSeconds += result.embedSeconds;
    } finally {
      await embedder.close();
    }
    aborted(options.signal);
    progress?.("sentiment", labelled, totalPosts);
    scoreSentiment(group.head, vectors).forEach((sentiment, offset) => {
      sentiments[group.indices[offset] as number] = sentiment;
    });
    labelled += texts.length;
    progress?.("sentiment", labelled, totalPosts);
    let topicTarget: number | "auto" = topicCount;
    if (topicCount !== "auto" && groupsByModel.length > 1) {
      topicTarget = Math.max(1, Math.round((topicCount * texts.length) / kept.length));
    }
    const found = await groupTopics(keywordTexts, vectors, {
      topics: topicTarget === "auto" ? "auto" : Math.min(topicTarget, texts.length),
      lang: group.topicLanguage,
      seed,
      keywords,
      examples,
      onProgress: progress,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const idMap = new Map<number, number>();
    for (const topic of found.topics) {
      const examplesGlobal = topic.examples.map((local) => group.indices[local] as number);
      if (topic.id < 0) {
        idMap.set(topic.id, -1);
        outlierExamples = [...outlierExamples, ...examplesGlobal];
        continue;
      }
      idMap.set(topic.id, nextTopicId);
      topicBase.push({ ...topic, id: nextTopicId, examples: examplesGlobal, language: group.language });
      nextTopicId++;
    }
    // Place this group's map to the right of the previous ones.
    let minX = Number.POSITIVE_INFINITY;
    let maxX = Number.NEGATIVE_INFINITY;
    for (let local = 0; local < texts.length; local++) {
      const x = found.map[2 * local] as number;
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
    }
    group.indices.forEach((index, local) => {
      topicOf[index] = idMap.get(found.assignments[local] as number) ?? -1;
      map[2 * index] = (found.map[2 * local] as number) - minX + mapOffset;
      map[2 * index + 1] = found.map[2 * local + 1] as number;
    });
    mapOffset += maxX - minX + 1;
  }

  // Sentiment per topic.
  const sentimentLabels = customHead?.classifier.classes.includes("positive")
    ? [...new Set(["negative", "neutral", "positive", ...customHead.classifier.classes])]
    : customHead !== undefined
      ? [...customHead.classifier.classes]
      : ["negative", "neutral", "positive"];
  const sentimentOf = (indices: readonly number[]): SocialTopic["sentiment"] => {
    const counts: Record<string, number> = Object.fromEntries(sentimentLabels.map((label) => [label, 0]));
    let sum = 0;
    for (const index of indices) {
      const sentiment = sentiments[index] as { label: string; score: number };
      counts[sentiment.label] = (counts[sentiment.label] ?? 0) + 1;
      sum += sentiment.score;
    }
    return { counts, meanScore: indices.length === 0 ? 0 : sum / indices.length };
  };
  const members = new Map<number, number[]>();
  topicOf.forEach((topic, index) => {
    const list = members.get(topic) ?? [];
    list.push(index);
    members.set(topic, list);
  });
  for (const topic of topicBase) {
    const indices = members.get(topic.id) ?? [];
    topics.push({
      id: topic.id,
      size: indices.length,
      keywords: topic.keywords.map((keyword) => keyword.word),
      keywordScores: topic.keywords.map((keyword) => keyword.score),
      label: topic.label,
      language: topic.language,
      examples: topic.examples,
      sentiment: sentimentOf(indices),
    });
  }
  const outliers = members.get(-1) ?? [];
  topics.sort((a, b) => b.size - a.size || a.id - b.id);
  topics.push({
    id: -1,
    size: outliers.length,
    keywords: [],
    keywordScores: [],
    label: "outliers",
    language: groupsByModel.length > 1 ? "mixed" : (groupsByModel[0]?.language ?? "en"),
    examples: outlierExamples.slice(0, examples),
    sentiment: sentimentOf(outliers),
  });

  // Posts.
  const posts: AnalyzedPost[] = kept.map((post, index) => {
    const sentiment = sentiments[index] as { label: string; score: number };
    const group =
      options.groupField === undefined ? undefined : (fieldString(post.fields[options.groupField]) ?? "");
    const id = options.idField === undefined ? undefined : fieldString(post.fields[options.idField]);
    const time = times[index];
    return {
      row: post.row,
      text: post.text,
      fields: post.fields,
      language: languages[index] as PostLanguage,
      sentiment: sentiment.label,
      sentimentScore: sentiment.score,
      topic: topicOf[index] as number,
      ...(time === undefined ? {} : { time: time.epochMs, bucket: bucketIndex(time.epochMs) }),
      ...(group === undefined ? {} : { group: group === "" ? "(none)" : group }),
      ...(id === undefined ? {} : { id }),
    };
  });

  // Trends.
  let trends: Trends | undefined;
  if (clock !== undefined) {
    progress?.("trends", 0, 1);
    const labels = clock.label.bind(clock);
    trends = computeTrends({
      buckets: bucketStarts.map((start) => labels(start)),
      labels: sentimentLabels,
      posts: posts.map((post) => ({
        bucket: post.bucket as number,
        topic: post.topic,
        sentiment: post.sentiment,
        score: post.sentimentScore,
        ...(post.group === undefined ? {} : { group: post.group }),
      })),
      ...(options.trailingBuckets === undefined ? {} : { trailingBuckets: options.trailingBuckets }),
      ...(options.spikeZ === undefined ? {} : { spikeZ: options.spikeZ }),
      ...(options.minBucketPosts === undefined ? {} : { minBucketPosts: options.minBucketPosts }),
    });
    progress?.("trends", 1, 1);
  }

  const languageCounts: Record<string, number> = {};
  for (const language of languages) languageCounts[language] = (languageCounts[language] ?? 0) + 1;
  const sentimentCounts: Record<string, number> = Object.fromEntries(
    sentimentLabels.map((label) => [label, 0]),
  );
  for (const post of posts) sentimentCounts[post.sentiment] = (sentimentCounts[post.sentiment] ?? 0) + 1;
  const summary: SocialSummary = {
    file,
    posts: posts.length,
    emptyTexts: input.emptyTexts,
    invalidTimestamps: invalidRows.length,
    invalidTimestampRows: invalidRows.slice(0, 100),
    languages: languageCounts,
    models: Object.fromEntries(groupsByModel.map((group) => [group.language, group.model])),
    sentimentHeads: Object.fromEntries(
      groupsByModel.map((group) => [
        group.language,
        customHead === undefined
          ? `shipped:${SHIPPED_SENTIMENT_HEADS[group.language].folder}`
          : group.head.source,
      ]),
    ),
    sentiment: sentimentCounts,
    topics: topics.length - 1,
    outliers: outliers.length,
    embedding: { embedded, cached, seconds: Number(embedSeconds.toFixed(2)) },
    stageSeconds: stages.seconds(),
    seed,
    ...(clock === undefined
      ? {}
      : {
          time: {
            bucket: clock.bucket,
            timeZone: clock.offsetMinutes === 0 ? "UTC" : `UTC${formatOffset(clock.offsetMinutes)}`,
            from: new Date(Math.min(...posts.map((post) => post.time as number))).toISOString(),
            to: new Date(Math.max(...posts.map((post) => post.time as number))).toISOString(),
            buckets: bucketStarts.length,
          },
        }),
  };
  return {
    columns: input.columns,
    format: input.format,
    posts,
    topics,
    map,
    sentimentLabels,
    ...(trends === undefined ? {} : { trends }),
    summary,
    options: {
      textField,
      ...(options.timeField === undefined ? {} : { timeField: options.timeField }),
      ...(options.groupField === undefined ? {} : { groupField: options.groupField }),
      ...(options.idField === undefined ? {} : { idField: options.idField }),
      lang,
      topics: topicCount,
      seed,
    },
  };
}
