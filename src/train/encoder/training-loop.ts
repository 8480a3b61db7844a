/**
 * @module train/encoder/training-loop
 * The task-independent half of encoder fine-tuning (issue #22): one loop that
 * every task — sequence classification, token classification, contrastive
 * embeddings — runs on. A task ({@link FinetuneTask}) says which encoder output
 * it needs, which head parameters it trains, which token-id rows an example
 * contributes, and turns the encoder's output into a loss and the gradient with
 * respect to that output; it validates with an `encode` function. The loop owns
 * everything else:
 *
 * - engine start/close (`createTrainableEncoder`), the memory check before it
 *   starts (`assertBatchFitsMemory`);
 * - seeded per-epoch shuffling, batches padded to a power-of-two length (at
 *   least {@link TOKEN_BUCKET} tokens) and to the full batch size (few shapes
 *   for the engine to compile: each new one costs a JIT compile), dropout seeds
 *   per step;
 * - forward (training) → task loss / gradient → backward → global gradient
 *   clipping over encoder + head → LR schedule with warmup → optimizer step
 *   (`train`'s optimizers, PyTorch-exact) → sync;
 * - progress callbacks, validation after every epoch with early stopping and
 *   the best epoch's weights restored, checkpoints (`train/finetune` format)
 *   every N steps and at epoch ends, resume that ends where an uninterrupted
 *   run ends, tokens/s and wall time per epoch, history.
 *
 * The contract is documented in docs/FINETUNE-SEAM.md ("Training loop").
 */
import { EmbedkitError } from "../../errors.js";
import { checkInteger, checkNumber } from "../../internal/options.js";
import { createRandom, type Random } from "../../vectors/random.js";
import { loadLatestCheckpoint, saveTrainingCheckpoint } from "../finetune/checkpoints.js";
import { assertBatchFitsMemory, JAX_ENGINE_MEMORY, type TrainingMemoryConfig } from "../finetune/memory.js";
import { createOptimizer, type OptimizerOptions, type OptimizerState } from "../optimizers.js";
import { type Parameter, zeroGradients } from "../parameter.js";
import { createSchedule } from "../schedules.js";
import type { EarlyStoppingOptions, EpochReport, TrainScheduleOptions } from "../train-model.js";
import { restoreParameters, snapshotParameters } from "../train-model.js";
import type { OnnxBert } from "./onnx-bert.js";
import {
  createTrainableEncoder,
  type EncoderOutput,
  type EngineStats,
  type TokenBatch,
  type TrainableEncoder,
} from "./sidecar.js";

/** The shortest padded length; longer batches are padded to the next power of two (few shapes to compile). */
export const TOKEN_BUCKET = 16;

/** Token-id rows (each with [CLS]/[SEP], at most the loop's `maxTokens` long). */
export type TokenRows = readonly (readonly number[])[];

/**
 * The encoder's output for some rows, row-major: `[rows, hidden]` for pooled
 * outputs (`mean`, `cls`), `[rows, tokens, hidden]` for `tokens` (positions past
 * a row's length are padding).
 */
