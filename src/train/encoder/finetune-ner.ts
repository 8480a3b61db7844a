/**
 * @module train/encoder/finetune-ner
 * Token classification by fine-tuning the encoder itself (issue #22): a catalog
 * BERT encoder (its trainable copy in the JAX sidecar) returns the last hidden
 * state of every word piece; a tag head (`train`'s Linear, built by
 * `createMlp` as the frozen-feature tagger builds its own) reads the state of
 * each word's **first** piece (Chinese: each character's piece) and is trained
 * with token cross-entropy — later pieces of a word and padding are not
 * gathered, so they carry no loss. Decoding is the existing constrained
 * Viterbi of `ner/tagger` (`decodeFeatures`) over the head's
 * log-probabilities, and validation is `eval`'s entity micro-F1.
 *
 * The result is a `ner` {@link Tagger} without extra features (no shape bits,
 * lexicon, dictionary or n-grams; constraints-only Viterbi), so `saveTagger`
 * writes it in the format `embedkit ner --tagger` reads: the tagger runs the
 * exported encoder's `embedWords` (first piece, windows over long sentences)
 * through the same head and decoder. Training and validation build their
 * encoder inputs with the same helpers as `embedWords` (`sentencePieces`,
 * `windowSequences`), so the exported tagger returns the in-memory tags.
 *
 * The task ({@link createNerTask}: alignment, head, loss, decoding,
 * validation) runs on the generic loop of `training-loop.ts` (optimizer,
 * schedule, clipping, early stopping on entity F1, best-epoch restore,
 * checkpoints and resume).
 */
import type { TextTokenizer } from "../../embed/onnx/text-tokenizer.js";
import { sentencePieces, windowSequences } from "../../embed/onnx/word-pieces.js";
import { EmbedkitError } from "../../errors.js";
import { type EntityF1Report, entityF1 } from "../../eval/entity-f1.js";
import type { ModelStore } from "../../models/index.js";
import type { TaggingUnit } from "../../ner/ner-words.js";
import type { TaggedCorpus } from "../../ner/readers.js";
import { convertTags, type TagScheme, tagSet, tagsToSpans } from "../../ner/tag-scheme.js";
import { decodeFeatures, type TaggedOutput, type Tagger } from "../../ner/tagger.js";
import { buildTransitions } from "../../ner/viterbi.js";
import { createRandom, type Random } from "../../vectors/random.js";
import { applyLengthPolicy, checkValidationLabels } from "../finetune/data.js";
import { createMlp, type Layer } from "../layers.js";
import { softmaxCrossEntropy } from "../losses.js";
import { createTensor } from "../tensor.js";
import { openBaseModel } from "./base-model.js";
import { readOnnxBert } from "./onnx-bert.js";
import {
  checkTrainingLoopSettings,
  type EncodeRows,
  type FinetuneRunResult,
  type FinetuneTask,
  finetuneRunResult,
  runTrainingLoop,
  type TrainingLoopSettings,
} from "./training-loop.js";

/** Labelled sentences and the scheme of their tags (a `TaggedCorpus`, or `readTokenTagFile`'s data with its scheme). */
export type NerCorpus = Pick<TaggedCorpus, "sentences" | "scheme">;

/**
 * Options of {@link finetuneNer}: the data and the task's settings, plus the loop's
 * ({@link TrainingLoopSettings}: optimizer — default AdamW, learning rate 5e-5, weight decay
 * 0.01 —, schedule, epochs, batch size in sentences, dropout, clipping, seed, checkpoints and
 * resume, early stopping on validation entity F1, memory, callbacks).
 */
