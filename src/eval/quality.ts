/**
 * @module eval/quality
 * Label-free quality measures of a set of embeddings (see docs/EVALUATION.md
 * for what each means and where it misleads):
 *
 * - information density: the participation ratio of the covariance spectrum
 *   (effective dimensionality), the entropy of each dimension's value
 *   distribution (histogram estimator), isotropy (average cosine to the mean
 *   direction and mean pairwise cosine) and the partition-function isotropy of
 *   Mu & Viswanath (2018);
 * - robustness: cosine between a text's embedding and the embeddings of
 *   perturbed copies (typos, casing, punctuation, word drops, synonym swaps),
 *   plus Gaussian noise in vector space, reported as mean and percentiles.
 *
 * Everything random is seeded ({@link createRandom}), so a report is reproducible.
 */

import type { Embedder, InputType } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import { requireMlMatrix } from "../internal/load-dependency.js";
import { checkInteger } from "../internal/options.js";
import { pickSynonym, typo } from "../internal/text-perturbation.js";
import { cosineSimilarity } from "../vectors/math.js";
import { embedTexts, openEmbeddingCache } from "./embedding-cache.js";
import { createRandom, type Random } from "./random.js";
import { centreVectors, checkVectorSet } from "./vector-set.js";

/** Result of {@link participationRatio}. */
export interface ParticipationRatio {
  /**
   * (Σλ)² / Σλ² over the covariance eigenvalues λ: 1 when all variance lies
   * along one direction, d when it is spread evenly over all d dimensions.
   */
  readonly participationRatio: number;
  /** participationRatio / dims, in (0, 1]. */
  readonly normalized: number;
  readonly dims: number;
}

/**
 * Participation ratio of the covariance spectrum (effective dimensionality).
 * Computed without an eigendecomposition: Σλ = trace(C) and Σλ² = ‖C‖²_F, and
 * ‖XᵀX‖_F = ‖XXᵀ‖_F lets us use the smaller of the d×d covariance and the n×n
 * Gram matrix of the centred data.
 *
 * @throws EmbedkitError INVALID_INPUT for fewer than 2 vectors or zero variance;
 *   DIMENSION_MISMATCH for vectors of different lengths.
 */
export function participationRatio(vectors: readonly Float32Array[]): ParticipationRatio {
  const dims = checkVectorSet(vectors, 2, "participationRatio");
  const n = vectors.length;
  const centred = centreVectors(vectors, dims);
  let trace = 0;
  for (const row of centred) for (const value of row) trace += value * value;
  let frobenius = 0;
  if (n <= dims) {
    // Gram matrix G = X Xᵀ (n × n), symmetric: sum the upper triangle twice.
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        let sum = 0;
        const a = centred[i] as Float64Array;
        const b = centred[j] as Float64Array;
        for (let d = 0; d < dims; d++) sum += (a[d] as number) * (b[d] as number);
        frobenius += (i === j ? 1 : 2) * sum * sum;
      }
    }
  } else {
    const scatter = new Float64Array(dims * dims);
    for (const row of centred) {
      for (let a = 0; a < dims; a++) {
        const value = row[a] as number;
        if (value === 0) continue;
        const offset = a * dims;
        for (let b = a; b < dims; b++)
          scatter[offset + b] = (scatter[offset + b] as number) + value * (row[b] as number);
      }
    }
    for (let a = 0; a < dims; a++) {
      for (let b = a; b < dims; b++) {
        const value = scatter[a * dims + b] as number;
        frobenius += (a === b ? 1 : 2) * value * value;
      }
    }
  }
  if (trace === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `participationRatio is undefined for ${n} identical vectors (zero variance). Use distinct texts.`,
    );
  }
  // The 1/(n-1) scale of the covariance cancels in the ratio.
  const ratio = (trace * trace) / frobenius;
  return { participationRatio: ratio, normalized: ratio / dims, dims };
}

/** Result of {@link dimensionEntropy}. */
export interface DimensionEntropy {
  /** Mean over dimensions of entropy / log2(bins), in [0, 1]. */
  readonly meanNormalized: number;
  /** Lowest per-dimension normalized entropy (a near-constant or spiky dimension). */
  readonly minNormalized: number;
  /** Mean entropy in bits. */
  readonly meanBits: number;
  /** Histogram bins used per dimension. */
  readonly bins: number;
}

