/**
 * @module train/encoder/finetune-embeddings
 * Contrastive fine-tuning of a catalog encoder's sentence-embedding space
 * (issue #22): the trainable copy of the encoder (JAX sidecar) pools each text
 * the way the model's embedder does (CLS for bge, mean for MiniLM/e5), the
 * vectors are L2-normalized inside the training graph, and the loss is
 * MultipleNegativesRanking (in-batch negatives, optional hard negatives) for
 * `anchor,positive[,negative]` pairs or CoSENT for `text1,text2,score` pairs
 * (`embedding-losses.ts`). Query/passage prefixes are applied with the
 * embedder's own `applyPrefix` (anchors as queries, positives and negatives as
 * passages by default), so the exported model (`exportFinetunedEncoder`, task
 * `embeddings`) served by `embed` returns the trained vectors.
 *
 * Everything around the gradients is `train`'s: optimizers, LR schedules with
 * warmup, seeded shuffling, global-norm clipping (`clipGradientNorm`), early
 * stopping on the validation metric (held-out MRR for pairs, Spearman for
 * scored pairs) with the best epoch's weights restored, `train/finetune`'s
 * length policy, memory check and checkpoints.
 */

import type { InputType } from "../../embed/embedder.js";
import { applyPrefix } from "../../embed/inputs.js";
import { loadTextTokenizer } from "../../embed/onnx/text-tokenizer.js";
import { EmbedkitError } from "../../errors.js";
import { spearman } from "../../eval/metrics.js";
import { checkInteger, checkNumber } from "../../internal/options.js";
import type { ModelStore } from "../../models/index.js";
import { createRandom } from "../../vectors/random.js";
import { loadLatestCheckpoint, saveTrainingCheckpoint } from "../finetune/checkpoints.js";
import { applyLengthPolicy, type ScoredPair, type TextPair } from "../finetune/data.js";
import { assertBatchFitsMemory, type TrainingMemoryConfig } from "../finetune/memory.js";
import { createOptimizer, type OptimizerOptions } from "../optimizers.js";
import { zeroGradients } from "../parameter.js";
import { createSchedule } from "../schedules.js";
import type { EarlyStoppingOptions, EpochReport, TrainScheduleOptions } from "../train-model.js";
import { restoreParameters, snapshotParameters } from "../train-model.js";
import {
  cosentLoss,
  DEFAULT_SIMILARITY_SCALE,
  multipleNegativesRankingLoss,
  normalizeRows,
  normalizeRowsBackward,
  pairRetrievalScores,
} from "./embedding-losses.js";
import { clipGradientNorm } from "./finetune-classifier.js";
import { readOnnxBert } from "./onnx-bert.js";
import { createTrainableEncoder, type TokenBatch, type TrainableEncoder } from "./sidecar.js";

/** Training pairs: `anchor,positive[,negative]` (contrastive) or `text1,text2,score` (CoSENT). */
export type EmbeddingPairs =
  | { readonly kind: "pairs"; readonly pairs: readonly TextPair[]; readonly path?: string }
  | { readonly kind: "scored"; readonly pairs: readonly ScoredPair[]; readonly path?: string };

/** Loss of {@link finetuneEmbeddings}: in-batch negatives or CoSENT. */
export type EmbeddingLoss = "mnrl" | "cosent";

