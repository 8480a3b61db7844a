/**
 * @module eval/sts
 * The semantic-textual-similarity task runner: embed both sides of every pair,
 * take the cosine of each pair, and correlate the cosines with the gold scores
 * (Spearman is the headline number, as in SBERT, MTEB and C-MTEB). Sentences are
 * deduplicated first: STS files repeat sentences across pairs (the Chinese
 * question sets heavily), so each distinct text is embedded exactly once.
 */

import type { Embedder, InputType } from "../embed/embedder.js";
import { describeType, EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";
import { cosineSimilarity } from "../vectors/math.js";
import { pearson, spearman } from "./metrics.js";
import type { StsPair } from "./sts-data.js";

/** Progress of {@link evaluateSts}, in distinct sentences embedded. */
export interface StsProgress {
  readonly done: number;
  readonly total: number;
}

/** Options of {@link evaluateSts}. */
export interface EvaluateStsOptions {
  /** The model under test. Not closed by the evaluation. */
  readonly embedder: Embedder;
  /** Sentence pairs with gold scores (any scale; see {@link StsResult}). */
  readonly pairs: readonly StsPair[];
  /**
   * Distinct sentences per `embedder.embed` call. Larger calls let the embedder
   * sort by length and pad less; smaller ones report progress more often.
   * @default 1024
   */
  readonly batchSize?: number;
  /**
   * Prefix applied by the model. STS is symmetric, so the default is none; e5
   * models expect `"query"` on both sides (as MTEB evaluates them).
   * @default "none"
   */
  readonly inputType?: InputType;
  /** Called after each embed call. */
  readonly onProgress?: (progress: StsProgress) => void;
  /** Cancels between embed calls. */
  readonly signal?: AbortSignal;
  /**
   * Also return the cosine of every pair (for scatter plots of predicted vs gold).
   * @default false
   */
  readonly includeCosines?: boolean;
}

/** Result of {@link evaluateSts}. Correlations are ×100 (MTEB's reporting scale). */
export interface StsResult {
  /** Spearman's rho between pair cosines and gold scores, ×100, in [-100, 100]. */
  readonly spearman: number;
  /** Pearson's r between pair cosines and gold scores, ×100, in [-100, 100]. */
  readonly pearson: number;
  /** Number of pairs scored. */
  readonly pairs: number;
  /** Number of distinct sentences embedded. */
  readonly sentences: number;
  /** Wall-clock seconds for embedding and scoring. */
  readonly seconds: number;
  /** Cosine of each pair, in pair order (only with `includeCosines`). */
  readonly cosines?: readonly number[];
}

/**
 * Evaluate an embedder on sentence pairs: embed the distinct sentences once,
 * score each pair by cosine similarity and correlate with the gold scores.
 *
 * Both correlations are returned multiplied by 100 (so 82.03 means rho = 0.8203),
 * the convention of MTEB and published STS tables. The gold scores can use any
 * scale (0–5, 1–5, 0/1 labels): neither correlation depends on it.
 *
 * @throws EmbedkitError INVALID_INPUT when `pairs` is not an array of
 *   `{ a, b, score }` with string sentences and finite scores, holds fewer than 2
 *   pairs, or has constant gold scores (or constant cosines, e.g. a degenerate
 *   model): a correlation is undefined then; INVALID_OPTION for a bad batchSize;
 *   any error of `embedder.embed` (INVALID_INPUT for empty sentences, CLOSED, ...).
 * @example
 * ```ts
 * const embedder = await createEmbedder({ model: "all-minilm-l6-v2" });
 * const pairs = await readStsSet("stsb-en-dev", { dataDir: "/path/to/data" });
 * const { spearman } = await evaluateSts({ embedder, pairs }); // ≈ 87 on STS-B dev
 * await embedder.close();
 * ```
 */
export async function evaluateSts(options: EvaluateStsOptions): Promise<StsResult> {
  const { embedder, pairs } = options;
  const batchSize = options.batchSize ?? 1024;
  checkInteger("batchSize", batchSize, { min: 1 });
  if (!Array.isArray(pairs)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `pairs must be an array of { a, b, score }, received ${describeType(pairs)}.`,
    );
  }
  if (pairs.length < 2) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `STS evaluation needs at least 2 pairs to correlate, received ${pairs.length}.`,
      { details: { expected: 2, received: pairs.length } },
    );
  }
  const started = performance.now();

  // Map each distinct sentence to one slot, in first-seen order.
  const slotOf = new Map<string, number>();
  const sentences: string[] = [];
  const slotsA = new Int32Array(pairs.length);
  const slotsB = new Int32Array(pairs.length);
  const gold = new Float64Array(pairs.length);
  const slot = (text: unknown, index: number, side: "a" | "b"): number => {
    if (typeof text !== "string") {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `pairs[${index}].${side} must be a string, received ${describeType(text)}.`,
        { details: { index, side } },
      );
    }
    let found = slotOf.get(text);
    if (found === undefined) {
      found = sentences.length;
      slotOf.set(text, found);
      sentences.push(text);
    }
    return found;
  };
  pairs.forEach((pair: StsPair, index) => {
    if (typeof pair !== "object" || pair === null) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `pairs[${index}] must be an object { a, b, score }, received ${describeType(pair)}.`,
      );
    }
    slotsA[index] = slot(pair.a, index, "a");
    slotsB[index] = slot(pair.b, index, "b");
    if (typeof pair.score !== "number" || !Number.isFinite(pair.score)) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `pairs[${index}].score must be a finite number, received ${String(pair.score)}.`,
        { details: { index } },
      );
    }
    gold[index] = pair.score;
  });
  // Checked before embedding, so a wrongly read file fails fast instead of after minutes.
  if (gold.every((score) => score === gold[0])) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `All ${pairs.length} gold scores are equal (${gold[0]}); a correlation with them is undefined. ` +
        "Check that the score column was read correctly.",
    );
  }

  const vectors: Float32Array[] = new Array(sentences.length);
  const inputType = options.inputType ?? "none";
  for (let start = 0; start < sentences.length; start += batchSize) {
    if (options.signal?.aborted) {
      throw new EmbedkitError("INVALID_INPUT", "STS evaluation was cancelled by the caller's AbortSignal.", {
        cause: options.signal.reason,
      });
    }
    const batch = sentences.slice(start, start + batchSize);
    const { vectors: batchVectors } = await embedder.embed(batch, { inputType });
    batchVectors.forEach((vector, offset) => {
      vectors[start + offset] = vector;
    });
    options.onProgress?.({ done: start + batch.length, total: sentences.length });
  }

  const cosines = new Float64Array(pairs.length);
  for (let i = 0; i < pairs.length; i++) {
    cosines[i] = cosineSimilarity(
      vectors[slotsA[i] as number] as Float32Array,
      vectors[slotsB[i] as number] as Float32Array,
    );
  }
  const result: StsResult = {
    spearman: spearman(cosines, gold) * 100,
    pearson: pearson(cosines, gold) * 100,
    pairs: pairs.length,
    sentences: sentences.length,
    seconds: (performance.now() - started) / 1000,
    ...(options.includeCosines === true ? { cosines: Array.from(cosines) } : {}),
  };
  return result;
}
