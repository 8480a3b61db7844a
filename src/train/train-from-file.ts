/**
 * @module train/train-from-file
 * The training workflows behind `embedkit train classifier` and `embedkit
 * train adapter`, as library functions: read a labelled (or paired)
 * CSV/TSV/JSONL file, check it, embed its texts through the on-disk embedding
 * cache (re-runs only embed new texts), train a head on the frozen vectors,
 * save it as a checkpoint folder and write an HTML learning-curve report next
 * to it. Progress is reported through callbacks, so the CLI only parses
 * arguments, calls these and prints.
 *
 * The file is read and checked before the embedder is opened, so a bad file
 * fails fast and nothing is written; the head and the report are written only
 * after training succeeded (each atomically).
 */
import { join } from "node:path";
import type { Embedder } from "../embed/embedder.js";
import { readTextFile } from "../embed/text-file.js";
import {
  createWordVectorEmbedder,
  type WordVectorEmbedderOptions,
} from "../embed/word-vectors/word-vector-embedder.js";
import { EmbedkitError } from "../errors.js";
import { macroF1 } from "../eval/classification-metrics.js";
import { embedTexts, openEmbeddingCache } from "../eval/embedding-cache.js";
import { renderLearningCurveHtml } from "../eval/report.js";
import { scoreVectorRetrieval } from "../eval/vector-retrieval.js";
import { writeFileAtomic } from "../internal/atomic-write.js";
import { createRandom } from "../vectors/random.js";
import { type EmbeddingAdapter, saveAdapter, trainAdapter } from "./adapter.js";
import {
  augmentDataset,
  createWordVectorSynonyms,
  type SynonymSource,
  TEXT_AUGMENTATIONS,
  type TextAugmentation,
} from "./augment-text.js";
import {
  ACCURACY_METRIC,
  type ClassificationMetric,
  type Classifier,
  saveClassifier,
  stratifiedSplit,
  trainClassifier,
} from "./classifier.js";
import type { Activation } from "./layers.js";
import type { OptimizerName } from "./optimizers.js";
import type { ScheduleName } from "./schedules.js";
import type { EpochReport } from "./train-model.js";

/** Validation metrics {@link trainClassifierFromFile} can select the best epoch by. */
export const CLASSIFIER_FILE_METRICS = Object.freeze(["accuracy", "macro-f1"] as const);

/** One of {@link CLASSIFIER_FILE_METRICS}. */
export type ClassifierFileMetric = (typeof CLASSIFIER_FILE_METRICS)[number];

/** Progress of the embedding step of a training workflow. */
export interface EmbedFileProgress {
  readonly model: string;
  readonly done: number;
  readonly total: number;
}

/** Options both workflows share: the embedder, the optimizer, the run and where to save. */
export interface TrainFromFileOptions {
  /**
   * The frozen embedder, or a function that opens one. A function is called
   * only after the file was read and checked, and the embedder it returns is
   * closed at the end; an embedder passed directly stays open (the caller owns it).
   */
  readonly embedder: Embedder | (() => Promise<Embedder>);
  /** Folder the trained head is saved in (`model.json` + weights). */
  readonly out: string;
  /** HTML learning-curve report. @default `<out>/report.html` */
  readonly report?: string;
  /** Use the on-disk embedding cache (`$EMBEDKIT_HOME/eval-cache`). @default true */
  readonly cache?: boolean;
  /** @default "adamw" */
  readonly optimizer?: OptimizerName;
  /** Peak learning rate. @default the optimizer's default (1e-3 for adam/adamw) */
  readonly learningRate?: number;
  /** Weight decay (decoupled for adamw). @default the optimizer's default (adapter: 0) */
  readonly weightDecay?: number;
  /** Learning-rate schedule after warmup. @default "constant" */
  readonly schedule?: ScheduleName;
  /** Linear warmup: a share of all steps (< 1) or a number of steps. @default 0 */
  readonly warmup?: number;
  /** Passes over the training data. @default 20 (classifier), 10 (adapter) */
  readonly epochs?: number;
  /** Examples per optimizer step. @default 32 */
  readonly batchSize?: number;
  /** Seed of splits, shuffling, dropout and augmentation. @default 42 */
  readonly seed?: number;
  /** Stop after this many epochs without validation improvement (the best epoch is kept). */
  readonly patience?: number;
  /** Called after each epoch. */
  readonly onEpoch?: (report: EpochReport) => void;
  /** Called as texts are embedded (cache hits count as done); `model` is the embedder's model id. */
  readonly onEmbedProgress?: (progress: EmbedFileProgress) => void;
}

