/**
 * @module train/encoder/finetune-classifier
 * Sequence classification by fine-tuning the encoder itself: a catalog BERT
 * encoder (its trainable copy in the JAX sidecar) + pooling + the existing
 * classifier head (`train`'s Linear, saved with `saveClassifier`), trained end
 * to end with cross-entropy. Everything around the gradients is `train`'s:
 * the optimizers (`createOptimizer`, PyTorch-exact), LR schedules with warmup
 * (`createSchedule`), seeded shuffling, stratified validation split, early
 * stopping on validation accuracy with the best epoch's weights restored.
 * Added here: global-norm gradient clipping and dropout inside the encoder.
 * Batches are padded to a multiple of 16 tokens and to the full batch size so
 * the engine compiles few shapes.
 *
 * The head sees what an embedder of the exported encoder returns: for models
 * that normalize (all four catalog encoders) the pooled vector is L2-normalized
 * inside the training graph. So the head does not start on unit vectors (tiny
 * logits), training multiplies them by a fixed scale — the mean norm of the first
 * rows it pools — which is folded into the head's weight at the end
 * (`W·(s·y) = (s·W)·y`): the saved head takes the embedder's vectors as they are.
 */

import { loadTextTokenizer } from "../../embed/onnx/text-tokenizer.js";
import { EmbedkitError } from "../../errors.js";
import { checkInteger, checkNumber } from "../../internal/options.js";
import type { ModelStore } from "../../models/index.js";
import { dot } from "../../vectors/math.js";
import { createRandom } from "../../vectors/random.js";
import { type Classifier, createClassifier, stratifiedSplit } from "../classifier.js";
import { loadLatestCheckpoint, saveTrainingCheckpoint } from "../finetune/checkpoints.js";
import { applyLengthPolicy, checkValidationLabels } from "../finetune/data.js";
import { assertBatchFitsMemory, type TrainingMemoryConfig } from "../finetune/memory.js";
import { createMlp, type Layer } from "../layers.js";
import { softmaxCrossEntropy } from "../losses.js";
import { createOptimizer, type OptimizerOptions } from "../optimizers.js";
import { type Parameter, zeroGradients } from "../parameter.js";
import { createSchedule } from "../schedules.js";
import type { EarlyStoppingOptions, EpochReport, TrainScheduleOptions } from "../train-model.js";
import { restoreParameters, snapshotParameters } from "../train-model.js";
import { readOnnxBert } from "./onnx-bert.js";
import { createTrainableEncoder, type TokenBatch, type TrainableEncoder } from "./sidecar.js";

