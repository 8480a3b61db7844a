/**
 * @module train/encoder/finetune-classifier
 * Sequence classification by fine-tuning the encoder itself: a catalog BERT
 * encoder (its trainable copy in the JAX sidecar) + pooling + the existing
 * classifier head (`train`'s Linear, saved with `saveClassifier`), trained end
 * to end with cross-entropy. It is the first task on the generic training
 * loop (`training-loop.ts`: optimizers, LR schedules with warmup, seeded
 * shuffling, length buckets, dropout, gradient clipping, early stopping with
 * the best epoch's weights restored, checkpoints and resume); added here: the
 * stratified validation split, the length policy, the head and its loss, and
 * validation accuracy as the loop's metric.
 *
 * The head sees what an embedder of the exported encoder returns: for models
 * that normalize (all four catalog encoders) the pooled vector is L2-normalized
 * inside the training graph. So the head does not start on unit vectors (tiny
 * logits), training multiplies them by a fixed scale — the mean norm of the first
 * rows it pools — which is folded into the head's weight at the end
 * (`W·(s·y) = (s·W)·y`): the saved head takes the embedder's vectors as they are.
 */

import { EmbedkitError } from "../../errors.js";
import { checkNumber } from "../../internal/options.js";
import type { ModelStore } from "../../models/index.js";
import { dot } from "../../vectors/math.js";
import { createRandom } from "../../vectors/random.js";
import { type Classifier, createClassifier, stratifiedSplit } from "../classifier.js";
import { applyLengthPolicy, checkValidationLabels } from "../finetune/data.js";
import { createMlp, type Layer } from "../layers.js";
import { softmaxCrossEntropy } from "../losses.js";
import { openBaseModel } from "./base-model.js";
import { readOnnxBert } from "./onnx-bert.js";
import {
  checkTrainingLoopSettings,
  type EncodeRows,
  type FinetuneRunResult,
  type FinetuneTask,
  finetuneRunResult,
  runTrainingLoop,
  type TokenRows,
  type TrainingLoopResult,
  type TrainingLoopSettings,
} from "./training-loop.js";

/** Options of {@link finetuneClassifier} (the loop's settings: {@link TrainingLoopSettings}). */
export interface FinetuneClassifierOptions extends TrainingLoopSettings {
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
  /** Model reference the saved head records as its embedding model (the exported folder's). @default the base id */
  readonly modelReference?: string;
  /** Texts whose predictions are reported before and after training. */
  readonly probes?: readonly string[];
}

/** One probe's prediction. */
export interface ProbePrediction {
  readonly text: string;
  readonly label: string;
  readonly probabilities: Readonly<Record<string, number>>;
}