export interface EncodedRows {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Runs the encoder (no dropout, no gradient) on token-id rows, in the task's output kind. */
export type EncodeRows = (rows: TokenRows) => Promise<EncodedRows>;

/** What a task's {@link FinetuneTask.loss} learns about the step it is in. */
export interface StepContext {
  /** 1-based epoch. */
  readonly epoch: number;
  /** 0-based batch in the epoch. */
  readonly batch: number;
  /** Optimizer steps taken before this one (0-based global step). */
  readonly step: number;
  /**
   * Generator for the task's own randomness in this step (its head's dropout), seeded by
   * the run's seed and `step`: a resumed run draws the same numbers.
   */
  readonly random: Random;
}

/** A task's loss on one batch. */
export interface StepLoss {
  /** Mean loss over the batch's examples (reported, and the epoch's training loss). */
  readonly loss: number;
  /** Gradient of `loss` with respect to the encoder output the task was given (same length). */
  readonly gradOutput: Float32Array;
}

/** A task's validation result: higher `metric` is better. */
export interface TaskValidation {
  /** The metric epochs are compared by (accuracy, F1, nDCG…); higher is better. */
  readonly metric: number;
  /** Validation loss; breaks ties of `metric` (lower wins) and goes into the history. */
  readonly loss?: number;
  /** Anything else the task wants to report (per-class scores…); kept with the best epoch. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * A fine-tuning task on the generic loop ({@link runTrainingLoop}).
 *
 * Per step the loop takes a batch of examples, runs the encoder on the rows
 * they contribute ({@link FinetuneTask.sequences}, concatenated in example
 * order), hands the output of those rows to {@link FinetuneTask.loss}, and
 * back-propagates the returned gradient through the encoder. The task's head
 * (if any) does its own forward and backward inside `loss`, accumulating into
 * its parameters' `grad` (zeroed by the loop before each step); the loop clips,
 * schedules and steps encoder and head parameters together.
 */
export interface FinetuneTask<Example> {
  /** Encoder output the task needs: pooled (`mean` / `cls`) or every token's state. */
  readonly output: EncoderOutput;
  /** Head parameters trained with the encoder (`[]` for contrastive embeddings). */
  readonly headParameters: readonly Parameter[];
  /** Token-id rows an example contributes (1, or 2–3 for pairs/triplets); called once per example. */
  sequences(example: Example): TokenRows;
  /**
   * Loss of a batch and its gradient with respect to `output`.
   * @param examples the batch's examples
   * @param output the encoder output of their rows (see {@link EncodedRows}); the task may change it in place
   * @param shape `[rows, hidden]` or `[rows, tokens, hidden]`
   */
  loss(
    examples: readonly Example[],
    output: Float32Array,
    shape: readonly number[],
    context: StepContext,
  ): StepLoss;
  /** Validation after each epoch; `undefined` when the task has no validation data (no early stopping). */
  validate?(encode: EncodeRows): Promise<TaskValidation | undefined>;
  /** Called once the engine runs (after a resume), before the first step: e.g. predictions before training. */
  start?(encode: EncodeRows): Promise<void>;
  /** Called after training with the kept (best) weights, before the engine stops. */
  finish?(encode: EncodeRows): Promise<void>;
  /** Task state stored in checkpoints (JSON), next to the loop's own. */
  checkpointState?(): Record<string, unknown>;
  /**
   * Restore the task state of a checkpoint (the `extra` object `checkpointState` wrote into).
   * Throws (INVALID_INPUT naming `path`) when the checkpoint belongs to other data.
   */
  restoreState?(state: Readonly<Record<string, unknown>>, path: string): void;
}

/** Loop settings shared by every task (the option names of `finetune*` functions). */
export interface TrainingLoopSettings {
  /** Optimizer (names and semantics of `train`). @default AdamW, learning rate 2e-5, weight decay 0.01 */
  readonly optimizer?: OptimizerOptions;
  /** Schedule. @default linear decay with 10 % warmup */
  readonly schedule?: TrainScheduleOptions;
  /** Passes over the training examples. @default 3 */
  readonly epochs?: number;
  /** Examples per step. @default 16 */
  readonly batchSize?: number;
  /** Dropout inside the encoder (and the task's head). @default 0.1 */
  readonly dropout?: number;
  /** Clip the global gradient norm (encoder + head) to this (0 = off). @default 1 */
  readonly clipNorm?: number;
  /** Seed of shuffling and dropout (and of the task's split and head). @default 42 */
  readonly seed?: number;
  /**
   * Batch examples of similar length (see {@link epochBatches}): far less padding when lengths
   * vary (MSRA: half the padded tokens), at the price of less random batches. Off for
   * contrastive embeddings, whose in-batch negatives should stay random. @default false
   */
  readonly groupByLength?: boolean;
  /**
   * Folder for training checkpoints (`train/finetune` format: encoder weights by ONNX
   * initializer name, head as `head.<name>`, optimizer state, step, epoch, batch, history),
   * written at each epoch end and every `checkpointEvery` steps.
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
  /** Stop when the validation metric stops improving. */
  readonly earlyStopping?: EarlyStoppingOptions;
  /**
   * Memory the run may use, in bytes: a batch size whose estimated peak does not fit is refused
   * (INVALID_OPTION naming the largest batch size that fits) before the engine starts.
   * @default free memory (capped by a cgroup limit)
   */
  readonly availableMemory?: number;
  /** Where the Python environment lives. @default EMBEDKIT_HOME */
  readonly home?: string;
  /**
   * Keep the weights and the optimizer state in the engine (Adam and AdamW; the other
   * optimizers always step in TypeScript): a step then exchanges no weights or gradients,
   * only token ids, the output, its gradient and the gradient norm. Same update rule
   * (`train/optimizers`, float32 moments instead of float64). @default true
   */
  readonly optimizerInEngine?: boolean;
  /** After every epoch. */
  readonly onEpoch?: (report: EpochReport) => void;
  /** After every step, with the batch's loss. */
  readonly onBatch?: (done: number, total: number, loss: number) => void;
  /** Log lines (resume, warnings). */
  readonly onLog?: (line: string) => void;
}

/** Options of {@link runTrainingLoop}. */
export interface TrainingLoopOptions<Example> extends TrainingLoopSettings {
  /** The base encoder read from its ONNX file (`readOnnxBert`). */
  readonly bert: OnnxBert;
  readonly task: FinetuneTask<Example>;
  /** Training examples (at least one). */
  readonly examples: readonly Example[];
  /** Longest row in tokens (batches are padded to {@link bucketLength}, at most this). */
  readonly maxTokens: number;
}

/** Result of {@link runTrainingLoop}. */
export interface TrainingLoopResult {
  /** Encoder weights kept (best epoch's, or the last), by ONNX initializer name: the export map. */
  readonly encoderWeights: Map<string, Float32Array>;
  readonly history: readonly EpochReport[];
  /** Epoch whose weights are kept. */
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  /** Optimizer steps taken (with those before a resume). */
  readonly steps: number;
  /** Training tokens (real, unpadded) per second of training time. */
  readonly tokensPerSecond: number;
  /** Wall-clock seconds per epoch (training + validation), in order. */
  readonly epochSeconds: readonly number[];
  /** Validation of the kept weights (undefined without validation). */
  readonly best?: TaskValidation & { readonly epoch: number };
  /** Whether the optimizer stepped inside the engine (see {@link TrainingLoopSettings.optimizerInEngine}). */
  readonly optimizerInEngine: boolean;
  /** Milliseconds spent per part of the run (forward, loss, backward, update, validation, checkpoints). */
  readonly timings: Readonly<Record<LoopPhase, number>>;
  /** The engine process's peak RSS and its seconds per operation, at the end of the run. */
  readonly engine: EngineStats;
}

/** What every fine-tuning task (classifier, embeddings, ner) returns of its run, unchanged. */
export interface FinetuneRunResult
  extends Pick<
    TrainingLoopResult,
    "encoderWeights" | "history" | "bestEpoch" | "stoppedEarly" | "steps" | "tokensPerSecond" | "epochSeconds"
  > {
  /** Training examples cut to `maxTokens`. */
  readonly truncated: number;
}

/** The {@link FinetuneRunResult} fields of a loop's result, with the count of cut examples. */
export function finetuneRunResult(result: TrainingLoopResult, truncated: number): FinetuneRunResult {
  return {
    encoderWeights: result.encoderWeights,
    history: result.history,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    steps: result.steps,
    tokensPerSecond: result.tokensPerSecond,
    epochSeconds: result.epochSeconds,
    truncated,
  };
}

/** Parts of a run that {@link TrainingLoopResult.timings} reports. */
export type LoopPhase = "forward" | "loss" | "backward" | "update" | "validation" | "checkpoints";

/** The checked loop settings ({@link checkTrainingLoopSettings}). */
export interface CheckedLoopSettings {
  readonly seed: number;
  readonly checkpointEvery: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly dropout: number;
  readonly clipNorm: number;
  readonly groupByLength: boolean;
}

/**
 * Check the loop settings (call before expensive work; {@link runTrainingLoop} calls it too).
 * @throws EmbedkitError INVALID_OPTION naming the option
 */
export function checkTrainingLoopSettings(settings: TrainingLoopSettings): CheckedLoopSettings {
  const seed = checkInteger("seed", settings.seed ?? 42, { min: 0 });
  const checkpointEvery = checkInteger("checkpointEvery", settings.checkpointEvery ?? 0, { min: 0 });
  if (
    (settings.resume === true || settings.checkpointEvery !== undefined) &&
    settings.checkpointDir === undefined
  ) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "resume and checkpointEvery need checkpointDir (the folder the checkpoints are written to).",
      { details: { option: "checkpointDir" } },
    );
  }
  const epochs = checkInteger("epochs", settings.epochs ?? 3, { min: 1, max: 1000 });
  const batchSize = checkInteger("batchSize", settings.batchSize ?? 16, { min: 1, max: 1024 });
  const dropout = checkNumber("dropout", settings.dropout ?? 0.1, { min: 0, max: 0.9 });
  const clipNorm = checkNumber("clipNorm", settings.clipNorm ?? 1, { min: 0 });
  if (settings.earlyStopping !== undefined)
    checkInteger("earlyStopping.patience", settings.earlyStopping.patience, { min: 1 });
  return {
    seed,
    checkpointEvery,
    epochs,
    batchSize,
    dropout,
    clipNorm,
    groupByLength: settings.groupByLength === true,
  };
}