/** Options of {@link finetuneClassifier}. */
export interface FinetuneClassifierOptions {
  /** Model store holding the base encoder. */
  readonly store: ModelStore;
  /** Catalog id of the base encoder. @default "all-minilm-l6-v2" */
  readonly model?: string;
  /** Training texts and their labels (same length). */
  readonly texts: readonly string[];
  readonly labels: readonly string[];
  /** Where the training texts come from (file name for messages). @default "training data" */
  readonly dataPath?: string;
  /** Line of each training text in `dataPath`, for messages. @default 1, 2, 3… */
  readonly lines?: readonly number[];
  /** Validation set; without it `validationSplit` of the training rows (stratified) are held out. */
  readonly validation?: {
    readonly texts: readonly string[];
    readonly labels: readonly string[];
    /** File name for messages. @default "validation data" */
    readonly path?: string;
    /** Line of each text in `path`. @default 1, 2, 3… */
    readonly lines?: readonly number[];
  };
  /** Fraction held out for validation when `validation` is not given (0 = none). @default 0.1 */
  readonly validationSplit?: number;
  /** Longest sequence in tokens (with [CLS]/[SEP]); at most the model's limit. @default 128 */
  readonly maxTokens?: number;
  /**
   * Longer texts: cut (counted in the result, one warning through `onLog`) or refused with
   * INPUT_TOO_LONG naming `file:line` (`applyLengthPolicy`). @default "truncate"
   */
  readonly onLong?: "truncate" | "refuse";
  /** Optimizer (names and semantics of `train`). @default AdamW, learning rate 2e-5, weight decay 0.01 */
  readonly optimizer?: OptimizerOptions;
  /** Schedule. @default linear decay with 10 % warmup */
  readonly schedule?: TrainScheduleOptions;
  /** Passes over the training rows. @default 3 */
  readonly epochs?: number;
  /** Rows per step. @default 16 */
  readonly batchSize?: number;
  /** Dropout in the encoder and before the head. @default 0.1 */
  readonly dropout?: number;
  /** Clip the global gradient norm to this (0 = off). @default 1 */
  readonly clipNorm?: number;
  /** Seed of the split, shuffling, head initialisation and dropout. @default 42 */
  readonly seed?: number;
  /**
   * Folder for training checkpoints (`train/finetune` format: weights — encoder by ONNX
   * initializer name, head as `head.*` —, optimizer state, step, epoch, batch, history), written
   * at each epoch end and every `checkpointEvery` steps.
   */
  readonly checkpointDir?: string;
  /** Steps between checkpoints (0 = only at epoch ends). @default 0 */
  readonly checkpointEvery?: number;
  /** Checkpoints kept in `checkpointDir`. @default 3 */
  readonly checkpointKeep?: number;
  /**
   * Continue from the newest intact checkpoint in `checkpointDir` (a fresh start when there is
   * none): the run ends with the weights an uninterrupted run with the same options reaches.
   */
  readonly resume?: boolean;
  /** Stop when validation accuracy stops improving. */
  readonly earlyStopping?: EarlyStoppingOptions;
  /** Model reference the saved head records as its embedding model (the exported folder's). @default the base id */
  readonly modelReference?: string;
  /** Texts whose predictions are reported before and after training. */
  readonly probes?: readonly string[];
  /**
   * Memory the run may use, in bytes: a batch size whose estimated peak does not fit is refused
   * (INVALID_OPTION naming the largest batch size that fits) before the engine starts.
   * @default free memory (capped by a cgroup limit)
   */
  readonly availableMemory?: number;
  /** Where the Python environment lives. @default EMBEDKIT_HOME */
  readonly home?: string;
  readonly onEpoch?: (report: EpochReport) => void;
  readonly onBatch?: (done: number, total: number, loss: number) => void;
  readonly onLog?: (line: string) => void;
}

/** One probe's prediction. */
export interface ProbePrediction {
  readonly text: string;
  readonly label: string;
  readonly probabilities: Readonly<Record<string, number>>;
}

/** Result of {@link finetuneClassifier}. */
export interface FinetuneClassifierResult {
  /** The head, in `train`'s classifier format (save it with `saveClassifier`). */
  readonly classifier: Classifier;
  /** Trained encoder weights by ONNX initializer name (for `exportFinetunedEncoder`). */
  readonly encoderWeights: Map<string, Float32Array>;
  readonly history: readonly EpochReport[];
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  readonly steps: number;
  /** Training tokens (real, unpadded) per second of training time. */
  readonly tokensPerSecond: number;
  /** Wall-clock seconds per epoch (training + validation), in order. */
  readonly epochSeconds: readonly number[];
  /** Texts cut to `maxTokens`. */
  readonly truncated: number;
  /** Validation accuracy of the kept weights (undefined without validation). */
  readonly validationAccuracy?: number;
  readonly probes?: {
    readonly before: readonly ProbePrediction[];
    readonly after: readonly ProbePrediction[];
  };
}

const TOKEN_BUCKET = 16;

