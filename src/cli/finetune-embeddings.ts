/**
 * @module cli/finetune-embeddings
 * `embedkit finetune embeddings`: contrastive fine-tuning of a catalog
 * encoder's embedding space (`train/encoder/finetune-embeddings`, JAX sidecar)
 * on a pairs file read by `train/finetune/data` (`anchor,positive[,negative]`
 * → in-batch negatives; `text1,text2,score` → CoSENT), with a progress bar over
 * batches, one line per epoch (loss, validation MRR or Spearman, seconds) and a
 * summary. `--out DIR` is the exported encoder itself (a `dir:` model that
 * `embed`, `index`, `serve` and `models verify` open with `-m dir:DIR`),
 * written complete or not at all.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import type { InputType } from "../embed/embedder.js";
import { finetuneEmbeddings } from "../train/encoder/finetune-embeddings.js";
import { combineDataSha256, readPairsFile } from "../train/finetune/data.js";
import { exportFinetunedEncoder } from "../train/finetune/export.js";
import { OPTIMIZERS, type OptimizerName } from "../train/optimizers.js";
import { SCHEDULES, type ScheduleName } from "../train/schedules.js";
import { openStore } from "./context.js";
import { createProgressBar, parseNonNegativeNumber, parsePositiveInteger, printJson } from "./io.js";

interface FinetuneEmbeddingsCommandOptions {
  readonly data: string;
  readonly valData?: string;
  readonly val: number;
  readonly loss?: "mnrl" | "cosent";
  readonly scale: number;
  readonly firstType?: InputType;
  readonly secondType?: InputType;
  readonly model: string;
  readonly maxTokens?: number;
  readonly onLong: "truncate" | "refuse";
  readonly optimizer: OptimizerName;
  readonly lr: number;
  readonly weightDecay: number;
  readonly schedule: ScheduleName;
  readonly warmup: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly dropout: number;
  readonly clip: number;
  readonly patience?: number;
  readonly seed: number;
  readonly out: string;
  readonly checkpointDir?: string;
  readonly checkpointEvery?: number;
  readonly checkpointKeep: number;
  readonly resume?: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly home?: string;
}

function parseFraction(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !(parsed >= 0 && parsed < 1))
    throw new InvalidArgumentError("must be a number in [0, 1).");
  return parsed;
}

function parseSeed(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError("must be an integer >= 0.");
  return parsed;
}

async function runEmbeddings(options: FinetuneEmbeddingsCommandOptions, name: string): Promise<void> {
  const store = openStore(options);
  const data = await readPairsFile(options.data);
  const validation = options.valData === undefined ? undefined : await readPairsFile(options.valData);
  const log = (line: string): void => {
    if (options.quiet !== true) process.stderr.write(`${line}\n`);
  };
  for (const file of validation === undefined ? [data] : [data, validation])
    if (file.skipped.length > 0)
      log(
        `${file.path}: skipped ${file.skipped.length} empty row(s) (first at line ${file.skipped[0]?.line}).`,
      );
  const bar = createProgressBar({ unit: "batches", quiet: options.quiet === true || options.json === true });
  let started = false;
  const inputTypes =
    options.firstType === undefined && options.secondType === undefined
      ? undefined
      : {
          first: options.firstType ?? (data.kind === "pairs" ? "query" : "none"),
          second: options.secondType ?? (data.kind === "pairs" ? "passage" : "none"),
        };
  const result = await finetuneEmbeddings({
    store,
    model: options.model,
    data,
    ...(validation === undefined ? { validationSplit: options.val } : { validation }),
    ...(options.loss === undefined ? {} : { loss: options.loss }),
    scale: options.scale,
    ...(inputTypes === undefined ? {} : { inputTypes }),
    ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
    onLong: options.onLong,
    optimizer: { name: options.optimizer, learningRate: options.lr, weightDecay: options.weightDecay },
    schedule: { name: options.schedule, warmup: options.warmup },
    epochs: options.epochs,
    batchSize: options.batchSize,
    dropout: options.dropout,
    clipNorm: options.clip,
    ...(options.patience === undefined ? {} : { earlyStopping: { patience: options.patience } }),
    seed: options.seed,
    ...(options.checkpointDir === undefined
      ? {}
      : { checkpointDir: options.checkpointDir, checkpointKeep: options.checkpointKeep }),
    ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
    ...(options.resume === true ? { resume: true } : {}),
    ...(options.home === undefined ? {} : { home: options.home }),
    onLog: log,
    onBatch: (done, total) => {
      if (!started) {
        bar.start(total, "fine-tuning");
        started = true;
      }
      bar.update(done, total);
      if (done === total) {
        bar.stop();
        started = false;
      }
    },
    onEpoch: (report) => {
      const metric =
        report.validationMetric === undefined
          ? ""
          : `  val ${data.kind === "pairs" ? "mrr" : "spearman"} ${report.validationMetric.toFixed(4)}`;
      log(
        `epoch ${report.epoch}  loss ${report.trainLoss.toFixed(4)}${metric}  lr ${report.learningRate.toExponential(2)}  ${(report.milliseconds / 1000).toFixed(1)} s${report.best ? "  *" : ""}`,
      );
    },
  });
  const bestReport = result.history[result.bestEpoch - 1];
  const metrics: Record<string, number> = {
    ...(result.validationMetric === undefined
      ? {}
      : { [`validation.${result.metric}`]: result.validationMetric }),
    ...(result.baseValidationMetric === undefined
      ? {}
      : { [`base.validation.${result.metric}`]: result.baseValidationMetric }),
    ...(result.validationAccuracy === undefined ? {} : { "validation.accuracy": result.validationAccuracy }),
    ...(bestReport === undefined ? {} : { "train.loss": bestReport.trainLoss }),
    "best.epoch": result.bestEpoch,
  };
  // Written under a temporary name and renamed by the exporter: --out is complete or untouched.
  const exported = await exportFinetunedEncoder({
    base: options.model,
    weights: result.encoderWeights,
    task: "embeddings",
    dataSha256: validation === undefined ? data.sha256 : combineDataSha256([data, validation]),
    metrics,
    outDir: options.out,
    name,
    overwrite: true,
    ...(options.home === undefined ? {} : { home: options.home }),
  });
  const summary = {
    out: options.out,
    model: options.model,
    reference: exported.reference,
    modelId: exported.modelId,
    loss: result.loss,
    metric: result.metric,
    baseValidationMetric: result.baseValidationMetric,
    validationMetric: result.validationMetric,
    validationAccuracy: result.validationAccuracy,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    steps: result.steps,
    truncated: result.truncated,
    tokensPerSecond: Math.round(result.tokensPerSecond),
    epochSeconds: result.epochSeconds.map((s) => Math.round(s * 10) / 10),
    history: result.history,
  };
  if (options.json === true) printJson(summary);
  else {
    const metric =
      result.validationMetric === undefined
        ? ""
        : `, validation ${result.metric} ${result.baseValidationMetric?.toFixed(4) ?? "?"} -> ${result.validationMetric.toFixed(4)}`;
    process.stdout.write(
      `Fine-tuned ${options.model} (${result.loss}) on ${data.pairs.length} pairs: best epoch ${result.bestEpoch}${metric}, ${Math.round(result.tokensPerSecond)} tokens/s; saved to ${options.out} (use -m ${exported.reference})\n`,
    );
  }
}

/** Build `finetune embeddings`; `exportName` turns the --out folder into the model's name. */
export function finetuneEmbeddingsCommand(exportName: (out: string) => string): Command {
  return new Command("embeddings")
    .description(
      "Fine-tune a catalog encoder's embedding space on pairs: anchor,positive[,negative] (in-batch negatives, MultipleNegativesRanking) or text1,text2,score (CoSENT); prints loss and validation MRR / Spearman per epoch and saves the encoder as a dir: model.",
    )
    .requiredOption(
      "-d, --data <file>",
      "pairs file (.csv/.tsv with a header, or .jsonl): anchor,positive[,negative] or text1,text2,score",
    )
    .option("--val <share>", "share of pairs held out (seeded) for validation", parseFraction, 0.1)
    .option("--val-data <file>", "separate validation pairs file, same columns (instead of --val)")
    .addOption(
      new Option(
        "--loss <name>",
        "mnrl (pairs) or cosent (scored pairs); default: by the file's columns",
      ).choices(["mnrl", "cosent"]),
    )
    .option("--scale <n>", "multiplier of the cosine similarities in the loss", parseNonNegativeNumber, 20)
    .addOption(
      new Option(
        "--first-type <type>",
        "prefix of anchor / text1 as embed --input-type (default: query for pairs, none for scored)",
      ).choices(["query", "passage", "none"]),
    )
    .addOption(
      new Option(
        "--second-type <type>",
        "prefix of positive, negative / text2 (default: passage for pairs, none for scored)",
      ).choices(["query", "passage", "none"]),
    )
    .option(
      "-m, --model <id>",
      "base encoder (all-minilm-l6-v2, bge-small-en-v1.5, bge-small-zh-v1.5, e5-small-v2)",
      "all-minilm-l6-v2",
    )
    .option(
      "--max-tokens <n>",
      "longest sequence in tokens (default 128, at most the model's limit)",
      parsePositiveInteger,
    )
    .addOption(
      new Option("--on-long <action>", "longer texts are cut or refused")
        .choices(["truncate", "refuse"])
        .default("truncate"),
    )
    .addOption(new Option("--optimizer <name>", "optimizer").choices([...OPTIMIZERS]).default("adamw"))
    .option("--lr <rate>", "peak learning rate", parseNonNegativeNumber, 2e-5)
    .option("--weight-decay <rate>", "weight decay (AdamW: decoupled)", parseNonNegativeNumber, 0.01)
    .addOption(
      new Option("--schedule <name>", "learning-rate schedule").choices([...SCHEDULES]).default("linear"),
    )
    .option(
      "--warmup <share>",
      "warmup: share of all steps (< 1) or a number of steps",
      parseNonNegativeNumber,
      0.1,
    )
    .option("--epochs <n>", "passes over the training pairs", parsePositiveInteger, 3)
    .option("--batch-size <n>", "pairs per step (in-batch negatives: at least 2)", parsePositiveInteger, 16)
    .option("--dropout <rate>", "dropout in the encoder", parseFraction, 0.1)
    .option("--clip <norm>", "clip the global gradient norm (0 = off)", parseNonNegativeNumber, 1)
    .option(
      "--patience <n>",
      "stop after n epochs without validation improvement (best epoch is kept)",
      parsePositiveInteger,
    )
    .option("--seed <n>", "seed of the split, shuffling and dropout", parseSeed, 42)
    .requiredOption(
      "-o, --out <dir>",
      "output folder: the fine-tuned encoder as a dir: model (replaced when complete)",
    )
    .option(
      "--checkpoint-dir <dir>",
      "write training checkpoints here (each epoch end, and every --checkpoint-every steps)",
    )
    .option(
      "--checkpoint-every <n>",
      "steps between checkpoints (default: epoch ends only)",
      parsePositiveInteger,
    )
    .option("--checkpoint-keep <n>", "checkpoints kept in --checkpoint-dir", parsePositiveInteger, 3)
    .option(
      "--resume",
      "continue from the newest intact checkpoint in --checkpoint-dir (same data and options)",
    )
    .option("--json", "print a JSON summary on stdout")
    .option("-q, --quiet", "no progress output")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .addHelpText(
      "after",
      `
Pairs are texts that should embed close together: a query and the passage that answers it, a
question and its duplicate, a title and its abstract. Every other pair's positive in a batch is a
negative (larger batches = more negatives); duplicate positives in a batch are masked, not
pushed apart. The encoder runs in a Python/JAX process (environment created on first use, as
for finetune classifier). The anchor is prefixed as a query and the positive as a passage with
the model's own prefixes (e5 "query: "/"passage: ", bge's query instruction), as embed does.
Examples:
  embedkit finetune embeddings --data pairs.csv --out my-embedder/
  embedkit embed -m dir:my-embedder/ --input-type query "how do I reset my password"
  embedkit index notes notes.jsonl -m dir:my-embedder/     # index, search, serve take it too
  embedkit finetune embeddings --data qa.tsv -m bge-small-en-v1.5 --batch-size 32 --epochs 1 \\
    --max-tokens 256 --val-data qa-dev.tsv --patience 1 --out qa-bge/
  embedkit finetune embeddings --data sts.csv --loss cosent --epochs 4 --out sts-minilm/   # text1,text2,score
  embedkit finetune embeddings --data pairs.csv --checkpoint-dir ckpt/ --resume --out ft/   # after a crash`,
    )
    .action(async (options: FinetuneEmbeddingsCommandOptions) => {
      await runEmbeddings(options, exportName(options.out));
    });
}