/** Options of {@link finetuneEmbeddings}. */
export interface FinetuneEmbeddingsOptions {
  /** Model store holding the base encoder. */
  readonly store: ModelStore;
  /** Catalog id of the base encoder. @default "all-minilm-l6-v2" */
  readonly model?: string;
  /** Training pairs (what `readPairsFile` returns fits). */
  readonly data: EmbeddingPairs;
  /** Held-out pairs of the same kind; without them `validationSplit` of the training pairs are held out. */
  readonly validation?: EmbeddingPairs;
  /** Share of training pairs held out (seeded) when `validation` is not given (0 = none). @default 0.1 */
  readonly validationSplit?: number;
  /** `mnrl` (pairs) or `cosent` (scored pairs). @default by the data's kind */
  readonly loss?: EmbeddingLoss;
  /** Multiplier of the cosine similarities in the loss. @default 20 */
  readonly scale?: number;
  /**
   * How the first / second text of each pair is prefixed (the model's query/passage prefixes,
   * as `embed --input-type` applies them). @default pairs: "query" / "passage"; scored: "none" / "none"
   */
  readonly inputTypes?: { readonly first: InputType; readonly second: InputType };
  /** Longest sequence in tokens (with [CLS]/[SEP]); at most the model's limit. @default 128 */
  readonly maxTokens?: number;
  /** Longer texts: cut (one warning) or refused with INPUT_TOO_LONG naming `file:line`. @default "truncate" */
  readonly onLong?: "truncate" | "refuse";
  /** @default AdamW, learning rate 2e-5, weight decay 0.01 */
  readonly optimizer?: OptimizerOptions;
  /** @default linear decay with 10 % warmup */
  readonly schedule?: TrainScheduleOptions;
  /** Passes over the training pairs. @default 3 */
  readonly epochs?: number;
  /** Pairs per step (each step encodes 2 or 3 texts per pair). @default 16 */
  readonly batchSize?: number;
  /** Dropout inside the encoder. @default 0.1 */
  readonly dropout?: number;
  /** Clip the global gradient norm to this (0 = off). @default 1 */
  readonly clipNorm?: number;
  /** Seed of the split, shuffling and dropout. @default 42 */
  readonly seed?: number;
  /** Folder for training checkpoints (`train/finetune` format), written at each epoch end and every `checkpointEvery` steps. */
  readonly checkpointDir?: string;
  /** Steps between checkpoints (0 = only at epoch ends). @default 0 */
  readonly checkpointEvery?: number;
  /** Checkpoints kept. @default 3 */
  readonly checkpointKeep?: number;
  /** Continue from the newest intact checkpoint in `checkpointDir` (fresh start when there is none). */
  readonly resume?: boolean;
  /** Stop when the validation metric stops improving. */
  readonly earlyStopping?: EarlyStoppingOptions;
  /** Texts embedded (as given, no prefix) by the trained encoder at the end: `probeVectors`. */
  readonly probes?: readonly string[];
  /** Memory the run may use, in bytes (a batch size that does not fit is refused). @default free memory */
  readonly availableMemory?: number;
  /** Where the Python environment lives. @default EMBEDKIT_HOME */
  readonly home?: string;
  readonly onEpoch?: (report: EpochReport) => void;
  readonly onBatch?: (done: number, total: number, loss: number) => void;
  readonly onLog?: (line: string) => void;
}

/** Result of {@link finetuneEmbeddings}. */
export interface FinetuneEmbeddingsResult {
  /** Trained encoder weights by ONNX initializer name (for `exportFinetunedEncoder`). */
  readonly encoderWeights: Map<string, Float32Array>;
  readonly loss: EmbeddingLoss;
  /** Validation metric: held-out MRR (pairs) or Spearman's rho (scored pairs). */
  readonly metric: "mrr" | "spearman";
  readonly history: readonly EpochReport[];
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  readonly steps: number;
  /** Training tokens (real, unpadded) per second of training time. */
  readonly tokensPerSecond: number;
  readonly epochSeconds: readonly number[];
  /** Texts cut to `maxTokens`. */
  readonly truncated: number;
  /** Validation metric of the base model, before any step (undefined without validation). */
  readonly baseValidationMetric?: number;
  /** Validation metric of the kept weights. */
  readonly validationMetric?: number;
  /** Held-out top-1 accuracy of the kept weights (pairs). */
  readonly validationAccuracy?: number;
  /** Unit vectors of `probes` from the trained encoder (what `embed` of the export returns). */
  readonly probeVectors?: readonly Float32Array[];
}

const TOKEN_BUCKET = 16;
const INPUT_TYPES: readonly InputType[] = ["query", "passage", "none"];

function invalidInput(message: string, details: Record<string, unknown> = {}): EmbedkitError {
  return new EmbedkitError("INVALID_INPUT", message, { details });
}

