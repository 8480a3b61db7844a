/**
 * @module vectors/float16
 * IEEE 754 half precision (binary16) packing for storing many vectors on disk
 * or in memory at half the size of Float32 (Node 20 has no Float16Array).
 * Rounding is to nearest, ties to even; values beyond ±65504 become ±Infinity,
 * tiny values become subnormals or ±0, NaN stays NaN. Relative error ≤ 2⁻¹¹,
 * ample for hidden states fed to a classifier.
 */

const float = new Float32Array(1);
const bits = new Uint32Array(float.buffer);

function halfOf(value: number): number {
  float[0] = value;
  const x = bits[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal: shift the mantissa (with its implicit 1) into place, rounding to even.
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > half || (rest === half && (result & 1) === 1)) result++;
    return sign | result;
  }
  const rest = mantissa & 0x1fff;
  mantissa >>>= 13;
  if (rest > 0x1000 || (rest === 0x1000 && (mantissa & 1) === 1)) {
    mantissa++;
    if (mantissa === 0x400) {
      mantissa = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | mantissa;
}

function floatOf(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

// All 65,536 half values decoded once: decoding is then one table lookup.
let decodeTable: Float32Array | undefined;
function table(): Float32Array {
  if (decodeTable === undefined) {
    decodeTable = new Float32Array(65536);
    for (let half = 0; half < 65536; half++) decodeTable[half] = floatOf(half);
  }
  return decodeTable;
}

/**
 * Pack float32 values as IEEE binary16 bit patterns.
 * @example
 * ```ts
 * toFloat16(new Float32Array([1, -2.5])); // Uint16Array [0x3c00, 0xc100]
 * ```
 */
export function toFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = halfOf(values[i] as number);
  return out;
}

/**
 * Unpack binary16 bit patterns (from {@link toFloat16}) to float32, into `out`
 * when given (it must be at least as long as `halves`).
 */
export function fromFloat16(
  halves: ArrayLike<number>,
  out: Float32Array = new Float32Array(halves.length),
): Float32Array {
  const lookup = table();
  for (let i = 0; i < halves.length; i++) out[i] = lookup[halves[i] as number] as number;
  return out;
}