/**
 * Entropy of each dimension's value distribution, estimated with a histogram of
 * `bins` equal-width bins spanning that dimension's observed [min, max] (a
 * constant dimension has entropy 0). Normalized by log2(bins), so 1 means the
 * values fill the range uniformly and 0 means a single value. The plug-in
 * estimator is biased low for small samples; use at least ~10 × bins vectors.
 *
 * @param options.bins @default 32
 * @throws EmbedkitError INVALID_INPUT for fewer than 2 vectors; INVALID_OPTION for bins < 2.
 */
export function dimensionEntropy(
  vectors: readonly Float32Array[],
  options: { readonly bins?: number } = {},
): DimensionEntropy {
  const dims = checkVectorSet(vectors, 2, "dimensionEntropy");
  const bins = options.bins ?? 32;
  checkInteger("bins", bins, { min: 2 });
  const n = vectors.length;
  const counts = new Int32Array(bins);
  let sumNormalized = 0;
  let minNormalized = Number.POSITIVE_INFINITY;
  let sumBits = 0;
  for (let d = 0; d < dims; d++) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const vector of vectors) {
      const value = vector[d] as number;
      if (value < min) min = value;
      if (value > max) max = value;
    }
    let bits = 0;
    if (max > min) {
      counts.fill(0);
      const width = (max - min) / bins;
      for (const vector of vectors) {
        const bin = Math.min(bins - 1, Math.floor(((vector[d] as number) - min) / width));
        counts[bin] = (counts[bin] as number) + 1;
      }
      for (const count of counts) if (count > 0) bits -= (count / n) * Math.log2(count / n);
    }
    const normalized = bits / Math.log2(bins);
    sumBits += bits;
    sumNormalized += normalized;
    if (normalized < minNormalized) minNormalized = normalized;
  }
  return { meanNormalized: sumNormalized / dims, minNormalized, meanBits: sumBits / dims, bins };
}

/** Result of {@link isotropy}. */
export interface Isotropy {
  /** Mean cosine between each vector and the mean vector (1 = all in one cone, ~0 = isotropic). */
  readonly meanCosineToMean: number;
  /** Mean cosine over all pairs of distinct vectors (~0 for an isotropic space). */
  readonly meanPairwiseCosine: number;
}

/**
 * Two views of (an)isotropy: how strongly the vectors share a common direction.
 * The mean pairwise cosine is exact and O(n·d): for unit vectors uᵢ,
 * Σ_{i≠j} uᵢ·uⱼ = ‖Σuᵢ‖² − n.
 *
 * @throws EmbedkitError INVALID_INPUT for fewer than 2 vectors or a zero vector.
 */
export function isotropy(vectors: readonly Float32Array[]): Isotropy {
  const dims = checkVectorSet(vectors, 2, "isotropy");
  const n = vectors.length;
  const sum = new Float64Array(dims);
  const units = vectors.map((vector, index) => {
    let length = 0;
    for (const value of vector) length += value * value;
    length = Math.sqrt(length);
    if (length === 0) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `vectors[${index}] is the zero vector; its direction is undefined.`,
      );
    }
    const unit = Float64Array.from(vector, (value) => value / length);
    for (let d = 0; d < dims; d++) sum[d] = (sum[d] as number) + (unit[d] as number);
    return unit;
  });
  let sumSquared = 0;
  for (const value of sum) sumSquared += value * value;
  const meanLength = Math.sqrt(sumSquared) / n;
  let cosineToMean = 0;
  if (meanLength > 0) {
    for (const unit of units) {
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += (unit[d] as number) * (sum[d] as number);
      cosineToMean += dot / (meanLength * n);
    }
  }
  return {
    meanCosineToMean: cosineToMean / n,
    meanPairwiseCosine: (sumSquared - n) / (n * (n - 1)),
  };
}

/** Result of {@link partitionIsotropy}. */
export interface PartitionIsotropy {
  /**
   * I(W) = min_c Z(c) / max_c Z(c) over the eigenvectors c of WᵀW (both signs),
   * with Z(c) = Σᵢ exp(cᵀwᵢ). 1 = perfectly isotropic; near 0 = a dominant direction.
   */
  readonly isotropy: number;
  /** log Z(c) at the minimising and maximising directions (for diagnosis). */
  readonly logZMin: number;
  readonly logZMax: number;
  /** Number of candidate directions evaluated (2 × the rank used). */
  readonly directions: number;
}

