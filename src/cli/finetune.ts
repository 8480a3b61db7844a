/**
 * @module cli/finetune
 * `embedkit finetune classifier`: fine-tune a catalog encoder and a
 * classification head end to end (`train/encoder/finetune-classifier`, JAX
 * sidecar), with a progress bar over batches, one line per epoch (loss,
 * validation accuracy, seconds) and a summary. `--out DIR` is one folder:
 * the head in `train`'s classifier format at the top (`classify --classifier
 * DIR`) and the fine-tuned encoder as a `dir:` model in `DIR/encoder/`
 * (`exportFinetunedEncoder`), whose content-based id the head records.
 * Data files are read and checked by `train/finetune/data` (the readers every
 * fine-tuning task shares).
 */
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { HEAD_ENCODER_FOLDER } from "../models/finetuned-folder.js";
import { createClassifier, saveClassifier } from "../train/classifier.js";
import { finetuneClassifier } from "../train/encoder/finetune-classifier.js";
import { checkValidationLabels, combineDataSha256, readLabelledTextsFile } from "../train/finetune/data.js";
import { exportFinetunedEncoder } from "../train/finetune/export.js";
import { OPTIMIZERS, type OptimizerName } from "../train/optimizers.js";
import { SCHEDULES, type ScheduleName } from "../train/schedules.js";
import { openStore } from "./context.js";
import { finetuneEmbeddingsCommand } from "./finetune-embeddings.js";
import { finetuneNerCommand } from "./finetune-ner.js";
import { createProgressBar, parseNonNegativeNumber, parsePositiveInteger, printJson } from "./io.js";

interface FinetuneClassifierCommandOptions {
  readonly data: string;
  readonly textCol: string;
  readonly labelCol: string;
  readonly val: number;
  readonly valData?: string;
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
  readonly probe?: readonly string[];
  readonly checkpointDir?: string;
  readonly checkpointEvery?: number;
  readonly checkpointKeep: number;
  readonly resume?: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly home?: string;
}

export function parseFraction(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !(parsed >= 0 && parsed < 1))
    throw new InvalidArgumentError("must be a number in [0, 1).");
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

