/**
 * @module train/classifier
 * A classifier head on frozen embeddings: an MLP (or a linear layer) trained
 * with softmax cross-entropy through {@link trainModel}, with optional class weights,
 * a stratified seeded validation split, early stopping on a validation metric
 * and best-epoch restore. The result records the embedding model it was
 * trained on, so predicting with vectors from another model is refused
 * ({@link Classifier.assertEmbedding}); save and load it with
 * `saveClassifier` / `loadClassifier` (train/checkpoint).
 */
import { EmbedkitError } from "../errors.js";
import { createRandom } from "../vectors/random.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { type Activation, createMlp, type Layer } from "./layers.js";
import { softmaxCrossEntropy, softmaxRows } from "./losses.js";
import type { OptimizerOptions } from "./optimizers.js";
import { assertFinite, stackRows } from "./tensor.js";
import type {
  EarlyStoppingOptions,
  EpochReport,
  TrainModelResult,
  TrainScheduleOptions,
} from "./train-model.js";
import { trainModel } from "./train-model.js";

/** The embedding space a head was trained in. */
export interface EmbeddingSpace {
  /** Model id (e.g. `"bge-small-en-v1.5"`). */
  readonly modelId: string;
  /** Vector length. */
  readonly dims: number;
}

/** A validation metric over class indices: `compute(truth, predicted)`, higher is better. */
export interface ClassificationMetric {
  /** Name shown in progress and reports (e.g. `"macro-F1"`). */
  readonly name: string;
  /** The metric of predicted class indices against the true ones. */
  compute(truth: readonly number[], predicted: readonly number[]): number;
}

/** Built-in validation metrics; pass a {@link ClassificationMetric} for others (e.g. eval's macroF1). */
export const ACCURACY_METRIC: ClassificationMetric = {
  name: "accuracy",
  compute(truth, predicted) {
    let correct = 0;
    for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) correct++;
    return truth.length === 0 ? 0 : correct / truth.length;
  },
};

/** Options of {@link trainClassifier}. */
export interface TrainClassifierOptions {
  /** Training vectors (one per example, all `embedding.dims` long, finite). */
  readonly vectors: readonly Float32Array[];
  /** One label per vector; at least two distinct labels. */
  readonly labels: readonly string[];
  /** The embedding model the vectors came from (recorded for predict-time checks). */
  readonly embedding: EmbeddingSpace;
  /** Held-out vectors and labels for the validation metric; otherwise see `validationSplit`. */
  readonly validation?: { readonly vectors: readonly Float32Array[]; readonly labels: readonly string[] };
  /** Fraction of the training set held out (stratified, seeded) when no `validation` is given; 0 = none. @default 0 */
  readonly validationSplit?: number;
  /** Hidden layer sizes; `[]` = multinomial logistic regression. @default [] */
  readonly hidden?: readonly number[];
  /** Hidden activation. @default "relu" */
  readonly activation?: Activation;
  /** Dropout rate. @default 0 */
  readonly dropout?: number;
  /** Optimizer. @default { name: "adamw", learningRate: 1e-3 } */
  readonly optimizer?: OptimizerOptions;
  /** Learning-rate schedule and warmup. @default constant */
  readonly schedule?: TrainScheduleOptions;
  /** @default 20 */
  readonly epochs?: number;
  /** @default 32 */
  readonly batchSize?: number;
  /** Seed of initialisation, split, shuffling and dropout. @default 42 */
  readonly seed?: number;
  /** L2 penalty in the loss (see {@link TrainModelOptions.l2}). @default 0 */
  readonly l2?: number;
  /** `"balanced"` (n / (classes · countᶜ), as scikit-learn), explicit weights per label, or none. */
  readonly classWeights?: "balanced" | Readonly<Record<string, number>>;
  /** Validation metric used for early stopping and best-epoch choice. @default accuracy */
  readonly metric?: ClassificationMetric;
  /** Early stopping on the validation metric. */
  readonly earlyStopping?: EarlyStoppingOptions;
  /** Progress after every epoch. */
  readonly onEpoch?: (report: EpochReport) => void;
  /** Progress after every batch. */
  readonly onBatch?: (done: number, total: number) => void;
}

/** A classification for one input. */
export interface Prediction {
  /** Most probable label. */
  readonly label: string;
  /** Its probability. */
  readonly score: number;
  /** Probability of every class, in {@link Classifier.classes} order. */
  readonly probabilities: Readonly<Record<string, number>>;
}

