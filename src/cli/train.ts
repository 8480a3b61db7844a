/**
 * @module cli/train
 * `embedkit train classifier` and `embedkit train adapter`: parse the
 * options, run `trainClassifierFromFile` / `trainAdapterFromFile`
 * (`train/train-from-file`: read the file, embed through the embedding cache,
 * train, save the head and an HTML learning-curve report), print a progress
 * bar, one line per epoch (loss + validation metric) and a summary.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { TEXT_AUGMENTATIONS, type TextAugmentation } from "../train/augment-text.js";
import { ACTIVATIONS, type Activation } from "../train/layers.js";
import { OPTIMIZERS, type OptimizerName } from "../train/optimizers.js";
import { SCHEDULES, type ScheduleName } from "../train/schedules.js";
import {
  type EmbedFileProgress,
  type TrainAdapterFromFileResult,
  type TrainClassifierFromFileResult,
  trainAdapterFromFile,
  trainClassifierFromFile,
} from "../train/train-from-file.js";
import type { EpochReport } from "../train/train-model.js";
import { openEmbedder, openStore } from "./context.js";
import {
  createProgressBar,
  parseFraction,
  parseNonNegativeNumber,
  parsePositiveInteger,
  printJson,
} from "./io.js";
import { trainNerCommand } from "./train-ner.js";

/** Commander parser for a positive finite number. */
function parsePositiveNumber(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed <= 0)
    throw new InvalidArgumentError("must be a number > 0.");
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

/** A progress bar for the embedding step, started on the first report. */
function embedProgress(quiet: boolean): {
  readonly onEmbedProgress: (progress: EmbedFileProgress) => void;
  readonly stop: () => void;
} {
  const bar = createProgressBar({ unit: "texts", quiet });
  let started = false;
  return {
    onEmbedProgress: (progress) => {
      if (!started) bar.start(progress.total, `embed ${progress.model}`);
      started = true;
      bar.update(progress.done, progress.total);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

/** The options both subcommands pass to the library in the same way. */
function commonLibraryOptions(options: CommonTrainOptions) {
  return {
    embedder: () => openEmbedder(options),
    out: options.out,
    ...(options.report === undefined ? {} : { report: options.report }),
    cache: options.cache,
    optimizer: options.optimizer,
    ...(options.lr === undefined ? {} : { learningRate: options.lr }),
    ...(options.weightDecay === undefined ? {} : { weightDecay: options.weightDecay }),
    schedule: options.schedule,
    warmup: options.warmup,
    epochs: options.epochs,
    batchSize: options.batchSize,
    seed: options.seed,
    ...(options.patience === undefined ? {} : { patience: options.patience }),
  };
}

async function runClassifier(options: ClassifierCommandOptions): Promise<void> {
  const quiet = options.quiet ?? false;
  const progress = embedProgress(quiet);
  let result: TrainClassifierFromFileResult;
  try {
    result = await trainClassifierFromFile({
      ...commonLibraryOptions(options),
      data: options.data,
      textField: options.textCol,
      labelField: options.labelCol,
      ...(options.valData === undefined ? {} : { validationData: options.valData }),
      validationShare: options.val,
      hidden: options.hidden,
      activation: options.activation,
      dropout: options.dropout,
      l2: options.l2,
      classWeights: options.classWeights,
      metric: options.metric,
      augment: options.augment,
      augmentCopies: options.augmentCopies,
      augmentRate: options.augmentRate,
      store: openStore(options),
      onEmbedProgress: progress.onEmbedProgress,
      onEpoch: (report) => {
        if (!quiet)
          process.stderr.write(
            epochLine(report, options.epochs, options.metric === "macro-f1" ? "macro-F1" : "accuracy"),
          );
      },
    });
  } finally {
    progress.stop();
  }
  if (options.json) {
    printJson({
      out: result.out,
      report: result.report,
      model: result.model,
      classes: result.classes,
      trainRows: result.trainRows,
      validationRows: result.validationRows,
      epochs: result.epochs,
      bestEpoch: result.bestEpoch,
      stoppedEarly: result.stoppedEarly,
      validationMetric: result.validationMetric,
      metric: result.metric,
      trainLoss: result.trainLoss,
    });
  } else if (!quiet) {
    process.stderr.write(
      `saved ${result.out} (best epoch ${result.bestEpoch}${result.validationMetric === null ? "" : `, val ${result.metric} ${result.validationMetric.toFixed(4)}`}); report ${result.report}\n`,
    );
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
  const quiet = options.quiet ?? false;
  const progress = embedProgress(quiet);
  let result: TrainAdapterFromFileResult;
  try {
    result = await trainAdapterFromFile({
      ...commonLibraryOptions(options),
      data: options.data,
      queryField: options.queryCol,
      positiveField: options.positiveCol,
      validationShare: options.val,
      temperature: options.temperature,
      onEmbedProgress: progress.onEmbedProgress,
      onEpoch: (report) => {
        if (!quiet) process.stderr.write(epochLine(report, options.epochs, "nDCG@10"));
      },
    });
  } finally {
    progress.stop();
  }
  const { validationNdcgBefore: before, validationNdcgAfter: after } = result;
  if (options.json) {
    printJson({
      out: result.out,
      report: result.report,
      model: result.model,
      trainPairs: result.trainPairs,
      validationPairs: result.validationPairs,
      bestEpoch: result.bestEpoch,
      validationNdcgBefore: before,
      validationNdcgAfter: after,
    });
  } else if (!quiet) {
    process.stderr.write(
      `saved ${result.out}${before === null ? "" : ` (validation nDCG@10 ${before.toFixed(4)} → ${after?.toFixed(4)})`}; report ${result.report}\n`,
    );
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