function checkPairs(data: EmbeddingPairs, what: string): void {
  if (
    typeof data !== "object" ||
    data === null ||
    (data.kind !== "pairs" && data.kind !== "scored") ||
    !Array.isArray(data.pairs)
  ) {
    throw invalidInput(`${what}: expected { kind: "pairs" | "scored", pairs: [...] }.`);
  }
  if (data.pairs.length === 0) throw invalidInput(`${what} has no pairs.`);
  const where = (index: number, line: number | undefined) => `${data.path ?? what}:${line ?? index + 1}`;
  data.pairs.forEach((pair, index) => {
    const texts =
      data.kind === "pairs"
        ? [(pair as TextPair).anchor, (pair as TextPair).positive]
        : [(pair as ScoredPair).text1, (pair as ScoredPair).text2];
    if ((pair as TextPair).negative !== undefined) texts.push((pair as TextPair).negative as string);
    for (const text of texts)
      if (typeof text !== "string" || text.trim() === "")
        throw invalidInput(`${where(index, pair.line)}: a text of the pair is empty.`, { index });
    if (data.kind === "scored" && !Number.isFinite((pair as ScoredPair).score))
      throw invalidInput(`${where(index, pair.line)}: the score is not a finite number.`, { index });
  });
}

/** One training or validation example: token ids of its texts and what the loss needs. */
interface Example {
  readonly first: number[];
  readonly second: number[];
  readonly negative?: number[];
  readonly firstKey: string;
  readonly secondKey: string;
  readonly negativeKey?: string;
  readonly score: number;
  readonly tokens: number;
}

/**
 * Fine-tune a catalog encoder's embedding space on pairs (in-batch negatives) or scored pairs
 * (CoSENT).
 *
 * @throws EmbedkitError INVALID_INPUT (empty texts, too few pairs, constant validation scores,
 *   a non-finite loss, a checkpoint of other data), INPUT_TOO_LONG (`onLong: "refuse"`),
 *   INVALID_OPTION (settings; `mnrl` with batch size 1 and no hard negatives; a loss that does not
 *   fit the data; a batch size whose estimated memory does not fit), DEPENDENCY_MISSING (no Python)
 * @example
 * ```ts
 * const data = await readPairsFile("pairs.csv");
 * const result = await finetuneEmbeddings({ store: createModelStore(), data, epochs: 1 });
 * const exported = await exportFinetunedEncoder({ base: "all-minilm-l6-v2", weights: result.encoderWeights,
 *   task: "embeddings", dataSha256: data.sha256, metrics: { "validation.mrr": result.validationMetric ?? 0 },
 *   outDir: "my-model" });
 * const embedder = await createEmbedder({ model: exported.reference }); // dir:my-model
 * ```
 */
