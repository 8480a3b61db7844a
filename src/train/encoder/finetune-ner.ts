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
 * The task-specific parts (alignment, head, loss, decoding, validation) are
 * separate functions; the loop around them (optimizer, schedule, clipping,
 * early stopping, best-epoch restore) follows `finetune-classifier`.
 */
import { loadTextTokenizer, type TextTokenizer } from "../../embed/onnx/text-tokenizer.js";
import { sentencePieces, windowSequences } from "../../embed/onnx/word-pieces.js";
import { EmbedkitError } from "../../errors.js";
import { type EntityF1Report, entityF1 } from "../../eval/entity-f1.js";
import { checkInteger, checkNumber } from "../../internal/options.js";
import type { ModelStore } from "../../models/index.js";
import type { TaggingUnit } from "../../ner/ner-words.js";
import type { TaggedCorpus } from "../../ner/readers.js";
import { convertTags, type TagScheme, tagSet, tagsToSpans } from "../../ner/tag-scheme.js";
import { decodeFeatures, type TaggedOutput, type Tagger } from "../../ner/tagger.js";
import { buildTransitions } from "../../ner/viterbi.js";
import { createRandom } from "../../vectors/random.js";
import { applyLengthPolicy, checkValidationLabels } from "../finetune/data.js";
import { assertBatchFitsMemory, type TrainingMemoryConfig } from "../finetune/memory.js";
import { createMlp, type Layer } from "../layers.js";
import { softmaxCrossEntropy } from "../losses.js";
import { createOptimizer, type OptimizerOptions } from "../optimizers.js";
import { zeroGradients } from "../parameter.js";
import { createSchedule } from "../schedules.js";
import { createTensor } from "../tensor.js";
import type { EarlyStoppingOptions, EpochReport, TrainScheduleOptions } from "../train-model.js";
import { restoreParameters, snapshotParameters } from "../train-model.js";
import { clipGradientNorm } from "./finetune-classifier.js";
import { readOnnxBert } from "./onnx-bert.js";
import { createTrainableEncoder, type TokenBatch, type TrainableEncoder } from "./sidecar.js";

/** Labelled sentences and the scheme of their tags (a `TaggedCorpus`, or `readTokenTagFile`'s data with its scheme). */
export type NerCorpus = Pick<TaggedCorpus, "sentences" | "scheme">;

/** Options of {@link finetuneNer}. */
export interface FinetuneNerOptions {
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
  /** Optimizer. @default AdamW, learning rate 5e-5, weight decay 0.01 */
  readonly optimizer?: OptimizerOptions;
  /** Schedule. @default linear decay with 10 % warmup */
  readonly schedule?: TrainScheduleOptions;
  /** @default 3 */
  readonly epochs?: number;
  /** Sentences per step. @default 16 */
  readonly batchSize?: number;
  /** Dropout in the encoder and before the head. @default 0.1 */
  readonly dropout?: number;
  /** Clip the global gradient norm (0 = off). @default 1 */
  readonly clipNorm?: number;
  /** Seed of shuffling, head initialisation and dropout. @default 42 */
  readonly seed?: number;
  /** Stop when validation F1 stops improving (the best epoch's weights are kept). */
  readonly earlyStopping?: EarlyStoppingOptions;
  /** Pre-split sentences whose tags are reported before and after training. */
  readonly probes?: ReadonlyArray<readonly string[]>;
  /** Memory the run may use, in bytes (a batch size that does not fit is refused). @default free memory */
  readonly availableMemory?: number;
  /** Where the Python environment lives. @default EMBEDKIT_HOME */
  readonly home?: string;
  readonly onEpoch?: (report: EpochReport) => void;
  readonly onBatch?: (done: number, total: number, loss: number) => void;
  readonly onLog?: (line: string) => void;
}

/** Result of {@link finetuneNer}. */
export interface FinetuneNerResult {
  /**
   * The tag head with its settings (`settings.modelId` = the base id): save it with `saveTagger`
   * after replacing `settings.modelId` by the exported encoder's id.
   */
  readonly tagger: Tagger;
  /** Trained encoder weights by ONNX initializer name (for `exportFinetunedEncoder`). */
  readonly encoderWeights: Map<string, Float32Array>;
  readonly history: readonly EpochReport[];
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  readonly steps: number;
  /** Training tokens (real, unpadded) per second of training time. */
  readonly tokensPerSecond: number;
  /** Wall-clock seconds per epoch (training + validation). */
  readonly epochSeconds: readonly number[];
  /** Training sentences cut to `maxTokens`. */
  readonly truncated: number;
  /** Entity scores on the validation corpus with the kept weights. */
  readonly validation?: EntityF1Report;
  readonly probes?: { readonly before: readonly TaggedOutput[]; readonly after: readonly TaggedOutput[] };
}

