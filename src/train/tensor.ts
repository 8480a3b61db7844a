/**
 * @module train/tensor
 * The one numeric container of `train`: a flat row-major `Float32Array` plus a
 * shape. Layers work on 2-D tensors `[rows, columns]` (a batch of vectors);
 * nothing here allocates behind the caller's back except the explicit
 * constructors, and every constructor checks that the data fits the shape.
 */
import { EmbedkitError } from "../errors.js";

/** A dense row-major tensor. `data.length` is the product of `shape`. */
export interface Tensor {
  /** Values, row-major (the last dimension varies fastest). */
  readonly data: Float32Array;
  /** Size of each dimension, e.g. `[batch, features]`. */
  readonly shape: readonly number[];
}

/** Number of elements a shape holds. */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dimension of shape) size *= dimension;
  return size;
}

/**
 * Create a tensor of `shape`, zero-filled or wrapping `data` (not copied).
 *
 * @throws EmbedkitError INVALID_INPUT when a dimension is not a non-negative
 *   integer or `data` has the wrong length.
 * @example
 * ```ts
 * const batch = createTensor([2, 3], new Float32Array([1, 2, 3, 4, 5, 6]));
 * ```
 */
export function createTensor(shape: readonly number[], data?: Float32Array): Tensor {
  for (const dimension of shape) {
    if (!Number.isInteger(dimension) || dimension < 0) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Tensor dimensions must be non-negative integers, received shape [${shape.join(", ")}].`,
      );
    }
  }
  const size = shapeSize(shape);
  if (data !== undefined && data.length !== size) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Tensor data has ${data.length} values, but shape [${shape.join(", ")}] needs ${size}.`,
      { details: { expected: size, received: data.length } },
    );
  }
  return { data: data ?? new Float32Array(size), shape: [...shape] };
}

/**
 * Stack equal-length vectors into a `[rows, dims]` tensor (copies them).
 *
 * @throws EmbedkitError INVALID_INPUT for no rows or a non-finite value;
 *   DIMENSION_MISMATCH when rows differ in length.
 */
export function stackRows(rows: readonly Float32Array[], indices?: ArrayLike<number>): Tensor {
  const count = indices === undefined ? rows.length : indices.length;
  if (count === 0) throw new EmbedkitError("INVALID_INPUT", "Cannot stack an empty list of vectors.");
  const first = rows[indices === undefined ? 0 : (indices[0] as number)] as Float32Array;
  const dims = first.length;
  const data = new Float32Array(count * dims);
  for (let r = 0; r < count; r++) {
    const index = indices === undefined ? r : (indices[r] as number);
    const row = rows[index];
    if (row === undefined || row.length !== dims) {
      throw new EmbedkitError(
        "DIMENSION_MISMATCH",
        `Vector ${index} has ${row?.length ?? 0} dimensions, expected ${dims} like the first one.`,
        { details: { index, expected: dims, received: row?.length ?? 0 } },
      );
    }
    data.set(row, r * dims);
  }
  return { data, shape: [count, dims] };
}

/** Row `index` of a 2-D tensor, as a view (no copy). */
export function tensorRow(tensor: Tensor, index: number): Float32Array {
  const columns = tensor.shape[1] as number;
  return tensor.data.subarray(index * columns, (index + 1) * columns);
}

/**
 * Throw unless every value is finite (NaN or ±Infinity features poison training silently).
 *
 * @throws EmbedkitError INVALID_INPUT naming the first bad row and column.
 */
export function assertFinite(vectors: readonly Float32Array[], what: string): void {
  for (let r = 0; r < vectors.length; r++) {
    const row = vectors[r] as Float32Array;
    for (let c = 0; c < row.length; c++) {
      if (!Number.isFinite(row[c] as number)) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `${what} ${r} has a non-finite value (${String(row[c])}) at position ${c}; expected finite numbers. Check the embedding step or drop that row.`,
          { details: { row: r, column: c } },
        );
      }
    }
  }
}
