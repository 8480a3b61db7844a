/**
 * @module cli/finetune-options
 * What the `finetune` subcommands (classifier, embeddings, ner) share: the
 * training options they declare with commander (per-command defaults and help
 * words as parameters), the mapping of those options to the training loop's
 * settings, the progress bar / per-epoch log, the exported encoder's name and
 * the "head + encoder built in a temporary folder, renamed at the end" output.
 */
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { HEAD_ENCODER_FOLDER } from "../models/finetuned-folder.js";
import type { FinetuneRunResult, TrainingLoopSettings } from "../train/encoder/training-loop.js";
import { combineDataSha256, type DataFileInfo } from "../train/finetune/data.js";
import {
  type ExportedEncoder,
  type ExportFinetunedEncoderOptions,
  exportFinetunedEncoder,
} from "../train/finetune/export.js";
import { OPTIMIZERS, type OptimizerName } from "../train/optimizers.js";
import { SCHEDULES, type ScheduleName } from "../train/schedules.js";
import { createProgressBar, parseFraction, parseNonNegativeNumber, parsePositiveInteger } from "./io.js";

/** Options every `finetune` subcommand parses (see {@link addTrainingOptions}, {@link addRunOptions}). */
export interface FinetuneTrainingCommandOptions {
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
  readonly groupByLength?: boolean;
  readonly out: string;
  readonly checkpointDir?: string;
  readonly checkpointEvery?: number;
  readonly checkpointKeep: number;
  readonly resume?: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly home?: string;
}

/** Per-subcommand defaults and help words of {@link addTrainingOptions}. */
export interface TrainingOptionsHelp {
  /** What one training example is called ("rows", "pairs", "sentences"). */
  readonly unit: string;
  /** Default peak learning rate. */
  readonly learningRate: number;
  readonly maxTokens?: string;
  readonly onLong?: string;
  readonly batchSize?: string;
  readonly dropout?: string;
  readonly patience?: string;
  readonly seed: string;
  readonly out: string;
  readonly resume?: string;
}

/** Commander parser of `--seed`: an integer ≥ 0. */
export function parseSeed(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError("must be an integer >= 0.");
  return parsed;
}

/** Model name of the exported encoder: the output folder's name, lower-cased, other characters as "-". */
export function exportName(out: string): string {
  const name = basename(resolve(out))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 64);
  return name === "" ? "finetuned" : name;
}

/**
 * Declare the shared training options (`--model` … `--resume`, in this order) on `command`.
 * @example addTrainingOptions(cmd, { unit: "rows", learningRate: 2e-5, seed: "seed of …", out: "output folder …" })
 */
export function addTrainingOptions(command: Command, help: TrainingOptionsHelp): Command {
  return command
    .option(
      "-m, --model <id>",
      "base encoder (all-minilm-l6-v2, bge-small-en-v1.5, bge-small-zh-v1.5, e5-small-v2)",
      "all-minilm-l6-v2",
    )
    .option(
      "--max-tokens <n>",
      help.maxTokens ?? "longest sequence in tokens (default 128, at most the model's limit)",
      parsePositiveInteger,
    )
    .addOption(
      new Option("--on-long <action>", help.onLong ?? "longer texts are cut or refused")
        .choices(["truncate", "refuse"])
        .default("truncate"),
    )
    .addOption(new Option("--optimizer <name>", "optimizer").choices([...OPTIMIZERS]).default("adamw"))
    .option("--lr <rate>", "peak learning rate", parseNonNegativeNumber, help.learningRate)
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
    .option("--epochs <n>", `passes over the training ${help.unit}`, parsePositiveInteger, 3)
    .option("--batch-size <n>", help.batchSize ?? `${help.unit} per step`, parsePositiveInteger, 16)
    .option(
      "--dropout <rate>",
      help.dropout ?? "dropout in the encoder and before the head",
      parseFraction,
      0.1,
    )
    .option("--clip <norm>", "clip the global gradient norm (0 = off)", parseNonNegativeNumber, 1)
    .option(
      "--patience <n>",
      help.patience ?? "stop after n epochs without validation improvement (best epoch is kept)",
      parsePositiveInteger,
    )
    .option("--seed <n>", help.seed, parseSeed, 42)
    .option(
      "--group-by-length",
      "batch examples of similar length: less padding, faster when lengths vary (not for in-batch negatives)",
    )
    .requiredOption("-o, --out <dir>", help.out)
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
      help.resume ??
        "continue from the newest intact checkpoint in --checkpoint-dir (same data and options; ends with the weights an uninterrupted run reaches)",
    );
}

/** Declare `--json`, `--quiet` and `--home` (the last options of every `finetune` subcommand). */
export function addRunOptions(command: Command): Command {
  return command
    .option("--json", "print a JSON summary on stdout")
    .option("-q, --quiet", "no progress output")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)");
}