/** Batches per mega-chunk that {@link epochBatches} sorts by length when grouping. */
export const GROUP_CHUNK_BATCHES = 64;

/**
 * One epoch's batches of example indices, from the epoch's generator: a shuffle cut into
 * `batchSize` pieces; with `groupByLength`, the shuffle is cut into chunks of
 * {@link GROUP_CHUNK_BATCHES} batches, each chunk sorted by length (longest first) and cut into
 * batches, and the batch order shuffled (the Hugging Face Trainer's `group_by_length` idea).
 * Every index appears once, in `ceil(n / batchSize)` batches either way.
 * @param lengths each example's length in tokens (its longest row)
 */
export function epochBatches(
  lengths: readonly number[],
  batchSize: number,
  random: Random,
  groupByLength: boolean,
): number[][] {
  const shuffled = random.shuffle(Array.from({ length: lengths.length }, (_, index) => index));
  const cut = (indices: readonly number[]): number[][] => {
    const batches: number[][] = [];
    for (let start = 0; start < indices.length; start += batchSize)
      batches.push(indices.slice(start, start + batchSize));
    return batches;
  };
  if (!groupByLength) return cut(shuffled);
  const chunk = batchSize * GROUP_CHUNK_BATCHES;
  const batches: number[][] = [];
  for (let start = 0; start < shuffled.length; start += chunk) {
    const sorted = shuffled
      .slice(start, start + chunk)
      .sort((a, b) => (lengths[b] as number) - (lengths[a] as number));
    batches.push(...cut(sorted));
  }
  // The short last batch stays last, so a run's batch count and schedule do not change.
  const last =
    batches.length > 0 && (batches.at(-1) as number[]).length < batchSize ? batches.pop() : undefined;
  const order = random.shuffle(batches);
  if (last !== undefined) order.push(last);
  return order;
}

