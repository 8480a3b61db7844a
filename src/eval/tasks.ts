/**
 * @module eval/tasks
 * Task runners beyond STS, all on frozen embeddings through the embedding cache:
 *
 * - pair classification: cosine of each pair, scored by average precision
 *   against 0/1 labels (plus ROC-AUC);
 * - retrieval: rank the whole corpus for every query by cosine (queries and
 *   passages embedded with the model's query/passage prefixes), then nDCG@10,
 *   MRR@10, Recall@{1,10,100} and MAP@100, with per-query results;
 * - classification: a logistic-regression probe trained on the train split,
 *   scored by accuracy, macro-F1 and (binary sets) ROC-AUC on the test split;
 * - clustering: seeded k-means with k = number of classes, scored by V-measure.
 *
 * Every runner reports the texts it embedded and the embedding speed (texts/s
 * over texts not served from the cache; `null` when all were cached).
 */
import type { Embedder, InputType } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import { dot } from "../vectors/math.js";
import {
  accuracy,
  averagePrecision,
  f1Report,
  type Label,
  rocAuc,
  vMeasure,
} from "./classification-metrics.js";
import { type EmbedTextsProgress, embedTexts, openEmbeddingCache } from "./embedding-cache.js";
import { kMeans } from "./kmeans.js";
import { trainLogisticProbe } from "./logistic-probe.js";
import {
  averagePrecisionAtK,
  meanOverQueries,
  ndcgAtK,
  recallAtK,
  reciprocalRankAtK,
} from "./retrieval-metrics.js";
import type { StsPair } from "./sts-data.js";
import type { LabeledText, RetrievalSet } from "./task-data.js";

/** Options every task runner accepts. */
export interface TaskRunOptions {
  /** The model under test (not closed by the runner). */
  readonly embedder: Embedder;
  /**
   * Folder of the on-disk embedding cache (one cache per model and input type
   * inside it); `false` disables caching.
   * @default defaultEvalCacheDir() ($EMBEDKIT_HOME/eval-cache)
   */
  readonly cacheDir?: string | false;
  /**
   * Prefix for symmetric tasks (pairs, classification, clustering). Retrieval
   * always embeds queries as "query" and documents as "passage".
   * @default "query" for models with a passage prefix (e5, as MTEB does), else "none"
   */
  readonly inputType?: InputType;
  /** Progress of embedding, with a phase label. */
  readonly onProgress?: (progress: EmbedTextsProgress & { readonly phase: string }) => void;
}

/** Embedding statistics every result carries. */
export interface EmbeddingStats {
  /** Texts embedded now (not from the cache). */
  readonly embedded: number;
  /** Texts served from the cache. */
  readonly cached: number;
  /** Texts per second over the embedded texts; null when everything was cached. */
  readonly textsPerSecond: number | null;
  /** Wall-clock seconds of the whole task. */
  readonly seconds: number;
}

function unitVectors(vectors: readonly Float32Array[]): Float32Array[] {
  return vectors.map((vector) => {
    let length = 0;
    for (const value of vector) length += value * value;
    length = Math.sqrt(length) || 1;
    return Float32Array.from(vector, (value) => value / length);
  });
}

/** Accumulates cache and timing counts over several embedTexts calls. */
function createStats(): {
  add(result: { embedded: number; cached: number; embedSeconds: number }): void;
  finish(started: number): EmbeddingStats;
} {
  let embedded = 0;
  let cached = 0;
  let seconds = 0;
  return {
    add(result) {
      embedded += result.embedded;
      cached += result.cached;
      seconds += result.embedSeconds;
    },
    finish(started) {
      return {
        embedded,
        cached,
        textsPerSecond: embedded === 0 || seconds === 0 ? null : embedded / seconds,
        seconds: (performance.now() - started) / 1000,
      };
    },
  };
}

/** The prefix MTEB uses for symmetric tasks: e5's "query: ", nothing for the others. */
export function symmetricInputType(embedder: Embedder): InputType {
  return embedder.model.prefixes.passage !== undefined ? "query" : "none";
}