/** Options of {@link trainClassifierFromFile}. */
export interface TrainClassifierFromFileOptions extends TrainFromFileOptions {
  /** Training file: `.csv`/`.tsv` with a header, or `.jsonl`. */
  readonly data: string;
  /** Column/field with the text. @default "text" */
  readonly textField?: string;
  /** Column/field with the label. @default "label" */
  readonly labelField?: string;
  /** A separate validation file (same columns); replaces `validationShare`. */
  readonly validationData?: string;
  /** Share of rows held out (stratified) for validation, in [0, 1). @default 0.1 */
  readonly validationShare?: number;
  /** Hidden layer sizes; empty = a linear head (logistic regression). @default [] */
  readonly hidden?: readonly number[];
  /** @default "relu" */
  readonly activation?: Activation;
  /** Dropout rate before each linear layer. @default 0 */
  readonly dropout?: number;
  /** L2 penalty added to the loss. @default 0 */
  readonly l2?: number;
  /** Weight classes by n / (classes × count). @default false */
  readonly classWeights?: boolean;
  /** Validation metric for early stopping and the best epoch. @default "accuracy" */
  readonly metric?: ClassifierFileMetric;
  /** Augmentations of the training rows (after the validation split). @default [] */
  readonly augment?: readonly TextAugmentation[];
  /** Augmented copies per training row. @default 1 */
  readonly augmentCopies?: number;
  /** Share of words/characters changed per copy. @default 0.1 */
  readonly augmentRate?: number;
  /**
   * Synonyms for the `synonym` and `insertion` augmentations.
   * @default the static word vectors (wink-glove-100d) from `store`
   */
  readonly synonyms?: SynonymSource;
  /** Model store the default synonyms' word vectors come from. @default the default store */
  readonly store?: WordVectorEmbedderOptions["store"];
}

/** What {@link trainClassifierFromFile} did. */
export interface TrainClassifierFromFileResult {
  /** The trained classifier (best epoch's weights), as saved in `out`. */
  readonly classifier: Classifier;
  readonly out: string;
  readonly report: string;
  /** Embedding model id the head was trained on. */
  readonly model: string;
  readonly classes: readonly string[];
  /** Training rows (after augmentation) and validation rows. */
  readonly trainRows: number;
  readonly validationRows: number;
  /** Augmented rows among `trainRows`. */
  readonly augmentedRows: number;
  /** Epochs run, and the one whose weights were kept (1-based). */
  readonly epochs: number;
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  /** Name of the validation metric (`accuracy` or `macro-F1`) and its value at the best epoch. */
  readonly metric: string;
  readonly validationMetric: number | null;
  /** Training loss at the best epoch. */
  readonly trainLoss: number | null;
  readonly history: readonly EpochReport[];
}

/** Options of {@link trainAdapterFromFile}. */
export interface TrainAdapterFromFileOptions extends TrainFromFileOptions {
  /** Pairs file: `.csv`/`.tsv` with a header, or `.jsonl`. */
  readonly data: string;
  /** Column/field with the query. @default "query" */
  readonly queryField?: string;
  /** Column/field with the matching passage. @default "positive" */
  readonly positiveField?: string;
  /** Share of pairs held out to measure nDCG@10 before/after, in [0, 1). @default 0.2 */
  readonly validationShare?: number;
  /** Softmax temperature of the contrastive loss. @default 0.05 */
  readonly temperature?: number;
}