export interface FinetuneNerOptions extends TrainingLoopSettings {
  /** Model store holding the base encoder. */
  readonly store: ModelStore;
  /** Catalog id of the base encoder. @default "all-minilm-l6-v2" */
  readonly model?: string;
  /** Training sentences (`ner/readers` or `train/finetune`'s `readTokenTagFile`). */
  readonly train: NerCorpus;
  /** Validation sentences: pick the best epoch by entity micro-F1 (and stop early). */
  readonly validation?: NerCorpus;
  /** File of the training sentences, for messages. @default "training data" */
  readonly dataPath?: string;
  /** File of the validation sentences, for messages. @default "validation data" */
  readonly validationPath?: string;
  /** What a tag labels: CoNLL-style words, or characters (Chinese). @default "word" */
  readonly unit?: TaggingUnit;
  /** Scheme the head predicts. @default "bioes" for characters, else the training corpus' scheme */
  readonly scheme?: TagScheme;
  /**
   * Longest training sequence in tokens (with [CLS]/[SEP]); at most the model's limit. Validation
   * and tagging never cut: they cover long sentences with windows, as `embedWords` does.
   * @default the model's limit
   */
  readonly maxTokens?: number;
  /**
   * Longer training sentences: cut (words past the cut carry no loss; one warning through
   * `onLog`) or refused with INPUT_TOO_LONG naming `file:line` (`applyLengthPolicy`). @default "truncate"
   */
  readonly onLong?: "truncate" | "refuse";
  /** Pre-split sentences whose tags are reported before and after training. */
  readonly probes?: ReadonlyArray<readonly string[]>;
}

/** Result of {@link finetuneNer} (the run's fields: {@link FinetuneRunResult}; `truncated` counts sentences). */
export interface FinetuneNerResult extends FinetuneRunResult {
  /**
   * The tag head with its settings (`settings.modelId` = the base id): save it with `saveTagger`
   * after replacing `settings.modelId` by the exported encoder's id.
   */
  readonly tagger: Tagger;
  /** Entity scores on the validation corpus with the kept weights. */
  readonly validation?: EntityF1Report;
  readonly probes?: { readonly before: readonly TaggedOutput[]; readonly after: readonly TaggedOutput[] };
}

/** One training sentence as the encoder sees it. */
export interface NerTrainingSequence {
  /** Token ids with the special tokens, at most `maxTokens`. */
  readonly ids: readonly number[];
  /** Row (position in `ids`) of the first piece of each word that fits. */
  readonly rows: readonly number[];
  /** Tag index of each of those words. */
  readonly targets: readonly number[];
  /** Whether words were cut off. */
  readonly truncated: boolean;
}

/**
 * Align one pre-split sentence with its word pieces for training: the special
 * tokens around the pieces of every word, cut at `maxTokens`; each word is
 * labelled at its first piece (a word whose first piece is cut carries no loss).
 */
export function alignTrainingSentence(
  pieces: readonly (readonly number[])[],
  targets: readonly number[],
  special: TextTokenizer["special"],
  maxTokens: number,
): NerTrainingSequence {
  const room = maxTokens - special.leading.length - special.trailing.length;
  const ids = [...special.leading];
  const rows: number[] = [];
  const kept: number[] = [];
  let truncated = false;
  pieces.forEach((wordPieces, word) => {
    const space = room - (ids.length - special.leading.length);
    if (space <= 0) {
      truncated = true;
      return;
    }
    if (wordPieces.length > space) truncated = true;
    rows.push(ids.length);
    kept.push(targets[word] as number);
    ids.push(...wordPieces.slice(0, space));
  });
  ids.push(...special.trailing);
  return { ids, rows, targets: kept, truncated };
}

/**
 * Token cross-entropy of a batch: gathers the first-piece states of the
 * labelled words from the encoder's `[batch, tokens, hidden]` output, runs the
 * head, and scatters the gradient back to those rows (zero elsewhere).
 */
export function tokenClassificationLoss(
  head: Layer,
  sequences: readonly NerTrainingSequence[],
  output: Float32Array,
  shape: { readonly batch: number; readonly tokens: number; readonly hidden: number },
  random: Random,
): { loss: number; gradOutput: Float32Array } {
  const { tokens, hidden } = shape;
  const count = sequences.reduce((sum, sequence) => sum + sequence.rows.length, 0);
  const features = new Float32Array(count * hidden);
  const offsets: number[] = [];
  const targets: number[] = [];
  sequences.forEach((sequence, r) => {
    sequence.rows.forEach((row, index) => {
      const offset = (r * tokens + row) * hidden;
      features.set(output.subarray(offset, offset + hidden), offsets.length * hidden);
      offsets.push(offset);
      targets.push(sequence.targets[index] as number);
    });
  });
  const logits = head.forward(createTensor([count, hidden], features), { training: true, random });
  const result = softmaxCrossEntropy(logits, targets);
  const grad = head.backward(result.grad, { inputGradient: true });
  const gradOutput = new Float32Array(shape.batch * tokens * hidden);
  offsets.forEach((offset, n) => {
    gradOutput.set(grad.data.subarray(n * hidden, (n + 1) * hidden), offset);
  });
  return { loss: result.loss, gradOutput };
}