/**
 * Partition-function isotropy of Mu & Viswanath ("All-but-the-Top", ICLR 2018),
 * after Arora et al. (2016): for a perfectly isotropic set Z(c) = Σᵢ exp(cᵀwᵢ)
 * is the same constant for every unit vector c, so I(W) = min Z / max Z is 1;
 * the min and max are approximated over the eigenvectors of WᵀW (the principal
 * directions of the raw, uncentred vectors). Eigenvectors have no intrinsic sign,
 * so both c and −c are evaluated (a slightly stricter reading than the paper's).
 * Sums are taken in log space, so unnormalised vectors cannot overflow.
 * Cost: one symmetric eigendecomposition of the smaller of the d×d scatter and
 * the n×n Gram matrix (~3 s for d = 384 on one core), plus O(n·d·r).
 *
 * @throws EmbedkitError INVALID_INPUT for fewer than 2 vectors;
 *   DIMENSION_MISMATCH for vectors of different lengths.
 */
export function partitionIsotropy(vectors: readonly Float32Array[]): PartitionIsotropy {
  const dims = checkVectorSet(vectors, 2, "partitionIsotropy");
  const n = vectors.length;
  const { EigenvalueDecomposition, Matrix } = requireMlMatrix();
  const data = new Matrix(vectors.map((vector) => Array.from(vector)));
  // Eigenvectors of WᵀW: directly when d ≤ n, else from the Gram matrix WWᵀ = UΛUᵀ as Wᵀu/‖Wᵀu‖.
  // Directions with (numerically) zero eigenvalue carry no data and are left out in both cases.
  const useScatter = dims <= n;
  const decomposition = new EigenvalueDecomposition(
    useScatter ? data.transpose().mmul(data) : data.mmul(data.transpose()),
    { assumeSymmetric: true },
  );
  const candidates = useScatter
    ? decomposition.eigenvectorMatrix
    : data.transpose().mmul(decomposition.eigenvectorMatrix);
  const largest = Math.max(...decomposition.realEigenvalues.map(Math.abs));
  const kept = decomposition.realEigenvalues
    .map((value, index) => ({ value, index }))
    .filter(({ value }) => value > largest * 1e-10)
    .map(({ index }) => index);
  if (kept.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      "partitionIsotropy is undefined when every vector is the zero vector.",
    );
  }
  const directions = new Matrix(dims, kept.length);
  kept.forEach((column, target) => {
    const vector = candidates.getColumn(column);
    const length = Math.hypot(...vector);
    vector.forEach((value, row) => {
      directions.set(row, target, value / length);
    });
  });
  // projections[i][j] = wᵢ · c_j
  const projections = data.mmul(directions);
  let logZMin = Number.POSITIVE_INFINITY;
  let logZMax = Number.NEGATIVE_INFINITY;
  for (let column = 0; column < projections.columns; column++) {
    const values = projections.getColumn(column);
    for (const sign of [1, -1]) {
      const logZ = logSumExp(values, sign);
      if (logZ < logZMin) logZMin = logZ;
      if (logZ > logZMax) logZMax = logZ;
    }
  }
  return {
    isotropy: Math.exp(logZMin - logZMax),
    logZMin,
    logZMax,
    directions: 2 * projections.columns,
  };
}

function logSumExp(values: readonly number[], sign: number): number {
  let maximum = Number.NEGATIVE_INFINITY;
  for (const value of values) if (sign * value > maximum) maximum = sign * value;
  let sum = 0;
  for (const value of values) sum += Math.exp(sign * value - maximum);
  return maximum + Math.log(sum);
}

/** Result of {@link informationDensity}. */
export interface InformationDensity {
  readonly vectors: number;
  readonly dims: number;
  readonly participationRatio: ParticipationRatio;
  readonly dimensionEntropy: DimensionEntropy;
  readonly isotropy: Isotropy;
  readonly partitionIsotropy: PartitionIsotropy;
}

/** All information-density measures at once. @throws as the individual measures. */
export function informationDensity(
  vectors: readonly Float32Array[],
  options: { readonly bins?: number } = {},
): InformationDensity {
  return {
    vectors: vectors.length,
    dims: checkVectorSet(vectors, 2, "informationDensity"),
    participationRatio: participationRatio(vectors),
    dimensionEntropy: dimensionEntropy(vectors, options),
    isotropy: isotropy(vectors),
    partitionIsotropy: partitionIsotropy(vectors),
  };
}

