/**
 * @module train/train-model
 * The training loop every head in `train` uses: seeded shuffling into
 * mini-batches, a learning-rate schedule applied before each optimizer step,
 * an optional L2 penalty in the loss (as opposed to the optimizer's weight
 * decay — see {@link TrainModelOptions.l2}), a validation metric after every epoch,
 * early stopping with patience, and restoring the best epoch's weights at the
 * end. Progress is reported per epoch through `onEpoch`.
 *
 * `trainModel` is generic over the loss: it hands each batch's row indices and the
 * model's output to {@link TrainModelOptions.loss}, so classification (softmax or
 * binary cross-entropy), token tagging and contrastive adapters all share it.
 */
import { EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";
import { createRandom, type Random } from "../vectors/random.js";
import type { Layer } from "./layers.js";
import type { LossResult } from "./losses.js";
import { createOptimizer, type Optimizer, type OptimizerOptions } from "./optimizers.js";
import { gradientSpans, type Parameter } from "./parameter.js";
import { createSchedule, type ScheduleName } from "./schedules.js";
import { stackRows, type Tensor } from "./tensor.js";

/** Learning-rate schedule settings of a training run (steps are derived from epochs and batches). */
export interface TrainScheduleOptions {
  /** Decay shape. @default "constant" */
  readonly name?: ScheduleName;
  /** Warmup length: a fraction of all steps when < 1, else a number of steps. @default 0 */
  readonly warmup?: number;
  /** Floor of linear / cosine decay. @default 0 */
  readonly minLearningRate?: number;
  /** γ of exponential (per epoch) and step (per `stepEpochs`) schedules. @default 0.1 (step), 0.9 (exponential) */
  readonly gamma?: number;
  /** Epochs between decays of the step schedule. @default a third of the epochs */
  readonly stepEpochs?: number;
}

/** Early stopping on the validation metric. */
export interface EarlyStoppingOptions {
  /** Stop after this many epochs without improvement. */
  readonly patience: number;
  /** Smallest change that counts as an improvement. @default 0 */
  readonly minDelta?: number;
}

/** What one finished epoch reports. */
export interface EpochReport {
  /** 1-based epoch number. */
  readonly epoch: number;
  /** Mean training loss over the epoch's batches (including the L2 term). */
  readonly trainLoss: number;
  /** Validation metric, when validation runs. */
  readonly validationMetric?: number;
  /** Validation loss, when validation runs and reports one. */
  readonly validationLoss?: number;
  /** Learning rate at the epoch's last step. */
  readonly learningRate: number;
  /** Whether this epoch is the best so far (its weights are kept). */
  readonly best: boolean;
  /** Wall-clock milliseconds of the epoch (training + validation). */
  readonly milliseconds: number;
}

/** A validation result: the metric to compare epochs by, plus the loss when known. */
export interface ValidationResult {
  /** The metric (higher is better unless {@link TrainModelOptions.higherIsBetter} is false). */
  readonly metric: number;
  /** Validation loss, for the learning curve. */
  readonly loss?: number;
}

/** Options of {@link trainModel}. */
export interface TrainModelOptions {
  /** The model to train (updated in place). */
  readonly model: Layer;
  /** Training rows (all of the model's input width). */
  readonly inputs: readonly Float32Array[];
  /** Loss of a batch: `output` is the model's output for rows `indices` (in that order). */
  readonly loss: (output: Tensor, indices: Int32Array) => LossResult;
  /** Optimizer settings (name, learning rate, weight decay, momentum…). */
  readonly optimizer: OptimizerOptions;
  /** Learning-rate schedule. @default constant */
  readonly schedule?: TrainScheduleOptions;
  /** Passes over the training rows. @default 10 */
  readonly epochs?: number;
  /** Rows per optimizer step. @default 32 */
  readonly batchSize?: number;
  /** Seed of shuffling and dropout. @default 42 */
  readonly seed?: number;
  /**
   * L2 penalty `(l2 / 2)·Σθ²` over decayed parameters, added to the loss and its
   * gradient. With SGD this equals `weightDecay`; with Adam-type optimizers it
   * is rescaled per weight by the adaptive denominator, which is why AdamW's
   * decoupled `weightDecay` usually regularises better. @default 0
   */
  readonly l2?: number;
  /** Evaluate the model after each epoch (the model is in inference mode). */
  readonly validate?: (model: Layer) => ValidationResult;
  /** Whether a larger validation metric is better (false for a loss). @default true */
  readonly higherIsBetter?: boolean;
  /** Stop when validation stops improving (needs `validate`). */
  readonly earlyStopping?: EarlyStoppingOptions;
  /** Put the best epoch's weights back at the end (needs `validate`). @default true */
  readonly restoreBest?: boolean;
  /** Called after every epoch. */
  readonly onEpoch?: (report: EpochReport) => void;
  /** Called after every batch (for fine-grained progress bars). */
  readonly onBatch?: (done: number, total: number) => void;
}

/** Result of {@link trainModel}. */
export interface TrainModelResult {
  /** One report per epoch run. */
  readonly history: readonly EpochReport[];
  /** Epoch (1-based) whose weights the model holds at the end. */
  readonly bestEpoch: number;
  /** Whether early stopping ended the run before `epochs`. */
  readonly stoppedEarly: boolean;
  /** Optimizer steps taken. */
  readonly steps: number;
  /** Training rows per second (all epochs, training passes only). */
  readonly examplesPerSecond: number;
}

/** Copy every parameter's values (a checkpoint in memory). */
export function snapshotParameters(parameters: readonly Parameter[]): Float32Array[] {
  return parameters.map((parameter) => parameter.value.slice());
}

/** Write a snapshot from {@link snapshotParameters} back. */
export function restoreParameters(parameters: readonly Parameter[], snapshot: readonly Float32Array[]): void {
  parameters.forEach((parameter, index) => {
    parameter.value.set(snapshot[index] as Float32Array);
  });
}

/**
 * Train `model` with mini-batch gradient descent.
 *
 * @throws EmbedkitError INVALID_INPUT for no rows; INVALID_OPTION for bad
 *   epochs / batch size / l2 / schedule settings; INVALID_INPUT when the loss
 *   becomes non-finite (learning rate too high, or NaN features).
 * @example
 * ```ts
 * const result = trainModel({
 *   model, inputs: vectors, optimizer: { name: "adamw", learningRate: 1e-3 },
 *   loss: (output, rows) => softmaxCrossEntropy(output, rows.map((row) => targets[row])),
 *   epochs: 20, batchSize: 32, schedule: { name: "cosine", warmup: 0.1 },
 * });
 * ```
 */
export function trainModel(options: TrainModelOptions): TrainModelResult {
  const { model, inputs } = options;
  if (inputs.length === 0)
    throw new EmbedkitError("INVALID_INPUT", "Training needs at least one example, received none.");
  const epochs = checkInteger("epochs", options.epochs ?? 10, { min: 1 });
  const batchSize = checkInteger("batchSize", options.batchSize ?? 32, { min: 1 });
  const l2 = options.l2 ?? 0;
  if (!(Number.isFinite(l2) && l2 >= 0)) {
    throw new EmbedkitError("INVALID_OPTION", `l2 must be a finite number >= 0, received ${String(l2)}.`);
  }
  const random: Random = createRandom(options.seed ?? 42);
  const parameters = model.parameters();
  const optimizer: Optimizer = createOptimizer(parameters, options.optimizer);
  const batchesPerEpoch = Math.ceil(inputs.length / batchSize);
  const totalSteps = batchesPerEpoch * epochs;
  const scheduleOptions = options.schedule ?? {};
  const warmup = scheduleOptions.warmup ?? 0;
  if (!(warmup >= 0))
    throw new EmbedkitError("INVALID_OPTION", `warmup must be >= 0, received ${String(warmup)}.`);
  const warmupSteps = Math.min(totalSteps, warmup < 1 ? Math.round(warmup * totalSteps) : Math.round(warmup));
  const scheduleName = scheduleOptions.name ?? "constant";
  const schedule = createSchedule({
    name: scheduleName,
    learningRate: optimizer.learningRate,
    totalSteps,
    warmupSteps,
    ...(scheduleOptions.minLearningRate === undefined
      ? {}
      : { minLearningRate: scheduleOptions.minLearningRate }),
    // Exponential and step decay are stated per epoch (what people tune), converted to steps here.
    ...(scheduleName === "exponential"
      ? { gamma: (scheduleOptions.gamma ?? 0.9) ** (1 / batchesPerEpoch) }
      : scheduleOptions.gamma === undefined
        ? {}
        : { gamma: scheduleOptions.gamma }),
    ...(scheduleName === "step"
      ? {
          stepSize: Math.max(
            1,
            Math.round((scheduleOptions.stepEpochs ?? Math.max(1, Math.ceil(epochs / 3))) * batchesPerEpoch),
          ),
        }
      : {}),
  });
  const higherIsBetter = options.higherIsBetter ?? true;
  const patience = options.earlyStopping?.patience;
  if (patience !== undefined) checkInteger("earlyStopping.patience", patience, { min: 1 });
  const minDelta = options.earlyStopping?.minDelta ?? 0;
  const restoreBest = options.restoreBest ?? true;

  const order = Array.from({ length: inputs.length }, (_, index) => index);
  const history: EpochReport[] = [];
  let best: { metric: number; loss: number | undefined; epoch: number; snapshot: Float32Array[] } | undefined;
  let sinceBest = 0;
  let stoppedEarly = false;
  let step = 0;
  let trainingMilliseconds = 0;
  let trainedRows = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = performance.now();
    const shuffled = random.shuffle(order);
    let lossSum = 0;
    for (let batch = 0; batch < batchesPerEpoch; batch++) {
      const indices = Int32Array.from(shuffled.slice(batch * batchSize, (batch + 1) * batchSize));
      const input = stackRows(inputs, indices);
      optimizer.zeroGrad();
      const output = model.forward(input, { training: true, random });
      const result = options.loss(output, indices);
      model.backward(result.grad, { inputGradient: false });
      let penalty = 0;
      if (l2 > 0) {
        for (const parameter of parameters) {
          if (!parameter.decay) continue;
          const { value, grad } = parameter;
          for (let i = 0; i < value.length; i++) {
            const theta = value[i] as number;
            penalty += theta * theta;
          }
          // After backward, so a row-sparse parameter gets the L2 term in the rows this batch touched.
          for (const [start, end] of gradientSpans(parameter)) {
            for (let i = start; i < end; i++) grad[i] = (grad[i] as number) + l2 * (value[i] as number);
          }
        }
      }
      const batchLoss = result.loss + 0.5 * l2 * penalty;
      if (!Number.isFinite(batchLoss)) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `The training loss became ${String(batchLoss)} at epoch ${epoch}, batch ${batch + 1}: lower the learning rate or check the inputs for NaN/Infinity.`,
          { details: { epoch, batch: batch + 1, learningRate: optimizer.learningRate } },
        );
      }
      lossSum += batchLoss * indices.length;
      optimizer.learningRate = schedule(step);
      optimizer.step();
      step++;
      options.onBatch?.(batch + 1, batchesPerEpoch);
    }
    trainingMilliseconds += performance.now() - started;
    trainedRows += inputs.length;
    const validation = options.validate?.(model);
    let isBest = false;
    if (validation !== undefined) {
      const metric = validation.metric;
      // A tie on the metric (common with accuracy on small sets) goes to the lower validation loss.
      const tie = best !== undefined && metric === best.metric && minDelta === 0;
      const lowerLoss =
        tie && validation.loss !== undefined && best?.loss !== undefined && validation.loss < best.loss;
      const improved =
        best === undefined ||
        (higherIsBetter ? metric > best.metric + minDelta : metric < best.metric - minDelta) ||
        lowerLoss;
      if (improved) {
        best = { metric, loss: validation.loss, epoch, snapshot: snapshotParameters(parameters) };
        sinceBest = 0;
        isBest = true;
      } else {
        sinceBest++;
      }
    }
    const report: EpochReport = {
      epoch,
      trainLoss: lossSum / inputs.length,
      ...(validation === undefined ? {} : { validationMetric: validation.metric }),
      ...(validation?.loss === undefined ? {} : { validationLoss: validation.loss }),
      learningRate: optimizer.learningRate,
      best: validation === undefined ? true : isBest,
      milliseconds: performance.now() - started,
    };
    history.push(report);
    options.onEpoch?.(report);
    if (patience !== undefined && validation !== undefined && sinceBest >= patience) {
      stoppedEarly = epoch < epochs;
      break;
    }
  }
  let bestEpoch = history.length;
  if (best !== undefined && restoreBest) {
    restoreParameters(parameters, best.snapshot);
    bestEpoch = best.epoch;
  }
  return {
    history,
    bestEpoch,
    stoppedEarly,
    steps: step,
    examplesPerSecond: trainingMilliseconds > 0 ? (trainedRows / trainingMilliseconds) * 1000 : 0,
  };
}
