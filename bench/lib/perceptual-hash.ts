/**
 * @module bench/lib/perceptual-hash
 * The classical baselines for near-duplicate image search, written small and
 * by the book so the learned embedding has an honest opponent:
 * - dHash (difference hash): greyscale 9×8, one bit per horizontal neighbour pair.
 * - pHash (DCT hash): greyscale 32×32, 2-D DCT-II, the 8×8 lowest frequencies
 *   (DC excluded from the median), one bit per coefficient above their median.
 * Both give 64 bits compared by Hamming distance (`hammingDistance` from src/vectors).
 */
import sharp from "sharp";

/** A 64-bit hash as 8 bytes. */
export type Hash64 = Uint8Array;

async function grey(input: Buffer | string, width: number, height: number): Promise<Uint8Array> {
  const { data } = await sharp(input)
    .rotate()
    .greyscale()
    .resize(width, height, { fit: "fill", kernel: "cubic" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

function packBits(bits: readonly boolean[]): Hash64 {
  const out = new Uint8Array(8);
  bits.forEach((bit, index) => {
    if (bit) out[index >> 3] = (out[index >> 3] as number) | (0x80 >> (index & 7));
  });
  return out;
}

/** dHash of an image file or buffer. */
export async function differenceHash(input: Buffer | string): Promise<Hash64> {
  const pixels = await grey(input, 9, 8);
  const bits: boolean[] = [];
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) bits.push((pixels[y * 9 + x] as number) < (pixels[y * 9 + x + 1] as number));
  }
  return packBits(bits);
}

const N = 32;
/** cos((2x+1)uπ / 2N) for the 8 lowest frequencies. */
const COSINES: Float64Array = (() => {
  const table = new Float64Array(8 * N);
  for (let u = 0; u < 8; u++) {
    for (let x = 0; x < N; x++) table[u * N + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N));
  }
  return table;
})();

/** pHash of an image file or buffer. */
export async function perceptualHash(input: Buffer | string): Promise<Hash64> {
  const pixels = await grey(input, N, N);
  // Separable DCT restricted to the 8×8 low frequencies: rows, then columns.
  const rows = new Float64Array(N * 8);
  for (let y = 0; y < N; y++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let x = 0; x < N; x++) sum += (pixels[y * N + x] as number) * (COSINES[u * N + x] as number);
      rows[y * 8 + u] = sum;
    }
  }
  const coefficients: number[] = [];
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let y = 0; y < N; y++) sum += (rows[y * 8 + u] as number) * (COSINES[v * N + y] as number);
      coefficients.push(sum);
    }
  }
  const sorted = coefficients.slice(1).sort((a, b) => a - b);
  const median = ((sorted[31] as number) + (sorted[32] as number)) / 2;
  return packBits(coefficients.map((value) => value > median));
}