/**
 * Tag pre-split sentences with the encoder being trained and a tagger: the
 * sentences go through the encoder as `embedWords` sends them (windows under
 * the model's limit, each word read from one window, first piece), longest
 * first in chunks of `batchSize` rows, then head + constrained Viterbi (`decodeFeatures`).
 */
export async function tagWithEncoder(
  encode: EncodeRows,
  tagger: Tagger,
  pieces: readonly (readonly (readonly number[])[])[],
  options: {
    readonly special: TextTokenizer["special"];
    readonly modelMaxTokens: number;
    readonly batchSize: number;
  },
): Promise<TaggedOutput[]> {
  const { special, modelMaxTokens, batchSize } = options;
  const hidden = tagger.settings.dims;
  const maxPieces = modelMaxTokens - special.leading.length - special.trailing.length;
  const stride = Math.max(1, Math.floor(maxPieces / 2));
  const vectors = pieces.map((words) => new Float32Array(words.length * hidden));
  const windows = pieces.flatMap((words, sentence) =>
    words.length === 0
      ? []
      : windowSequences(words, special, maxPieces, stride).map((window) => ({ ...window, sentence })),
  );
  windows.sort((a, b) => b.ids.length - a.ids.length);
  for (let start = 0; start < windows.length; start += batchSize) {
    const chunk = windows.slice(start, start + batchSize);
    const { data, shape } = await encode(chunk.map((window) => window.ids));
    const tokens = shape[1] as number;
    chunk.forEach((window, r) => {
      const out = vectors[window.sentence] as Float32Array;
      for (const [word, row] of window.reads) {
        const offset = (r * tokens + row) * hidden;
        out.set(data.subarray(offset, offset + hidden), word * hidden);
      }
    });
  }
  return pieces.map((words, sentence) =>
    decodeFeatures(tagger, vectors[sentence] as Float32Array, words.length),
  );
}

/** Gold tags of a corpus in `scheme`. */
function tagsIn(corpus: NerCorpus, scheme: TagScheme): string[][] {
  return corpus.sentences.map((sentence) =>
    corpus.scheme === scheme ? [...sentence.tags] : convertTags(sentence.tags, corpus.scheme, scheme),
  );
}

/** Entity micro-F1 report of predicted tags against gold tags (both in `scheme`). */
export function scoreTags(
  gold: readonly (readonly string[])[],
  predicted: readonly TaggedOutput[],
  scheme: TagScheme,
): EntityF1Report {
  return entityF1(
    gold.map((tags) => tagsToSpans(tags, scheme)),
    predicted.map((output) => tagsToSpans(output.tags, scheme)),
  );
}

/** Options of {@link createNerTask}. */
export interface NerTaskOptions {
  /** Head, tags and decoding settings (`settings.dims` = the encoder's hidden size). */
  readonly tagger: Tagger;
  /** The tokenizer's special tokens and the model's limit (for validation windows). */
  readonly special: TextTokenizer["special"];
  readonly modelMaxTokens: number;
  /** Rows per encoder call when tagging. */
  readonly batchSize: number;
  /** Validation sentences as word pieces, with their gold tags in the tagger's scheme. */
  readonly validation?: {
    readonly pieces: readonly (readonly (readonly number[])[])[];
    readonly tags: readonly (readonly string[])[];
  };
  /** Probe sentences as word pieces: tagged before and after training. */
  readonly probes?: readonly (readonly (readonly number[])[])[];
}

/** The token-classification task and what it measured. */
export interface NerTask extends FinetuneTask<NerTrainingSequence> {
  /** Tags of the probes before and after training (after the run). */
  readonly probes: { before: TaggedOutput[]; after: TaggedOutput[] };
}

/**
 * Token classification as a task of the generic fine-tuning loop: token states
 * in, the head's token cross-entropy out; validated by entity micro-F1 of
 * constrained Viterbi decoding (details: the whole `EntityF1Report` as `report`).
 */
