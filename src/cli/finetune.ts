/**
 * @module cli/finetune
 * `embedkit finetune classifier`: fine-tune a catalog encoder and a
 * classification head end to end (`train/encoder/finetune-classifier`, JAX
 * sidecar), with a progress bar over batches, one line per epoch (loss,
 * validation accuracy, seconds) and a summary. Saves the head in `train`'s
 * classifier format and the trained encoder weights by ONNX initializer name.
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { saveClassifier } from "../train/classifier.js";
import { finetuneClassifier } from "../train/encoder/finetune-classifier.js";
import { OPTIMIZERS, type OptimizerName } from "../train/optimizers.js";
import { SCHEDULES, type ScheduleName } from "../train/schedules.js";
import { readLabelled } from "../train/train-from-file.js";
import { openStore } from "./context.js";
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

/**
 * Write the trained encoder weights: `encoder-weights.bin` (float32 little-endian,
 * concatenated) and `encoder-weights.json` (name, shape-free element count, byte offset).
 */
async function writeEncoderWeights(dir: string, weights: ReadonlyMap<string, Float32Array>): Promise<void> {
  const index: { name: string; elements: number; offset: number }[] = [];
  let offset = 0;
  for (const [name, values] of weights) {
    index.push({ name, elements: values.length, offset });
    offset += values.byteLength;
  }
  const bytes = new Uint8Array(offset);
  for (const [i, values] of [...weights.values()].entries())
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), index[i]?.offset);
  await writeFile(join(dir, "encoder-weights.bin"), bytes);
  await writeFile(
    join(dir, "encoder-weights.json"),
    `${JSON.stringify({ dtype: "float32", tensors: index }, null, 1)}\n`,
  );
}

async function runClassifier(options: FinetuneClassifierCommandOptions): Promise<void> {
  const store = openStore(options);
  const data = await readLabelled(options.data, options.textCol, options.labelCol);
  const validation =
    options.valData === undefined
      ? undefined
      : await readLabelled(options.valData, options.textCol, options.labelCol);
  const bar = createProgressBar({ unit: "batches", quiet: options.quiet === true || options.json === true });
  const log = (line: string): void => {
    if (options.quiet !== true && options.json !== true) process.stderr.write(`${line}\n`);
  };
  let started = false;
  const result = await finetuneClassifier({
    store,
    model: options.model,
    texts: data.texts,
    labels: data.labels,
    ...(validation === undefined ? { validationSplit: options.val } : { validation }),
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
  // Written to a temp folder, renamed at the end: no half-written output.
  const temp = `${options.out}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  await saveClassifier(join(temp, "classifier"), result.classifier, {
    finetuned: true,
    baseModel: options.model,
    epochs: options.epochs,
    bestEpoch: result.bestEpoch,
    history: result.history,
  });
  await writeEncoderWeights(temp, result.encoderWeights);
  await rm(options.out, { recursive: true, force: true });
  await rename(temp, options.out);
  const summary = {
    out: options.out,
    model: options.model,
    classes: result.classifier.classes,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    steps: result.steps,
    validationAccuracy: result.validationAccuracy,
    truncated: result.truncated,
    tokensPerSecond: Math.round(result.tokensPerSecond),
    epochSeconds: result.epochSeconds.map((s) => Math.round(s * 10) / 10),
    history: result.history,
  };
  if (options.json === true) printJson(summary);
  else {
    const accuracy =
      result.validationAccuracy === undefined
        ? ""
        : `, validation accuracy ${(result.validationAccuracy * 100).toFixed(2)}`;
    process.stdout.write(
      `Fine-tuned ${options.model} on ${data.texts.length} rows: best epoch ${result.bestEpoch}${accuracy}, ${Math.round(result.tokensPerSecond)} tokens/s; saved to ${options.out}\n`,
    );
  }
}

/** Build the `finetune` command (subcommand `classifier`). */
export function finetuneCommand(): Command {
  const classifier = new Command("classifier")
    .description(
      "Fine-tune a catalog encoder (BERT family) and a classification head end to end on a labelled CSV/TSV/JSONL file; prints loss and validation accuracy per epoch and saves the head and the trained encoder weights.",
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
    .requiredOption("-o, --out <dir>", "output folder: classifier/ (the head) + encoder-weights.bin/.json")
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
  embedkit finetune classifier --data reviews.tsv --text-col text_a -m bge-small-zh-v1.5 \\
    --epochs 3 --batch-size 16 --lr 2e-5 --warmup 0.1 --patience 1 --out chn-ft/`,
    )
    .action(async (options: FinetuneClassifierCommandOptions) => {
      await runClassifier(options);
    });
  return new Command("finetune")
    .description("Fine-tune the encoder itself (not only a head) on labelled data: classifier.")
    .addCommand(classifier);
}
