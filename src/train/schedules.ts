/**
 * @module train/schedules
 * Learning-rate schedules as pure functions of the optimizer step (0-based,
 * counted per mini-batch). The decay shapes are PyTorch's closed forms:
 * `constant`; `linear` decay to `minLearningRate` over the run (as
 * `get_linear_schedule_with_warmup` in transformers); `cosine`
 * (`CosineAnnealingLR`, η_min + (η − η_min)(1 + cos(π·t/T))/2); `exponential`
 * (`ExponentialLR`, η·γᵗ); `step` (`StepLR`, η·γ^⌊t/stepSize⌋). A linear
 * warmup from 0 can go in front of any of them: for `t < warmupSteps` the rate
 * is η·t/warmupSteps, and the decay then runs on `t − warmupSteps` over the
 * remaining `totalSteps − warmupSteps`.
 */
import { EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";

/** Names of the schedules {@link createSchedule} builds. */
export const SCHEDULES = ["constant", "linear", "cosine", "exponential", "step"] as const;
/** A schedule name. */
export type ScheduleName = (typeof SCHEDULES)[number];

/** Options of {@link createSchedule}. */
export interface ScheduleOptions {
  /** The decay shape. @default "constant" */
  readonly name?: ScheduleName;
  /** The peak learning rate (after warmup). */
  readonly learningRate: number;
  /** Optimizer steps in the whole run (epochs × batches per epoch); needed by linear and cosine. */
  readonly totalSteps: number;
  /** Steps of linear warmup from 0. @default 0 */
  readonly warmupSteps?: number;
  /** Floor of linear and cosine decay (η_min). @default 0 */
  readonly minLearningRate?: number;
  /** Decay factor γ of exponential (per step) and step (per `stepSize` steps) schedules. @default 0.1 for step, 0.999 for exponential */
  readonly gamma?: number;
  /** Steps between decays of the step schedule. @default a third of the post-warmup steps */
  readonly stepSize?: number;
}

/** The learning rate to use at a 0-based optimizer step. */
export type LearningRateSchedule = (step: number) => number;

/**
 * Build a learning-rate schedule.
 *
 * @throws EmbedkitError INVALID_OPTION for an unknown name, non-positive totals,
 *   warmup longer than the run, or gamma outside (0, 1].
 * @example
 * ```ts
 * const schedule = createSchedule({ name: "cosine", learningRate: 1e-3, totalSteps: 1000, warmupSteps: 100 });
 * optimizer.learningRate = schedule(step);
 * ```
 */
export function createSchedule(options: ScheduleOptions): LearningRateSchedule {
  const name = options.name ?? "constant";
  if (!SCHEDULES.includes(name)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Unknown learning-rate schedule "${String(name)}"; expected one of ${SCHEDULES.join(", ")}.`,
    );
  }
  const { learningRate, totalSteps } = options;
  const warmupSteps = options.warmupSteps ?? 0;
  const minimum = options.minLearningRate ?? 0;
  if (!(Number.isFinite(learningRate) && learningRate >= 0)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `learningRate must be a finite number >= 0, received ${String(learningRate)}.`,
    );
  }
  checkInteger("totalSteps", totalSteps, { min: 1 });
  // Warm-up fits inside the run: at most totalSteps.
  checkInteger("warmupSteps", warmupSteps, { min: 0, max: totalSteps });
  if (!(minimum >= 0 && minimum <= learningRate)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `minLearningRate must be in [0, learningRate = ${learningRate}], received ${String(minimum)}.`,
    );
  }
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const gamma = options.gamma ?? (name === "step" ? 0.1 : 0.999);
  if (!(gamma > 0 && gamma <= 1)) {
    throw new EmbedkitError("INVALID_OPTION", `gamma must be in (0, 1], received ${String(gamma)}.`);
  }
  const stepSize = options.stepSize ?? Math.max(1, Math.ceil(decaySteps / 3));
  checkInteger("stepSize", stepSize, { min: 1 });
  const decay = (t: number): number => {
    switch (name) {
      case "constant":
        return learningRate;
      case "linear":
        return minimum + (learningRate - minimum) * Math.max(0, (decaySteps - t) / decaySteps);
      case "cosine":
        return (
          minimum +
          ((learningRate - minimum) * (1 + Math.cos((Math.PI * Math.min(t, decaySteps)) / decaySteps))) / 2
        );
      case "exponential":
        return learningRate * gamma ** t;
      default:
        return learningRate * gamma ** Math.floor(t / stepSize);
    }
  };
  return (step: number): number => {
    if (step < warmupSteps) return (learningRate * step) / warmupSteps;
    return decay(step - warmupSteps);
  };
}