/** The parsed options as training-loop settings (plus `maxTokens` / `onLong` of the data). */
export function trainingLoopSettings(options: FinetuneTrainingCommandOptions): TrainingLoopSettings & {
  readonly maxTokens?: number;
  readonly onLong: "truncate" | "refuse";
} {
  return {
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
    ...(options.groupByLength === true ? { groupByLength: true } : {}),
    ...(options.checkpointDir === undefined
      ? {}
      : { checkpointDir: options.checkpointDir, checkpointKeep: options.checkpointKeep }),
    ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
    ...(options.resume === true ? { resume: true } : {}),
    ...(options.home === undefined ? {} : { home: options.home }),
  };
}

/** Log lines and progress callbacks of a fine-tuning run (see {@link trainingProgress}). */
export interface TrainingProgress {
  /** Write a line on stderr unless `--quiet`. */
  readonly log: (line: string) => void;
  /** The loop's callbacks: spread them into the fine-tuning options. */
  readonly callbacks: Required<Pick<TrainingLoopSettings, "onLog" | "onBatch" | "onEpoch">>;
}

/**
 * A progress bar over batches (off with `--quiet` or `--json`) and one stderr line per epoch;
 * `metric` words the validation metric (e.g. `val acc 91.20`).
 */
export function trainingProgress(
  options: Pick<FinetuneTrainingCommandOptions, "quiet" | "json">,
  metric: (value: number) => string,
): TrainingProgress {
  const bar = createProgressBar({ unit: "batches", quiet: options.quiet === true || options.json === true });
  const log = (line: string): void => {
    if (options.quiet !== true) process.stderr.write(`${line}\n`);
  };
  let started = false;
  return {
    log,
    callbacks: {
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
        const value = report.validationMetric === undefined ? "" : `  ${metric(report.validationMetric)}`;
        log(
          `epoch ${report.epoch}  loss ${report.trainLoss.toFixed(4)}${value}  lr ${report.learningRate.toExponential(2)}  ${(report.milliseconds / 1000).toFixed(1)} s${report.best ? "  *" : ""}`,
        );
      },
    },
  };
}

/** Log the rows a reader left out (empty cells) of each file. */
export function logSkippedRows(files: readonly DataFileInfo[], log: (line: string) => void): void {
  for (const file of files)
    if (file.skipped.length > 0)
      log(
        `${file.path}: skipped ${file.skipped.length} empty row(s) (first at line ${file.skipped[0]?.line}).`,
      );
}

/** What the exporter gets of a fine-tuning run (see {@link encoderExport}). */
export type EncoderExport = Pick<
  ExportFinetunedEncoderOptions,
  "weights" | "task" | "dataSha256" | "metrics"
>;

/**
 * What the exported encoder records of a run: the kept weights, the data's sha256 (the training
 * file's own, or with a validation file both combined) and the task's metrics followed by the
 * best epoch's training loss and number.
 */
export function encoderExport(
  task: ExportFinetunedEncoderOptions["task"],
  result: Pick<FinetuneRunResult, "encoderWeights" | "history" | "bestEpoch">,
  files: { readonly data: DataFileInfo; readonly validation: DataFileInfo | undefined },
  metrics: Readonly<Record<string, number>>,
): EncoderExport {
  const bestReport = result.history[result.bestEpoch - 1];
  return {
    weights: result.encoderWeights,
    task,
    dataSha256:
      files.validation === undefined ? files.data.sha256 : combineDataSha256([files.data, files.validation]),
    metrics: {
      ...metrics,
      ...(bestReport === undefined ? {} : { "train.loss": bestReport.trainLoss }),
      "best.epoch": result.bestEpoch,
    },
  };
}

/** Speed and history fields that end every `finetune` JSON summary. */
export function runSummary(
  result: Pick<FinetuneRunResult, "truncated" | "tokensPerSecond" | "epochSeconds" | "history">,
) {
  return {
    truncated: result.truncated,
    tokensPerSecond: Math.round(result.tokensPerSecond),
    epochSeconds: result.epochSeconds.map((s) => Math.round(s * 10) / 10),
    history: result.history,
  };
}

/**
 * Write a head folder with its fine-tuned encoder in `<out>/encoder`: both are built in a
 * temporary folder and renamed to `out` at the end, so `out` is complete or untouched.
 * The encoder's id is content-based, so it stays valid when the folder is renamed or moved.
 */
export async function writeHeadWithEncoder(
  options: Pick<FinetuneTrainingCommandOptions, "out" | "model" | "home">,
  encoder: EncoderExport,
  saveHead: (dir: string, encoder: ExportedEncoder) => Promise<void>,
): Promise<ExportedEncoder> {
  const temp = `${resolve(options.out)}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  try {
    const exported = await exportFinetunedEncoder({
      ...encoder,
      base: options.model,
      outDir: join(temp, HEAD_ENCODER_FOLDER),
      name: exportName(options.out),
      ...(options.home === undefined ? {} : { home: options.home }),
    });
    await saveHead(temp, exported);
    await rm(options.out, { recursive: true, force: true });
    await rename(temp, options.out);
    return exported;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** The `encoder` entry of a head's JSON summary: its id and the `dir:` reference under `out`. */
export function headEncoderSummary(out: string, exported: ExportedEncoder) {
  return { modelId: exported.modelId, reference: `dir:${join(resolve(out), HEAD_ENCODER_FOLDER)}` };
}
