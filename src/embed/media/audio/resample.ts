/**
 * @module embed/media/audio/resample
 * Band-limited resampling of mono float audio by windowed-sinc interpolation
 * (Kaiser window, 32 zero crossings, cut-off at 0.98 of the lower Nyquist
 * rate). For rational rate ratios (every real pair of rates) the filter is
 * precomputed once per output phase (polyphase), so the cost is ~2·32 / (0.98·min(1, ratio))
 * multiply-adds per output sample. Every input format goes through this one
 * resampler, so WAV read in TypeScript and MP3 decoded by ffmpeg give the
 * same samples for the same audio.
 */

const ZERO_CROSSINGS = 32;
const ROLLOFF = 0.98;
const KAISER_BETA = 8.6;
/** Above this many phases the kernel is evaluated per sample instead of tabulated. */
const MAX_PHASES = 4096;

function greatestCommonDivisor(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** Modified Bessel function of the first kind, order 0 (series; converges fast for the betas used). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const quarter = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= quarter / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/**
 * Resample mono audio from `fromRate` to `toRate` Hz. Returns the input itself
 * when the rates are equal. Output length is `ceil(length · toRate / fromRate)`.
 *
 * @example
 * ```ts
 * const at16k = resample(samples8k, 8000, 16000);
 * ```
 */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate || samples.length === 0) return samples;
  const divisor = greatestCommonDivisor(fromRate, toRate);
  const up = toRate / divisor;
  const down = fromRate / divisor;
  const ratio = toRate / fromRate;
  const cutoff = Math.min(1, ratio) * ROLLOFF;
  const halfWidth = Math.ceil(ZERO_CROSSINGS / cutoff);
  const taps = 2 * halfWidth;
  const windowNorm = besselI0(KAISER_BETA);
  const kernel = (x: number): number => {
    const edge = x / halfWidth;
    if (edge <= -1 || edge >= 1) return 0;
    const window = besselI0(KAISER_BETA * Math.sqrt(1 - edge * edge)) / windowNorm;
    const argument = Math.PI * cutoff * x;
    const sinc = argument === 0 ? 1 : Math.sin(argument) / argument;
    return cutoff * sinc * window;
  };
  const outLength = Math.ceil((samples.length * up) / down);
  const out = new Float32Array(outLength);
  // Output sample n sits at input time n·down/up = base + phase/up.
  let table: Float32Array | undefined;
  if (up <= MAX_PHASES) {
    table = new Float32Array(up * taps);
    for (let phase = 0; phase < up; phase++) {
      const fraction = phase / up;
      for (let tap = 0; tap < taps; tap++) {
        table[phase * taps + tap] = kernel(fraction - (tap - halfWidth + 1));
      }
    }
  }
  const last = samples.length - 1;
  for (let n = 0; n < outLength; n++) {
    const position = n * down;
    const base = Math.floor(position / up);
    const phase = position - base * up;
    const first = base - halfWidth + 1;
    let sum = 0;
    if (table !== undefined) {
      const row = phase * taps;
      for (let tap = 0; tap < taps; tap++) {
        const index = first + tap;
        if (index < 0 || index > last) continue;
        sum += (samples[index] as number) * (table[row + tap] as number);
      }
    } else {
      const time = position / up;
      for (let tap = 0; tap < taps; tap++) {
        const index = first + tap;
        if (index < 0 || index > last) continue;
        sum += (samples[index] as number) * kernel(time - index);
      }
    }
    out[n] = sum;
  }
  return out;
}
