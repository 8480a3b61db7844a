/**
 * @module train
 * Small dense heads on top of frozen embeddings, hand-written in TypeScript
 * (no tfjs): tensors, layers, losses, PyTorch-exact optimizers, learning-rate
 * schedules, a training loop with early stopping, classifier heads and
 * checkpoints. Re-exports only. Import from `embedkit/train`.
 *
 * ## The pieces
 * - **Tensors** — {@link Tensor} `{ data: Float32Array, shape }`, row-major;
 *   layers take `[batch, features]`. {@link stackRows} turns `Float32Array[]`
 *   (embeddings) into a batch.
 * - **Parameters** — {@link Parameter} `{ name, shape, value, grad, decay }`;
 *   `backward` adds into `grad`, optimizers update `value`. `decay: false`
 *   (biases) exempts a parameter from weight decay and L2.
 * - **Layers** — {@link createLinear} (weight `[out, in]` as PyTorch),
 *   {@link createRelu}, {@link createGelu} (exact erf GELU), {@link createDropout},
 *   {@link createSequential}, {@link createMlp}, {@link createEmbeddingBag}
 *   (hashed sparse features), {@link createColumnSum} (layers on column blocks, summed). `forward(x, { training, random })`
 *   then `backward(dLoss/dOutput)` → dLoss/dInput.
 * - **Losses** — {@link softmaxCrossEntropy}(logits, targets, { classWeights })
 *   and {@link binaryCrossEntropy}(logits, targets, { weights, positiveWeight })
 *   return `{ loss, grad }` (mean loss; grad w.r.t. the logits).
 * - **Optimizers** — {@link createOptimizer}(params, { name: "sgd" | "adam" |
 *   "adamw" | "adamax" | "rmsprop", learningRate, weightDecay, momentum,
 *   dampening, nesterov, betas, epsilon, amsgrad, alpha, centered }) with
 *   `zeroGrad()`, `step()` and a writable `learningRate`; update rules are
 *   those of `torch.optim` (tested against PyTorch numbers).
 * - **Schedules** — {@link createSchedule}({ name: "constant" | "linear" |
 *   "cosine" | "exponential" | "step", learningRate, totalSteps, warmupSteps })
 *   returns `step → learning rate`.
 * - **Training loop** — {@link trainModel}({ model, inputs, loss, optimizer, schedule,
 *   epochs, batchSize, seed, l2, validate, earlyStopping, onEpoch }): seeded
 *   shuffling, mini-batches, schedule per step, early stopping with best-weights
 *   restore. `loss(output, rowIndices)` makes it train any head.
 * - **Classifier** — {@link trainClassifier} wraps all of the above for
 *   labelled vectors; {@link saveClassifier} / {@link loadClassifier} and the
 *   generic {@link saveCheckpoint} / {@link loadCheckpoint} store heads with the
 *   embedding model id and dims they expect.
 *
 * @example A token-classification (or any) head with the low-level API
 * ```ts
 * import { createMlp, createRandom, trainModel, softmaxCrossEntropy, saveCheckpoint } from "embedkit/train";
 * const model = createMlp({ inputs: 384, hidden: [256], outputs: tags.length, activation: "gelu", dropout: 0.1, random: createRandom(7) });
 * const result = trainModel({
 *   model, inputs: tokenVectors,                       // Float32Array[] (one per token)
 *   loss: (logits, rows) => softmaxCrossEntropy(logits, rows.map((row) => tagIds[row])),
 *   optimizer: { name: "adamw", learningRate: 1e-3, weightDecay: 1e-2 },
 *   schedule: { name: "cosine", warmup: 0.1 }, epochs: 10, batchSize: 64, seed: 7,
 *   validate: (m) => ({ metric: myEntityF1(m) }), earlyStopping: { patience: 3 },
 *   onEpoch: (report) => console.log(report.epoch, report.trainLoss, report.validationMetric),
 * });
 * await saveCheckpoint("ner/", { kind: "token-classifier", model, embedding: { modelId, dims: 384 }, labels: tags });
 * ```
 */