/** The default optimizer of encoder fine-tuning (BERT recipes). */
export const DEFAULT_FINETUNE_OPTIMIZER: OptimizerOptions = {
  name: "adamw",
  learningRate: 2e-5,
  weightDecay: 0.01,
};

/** Sum of the squares of the parameters' gradients. */
function gradientSquares(parameters: readonly Parameter[]): number {
  let sum = 0;
  for (const { grad } of parameters) for (let i = 0; i < grad.length; i++) sum += (grad[i] as number) ** 2;
  return sum;
}

/** The factor clipping multiplies gradients of global norm `norm` by (as torch.nn.utils.clip_grad_norm_). */
export function clipScale(norm: number, maxNorm: number): number {
  return maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}

function scaleGradients(parameters: readonly Parameter[], scale: number): void {
  if (scale === 1) return;
  for (const { grad } of parameters)
    for (let i = 0; i < grad.length; i++) grad[i] = (grad[i] as number) * scale;
}

/** Global L2 norm of all gradients, scaled down to `maxNorm` when above (as torch.nn.utils.clip_grad_norm_). */
export function clipGradientNorm(parameters: readonly Parameter[], maxNorm: number): number {
  const norm = Math.sqrt(gradientSquares(parameters));
  scaleGradients(parameters, clipScale(norm, maxNorm));
  return norm;
}

/** How the loop updates encoder + head: all in TypeScript, or the encoder's part in the engine. */
interface Updater {
  readonly inEngine: boolean;
  /** Learning rate of the optimizer before any schedule. */
  readonly baseLearningRate: number;
  readonly steps: number;
  zeroGradients(): void;
  backward(gradOutput: Float32Array): Promise<void>;
  /** Clip, then one optimizer step at `learningRate`, then the engine holds the new weights. */
  step(learningRate: number, clipNorm: number): Promise<void>;
  /** Make `parameters[].value` the current weights (engine → TypeScript). */
  pull(): Promise<void>;
  exportState(): Promise<OptimizerState>;
  /** Restore optimizer state; the caller restores the weights and calls `encoder.sync()`. */
  importState(state: OptimizerState): Promise<void>;
}