async function embedPhase(
  options: TaskRunOptions,
  texts: readonly string[],
  phase: string,
  inputType: InputType | "symmetric",
  stats: ReturnType<typeof createStats>,
): Promise<Float32Array[]> {
  if (inputType === "symmetric") inputType = options.inputType ?? symmetricInputType(options.embedder);
  const cache =
    options.cacheDir === false
      ? false
      : openEmbeddingCache({
          modelId: options.embedder.model.id,
          inputType,
          dims: options.embedder.model.dims,
          ...(options.cacheDir === undefined ? {} : { dir: options.cacheDir }),
        });
  const result = await embedTexts({
    embedder: options.embedder,
    texts,
    inputType,
    cache,
    ...(options.onProgress === undefined
      ? {}
      : { onProgress: (progress: EmbedTextsProgress) => options.onProgress?.({ ...progress, phase }) }),
  });
  stats.add(result);
  return result.vectors;
}

/** Result of {@link evaluatePairClassification}. Scores ×100. */
export interface PairClassificationResult extends EmbeddingStats {
  /** Average precision of the pair cosine against the 0/1 labels, ×100. */
  readonly averagePrecision: number;
  /** ROC-AUC of the pair cosine, ×100. */
  readonly rocAuc: number;
  readonly pairs: number;
  /** Cosine and gold label of up to 2,000 pairs (for plots). */
  readonly sample: ReadonlyArray<{ readonly predicted: number; readonly gold: number }>;
}

/**
 * Pair classification: is each pair a paraphrase / duplicate (score 1) or not (0)?
 * The pair's cosine is the classifier score; average precision is the headline
 * number (MTEB's pair-classification metric).
 *
 * @throws EmbedkitError INVALID_INPUT when a score is not 0 or 1 or only one class is present.
 */
