/**
 * @module train/optimizers
 * Optimizers with exactly the update rules documented for `torch.optim`
 * (SGD, Adam, AdamW, Adamax, RMSprop), checked step by step against reference
 * values in test/train/optimizers.test.ts. Parameter values stay float32 (as
 * in PyTorch); moment buffers are float64, which only makes them more exact.
 *
 * Weight decay follows PyTorch per optimizer: SGD, Adam, Adamax and RMSprop
 * add `weightDecay·θ` to the gradient (an L2 penalty), while AdamW decays the
 * weights directly (`θ ← θ − lr·λ·θ`, "decoupled"). Parameters whose `decay`
 * flag is false (biases) are never decayed, as with a `weight_decay=0` group.
 * `learningRate` is writable so a schedule can set it before each `step()`.
 * Row-sparse parameters (`Parameter.sparse`, e.g. an embedding bag's table)
 * are updated only in the rows the last backward touched, moments included
 * (lazy updates, as `torch.optim.SparseAdam`).
 */
import { EmbedkitError } from "../errors.js";
import { gradientSpans, type Parameter, zeroGradient } from "./parameter.js";

/** Names of the optimizers {@link createOptimizer} builds. */
export const OPTIMIZERS = ["sgd", "adam", "adamw", "adamax", "rmsprop"] as const;
/** An optimizer name. */
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** Settings shared by every optimizer (PyTorch's defaults in `@default`). */
export interface OptimizerOptions {
  /** Which update rule. */
  readonly name: OptimizerName;
  /** Step size. @default 1e-3 (adam, adamw), 2e-3 (adamax), 1e-2 (rmsprop, sgd) */
  readonly learningRate?: number;
  /** L2 penalty added to the gradient; for AdamW, the decoupled decay rate. @default 0 (adamw: 1e-2) */
  readonly weightDecay?: number;
  /** SGD / RMSprop momentum factor. @default 0 */
  readonly momentum?: number;
  /** SGD dampening for momentum. @default 0 */
  readonly dampening?: number;
  /** SGD Nesterov momentum (needs momentum > 0 and dampening 0). @default false */
  readonly nesterov?: boolean;
  /** Adam/AdamW/Adamax coefficients (β1, β2). @default [0.9, 0.999] */
  readonly betas?: readonly [number, number];
  /** Term added for numerical stability. @default 1e-8 */
  readonly epsilon?: number;
  /** Adam/AdamW AMSGrad variant. @default false */
  readonly amsgrad?: boolean;
  /** RMSprop smoothing constant. @default 0.99 */
  readonly alpha?: number;
  /** RMSprop centered variant (normalise by an estimate of the variance). @default false */
  readonly centered?: boolean;
}

/** An optimizer bound to a list of parameters. */
export interface Optimizer {
  /** Which update rule. */
  readonly name: OptimizerName;
  /** The learning rate the next `step()` uses (a schedule writes it). */
  learningRate: number;
  /** Number of steps taken. */
  readonly steps: number;
  /** Update every parameter from its gradient. */
  step(): void;
  /** Zero every parameter's gradient. */
  zeroGrad(): void;
  /**
   * The state a resumed run needs, for checkpoints: the step count and each parameter's buffers as
   * `<parameter name>.m` / `.v` / `.vmax` (float32 copies of the float64 buffers; only the buffers
   * this optimizer uses).
   */
  exportState(): OptimizerState;
  /**
   * Restore what {@link Optimizer.exportState} returned (same parameters, same optimizer).
   * @throws EmbedkitError INVALID_INPUT naming a missing buffer or a wrong length
   */
  importState(state: OptimizerState): void;
}

/** Optimizer state for checkpoints (see {@link Optimizer.exportState}). */
export interface OptimizerState {
  readonly steps: number;
  readonly tensors: ReadonlyMap<string, Float32Array>;
}

const DEFAULT_LEARNING_RATES: Readonly<Record<OptimizerName, number>> = {
  sgd: 1e-2,
  adam: 1e-3,
  adamw: 1e-3,
  adamax: 2e-3,
  rmsprop: 1e-2,
};

function checkNumber(
  name: string,
  value: number,
  minimum: number,
  maximumExclusive = Number.POSITIVE_INFINITY,
): void {
  if (!(Number.isFinite(value) && value >= minimum && value < maximumExclusive)) {
    const range = Number.isFinite(maximumExclusive)
      ? `in [${minimum}, ${maximumExclusive})`
      : `>= ${minimum}`;
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Optimizer option ${name} must be a finite number ${range}, received ${String(value)}.`,
    );
  }
}

/** One parameter's state: float64 buffers of its length. */
interface State {
  readonly parameter: Parameter;
  readonly first: Float64Array; // momentum buffer / exp_avg / square_avg
  readonly second: Float64Array; // exp_avg_sq / exp_inf / grad_avg
  readonly third: Float64Array; // max_exp_avg_sq / RMSprop momentum buffer
}

/**
 * Create an optimizer over `parameters`.
 *
 * @throws EmbedkitError INVALID_OPTION for an unknown name or an out-of-range
 *   setting (negative learning rate, β outside [0, 1), Nesterov without momentum…).
 * @example
 * ```ts
 * const optimizer = createOptimizer(model.parameters(), { name: "adamw", learningRate: 1e-3, weightDecay: 1e-2 });
 * optimizer.zeroGrad(); model.backward(lossGrad); optimizer.step();
 * ```
 */
export function createOptimizer(parameters: readonly Parameter[], options: OptimizerOptions): Optimizer {
  const name = options.name;
  if (!OPTIMIZERS.includes(name)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Unknown optimizer "${String(name)}"; expected one of ${OPTIMIZERS.join(", ")}.`,
    );
  }
  const learningRate = options.learningRate ?? DEFAULT_LEARNING_RATES[name];
  const weightDecay = options.weightDecay ?? (name === "adamw" ? 1e-2 : 0);
  const momentum = options.momentum ?? 0;
  const dampening = options.dampening ?? 0;
  const nesterov = options.nesterov ?? false;
  const [beta1, beta2] = options.betas ?? [0.9, 0.999];
  const epsilon = options.epsilon ?? 1e-8;
  const amsgrad = options.amsgrad ?? false;
  const alpha = options.alpha ?? 0.99;
  const centered = options.centered ?? false;
  checkNumber("learningRate", learningRate, 0);
  checkNumber("weightDecay", weightDecay, 0);
  checkNumber("momentum", momentum, 0);
  checkNumber("dampening", dampening, 0);
  checkNumber("betas[0]", beta1, 0, 1);
  checkNumber("betas[1]", beta2, 0, 1);
  checkNumber("epsilon", epsilon, 0);
  checkNumber("alpha", alpha, 0);
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Nesterov momentum requires momentum > 0 and dampening 0, received momentum ${momentum} and dampening ${dampening}.`,
    );
  }
  const states: State[] = parameters.map((parameter) => ({
    parameter,
    first: new Float64Array(parameter.value.length),
    second: new Float64Array(parameter.value.length),
    third: new Float64Array(parameter.value.length),
  }));
  let steps = 0;

  const stepSgd = (state: State, rate: number): void => {
    const { value, grad, decay } = state.parameter;
    const buffer = state.first;
    const lambda = decay ? weightDecay : 0;
    for (const [start, end] of gradientSpans(state.parameter))
      for (let i = start; i < end; i++) {
        let g = (grad[i] as number) + lambda * (value[i] as number);
        if (momentum !== 0) {
          const b = steps === 1 ? g : momentum * (buffer[i] as number) + (1 - dampening) * g;
          buffer[i] = b;
          g = nesterov ? g + momentum * b : b;
        }
        value[i] = (value[i] as number) - rate * g;
      }
  };

  const stepAdam = (state: State, rate: number, decoupled: boolean): void => {
    const { value, grad, decay } = state.parameter;
    const lambda = decay ? weightDecay : 0;
    const { first, second, third } = state;
    const correction1 = 1 - beta1 ** steps;
    const correction2 = 1 - beta2 ** steps;
    for (const [start, end] of gradientSpans(state.parameter))
      for (let i = start; i < end; i++) {
        let theta = value[i] as number;
        let g = grad[i] as number;
        if (decoupled) theta -= rate * lambda * theta;
        else g += lambda * theta;
        const m = beta1 * (first[i] as number) + (1 - beta1) * g;
        const v = beta2 * (second[i] as number) + (1 - beta2) * g * g;
        first[i] = m;
        second[i] = v;
        let vUsed = v;
        if (amsgrad) {
          vUsed = Math.max(third[i] as number, v);
          third[i] = vUsed;
        }
        const mHat = m / correction1;
        const vHat = vUsed / correction2;
        value[i] = theta - (rate * mHat) / (Math.sqrt(vHat) + epsilon);
      }
  };

  const stepAdamax = (state: State, rate: number): void => {
    const { value, grad, decay } = state.parameter;
    const lambda = decay ? weightDecay : 0;
    const { first, second } = state;
    const correction = 1 - beta1 ** steps;
    for (const [start, end] of gradientSpans(state.parameter))
      for (let i = start; i < end; i++) {
        const theta = value[i] as number;
        const g = (grad[i] as number) + lambda * theta;
        const m = beta1 * (first[i] as number) + (1 - beta1) * g;
        const u = Math.max(beta2 * (second[i] as number), Math.abs(g) + epsilon);
        first[i] = m;
        second[i] = u;
        value[i] = theta - (rate * m) / (correction * u);
      }
  };

  const stepRmsprop = (state: State, rate: number): void => {
    const { value, grad, decay } = state.parameter;
    const lambda = decay ? weightDecay : 0;
    const { first: squareAverage, second: gradAverage, third: buffer } = state;
    for (const [start, end] of gradientSpans(state.parameter))
      for (let i = start; i < end; i++) {
        const theta = value[i] as number;
        const g = (grad[i] as number) + lambda * theta;
        const v = alpha * (squareAverage[i] as number) + (1 - alpha) * g * g;
        squareAverage[i] = v;
        let variance = v;
        if (centered) {
          const average = alpha * (gradAverage[i] as number) + (1 - alpha) * g;
          gradAverage[i] = average;
          variance = v - average * average;
        }
        const scaled = g / (Math.sqrt(variance) + epsilon);
        if (momentum > 0) {
          const b = momentum * (buffer[i] as number) + scaled;
          buffer[i] = b;
          value[i] = theta - rate * b;
        } else {
          value[i] = theta - rate * scaled;
        }
      }
  };

  // Buffers each rule uses (the rest stay zero): m = first, v = second, vmax = third.
  const buffers: readonly (readonly ["m" | "v" | "vmax", "first" | "second" | "third"])[] =
    name === "sgd"
      ? [["m", "first"]]
      : name === "adamax"
        ? [
            ["m", "first"],
            ["v", "second"],
          ]
        : [
            ["m", "first"],
            ["v", "second"],
            ["vmax", "third"],
          ];
  const optimizer: Optimizer = {
    name,
    learningRate,
    exportState() {
      const tensors = new Map<string, Float32Array>();
      for (const state of states)
        for (const [suffix, buffer] of buffers)
          tensors.set(`${state.parameter.name}.${suffix}`, Float32Array.from(state[buffer]));
      return { steps, tensors };
    },
    importState(saved) {
      if (!Number.isInteger(saved.steps) || saved.steps < 0)
        throw new EmbedkitError(
          "INVALID_INPUT",
          `Optimizer state: steps must be an integer >= 0, received ${String(saved.steps)}.`,
        );
      for (const state of states) {
        for (const [suffix] of buffers) {
          const key = `${state.parameter.name}.${suffix}`;
          const values = saved.tensors.get(key);
          if (values === undefined || values.length !== state.parameter.value.length) {
            throw new EmbedkitError(
              "INVALID_INPUT",
              `Optimizer state "${key}" is ${values === undefined ? "missing" : `${values.length} values long, expected ${state.parameter.value.length}`}.`,
              { details: { tensor: key } },
            );
          }
        }
      }
      for (const state of states)
        for (const [suffix, buffer] of buffers)
          state[buffer].set(saved.tensors.get(`${state.parameter.name}.${suffix}`) as Float32Array);
      steps = saved.steps;
    },
    get steps() {
      return steps;
    },
    step() {
      const rate = optimizer.learningRate;
      if (!(Number.isFinite(rate) && rate >= 0)) {
        throw new EmbedkitError(
          "INVALID_OPTION",
          `learningRate must be a finite number >= 0, received ${String(rate)}.`,
        );
      }
      steps++;
      for (const state of states) {
        if (name === "sgd") stepSgd(state, rate);
        else if (name === "adam") stepAdam(state, rate, false);
        else if (name === "adamw") stepAdam(state, rate, true);
        else if (name === "adamax") stepAdamax(state, rate);
        else stepRmsprop(state, rate);
      }
    },
    zeroGrad() {
      for (const state of states) zeroGradient(state.parameter);
    },
  };
  return optimizer;
}