/** A trained classifier head. */
export interface Classifier {
  /** Class labels in output order. */
  readonly classes: readonly string[];
  /** The embedding space it expects. */
  readonly embedding: EmbeddingSpace;
  /** The network (call `forward` with `{ training: false }`). */
  readonly model: Layer;
  /** Class probabilities per vector (rows in {@link Classifier.classes} order). */
  probabilities(vectors: readonly Float32Array[]): Float32Array[];
  /** Most probable label and all probabilities per vector. */
  predict(vectors: readonly Float32Array[]): Prediction[];
  /**
   * Throw unless `space` is the one the classifier was trained in.
   *
   * @throws EmbedkitError MODEL_MISMATCH naming both models.
   */
  assertEmbedding(space: EmbeddingSpace): void;
}

/** Result of {@link trainClassifier}. */
export interface TrainClassifierResult extends TrainModelResult {
  /** The trained classifier (best epoch's weights when validating). */
  readonly classifier: Classifier;
  /** Name of the validation metric in `history`. */
  readonly metricName: string;
  /** Rows used for training and validation after the split. */
  readonly trainSize: number;
  readonly validationSize: number;
}

/**
 * Wrap a model as a {@link Classifier} (used after training and after loading).
 *
 * @throws EmbedkitError INVALID_INPUT when classes are fewer than 2 or repeated.
 */
export function createClassifier(options: {
  readonly model: Layer;
  readonly classes: readonly string[];
  readonly embedding: EmbeddingSpace;
}): Classifier {
  const { model, classes, embedding } = options;
  if (classes.length < 2 || new Set(classes).size !== classes.length) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `A classifier needs at least two distinct classes, received ${JSON.stringify(classes)}.`,
    );
  }
  const probabilities = (vectors: readonly Float32Array[]): Float32Array[] => {
    if (vectors.length === 0) return [];
    vectors.forEach((vector, index) => {
      if (vector.length !== embedding.dims) {
        throw new EmbedkitError(
          "DIMENSION_MISMATCH",
          `Vector ${index} has ${vector.length} dimensions, but the classifier was trained on ${embedding.dims}-dimensional ${embedding.modelId} embeddings.`,
          { details: { index, expected: embedding.dims, received: vector.length } },
        );
      }
    });
    assertFinite(vectors, "Vector");
    const rows: Float32Array[] = [];
    // Chunks keep memory flat for large inputs.
    for (let start = 0; start < vectors.length; start += 1024) {
      const batch = stackRows(vectors.slice(start, start + 1024));
      const output = model.forward(batch, { training: false });
      const probabilityRows = softmaxRows(output);
      for (let r = 0; r < (batch.shape[0] as number); r++) {
        rows.push(probabilityRows.slice(r * classes.length, (r + 1) * classes.length));
      }
    }
    return rows;
  };
  return {
    classes,
    embedding,
    model,
    probabilities,
    predict(vectors) {
      return probabilities(vectors).map((row) => {
        let best = 0;
        for (let c = 1; c < row.length; c++) if ((row[c] as number) > (row[best] as number)) best = c;
        const byLabel: Record<string, number> = {};
        classes.forEach((label, c) => {
          byLabel[label] = row[c] as number;
        });
        return { label: classes[best] as string, score: row[best] as number, probabilities: byLabel };
      });
    },
    assertEmbedding(space) {
      if (space.modelId !== embedding.modelId || space.dims !== embedding.dims) {
        throw new EmbedkitError(
          "MODEL_MISMATCH",
          `This classifier was trained on ${embedding.modelId} (${embedding.dims} dims) embeddings, but received ${space.modelId} (${space.dims} dims). Embed with --model ${embedding.modelId}, or retrain the classifier on ${space.modelId}.`,
          { details: { expected: embedding, received: space } },
        );
      }
    },
  };
}

function checkLabelled(
  vectors: readonly Float32Array[],
  labels: readonly string[],
  dims: number,
  what: string,
): void {
  if (!Array.isArray(labels) || vectors.length !== labels.length) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${what}: one label per vector is needed, received ${vectors.length} vectors and ${Array.isArray(labels) ? labels.length : "no"} labels.`,
    );
  }
  labels.forEach((label, index) => {
    if (typeof label !== "string" || label.trim() === "") {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${what}: label ${index} is missing (${JSON.stringify(label)}); every example needs a non-empty label.`,
        { details: { index } },
      );
    }
  });
  vectors.forEach((vector, index) => {
    if (!(vector instanceof Float32Array) || vector.length !== dims) {
      throw new EmbedkitError(
        "DIMENSION_MISMATCH",
        `${what}: vector ${index} has ${vector?.length ?? 0} dimensions, expected ${dims} (the embedding model's).`,
        { details: { index, expected: dims, received: vector?.length ?? 0 } },
      );
    }
  });
  assertFinite(vectors, `${what}: vector`);
}