/** What {@link trainAdapterFromFile} did. */
export interface TrainAdapterFromFileResult {
  /** The trained adapter (best epoch's weights), as saved in `out`. */
  readonly adapter: EmbeddingAdapter;
  readonly out: string;
  readonly report: string;
  readonly model: string;
  readonly trainPairs: number;
  readonly validationPairs: number;
  readonly bestEpoch: number;
  /** Validation nDCG@10 of the plain query vectors, and of the adapted ones at the best epoch (null without validation). */
  readonly validationNdcgBefore: number | null;
  readonly validationNdcgAfter: number | null;
  readonly history: readonly EpochReport[];
}

/** Texts and their labels, in file order. */
export interface Labelled {
  readonly texts: string[];
  readonly labels: string[];
}

function checkShare(name: string, value: number): number {
  if (!(value >= 0 && value < 1)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${name} must be a number in [0, 1), received ${String(value)}.`,
      {
        details: { option: name },
      },
    );
  }
  return value;
}

/** Read a labelled text file (CSV/TSV with a header, or JSONL): texts and their labels; a row without a label is refused. */
export async function readLabelled(path: string, textField: string, labelField: string): Promise<Labelled> {
  const records = await readTextFile(path, {
    textField,
    idField: labelField,
    textFieldOption: "--text-col",
    idFieldOption: "--label-col",
  });
  if (/\.txt$/i.test(path)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${path}: a training file needs a label per text; use .csv/.tsv (with a header) or .jsonl with --text-col and --label-col.`,
    );
  }
  const labels = records.map((record, index) => {
    const label = record.id?.trim() ?? "";
    if (label === "") {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${path}: row ${index + 1} has no value in the label column "${labelField}". Every training row needs a label (check --label-col).`,
        { details: { path, row: index + 1 } },
      );
    }
    return label;
  });
  return { texts: records.map((record) => record.text), labels };
}

/** Open the embedder (when given as a function), run `work`, close what was opened here. */
async function withEmbedder<T>(
  source: TrainFromFileOptions["embedder"],
  work: (embedder: Embedder) => Promise<T>,
) {
  if (typeof source !== "function") return work(source);
  const embedder = await source();
  try {
    return await work(embedder);
  } finally {
    await embedder.close();
  }
}

/** Embed texts without a prefix, through the embedding cache unless `cache` is false. */
async function embedAll(
  embedder: Embedder,
  texts: readonly string[],
  options: TrainFromFileOptions,
): Promise<Float32Array[]> {
  const result = await embedTexts({
    embedder,
    texts,
    inputType: "none",
    cache:
      (options.cache ?? true)
        ? openEmbeddingCache({ modelId: embedder.model.id, inputType: "none", dims: embedder.model.dims })
        : false,
    ...(options.onEmbedProgress === undefined
      ? {}
      : {
          onProgress: (progress) =>
            options.onEmbedProgress?.({
              model: embedder.model.id,
              done: progress.done,
              total: progress.total,
            }),
        }),
  });
  return result.vectors;
}

/**
 * Train a classifier head on frozen embeddings of a labelled file and save it
 * with a learning-curve report: read and check the file, hold out a stratified
 * validation share (or read `validationData`), augment the training rows,
 * embed everything through the embedding cache, train, save.
 *
 * @example
 * ```ts
 * import { createEmbedder } from "embedkit";
 * import { trainClassifierFromFile } from "embedkit/train";
 * const result = await trainClassifierFromFile({
 *   data: "reviews.csv", textField: "text", labelField: "label",
 *   embedder: () => createEmbedder({ model: "bge-small-en-v1.5" }),
 *   out: "clf/", schedule: "cosine", warmup: 0.1, patience: 5,
 *   onEpoch: (epoch) => console.log(epoch.epoch, epoch.validationMetric),
 * });
 * console.log(result.classes, result.validationMetric);
 * ```
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE (with the line), INVALID_INPUT (fewer than
 *   two labels, a row without a label, a `.txt` file), INVALID_OPTION (bad share, sizes, rates);
 *   errors of the embedder and of saving
 */
export async function trainClassifierFromFile(
  options: TrainClassifierFromFileOptions,
): Promise<TrainClassifierFromFileResult> {
  const textField = options.textField ?? "text";
  const labelField = options.labelField ?? "label";
  const validationShare = checkShare("validationShare", options.validationShare ?? 0.1);
  const seed = options.seed ?? 42;
  const epochs = options.epochs ?? 20;
  const batchSize = options.batchSize ?? 32;
  const hidden = [...(options.hidden ?? [])];
  const activation = options.activation ?? "relu";
  const dropout = options.dropout ?? 0;
  const l2 = options.l2 ?? 0;
  const optimizer = options.optimizer ?? "adamw";
  const schedule = options.schedule ?? "constant";
  const warmup = options.warmup ?? 0;
  const augment = [...(options.augment ?? [])];
  const metricName = options.metric ?? "accuracy";
  if (!(CLASSIFIER_FILE_METRICS as readonly string[]).includes(metricName)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `metric must be one of ${CLASSIFIER_FILE_METRICS.join(", ")}, received ${JSON.stringify(metricName)}.`,
    );
  }
  for (const kind of augment) {
    if (!(TEXT_AUGMENTATIONS as readonly string[]).includes(kind)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `Unknown augmentation ${JSON.stringify(kind)} (known: ${TEXT_AUGMENTATIONS.join(", ")}).`,
      );
    }
  }

  const data = await readLabelled(options.data, textField, labelField);
  const distinct = new Set(data.labels);
  if (distinct.size < 2) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${options.data} has only one label (${JSON.stringify([...distinct][0])}) in column "${labelField}"; a classifier needs at least two.`,
    );
  }
  // Split before augmenting, so no augmented copy of a validation text leaks into training.
  let train: Labelled = data;
  let validation: Labelled | undefined;
  if (options.validationData !== undefined) {
    validation = await readLabelled(options.validationData, textField, labelField);
  } else if (validationShare > 0) {
    const split = stratifiedSplit(data.labels, validationShare, seed);
    train = {
      texts: split.train.map((i) => data.texts[i] as string),
      labels: split.train.map((i) => data.labels[i] as string),
    };
    validation = {
      texts: split.validation.map((i) => data.texts[i] as string),
      labels: split.validation.map((i) => data.labels[i] as string),
    };
  }
  const originalCount = train.texts.length;
  if (augment.length > 0) {
    let synonyms = options.synonyms;
    let closeWordVectors: (() => Promise<void>) | undefined;
    if (synonyms === undefined && augment.some((kind) => kind === "synonym" || kind === "insertion")) {
      const wordVectors = await createWordVectorEmbedder(
        options.store === undefined ? {} : { store: options.store },
      );
      synonyms = createWordVectorSynonyms(wordVectors);
      closeWordVectors = () => wordVectors.close();
    }
    try {
      train = augmentDataset({
        texts: train.texts,
        labels: train.labels,
        augmentations: augment,
        copies: options.augmentCopies ?? 1,
        rate: options.augmentRate ?? 0.1,
        seed,
        ...(synonyms === undefined ? {} : { synonyms }),
      });
    } finally {
      await closeWordVectors?.();
    }
  }

  return withEmbedder(options.embedder, async (embedder) => {
    const vectors = await embedAll(embedder, [...train.texts, ...(validation?.texts ?? [])], options);
    const trainVectors = vectors.slice(0, train.texts.length);
    const validationVectors = vectors.slice(train.texts.length);
    const metric: ClassificationMetric =
      metricName === "macro-f1"
        ? { name: "macro-F1", compute: (truth, predicted) => macroF1([...truth], [...predicted]) }
        : ACCURACY_METRIC;
    const embedding = { modelId: embedder.model.id, dims: embedder.model.dims };
    const result = trainClassifier({
      vectors: trainVectors,
      labels: train.labels,
      embedding,
      ...(validation === undefined
        ? {}
        : { validation: { vectors: validationVectors, labels: validation.labels } }),
      hidden,
      activation,
      dropout,
      optimizer: {
        name: optimizer,
        ...(options.learningRate === undefined ? {} : { learningRate: options.learningRate }),
        ...(options.weightDecay === undefined ? {} : { weightDecay: options.weightDecay }),
      },
      schedule: { name: schedule, warmup },
      epochs,
      batchSize,
      seed,
      l2,
      ...(options.classWeights === true ? { classWeights: "balanced" as const } : {}),
      metric,
      ...(options.patience === undefined || validation === undefined
        ? {}
        : { earlyStopping: { patience: options.patience } }),
      ...(options.onEpoch === undefined ? {} : { onEpoch: options.onEpoch }),
    });
    const settings = {
      model: embedding.modelId,
      dims: embedding.dims,
      data: options.data,
      trainRows: originalCount,
      augmentedRows: train.texts.length - originalCount,
      validationRows: validation?.texts.length ?? 0,
      classes: result.classifier.classes.join(", "),
      hidden: hidden.length === 0 ? "none (linear)" : hidden.join(","),
      activation,
      dropout,
      optimizer,
      learningRate: options.learningRate ?? "default",
      weightDecay: options.weightDecay ?? "default",
      l2,
      schedule,
      warmup,
      epochs,
      batchSize,
      classWeights: options.classWeights === true ? "balanced" : "none",
      augment: augment.join(",") || "none",
      seed,
    };
    await saveClassifier(options.out, result.classifier, {
      settings,
      history: result.history,
      bestEpoch: result.bestEpoch,
      metric: metric.name,
    });
    const report = options.report ?? join(options.out, "report.html");
    await writeFileAtomic(
      report,
      renderLearningCurveHtml({
        title: `embedkit classifier — ${options.data}`,
        settings,
        epochs: result.history,
        metricName: metric.name,
        bestEpoch: result.bestEpoch,
        notes: [
          `Best epoch ${result.bestEpoch} of ${result.history.length}${result.stoppedEarly ? " (stopped early)" : ""}; its weights were saved.`,
          `${Math.round(result.examplesPerSecond)} training examples/s.`,
        ],
      }),
    );
    const best = result.history[result.bestEpoch - 1];
    return {
      classifier: result.classifier,
      out: options.out,
      report,
      model: embedding.modelId,
      classes: result.classifier.classes,
      trainRows: result.trainSize,
      validationRows: result.validationSize,
      augmentedRows: train.texts.length - originalCount,
      epochs: result.history.length,
      bestEpoch: result.bestEpoch,
      stoppedEarly: result.stoppedEarly,
      metric: metric.name,
      validationMetric: best?.validationMetric ?? null,
      trainLoss: best?.trainLoss ?? null,
      history: result.history,
    };
  });
}