export async function evaluatePairClassification(
  options: TaskRunOptions & { readonly pairs: readonly StsPair[] },
): Promise<PairClassificationResult> {
  const started = performance.now();
  const stats = createStats();
  const { pairs } = options;
  const labels = pairs.map((pair, index) => {
    if (pair.score !== 0 && pair.score !== 1) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Pair classification needs 0/1 labels, but pair ${index} has score ${pair.score}. Use an STS evaluation for graded scores.`,
      );
    }
    return pair.score;
  });
  const vectors = await embedPhase(
    options,
    pairs.flatMap((pair) => [pair.a, pair.b]),
    "pairs",
    "none",
    stats,
  );
  const units = unitVectors(vectors);
  const cosines = pairs.map((_, index) =>
    dot(units[2 * index] as Float32Array, units[2 * index + 1] as Float32Array),
  );
  const step = Math.max(1, Math.ceil(pairs.length / 2000));
  return {
    averagePrecision: averagePrecision(labels, cosines) * 100,
    rocAuc: rocAuc(labels, cosines) * 100,
    pairs: pairs.length,
    sample: cosines
      .filter((_, index) => index % step === 0)
      .map((predicted, index) => ({ predicted, gold: labels[index * step] as number })),
    ...stats.finish(started),
  };
}

/** One query's outcome in {@link RetrievalResult}. */
export interface RetrievalQueryResult {
  readonly id: string;
  readonly text: string;
  readonly ndcgAt10: number;
  readonly reciprocalRankAt10: number;
  readonly recallAt100: number;
  /** Relevant documents of the query. */
  readonly relevant: number;
  /** 1-based rank of the first relevant document in the top 100, or null. */
  readonly firstRelevantRank: number | null;
  /** The top 3 documents with relevance flags. */
  readonly top: ReadonlyArray<{
    readonly id: string;
    readonly title: string;
    readonly relevant: boolean;
    readonly score: number;
  }>;
}

/** Result of {@link evaluateRetrieval}. Scores ×100. */
export interface RetrievalResult extends EmbeddingStats {
  readonly ndcgAt10: number;
  readonly mrrAt10: number;
  readonly recallAt1: number;
  readonly recallAt10: number;
  readonly recallAt100: number;
  readonly mapAt100: number;
  readonly queries: number;
  readonly documents: number;
  /** Queries left out because they have no relevant document. */
  readonly skippedQueries: number;
  readonly perQuery: readonly RetrievalQueryResult[];
}

/**
 * Retrieval: embed the corpus as passages (`title + " " + text`, as BEIR) and
 * the queries as queries, rank every document by cosine, and score the top 100.
 *
 * @throws EmbedkitError INVALID_INPUT for an empty corpus or no queries; errors of `embedder.embed`.
 */
export async function evaluateRetrieval(
  options: TaskRunOptions & { readonly set: RetrievalSet },
): Promise<RetrievalResult> {
  const started = performance.now();
  const stats = createStats();
  const { corpus, queries, qrels } = options.set;
  if (corpus.length === 0 || queries.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Retrieval needs a corpus and queries, received ${corpus.length} documents and ${queries.length} queries.`,
    );
  }
  const documentVectors = unitVectors(
    await embedPhase(
      options,
      corpus.map((document) =>
        document.title === "" ? document.text : `${document.title} ${document.text}`,
      ),
      "corpus",
      "passage",
      stats,
    ),
  );
  const queryVectors = unitVectors(
    await embedPhase(
      options,
      queries.map((query) => query.text),
      "queries",
      "query",
      stats,
    ),
  );
  const depth = Math.min(100, corpus.length);
  const scores = {
    ndcg: [] as (number | null)[],
    rr: [] as (number | null)[],
    r1: [] as (number | null)[],
    r10: [] as (number | null)[],
    r100: [] as (number | null)[],
    map: [] as (number | null)[],
  };
  const perQuery: RetrievalQueryResult[] = [];
  queries.forEach((query, queryIndex) => {
    const queryVector = queryVectors[queryIndex] as Float32Array;
    const similarity = documentVectors.map((vector) => dot(queryVector, vector));
    // Top `depth` by score; ties broken by corpus order so results are stable.
    const order = Array.from({ length: corpus.length }, (_, i) => i)
      .sort((a, b) => (similarity[b] as number) - (similarity[a] as number) || a - b)
      .slice(0, depth);
    const ranked = order.map((index) => (corpus[index] as { id: string }).id);
    const judgements = qrels.get(query.id) ?? new Map<string, number>();
    const ndcg = ndcgAtK(ranked, judgements, 10);
    const rr = reciprocalRankAtK(ranked, judgements, 10);
    const r100 = recallAtK(ranked, judgements, 100);
    scores.ndcg.push(ndcg);
    scores.rr.push(rr);
    scores.r1.push(recallAtK(ranked, judgements, 1));
    scores.r10.push(recallAtK(ranked, judgements, 10));
    scores.r100.push(r100);
    scores.map.push(averagePrecisionAtK(ranked, judgements, 100));
    if (ndcg === null) return;
    const firstHit = ranked.findIndex((id) => (judgements.get(id) ?? 0) > 0);
    perQuery.push({
      id: query.id,
      text: query.text,
      ndcgAt10: ndcg * 100,
      reciprocalRankAt10: (rr ?? 0) * 100,
      recallAt100: (r100 ?? 0) * 100,
      relevant: [...judgements.values()].filter((gain) => gain > 0).length,
      firstRelevantRank: firstHit === -1 ? null : firstHit + 1,
      top: order.slice(0, 3).map((index) => {
        const document = corpus[index] as { id: string; title: string };
        return {
          id: document.id,
          title: document.title,
          relevant: (judgements.get(document.id) ?? 0) > 0,
          score: similarity[index] as number,
        };
      }),
    });
  });
  const ndcgMean = meanOverQueries(scores.ndcg);
  return {
    ndcgAt10: ndcgMean.mean * 100,
    mrrAt10: meanOverQueries(scores.rr).mean * 100,
    recallAt1: meanOverQueries(scores.r1).mean * 100,
    recallAt10: meanOverQueries(scores.r10).mean * 100,
    recallAt100: meanOverQueries(scores.r100).mean * 100,
    mapAt100: meanOverQueries(scores.map).mean * 100,
    queries: ndcgMean.scored,
    documents: corpus.length,
    skippedQueries: ndcgMean.skipped,
    perQuery,
    ...stats.finish(started),
  };
}

