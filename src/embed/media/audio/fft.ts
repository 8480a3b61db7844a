/**
 * @module embed/media/audio/fft
 * A small mixed-radix FFT (recursive Cooley–Tukey over the factors of n, with
 * a direct butterfly for each factor). Speech front-ends use sizes that are not
 * powers of two (GE2E's 25 ms window at 16 kHz is 400 = 4·4·5·5), so a
 * radix-2-only library would force zero-padding and change the spectrum.
 * Cost is n·Σfactors complex multiply-adds: 7,200 for n = 400.
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