/** Mean, spread and percentiles of a list of values (linear interpolation, as NumPy). */
export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly min: number;
  readonly p5: number;
  readonly p25: number;
  readonly p50: number;
  readonly p75: number;
  readonly p95: number;
  readonly max: number;
}

/** Summarise values; `count: 0` and zeros for an empty list. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0)
    return { count: 0, mean: 0, min: 0, p5: 0, p25: 0, p50: 0, p75: 0, p95: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => {
    const position = q * (sorted.length - 1);
    const low = Math.floor(position);
    const high = Math.ceil(position);
    return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (position - low);
  };
  return {
    count: sorted.length,
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    min: sorted[0] as number,
    p5: at(0.05),
    p25: at(0.25),
    p50: at(0.5),
    p75: at(0.75),
    p95: at(0.95),
    max: sorted[sorted.length - 1] as number,
  };
}

/**
 * A small built-in synonym list for the synonym-swap perturbation (English,
 * everyday words, both directions). Deliberately small and frozen so results
 * are reproducible and independent of any word-vector table; texts without any
 * of these words are skipped by that perturbation (and counted).
 */
export const SYNONYMS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  good: ["great", "fine"],
  great: ["good", "excellent"],
  bad: ["poor", "awful"],
  big: ["large", "huge"],
  large: ["big"],
  small: ["little", "tiny"],
  little: ["small"],
  fast: ["quick", "rapid"],
  quick: ["fast"],
  happy: ["glad", "cheerful"],
  sad: ["unhappy"],
  movie: ["film"],
  film: ["movie"],
  buy: ["purchase"],
  begin: ["start"],
  start: ["begin"],
  end: ["finish"],
  show: ["display"],
  help: ["assist"],
  make: ["create"],
  get: ["obtain"],
  use: ["utilize"],
  said: ["stated"],
  says: ["states"],
  new: ["novel"],
  old: ["aged"],
  important: ["significant"],
  increase: ["rise"],
  increases: ["raises"],
  decrease: ["decline"],
  high: ["elevated"],
  low: ["reduced"],
  company: ["firm"],
  companies: ["firms"],
  people: ["persons"],
  country: ["nation"],
  city: ["town"],
  car: ["automobile"],
  house: ["home"],
  job: ["work"],
  price: ["cost"],
  prices: ["costs"],
  funny: ["amusing"],
  boring: ["dull"],
  beautiful: ["lovely"],
  story: ["tale"],
  smart: ["clever"],
  difficult: ["hard"],
  easy: ["simple"],
  wrong: ["incorrect"],
  right: ["correct"],
  many: ["numerous"],
  often: ["frequently"],
  very: ["really"],
  cause: ["trigger"],
  causes: ["triggers"],
  reduces: ["lowers"],
  shows: ["displays"],
  study: ["research"],
});

/** {@link SYNONYMS} as a synonym source for the shared perturbation engine. */
function listedSynonyms(word: string): readonly string[] {
  return Object.hasOwn(SYNONYMS, word) ? (SYNONYMS[word] as readonly string[]) : [];
}

/** The text perturbations {@link measureRobustness} knows. */
export const TEXT_PERTURBATIONS = Object.freeze([
  "typo",
  "casing",
  "punctuation",
  "word-drop",
  "synonym",
] as const);

/** One of {@link TEXT_PERTURBATIONS}. */
export type TextPerturbation = (typeof TEXT_PERTURBATIONS)[number];

const PUNCTUATION = /[\p{P}]/gu;

/**
 * Perturb a text once. Returns `null` when the perturbation does not apply
 * (nothing to change): a one-word text for word-drop, no listed word for synonym.
 *
 * - typo: in one random word of ≥ 3 characters (or anywhere, for text without
 *   spaces such as Chinese), swap two adjacent characters, delete or double one,
 *   or (Latin letters) hit a neighbouring key — the typo of train's char-noise
 *   augmentation (one engine: `internal/text-perturbation`);
 * - casing: all lower case, or — when already lower case — every word capitalised;
 * - punctuation: remove all punctuation, or — when there is none — append "!";
 * - word-drop: remove one random whitespace-separated word;
 * - synonym: replace one random word found in {@link SYNONYMS}.
 */