/** Result of {@link evaluateClassification}. Scores ×100. */
export interface ClassificationResult extends EmbeddingStats {
  readonly accuracy: number;
  readonly macroF1: number;
  /** ROC-AUC for two-class sets (probability of the second class in sort order); null otherwise. */
  readonly rocAuc: number | null;
  readonly classes: readonly Label[];
  readonly trainSize: number;
  readonly testSize: number;
  /** Probe iterations used. */
  readonly iterations: number;
}

/**
 * Classification with a logistic-regression probe on frozen embeddings.
 *
 * @throws EmbedkitError INVALID_INPUT for empty splits or a single class; errors of `embedder.embed`.
 */
export async function evaluateClassification(
  options: TaskRunOptions & {
    readonly train: readonly LabeledText[];
    readonly test: readonly LabeledText[];
    readonly l2?: number;
  },
): Promise<ClassificationResult> {
  const started = performance.now();
  const stats = createStats();
  if (options.train.length === 0 || options.test.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Classification needs train and test items, received ${options.train.length} and ${options.test.length}.`,
    );
  }
  const trainVectors = await embedPhase(
    options,
    options.train.map((item) => item.text),
    "train",
    "none",
    stats,
  );
  const testVectors = await embedPhase(
    options,
    options.test.map((item) => item.text),
    "test",
    "none",
    stats,
  );
  const probe = trainLogisticProbe({
    vectors: trainVectors,
    labels: options.train.map((item) => item.label),
    ...(options.l2 === undefined ? {} : { l2: options.l2 }),
  });
  const truth = options.test.map((item) => item.label);
  const predicted = probe.predict(testVectors);
  let auc: number | null = null;
  if (probe.classes.length === 2 && new Set(truth).size === 2) {
    const positive = probe.classes[1];
    const scores = probe.probabilities(testVectors).map((row) => row[1] as number);
    auc =
      rocAuc(
        truth.map((label) => (label === positive ? 1 : 0)),
        scores,
      ) * 100;
  }
  return {
    accuracy: accuracy(truth, predicted) * 100,
    macroF1: f1Report(truth, predicted).macroF1 * 100,
    rocAuc: auc,
    classes: probe.classes,
    trainSize: options.train.length,
    testSize: options.test.length,
    iterations: probe.iterations,
    ...stats.finish(started),
  };
}

/** Result of {@link evaluateClustering}. Scores ×100. */
export interface ClusteringResult extends EmbeddingStats {
  readonly vMeasure: number;
  readonly homogeneity: number;
  readonly completeness: number;
  readonly k: number;
  readonly items: number;
}

/**
 * Clustering: seeded k-means (k = number of distinct labels unless given) on the
 * embeddings, scored by V-measure against the labels.
 *
 * @throws EmbedkitError INVALID_INPUT for fewer items than clusters; errors of `embedder.embed`.
 */
export async function evaluateClustering(
  options: TaskRunOptions & {
    readonly items: readonly LabeledText[];
    readonly k?: number;
    readonly seed?: number;
  },
): Promise<ClusteringResult> {
  const started = performance.now();
  const stats = createStats();
  const labels = options.items.map((item) => item.label);
  const k = options.k ?? new Set(labels).size;
  if (options.items.length < Math.max(2, k)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Clustering needs at least as many items as clusters (${k}), received ${options.items.length}.`,
    );
  }
  const vectors = unitVectors(
    await embedPhase(
      options,
      options.items.map((item) => item.text),
      "items",
      "none",
      stats,
    ),
  );
  const { assignments } = kMeans(vectors, { k, seed: options.seed ?? 42 });
  const score = vMeasure(labels, [...assignments]);
  return {
    vMeasure: score.vMeasure * 100,
    homogeneity: score.homogeneity * 100,
    completeness: score.completeness * 100,
    k,
    items: options.items.length,
    ...stats.finish(started),
  };
}
