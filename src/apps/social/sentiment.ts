/**
 * @module apps/social/sentiment
 * Sentiment for social posts from a classifier head over frozen embeddings.
 * The package ships two linear heads (`models/social/sentiment-en/` over
 * bge-small-en-v1.5 vectors, 3 classes from the airline tweets;
 * `models/social/sentiment-zh/` over bge-small-zh-v1.5, 2 classes from
 * ChnSentiCorp plus a neutral band on P(positive) calibrated on held-out rows),
 * trained by `scripts/train-social-heads.ts`; any head from
 * `embedkit train classifier` can be used instead. Every post gets a label and a
 * score in [-1, 1]: P(positive) − P(negative) when the head has both classes,
 * otherwise the probability of the predicted label.
 */
import { fileURLToPath } from "node:url";
import { EmbedkitError } from "../../errors.js";
import { type Classifier, type LoadedClassifier, loadClassifier } from "../../train/classifier.js";

/** Languages with a shipped sentiment head. */
export type SentimentLanguage = "en" | "zh";

/** The shipped heads: folder (inside the package's `models/social/`) and embedding model. */
export const SHIPPED_SENTIMENT_HEADS: Readonly<
  Record<SentimentLanguage, { readonly folder: string; readonly model: string }>
> = Object.freeze({
  en: Object.freeze({ folder: "sentiment-en", model: "bge-small-en-v1.5" }),
  zh: Object.freeze({ folder: "sentiment-zh", model: "bge-small-zh-v1.5" }),
});

/** Probabilities of "positive" inside `[low, high)` read as neutral (two-class heads). */
export interface NeutralBand {
  readonly low: number;
  readonly high: number;
}

/** A head ready to label posts. */
export interface SentimentHead {
  readonly classifier: Classifier;
  /** Where it came from (the folder). */
  readonly source: string;
  /** Two-class heads: the neutral band. */
  readonly neutralBand?: NeutralBand;
}

/** The sentiment of one post. */
export interface PostSentiment {
  readonly label: string;
  /** P(positive) − P(negative) when the head has both, else the label's probability. */
  readonly score: number;
}

/** Folder of a shipped head (works from `src/` and from the built `dist/`). */
export function shippedSentimentHeadDir(language: SentimentLanguage): string {
  return fileURLToPath(
    new URL(`../../../models/social/${SHIPPED_SENTIMENT_HEADS[language].folder}/`, import.meta.url),
  );
}

function readNeutralBand(head: LoadedClassifier, dir: string): NeutralBand | undefined {
  const band = head.metadata.neutralBand as { low?: unknown; high?: unknown } | undefined;
  if (band === undefined) return undefined;
  const { low, high } = band;
  if (typeof low !== "number" || typeof high !== "number" || !(0 <= low && low <= high && high <= 1)) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${dir}: metadata.neutralBand must be { low, high } with 0 ≤ low ≤ high ≤ 1, received ${JSON.stringify(band)}.`,
    );
  }
  if (!head.classes.includes("positive") || !head.classes.includes("negative")) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${dir}: a neutral band needs a head with "positive" and "negative" classes, this one has ${head.classes.join(", ")}.`,
    );
  }
  return { low, high };
}

/**
 * Load a sentiment head: the shipped one of a language, or a folder written by
 * `embedkit train classifier` / `saveClassifier`.
 *
 * @throws EmbedkitError FILE_NOT_FOUND / MALFORMED_FILE from `loadClassifier`
 * @example
 * ```ts
 * const head = await loadSentimentHead({ language: "en" });
 * ```
 */
export async function loadSentimentHead(
  from: { readonly language: SentimentLanguage } | { readonly dir: string },
): Promise<SentimentHead> {
  const dir = "dir" in from ? from.dir : shippedSentimentHeadDir(from.language);
  const classifier = await loadClassifier(dir);
  const neutralBand = readNeutralBand(classifier, dir);
  return { classifier, source: dir, ...(neutralBand === undefined ? {} : { neutralBand }) };
}

/** Label posts from their class probabilities (rows in `classes` order). */
export function sentimentFromProbabilities(
  classes: readonly string[],
  rows: readonly Float32Array[],
  neutralBand?: NeutralBand,
): PostSentiment[] {
  const positive = classes.indexOf("positive");
  const negative = classes.indexOf("negative");
  return rows.map((row) => {
    let best = 0;
    for (let c = 1; c < row.length; c++) if ((row[c] as number) > (row[best] as number)) best = c;
    if (positive < 0 || negative < 0) {
      return { label: classes[best] as string, score: row[best] as number };
    }
    const pPositive = row[positive] as number;
    const score = pPositive - (row[negative] as number);
    if (neutralBand !== undefined && pPositive >= neutralBand.low && pPositive < neutralBand.high) {
      return { label: "neutral", score };
    }
    return { label: classes[best] as string, score };
  });
}

/** Label vectors (from the head's embedding model) with a head. */
export function scoreSentiment(head: SentimentHead, vectors: readonly Float32Array[]): PostSentiment[] {
  return sentimentFromProbabilities(
    head.classifier.classes,
    head.classifier.probabilities(vectors),
    head.neutralBand,
  );
}

/**
 * Calibrate the neutral band of a two-class head on held-out rows: the band
 * `[0.5 − w, 0.5 + w)` of P(positive) with the largest `w` (steps of 0.01, at
 * most 0.4) inside which the head is right on at most `maxAccuracy` of the rows
 * — posts it cannot tell apart better than that are called neutral.
 *
 * @param pPositive - P(positive) of each held-out row
 * @param positive - whether each row is truly positive
 * @param maxAccuracy - accuracy inside the band that still counts as "cannot tell" @default 0.7
 */
export function calibrateNeutralBand(
  pPositive: readonly number[],
  positive: readonly boolean[],
  maxAccuracy = 0.7,
): NeutralBand & { readonly inside: number; readonly accuracyInside: number } {
  let best = { low: 0.5, high: 0.5, inside: 0, accuracyInside: 0 };
  for (let step = 1; step <= 40; step++) {
    const width = step / 100;
    let inside = 0;
    let right = 0;
    pPositive.forEach((p, index) => {
      if (p >= 0.5 - width && p < 0.5 + width) {
        inside++;
        if (p >= 0.5 === positive[index]) right++;
      }
    });
    if (inside > 0 && right / inside <= maxAccuracy) {
      best = {
        low: Number((0.5 - width).toFixed(2)),
        high: Number((0.5 + width).toFixed(2)),
        inside,
        accuracyInside: right / inside,
      };
    }
  }
  return best;
}
