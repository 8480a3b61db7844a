/**
 * @module embed/media/audio/fft
 * A small mixed-radix FFT (recursive Cooley–Tukey over the factors of n, with
 * a direct butterfly for each factor). Speech front-ends use sizes that are not
 * powers of two (GE2E's 25 ms window at 16 kHz is 400 = 4·4·5·5), so a
 * radix-2-only library would force zero-padding and change the spectrum.
 * Cost is n·Σfactors complex multiply-adds: 7,200 for n = 400. Powers of two
 * (CLAP's 1024, the MFCC baseline's 512) take an iterative in-place radix-2
 * path instead (n/2·log2 n butterflies, no recursion), several times faster.
 */

/** A reusable FFT of one size. */
export interface FftPlan {
  readonly size: number;
  /**
   * Power spectrum |X[k]|², k = 0..size/2, of a real frame of `size` samples,
   * written into `out` (length `size/2 + 1`).
   */
  powerSpectrum(frame: Float32Array, out: Float32Array): void;
}

function factorize(n: number): number[] {
  const factors: number[] = [];
  let rest = n;
  for (const p of [4, 2, 3, 5]) {
    while (rest % p === 0) {
      factors.push(p);
      rest /= p;
    }
  }
  for (let p = 7; rest > 1; p += 2) {
    while (rest % p === 0) {
      factors.push(p);
      rest /= p;
    }
  }
  return factors;
}

/**
 * Create an FFT plan for frames of `size` samples (any positive integer).
 * @example
 * ```ts
 * const plan = createFftPlan(400);
 * const power = new Float32Array(201);
 * plan.powerSpectrum(windowedFrame, power);
 * ```
 */
export function createFftPlan(size: number): FftPlan {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`FFT size must be a positive integer, got ${size}`);
  if (size >= 2 && (size & (size - 1)) === 0) return createRadix2Plan(size);
  const factors = factorize(size);
  const cos = new Float64Array(size);
  const sin = new Float64Array(size);
  for (let j = 0; j < size; j++) {
    cos[j] = Math.cos((-2 * Math.PI * j) / size);
    sin[j] = Math.sin((-2 * Math.PI * j) / size);
  }
  const inRe = new Float64Array(size);
  const inIm = new Float64Array(size);
  const outRe = new Float64Array(size);
  const outIm = new Float64Array(size);
  const largest = Math.max(1, ...factors);
  const scratchRe = new Float64Array(largest);
  const scratchIm = new Float64Array(largest);

  // out[outOffset .. outOffset+n) = DFT of in[inOffset + stride·t], t = 0..n-1.
  const transform = (inOffset: number, stride: number, n: number, level: number, outOffset: number): void => {
    if (n === 1) {
      outRe[outOffset] = inRe[inOffset] as number;
      outIm[outOffset] = inIm[inOffset] as number;
      return;
    }
    const p = factors[level] as number;
    const m = n / p;
    for (let q = 0; q < p; q++) transform(inOffset + q * stride, stride * p, m, level + 1, outOffset + q * m);
    const step = size / n;
    for (let k = 0; k < m; k++) {
      for (let q = 0; q < p; q++) {
        scratchRe[q] = outRe[outOffset + q * m + k] as number;
        scratchIm[q] = outIm[outOffset + q * m + k] as number;
      }
      for (let u = 0; u < p; u++) {
        const index = k + u * m;
        let re = 0;
        let im = 0;
        for (let q = 0; q < p; q++) {
          const twiddle = ((q * index) % n) * step;
          const c = cos[twiddle] as number;
          const s = sin[twiddle] as number;
          const xr = scratchRe[q] as number;
          const xi = scratchIm[q] as number;
          re += xr * c - xi * s;
          im += xr * s + xi * c;
        }
        outRe[outOffset + index] = re;
        outIm[outOffset + index] = im;
      }
    }
  };

  return {
    size,
    powerSpectrum(frame, out) {
      for (let i = 0; i < size; i++) {
        inRe[i] = frame[i] as number;
        inIm[i] = 0;
      }
      transform(0, 1, size, 0, 0);
      const bins = (size >> 1) + 1;
      for (let k = 0; k < bins; k++) {
        const re = outRe[k] as number;
        const im = outIm[k] as number;
        out[k] = re * re + im * im;
      }
    },
  };
}

/** Iterative radix-2 FFT (bit-reversed load, then log2 n butterfly stages) for a power of two. */
function createRadix2Plan(size: number): FftPlan {
  const bits = Math.log2(size);
  const reversed = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    reversed[i] = r;
  }
  const half = size >> 1;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let j = 0; j < half; j++) {
    cos[j] = Math.cos((-2 * Math.PI * j) / size);
    sin[j] = Math.sin((-2 * Math.PI * j) / size);
  }
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  return {
    size,
    powerSpectrum(frame, out) {
      for (let i = 0; i < size; i++) {
        re[reversed[i] as number] = frame[i] as number;
        im[i] = 0;
      }
      for (let length = 2; length <= size; length <<= 1) {
        const span = length >> 1;
        const step = size / length;
        for (let start = 0; start < size; start += length) {
          for (let k = 0; k < span; k++) {
            const c = cos[k * step] as number;
            const s = sin[k * step] as number;
            const a = start + k;
            const b = a + span;
            const br = re[b] as number;
            const bi = im[b] as number;
            const tr = br * c - bi * s;
            const ti = br * s + bi * c;
            const ar = re[a] as number;
            const ai = im[a] as number;
            re[a] = ar + tr;
            im[a] = ai + ti;
            re[b] = ar - tr;
            im[b] = ai - ti;
          }
        }
      }
      for (let k = 0; k <= half; k++) {
        const r = re[k] as number;
        const i = im[k] as number;
        out[k] = r * r + i * i;
      }
    },
  };
}
