/**
 * @module cli/train
 * `embedkit train classifier` and `embedkit train adapter`: read a labelled
 * (or paired) CSV/TSV/JSONL file, embed it through the on-disk embedding cache
 * (re-runs only embed new texts), train a head with `embedkit/train`, print
 * one progress line per epoch (loss + validation metric) and save the head as
 * a checkpoint folder, with an HTML learning-curve report next to it.
 */
import { join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import type { Embedder } from "../embed/embedder.js";
import { createWordVectorEmbedder } from "../embed/word-vectors/word-vector-embedder.js";
import { EmbedkitError } from "../errors.js";
import { macroF1 } from "../eval/classification-metrics.js";
import { embedTexts, openEmbeddingCache } from "../eval/embedding-cache.js";
import { renderLearningCurveHtml } from "../eval/report.js";
import { scoreVectorRetrieval } from "../eval/vector-retrieval.js";
import { writeFileAtomic } from "../internal/atomic-write.js";
import { saveAdapter, trainAdapter } from "../train/adapter.js";
import {
  augmentDataset,
  createWordVectorSynonyms,
  type SynonymSource,
  TEXT_AUGMENTATIONS,
  type TextAugmentation,
} from "../train/augment-text.js";
import {
  ACCURACY_METRIC,
  type ClassificationMetric,
  saveClassifier,
  stratifiedSplit,
  trainClassifier,
} from "../train/classifier.js";
import { ACTIVATIONS, type Activation } from "../train/layers.js";
import { OPTIMIZERS, type OptimizerName } from "../train/optimizers.js";
import { SCHEDULES, type ScheduleName } from "../train/schedules.js";
import type { EpochReport } from "../train/train-model.js";
import { createRandom } from "../vectors/random.js";
import { openEmbedder, openStore } from "./context.js";
import { createProgressBar, parseNonNegativeNumber, parsePositiveInteger, printJson } from "./io.js";
import { readTextFile } from "./text-input.js";
import { trainNerCommand } from "./train-ner.js";

/** Commander parser for a positive finite number. */
function parsePositiveNumber(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed <= 0)
    throw new InvalidArgumentError("must be a number > 0.");
  return parsed;
}

/** Commander parser for a fraction in [0, 1). */
function parseFraction(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !(parsed >= 0 && parsed < 1))
    throw new InvalidArgumentError("must be a number in [0, 1).");
  return parsed;
}

/** Commander parser for `256,128` hidden sizes (empty string = none). */
function parseHidden(value: string): number[] {
  if (value.trim() === "" || value === "none") return [];
  return value.split(",").map((part) => {
    const size = Number(part);
    if (!Number.isInteger(size) || size < 1)
      throw new InvalidArgumentError(`"${part}" is not a positive layer size.`);
    return size;
  });
}

/** Commander parser for a comma-separated list of augmentations. */
function parseAugmentations(value: string): TextAugmentation[] {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      if (!(TEXT_AUGMENTATIONS as readonly string[]).includes(part)) {
        throw new InvalidArgumentError(
          `unknown augmentation "${part}" (known: ${TEXT_AUGMENTATIONS.join(", ")}).`,
        );
      }
      return part as TextAugmentation;
    });
}

interface CommonTrainOptions {
  readonly model?: string;
  readonly home?: string;
  readonly quiet?: boolean;
  readonly json?: boolean;
  readonly cache: boolean;
  readonly optimizer: OptimizerName;
  readonly lr?: number;
  readonly schedule: ScheduleName;
  readonly warmup: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly weightDecay?: number;
  readonly seed: number;
  readonly patience?: number;
  readonly out: string;
  readonly report?: string;
}

interface ClassifierCommandOptions extends CommonTrainOptions {
  readonly data: string;
  readonly textCol: string;
  readonly labelCol: string;
  readonly valData?: string;
  readonly val: number;
  readonly hidden: number[];
  readonly activation: Activation;
  readonly dropout: number;
  readonly l2: number;
  readonly classWeights: boolean;
  readonly metric: "accuracy" | "macro-f1";
  readonly augment: TextAugmentation[];
  readonly augmentCopies: number;
  readonly augmentRate: number;
}