export function perturbText(text: string, kind: TextPerturbation, random: Random): string | null {
  const words = text.split(/(\s+)/);
  const wordIndices = words
    .map((_, index) => index)
    .filter((index) => (words[index] as string).trim() !== "");
  switch (kind) {
    case "typo": {
      const candidates = wordIndices.filter((index) => [...(words[index] as string)].length >= 3);
      // Text without spaces (Chinese) has no words: the typo goes anywhere in it.
      if (candidates.length === 0) return [...text].length >= 2 ? typo(text, random) : null;
      const index = candidates[random.integer(candidates.length)] as number;
      words[index] = typo(words[index] as string, random);
      return words.join("");
    }
    case "casing": {
      const lower = text.toLowerCase();
      if (lower !== text) return lower;
      const capitalised = text.replace(
        /(^|\s)(\p{Ll})/gu,
        (_, space: string, letter: string) => space + letter.toUpperCase(),
      );
      return capitalised === text ? null : capitalised;
    }
    case "punctuation": {
      const stripped = text.replace(PUNCTUATION, "").replace(/\s+/g, " ").trim();
      if (stripped !== text.trim() && stripped !== "") return stripped;
      return `${text}!`;
    }
    case "word-drop": {
      if (wordIndices.length < 2) return null;
      const index = wordIndices[random.integer(wordIndices.length)] as number;
      words.splice(index, 2);
      return words.join("").trim();
    }
    case "synonym": {
      const candidates = wordIndices.filter(
        (index) => listedSynonyms((words[index] as string).toLowerCase()).length > 0,
      );
      if (candidates.length === 0) return null;
      const index = candidates[random.integer(candidates.length)] as number;
      words[index] = pickSynonym(words[index] as string, listedSynonyms, random) as string;
      return words.join("");
    }
  }
}

/** Options of {@link measureRobustness}. */
export interface MeasureRobustnessOptions {
  readonly embedder: Embedder;
  /** Texts to perturb (at least 2). */
  readonly texts: readonly string[];
  /** @default 42 */
  readonly seed?: number;
  /** @default every {@link TEXT_PERTURBATIONS} entry */
  readonly perturbations?: readonly TextPerturbation[];
  /**
   * Gaussian noise levels σ: noise with per-dimension standard deviation
   * σ·‖v‖/√d is added, so σ is the expected noise-to-signal norm ratio.
   * @default [0.1, 0.3, 0.5]
   */
  readonly noiseLevels?: readonly number[];
  /** @default "none" */
  readonly inputType?: InputType;
  /** Cache folder; `false` disables caching. @default $EMBEDKIT_HOME/eval-cache */
  readonly cacheDir?: string | false;
  readonly onProgress?: (progress: { readonly done: number; readonly total: number }) => void;
}

/** Robustness of one perturbation. */
export interface PerturbationRobustness {
  /** Cosine(original, perturbed) over the texts the perturbation applied to. */
  readonly cosine: Summary;
  /** Texts the perturbation did not apply to. */
  readonly skipped: number;
  /** Share of texts whose nearest other text (by cosine) is unchanged after perturbation. */
  readonly neighbourKept: number;
  /** A few examples (original → perturbed). */
  readonly examples: ReadonlyArray<{
    readonly original: string;
    readonly perturbed: string;
    readonly cosine: number;
  }>;
}

/** Result of {@link measureRobustness}. */
export interface Robustness {
  readonly texts: number;
  readonly seed: number;
  readonly perturbations: Readonly<Partial<Record<TextPerturbation, PerturbationRobustness>>>;
  /** By noise level σ (as a string key, e.g. "0.1"). */
  readonly noise: Readonly<Record<string, { readonly cosine: Summary; readonly neighbourKept: number }>>;
}

/** Index of the nearest other original for a query vector (excluding `self`). */
function nearestOther(originals: readonly Float32Array[], query: Float32Array, self: number): number {
  let best = -1;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < originals.length; i++) {
    if (i === self) continue;
    const score = cosineSimilarity(originals[i] as Float32Array, query);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}

