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
import { Command, Option } from "commander";
import type { InputType } from "../embed/embedder.js";
import { finetuneEmbeddings } from "../train/encoder/finetune-embeddings.js";
import { readPairsFile } from "../train/finetune/data.js";
import { exportFinetunedEncoder } from "../train/finetune/export.js";
import { openStore } from "./context.js";
import {
  addRunOptions,
  addTrainingOptions,
  encoderExport,
  exportName,
  type FinetuneTrainingCommandOptions,
  logSkippedRows,
  runSummary,
  trainingLoopSettings,
  trainingProgress,
} from "./finetune-options.js";
import { parseFraction, parseNonNegativeNumber, printJson } from "./io.js";

interface FinetuneEmbeddingsCommandOptions extends FinetuneTrainingCommandOptions {
  readonly data: string;
  readonly valData?: string;
  readonly val: number;
  readonly loss?: "mnrl" | "cosent";
  readonly scale: number;
  readonly firstType?: InputType;
  readonly secondType?: InputType;
}

async function runEmbeddings(options: FinetuneEmbeddingsCommandOptions): Promise<void> {
  const store = openStore(options);
  const data = await readPairsFile(options.data);
  const validation = options.valData === undefined ? undefined : await readPairsFile(options.valData);
  const progress = trainingProgress(
    options,
    (value) => `val ${data.kind === "pairs" ? "mrr" : "spearman"} ${value.toFixed(4)}`,
  );
  logSkippedRows(validation === undefined ? [data] : [data, validation], progress.log);
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
    ...trainingLoopSettings(options),
    ...progress.callbacks,
  });
  const metrics = {
    ...(result.validationMetric === undefined
      ? {}
      : { [`validation.${result.metric}`]: result.validationMetric }),
    ...(result.baseValidationMetric === undefined
      ? {}
      : { [`base.validation.${result.metric}`]: result.baseValidationMetric }),
    ...(result.validationAccuracy === undefined ? {} : { "validation.accuracy": result.validationAccuracy }),
  };
  // Written under a temporary name and renamed by the exporter: --out is complete or untouched.
  const exported = await exportFinetunedEncoder({
    base: options.model,
    ...encoderExport("embeddings", result, { data, validation }, metrics),
    outDir: options.out,
    name: exportName(options.out),
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
    ...runSummary(result),
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

/** Build `finetune embeddings`. */
export function finetuneEmbeddingsCommand(): Command {
  const command = new Command("embeddings")
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
    );
  return addRunOptions(
    addTrainingOptions(command, {
      unit: "pairs",
      learningRate: 2e-5,
      batchSize: "pairs per step (in-batch negatives: at least 2)",
      dropout: "dropout in the encoder",
      seed: "seed of the split, shuffling and dropout",
      out: "output folder: the fine-tuned encoder as a dir: model (replaced when complete)",
      resume: "continue from the newest intact checkpoint in --checkpoint-dir (same data and options)",
    }),
  )
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
      await runEmbeddings(options);
    });
}