export function createNerTask(options: NerTaskOptions): NerTask {
  const { tagger } = options;
  const { head } = tagger;
  const tagOptions = {
    special: options.special,
    modelMaxTokens: options.modelMaxTokens,
    batchSize: options.batchSize,
  };
  const probes = { before: [] as TaggedOutput[], after: [] as TaggedOutput[] };
  const tagProbes = async (encode: EncodeRows): Promise<TaggedOutput[]> =>
    options.probes === undefined || options.probes.length === 0
      ? []
      : tagWithEncoder(encode, tagger, options.probes, tagOptions);
  const tags = tagger.settings.tags;
  return {
    output: "tokens",
    headParameters: head.parameters(),
    probes,
    sequences: (example) => [example.ids],
    loss: (examples, output, shape, context) =>
      tokenClassificationLoss(
        head,
        examples,
        output,
        { batch: shape[0] as number, tokens: shape[1] as number, hidden: shape[2] as number },
        context.random,
      ),
    async validate(encode) {
      const validation = options.validation;
      if (validation === undefined) return undefined;
      const report = scoreTags(
        validation.tags,
        await tagWithEncoder(encode, tagger, validation.pieces, tagOptions),
        tagger.settings.scheme,
      );
      return { metric: report.micro.f1, details: { report } };
    },
    async start(encode) {
      probes.before = await tagProbes(encode);
    },
    async finish(encode) {
      probes.after = await tagProbes(encode);
    },
    checkpointState: () => ({ tags: [...tags] }),
    restoreState(state, path) {
      if (JSON.stringify(state.tags) !== JSON.stringify(tags)) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `Checkpoint ${path} was trained on tags ${JSON.stringify(state.tags)}, not ${JSON.stringify(tags)}: resume with the same data, or use another checkpoint folder.`,
          { details: { path } },
        );
      }
    },
  };
}

function checkCorpus(corpus: NerCorpus, what: string): void {
  if (corpus === undefined || !Array.isArray(corpus.sentences) || corpus.sentences.length === 0) {
    throw new EmbedkitError("INVALID_INPUT", `${what} has no sentences.`);
  }
  corpus.sentences.forEach((sentence, index) => {
    if (sentence.words.length === 0 || sentence.words.length !== sentence.tags.length) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${what}: sentence ${index + 1} (line ${sentence.line}) needs one tag per word, received ${sentence.words.length} words and ${sentence.tags.length} tags.`,
        { details: { line: sentence.line } },
      );
    }
    if (sentence.words.some((word: unknown) => typeof word !== "string" || word.trim() === "")) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${what}: sentence at line ${sentence.line} has an empty word.`,
        { details: { line: sentence.line } },
      );
    }
  });
}

/**
 * Fine-tune a catalog encoder and a tag head on labelled sentences (CoNLL words
 * or characters), picking the epoch by validation entity F1.
 *
 * @throws EmbedkitError INVALID_INPUT (no sentences, no entities, validation tags
 *   unseen in training naming `file:line`, a non-finite loss), INPUT_TOO_LONG
 *   (`onLong: "refuse"`, naming `file:line`), INVALID_OPTION (settings; a batch size
 *   whose estimated memory does not fit), DEPENDENCY_MISSING (no Python for the engine)
 * @example
 * ```ts
 * const train = await readTaggedFile("train.txt");
 * const validation = await readTaggedFile("valid.txt");
 * const result = await finetuneNer({ store: createModelStore(), train, validation, epochs: 3 });
 * const encoder = await exportFinetunedEncoder({ base: "all-minilm-l6-v2", weights: result.encoderWeights,
 *   task: "ner", dataSha256, outDir: "ner-ft/encoder" });
 * await saveTagger("ner-ft", { ...result.tagger, settings: { ...result.tagger.settings, modelId: encoder.modelId } });
 * // embedkit ner --tagger ner-ft/ "Angela Merkel visited Paris."
 * ```
 */