/** Embed texts through the eval embedding cache (unless `--no-cache`), with a progress bar. */
async function embedWithCache(
  embedder: Embedder,
  texts: readonly string[],
  options: { readonly cache: boolean; readonly quiet?: boolean },
): Promise<Float32Array[]> {
  const bar = createProgressBar({ unit: "texts", quiet: options.quiet ?? false });
  bar.start(texts.length, `embed ${embedder.model.id}`);
  try {
    const result = await embedTexts({
      embedder,
      texts,
      inputType: "none",
      cache: options.cache
        ? openEmbeddingCache({ modelId: embedder.model.id, inputType: "none", dims: embedder.model.dims })
        : false,
      onProgress: (progress) => bar.update(progress.done, progress.total),
    });
    return result.vectors;
  } finally {
    bar.stop();
  }
}

function epochLine(report: EpochReport, epochs: number, metricName: string): string {
  const parts = [
    `epoch ${String(report.epoch).padStart(String(epochs).length)}/${epochs}`,
    `loss ${report.trainLoss.toFixed(4)}`,
    ...(report.validationLoss === undefined ? [] : [`val loss ${report.validationLoss.toFixed(4)}`]),
    ...(report.validationMetric === undefined
      ? []
      : [`val ${metricName} ${report.validationMetric.toFixed(4)}`]),
    `lr ${report.learningRate.toExponential(2)}`,
    `${(report.milliseconds / 1000).toFixed(1)}s`,
  ];
  return `${parts.join("  ")}${report.best && report.validationMetric !== undefined ? "  *" : ""}\n`;
}

async function readLabelled(
  path: string,
  textCol: string,
  labelCol: string,
): Promise<{ texts: string[]; labels: string[] }> {
  const records = await readTextFile(path, { textField: textCol, idField: labelCol });
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
        `${path}: row ${index + 1} has no value in the label column "${labelCol}". Every training row needs a label (check --label-col).`,
        { details: { path, row: index + 1 } },
      );
    }
    return label;
  });
  return { texts: records.map((record) => record.text), labels };
}