/**
 * Split indices into train and validation, stratified by label: each class
 * with at least two examples gives round(fraction · count) (at least one) of
 * them, chosen by a seeded shuffle.
 */
export function stratifiedSplit(
  labels: readonly string[],
  fraction: number,
  seed: number,
): { readonly train: number[]; readonly validation: number[] } {
  const random = createRandom(seed);
  const byLabel = new Map<string, number[]>();
  labels.forEach((label, index) => {
    const list = byLabel.get(label) ?? [];
    list.push(index);
    byLabel.set(label, list);
  });
  const train: number[] = [];
  const validation: number[] = [];
  for (const label of [...byLabel.keys()].sort()) {
    const indices = random.shuffle(byLabel.get(label) as number[]);
    const count = indices.length < 2 ? 0 : Math.max(1, Math.round(fraction * indices.length));
    validation.push(...indices.slice(0, count));
    train.push(...indices.slice(count));
  }
  return { train: train.sort((a, b) => a - b), validation: validation.sort((a, b) => a - b) };
}

/**
 * Train a classifier head on embedding vectors.
 *
 * @throws EmbedkitError INVALID_INPUT for missing labels, a single class,
 *   mismatched lengths or NaN features; DIMENSION_MISMATCH for vectors of the
 *   wrong length; INVALID_OPTION for bad training settings.
 * @example
 * ```ts
 * const { classifier, history } = trainClassifier({
 *   vectors, labels, embedding: { modelId: embedder.model.id, dims: embedder.model.dims },
 *   hidden: [256], dropout: 0.1, optimizer: { name: "adamw", learningRate: 1e-3 },
 *   schedule: { name: "cosine", warmup: 0.1 }, epochs: 20, validationSplit: 0.1,
 *   earlyStopping: { patience: 3 },
 * });
 * classifier.predict(await embedder.embed(["great film"]).then((e) => e.vectors));
 * ```
 */