/**
 * Train a query adapter (a linear map initialised to the identity) on the
 * (query, positive passage) pairs of a file with an in-batch-negatives
 * contrastive loss, and save it with a learning-curve report. A held-out share
 * of the pairs measures retrieval nDCG@10 (adapted queries against the
 * unchanged passage vectors) before and after.
 *
 * @example
 * ```ts
 * const result = await trainAdapterFromFile({
 *   data: "pairs.csv", queryField: "question", positiveField: "answer",
 *   embedder: () => createEmbedder({ model: "bge-small-en-v1.5" }), out: "adapter/",
 * });
 * console.log(result.validationNdcgBefore, "→", result.validationNdcgAfter);
 * ```
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE, INVALID_INPUT (a row without a positive,
 *   fewer than 4 pairs), INVALID_OPTION; errors of the embedder and of saving
 */
export async function trainAdapterFromFile(
  options: TrainAdapterFromFileOptions,
): Promise<TrainAdapterFromFileResult> {
  const queryField = options.queryField ?? "query";
  const positiveField = options.positiveField ?? "positive";
  const validationShare = checkShare("validationShare", options.validationShare ?? 0.2);
  const seed = options.seed ?? 42;
  const epochs = options.epochs ?? 10;
  const batchSize = options.batchSize ?? 32;
  const optimizer = options.optimizer ?? "adamw";
  const schedule = options.schedule ?? "constant";
  const warmup = options.warmup ?? 0;
  const temperature = options.temperature ?? 0.05;

  const records = await readTextFile(options.data, {
    textField: queryField,
    idField: positiveField,
    textFieldOption: "--query-col",
    idFieldOption: "--positive-col",
  });
  const pairs = records.map((record, index) => {
    const positive = record.id ?? "";
    if (positive.trim() === "") {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${options.data}: row ${index + 1} has no positive text in column "${positiveField}" (check --positive-col).`,
        { details: { path: options.data, row: index + 1 } },
      );
    }
    return { query: record.text, positive };
  });
  if (pairs.length < 4) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${options.data} has ${pairs.length} pairs; an adapter needs at least 4.`,
    );
  }
  const shuffled = createRandom(seed).shuffle(pairs);
  const validationCount = validationShare > 0 ? Math.max(1, Math.round(validationShare * pairs.length)) : 0;
  const validation = shuffled.slice(0, validationCount);
  const train = shuffled.slice(validationCount);

  return withEmbedder(options.embedder, async (embedder) => {
    const passages = [...new Set(pairs.map((pair) => pair.positive))];
    const vectors = await embedAll(embedder, [...pairs.map((pair) => pair.query), ...passages], options);
    const queryVector = new Map(pairs.map((pair, index) => [pair.query, vectors[index] as Float32Array]));
    const passageVector = new Map(
      passages.map((passage, index) => [passage, vectors[pairs.length + index] as Float32Array]),
    );
    const embedding = { modelId: embedder.model.id, dims: embedder.model.dims };
    const validationQueries = validation.map((pair) => queryVector.get(pair.query) as Float32Array);
    const relevance = validation.map((pair) => new Map([[pair.positive, 1]]));
    const score = (queryVectors: readonly Float32Array[]): number =>
      scoreVectorRetrieval({
        queryVectors,
        relevance,
        documentIds: passages,
        documentVectors: passages.map((passage) => passageVector.get(passage) as Float32Array),
      }).ndcg;
    const before = validation.length > 0 ? score(validationQueries) : undefined;
    const result = trainAdapter({
      queries: train.map((pair) => queryVector.get(pair.query) as Float32Array),
      positives: train.map((pair) => passageVector.get(pair.positive) as Float32Array),
      positiveIds: train.map((pair) => pair.positive),
      embedding,
      temperature,
      optimizer: {
        name: optimizer,
        ...(options.learningRate === undefined ? {} : { learningRate: options.learningRate }),
        weightDecay: options.weightDecay ?? 0,
      },
      schedule: { name: schedule, warmup },
      epochs,
      batchSize,
      seed,
      ...(validation.length === 0 ? {} : { validate: (adapter) => score(adapter.apply(validationQueries)) }),
      ...(options.patience === undefined || validation.length === 0
        ? {}
        : { earlyStopping: { patience: options.patience } }),
      ...(options.onEpoch === undefined ? {} : { onEpoch: options.onEpoch }),
    });
    const settings = {
      model: embedding.modelId,
      data: options.data,
      trainPairs: train.length,
      validationPairs: validation.length,
      optimizer,
      learningRate: options.learningRate ?? "default",
      schedule,
      temperature,
      epochs,
      batchSize,
      seed,
    };
    await saveAdapter(options.out, result.adapter, {
      settings,
      history: result.history,
      bestEpoch: result.bestEpoch,
    });
    const report = options.report ?? join(options.out, "report.html");
    const after = result.history[result.bestEpoch - 1]?.validationMetric;
    await writeFileAtomic(
      report,
      renderLearningCurveHtml({
        title: `embedkit adapter — ${options.data}`,
        settings,
        epochs: result.history,
        metricName: "nDCG@10",
        bestEpoch: result.bestEpoch,
        notes:
          before === undefined
            ? []
            : [
                `Validation nDCG@10 without the adapter: ${before.toFixed(4)}; with it: ${after?.toFixed(4)}.`,
              ],
      }),
    );
    return {
      adapter: result.adapter,
      out: options.out,
      report,
      model: embedding.modelId,
      trainPairs: train.length,
      validationPairs: validation.length,
      bestEpoch: result.bestEpoch,
      validationNdcgBefore: before ?? null,
      validationNdcgAfter: after ?? null,
      history: result.history,
    };
  });
}
