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
import { join } from "node:path";
import { Command } from "commander";
import { HEAD_ENCODER_FOLDER } from "../models/finetuned-folder.js";
import { createClassifier, saveClassifier } from "../train/classifier.js";
import { finetuneClassifier } from "../train/encoder/finetune-classifier.js";
import { checkValidationLabels, readLabelledTextsFile } from "../train/finetune/data.js";
import { openStore } from "./context.js";
import { finetuneEmbeddingsCommand } from "./finetune-embeddings.js";
import { finetuneNerCommand } from "./finetune-ner.js";
import {
  addRunOptions,
  addTrainingOptions,
  encoderExport,
  type FinetuneTrainingCommandOptions,
  headEncoderSummary,
  logSkippedRows,
  runSummary,
  trainingLoopSettings,
  trainingProgress,
  writeHeadWithEncoder,
} from "./finetune-options.js";
import { collectTexts, parseFraction, printJson } from "./io.js";

interface FinetuneClassifierCommandOptions extends FinetuneTrainingCommandOptions {
  readonly data: string;
  readonly textCol: string;
  readonly labelCol: string;
  readonly val: number;
  readonly valData?: string;
  readonly probe?: readonly string[];
}

async function runClassifier(options: FinetuneClassifierCommandOptions): Promise<void> {
  const store = openStore(options);
  const columns = { textColumn: options.textCol, labelColumn: options.labelCol };
  const data = await readLabelledTextsFile(options.data, columns);
  const validation =
    options.valData === undefined ? undefined : await readLabelledTextsFile(options.valData, columns);
  if (validation !== undefined) checkValidationLabels(data.labels, validation);
  const progress = trainingProgress(options, (value) => `val acc ${(value * 100).toFixed(2)}`);
  logSkippedRows(validation === undefined ? [data] : [data, validation], progress.log);
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
    ...trainingLoopSettings(options),
    ...progress.callbacks,
  });
  const exported = await writeHeadWithEncoder(
    options,
    encoderExport(
      "classifier",
      result,
      { data, validation },
      result.validationAccuracy === undefined ? {} : { "validation.accuracy": result.validationAccuracy },
    ),
    async (dir, encoder) => {
      const head = createClassifier({
        model: result.classifier.model,
        classes: result.classifier.classes,
        embedding: { modelId: encoder.modelId, dims: result.classifier.embedding.dims },
      });
      await saveClassifier(dir, head, {
        finetuned: true,
        baseModel: options.model,
        epochs: options.epochs,
        bestEpoch: result.bestEpoch,
        history: result.history,
      });
    },
  );
  const summary = {
    out: options.out,
    model: options.model,
    encoder: headEncoderSummary(options.out, exported),
    classes: result.classifier.classes,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    steps: result.steps,
    validationAccuracy: result.validationAccuracy,
    ...runSummary(result),
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
    .option("--val-data <file>", "separate validation file (instead of --val)");
  addTrainingOptions(classifier, {
    unit: "rows",
    learningRate: 2e-5,
    seed: "seed of the split, shuffling, head initialisation and dropout",
    out: "output folder: the head (classify --classifier DIR) + the fine-tuned encoder in DIR/encoder (a dir: model)",
  }).option(
    "--probe <text>",
    "also print the trained model's prediction for this text (repeatable; in the --json summary)",
    collectTexts,
  );
  addRunOptions(classifier)
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
    .addCommand(finetuneEmbeddingsCommand())
    .addCommand(finetuneNerCommand());
}