async function createUpdater(
  encoder: TrainableEncoder,
  headParameters: readonly Parameter[],
  options: OptimizerOptions,
  inEngine: boolean,
): Promise<Updater> {
  const engine = inEngine ? await encoder.engineOptimizer(options) : undefined;
  if (engine === undefined) {
    const parameters = [...encoder.parameters, ...headParameters];
    const optimizer = createOptimizer(parameters, options);
    return {
      inEngine: false,
      baseLearningRate: optimizer.learningRate,
      get steps() {
        return optimizer.steps;
      },
      zeroGradients: () => zeroGradients(parameters),
      backward: (gradOutput) => encoder.backward(gradOutput),
      async step(learningRate, clipNorm) {
        clipGradientNorm(parameters, clipNorm);
        optimizer.learningRate = learningRate;
        optimizer.step();
        await encoder.sync();
      },
      pull: async () => undefined,
      exportState: async () => optimizer.exportState(),
      importState: async (state) => optimizer.importState(state),
    };
  }
  const head = createOptimizer(headParameters, options);
  let encoderSquares = 0;
  return {
    inEngine: true,
    baseLearningRate: head.learningRate,
    get steps() {
      return engine.steps;
    },
    zeroGradients: () => zeroGradients(headParameters),
    async backward(gradOutput) {
      encoderSquares = await encoder.backwardInEngine(gradOutput);
    },
    async step(learningRate, clipNorm) {
      const scale = clipScale(Math.sqrt(encoderSquares + gradientSquares(headParameters)), clipNorm);
      scaleGradients(headParameters, scale);
      head.learningRate = learningRate;
      head.step();
      await engine.step(learningRate, scale);
    },
    pull: () => encoder.pull(),
    async exportState() {
      const encoderState = await engine.exportState();
      const tensors = new Map(encoderState.tensors);
      for (const [name, values] of head.exportState().tensors) tensors.set(name, values);
      return { steps: encoderState.steps, tensors };
    },
    async importState(state) {
      head.importState(state);
      await engine.importState(state);
    },
  };
}

/**
 * Padded length of a batch whose longest row is `longest` tokens: the next power of two from
 * {@link TOKEN_BUCKET} (16, 32, 64, 128…), at most `maxTokens`. Every distinct length costs the
 * engine a JIT compile (tens of seconds on a busy 2-core machine), padding only a masked share of
 * one step, so few lengths win (measured in bench/notes/finetune.md).
 */
export function bucketLength(longest: number, maxTokens: number): number {
  let length = TOKEN_BUCKET;
  while (length < longest) length *= 2;
  return Math.min(maxTokens, length);
}

