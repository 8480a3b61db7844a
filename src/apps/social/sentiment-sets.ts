/**
 * @module apps/social/sentiment-sets
 * The labelled sentiment sets the shipped heads are trained and scored on, read
 * from the shared data folder (`EMBEDKIT_DATA` or `dataDir`; see each set's
 * SOURCE.md for provenance and license), with the one split rule both the
 * training script (`scripts/train-social-heads.ts`) and the benchmark
 * (`bench/social.ts`) use, so no row a head was trained on is ever scored:
 *
 * - **tweets** — `twitter-us-airline-sentiment/Tweets.csv`, 3 classes. A row is
 *   held out when the first 4 bytes of the SHA-256 of its normalised text
 *   (trimmed, lower-cased, whitespace collapsed) read as an integer are below
 *   20 % of 2³². Keying on the text (not the tweet id) puts repeated tweets and
 *   retweets with the same words on the same side of the split.
 * - **chnsenticorp** — `chnsenticorp/train.tsv` (2 classes) split by the same
 *   text hash: 80 % trains the Chinese head, 20 % calibrates its neutral band;
 *   `chnsenticorp/dev.tsv` is only ever scored.
 * - **weibo** — `weibo-senti/sample-even.tsv` (2 classes, no header), only ever scored.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { EmbedkitError } from "../../errors.js";
import { resolveDataDir } from "../../eval/data-dir.js";
import { readFileText } from "../../internal/read-file.js";
import { createRandom } from "../../vectors/random.js";

/** One labelled text. */
export interface SentimentExample {
  readonly text: string;
  /** `"negative"`, `"neutral"` or `"positive"`. */
  readonly label: string;
}

/** The parts the sets are read as. */
export const SENTIMENT_SPLITS = Object.freeze([
  "tweets-train",
  "tweets-held-out",
  "chnsenticorp-train",
  "chnsenticorp-calibration",
  "chnsenticorp-dev",
  "weibo-sample-even",
] as const);

/** Name of one part of a sentiment set. */
export type SentimentSplit = (typeof SENTIMENT_SPLITS)[number];

/** Share of rows held out by {@link isHeldOut}. */
export const HELD_OUT_SHARE = 0.2;

/** Whether a text falls in the held-out 20 % (SHA-256 of the normalised text; see the module comment). */
export function isHeldOut(text: string): boolean {
  const normalised = text.trim().toLowerCase().replace(/\s+/g, " ");
  const digest = createHash("sha256").update(normalised, "utf8").digest();
  return digest.readUInt32BE(0) < HELD_OUT_SHARE * 2 ** 32;
}

const BINARY_LABELS: Readonly<Record<string, string>> = { "0": "negative", "1": "positive" };

function binaryRows(
  rows: readonly string[][],
  path: string,
  columns: { label: number; text: number },
): SentimentExample[] {
  return rows.map((row, index) => {
    const label = BINARY_LABELS[row[columns.label] ?? ""];
    const text = row[columns.text];
    if (label === undefined || text === undefined || text.trim() === "") {
      throw new EmbedkitError(
        "MALFORMED_FILE",
        `${path}: row ${index + 1} is not "<0|1><tab><text>" (received ${JSON.stringify(row).slice(0, 120)}).`,
      );
    }
    return { text, label };
  });
}

/**
 * Read one part of the sentiment sets.
 *
 * @param split - which part (see {@link SENTIMENT_SPLITS})
 * @param dataDir - the shared data folder (default: `EMBEDKIT_DATA`)
 * @throws EmbedkitError INVALID_OPTION without a data folder, FILE_NOT_FOUND, MALFORMED_FILE
 * @example
 * ```ts
 * const heldOut = await loadSentimentSplit("tweets-held-out");
 * ```
 */
export async function loadSentimentSplit(
  split: SentimentSplit,
  dataDir?: string,
): Promise<SentimentExample[]> {
  const root = resolveDataDir(dataDir);
  if (split === "tweets-train" || split === "tweets-held-out") {
    const path = join(root, "twitter-us-airline-sentiment", "Tweets.csv");
    const rows = parseCsv(await readFileText(path, { what: "sentiment set" }), {
      columns: true,
      bom: true,
    }) as Record<string, string>[];
    const wantHeldOut = split === "tweets-held-out";
    return rows
      .filter((row) => ["negative", "neutral", "positive"].includes(row.airline_sentiment ?? ""))
      .map((row) => ({ text: row.text ?? "", label: row.airline_sentiment as string }))
      .filter((example) => example.text.trim() !== "" && isHeldOut(example.text) === wantHeldOut);
  }
  if (split === "weibo-sample-even") {
    const path = join(root, "weibo-senti", "sample-even.tsv");
    const rows = parseCsv(await readFileText(path, { what: "sentiment set" }), {
      delimiter: "\t",
      relax_column_count: true,
    }) as string[][];
    return binaryRows(rows, path, { label: 0, text: 1 });
  }
  const file = split === "chnsenticorp-dev" ? "dev.tsv" : "train.tsv";
  const path = join(root, "chnsenticorp", file);
  // ChnSentiCorp is unquoted TSV; quote characters inside reviews are literal.
  const rows = parseCsv(await readFileText(path, { what: "sentiment set" }), {
    delimiter: "\t",
    from_line: 2,
    quote: false,
    relax_column_count: true,
  }) as string[][];
  const examples = binaryRows(rows, path, { label: 0, text: 1 });
  if (split === "chnsenticorp-dev") return examples;
  const wantHeldOut = split === "chnsenticorp-calibration";
  return examples.filter((example) => isHeldOut(example.text) === wantHeldOut);
}

/**
 * The rows each shipped head is trained and calibrated on. ChnSentiCorp rows are
 * long reviews: to bound embedding time on a shared 2-core machine the Chinese head
 * trains on a seeded 3,000 of its 80 % and calibrates its neutral band on 1,000 of the 20 %.
 */
export const HEAD_DATA = Object.freeze({
  en: Object.freeze({
    train: "tweets-train",
    maxTrain: Number.POSITIVE_INFINITY,
    heldOut: "tweets-held-out",
    maxHeldOut: Number.POSITIVE_INFINITY,
  }),
  zh: Object.freeze({
    train: "chnsenticorp-train",
    maxTrain: 3000,
    heldOut: "chnsenticorp-calibration",
    maxHeldOut: 1000,
  }),
} as const satisfies Record<
  "en" | "zh",
  { train: SentimentSplit; maxTrain: number; heldOut: SentimentSplit; maxHeldOut: number }
>);

/** At most `max` examples: a seeded sample, kept in file order. */
export function sampleExamples(
  examples: readonly SentimentExample[],
  max: number,
  seed = 42,
): SentimentExample[] {
  if (examples.length <= max) return [...examples];
  const keep = new Set(
    createRandom(seed)
      .shuffle(examples.map((_, index) => index))
      .slice(0, max),
  );
  return examples.filter((_, index) => keep.has(index));
}