/** Result of {@link finetuneClassifier} (the run's fields: {@link FinetuneRunResult}, `encoderWeights` for `exportFinetunedEncoder`). */
export interface FinetuneClassifierResult extends FinetuneRunResult {
  /** The head, in `train`'s classifier format (save it with `saveClassifier`). */
  readonly classifier: Classifier;
  /** Validation accuracy of the kept weights (undefined without validation). */
  readonly validationAccuracy?: number;
  readonly probes?: {
    readonly before: readonly ProbePrediction[];
    readonly after: readonly ProbePrediction[];
  };
  /** Whether the optimizer stepped inside the engine ({@link TrainingLoopSettings.optimizerInEngine}). */
  readonly optimizerInEngine: boolean;
  /** Milliseconds per part of the run (`runTrainingLoop`'s timings). */
  readonly timings: TrainingLoopResult["timings"];
  /** The engine process's peak RSS and seconds per operation. */
  readonly engine: TrainingLoopResult["engine"];
}

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
  const { seed, batchSize, dropout } = checkTrainingLoopSettings(options);
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
  const { spec, pulled, maxTokens, tokenizer } = await openBaseModel(options, {
    maxTokens: (limit) => Math.min(128, limit),
  });
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
  const normalizeOutput = spec.normalize;
  // Scale of the normalized features while training (set from the first rows pooled; 1 once folded into the head).
  let featureScale: number | undefined;
  /** Normalize rows `0..rows` of `pooled` in place (times the feature scale); returns each row's norm. */
  const finishFeatures = (pooled: Float32Array, rows: number): Float64Array => {
    const norms = new Float64Array(rows);
    if (!normalizeOutput) return norms.fill(1);
    for (let r = 0; r < rows; r++) {
      const row = pooled.subarray(r * hidden, (r + 1) * hidden);
      norms[r] = Math.sqrt(dot(row, row));
    }
    // The mean norm of the first batch's rows (a training batch, or the first probes).
    const first = Math.min(rows, batchSize);
    if (featureScale === undefined)
      featureScale = norms.subarray(0, first).reduce((sum, norm) => sum + norm, 0) / first || 1;
    for (let r = 0; r < rows; r++) {
      const factor = (norms[r] as number) > 0 ? featureScale / (norms[r] as number) : 0;
      for (let i = r * hidden; i < (r + 1) * hidden; i++) pooled[i] = (pooled[i] as number) * factor;
    }
    return norms;
  };
  const random = createRandom(seed);
  // The heads' own builder (dropout + linear), so the saved head is train's classifier format.
  const head: Layer = createMlp({ inputs: hidden, outputs: classes.length, dropout, random });
  const classifier = createClassifier({
    model: head,
    classes,
    embedding: { modelId: options.modelReference ?? spec.id, dims: hidden },
  });
  /** Normalized, scaled vectors of token-id rows (what the head is trained on). */
  const features = async (encode: EncodeRows, rows: TokenRows): Promise<Float32Array[]> => {
    const { data } = await encode(rows);
    finishFeatures(data, rows.length);
    return rows.map((_, r) => data.subarray(r * hidden, (r + 1) * hidden));
  };
  const predictProbes = async (encode: EncodeRows): Promise<ProbePrediction[]> =>
    probeIds.length === 0
      ? []
      : classifier.predict(await features(encode, probeIds)).map((prediction, index) => ({
          text: options.probes?.[index] as string,
          label: prediction.label,
          probabilities: prediction.probabilities,
        }));
  let before: ProbePrediction[] = [];
  let after: ProbePrediction[] = [];

  /** Classification on the generic loop: an example is a training row's index. */
  const task: FinetuneTask<number> = {
    output: spec.pooling,
    headParameters: head.parameters(),
    sequences: (index) => [trainIds[index] as number[]],
    loss(examples, pooled, _shape, context) {
      const rows = examples.length;
      const norms = finishFeatures(pooled, rows);
      const input = { data: pooled, shape: [rows, hidden] };
      const logits = head.forward(input, { training: true, random: context.random });
      const result = softmaxCrossEntropy(
        logits,
        examples.map((i) => targets[i] as number),
      );
      const gradPooled = Float32Array.from(head.backward(result.grad, { inputGradient: true }).data);
      if (normalizeOutput) {
        // f = s·x/|x| ⇒ ∂L/∂x = (s/|x|)·(g − y·(y·g)), y = f/s the unit vector.
        const scale = featureScale as number;
        for (let r = 0; r < rows; r++) {
          const norm = norms[r] as number;
          const y = pooled.subarray(r * hidden, (r + 1) * hidden);
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
      return { loss: result.loss, gradOutput: gradPooled };
    },
    async validate(encode) {
      if (validationIds.length === 0) return undefined;
      const vectors = await features(encode, validationIds);
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
      return { metric: correct / vectors.length, loss: loss / vectors.length };
    },
    async start(encode) {
      before = await predictProbes(encode);
    },
    async finish(encode) {
      // Fold the training scale into the head: it now takes unit vectors, as embedders return them.
      if (normalizeOutput && featureScale !== undefined && featureScale !== 1) {
        for (const parameter of head.parameters())
          if (parameter.name.endsWith("weight"))
            for (let i = 0; i < parameter.value.length; i++)
              parameter.value[i] = (parameter.value[i] as number) * (featureScale as number);
        featureScale = 1;
      }
      after = await predictProbes(encode);
    },
    checkpointState: () => ({ labels: classes, featureScale: featureScale ?? null }),
    restoreState(state, path) {
      if (JSON.stringify(state.labels) !== JSON.stringify(classes)) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `Checkpoint ${path} was trained on labels ${JSON.stringify(state.labels)}, not ${JSON.stringify(classes)}: resume with the same data, or use another checkpoint folder.`,
          { details: { path } },
        );
      }
      if (typeof state.featureScale === "number") featureScale = state.featureScale;
    },
  };
  const { maxTokens: _maxTokens, ...settings } = options;
  const result = await runTrainingLoop({
    ...settings,
    bert,
    task,
    examples: trainIds.map((_, index) => index),
    maxTokens,
  });
  return {
    classifier,
    ...finetuneRunResult(result, truncated),
    optimizerInEngine: result.optimizerInEngine,
    timings: result.timings,
    engine: result.engine,
    ...(result.best === undefined ? {} : { validationAccuracy: result.best.metric }),
    ...(options.probes === undefined ? {} : { probes: { before, after } }),
  };
}
