/**
 * @module eval/vector-set
 * Checks and transforms shared by every measure that takes a set of vectors
 * (quality measures, projections, k-means): equal dimensions everywhere, a
 * minimum count, and mean-centring in float64.
 */
import { EmbedkitError } from "../errors.js";

/**
 * Check that `vectors` is an array of at least `minimum` vectors of equal length.
 * @returns the common dimension count
 * @throws EmbedkitError INVALID_INPUT (too few), DIMENSION_MISMATCH (unequal lengths)
 */
export function checkVectorSet(vectors: readonly Float32Array[], minimum: number, what: string): number {
  if (!Array.isArray(vectors) || vectors.length < minimum) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${what} needs at least ${minimum} vectors, received ${Array.isArray(vectors) ? vectors.length : "no array"}.`,
    );
  }
  const dims = (vectors[0] as Float32Array).length;
  vectors.forEach((vector, index) => {
    if (vector.length !== dims) {
      throw new EmbedkitError(
        "DIMENSION_MISMATCH",
        `vectors[${index}] has ${vector.length} dimensions, expected ${dims} like vectors[0].`,
        { details: { index, expected: dims, received: vector.length } },
      );
    }
  });
  return dims;
}

/** Subtract the mean vector from every vector (float64 copies; inputs untouched). */
export function centreVectors(vectors: readonly Float32Array[], dims: number): Float64Array[] {
  const mean = meanVector(vectors, dims);
  return vectors.map((vector) => Float64Array.from(vector, (value, d) => value - (mean[d] as number)));
}

/** The mean of a set of vectors, in float64. */
export function meanVector(vectors: readonly Float32Array[], dims: number): Float64Array {
  const n = vectors.length;
  const mean = new Float64Array(dims);
  for (const vector of vectors)
    for (let d = 0; d < dims; d++) mean[d] = (mean[d] as number) + (vector[d] as number) / n;
  return mean;
}