async function runClassifier(options: FinetuneClassifierCommandOptions): Promise<void> {
  const store = openStore(options);
  const columns = { textColumn: options.textCol, labelColumn: options.labelCol };
  const data = await readLabelledTextsFile(options.data, columns);
  const validation =
    options.valData === undefined ? undefined : await readLabelledTextsFile(options.valData, columns);
  if (validation !== undefined) checkValidationLabels(data.labels, validation);
  const bar = createProgressBar({ unit: "batches", quiet: options.quiet === true || options.json === true });
  const log = (line: string): void => {
    if (options.quiet !== true) process.stderr.write(`${line}\n`);
  };
  for (const file of validation === undefined ? [data] : [data, validation])
    if (file.skipped.length > 0)
      log(
        `${file.path}: skipped ${file.skipped.length} empty row(s) (first at line ${file.skipped[0]?.line}).`,
      );
  let started = false;
  const result = await finetuneClassifier({
    store,
    model: options.model,
    texts: data.rows.map((row) => row.text),
    labels: data.rows.map((row) => row.label),
    dataPath: data.path,
    lines: data.rows.map((row) => row.line),
    ...(validation === undefined
      ? { validationSplit: options.val }
      : {
          validation: {
            texts: validation.rows.map((row) => row.text),
            labels: validation.rows.map((row) => row.label),
            path: validation.path,
            lines: validation.rows.map((row) => row.line),
          },
        }),
    ...(options.probe === undefined ? {} : { probes: options.probe }),
    ...(options.checkpointDir === undefined
      ? {}
      : { checkpointDir: options.checkpointDir, checkpointKeep: options.checkpointKeep }),
    ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
    ...(options.resume === true ? { resume: true } : {}),
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
          : `  val acc ${(report.validationMetric * 100).toFixed(2)}`;
      log(
        `epoch ${report.epoch}  loss ${report.trainLoss.toFixed(4)}${metric}  lr ${report.learningRate.toExponential(2)}  ${(report.milliseconds / 1000).toFixed(1)} s${report.best ? "  *" : ""}`,
      );
    },
  });
  // Head + encoder are built in a temp folder and renamed at the end: no half-written output.
  // The encoder's id is content-based, so it stays valid when the folder is renamed or moved.
  const temp = `${resolve(options.out)}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  const bestReport = result.history[result.bestEpoch - 1];
  let exported: Awaited<ReturnType<typeof exportFinetunedEncoder>>;
  try {
    exported = await exportFinetunedEncoder({
      base: options.model,
      weights: result.encoderWeights,
      task: "classifier",
      // One file: its own sha256 (what `sha256sum` prints); with a validation file, both combined.
      dataSha256: validation === undefined ? data.sha256 : combineDataSha256([data, validation]),
      metrics: {
        ...(result.validationAccuracy === undefined
          ? {}
          : { "validation.accuracy": result.validationAccuracy }),
        ...(bestReport === undefined ? {} : { "train.loss": bestReport.trainLoss }),
        "best.epoch": result.bestEpoch,
      },
      outDir: join(temp, HEAD_ENCODER_FOLDER),
      name: exportName(options.out),
      ...(options.home === undefined ? {} : { home: options.home }),
    });
    const head = createClassifier({
      model: result.classifier.model,
      classes: result.classifier.classes,
      embedding: { modelId: exported.modelId, dims: result.classifier.embedding.dims },
    });
    await saveClassifier(temp, head, {
      finetuned: true,
      baseModel: options.model,
      epochs: options.epochs,
      bestEpoch: result.bestEpoch,
      history: result.history,
    });
    await rm(options.out, { recursive: true, force: true });
    await rename(temp, options.out);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  const summary = {
    out: options.out,
    model: options.model,
    encoder: {
      modelId: exported.modelId,
      reference: `dir:${join(resolve(options.out), HEAD_ENCODER_FOLDER)}`,
    },
    classes: result.classifier.classes,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    steps: result.steps,
    validationAccuracy: result.validationAccuracy,
    truncated: result.truncated,
    tokensPerSecond: Math.round(result.tokensPerSecond),
    epochSeconds: result.epochSeconds.map((s) => Math.round(s * 10) / 10),
    history: result.history,
    ...(result.probes === undefined ? {} : { probes: result.probes.after }),
  };
  if (options.json === true) printJson(summary);
  else {
    const accuracy =
      result.validationAccuracy === undefined
        ? ""
        : `, validation accuracy ${(result.validationAccuracy * 100).toFixed(2)}`;
    process.stdout.write(
      `Fine-tuned ${options.model} on ${data.rows.length} rows: best epoch ${result.bestEpoch}${accuracy}, ${Math.round(result.tokensPerSecond)} tokens/s; saved to ${options.out} (encoder: dir:${join(options.out, HEAD_ENCODER_FOLDER)})\n`,
    );
    for (const probe of result.probes?.after ?? [])
      process.stdout.write(
        `${probe.label}\t${(probe.probabilities[probe.label] ?? 0).toFixed(4)}\t${probe.text}\n`,
      );
  }
}

/** Build the `finetune` command (subcommand `classifier`). */
export function finetuneCommand(): Command {
  const classifier = new Command("classifier")
    .description(
      "Fine-tune a catalog encoder (BERT family) and a classification head end to end on a labelled CSV/TSV/JSONL file; prints loss and validation accuracy per epoch and saves the head with the fine-tuned encoder (a dir: model in DIR/encoder).",
    )
    .requiredOption("-d, --data <file>", "training file: .csv/.tsv with a header, or .jsonl")
    .option("--text-col <name>", "column/field with the text", "text")
    .option("--label-col <name>", "column/field with the label", "label")
    .option("--val <share>", "share of rows held out (stratified) for validation", parseFraction, 0.1)
    .option("--val-data <file>", "separate validation file (instead of --val)")
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
    .option("--epochs <n>", "passes over the training rows", parsePositiveInteger, 3)
    .option("--batch-size <n>", "rows per step", parsePositiveInteger, 16)
    .option("--dropout <rate>", "dropout in the encoder and before the head", parseFraction, 0.1)
    .option("--clip <norm>", "clip the global gradient norm (0 = off)", parseNonNegativeNumber, 1)
    .option(
      "--patience <n>",
      "stop after n epochs without validation improvement (best epoch is kept)",
      parsePositiveInteger,
    )
    .option(
      "--seed <n>",
      "seed of the split, shuffling, head initialisation and dropout",
      (value) => {
        const parsed = Number(value);
        if (!Number.isInteger(parsed) || parsed < 0)
          throw new InvalidArgumentError("must be an integer >= 0.");
        return parsed;
      },
      42,
    )
    .requiredOption(
      "-o, --out <dir>",
      "output folder: the head (classify --classifier DIR) + the fine-tuned encoder in DIR/encoder (a dir: model)",
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
      "continue from the newest intact checkpoint in --checkpoint-dir (same data and options; ends with the weights an uninterrupted run reaches)",
    )
    .option(
      "--probe <text>",
      "also print the trained model's prediction for this text (repeatable; in the --json summary)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option("--json", "print a JSON summary on stdout")
    .option("-q, --quiet", "no progress output")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .addHelpText(
      "after",
      `
The encoder runs in a Python/JAX process; its environment (~620 MB from PyPI) is created in
$EMBEDKIT_HOME/finetune-venv on first use (needs python3 >= 3.11, or EMBEDKIT_PYTHON).
Examples:
  embedkit finetune classifier --data train.csv --out sst2-ft/
  embedkit classify --classifier sst2-ft/ "a gripping, funny film"
  embedkit embed -m dir:sst2-ft/encoder "any text"     # the fine-tuned encoder as a model
  embedkit finetune classifier --data reviews.tsv --text-col text_a -m bge-small-zh-v1.5 \\
    --epochs 3 --batch-size 16 --lr 2e-5 --warmup 0.1 --patience 1 --out chn-ft/
  embedkit finetune classifier --data train.csv --checkpoint-dir ckpt/ --checkpoint-every 500 --out ft/
  embedkit finetune classifier --data train.csv --checkpoint-dir ckpt/ --resume --out ft/   # after a crash`,
    )
    .action(async (options: FinetuneClassifierCommandOptions) => {
      await runClassifier(options);
    });
  return new Command("finetune")
    .description(
      "Fine-tune the encoder itself (not only a head) on labelled data: classifier, embeddings, ner.",
    )
    .addCommand(classifier)
    .addCommand(finetuneEmbeddingsCommand(exportName))
    .addCommand(finetuneNerCommand());
}