/** Sequence lengths are padded to a multiple of this (few compiled shapes in the engine). */
const TOKEN_BUCKET = 16;

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

/** A padded `[fill × tokens]` batch of id rows (rows after `rows.length` are all padding). */
function tokenBatch(rows: readonly (readonly number[])[], fill: number, limit: number): TokenBatch {
  const longest = Math.max(...rows.map((row) => row.length));
  const tokens = Math.min(limit, Math.ceil(longest / TOKEN_BUCKET) * TOKEN_BUCKET);
  const size = fill * tokens;
  const inputIds = new Int32Array(size);
  const attentionMask = new Int32Array(size);
  rows.forEach((row, r) => {
    row.forEach((id, t) => {
      inputIds[r * tokens + t] = id;
      attentionMask[r * tokens + t] = 1;
    });
  });
  return { batch: fill, tokens, inputIds, attentionMask, tokenTypeIds: new Int32Array(size) };
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
  random: ReturnType<typeof createRandom>,
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
 * first in padded batches, then head + constrained Viterbi (`decodeFeatures`).
 */
export async function tagWithEncoder(
  encoder: Pick<TrainableEncoder, "forward">,
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
    const batch = tokenBatch(
      chunk.map((window) => window.ids),
      batchSize,
      modelMaxTokens,
    );
    const output = await encoder.forward(batch, { output: "tokens" });
    chunk.forEach((window, r) => {
      const out = vectors[window.sentence] as Float32Array;
      for (const [word, row] of window.reads) {
        const offset = (r * batch.tokens + row) * hidden;
        out.set(output.subarray(offset, offset + hidden), word * hidden);
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
  const seed = checkInteger("seed", options.seed ?? 42, { min: 0 });
  const epochs = checkInteger("epochs", options.epochs ?? 3, { min: 1, max: 1000 });
  const batchSize = checkInteger("batchSize", options.batchSize ?? 16, { min: 1, max: 1024 });
  const dropout = checkNumber("dropout", options.dropout ?? 0.1, { min: 0, max: 0.9 });
  const clipNorm = checkNumber("clipNorm", options.clipNorm ?? 1, { min: 0 });

  const store = options.store;
  const spec = await store.resolve(options.model ?? "all-minilm-l6-v2");
  const maxTokens = checkInteger("maxTokens", options.maxTokens ?? spec.maxTokens, {
    min: 4,
    max: spec.maxTokens,
  });
  const pulled = await store.ensure(spec);
  const tokenizer = await loadTextTokenizer(pulled.path("tokenizer"), spec.maxTokens);
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
  const random = createRandom(seed);
  // The frozen-feature tagger's head builder (dropout + Linear), so `loadTagger` reads it.
  const head = createMlp({ inputs: hidden, outputs: tags.length, dropout, random });
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
  const optimizerOptions = options.optimizer ?? { name: "adamw", learningRate: 5e-5, weightDecay: 0.01 };
  // Refuse a batch size that would run the machine out of memory before the engine starts.
  const longest = Math.max(...sequences.map((sequence) => sequence.ids.length));
  let params = head.parameters().reduce((sum, parameter) => sum + parameter.value.length, 0);
  for (const weight of bert.weights.values()) params += weight.values.length;
  const memory: TrainingMemoryConfig = {
    params,
    batch: batchSize,
    seqLen: Math.min(maxTokens, Math.ceil(longest / TOKEN_BUCKET) * TOKEN_BUCKET),
    layers: bert.config.layers,
    hidden,
    heads: bert.config.heads,
    optimizer:
      optimizerOptions.name === "adamax"
        ? "adam"
        : optimizerOptions.name === "sgd"
          ? (optimizerOptions.momentum ?? 0) > 0
            ? "sgd-momentum"
            : "sgd"
          : optimizerOptions.name,
  };
  if (options.availableMemory === undefined) assertBatchFitsMemory(memory);
  else assertBatchFitsMemory(memory, options.availableMemory);

  const encoder = await createTrainableEncoder({
    bert,
    ...(options.home === undefined ? {} : { home: options.home }),
    ...(options.onLog === undefined ? {} : { onLog: options.onLog }),
  });
  try {
    const tagOptions = { special, modelMaxTokens: spec.maxTokens, batchSize };
    const evaluate = async (): Promise<EntityF1Report | undefined> =>
      options.validation === undefined
        ? undefined
        : scoreTags(
            validationTags,
            await tagWithEncoder(encoder, tagger, validationPieces, tagOptions),
            scheme,
          );
    const predictProbes = async (): Promise<TaggedOutput[]> =>
      probePieces.length === 0 ? [] : tagWithEncoder(encoder, tagger, probePieces, tagOptions);

    const parameters = [...encoder.parameters, ...head.parameters()];
    const optimizer = createOptimizer(parameters, optimizerOptions);
    const batchesPerEpoch = Math.ceil(sequences.length / batchSize);
    const totalSteps = batchesPerEpoch * epochs;
    const scheduleOptions = options.schedule ?? { name: "linear", warmup: 0.1 };
    const warmup = scheduleOptions.warmup ?? 0;
    const schedule = createSchedule({
      name: scheduleOptions.name ?? "constant",
      learningRate: optimizer.learningRate,
      totalSteps,
      warmupSteps: Math.min(totalSteps, warmup < 1 ? Math.round(warmup * totalSteps) : Math.round(warmup)),
      ...(scheduleOptions.minLearningRate === undefined
        ? {}
        : { minLearningRate: scheduleOptions.minLearningRate }),
      ...(scheduleOptions.gamma === undefined ? {} : { gamma: scheduleOptions.gamma }),
    });
    const patience = options.earlyStopping?.patience;
    const minDelta = options.earlyStopping?.minDelta ?? 0;
    const order = Array.from({ length: sequences.length }, (_, index) => index);
    const history: EpochReport[] = [];
    const epochSeconds: number[] = [];
    let best: { report: EntityF1Report; epoch: number; snapshot: Float32Array[] } | undefined;
    let sinceBest = 0;
    let stoppedEarly = false;
    let step = 0;
    let trainingMs = 0;
    let trainedTokens = 0;
    const before = await predictProbes();
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      const shuffled = createRandom(seed + epoch * 104_729).shuffle(order);
      let lossSum = 0;
      let lossRows = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        const batchSequences = shuffled
          .slice(b * batchSize, (b + 1) * batchSize)
          .map((index) => sequences[index] as NerTrainingSequence);
        trainedTokens += batchSequences.reduce((sum, sequence) => sum + sequence.ids.length, 0);
        zeroGradients(parameters);
        const batch = tokenBatch(
          batchSequences.map((sequence) => sequence.ids),
          batchSize,
          maxTokens,
        );
        const output = await encoder.forward(batch, {
          output: "tokens",
          training: true,
          dropout,
          seed: seed * 1_000_003 + step,
        });
        const result = tokenClassificationLoss(
          head,
          batchSequences,
          output,
          { batch: batchSize, tokens: batch.tokens, hidden },
          createRandom(seed * 1_000_003 + step + 1),
        );
        if (!Number.isFinite(result.loss)) {
          throw new EmbedkitError(
            "INVALID_INPUT",
            `The training loss became ${String(result.loss)} at epoch ${epoch}, batch ${b + 1}: lower the learning rate.`,
            { details: { epoch, batch: b + 1, learningRate: optimizer.learningRate } },
          );
        }
        await encoder.backward(result.gradOutput);
        clipGradientNorm(parameters, clipNorm);
        optimizer.learningRate = schedule(step);
        optimizer.step();
        await encoder.sync();
        step++;
        const labelled = batchSequences.reduce((sum, sequence) => sum + sequence.rows.length, 0);
        lossSum += result.loss * labelled;
        lossRows += labelled;
        options.onBatch?.(b + 1, batchesPerEpoch, result.loss);
      }
      trainingMs += performance.now() - started;
      const validation = await evaluate();
      let isBest = validation === undefined;
      if (validation !== undefined) {
        if (best === undefined || validation.micro.f1 > best.report.micro.f1 + minDelta) {
          best = { report: validation, epoch, snapshot: snapshotParameters(parameters) };
          sinceBest = 0;
          isBest = true;
        } else sinceBest++;
      }
      const report: EpochReport = {
        epoch,
        trainLoss: lossSum / Math.max(1, lossRows),
        ...(validation === undefined ? {} : { validationMetric: validation.micro.f1 }),
        learningRate: optimizer.learningRate,
        best: isBest,
        milliseconds: performance.now() - started,
      };
      history.push(report);
      epochSeconds.push(report.milliseconds / 1000);
      options.onEpoch?.(report);
      if (patience !== undefined && validation !== undefined && sinceBest >= patience) {
        stoppedEarly = epoch < epochs;
        break;
      }
    }
    let bestEpoch = history.length;
    if (best !== undefined) {
      restoreParameters(parameters, best.snapshot);
      await encoder.sync();
      bestEpoch = best.epoch;
    }
    const after = await predictProbes();
    return {
      tagger,
      encoderWeights: encoder.exportWeights(),
      history,
      bestEpoch,
      stoppedEarly,
      steps: step,
      tokensPerSecond: trainingMs > 0 ? (trainedTokens / trainingMs) * 1000 : 0,
      epochSeconds,
      truncated,
      ...(best === undefined ? {} : { validation: best.report }),
      ...(options.probes === undefined ? {} : { probes: { before, after } }),
    };
  } finally {
    await encoder.close();
  }
}
