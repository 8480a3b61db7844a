/**
 * @module vectors/random
 * A small seeded pseudo-random generator (mulberry32) and the helpers built on
 * it: uniform floats, integers, Gaussian samples (Box–Muller) and Fisher–Yates
 * shuffles. Everything that involves chance (k-means++ seeding, mini-batch
 * shuffling, train/test splits, perturbations, augmentation, noise) takes a seed and goes through this
 * file, so a run with the same seed gives the same numbers on every machine.
 */
import { checkInteger } from "../internal/options.js";

/** A seeded source of pseudo-random numbers. */
export interface Random {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, maxExclusive). */
  integer(maxExclusive: number): number;
  /** Standard normal sample (mean 0, standard deviation 1). */
  gaussian(): number;
  /** Shuffle a copy of `items` (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[];
}

/**
 * Create a seeded generator. The same seed always yields the same sequence.
 *
 * @throws EmbedkitError INVALID_OPTION when `seed` is not a finite integer.
 * @example
 * ```ts
 * const random = createRandom(42);
 * random.shuffle([1, 2, 3]);
 * ```
 */
export function createRandom(seed: number): Random {
  checkInteger("seed", seed);
  let state = seed >>> 0;
  // mulberry32: 32-bit state, passes the usual statistical batteries for this use.
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  return {
    next,
    integer(maxExclusive) {
      return Math.floor(next() * maxExclusive);
    },
    gaussian() {
      if (spare !== undefined) {
        const value = spare;
        spare = undefined;
        return value;
      }
      // Box–Muller; 1 - next() keeps the logarithm's argument in (0, 1].
      const radius = Math.sqrt(-2 * Math.log(1 - next()));
      const angle = 2 * Math.PI * next();
      spare = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },
    shuffle<T>(items: readonly T[]): T[] {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
      }
      return copy;
    },
  };
}
