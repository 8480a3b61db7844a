/**
 * @module cli/finetune-ner
 * `embedkit finetune ner`: fine-tune a catalog encoder and a tag head on a
 * CoNLL (word per line) or character-per-line BIO file
 * (`train/encoder/finetune-ner`, JAX sidecar), with a progress bar over
 * batches and one line per epoch (loss, validation entity F1, seconds).
 * `--out DIR` is one folder: the tagger at the top (`embedkit ner --tagger
 * DIR`) and the fine-tuned encoder as a `dir:` model in `DIR/encoder/`,
 * whose content-based id the tagger records. Registered as a subcommand of
 * `finetune` (src/cli/finetune.ts).
 */
import { mkdir, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { HEAD_ENCODER_FOLDER } from "../models/finetuned-folder.js";
import { splitForTagging, TAGGING_UNITS, type TaggingUnit } from "../ner/ner-words.js";
import { TAGGED_FORMATS, type TaggedFormat } from "../ner/readers.js";
import { TAG_SCHEMES, type TagScheme } from "../ner/tag-scheme.js";
import { saveTagger } from "../ner/tagger.js";
import { finetuneNer } from "../train/encoder/finetune-ner.js";
import { combineDataSha256, readTokenTagFile } from "../train/finetune/data.js";
import { exportFinetunedEncoder } from "../train/finetune/export.js";
import { OPTIMIZERS, type OptimizerName } from "../train/optimizers.js";
import { SCHEDULES, type ScheduleName } from "../train/schedules.js";
import { openStore } from "./context.js";
import { exportName, parseFraction } from "./finetune.js";
import { createProgressBar, parseNonNegativeNumber, parsePositiveInteger, printJson } from "./io.js";

interface FinetuneNerCommandOptions {
  readonly data: string;
  readonly validation?: string;
  readonly format?: TaggedFormat;
  readonly scheme: TagScheme;
  readonly tagScheme?: TagScheme;
  readonly unit?: TaggingUnit;
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
  readonly probe?: readonly string[];
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly home?: string;
}

/** Format from the option, else from the extension (`.bio` → bio, otherwise conll), as `train ner`. */
function formatOf(path: string, option: TaggedFormat | undefined): TaggedFormat {
  if (option !== undefined) return option;
  return path.toLowerCase().endsWith(".bio") ? "bio" : "conll";
}

async function run(options: FinetuneNerCommandOptions): Promise<void> {
  const store = openStore(options);
  const format = formatOf(options.data, options.format);
  const read = (path: string) =>
    readTokenTagFile(path, { scheme: options.scheme, format: formatOf(path, options.format) });
  const data = await read(options.data);
  const validation = options.validation === undefined ? undefined : await read(options.validation);
  const unit = options.unit ?? (format === "bio" ? "character" : "word");
  const quiet = options.quiet === true || options.json === true;
  const bar = createProgressBar({ unit: "batches", quiet });
  const log = (line: string): void => {
    if (options.quiet !== true) process.stderr.write(`${line}\n`);
  };
  for (const file of validation === undefined ? [data] : [data, validation])
    if (file.repairedLines.length > 0)
      log(
        `${file.path}: read ${file.repairedLines.length} I- tag(s) that continue nothing as B- (first at line ${file.repairedLines[0]}).`,
      );
  // Probe texts are cut into units as `embedkit ner` cuts its input, so its tags can be compared.
  const probes = (options.probe ?? []).map((text) => splitForTagging(text, unit).map((span) => span.text));
  let started = false;
  const result = await finetuneNer({
    store,
    model: options.model,
    train: { sentences: data.sentences, scheme: options.scheme },
    dataPath: data.path,
    ...(validation === undefined
      ? {}
      : {
          validation: { sentences: validation.sentences, scheme: options.scheme },
          validationPath: validation.path,
        }),
    unit,
    ...(options.tagScheme === undefined ? {} : { scheme: options.tagScheme }),
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
    ...(probes.length === 0 ? {} : { probes }),
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
        report.validationMetric === undefined ? "" : `  val F1 ${(report.validationMetric * 100).toFixed(2)}`;
      log(
        `epoch ${report.epoch}  loss ${report.trainLoss.toFixed(4)}${metric}  lr ${report.learningRate.toExponential(2)}  ${(report.milliseconds / 1000).toFixed(1)} s${report.best ? "  *" : ""}`,
      );
    },
  });
  // Tagger + encoder are built in a temp folder and renamed at the end: no half-written output.
  const temp = `${resolve(options.out)}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  const bestReport = result.history[result.bestEpoch - 1];
  let exported: Awaited<ReturnType<typeof exportFinetunedEncoder>>;
  try {
    exported = await exportFinetunedEncoder({
      base: options.model,
      weights: result.encoderWeights,
      task: "ner",
      dataSha256: validation === undefined ? data.sha256 : combineDataSha256([data, validation]),
      metrics: {
        ...(result.validation === undefined
          ? {}
          : {
              "validation.f1": result.validation.micro.f1,
              "validation.precision": result.validation.micro.precision,
              "validation.recall": result.validation.micro.recall,
            }),
        ...(bestReport === undefined ? {} : { "train.loss": bestReport.trainLoss }),
        "best.epoch": result.bestEpoch,
      },
      outDir: join(temp, HEAD_ENCODER_FOLDER),
      name: exportName(options.out),
      ...(options.home === undefined ? {} : { home: options.home }),
    });
    await saveTagger(
      temp,
      { ...result.tagger, settings: { ...result.tagger.settings, modelId: exported.modelId } },
      {
        finetuned: true,
        baseModel: options.model,
        epochs: options.epochs,
        bestEpoch: result.bestEpoch,
        history: result.history,
      },
    );
    await rm(options.out, { recursive: true, force: true });
    await rename(temp, options.out);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  const f1 = result.validation?.micro.f1;
  const summary = {
    out: options.out,
    model: options.model,
    encoder: {
      modelId: exported.modelId,
      reference: `dir:${join(resolve(options.out), HEAD_ENCODER_FOLDER)}`,
    },
    unit,
    scheme: result.tagger.settings.scheme,
    tags: result.tagger.settings.tags,
    sentences: data.sentences.length,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    steps: result.steps,
    ...(result.validation === undefined ? {} : { validation: result.validation.micro }),
    truncated: result.truncated,
    tokensPerSecond: Math.round(result.tokensPerSecond),
    epochSeconds: result.epochSeconds.map((s) => Math.round(s * 10) / 10),
    history: result.history,
    ...(result.probes === undefined
      ? {}
      : {
          probes: result.probes.after.map((output, index) => ({
            text: options.probe?.[index] as string,
            words: probes[index],
            ...output,
          })),
        }),
  };
  if (options.json === true) printJson(summary);
  else {
    process.stdout.write(
      `Fine-tuned ${options.model} on ${data.sentences.length} sentences: best epoch ${result.bestEpoch}${f1 === undefined ? "" : `, validation entity F1 ${(f1 * 100).toFixed(2)}`}, ${Math.round(result.tokensPerSecond)} tokens/s; saved to ${options.out} (encoder: dir:${join(options.out, HEAD_ENCODER_FOLDER)})\n`,
    );
    result.probes?.after.forEach((output, index) => {
      const words = probes[index] as string[];
      process.stdout.write(`${words.map((word, i) => `${word}/${output.tags[i]}`).join(" ")}\n`);
    });
  }
}

/** Build `finetune ner`. */
export function finetuneNerCommand(): Command {
  return new Command("ner")
    .description(
      "Fine-tune a catalog encoder (BERT family) and a tag head end to end on a CoNLL or character-per-line BIO file; prints loss and validation entity F1 per epoch and saves a tagger for `embedkit ner --tagger DIR` with the fine-tuned encoder (a dir: model in DIR/encoder).",
    )
    .requiredOption("-d, --data <file>", "training file: CoNLL (`token … tag`) or `.bio` (`char<TAB>tag`)")
    .option("--validation <file>", "validation file (same format): picks the epoch by entity F1")
    .addOption(
      new Option("--format <format>", "file format (default: from the extension, .bio = bio)").choices([
        ...TAGGED_FORMATS,
      ]),
    )
    .addOption(
      new Option("--scheme <scheme>", "tag scheme of the files").choices([...TAG_SCHEMES]).default("bio"),
    )
    .addOption(
      new Option(
        "--tag-scheme <scheme>",
        "scheme the head predicts (default: bioes for characters, else the files' scheme)",
      ).choices([...TAG_SCHEMES]),
    )
    .addOption(
      new Option("--unit <unit>", "what a tag labels (default: character for .bio files, else word)").choices(
        [...TAGGING_UNITS],
      ),
    )
    .option(
      "-m, --model <id>",
      "base encoder (all-minilm-l6-v2, bge-small-en-v1.5, bge-small-zh-v1.5, e5-small-v2)",
      "all-minilm-l6-v2",
    )
    .option(
      "--max-tokens <n>",
      "longest training sentence in tokens (default: the model's limit; tagging never cuts, it uses windows)",
      parsePositiveInteger,
    )
    .addOption(
      new Option("--on-long <action>", "longer training sentences are cut or refused")
        .choices(["truncate", "refuse"])
        .default("truncate"),
    )
    .addOption(new Option("--optimizer <name>", "optimizer").choices([...OPTIMIZERS]).default("adamw"))
    .option("--lr <rate>", "peak learning rate", parseNonNegativeNumber, 5e-5)
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
    .option("--epochs <n>", "passes over the training sentences", parsePositiveInteger, 3)
    .option("--batch-size <n>", "sentences per step", parsePositiveInteger, 16)
    .option("--dropout <rate>", "dropout in the encoder and before the head", parseFraction, 0.1)
    .option("--clip <norm>", "clip the global gradient norm (0 = off)", parseNonNegativeNumber, 1)
    .option(
      "--patience <n>",
      "stop after n epochs without validation F1 improvement (best epoch is kept)",
      parsePositiveInteger,
    )
    .option(
      "--seed <n>",
      "seed of shuffling, head initialisation and dropout",
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
      "output folder: the tagger (embedkit ner --tagger DIR) + the fine-tuned encoder in DIR/encoder (a dir: model)",
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
      "also print the trained model's tags for this text (repeatable; in the --json summary)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option("--json", "print a JSON summary on stdout")
    .option("-q, --quiet", "no progress output")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .addHelpText(
      "after",
      `
Each word is tagged at its first word piece; decoding is the constrained Viterbi of \`embedkit ner\`.
The encoder runs in a Python/JAX process; its environment (~620 MB from PyPI) is created in
$EMBEDKIT_HOME/finetune-venv on first use (needs python3 >= 3.11, or EMBEDKIT_PYTHON).
Examples:
  embedkit finetune ner --data train.txt --validation valid.txt --out ner-ft/
  embedkit ner --tagger ner-ft/ "EU rejects German call to boycott British lamb."
  embedkit finetune ner -m bge-small-zh-v1.5 --data train.bio --validation dev.bio \\
    --epochs 3 --batch-size 16 --lr 5e-5 --patience 1 --out ner-zh-ft/
  embedkit finetune ner --data train.txt --on-long refuse --out ner-ft/   # fail on over-long sentences
  embedkit finetune ner --data train.txt --checkpoint-dir ckpt/ --checkpoint-every 200 --out ner-ft/
  embedkit finetune ner --data train.txt --checkpoint-dir ckpt/ --resume --out ner-ft/   # after a crash`,
    )
    .action(async (options: FinetuneNerCommandOptions) => {
      await run(options);
    });
}