async function runClassifier(options: ClassifierCommandOptions): Promise<void> {
  const data = await readLabelled(options.data, options.textCol, options.labelCol);
  const distinct = new Set(data.labels);
  if (distinct.size < 2) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${options.data} has only one label (${JSON.stringify([...distinct][0])}) in column "${options.labelCol}"; a classifier needs at least two.`,
    );
  }
  // Split before augmenting, so no augmented copy of a validation text leaks into training.
  let train = data;
  let validation: { texts: string[]; labels: string[] } | undefined;
  if (options.valData !== undefined) {
    validation = await readLabelled(options.valData, options.textCol, options.labelCol);
  } else if (options.val > 0) {
    const split = stratifiedSplit(data.labels, options.val, options.seed);
    train = {
      texts: split.train.map((i) => data.texts[i] as string),
      labels: split.train.map((i) => data.labels[i] as string),
    };
    validation = {
      texts: split.validation.map((i) => data.texts[i] as string),
      labels: split.validation.map((i) => data.labels[i] as string),
    };
  }
  let synonyms: SynonymSource | undefined;
  let closeWordVectors: (() => Promise<void>) | undefined;
  if (options.augment.some((kind) => kind === "synonym" || kind === "insertion")) {
    const wordVectors = await createWordVectorEmbedder({ store: openStore(options) });
    synonyms = createWordVectorSynonyms(wordVectors);
    closeWordVectors = () => wordVectors.close();
  }
  const originalCount = train.texts.length;
  if (options.augment.length > 0) {
    train = augmentDataset({
      texts: train.texts,
      labels: train.labels,
      augmentations: options.augment,
      copies: options.augmentCopies,
      rate: options.augmentRate,
      seed: options.seed,
      ...(synonyms === undefined ? {} : { synonyms }),
    });
  }
  await closeWordVectors?.();
  const embedder = await openEmbedder(options);
  try {
    const vectors = await embedWithCache(embedder, [...train.texts, ...(validation?.texts ?? [])], options);
    const trainVectors = vectors.slice(0, train.texts.length);
    const validationVectors = vectors.slice(train.texts.length);
    const metric: ClassificationMetric =
      options.metric === "macro-f1"
        ? { name: "macro-F1", compute: (truth, predicted) => macroF1([...truth], [...predicted]) }
        : ACCURACY_METRIC;
    const embedding = { modelId: embedder.model.id, dims: embedder.model.dims };
    const quiet = options.quiet ?? false;
    const result = trainClassifier({
      vectors: trainVectors,
      labels: train.labels,
      embedding,
      ...(validation === undefined
        ? {}
        : { validation: { vectors: validationVectors, labels: validation.labels } }),
      hidden: options.hidden,
      activation: options.activation,
      dropout: options.dropout,
      optimizer: {
        name: options.optimizer,
        ...(options.lr === undefined ? {} : { learningRate: options.lr }),
        ...(options.weightDecay === undefined ? {} : { weightDecay: options.weightDecay }),
      },
      schedule: { name: options.schedule, warmup: options.warmup },
      epochs: options.epochs,
      batchSize: options.batchSize,
      seed: options.seed,
      l2: options.l2,
      ...(options.classWeights ? { classWeights: "balanced" as const } : {}),
      metric,
      ...(options.patience === undefined || validation === undefined
        ? {}
        : { earlyStopping: { patience: options.patience } }),
      onEpoch: (report) => {
        if (!quiet) process.stderr.write(epochLine(report, options.epochs, metric.name));
      },
    });
    const settings = {
      model: embedding.modelId,
      dims: embedding.dims,
      data: options.data,
      trainRows: originalCount,
      augmentedRows: train.texts.length - originalCount,
      validationRows: validation?.texts.length ?? 0,
      classes: result.classifier.classes.join(", "),
      hidden: options.hidden.length === 0 ? "none (linear)" : options.hidden.join(","),
      activation: options.activation,
      dropout: options.dropout,
      optimizer: options.optimizer,
      learningRate: options.lr ?? "default",
      weightDecay: options.weightDecay ?? "default",
      l2: options.l2,
      schedule: options.schedule,
      warmup: options.warmup,
      epochs: options.epochs,
      batchSize: options.batchSize,
      classWeights: options.classWeights ? "balanced" : "none",
      augment: options.augment.join(",") || "none",
      seed: options.seed,
    };
    await saveClassifier(options.out, result.classifier, {
      settings,
      history: result.history,
      bestEpoch: result.bestEpoch,
      metric: metric.name,
    });
    const reportPath = options.report ?? join(options.out, "report.html");
    await writeFileAtomic(
      reportPath,
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
    const summary = {
      out: options.out,
      report: reportPath,
      model: embedding.modelId,
      classes: result.classifier.classes,
      trainRows: result.trainSize,
      validationRows: result.validationSize,
      epochs: result.history.length,
      bestEpoch: result.bestEpoch,
      stoppedEarly: result.stoppedEarly,
      validationMetric: best?.validationMetric ?? null,
      metric: metric.name,
      trainLoss: best?.trainLoss ?? null,
    };
    if (options.json) printJson(summary);
    else if (!quiet) {
      process.stderr.write(
        `saved ${options.out} (best epoch ${result.bestEpoch}${best?.validationMetric === undefined ? "" : `, val ${metric.name} ${best.validationMetric.toFixed(4)}`}); report ${reportPath}\n`,
      );
    }
  } finally {
    await embedder.close();
  }
}

interface AdapterCommandOptions extends CommonTrainOptions {
  readonly data: string;
  readonly queryCol: string;
  readonly positiveCol: string;
  readonly val: number;
  readonly temperature: number;
}

async function runAdapter(options: AdapterCommandOptions): Promise<void> {
  const records = await readTextFile(options.data, {
    textField: options.queryCol,
    idField: options.positiveCol,
  });
  const pairs = records.map((record, index) => {
    const positive = record.id ?? "";
    if (positive.trim() === "") {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${options.data}: row ${index + 1} has no positive text in column "${options.positiveCol}" (check --positive-col).`,
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
  const shuffled = createRandom(options.seed).shuffle(pairs);
  const validationCount = options.val > 0 ? Math.max(1, Math.round(options.val * pairs.length)) : 0;
  const validation = shuffled.slice(0, validationCount);
  const train = shuffled.slice(validationCount);
  const embedder = await openEmbedder(options);
  try {
    const passages = [...new Set(pairs.map((pair) => pair.positive))];
    const vectors = await embedWithCache(
      embedder,
      [...pairs.map((pair) => pair.query), ...passages],
      options,
    );
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
    const quiet = options.quiet ?? false;
    const result = trainAdapter({
      queries: train.map((pair) => queryVector.get(pair.query) as Float32Array),
      positives: train.map((pair) => passageVector.get(pair.positive) as Float32Array),
      positiveIds: train.map((pair) => pair.positive),
      embedding,
      temperature: options.temperature,
      optimizer: {
        name: options.optimizer,
        ...(options.lr === undefined ? {} : { learningRate: options.lr }),
        weightDecay: options.weightDecay ?? 0,
      },
      schedule: { name: options.schedule, warmup: options.warmup },
      epochs: options.epochs,
      batchSize: options.batchSize,
      seed: options.seed,
      ...(validation.length === 0 ? {} : { validate: (adapter) => score(adapter.apply(validationQueries)) }),
      ...(options.patience === undefined || validation.length === 0
        ? {}
        : { earlyStopping: { patience: options.patience } }),
      onEpoch: (report) => {
        if (!quiet) process.stderr.write(epochLine(report, options.epochs, "nDCG@10"));
      },
    });
    const settings = {
      model: embedding.modelId,
      data: options.data,
      trainPairs: train.length,
      validationPairs: validation.length,
      optimizer: options.optimizer,
      learningRate: options.lr ?? "default",
      schedule: options.schedule,
      temperature: options.temperature,
      epochs: options.epochs,
      batchSize: options.batchSize,
      seed: options.seed,
    };
    await saveAdapter(options.out, result.adapter, {
      settings,
      history: result.history,
      bestEpoch: result.bestEpoch,
    });
    const reportPath = options.report ?? join(options.out, "report.html");
    const after = result.history[result.bestEpoch - 1]?.validationMetric;
    await writeFileAtomic(
      reportPath,
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
    const summary = {
      out: options.out,
      report: reportPath,
      model: embedding.modelId,
      trainPairs: train.length,
      validationPairs: validation.length,
      bestEpoch: result.bestEpoch,
      validationNdcgBefore: before ?? null,
      validationNdcgAfter: after ?? null,
    };
    if (options.json) printJson(summary);
    else if (!quiet) {
      process.stderr.write(
        `saved ${options.out}${before === undefined ? "" : ` (validation nDCG@10 ${before.toFixed(4)} → ${after?.toFixed(4)})`}; report ${reportPath}\n`,
      );
    }
  } finally {
    await embedder.close();
  }
}

function addCommonOptions(command: Command, defaults: { epochs: string; lr: string }): Command {
  return command
    .option("-m, --model <id>", "embedding model id or alias (see `embedkit models list`)")
    .addOption(new Option("--optimizer <name>", "optimizer").choices([...OPTIMIZERS]).default("adamw"))
    .option("--lr <rate>", `peak learning rate (default: ${defaults.lr})`, parsePositiveNumber)
    .addOption(
      new Option("--schedule <name>", "learning-rate schedule after warmup")
        .choices([...SCHEDULES])
        .default("constant"),
    )
    .option(
      "--warmup <share>",
      "linear warmup: a share of all steps (< 1) or a number of steps",
      parseNonNegativeNumber,
      0,
    )
    .option("--epochs <n>", "passes over the training data", parsePositiveInteger, Number(defaults.epochs))
    .option("--batch-size <n>", "examples per optimizer step", parsePositiveInteger, 32)
    .option(
      "--weight-decay <rate>",
      "weight decay (decoupled for adamw; an L2 gradient term for the others)",
      parseNonNegativeNumber,
    )
    .option(
      "--patience <n>",
      "stop after n epochs without validation improvement (best epoch is kept)",
      parsePositiveInteger,
    )
    .option(
      "--seed <n>",
      "seed of splits, shuffling, dropout and augmentation",
      (value) => {
        const parsed = Number(value);
        if (!Number.isInteger(parsed)) throw new InvalidArgumentError("must be an integer.");
        return parsed;
      },
      42,
    )
    .requiredOption("-o, --out <dir>", "folder to save the trained head in (model.json + weights)")
    .option("--report <file>", "HTML learning-curve report (default: <out>/report.html)")
    .option("--no-cache", "do not use the on-disk embedding cache ($EMBEDKIT_HOME/eval-cache)")
    .option("--json", "print a JSON summary on stdout")
    .option("-q, --quiet", "no progress output")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)");
}