/** Atomic file replacement (temp file, fsync, rename); the one implementation lives in `internal/`. */
export { writeFileAtomic as writeFileAtomically } from "../internal/atomic-write.js";
export type { Random } from "../vectors/random.js";
export { createRandom } from "../vectors/random.js";
export type { EmbeddingAdapter, TrainAdapterOptions, TrainAdapterResult } from "./adapter.js";
export { createAdapter, inBatchContrastiveLoss, loadAdapter, saveAdapter, trainAdapter } from "./adapter.js";
export type { AugmentImageOptions, PixelImage } from "./augment-image.js";
export {
  addGaussianNoise,
  adjustBrightnessContrast,
  augmentImage,
  flipImage,
  randomCrop,
  rotateImage,
} from "./augment-image.js";
export type {
  AugmentDatasetOptions,
  AugmentTextOptions,
  SynonymSource,
  TextAugmentation,
  WordVectorSynonymOptions,
} from "./augment-text.js";
export {
  augmentDataset,
  augmentText,
  createWordVectorSynonyms,
  joinUnits,
  TEXT_AUGMENTATIONS,
  textUnits,
} from "./augment-text.js";
export type { Checkpoint, SaveCheckpointOptions } from "./checkpoint.js";
export {
  CHECKPOINT_FILE,
  CHECKPOINT_VERSION,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.js";
export type {
  ClassificationMetric,
  Classifier,
  EmbeddingSpace,
  LoadedClassifier,
  Prediction,
  TrainClassifierOptions,
  TrainClassifierResult,
} from "./classifier.js";
export {
  ACCURACY_METRIC,
  createClassifier,
  loadClassifier,
  saveClassifier,
  stratifiedSplit,
  trainClassifier,
} from "./classifier.js";
export type {
  Activation,
  BackwardOptions,
  EmbeddingBagOptions,
  ForwardContext,
  Layer,
  LayerConfig,
  LinearOptions,
  MlpOptions,
} from "./layers.js";
export {
  ACTIVATIONS,
  createColumnSum,
  createDropout,
  createEmbeddingBag,
  createGelu,
  createLayer,
  createLinear,
  createMlp,
  createRelu,
  createSequential,
  erf,
  MAX_EMBEDDING_BUCKETS,
} from "./layers.js";
export type {
  BinaryCrossEntropyOptions,
  LossResult,
  SoftmaxCrossEntropyOptions,
} from "./losses.js";
export { binaryCrossEntropy, softmaxCrossEntropy, softmaxRows } from "./losses.js";
export type { Optimizer, OptimizerName, OptimizerOptions } from "./optimizers.js";
export { createOptimizer, OPTIMIZERS } from "./optimizers.js";
export type { CreateParameterOptions, Parameter } from "./parameter.js";
export { createParameter, zeroGradients } from "./parameter.js";
export type { LearningRateSchedule, ScheduleName, ScheduleOptions } from "./schedules.js";
export { createSchedule, SCHEDULES } from "./schedules.js";
export type { Tensor } from "./tensor.js";
export { assertFinite, createTensor, shapeSize, stackRows, tensorRow } from "./tensor.js";
export type {
  ClassifierFileMetric,
  EmbedFileProgress,
  TrainAdapterFromFileOptions,
  TrainAdapterFromFileResult,
  TrainClassifierFromFileOptions,
  TrainClassifierFromFileResult,
  TrainFromFileOptions,
} from "./train-from-file.js";
export { CLASSIFIER_FILE_METRICS, trainAdapterFromFile, trainClassifierFromFile } from "./train-from-file.js";
export type {
  EarlyStoppingOptions,
  EpochReport,
  TrainModelOptions,
  TrainModelResult,
  TrainScheduleOptions,
  ValidationResult,
} from "./train-model.js";
export { restoreParameters, snapshotParameters, trainModel } from "./train-model.js";