function checkTexts(texts: readonly string[], labels: readonly string[], what: string): void {
  if (!Array.isArray(texts) || !Array.isArray(labels) || texts.length !== labels.length) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${what}: one label per text is needed, received ${texts?.length ?? 0} texts and ${labels?.length ?? 0} labels.`,
    );
  }
  texts.forEach((text, index) => {
    if (typeof text !== "string" || text.trim() === "")
      throw new EmbedkitError("INVALID_INPUT", `${what}: text ${index + 1} is empty.`, {
        details: { index },
      });
    const label = labels[index];
    if (typeof label !== "string" || label.trim() === "")
      throw new EmbedkitError("INVALID_INPUT", `${what}: text ${index + 1} has no label.`, {
        details: { index },
      });
  });
}

/** Global L2 norm of all gradients, scaled down to `maxNorm` when above (as torch.nn.utils.clip_grad_norm_). */
export function clipGradientNorm(parameters: readonly Parameter[], maxNorm: number): number {
  let sum = 0;
  for (const { grad } of parameters) for (let i = 0; i < grad.length; i++) sum += (grad[i] as number) ** 2;
  const norm = Math.sqrt(sum);
  if (maxNorm > 0 && norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (const { grad } of parameters)
      for (let i = 0; i < grad.length; i++) grad[i] = (grad[i] as number) * scale;
  }
  return norm;
}

/**
 * Fine-tune a catalog encoder and a classification head on labelled texts.
 *
 * @throws EmbedkitError INVALID_INPUT (empty texts or labels, fewer than two
 *   classes, validation labels unseen in training, non-finite loss, a checkpoint
 *   of other labels or another model),
 *   INPUT_TOO_LONG (`onLong: "refuse"`), INVALID_OPTION (settings; a batch size
 *   whose estimated memory does not fit, naming the largest that does),
 *   DEPENDENCY_MISSING (no Python for the engine)
 * @example
 * ```ts
 * const result = await finetuneClassifier({ store: createModelStore(), texts, labels, epochs: 2 });
 * // The encoder as a dir: model in the head's encoder/ folder, the head recording its id
 * // (what `embedkit finetune classifier --out out/` does; `classify --classifier out/` loads both).
 * const encoder = await exportFinetunedEncoder({ base: "all-minilm-l6-v2", weights: result.encoderWeights,
 *   task: "classifier", dataSha256, outDir: "out/encoder" });
 * const { model, classes, embedding } = result.classifier;
 * await saveClassifier("out", createClassifier({ model, classes, embedding: { ...embedding, modelId: encoder.modelId } }));
 * ```
 */
export async function finetuneClassifier(
  options: FinetuneClassifierOptions,
): Promise<FinetuneClassifierResult> {
  checkTexts(options.texts, options.labels, "Training data");
  const classes = [...new Set(options.labels)].sort();
  if (classes.length < 2) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Training data needs at least two classes, received ${JSON.stringify(classes)}.`,
    );
  }
  const seed = checkInteger("seed", options.seed ?? 42, { min: 0 });
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
  const epochs = checkInteger("epochs", options.epochs ?? 3, { min: 1, max: 1000 });
  const batchSize = checkInteger("batchSize", options.batchSize ?? 16, { min: 1, max: 1024 });
  const dropout = checkNumber("dropout", options.dropout ?? 0.1, { min: 0, max: 0.9 });
  const clipNorm = checkNumber("clipNorm", options.clipNorm ?? 1, { min: 0 });
  const dataPath = options.dataPath ?? "training data";
  const lineOf = (lines: readonly number[] | undefined, index: number): number => lines?.[index] ?? index + 1;
  let trainTexts = options.texts;
  let trainLabels = options.labels;
  let trainLines = options.texts.map((_, index) => lineOf(options.lines, index));
  let validationTexts: readonly string[] = [];
  let validationLabels: readonly string[] = [];
  let validationLines: number[] = [];
  let validationPath = dataPath;
  if (options.validation !== undefined) {
    const validation = options.validation;
    checkTexts(validation.texts, validation.labels, "Validation data");
    validationPath = validation.path ?? "validation data";
    validationTexts = validation.texts;
    validationLabels = validation.labels;
    validationLines = validation.texts.map((_, index) => lineOf(validation.lines, index));
    checkValidationLabels(classes, {
      path: validationPath,
      rows: validationLabels.map((label, index) => ({ label, line: validationLines[index] as number })),
    });
  } else {
    const fraction = checkNumber("validationSplit", options.validationSplit ?? 0.1, { min: 0, max: 0.5 });
    if (fraction > 0) {
      const split = stratifiedSplit(options.labels, fraction, seed);
      const lines = trainLines;
      trainTexts = split.train.map((i) => options.texts[i] as string);
      trainLabels = split.train.map((i) => options.labels[i] as string);
      trainLines = split.train.map((i) => lines[i] as number);
      validationTexts = split.validation.map((i) => options.texts[i] as string);
      validationLabels = split.validation.map((i) => options.labels[i] as string);
      validationLines = split.validation.map((i) => lines[i] as number);
    }
  }
  const store = options.store;
  const spec = await store.resolve(options.model ?? "all-minilm-l6-v2");
  const maxTokens = checkInteger("maxTokens", options.maxTokens ?? Math.min(128, spec.maxTokens), {
    min: 4,
    max: spec.maxTokens,
  });
  const pulled = await store.ensure(spec);
  const tokenizer = await loadTextTokenizer(pulled.path("tokenizer"), maxTokens);
  // Length policy (side B's, one place) before any training: a long row fails the call up front.
  const onLong = options.onLong ?? "truncate";
  const countTokens = async (texts: readonly string[]): Promise<number[]> =>
    texts.map((text) => tokenizer.count(text));
  const withLines = (texts: readonly string[], lines: readonly number[]) =>
    texts.map((text, index) => ({ text, line: lines[index] as number }));
  const policy = {
    maxTokens,
    countTokens,
    onLong,
    ...(options.onLog === undefined ? {} : { onWarning: options.onLog }),
  };
  await applyLengthPolicy(withLines(trainTexts, trainLines), { ...policy, path: dataPath });
  await applyLengthPolicy(withLines(validationTexts, validationLines), { ...policy, path: validationPath });
  let truncated = 0;
  const encode = (texts: readonly string[]): number[][] =>
    texts.map((text, index) => {
      const encoded = tokenizer.encode(text, { truncate: true, index });
      if (encoded.truncated) truncated++;
      return [...encoded.ids];
    });
  const trainIds = encode(trainTexts);
  const validationIds = encode(validationTexts);
  const probeIds = options.probes === undefined ? [] : encode(options.probes);
  const targets = trainLabels.map((label) => classes.indexOf(label));
  const validationTargets = validationLabels.map((label) => classes.indexOf(label));

  const bert = await readOnnxBert(pulled.path("onnx"));
  const hidden = bert.config.hidden;
  const pooling = spec.pooling;
  const normalizeOutput = spec.normalize;
  // Scale of the normalized features while training (set from the first batch; 1 once folded into the head).
  let featureScale: number | undefined;
  /** Normalize rows `0..rows` of `pooled` in place (times the feature scale); returns each row's norm. */
  const finishFeatures = (pooled: Float32Array, rows: number): Float64Array => {
    const norms = new Float64Array(rows);
    if (!normalizeOutput) return norms.fill(1);
    for (let r = 0; r < rows; r++) {
      const row = pooled.subarray(r * hidden, (r + 1) * hidden);
      norms[r] = Math.sqrt(dot(row, row));
    }
    if (featureScale === undefined) featureScale = norms.reduce((sum, norm) => sum + norm, 0) / rows || 1;
    for (let r = 0; r < rows; r++) {
      const factor = (norms[r] as number) > 0 ? featureScale / (norms[r] as number) : 0;
      for (let i = r * hidden; i < (r + 1) * hidden; i++) pooled[i] = (pooled[i] as number) * factor;
    }
    return norms;
  };
  const random = createRandom(seed);
  // The heads' own builder (dropout + linear), so the saved head is train's classifier format.
  const head: Layer = createMlp({ inputs: hidden, outputs: classes.length, dropout, random });
  const optimizerOptions = options.optimizer ?? { name: "adamw", learningRate: 2e-5, weightDecay: 0.01 };
  // Refuse a batch size that would run the machine out of memory before the engine starts.
  const longest = Math.max(...trainIds.map((row) => row.length));
  let params = head.parameters().reduce((sum, parameter) => sum + parameter.value.length, 0);
  for (const weight of bert.weights.values()) params += weight.values.length;
  const memoryOptimizer: TrainingMemoryConfig["optimizer"] =
    optimizerOptions.name === "adamax"
      ? "adam"
      : optimizerOptions.name === "sgd"
        ? (optimizerOptions.momentum ?? 0) > 0
          ? "sgd-momentum"
          : "sgd"
        : optimizerOptions.name;
  const memory: TrainingMemoryConfig = {
    params,
    batch: batchSize,
    seqLen: Math.min(maxTokens, Math.ceil(longest / TOKEN_BUCKET) * TOKEN_BUCKET),
    layers: bert.config.layers,
    hidden,
    heads: bert.config.heads,
    optimizer: memoryOptimizer,
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
      const longest = Math.max(...rows.map((row) => row.length));
      const tokens = Math.min(maxTokens, Math.ceil(longest / TOKEN_BUCKET) * TOKEN_BUCKET);
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
    };
    const pool = async (rows: readonly number[][]): Promise<Float32Array[]> => {
      const out: Float32Array[] = [];
      for (let start = 0; start < rows.length; start += batchSize) {
        const chunk = rows.slice(start, start + batchSize);
        const pooled = await encoder.forward(batchOf(chunk, batchSize), { output: pooling });
        finishFeatures(pooled, chunk.length);
        for (let r = 0; r < chunk.length; r++) out.push(pooled.slice(r * hidden, (r + 1) * hidden));
      }
      return out;
    };
    const classifier = createClassifier({
      model: head,
      classes,
      embedding: { modelId: options.modelReference ?? spec.id, dims: hidden },
    });
    const predictProbes = async (): Promise<ProbePrediction[]> =>
      probeIds.length === 0
        ? []
        : classifier.predict(await pool(probeIds)).map((prediction, index) => ({
            text: options.probes?.[index] as string,
            label: prediction.label,
            probabilities: prediction.probabilities,
          }));
    const evaluate = async (): Promise<{ accuracy: number; loss: number } | undefined> => {
      if (validationIds.length === 0) return undefined;
      const vectors = await pool(validationIds);
      const probabilities = classifier.probabilities(vectors);
      let correct = 0;
      let loss = 0;
      probabilities.forEach((row, index) => {
        const target = validationTargets[index] as number;
        let best = 0;
        for (let c = 1; c < row.length; c++) if ((row[c] as number) > (row[best] as number)) best = c;
        if (best === target) correct++;
        loss -= Math.log(Math.max(row[target] as number, 1e-12));
      });
      return { accuracy: correct / vectors.length, loss: loss / vectors.length };
    };

    const parameters = [...encoder.parameters, ...head.parameters()];
    const optimizer = createOptimizer(parameters, optimizerOptions);
    const batchesPerEpoch = Math.ceil(trainIds.length / batchSize);
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
    const order = Array.from({ length: trainIds.length }, (_, index) => index);
    const history: EpochReport[] = [];
    const epochSeconds: number[] = [];
    let best: { accuracy: number; loss: number; epoch: number; snapshot: Float32Array[] } | undefined;
    let sinceBest = 0;
    let stoppedEarly = false;
    let step = 0;
    let trainingMs = 0;
    let trainedTokens = 0;
    // Checkpoint names: encoder weights by ONNX initializer name, head parameters as head.<name>.
    const checkpointName = (parameter: Parameter): string =>
      bert.weights.get(parameter.name)?.onnxName ?? `head.${parameter.name}`;
    let firstEpoch = 1;
    let firstBatch = 0;
    let resumedLoss = 0;
    const saveCheckpoint = async (epoch: number, batchInEpoch: number, lossSum: number): Promise<void> => {
      if (options.checkpointDir === undefined) return;
      const weights = new Map<string, Float32Array>();
      for (const [index, parameter] of parameters.entries()) {
        weights.set(checkpointName(parameter), parameter.value);
        const kept = best?.snapshot[index];
        if (kept !== undefined) weights.set(`best.${checkpointName(parameter)}`, kept);
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
            labels: classes,
            optimizerSteps: state.steps,
            featureScale: featureScale ?? null,
            history,
            epochSeconds,
            lossSum,
            sinceBest,
            trainingMs,
            trainedTokens,
            best: best === undefined ? null : { accuracy: best.accuracy, loss: best.loss, epoch: best.epoch },
          },
        },
        { keep: options.checkpointKeep ?? 3 },
      );
    };
    if (options.resume === true && options.checkpointDir !== undefined) {
      const loaded = await loadLatestCheckpoint(options.checkpointDir);
      if (loaded !== undefined) {
        const extra = loaded.extra as {
          labels?: string[];
          optimizerSteps?: number;
          featureScale?: number | null;
          history?: EpochReport[];
          epochSeconds?: number[];
          lossSum?: number;
          sinceBest?: number;
          trainingMs?: number;
          trainedTokens?: number;
          best?: { accuracy: number; loss: number; epoch: number } | null;
        };
        if (JSON.stringify(extra.labels) !== JSON.stringify(classes)) {
          throw new EmbedkitError(
            "INVALID_INPUT",
            `Checkpoint ${loaded.path} was trained on labels ${JSON.stringify(extra.labels)}, not ${JSON.stringify(classes)}: resume with the same data, or use another checkpoint folder.`,
            { details: { path: loaded.path } },
          );
        }
        const read = (name: string, length: number): Float32Array => {
          const values = loaded.weights.get(name);
          if (values === undefined || values.length !== length) {
            throw new EmbedkitError(
              "INVALID_INPUT",
              `Checkpoint ${loaded.path} does not match this model: weight "${name}" is ${values === undefined ? "missing" : `${values.length} values long, expected ${length}`}.`,
              { details: { path: loaded.path, weight: name } },
            );
          }
          return values;
        };
        const restored = parameters.map((parameter) =>
          read(checkpointName(parameter), parameter.value.length),
        );
        const bestSnapshot =
          extra.best === null || extra.best === undefined
            ? undefined
            : parameters.map((parameter) =>
                read(`best.${checkpointName(parameter)}`, parameter.value.length).slice(),
              );
        optimizer.importState({ steps: extra.optimizerSteps ?? loaded.step, tensors: loaded.optimizer });
        restoreParameters(parameters, restored);
        await encoder.sync();
        step = loaded.step;
        firstEpoch = loaded.epoch + 1;
        firstBatch = loaded.batchInEpoch;
        resumedLoss = extra.lossSum ?? 0;
        if (typeof extra.featureScale === "number") featureScale = extra.featureScale;
        history.push(...(extra.history ?? []));
        epochSeconds.push(...(extra.epochSeconds ?? []));
        sinceBest = extra.sinceBest ?? 0;
        trainingMs = extra.trainingMs ?? 0;
        trainedTokens = extra.trainedTokens ?? 0;
        if (extra.best !== null && extra.best !== undefined && bestSnapshot !== undefined)
          best = { ...extra.best, snapshot: bestSnapshot };
        options.onLog?.(
          `Resumed from ${loaded.path}: step ${step}, epoch ${firstEpoch}, batch ${firstBatch}${loaded.skipped.length > 0 ? ` (passed over ${loaded.skipped.length} damaged newer checkpoint(s))` : ""}.`,
        );
      }
    }
    const before = await predictProbes();
    for (let epoch = firstEpoch; epoch <= epochs; epoch++) {
      const started = performance.now();
      // Per-epoch and per-step generators (from the seed): a resumed run draws what the first did.
      const shuffled = createRandom(seed + epoch * 104_729).shuffle(order);
      const resumedEpoch = epoch === firstEpoch;
      let lossSum = resumedEpoch ? resumedLoss : 0;
      for (let b = resumedEpoch ? firstBatch : 0; b < batchesPerEpoch; b++) {
        const indices = shuffled.slice(b * batchSize, (b + 1) * batchSize);
        const rows = indices.map((i) => trainIds[i] as number[]);
        trainedTokens += rows.reduce((sum, row) => sum + row.length, 0);
        zeroGradients(parameters);
        const pooled = await encoder.forward(batchOf(rows, batchSize), {
          output: pooling,
          training: true,
          dropout,
          seed: seed * 1_000_003 + step,
        });
        const norms = finishFeatures(pooled, rows.length);
        const features = { data: pooled.subarray(0, rows.length * hidden), shape: [rows.length, hidden] };
        const logits = head.forward(features, {
          training: true,
          random: createRandom(seed * 1_000_003 + step + 1),
        });
        const result = softmaxCrossEntropy(
          logits,
          indices.map((i) => targets[i] as number),
        );
        if (!Number.isFinite(result.loss)) {
          throw new EmbedkitError(
            "INVALID_INPUT",
            `The training loss became ${String(result.loss)} at epoch ${epoch}, batch ${b + 1}: lower the learning rate.`,
            { details: { epoch, batch: b + 1, learningRate: optimizer.learningRate } },
          );
        }
        const gradFeatures = head.backward(result.grad, { inputGradient: true });
        const gradPooled = new Float32Array(batchSize * hidden);
        gradPooled.set(gradFeatures.data);
        if (normalizeOutput) {
          // f = s·x/|x| ⇒ ∂L/∂x = (s/|x|)·(g − y·(y·g)), y = f/s the unit vector.
          const scale = featureScale as number;
          for (let r = 0; r < rows.length; r++) {
            const norm = norms[r] as number;
            const y = features.data.subarray(r * hidden, (r + 1) * hidden);
            const g = gradPooled.subarray(r * hidden, (r + 1) * hidden);
            if (norm === 0) {
              g.fill(0);
              continue;
            }
            const along = dot(y, g) / (scale * scale);
            for (let i = 0; i < hidden; i++)
              g[i] = (scale / norm) * ((g[i] as number) - (y[i] as number) * along);
          }
        }
        await encoder.backward(gradPooled);
        clipGradientNorm(parameters, clipNorm);
        optimizer.learningRate = schedule(step);
        optimizer.step();
        await encoder.sync();
        step++;
        lossSum += result.loss * rows.length;
        options.onBatch?.(b + 1, batchesPerEpoch, result.loss);
        if (checkpointEvery > 0 && step % checkpointEvery === 0) {
          trainingMs += performance.now() - started;
          await saveCheckpoint(epoch, b + 1, lossSum);
          trainingMs -= performance.now() - started;
        }
      }
      trainingMs += performance.now() - started;
      const validation = await evaluate();
      let isBest = validation === undefined;
      if (validation !== undefined) {
        const improved =
          best === undefined ||
          validation.accuracy > best.accuracy + minDelta ||
          (validation.accuracy === best.accuracy && validation.loss < best.loss);
        if (improved) {
          best = { ...validation, epoch, snapshot: snapshotParameters(parameters) };
          sinceBest = 0;
          isBest = true;
        } else sinceBest++;
      }
      const report: EpochReport = {
        epoch,
        trainLoss: lossSum / trainIds.length,
        ...(validation === undefined
          ? {}
          : { validationMetric: validation.accuracy, validationLoss: validation.loss }),
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
    // Fold the training scale into the head: it now takes unit vectors, as embedders return them.
    if (normalizeOutput && featureScale !== undefined && featureScale !== 1) {
      for (const parameter of head.parameters())
        if (parameter.name.endsWith("weight"))
          for (let i = 0; i < parameter.value.length; i++)
            parameter.value[i] = (parameter.value[i] as number) * (featureScale as number);
      featureScale = 1;
    }
    const after = await predictProbes();
    return {
      classifier,
      encoderWeights: encoder.exportWeights(),
      history,
      bestEpoch,
      stoppedEarly,
      steps: step,
      tokensPerSecond: trainingMs > 0 ? (trainedTokens / trainingMs) * 1000 : 0,
      epochSeconds,
      truncated,
      ...(best === undefined ? {} : { validationAccuracy: best.accuracy }),
      ...(options.probes === undefined ? {} : { probes: { before, after } }),
    };
  } finally {
    await encoder.close();
  }
}
