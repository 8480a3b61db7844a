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
import { join } from "node:path";
import { Command, Option } from "commander";
import { HEAD_ENCODER_FOLDER } from "../models/finetuned-folder.js";
import { splitForTagging, TAGGING_UNITS, type TaggingUnit } from "../ner/ner-words.js";
import { TAGGED_FORMATS, type TaggedFormat, taggedFormatOf } from "../ner/readers.js";
import { TAG_SCHEMES, type TagScheme } from "../ner/tag-scheme.js";
import { saveTagger } from "../ner/tagger.js";
import { finetuneNer } from "../train/encoder/finetune-ner.js";
import { readTokenTagFile } from "../train/finetune/data.js";
import { openStore } from "./context.js";
import {
  addRunOptions,
  addTrainingOptions,
  encoderExport,
  type FinetuneTrainingCommandOptions,
  headEncoderSummary,
  runSummary,
  trainingLoopSettings,
  trainingProgress,
  writeHeadWithEncoder,
} from "./finetune-options.js";
import { collectTexts, printJson } from "./io.js";

interface FinetuneNerCommandOptions extends FinetuneTrainingCommandOptions {
  readonly data: string;
  readonly validation?: string;
  readonly format?: TaggedFormat;
  readonly scheme: TagScheme;
  readonly tagScheme?: TagScheme;
  readonly unit?: TaggingUnit;
  readonly probe?: readonly string[];
}

async function run(options: FinetuneNerCommandOptions): Promise<void> {
  const store = openStore(options);
  const format = taggedFormatOf(options.data, options.format);
  const read = (path: string) =>
    readTokenTagFile(path, { scheme: options.scheme, format: taggedFormatOf(path, options.format) });
  const data = await read(options.data);
  const validation = options.validation === undefined ? undefined : await read(options.validation);
  const unit = options.unit ?? (format === "bio" ? "character" : "word");
  const progress = trainingProgress(options, (value) => `val F1 ${(value * 100).toFixed(2)}`);
  const log = progress.log;
  for (const file of validation === undefined ? [data] : [data, validation])
    if (file.repairedLines.length > 0)
      log(
        `${file.path}: read ${file.repairedLines.length} I- tag(s) that continue nothing as B- (first at line ${file.repairedLines[0]}).`,
      );
  // Probe texts are cut into units as `embedkit ner` cuts its input, so its tags can be compared.
  const probes = (options.probe ?? []).map((text) => splitForTagging(text, unit).map((span) => span.text));
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
    ...(probes.length === 0 ? {} : { probes }),
    ...trainingLoopSettings(options),
    ...progress.callbacks,
  });
  const exported = await writeHeadWithEncoder(
    options,
    encoderExport(
      "ner",
      result,
      { data, validation },
      result.validation === undefined
        ? {}
        : {
            "validation.f1": result.validation.micro.f1,
            "validation.precision": result.validation.micro.precision,
            "validation.recall": result.validation.micro.recall,
          },
    ),
    (dir, encoder) =>
      saveTagger(
        dir,
        { ...result.tagger, settings: { ...result.tagger.settings, modelId: encoder.modelId } },
        {
          finetuned: true,
          baseModel: options.model,
          epochs: options.epochs,
          bestEpoch: result.bestEpoch,
          history: result.history,
        },
      ),
  );
  const f1 = result.validation?.micro.f1;
  const summary = {
    out: options.out,
    model: options.model,
    encoder: headEncoderSummary(options.out, exported),
    unit,
    scheme: result.tagger.settings.scheme,
    tags: result.tagger.settings.tags,
    sentences: data.sentences.length,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    steps: result.steps,
    ...(result.validation === undefined ? {} : { validation: result.validation.micro }),
    ...runSummary(result),
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
  const command = new Command("ner")
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
    );
  addTrainingOptions(command, {
    unit: "sentences",
    learningRate: 5e-5,
    maxTokens:
      "longest training sentence in tokens (default: the model's limit; tagging never cuts, it uses windows)",
    onLong: "longer training sentences are cut or refused",
    patience: "stop after n epochs without validation F1 improvement (best epoch is kept)",
    seed: "seed of shuffling, head initialisation and dropout",
    out: "output folder: the tagger (embedkit ner --tagger DIR) + the fine-tuned encoder in DIR/encoder (a dir: model)",
  }).option(
    "--probe <text>",
    "also print the trained model's tags for this text (repeatable; in the --json summary)",
    collectTexts,
  );
  return addRunOptions(command)
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
