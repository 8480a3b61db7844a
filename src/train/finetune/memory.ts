/**
 * @module train/finetune/memory
 * Peak memory of one fine-tuning step, estimated before training so a batch
 * size that would run the machine out of memory is refused with a clear
 * message (and the largest batch size that fits) instead of a crash an hour in.
 *
 * The estimate adds, in bytes:
 * - **weights, gradients, optimizer state**: `params × 4` each, the optimizer
 *   holding 2 tensors per weight for Adam/AdamW, 1 for SGD with momentum or
 *   RMSprop, 0 for plain SGD;
 * - **activations kept for the backward pass**: per transformer layer
 *   `s·b·h·(34 + 5·a·s/h)` bytes at 16 bits per value (Korthikanti et al.,
 *   "Reducing Activation Recomputation in Large Transformer Models", 2022:
 *   attention inputs, Q/K/V, scores, softmax, dropout masks, the MLP's
 *   `4h` intermediate, layer norms), scaled to 32-bit values and by the
 *   engine's `activationFactor` (copies its autodiff tape keeps beyond the
 *   minimum; measured, see docs/TRAINING.md), plus the embeddings' output;
 * - **the runtime's fixed cost** (`runtimeBytes`, the process before training).
 */
import { freemem } from "node:os";
import { EmbedkitError } from "../../errors.js";
import { checkInteger, checkNumber } from "../../internal/options.js";

/** What the estimate needs to know about a training step. */
export interface TrainingMemoryConfig {
  /** Trainable parameters (encoder + head). */
  readonly params: number;
  /** Sequences per step. */
  readonly batch: number;
  /** Tokens per sequence (padded length, special tokens included). */
  readonly seqLen: number;
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  /** Optimizer: state tensors per weight follow from it. @default "adamw" */
  readonly optimizer?: "adam" | "adamw" | "sgd" | "sgd-momentum" | "rmsprop";
  /** Multiplier on the activation formula for the engine's tape. @default 1 */
  readonly activationFactor?: number;
  /** Fixed bytes of the runtime (process, libraries, tokenizer). @default 300 MiB */
  readonly runtimeBytes?: number;
}

/** The estimate, by part, in bytes. */
export interface TrainingMemoryEstimate {
  readonly weights: number;
  readonly gradients: number;
  readonly optimizer: number;
  readonly activations: number;
  readonly runtime: number;
  readonly total: number;
}

const MIB = 1024 * 1024;
const DEFAULT_RUNTIME_BYTES = 300 * MIB;
const OPTIMIZER_STATES = { adam: 2, adamw: 2, sgd: 0, "sgd-momentum": 1, rmsprop: 1 } as const;
/**
 * The JAX training engine's constants for {@link estimateTrainingMemory}
 * (src/train/encoder, optimizer in the engine), fitted to its measured peak RSS
 * (engine process + Node) at batch 4 and 32 × 128 tokens with all-MiniLM-L6-v2
 * (`bench/finetune-memory.ts --engine jax`, bench/notes/finetune.md): 1.49× the
 * activation formula per sequence, and 954 MiB beyond weights + gradients + Adam
 * state (Python + jaxlib, XLA's buffers, Node with its copy of the weights).
 * Batch 16 — not used for the fit — measured 2017 MiB, estimated 2038 MiB.
 */
export const JAX_ENGINE_MEMORY = { activationFactor: 1.5, runtimeBytes: 960 * MIB } as const;
/** Share of the available memory a step may plan to use (the rest absorbs fragmentation and the OS). */
export const MEMORY_HEADROOM = 0.8;

function checkConfig(config: TrainingMemoryConfig): void {
  checkInteger("params", config.params, { min: 1 });
  checkInteger("batch", config.batch, { min: 1 });
  checkInteger("seqLen", config.seqLen, { min: 1 });
  checkInteger("layers", config.layers, { min: 1 });
  checkInteger("hidden", config.hidden, { min: 1 });
  checkInteger("heads", config.heads, { min: 1 });
  if (config.activationFactor !== undefined)
    checkNumber("activationFactor", config.activationFactor, { min: 0 });
  if (config.runtimeBytes !== undefined) checkNumber("runtimeBytes", config.runtimeBytes, { min: 0 });
  const optimizer = config.optimizer ?? "adamw";
  if (!Object.hasOwn(OPTIMIZER_STATES, optimizer)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `optimizer must be one of ${Object.keys(OPTIMIZER_STATES).join(", ")}, received ${JSON.stringify(optimizer)}.`,
      { details: { option: "optimizer" } },
    );
  }
}

