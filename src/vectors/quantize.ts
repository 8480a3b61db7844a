/**
 * @module vectors/quantize
 * Output precisions for embeddings. Unit-length float vectors are mapped to
 * compact forms: `int8` (x·127, rounded and clamped), `uint8` ((x+1)·127.5),
 * and `binary` (sign bits packed 8 per byte, most significant bit first, the
 * layout sentence-transformers calls "ubinary"). A fixed scale instead of a
 * calibrated range keeps the mapping stateless and identical across processes;
 * it is exact enough for unit vectors whose components lie in [-1, 1].
 */
import { EmbedkitError } from "../errors.js";

/** Supported output precisions, as a frozen table with a derived union type. */
export const PRECISIONS = Object.freeze(["float32", "int8", "uint8", "binary"] as const);

/** One of {@link PRECISIONS}. */
export type Precision = (typeof PRECISIONS)[number];

/** The vector type each precision produces. */
export interface PrecisionVector {
  float32: Float32Array;
  int8: Int8Array;
  uint8: Uint8Array;
  binary: Uint8Array;
}

/** Check that `value` is a supported precision. @throws EmbedkitError INVALID_OPTION */
export function assertPrecision(value: unknown): asserts value is Precision {
  if (!PRECISIONS.includes(value as Precision)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `precision must be one of ${PRECISIONS.join(", ")}, received ${JSON.stringify(value)}.`,
    );
  }
}

/** Quantize one float vector to the given precision. */
export function quantize<P extends Precision>(vector: Float32Array, precision: P): PrecisionVector[P] {
  assertPrecision(precision);
  switch (precision) {
    case "float32":
      return vector as PrecisionVector[P];
    case "int8": {
      const out = new Int8Array(vector.length);
      for (let i = 0; i < vector.length; i++) {
        // Round half away from zero so x and -x quantize symmetrically.
        const scaled = (vector[i] as number) * 127;
        out[i] = Math.max(-127, Math.min(127, Math.sign(scaled) * Math.round(Math.abs(scaled))));
      }
      return out as PrecisionVector[P];
    }
    case "uint8": {
      const out = new Uint8Array(vector.length);
      for (let i = 0; i < vector.length; i++) {
        out[i] = Math.max(0, Math.min(255, Math.round(((vector[i] as number) + 1) * 127.5)));
      }
      return out as PrecisionVector[P];
    }
    default: {
      const out = new Uint8Array(Math.ceil(vector.length / 8));
      for (let i = 0; i < vector.length; i++) {
        if ((vector[i] as number) > 0) out[i >> 3] = (out[i >> 3] as number) | (0x80 >> (i & 7));
      }
      return out as PrecisionVector[P];
    }
  }
}

/** Approximate inverse of {@link quantize} for `int8` / `uint8` (for scoring quantized vectors). */
export function dequantize(vector: Int8Array | Uint8Array, precision: "int8" | "uint8"): Float32Array {
  const out = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) {
    out[i] = precision === "int8" ? (vector[i] as number) / 127 : (vector[i] as number) / 127.5 - 1;
  }
  return out;
}

/** Hamming distance between two packed binary vectors of equal length. */
export function hammingDistance(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) {
    throw new EmbedkitError(
      "DIMENSION_MISMATCH",
      `Binary vectors differ in length: expected ${a.length} bytes, received ${b.length}.`,
    );
  }
  let distance = 0;
  for (let i = 0; i < a.length; i++) {
    let x = (a[i] as number) ^ (b[i] as number);
    while (x) {
      x &= x - 1;
      distance++;
    }
  }
  return distance;
}