export async function finetuneNer(options: FinetuneNerOptions): Promise<FinetuneNerResult> {
  const dataPath = options.dataPath ?? "training data";
  const validationPath = options.validationPath ?? "validation data";
  checkCorpus(options.train, dataPath);
  if (options.validation !== undefined) checkCorpus(options.validation, validationPath);
  const unit = options.unit ?? "word";
  if (unit !== "word" && unit !== "character") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `unit must be "word" or "character", received ${JSON.stringify(unit)}.`,
      { details: { option: "unit" } },
    );
  }
  const scheme = options.scheme ?? (unit === "character" ? "bioes" : options.train.scheme);
  if (scheme !== "bio" && scheme !== "bioes") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `scheme must be "bio" or "bioes", received ${JSON.stringify(scheme)}.`,
      { details: { option: "scheme" } },
    );
  }
  const trainTags = tagsIn(options.train, scheme);
  const types = [...new Set(trainTags.flat().filter((tag) => tag !== "O"))].map((tag) => tag.slice(2));
  if (types.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${dataPath} has no entities: every tag is "O", so there is nothing to learn.`,
      { details: { path: dataPath } },
    );
  }
  const tags = tagSet(types, scheme);
  const validationTags = options.validation === undefined ? [] : tagsIn(options.validation, scheme);
  if (options.validation !== undefined) {
    checkValidationLabels(tags, {
      path: validationPath,
      rows: options.validation.sentences.flatMap((sentence, index) =>
        (validationTags[index] as string[]).map((label, word) => ({ label, line: sentence.line + word })),
      ),
    });
  }
  const { seed, batchSize, dropout } = checkTrainingLoopSettings(options);
  const { spec, pulled, maxTokens, tokenizer } = await openBaseModel(options, {
    maxTokens: (limit) => limit,
    tokenizerLimit: "model",
  });
  const special = tokenizer.special;
  const trainPieces = sentencePieces(
    tokenizer,
    options.train.sentences.map((sentence) => sentence.words),
  );
  const validationPieces =
    options.validation === undefined
      ? []
      : sentencePieces(
          tokenizer,
          options.validation.sentences.map((sentence) => sentence.words),
        );
  const probePieces = options.probes === undefined ? [] : sentencePieces(tokenizer, options.probes);
  // Length policy before any training: a long sentence fails the call up front (refuse) or is counted.
  const pieceCount = (words: readonly (readonly number[])[]): number =>
    words.reduce((sum, pieces) => sum + pieces.length, 0);
  const specialCount = special.leading.length + special.trailing.length;
  await applyLengthPolicy(
    options.train.sentences.map((sentence) => ({ text: sentence.words.join(" "), line: sentence.line })),
    {
      maxTokens,
      countTokens: async () => trainPieces.map(pieceCount),
      specialTokens: specialCount,
      onLong: options.onLong ?? "truncate",
      path: dataPath,
      ...(options.onLog === undefined ? {} : { onWarning: options.onLog }),
    },
  );
  const tagIndex = new Map(tags.map((tag, index) => [tag, index]));
  const sequences = trainPieces.map((pieces, index) =>
    alignTrainingSentence(
      pieces,
      (trainTags[index] as string[]).map((tag) => tagIndex.get(tag) as number),
      special,
      maxTokens,
    ),
  );
  const truncated = sequences.filter((sequence) => sequence.truncated).length;

  const bert = await readOnnxBert(pulled.path("onnx"));
  const hidden = bert.config.hidden;
  // The frozen-feature tagger's head builder (dropout + Linear), so `loadTagger` reads it.
  const head: Layer = createMlp({
    inputs: hidden,
    outputs: tags.length,
    dropout,
    random: createRandom(seed),
  });
  const tagger: Tagger = {
    settings: {
      modelId: spec.id,
      dims: hidden,
      scheme,
      unit,
      tags,
      pooling: "first",
      shapeFeatures: false,
      lexicon: false,
      dictionary: false,
      transitionWeight: 0,
      ngramBuckets: 0,
      outsidePenalty: 0,
    },
    head,
    transitions: buildTransitions(tags, scheme),
    transitionLogProbabilities: new Float32Array(tags.length * tags.length),
  };
  const task = createNerTask({
    tagger,
    special,
    modelMaxTokens: spec.maxTokens,
    batchSize,
    ...(options.validation === undefined
      ? {}
      : { validation: { pieces: validationPieces, tags: validationTags } }),
    ...(options.probes === undefined ? {} : { probes: probePieces }),
  });
  const { store: _store, train: _train, validation: _validation, probes: _probes, ...settings } = options;
  const result = await runTrainingLoop({
    ...settings,
    optimizer: options.optimizer ?? { name: "adamw", learningRate: 5e-5, weightDecay: 0.01 },
    bert,
    task,
    examples: sequences,
    // Validation windows may be as long as the model allows; training rows are at most `maxTokens`.
    maxTokens: spec.maxTokens,
  });
  const report = result.best?.details?.report as EntityF1Report | undefined;
  return {
    tagger,
    ...finetuneRunResult(result, truncated),
    ...(report === undefined ? {} : { validation: report }),
    ...(options.probes === undefined ? {} : { probes: task.probes }),
  };
}