/** `rows` padded to `fill` rows of the bucketed length (attention mask 0 on padding). */
function batchOf(rows: TokenRows, fill: number, maxTokens: number): TokenBatch {
  const tokens = bucketLength(Math.max(...rows.map((row) => row.length)), maxTokens);
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

function memoryOptimizer(options: OptimizerOptions): NonNullable<TrainingMemoryConfig["optimizer"]> {
  if (options.name === "adamax") return "adam";
  if (options.name === "sgd") return (options.momentum ?? 0) > 0 ? "sgd-momentum" : "sgd";
  return options.name;
}

interface LoopCheckpointExtra {
  optimizerSteps?: number;
  history?: EpochReport[];
  epochSeconds?: number[];
  lossSum?: number;
  sinceBest?: number;
  trainingMs?: number;
  trainedTokens?: number;
  best?: { metric?: number; accuracy?: number; loss?: number; epoch: number } | null;
}

/**
 * Fine-tune `bert` (and the task's head) on `examples` with the task's loss.
 *
 * @throws EmbedkitError INVALID_OPTION (settings; a batch size whose estimated memory
 *   does not fit, naming the largest that does), INVALID_INPUT (no examples, a row
 *   longer than `maxTokens`, a non-finite loss, a checkpoint of another model or
 *   other data), DEPENDENCY_MISSING (no Python for the engine), INFERENCE_FAILED (engine)
 * @example
 * ```ts
 * const bert = await readOnnxBert(pulled.path("onnx"));
 * const result = await runTrainingLoop({ bert, task: myTask, examples, maxTokens: 128, epochs: 2 });
 * await exportFinetunedEncoder({ base: "all-minilm-l6-v2", weights: result.encoderWeights, task: "embeddings",
 *   dataSha256, outDir: "out" });
 * ```
 */
export async function runTrainingLoop<Example>(
  options: TrainingLoopOptions<Example>,
): Promise<TrainingLoopResult> {
  const { seed, checkpointEvery, epochs, batchSize, dropout, clipNorm, groupByLength } =
    checkTrainingLoopSettings(options);
  const { bert, task } = options;
  const maxTokens = checkInteger("maxTokens", options.maxTokens, { min: 2 });
  if (options.examples.length === 0)
    throw new EmbedkitError("INVALID_INPUT", "Fine-tuning needs at least one training example.");
  // Rows of every example, once; checked against maxTokens before anything starts.
  const exampleRows = options.examples.map((example, index) => {
    const rows = task.sequences(example);
    if (rows.length === 0)
      throw new EmbedkitError("INVALID_INPUT", `Training example ${index + 1} contributes no sequence.`, {
        details: { index },
      });
    for (const row of rows) {
      if (row.length === 0 || row.length > maxTokens)
        throw new EmbedkitError(
          "INVALID_INPUT",
          `Training example ${index + 1} has a sequence of ${row.length} tokens; 1 to ${maxTokens} are allowed.`,
          { details: { index, tokens: row.length, maxTokens } },
        );
    }
    return rows;
  });
  const rowsPerExample = Math.max(...exampleRows.map((rows) => rows.length));
  // Every step pads to the same number of rows: a full batch of the widest example.
  const fill = batchSize * rowsPerExample;
  const hidden = bert.config.hidden;
  const headParameters = task.headParameters;
  const optimizerOptions = options.optimizer ?? DEFAULT_FINETUNE_OPTIMIZER;

  // Refuse a batch size that would run the machine out of memory before the engine starts.
  // Each example's longest row: what its batch is padded to (grouping) and the memory check's length.
  const exampleLengths = exampleRows.map((rows) => Math.max(...rows.map((row) => row.length)));
  const longest = exampleLengths.reduce((max, length) => Math.max(max, length), 0);
  let params = headParameters.reduce((sum, parameter) => sum + parameter.value.length, 0);
  for (const weight of bert.weights.values()) params += weight.values.length;
  const memory: TrainingMemoryConfig = {
    params,
    batch: fill,
    seqLen: bucketLength(longest, maxTokens),
    layers: bert.config.layers,
    hidden,
    heads: bert.config.heads,
    optimizer: memoryOptimizer(optimizerOptions),
    ...JAX_ENGINE_MEMORY,
  };
  if (options.availableMemory === undefined) assertBatchFitsMemory(memory);
  else assertBatchFitsMemory(memory, options.availableMemory);

  const encoder: TrainableEncoder = await createTrainableEncoder({
    bert,
    ...(options.home === undefined ? {} : { home: options.home }),
    ...(options.onLog === undefined ? {} : { onLog: options.onLog }),
  });
  try {
    const encode: EncodeRows = async (rows) => {
      if (rows.length === 0)
        return { data: new Float32Array(0), shape: task.output === "tokens" ? [0, 0, hidden] : [0, hidden] };
      const chunks: { data: Float32Array; rows: number; tokens: number }[] = [];
      for (let start = 0; start < rows.length; start += fill) {
        const chunk = rows.slice(start, start + fill);
        const batch = batchOf(chunk, fill, maxTokens);
        const data = await encoder.forward(batch, { output: task.output });
        chunks.push({ data, rows: chunk.length, tokens: batch.tokens });
      }
      if (task.output !== "tokens") {
        const out = new Float32Array(rows.length * hidden);
        let offset = 0;
        for (const chunk of chunks) {
          out.set(chunk.data.subarray(0, chunk.rows * hidden), offset);
          offset += chunk.rows * hidden;
        }
        return { data: out, shape: [rows.length, hidden] };
      }
      const tokens = Math.max(...chunks.map((chunk) => chunk.tokens));
      const out = new Float32Array(rows.length * tokens * hidden);
      let row = 0;
      for (const chunk of chunks) {
        for (let r = 0; r < chunk.rows; r++, row++) {
          const from = r * chunk.tokens * hidden;
          out.set(chunk.data.subarray(from, from + chunk.tokens * hidden), row * tokens * hidden);
        }
      }
      return { data: out, shape: [rows.length, tokens, hidden] };
    };

    const parameters = [...encoder.parameters, ...headParameters];
    const updater = await createUpdater(
      encoder,
      headParameters,
      optimizerOptions,
      options.optimizerInEngine ?? true,
    );
    const timings: Record<LoopPhase, number> = {
      forward: 0,
      loss: 0,
      backward: 0,
      update: 0,
      validation: 0,
      checkpoints: 0,
    };
    let clock = performance.now();
    /** Milliseconds since the last call, added to `phase`. */
    const lap = (phase: LoopPhase): void => {
      const now = performance.now();
      timings[phase] += now - clock;
      clock = now;
    };
    let learningRate = updater.baseLearningRate;
    const batchesPerEpoch = Math.ceil(exampleRows.length / batchSize);
    const totalSteps = batchesPerEpoch * epochs;
    const scheduleOptions = options.schedule ?? { name: "linear", warmup: 0.1 };
    const warmup = scheduleOptions.warmup ?? 0;
    const schedule = createSchedule({
      name: scheduleOptions.name ?? "constant",
      learningRate: updater.baseLearningRate,
      totalSteps,
      warmupSteps: Math.min(totalSteps, warmup < 1 ? Math.round(warmup * totalSteps) : Math.round(warmup)),
      ...(scheduleOptions.minLearningRate === undefined
        ? {}
        : { minLearningRate: scheduleOptions.minLearningRate }),
      ...(scheduleOptions.gamma === undefined ? {} : { gamma: scheduleOptions.gamma }),
    });
    const patience = options.earlyStopping?.patience;
    const minDelta = options.earlyStopping?.minDelta ?? 0;
    const history: EpochReport[] = [];
    const epochSeconds: number[] = [];
    let best: (TaskValidation & { epoch: number; snapshot: Float32Array[] }) | undefined;
    let sinceBest = 0;
    let stoppedEarly = false;
    let step = 0;
    let trainingMs = 0;
    let trainedTokens = 0;
    // Checkpoint names: encoder weights by ONNX initializer name, head parameters as head.<name>.
    const checkpointName = (parameter: Parameter): string =>
      encoder.onnxNames.get(parameter.name) ?? `head.${parameter.name}`;
    let firstEpoch = 1;
    let firstBatch = 0;
    let resumedLoss = 0;
    const saveCheckpoint = async (epoch: number, batchInEpoch: number, lossSum: number): Promise<void> => {
      if (options.checkpointDir === undefined) return;
      await updater.pull();
      const weights = new Map<string, Float32Array>();
      for (const [index, parameter] of parameters.entries()) {
        weights.set(checkpointName(parameter), parameter.value);
        const kept = best?.snapshot[index];
        if (kept !== undefined) weights.set(`best.${checkpointName(parameter)}`, kept);
      }
      const state = await updater.exportState();
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
            ...task.checkpointState?.(),
            optimizerSteps: state.steps,
            history,
            epochSeconds,
            lossSum,
            sinceBest,
            trainingMs,
            trainedTokens,
            best:
              best === undefined
                ? null
                : {
                    metric: best.metric,
                    epoch: best.epoch,
                    ...(best.loss === undefined ? {} : { loss: best.loss }),
                    ...(best.details === undefined ? {} : { details: best.details }),
                  },
          },
        },
        { keep: options.checkpointKeep ?? 3 },
      );
    };
    if (options.resume === true && options.checkpointDir !== undefined) {
      const loaded = await loadLatestCheckpoint(options.checkpointDir);
      if (loaded !== undefined) {
        const extra = loaded.extra as LoopCheckpointExtra & Record<string, unknown>;
        task.restoreState?.(extra, loaded.path);
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
        const savedBest = extra.best ?? undefined;
        const bestSnapshot =
          savedBest === undefined
            ? undefined
            : parameters.map((parameter) =>
                read(`best.${checkpointName(parameter)}`, parameter.value.length).slice(),
              );
        await updater.importState({
          steps: extra.optimizerSteps ?? loaded.step,
          tensors: loaded.optimizer,
        });
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
        if (savedBest !== undefined && bestSnapshot !== undefined) {
          // `accuracy`: checkpoints of the classifier-only loop before the generic one.
          const metric = savedBest.metric ?? savedBest.accuracy ?? Number.NEGATIVE_INFINITY;
          const { details } = savedBest as { details?: Record<string, unknown> };
          best = {
            metric,
            epoch: savedBest.epoch,
            snapshot: bestSnapshot,
            ...(savedBest.loss === undefined ? {} : { loss: savedBest.loss }),
            ...(details === undefined ? {} : { details }),
          };
        }
        options.onLog?.(
          `Resumed from ${loaded.path}: step ${step}, epoch ${firstEpoch}, batch ${firstBatch}${loaded.skipped.length > 0 ? ` (passed over ${loaded.skipped.length} damaged newer checkpoint(s))` : ""}.`,
        );
      }
    }
    await task.start?.(encode);
    for (let epoch = firstEpoch; epoch <= epochs; epoch++) {
      const started = performance.now();
      // Per-epoch and per-step generators (from the seed): a resumed run draws what the first did.
      const batches = epochBatches(
        exampleLengths,
        batchSize,
        createRandom(seed + epoch * 104_729),
        groupByLength,
      );
      const resumedEpoch = epoch === firstEpoch;
      let lossSum = resumedEpoch ? resumedLoss : 0;
      for (let b = resumedEpoch ? firstBatch : 0; b < batchesPerEpoch; b++) {
        const indices = batches[b] as number[];
        const examples = indices.map((i) => options.examples[i] as Example);
        const rows = indices.flatMap((i) => exampleRows[i] as TokenRows);
        trainedTokens += rows.reduce((sum, row) => sum + row.length, 0);
        updater.zeroGradients();
        clock = performance.now();
        const batch = batchOf(rows, fill, maxTokens);
        const output = await encoder.forward(batch, {
          output: task.output,
          training: true,
          dropout,
          seed: seed * 1_000_003 + step,
        });
        lap("forward");
        const shape = task.output === "tokens" ? [rows.length, batch.tokens, hidden] : [rows.length, hidden];
        const used = shape.reduce((product, size) => product * size, 1);
        const result = task.loss(examples, output.subarray(0, used), shape, {
          epoch,
          batch: b,
          step,
          random: createRandom(seed * 1_000_003 + step + 1),
        });
        if (!Number.isFinite(result.loss)) {
          throw new EmbedkitError(
            "INVALID_INPUT",
            `The training loss became ${String(result.loss)} at epoch ${epoch}, batch ${b + 1}: lower the learning rate.`,
            { details: { epoch, batch: b + 1, learningRate } },
          );
        }
        if (result.gradOutput.length !== used) {
          throw new EmbedkitError(
            "INTERNAL",
            `The task's output gradient has ${result.gradOutput.length} values, expected ${used} (${shape.join("×")}).`,
          );
        }
        const gradOutput = new Float32Array(output.length);
        gradOutput.set(result.gradOutput);
        lap("loss");
        await updater.backward(gradOutput);
        lap("backward");
        learningRate = schedule(step);
        await updater.step(learningRate, clipNorm);
        lap("update");
        step++;
        lossSum += result.loss * examples.length;
        options.onBatch?.(b + 1, batchesPerEpoch, result.loss);
        if (checkpointEvery > 0 && step % checkpointEvery === 0) {
          trainingMs += performance.now() - started;
          await saveCheckpoint(epoch, b + 1, lossSum);
          trainingMs -= performance.now() - started;
          lap("checkpoints");
        }
      }
      trainingMs += performance.now() - started;
      clock = performance.now();
      const validation = task.validate === undefined ? undefined : await task.validate(encode);
      lap("validation");
      let isBest = validation === undefined;
      if (validation !== undefined) {
        const improved =
          best === undefined ||
          validation.metric > best.metric + minDelta ||
          (validation.metric === best.metric &&
            validation.loss !== undefined &&
            best.loss !== undefined &&
            validation.loss < best.loss);
        if (improved) {
          await updater.pull();
          best = { ...validation, epoch, snapshot: snapshotParameters(parameters) };
          sinceBest = 0;
          isBest = true;
        } else sinceBest++;
      }
      const report: EpochReport = {
        epoch,
        trainLoss: lossSum / exampleRows.length,
        ...(validation === undefined
          ? {}
          : {
              validationMetric: validation.metric,
              ...(validation.loss === undefined ? {} : { validationLoss: validation.loss }),
            }),
        learningRate,
        best: isBest,
        milliseconds: performance.now() - started,
      };
      history.push(report);
      epochSeconds.push(report.milliseconds / 1000);
      options.onEpoch?.(report);
      await saveCheckpoint(epoch + 1, 0, 0);
      lap("checkpoints");
      if (patience !== undefined && validation !== undefined && sinceBest >= patience) {
        stoppedEarly = epoch < epochs;
        break;
      }
    }
    let bestEpoch = history.length;
    let kept: (TaskValidation & { epoch: number }) | undefined;
    if (best === undefined) await updater.pull();
    else {
      restoreParameters(parameters, best.snapshot);
      await encoder.sync();
      bestEpoch = best.epoch;
      const { snapshot: _snapshot, ...validation } = best;
      kept = validation;
    }
    await task.finish?.(encode);
    const engine = await encoder.stats();
    return {
      optimizerInEngine: updater.inEngine,
      timings,
      engine,
      encoderWeights: encoder.exportWeights(),
      history,
      bestEpoch,
      stoppedEarly,
      steps: step,
      tokensPerSecond: trainingMs > 0 ? (trainedTokens / trainingMs) * 1000 : 0,
      epochSeconds,
      ...(kept === undefined ? {} : { best: kept }),
    };
  } finally {
    await encoder.close();
  }
}