/** Build the `train` command (subcommands `classifier` and `adapter`). */
export function trainCommand(): Command {
  const classifier = addCommonOptions(
    new Command("classifier")
      .description(
        "Train a classifier head (linear or MLP) on frozen embeddings of a labelled CSV/TSV/JSONL file; prints loss and validation metric per epoch and saves the head plus an HTML learning-curve report.",
      )
      .requiredOption("-d, --data <file>", "training file: .csv/.tsv with a header, or .jsonl")
      .option("--text-col <name>", "column/field with the text", "text")
      .option("--label-col <name>", "column/field with the label", "label")
      .option(
        "--val <share>",
        "share of rows held out (stratified) for validation and early stopping",
        parseFraction,
        0.1,
      )
      .option("--val-data <file>", "separate validation file (instead of --val)")
      .option(
        "--hidden <sizes>",
        "hidden layer sizes, e.g. 256 or 512,128 (default: none = logistic regression)",
        parseHidden,
        [],
      )
      .addOption(
        new Option("--activation <name>", "hidden activation").choices([...ACTIVATIONS]).default("relu"),
      )
      .option("--dropout <rate>", "dropout rate before each linear layer", parseFraction, 0)
      .option(
        "--l2 <rate>",
        "L2 penalty added to the loss (coupled; compare --weight-decay)",
        parseNonNegativeNumber,
        0,
      )
      .option("--class-weights", "weight classes by n / (classes × count) against imbalance")
      .addOption(
        new Option("--metric <name>", "validation metric for early stopping and the best epoch")
          .choices(["accuracy", "macro-f1"])
          .default("accuracy"),
      )
      .option(
        "--augment <kinds>",
        `augment training rows: ${TEXT_AUGMENTATIONS.join(",")}`,
        parseAugmentations,
        [],
      )
      .option("--augment-copies <n>", "augmented copies per training row", parsePositiveInteger, 1)
      .option("--augment-rate <share>", "share of words/characters changed per copy", parseFraction, 0.1),
    { epochs: "20", lr: "1e-3 for adam/adamw, 1e-2 for sgd/rmsprop, 2e-3 for adamax" },
  )
    .addHelpText(
      "after",
      `
Texts are embedded without a query/passage prefix, through the embedding cache.
Examples:
  embedkit train classifier --data train.csv --text-col text --label-col label -m bge-small-en-v1.5 --out clf/
  embedkit train classifier --data reviews.tsv --text-col text_a --label-col label -m bge-small-zh-v1.5 \\
    --optimizer adamw --lr 1e-3 --schedule cosine --warmup 0.1 --epochs 20 --hidden 256 --dropout 0.1 \\
    --weight-decay 1e-4 --augment deletion,swap --val 0.1 --patience 5 --out clf/`,
    )
    .action(async (options: ClassifierCommandOptions) => {
      await runClassifier(options);
    });

  const adapter = addCommonOptions(
    new Command("adapter")
      .description(
        "Train a query adapter (a linear map initialised to the identity) on (query, positive passage) pairs with an in-batch-negatives contrastive loss; search adapted queries against the unchanged passage vectors.",
      )
      .requiredOption("-d, --data <file>", "pairs file: .csv/.tsv with a header, or .jsonl")
      .option("--query-col <name>", "column/field with the query", "query")
      .option("--positive-col <name>", "column/field with the matching passage", "positive")
      .option("--val <share>", "share of pairs held out to measure nDCG@10 before/after", parseFraction, 0.2)
      .option("--temperature <t>", "softmax temperature of the contrastive loss", parsePositiveNumber, 0.05),
    { epochs: "10", lr: "1e-3" },
  )
    .addHelpText(
      "after",
      `
Examples:
  embedkit train adapter --data pairs.csv --query-col question --positive-col answer -m bge-small-en-v1.5 --out adapter/`,
    )
    .action(async (options: AdapterCommandOptions) => {
      await runAdapter(options);
    });

  return new Command("train")
    .description(
      "Train heads on frozen embeddings: a text classifier, a query adapter for retrieval, or a named-entity tagger.",
    )
    .addCommand(classifier)
    .addCommand(adapter)
    .addCommand(trainNerCommand("ner"));
}
