/**
 * @module cli/train-ner
 * `embedkit train ner`: read labelled files (CoNLL or character-per-line BIO),
 * optionally hold out a tail for validation and subsample the rest, embed
 * every word with a local encoder (cached on disk), train a tagging head with
 * `embedkit/train`, and save the tagger folder. Thin: parse → library → print.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import type { OnnxEmbedder } from "../embed/onnx/onnx-embedder.js";
import { EmbedkitError } from "../errors.js";
import { TAGGING_UNITS, type TaggingUnit } from "../ner/ner-words.js";
import {
  concatCorpora,
  readTaggedFile,
  splitCorpus,
  TAGGED_FORMATS,
  type TaggedCorpus,
  type TaggedFormat,
  taggedFormatOf,
} from "../ner/readers.js";
import { TAG_SCHEMES, type TagScheme } from "../ner/tag-scheme.js";
import { type ClassWeighting, saveTagger, trainTagger } from "../ner/tagger.js";
import { OPTIMIZERS, type OptimizerName } from "../train/optimizers.js";
import { openEmbedder } from "./context.js";
import { collectTexts, createProgressBar, parsePositiveInteger, printJson, printLine } from "./io.js";

interface TrainNerOptions {
  readonly data: string[];
  readonly format?: TaggedFormat;
  readonly scheme: TagScheme;
  readonly tagScheme?: TagScheme;
  readonly val?: string[];
  readonly valLast?: number;
  readonly sample?: number;
  readonly unit?: TaggingUnit;
  readonly model: string;
  readonly out: string;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly optimizer: OptimizerName;
  readonly hidden: number[];
  readonly dropout: number;
  readonly classWeighting: ClassWeighting;
  readonly transitionWeight: number;
  readonly outsidePenalty: number | "tune";
  readonly lexicon?: boolean;
  readonly dictionary?: boolean;
  readonly ngrams?: boolean;
  readonly ngramBuckets?: number;
  readonly patience?: number;
  readonly seed: number;
  readonly repair: boolean;
  readonly cache: boolean;
  readonly cacheDir?: string;
  readonly home?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

function parseNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError("must be a number >= 0.");
  return parsed;
}

function parsePenalty(value: string): number | "tune" {
  return value === "tune" ? "tune" : parseNumber(value);
}

function parseHidden(value: string): number[] {
  if (value.trim() === "") return [];
  return value.split(",").map((part) => parsePositiveInteger(part.trim()));
}

async function readAll(paths: readonly string[], options: TrainNerOptions): Promise<TaggedCorpus> {
  const corpora: TaggedCorpus[] = [];
  for (const path of paths) {
    corpora.push(
      await readTaggedFile(path, {
        format: taggedFormatOf(path, options.format),
        scheme: options.scheme,
        invalidTransitions: options.repair ? "repair" : "error",
      }),
    );
  }
  return concatCorpora(corpora);
}

async function run(options: TrainNerOptions): Promise<void> {
  if (options.val !== undefined && options.valLast !== undefined) {
    throw new EmbedkitError("INVALID_OPTION", "Use either --val <file> or --val-last <n>, not both.");
  }
  const all = await readAll(options.data, options);
  const split = splitCorpus(all, {
    ...(options.valLast === undefined ? {} : { validationLast: options.valLast }),
    ...(options.sample === undefined ? {} : { sample: options.sample }),
    seed: options.seed,
  });
  const validation = options.val === undefined ? split.validation : await readAll(options.val, options);
  const unit =
    options.unit ??
    (taggedFormatOf(options.data[0] as string, options.format) === "bio" ? "character" : "word");
  const quiet = options.quiet ?? false;
  const embedder = (await openEmbedder({
    model: options.model,
    quiet,
    ...(options.home === undefined ? {} : { home: options.home }),
  })) as OnnxEmbedder;
  const bar = createProgressBar({ unit: "sentences", quiet });
  let phase = "";
  let batches = 0;
  try {
    const result = await trainTagger({
      embedder,
      train: split.train,
      ...(validation === undefined ? {} : { validation }),
      ...(options.tagScheme === undefined ? {} : { scheme: options.tagScheme }),
      unit,
      hidden: options.hidden,
      epochs: options.epochs,
      batchSize: options.batchSize,
      learningRate: options.learningRate,
      optimizer: options.optimizer,
      dropout: options.dropout,
      classWeighting: options.classWeighting,
      transitionWeight: options.transitionWeight,
      outsidePenalty: options.outsidePenalty,
      ...(options.lexicon === undefined ? {} : { lexicon: options.lexicon }),
      ...(options.dictionary === undefined ? {} : { dictionary: options.dictionary }),
      ...(options.ngrams === undefined ? {} : { ngrams: options.ngrams }),
      ...(options.ngramBuckets === undefined ? {} : { ngramBuckets: options.ngramBuckets }),
      ...(options.patience === undefined ? {} : { patience: options.patience }),
      seed: options.seed,
      ...(options.cache
        ? options.cacheDir === undefined
          ? {}
          : { cacheDir: options.cacheDir }
        : { cacheDir: false }),
      onEmbedProgress(corpus, done, total) {
        if (phase !== corpus) {
          bar.stop();
          bar.start(total, `embed ${corpus} (${embedder.model.id})`);
          phase = corpus;
        }
        bar.update(done);
      },
      onBatch(done, total) {
        if (phase !== "train-head") {
          bar.stop();
          bar.start(total, `epoch 1/${options.epochs}`);
          phase = "train-head";
        }
        batches = total;
        bar.update(done, total);
      },
      onEpoch(report) {
        const f1 =
          report.validationMetric === undefined
            ? ""
            : ` val F1 ${(report.validationMetric * 100).toFixed(2)}`;
        bar.stop();
        if (report.epoch < options.epochs) {
          bar.start(
            batches,
            `epoch ${report.epoch + 1}/${options.epochs} (epoch ${report.epoch}: loss ${report.trainLoss.toFixed(4)}${f1})`,
          );
        }
        if (!quiet && !options.json) {
          process.stderr.write(
            `epoch ${report.epoch}: loss ${report.trainLoss.toFixed(4)}${f1}${report.best ? " (best)" : ""}\n`,
          );
        }
      },
    });
    bar.stop();
    const summary = {
      out: options.out,
      model: embedder.model.id,
      unit,
      scheme: result.tagger.settings.scheme,
      tags: result.tagger.settings.tags,
      trainSentences: split.train.sentences.length,
      validationSentences: validation?.sentences.length ?? 0,
      bestEpoch: result.bestEpoch,
      outsidePenalty: result.tagger.settings.outsidePenalty,
      seconds: result.seconds,
      ...(result.validation === undefined
        ? {}
        : {
            validation: {
              micro: result.validation.micro,
              perType: result.validation.perType,
            },
          }),
    };
    await saveTagger(options.out, result.tagger, {
      trainedOn: options.data,
      trainSentences: summary.trainSentences,
      validationSentences: summary.validationSentences,
      sample: options.sample ?? null,
      valLast: options.valLast ?? null,
      seed: options.seed,
      epochs: options.epochs,
      bestEpoch: result.bestEpoch,
      validationF1: result.validation?.micro.f1 ?? null,
      seconds: result.seconds,
      history: result.history,
    });
    if (options.json) {
      printJson(summary);
      return;
    }
    printLine(
      `Saved ${options.out} (${embedder.model.id}, ${unit}s, ${summary.tags.length} tags, best epoch ${result.bestEpoch}${result.tagger.settings.outsidePenalty === 0 ? "" : `, outside penalty ${result.tagger.settings.outsidePenalty}`}).`,
    );
    if (result.validation !== undefined) {
      printLine(`validation micro F1 ${(result.validation.micro.f1 * 100).toFixed(2)}`);
      for (const [type, scores] of Object.entries(result.validation.perType)) {
        printLine(
          `  ${type.padEnd(6)} P ${(scores.precision * 100).toFixed(2)}  R ${(scores.recall * 100).toFixed(2)}  F1 ${(scores.f1 * 100).toFixed(2)}  (${scores.support})`,
        );
      }
    }
  } finally {
    bar.stop();
    await embedder.close();
  }
}

/** Build the `ner` subcommand of `embedkit train` (named `ner`). */
export function trainNerCommand(name = "ner"): Command {
  return new Command(name)
    .description(
      "Train a named-entity tagger: a head over frozen token embeddings of a local encoder, with constrained Viterbi decoding.",
    )
    .requiredOption(
      "--data <file>",
      "labelled training file; repeat for several files (read in order)",
      collectTexts,
    )
    .addOption(
      new Option("--format <format>", "file format (default: bio for *.bio, else conll)").choices([
        ...TAGGED_FORMATS,
      ]),
    )
    .addOption(
      new Option("--scheme <scheme>", "tag scheme of the files").choices([...TAG_SCHEMES]).default("bio"),
    )
    .addOption(
      new Option(
        "--tag-scheme <scheme>",
        "tag scheme the head predicts (default: bioes for characters, else the files' scheme)",
      ).choices([...TAG_SCHEMES]),
    )
    .option("--val <file>", "validation file (picks the best epoch); repeatable", collectTexts)
    .option("--val-last <n>", "hold out the last n sentences of --data as validation", parsePositiveInteger)
    .option("--sample <n>", "train on a seeded random sample of n sentences", parsePositiveInteger)
    .addOption(
      new Option(
        "--unit <unit>",
        "what one tag labels (default: character for bio files, else word)",
      ).choices([...TAGGING_UNITS]),
    )
    .option(
      "-m, --model <id>",
      "encoder (all-minilm-l6-v2, bge-small-en-v1.5, bge-small-zh-v1.5, …)",
      "all-minilm-l6-v2",
    )
    .requiredOption("-o, --out <dir>", "folder to save the tagger in")
    .option("--epochs <n>", "passes over the training words", parsePositiveInteger, 10)
    .option("--batch-size <n>", "words per optimizer step", parsePositiveInteger, 64)
    .option("--learning-rate <x>", "learning rate", parseNumber, 0.001)
    .addOption(new Option("--optimizer <name>", "optimizer").choices([...OPTIMIZERS]).default("adamw"))
    .option("--hidden <sizes>", "hidden layer sizes, comma-separated (empty = linear head)", parseHidden, [])
    .option("--dropout <rate>", "dropout before each linear layer", parseNumber, 0)
    .addOption(
      new Option("--class-weighting <mode>", "loss weight per tag: none, balanced (1/freq) or sqrt (1/√freq)")
        .choices(["none", "balanced", "sqrt"])
        .default("sqrt"),
    )
    .option(
      "--transition-weight <x>",
      "weight of tag-bigram log-probabilities in Viterbi (0 = constraints only)",
      parseNumber,
      1,
    )
    .option(
      "--outside-penalty <x>",
      'subtract x from the O tag\'s log-probability at decoding (more entities, recall up), or "tune" to pick it on the validation split',
      parsePenalty,
      0,
    )
    .option(
      "--lexicon",
      "add lexicon features: tag distribution of each word form in training (default for words)",
    )
    .option("--no-lexicon", "no lexicon features")
    .option("--dictionary", "add entity-dictionary match bits (default for characters)")
    .option("--no-dictionary", "no entity-dictionary match bits")
    .option(
      "--ngrams",
      "add hashed unit n-gram features (unigrams + bigrams in a ±2 window) through a sparse layer (default for characters)",
    )
    .option("--no-ngrams", "no n-gram features")
    .option(
      "--ngram-buckets <n>",
      "hash buckets of the n-gram features (default 262144)",
      parsePositiveInteger,
    )
    .option("--patience <n>", "stop after n epochs without validation improvement", parsePositiveInteger)
    .option("--seed <n>", "seed of sampling, initialisation and shuffling", parsePositiveInteger, 42)
    .option("--no-repair", "reject files with an I- tag that continues nothing instead of reading it as B-")
    .option("--cache-dir <dir>", "word-vector cache (default: $EMBEDKIT_HOME/ner-cache)")
    .option("--no-cache", "do not read or write the word-vector cache")
    .option("--json", "print a JSON summary")
    .option("-q, --quiet", "no progress bars")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .addHelpText(
      "after",
      `
Examples:
  embedkit train ner --data train.txt --val valid.txt --out ner-en/
  embedkit train ner -m bge-small-zh-v1.5 --data part1.bio --data part2.bio --val-last 1000 \\
    --sample 6000 --out ner-zh/

A progress bar shows the embedding pass (cached in --cache-dir, so reruns skip it) and each
epoch with its loss and validation F1. The saved folder records the encoder model id; use it
with \`embedkit ner --tagger <dir> "text"\`.

Character taggers predict BIOES by default (explicit end tags; +4.9 F1 on an MSRA dev split).
--outside-penalty tune tries 0, 0.25, …, 3 on the validation split after training and keeps the
best: a tagger that misses entities gains recall from it.`,
    )
    .action(async (options: TrainNerOptions) => {
      await run(options);
    });
}