export function trainClassifier(options: TrainClassifierOptions): TrainClassifierResult {
  const { embedding } = options;
  checkLabelled(options.vectors, options.labels, embedding.dims, "Training data");
  if (options.vectors.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      "Training data is empty; provide at least two labelled examples of two classes.",
    );
  }
  const seed = options.seed ?? 42;
  let trainVectors = options.vectors;
  let trainLabels = options.labels;
  let validationVectors: readonly Float32Array[] = [];
  let validationLabels: readonly string[] = [];
  if (options.validation !== undefined) {
    checkLabelled(options.validation.vectors, options.validation.labels, embedding.dims, "Validation data");
    validationVectors = options.validation.vectors;
    validationLabels = options.validation.labels;
  } else if ((options.validationSplit ?? 0) > 0) {
    const fraction = options.validationSplit as number;
    if (!(fraction < 1)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `validationSplit must be in [0, 1), received ${String(fraction)}.`,
      );
    }
    const split = stratifiedSplit(options.labels, fraction, seed);
    trainVectors = split.train.map((index) => options.vectors[index] as Float32Array);
    trainLabels = split.train.map((index) => options.labels[index] as string);
    validationVectors = split.validation.map((index) => options.vectors[index] as Float32Array);
    validationLabels = split.validation.map((index) => options.labels[index] as string);
  }
  const classes = [...new Set(trainLabels)].sort();
  if (classes.length < 2) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Training data has only one class (${JSON.stringify(classes[0])}); a classifier needs examples of at least two labels.`,
      { details: { classes } },
    );
  }
  const classIndex = new Map(classes.map((label, index) => [label, index]));
  const unknown = validationLabels.find((label) => !classIndex.has(label));
  if (unknown !== undefined) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Validation label ${JSON.stringify(unknown)} never occurs in the training data (classes: ${classes.join(", ")}).`,
    );
  }
  const targets = Int32Array.from(trainLabels, (label) => classIndex.get(label) as number);
  let classWeights: Float64Array | undefined;
  if (options.classWeights === "balanced") {
    const counts = new Float64Array(classes.length);
    for (const target of targets) counts[target] = (counts[target] as number) + 1;
    classWeights = counts.map((count) => targets.length / (classes.length * count));
  } else if (options.classWeights !== undefined) {
    const given = options.classWeights;
    classWeights = Float64Array.from(classes, (label) => {
      const weight = given[label] ?? 1;
      if (!(Number.isFinite(weight) && weight >= 0)) {
        throw new EmbedkitError(
          "INVALID_OPTION",
          `Class weight of ${JSON.stringify(label)} must be >= 0, received ${String(weight)}.`,
        );
      }
      return weight;
    });
  }
  const random = createRandom(seed);
  const model = createMlp({
    inputs: embedding.dims,
    hidden: options.hidden ?? [],
    outputs: classes.length,
    activation: options.activation ?? "relu",
    dropout: options.dropout ?? 0,
    random,
  });
  const classifier = createClassifier({ model, classes, embedding });
  const metric = options.metric ?? ACCURACY_METRIC;
  const validationTargets = validationLabels.map((label) => classIndex.get(label) as number);
  const lossOptions = classWeights === undefined ? {} : { classWeights };
  const result = trainModel({
    model,
    inputs: trainVectors,
    loss: (output, indices) =>
      softmaxCrossEntropy(
        output,
        Int32Array.from(indices, (index) => targets[index] as number),
        lossOptions,
      ),
    optimizer: options.optimizer ?? { name: "adamw", learningRate: 1e-3 },
    ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
    epochs: options.epochs ?? 20,
    batchSize: options.batchSize ?? 32,
    seed,
    ...(options.l2 === undefined ? {} : { l2: options.l2 }),
    ...(validationVectors.length === 0
      ? {}
      : {
          validate: () => {
            const predicted: number[] = [];
            let loss = 0;
            for (let start = 0; start < validationVectors.length; start += 1024) {
              const rows = validationVectors.slice(start, start + 1024);
              const output = model.forward(stackRows(rows), { training: false });
              loss +=
                softmaxCrossEntropy(output, validationTargets.slice(start, start + 1024), lossOptions).loss *
                rows.length;
              const columns = classes.length;
              for (let r = 0; r < rows.length; r++) {
                let best = 0;
                for (let c = 1; c < columns; c++) {
                  if ((output.data[r * columns + c] as number) > (output.data[r * columns + best] as number))
                    best = c;
                }
                predicted.push(best);
              }
            }
            return {
              metric: metric.compute(validationTargets, predicted),
              loss: loss / validationVectors.length,
            };
          },
        }),
    ...(options.earlyStopping === undefined ? {} : { earlyStopping: options.earlyStopping }),
    ...(options.onEpoch === undefined ? {} : { onEpoch: options.onEpoch }),
    ...(options.onBatch === undefined ? {} : { onBatch: options.onBatch }),
  });
  return {
    ...result,
    classifier,
    metricName: metric.name,
    trainSize: trainVectors.length,
    validationSize: validationVectors.length,
  };
}

/**
 * Save a classifier to folder `dir` (see train/checkpoint for the layout).
 *
 * @example
 * ```ts
 * await saveClassifier("clf/", classifier, { epochs: 20 });
 * ```
 */
export async function saveClassifier(
  dir: string,
  classifier: Classifier,
  metadata: Readonly<Record<string, unknown>> = {},
): Promise<void> {
  await saveCheckpoint(dir, {
    kind: "classifier",
    model: classifier.model,
    embedding: classifier.embedding,
    labels: classifier.classes,
    metadata,
  });
}

/** A classifier read back from disk, with what was saved alongside it. */
export interface LoadedClassifier extends Classifier {
  /** Training settings and history saved with it. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/**
 * Load a classifier saved by {@link saveClassifier}.
 *
 * @throws EmbedkitError FILE_NOT_FOUND / MALFORMED_FILE as `loadCheckpoint`,
 *   MALFORMED_FILE when the labels do not match the output layer.
 */
export async function loadClassifier(dir: string): Promise<LoadedClassifier> {
  const checkpoint = await loadCheckpoint(dir, { kind: "classifier" });
  const labels = checkpoint.labels ?? [];
  let outputs: number | undefined;
  try {
    const probe = checkpoint.model.forward(
      { data: new Float32Array(checkpoint.embedding.dims), shape: [1, checkpoint.embedding.dims] },
      { training: false },
    );
    outputs = probe.shape[1];
  } catch {
    outputs = undefined; // the first layer does not take embedding.dims inputs
  }
  if (outputs !== labels.length) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${dir}: the classifier lists ${labels.length} labels but its network outputs ${String(outputs)} scores (and expects ${checkpoint.embedding.dims}-dim inputs); re-train or re-save it.`,
    );
  }
  return {
    ...createClassifier({ model: checkpoint.model, classes: labels, embedding: checkpoint.embedding }),
    metadata: checkpoint.metadata,
  };
}