export async function finetuneEmbeddings(
  options: FinetuneEmbeddingsOptions,
): Promise<FinetuneEmbeddingsResult> {
  checkPairs(options.data, "Training data");
  if (options.validation !== undefined) {
    checkPairs(options.validation, "Validation data");
    if (options.validation.kind !== options.data.kind)
      throw invalidInput(
        `Validation pairs are "${options.validation.kind}" but training pairs are "${options.data.kind}": use the same columns in both files.`,
      );
  }
  const kind = options.data.kind;
  const loss: EmbeddingLoss = options.loss ?? (kind === "pairs" ? "mnrl" : "cosent");
  if (loss !== "mnrl" && loss !== "cosent")
    throw new EmbedkitError(
      "INVALID_OPTION",
      `loss must be "mnrl" or "cosent", received ${JSON.stringify(loss)}.`,
      {
        details: { option: "loss" },
      },
    );
  if ((loss === "mnrl") !== (kind === "pairs")) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      loss === "mnrl"
        ? `The mnrl loss needs anchor,positive[,negative] pairs; this file has scored pairs (text1,text2,score): use --loss cosent.`
        : `The cosent loss needs scored pairs (text1,text2,score); this file has anchor,positive pairs: use --loss mnrl.`,
      { details: { option: "loss" } },
    );
  }
  const seed = checkInteger("seed", options.seed ?? 42, { min: 0 });
  const epochs = checkInteger("epochs", options.epochs ?? 3, { min: 1, max: 1000 });
  const batchSize = checkInteger("batchSize", options.batchSize ?? 16, { min: 1, max: 1024 });
  const dropout = checkNumber("dropout", options.dropout ?? 0.1, { min: 0, max: 0.9 });
  const clipNorm = checkNumber("clipNorm", options.clipNorm ?? 1, { min: 0 });
  const scale = checkNumber("scale", options.scale ?? DEFAULT_SIMILARITY_SCALE, { min: 0.01, max: 1000 });
  const checkpointEvery = checkInteger("checkpointEvery", options.checkpointEvery ?? 0, { min: 0 });
  if (
    (options.resume === true || options.checkpointEvery !== undefined) &&
    options.checkpointDir === undefined
  ) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "resume and checkpointEvery need checkpointDir (the folder the checkpoints are written to).",
      { details: { option: "checkpointDir" } },
    );
  }
  const hasNegatives =
    kind === "pairs" &&
    (options.data.pairs as readonly TextPair[]).every((pair) => pair.negative !== undefined);
  if (loss === "mnrl" && batchSize < 2 && !hasNegatives) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "batchSize 1 leaves the in-batch negatives loss without negatives (each anchor's negatives are the other pairs' positives in its batch): use a batch size of at least 2 (16-64 is usual), or give every pair a hard negative.",
      { details: { option: "batchSize" } },
    );
  }
  const inputTypes =
    options.inputTypes ??
    (kind === "pairs" ? { first: "query", second: "passage" } : { first: "none", second: "none" });
  for (const type of [inputTypes.first, inputTypes.second])
    if (!INPUT_TYPES.includes(type))
      throw new EmbedkitError(
        "INVALID_OPTION",
        `inputTypes must be ${INPUT_TYPES.join(", ")}, received ${JSON.stringify(type)}.`,
        { details: { option: "inputTypes" } },
      );

  // Split (seeded) when no validation file is given.
  let trainPairs: readonly (TextPair | ScoredPair)[] = options.data.pairs;
  let validationPairs: readonly (TextPair | ScoredPair)[] = options.validation?.pairs ?? [];
  const dataPath = options.data.path ?? "training data";
  const validationPath =
    options.validation?.path ?? (options.validation === undefined ? dataPath : "validation data");
  if (options.validation === undefined) {
    const fraction = checkNumber("validationSplit", options.validationSplit ?? 0.1, { min: 0, max: 0.5 });
    const held = Math.round(options.data.pairs.length * fraction);
    if (held > 0) {
      const order = createRandom(seed).shuffle(options.data.pairs.map((_, index) => index));
      const heldOut = new Set(order.slice(0, held));
      trainPairs = options.data.pairs.filter((_, index) => !heldOut.has(index));
      validationPairs = options.data.pairs.filter((_, index) => heldOut.has(index));
    }
  }
  if (loss === "mnrl" && trainPairs.length < 2)
    throw invalidInput(
      `The in-batch negatives loss needs at least 2 training pairs, received ${trainPairs.length}${validationPairs.length > 0 && options.validation === undefined ? ` after holding out ${validationPairs.length} for validation` : ""}.`,
    );
  if (kind === "scored" && validationPairs.length > 0) {
    const scores = new Set(validationPairs.map((pair) => (pair as ScoredPair).score));
    if (validationPairs.length < 2 || scores.size < 2)
      throw invalidInput(
        `${validationPath}: the validation pairs need at least two different scores (Spearman's rho is undefined otherwise); received ${validationPairs.length} pair(s) with ${scores.size} distinct score(s).`,
      );
  }

  const store = options.store;
  const spec = await store.resolve(options.model ?? "all-minilm-l6-v2");
  const maxTokens = checkInteger("maxTokens", options.maxTokens ?? Math.min(128, spec.maxTokens), {
    min: 4,
    max: spec.maxTokens,
  });
  const pulled = await store.ensure(spec);
  const tokenizer = await loadTextTokenizer(pulled.path("tokenizer"), maxTokens);
  const prefix = (text: string, type: InputType) => applyPrefix(text, type, spec.prefixes);
  // Every text as the embedder sees it (prefixed), with its file line, for the length policy.
  const textsOf = (pairs: readonly (TextPair | ScoredPair)[]) =>
    pairs.flatMap((pair) => {
      const first = "anchor" in pair ? pair.anchor : pair.text1;
      const second = "anchor" in pair ? pair.positive : pair.text2;
      const texts = [
        { text: prefix(first, inputTypes.first), line: pair.line },
        { text: prefix(second, inputTypes.second), line: pair.line },
      ];
      if ("anchor" in pair && pair.negative !== undefined)
        texts.push({ text: prefix(pair.negative, inputTypes.second), line: pair.line });
      return texts;
    });
  const policy = {
    maxTokens,
    countTokens: async (texts: readonly string[]) => texts.map((text) => tokenizer.count(text)),
    onLong: options.onLong ?? "truncate",
    ...(options.onLog === undefined ? {} : { onWarning: options.onLog }),
  };
  await applyLengthPolicy(textsOf(trainPairs), { ...policy, path: dataPath });
  await applyLengthPolicy(textsOf(validationPairs), { ...policy, path: validationPath });
  let truncated = 0;
  const encode = (text: string): number[] => {
    const encoded = tokenizer.encode(text, { truncate: true });
    if (encoded.truncated) truncated++;
    return [...encoded.ids];
  };
  const examplesOf = (pairs: readonly (TextPair | ScoredPair)[]): Example[] =>
    pairs.map((pair) => {
      const firstText = prefix("anchor" in pair ? pair.anchor : pair.text1, inputTypes.first);
      const secondText = prefix("anchor" in pair ? pair.positive : pair.text2, inputTypes.second);
      const negativeText =
        "anchor" in pair && pair.negative !== undefined
          ? prefix(pair.negative, inputTypes.second)
          : undefined;
      const first = encode(firstText);
      const second = encode(secondText);
      const negative = negativeText === undefined ? undefined : encode(negativeText);
      return {
        first,
        second,
        firstKey: firstText,
        secondKey: secondText,
        ...(negative === undefined ? {} : { negative, negativeKey: negativeText as string }),
        score: "score" in pair ? pair.score : 1,
        tokens: first.length + second.length + (negative?.length ?? 0),
      };
    });
  const trainExamples = examplesOf(trainPairs);
  const validationExamples = examplesOf(validationPairs);
  const probeIds = (options.probes ?? []).map(encode);

  const bert = await readOnnxBert(pulled.path("onnx"));
  const hidden = bert.config.hidden;
  const output = spec.pooling;
  // Texts per forward: anchors + positives (+ hard negatives), padded to this many rows.
  const rowsPerStep = batchSize * (hasNegatives ? 3 : 2);
  const optimizerOptions = options.optimizer ?? { name: "adamw", learningRate: 2e-5, weightDecay: 0.01 };
  let params = 0;
  for (const weight of bert.weights.values()) params += weight.values.length;
  const longest = Math.max(
    ...trainExamples.flatMap((example) => [
      example.first.length,
      example.second.length,
      example.negative?.length ?? 0,
    ]),
  );
  const memory: TrainingMemoryConfig = {
    params,
    batch: rowsPerStep,
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

  const encoder: TrainableEncoder = await createTrainableEncoder({
    bert,
    ...(options.home === undefined ? {} : { home: options.home }),
    ...(options.onLog === undefined ? {} : { onLog: options.onLog }),
  });
  try {
    const batchOf = (rows: readonly number[][], fill: number): TokenBatch => {
      const most = Math.max(...rows.map((row) => row.length));
      const tokens = Math.min(maxTokens, Math.ceil(most / TOKEN_BUCKET) * TOKEN_BUCKET);
      const inputIds = new Int32Array(fill * tokens);
      const attentionMask = new Int32Array(fill * tokens);
      rows.forEach((row, r) => {
        row.forEach((id, t) => {
          inputIds[r * tokens + t] = id;
          attentionMask[r * tokens + t] = 1;
        });
      });
      return { batch: fill, tokens, inputIds, attentionMask, tokenTypeIds: new Int32Array(fill * tokens) };
    };
    /** Unit vectors of `rows` from the encoder in inference mode (as the embedder returns them). */
    const embedRows = async (rows: readonly number[][]): Promise<Float32Array[]> => {
      const out: Float32Array[] = [];
      for (let start = 0; start < rows.length; start += rowsPerStep) {
        const chunk = rows.slice(start, start + rowsPerStep);
        const pooled = await encoder.forward(batchOf(chunk, rowsPerStep), { output });
        const { unit } = normalizeRows(pooled, chunk.length, hidden);
        for (let r = 0; r < chunk.length; r++) out.push(unit.slice(r * hidden, (r + 1) * hidden));
      }
      return out;
    };
    const validate = async (): Promise<{ metric: number; accuracy?: number } | undefined> =>
      validationExamples.length === 0 ? undefined : validationMetric(validationExamples, kind, embedRows);

    const parameters = encoder.parameters;
    const optimizer = createOptimizer(parameters, optimizerOptions);
    const batches = batchesOf(trainExamples.length, batchSize, loss === "mnrl" && !hasNegatives);
    const totalSteps = batches * epochs;
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
    const order = trainExamples.map((_, index) => index);
    const history: EpochReport[] = [];
    const epochSeconds: number[] = [];
    let best: { metric: number; accuracy?: number; epoch: number; snapshot: Float32Array[] } | undefined;
    let sinceBest = 0;
    let stoppedEarly = false;
    let step = 0;
    let trainingMs = 0;
    let trainedTokens = 0;
    let firstEpoch = 1;
    let firstBatch = 0;
    let resumedLoss = 0;
    let baseMetric: number | undefined;
    const fingerprint = `${kind}:${loss}:${trainExamples.length}:${trainExamples.reduce((sum, example) => sum + example.tokens, 0)}`;
    const onnxName = (name: string) => encoder.onnxNames.get(name) ?? name;
    const saveCheckpoint = async (epoch: number, batchInEpoch: number, lossSum: number): Promise<void> => {
      if (options.checkpointDir === undefined) return;
      const weights = new Map<string, Float32Array>();
      for (const [index, parameter] of parameters.entries()) {
        weights.set(onnxName(parameter.name), parameter.value);
        const kept = best?.snapshot[index];
        if (kept !== undefined) weights.set(`best.${onnxName(parameter.name)}`, kept);
      }
      const state = optimizer.exportState();
      await saveTrainingCheckpoint(
        options.checkpointDir,
        {
          step,
          epoch: epoch - 1,
          batchInEpoch,
          rngState: { seed },
          optimizer: state.tensors,
          weights,
          extra: {
            task: "embeddings",
            fingerprint,
            optimizerSteps: state.steps,
            history,
            epochSeconds,
            lossSum,
            sinceBest,
            trainingMs,
            trainedTokens,
            baseMetric: baseMetric ?? null,
            best:
              best === undefined
                ? null
                : { metric: best.metric, accuracy: best.accuracy ?? null, epoch: best.epoch },
          },
        },
        { keep: options.checkpointKeep ?? 3 },
      );
    };
    if (options.resume === true && options.checkpointDir !== undefined) {
      const loaded = await loadLatestCheckpoint(options.checkpointDir);
      if (loaded !== undefined) {
        const extra = loaded.extra as {
          fingerprint?: string;
          optimizerSteps?: number;
          history?: EpochReport[];
          epochSeconds?: number[];
          lossSum?: number;
          sinceBest?: number;
          trainingMs?: number;
          trainedTokens?: number;
          baseMetric?: number | null;
          best?: { metric: number; accuracy: number | null; epoch: number } | null;
        };
        if (extra.fingerprint !== fingerprint)
          throw invalidInput(
            `Checkpoint ${loaded.path} was written by another run (${extra.fingerprint ?? "not an embeddings run"}, this one is ${fingerprint}): resume with the same data and loss, or use another checkpoint folder.`,
            { path: loaded.path },
          );
        const read = (name: string, length: number): Float32Array => {
          const values = loaded.weights.get(name);
          if (values === undefined || values.length !== length)
            throw invalidInput(
              `Checkpoint ${loaded.path} does not match this model: weight "${name}" is missing or of another size.`,
              {
                path: loaded.path,
                weight: name,
              },
            );
          return values;
        };
        const restored = parameters.map((parameter) =>
          read(onnxName(parameter.name), parameter.value.length),
        );
        if (extra.best !== null && extra.best !== undefined)
          best = {
            metric: extra.best.metric,
            ...(extra.best.accuracy === null ? {} : { accuracy: extra.best.accuracy }),
            epoch: extra.best.epoch,
            snapshot: parameters.map((parameter) =>
              read(`best.${onnxName(parameter.name)}`, parameter.value.length).slice(),
            ),
          };
        optimizer.importState({ steps: extra.optimizerSteps ?? loaded.step, tensors: loaded.optimizer });
        restoreParameters(parameters, restored);
        await encoder.sync();
        step = loaded.step;
        firstEpoch = loaded.epoch + 1;
        firstBatch = loaded.batchInEpoch;
        resumedLoss = extra.lossSum ?? 0;
        history.push(...(extra.history ?? []));
        epochSeconds.push(...(extra.epochSeconds ?? []));
        sinceBest = extra.sinceBest ?? 0;
        trainingMs = extra.trainingMs ?? 0;
        trainedTokens = extra.trainedTokens ?? 0;
        if (typeof extra.baseMetric === "number") baseMetric = extra.baseMetric;
        options.onLog?.(
          `Resumed from ${loaded.path}: step ${step}, epoch ${firstEpoch}, batch ${firstBatch}.`,
        );
      }
    }
    if (step === 0) baseMetric = (await validate())?.metric;

    for (let epoch = firstEpoch; epoch <= epochs; epoch++) {
      const started = performance.now();
      const shuffled = createRandom(seed + epoch * 104_729).shuffle(order);
      const resumedEpoch = epoch === firstEpoch;
      let lossSum = resumedEpoch ? resumedLoss : 0;
      for (let b = resumedEpoch ? firstBatch : 0; b < batches; b++) {
        const examples = shuffled
          .slice(b * batchSize, (b + 1) * batchSize)
          .map((i) => trainExamples[i] as Example);
        const count = examples.length;
        const negatives = examples.filter((example) => example.negative !== undefined);
        const rows = [
          ...examples.map((example) => example.first),
          ...examples.map((example) => example.second),
          ...negatives.map((example) => example.negative as number[]),
        ];
        trainedTokens += examples.reduce((sum, example) => sum + example.tokens, 0);
        zeroGradients(parameters);
        const pooled = await encoder.forward(batchOf(rows, rowsPerStep), {
          output,
          training: true,
          dropout,
          seed: seed * 1_000_003 + step,
        });
        const { unit, norms } = normalizeRows(pooled, rows.length, hidden);
        const result =
          loss === "mnrl"
            ? multipleNegativesRankingLoss({
                vectors: unit,
                dims: hidden,
                batch: count,
                negatives: negatives.length,
                anchorKeys: examples.map((example) => example.firstKey),
                candidateKeys: [
                  ...examples.map((example) => example.secondKey),
                  ...negatives.map((example) => example.negativeKey as string),
                ],
                scale,
              })
            : cosentLoss({
                vectors: unit,
                dims: hidden,
                batch: count,
                scores: examples.map((e) => e.score),
                scale,
              });
        if (!Number.isFinite(result.loss)) {
          throw invalidInput(
            `The training loss became ${String(result.loss)} at epoch ${epoch}, batch ${b + 1}: lower the learning rate.`,
            { epoch, batch: b + 1 },
          );
        }
        const gradOutput = new Float32Array(rowsPerStep * hidden);
        gradOutput.set(normalizeRowsBackward(unit, norms, result.grad, hidden));
        await encoder.backward(gradOutput);
        clipGradientNorm(parameters, clipNorm);
        optimizer.learningRate = schedule(step);
        optimizer.step();
        await encoder.sync();
        step++;
        lossSum += result.loss * count;
        options.onBatch?.(b + 1, batches, result.loss);
        if (checkpointEvery > 0 && step % checkpointEvery === 0) {
          trainingMs += performance.now() - started;
          await saveCheckpoint(epoch, b + 1, lossSum);
          trainingMs -= performance.now() - started;
        }
      }
      trainingMs += performance.now() - started;
      const validation = await validate();
      let isBest = validation === undefined;
      if (validation !== undefined) {
        if (best === undefined || validation.metric > best.metric + minDelta) {
          best = { ...validation, epoch, snapshot: snapshotParameters(parameters) };
          sinceBest = 0;
          isBest = true;
        } else sinceBest++;
      }
      const trainedPairs = Math.min(batches * batchSize, trainExamples.length);
      const report: EpochReport = {
        epoch,
        trainLoss: lossSum / trainedPairs,
        ...(validation === undefined ? {} : { validationMetric: validation.metric }),
        learningRate: optimizer.learningRate,
        best: isBest,
        milliseconds: performance.now() - started,
      };
      history.push(report);
      epochSeconds.push(report.milliseconds / 1000);
      options.onEpoch?.(report);
      await saveCheckpoint(epoch + 1, 0, 0);
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
    const probeVectors = probeIds.length === 0 ? undefined : await embedRows(probeIds);
    return {
      encoderWeights: encoder.exportWeights(),
      loss,
      metric: kind === "pairs" ? "mrr" : "spearman",
      history,
      bestEpoch,
      stoppedEarly,
      steps: step,
      tokensPerSecond: trainingMs > 0 ? (trainedTokens / trainingMs) * 1000 : 0,
      epochSeconds,
      truncated,
      ...(baseMetric === undefined ? {} : { baseValidationMetric: baseMetric }),
      ...(best === undefined ? {} : { validationMetric: best.metric }),
      ...(best?.accuracy === undefined ? {} : { validationAccuracy: best.accuracy }),
      ...(probeVectors === undefined ? {} : { probeVectors }),
    };
  } finally {
    await encoder.close();
  }
}

/**
 * Batches per epoch: `ceil(n / size)`, but without a trailing single pair when the loss needs
 * in-batch negatives (that pair is left out of the epoch; the shuffle differs every epoch).
 */
function batchesOf(count: number, size: number, needsTwo: boolean): number {
  const full = Math.ceil(count / size);
  return needsTwo && count % size === 1 && full > 1 ? full - 1 : full;
}

/** Validation: held-out MRR/accuracy of each anchor's positive among all distinct candidates, or Spearman. */
async function validationMetric(
  examples: readonly Example[],
  kind: "pairs" | "scored",
  embedRows: (rows: readonly number[][]) => Promise<Float32Array[]>,
): Promise<{ metric: number; accuracy?: number }> {
  if (kind === "scored") {
    const first = await embedRows(examples.map((example) => example.first));
    const second = await embedRows(examples.map((example) => example.second));
    const cosines = first.map((vector, i) => {
      let sum = 0;
      const other = second[i] as Float32Array;
      for (let k = 0; k < vector.length; k++) sum += (vector[k] as number) * (other[k] as number);
      return sum;
    });
    return {
      metric: spearman(
        cosines,
        examples.map((example) => example.score),
      ),
    };
  }
  const candidateIndex = new Map<string, number>();
  const candidateRows: number[][] = [];
  const add = (key: string, ids: number[]): number => {
    let index = candidateIndex.get(key);
    if (index === undefined) {
      index = candidateRows.length;
      candidateIndex.set(key, index);
      candidateRows.push(ids);
    }
    return index;
  };
  const candidateOf = examples.map((example) => add(example.secondKey, example.second));
  for (const example of examples)
    if (example.negative !== undefined) add(example.negativeKey as string, example.negative);
  const anchors = await embedRows(examples.map((example) => example.first));
  const candidates = await embedRows(candidateRows);
  const scores = pairRetrievalScores(anchors, candidates, candidateOf);
  return { metric: scores.mrr, accuracy: scores.accuracy };
}