/**
 * Measure how stable embeddings are under small input changes: for each text,
 * embed a perturbed copy and take the cosine to the original; also check
 * whether the text's nearest neighbour among the other originals stays the same.
 * Gaussian noise is applied directly to the vectors.
 *
 * @throws EmbedkitError INVALID_INPUT for fewer than 2 texts; INVALID_OPTION for
 *   an unknown perturbation or a negative noise level; errors of `embedder.embed`.
 * @example
 * ```ts
 * const report = await measureRobustness({ embedder, texts, seed: 1 });
 * report.perturbations.typo?.cosine.mean; // e.g. 0.93
 * ```
 */
export async function measureRobustness(options: MeasureRobustnessOptions): Promise<Robustness> {
  const { embedder, texts } = options;
  if (!Array.isArray(texts) || texts.length < 2) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Robustness needs at least 2 texts, received ${Array.isArray(texts) ? texts.length : 0}.`,
    );
  }
  const seed = options.seed ?? 42;
  const kinds = options.perturbations ?? TEXT_PERTURBATIONS;
  for (const kind of kinds) {
    if (!(TEXT_PERTURBATIONS as readonly string[]).includes(kind)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `Unknown perturbation ${JSON.stringify(kind)}. Known: ${TEXT_PERTURBATIONS.join(", ")}.`,
      );
    }
  }
  const noiseLevels = options.noiseLevels ?? [0.1, 0.3, 0.5];
  for (const level of noiseLevels) {
    if (!(level >= 0) || !Number.isFinite(level)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `noise levels must be finite numbers >= 0, received ${String(level)}.`,
      );
    }
  }
  // Each perturbation gets its own stream, so adding one does not change the others.
  const perturbed = kinds.map((kind, kindIndex) => {
    const random = createRandom(seed + 1000 * (kindIndex + 1));
    return texts.map((text) => {
      const result = perturbText(text, kind, random);
      return result === null || result.trim() === "" ? null : result;
    });
  });
  const all = [...texts, ...perturbed.flat().filter((text): text is string => text !== null)];
  const { vectors } = await embedTexts({
    embedder,
    texts: all,
    ...(options.inputType === undefined ? {} : { inputType: options.inputType }),
    cache:
      options.cacheDir === false
        ? false
        : openEmbeddingCache({
            modelId: embedder.model.id,
            inputType: options.inputType ?? "none",
            dims: embedder.model.dims,
            ...(options.cacheDir === undefined ? {} : { dir: options.cacheDir }),
          }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  const originals = vectors.slice(0, texts.length);
  const neighbours = originals.map((vector, index) => nearestOther(originals, vector, index));
  let cursor = texts.length;
  const perturbations: Partial<Record<TextPerturbation, PerturbationRobustness>> = {};
  kinds.forEach((kind, kindIndex) => {
    const cosines: number[] = [];
    const examples: { original: string; perturbed: string; cosine: number }[] = [];
    let kept = 0;
    let skipped = 0;
    (perturbed[kindIndex] as (string | null)[]).forEach((text, index) => {
      if (text === null) {
        skipped++;
        return;
      }
      const vector = vectors[cursor++] as Float32Array;
      const similarity = cosineSimilarity(originals[index] as Float32Array, vector);
      cosines.push(similarity);
      if (nearestOther(originals, vector, index) === neighbours[index]) kept++;
      if (examples.length < 3)
        examples.push({ original: texts[index] as string, perturbed: text, cosine: similarity });
    });
    perturbations[kind] = {
      cosine: summarize(cosines),
      skipped,
      neighbourKept: cosines.length === 0 ? 0 : kept / cosines.length,
      examples,
    };
  });
  const noise: Record<string, { cosine: Summary; neighbourKept: number }> = {};
  const random = createRandom(seed);
  for (const level of noiseLevels) {
    const cosines: number[] = [];
    let kept = 0;
    originals.forEach((vector, index) => {
      let length = 0;
      for (const value of vector) length += value * value;
      const scale = (level * Math.sqrt(length)) / Math.sqrt(vector.length);
      const noisy = Float32Array.from(vector, (value) => value + scale * random.gaussian());
      cosines.push(cosineSimilarity(vector, noisy));
      if (nearestOther(originals, noisy, index) === neighbours[index]) kept++;
    });
    noise[String(level)] = { cosine: summarize(cosines), neighbourKept: kept / originals.length };
  }
  return { texts: texts.length, seed, perturbations, noise };
}