/**
 * Estimate the peak memory of one training step (see the module description).
 * @throws EmbedkitError INVALID_OPTION for a non-positive size or an unknown optimizer
 * @example
 * ```ts
 * estimateTrainingMemory({ params: 22_713_216, batch: 32, seqLen: 128, layers: 6, hidden: 384, heads: 12 }).total;
 * ```
 */
export function estimateTrainingMemory(config: TrainingMemoryConfig): TrainingMemoryEstimate {
  checkConfig(config);
  const { params, batch: b, seqLen: s, layers, hidden: h, heads: a } = config;
  const weights = params * 4;
  const gradients = params * 4;
  const optimizer = params * 4 * OPTIMIZER_STATES[config.optimizer ?? "adamw"];
  // 16-bit formula ×2 for float32 values; embeddings output (s·b·h floats) on top.
  const perLayer = s * b * h * (34 + (5 * a * s) / h) * 2;
  const activations = Math.ceil((layers * perLayer + s * b * h * 4) * (config.activationFactor ?? 1));
  const runtime = config.runtimeBytes ?? DEFAULT_RUNTIME_BYTES;
  return {
    weights,
    gradients,
    optimizer,
    activations,
    runtime,
    total: weights + gradients + optimizer + activations + runtime,
  };
}

/** Largest batch whose estimate fits in `availableBytes × headroom`; 0 when not even one sequence fits. */
export function largestSafeBatch(
  config: Omit<TrainingMemoryConfig, "batch">,
  availableBytes: number,
  headroom = MEMORY_HEADROOM,
): number {
  const budget = availableBytes * headroom;
  const fixed = estimateTrainingMemory({ ...config, batch: 1 });
  const perSequence = fixed.activations;
  const rest = fixed.total - perSequence;
  if (fixed.total > budget) return 0;
  // Activations are linear in the batch (up to rounding): solve, then step down past any rounding.
  let batch = Math.max(1, Math.floor((budget - rest) / perSequence));
  while (batch > 1 && estimateTrainingMemory({ ...config, batch }).total > budget) batch--;
  return batch;
}

/** Memory the process may still use: free memory, capped by a cgroup limit when one is set. */
export function availableMemory(): number {
  const free = freemem();
  const constrained = typeof process.constrainedMemory === "function" ? process.constrainedMemory() : 0;
  if (constrained === undefined || constrained <= 0 || constrained >= Number.MAX_SAFE_INTEGER) return free;
  return Math.min(free, Math.max(0, constrained - process.memoryUsage().rss));
}

const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

/**
 * Refuse a batch size whose estimated peak exceeds the available memory (with headroom),
 * naming the estimate, the memory available and the largest batch size that fits.
 * @returns the estimate, when it fits
 * @throws EmbedkitError INVALID_OPTION when it does not fit
 */
export function assertBatchFitsMemory(
  config: TrainingMemoryConfig,
  availableBytes: number = availableMemory(),
): TrainingMemoryEstimate {
  const estimate = estimateTrainingMemory(config);
  if (estimate.total <= availableBytes * MEMORY_HEADROOM) return estimate;
  const safe = largestSafeBatch(config, availableBytes);
  const advice =
    safe > 0
      ? `The largest batch size that fits is ${safe} (--batch-size ${safe}).`
      : `Not even a batch of 1 fits at ${config.seqLen} tokens: lower --max-length, or free memory.`;
  throw new EmbedkitError(
    "INVALID_OPTION",
    `Batch size ${config.batch} at ${config.seqLen} tokens needs about ${gib(estimate.total)} ` +
      `(activations ${gib(estimate.activations)}, weights+gradients+optimizer ${gib(estimate.weights + estimate.gradients + estimate.optimizer)}), ` +
      `but only ${gib(availableBytes)} is available (${Math.round(MEMORY_HEADROOM * 100)} % of it may be planned). ${advice}`,
    {
      details: {
        option: "batchSize",
        estimate: estimate.total,
        available: availableBytes,
        largestSafeBatch: safe,
      },
    },
  );
}
