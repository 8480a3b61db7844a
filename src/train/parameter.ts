/**
 * @module train/parameter
 * A trainable parameter: its values and the gradient accumulated for them, in
 * two `Float32Array`s of the same length. Layers own parameters; optimizers
 * update `value` from `grad`; nothing else writes either.
 */

/** A trainable array of weights and its gradient. */
export interface Parameter {
  /** Name, unique within a model (`"0.weight"`, `"2.bias"`); used in checkpoints. */
  readonly name: string;
  /** Shape of the values (`[outputs, inputs]` for a linear weight, as in PyTorch). */
  readonly shape: readonly number[];
  /** Current values, updated in place by optimizers. */
  readonly value: Float32Array;
  /** Gradient of the loss with respect to `value`; layers add to it, `zeroGrad` clears it. */
  readonly grad: Float32Array;
  /**
   * Whether weight decay / L2 applies. Linear layers set it false for biases,
   * the usual practice (a PyTorch parameter group with `weight_decay=0`).
   */
  readonly decay: boolean;
  /**
   * Row-sparse gradients (embedding tables): the row length, and the rows
   * `backward` added gradient to since the last zeroing. Optimizers then update
   * only those rows — lazily, like `torch.optim.SparseAdam` — and zeroing
   * clears only them, so a step costs the rows a batch used, not the table.
   */
  readonly sparse?: { readonly rowSize: number; readonly touched: Set<number> };
}

/** Options of {@link createParameter}. */
export interface CreateParameterOptions {
  /** Unique name within the model. */
  readonly name: string;
  /** Shape of the values. */
  readonly shape: readonly number[];
  /** Whether weight decay / L2 applies. @default true */
  readonly decay?: boolean;
  /** Row length of a row-sparse parameter (see {@link Parameter.sparse}); unset = dense. */
  readonly sparseRowSize?: number;
}

/** Create a zero-initialised parameter (values filled by the caller). */
export function createParameter(options: CreateParameterOptions): Parameter {
  let size = 1;
  for (const dimension of options.shape) size *= dimension;
  return {
    name: options.name,
    shape: [...options.shape],
    value: new Float32Array(size),
    grad: new Float32Array(size),
    decay: options.decay ?? true,
    ...(options.sparseRowSize === undefined
      ? {}
      : { sparse: { rowSize: options.sparseRowSize, touched: new Set<number>() } }),
  };
}

/**
 * Index ranges `[start, end)` of a parameter an update or zeroing must visit:
 * the whole array when dense, the touched rows when row-sparse.
 */
export function gradientSpans(parameter: Parameter): Array<readonly [number, number]> {
  if (parameter.sparse === undefined) return [[0, parameter.value.length]];
  const size = parameter.sparse.rowSize;
  return [...parameter.sparse.touched].map((row) => [row * size, (row + 1) * size] as const);
}

/** Zero one parameter's gradient (only its touched rows when row-sparse). */
export function zeroGradient(parameter: Parameter): void {
  if (parameter.sparse === undefined) {
    parameter.grad.fill(0);
    return;
  }
  for (const [start, end] of gradientSpans(parameter)) parameter.grad.fill(0, start, end);
  parameter.sparse.touched.clear();
}

/** Set every gradient to zero (call before each backward pass). */
export function zeroGradients(parameters: readonly Parameter[]): void {
  for (const parameter of parameters) zeroGradient(parameter);
}
