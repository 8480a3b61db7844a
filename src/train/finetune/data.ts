/**
 * @module train/finetune/data
 * Training data of the three fine-tuning tasks, read and checked before any
 * training starts:
 *
 * - **pairs** (`finetune embeddings`): `.csv`/`.tsv`/`.jsonl` with columns
 *   `anchor,positive[,negative]` (in-batch negatives; an optional hard
 *   negative) or `text1,text2,score` (scored pairs for CoSENT);
 * - **labelled texts** (`finetune classifier`): `text,label`;
 * - **token tags** (`finetune ner`): CoNLL-style `token … tag` lines, a blank
 *   line between sentences (the NER readers of `ner/readers`).
 *
 * Rules (docs/TRAINING.md, "Fine-tuning the encoder"): a malformed row fails
 * with `file:line`; a row with an empty cell is skipped and counted (each one
 * listed with its line), and a file with no usable row is refused; labels found
 * in validation but never in training are an error naming them (a model cannot
 * predict a class it never saw, and its accuracy on them would be silently
 * zero); sequences over the model's token limit are truncated with a warning
 * giving their count, or refused (`onLong: "refuse"`) naming the first one's
 * `file:line`. Every reader returns the sha256 of the file's bytes, and
 * {@link combineDataSha256} folds several files into the manifest's `dataSha256`.
 */
import { createHash } from "node:crypto";
import { MAX_INPUT_FILE_BYTES, parseTexts, type SkippedRecord } from "../../embed/text-file.js";
import { EmbedkitError } from "../../errors.js";
import { plural } from "../../internal/english.js";
import { readFileBytes } from "../../internal/read-file.js";
import { parseTagged, type TaggedFormat, type TaggedSentence } from "../../ner/readers.js";
import type { TagScheme } from "../../ner/tag-scheme.js";

/** A row left out of training, with why. */
export type SkippedRow = SkippedRecord;

/** What every reader returns besides its rows. */
export interface DataFileInfo {
  readonly path: string;
  /** sha256 (hex) of the file's bytes. */
  readonly sha256: string;
  /** Rows left out (empty cells), in file order. */
  readonly skipped: readonly SkippedRow[];
}

/** One training pair (or triplet) for contrastive fine-tuning. */
export interface TextPair {
  readonly anchor: string;
  readonly positive: string;
  /** A hard negative, when the file has a `negative` column and the row fills it. */
  readonly negative?: string;
  /** 1-based line in the file. */
  readonly line: number;
}

/** One scored pair for CoSENT. */
export interface ScoredPair {
  readonly text1: string;
  readonly text2: string;
  readonly score: number;
  readonly line: number;
}

/** Contents of a pairs file: `anchor,positive[,negative]` or `text1,text2,score`. */
export type PairsData =
  | (DataFileInfo & {
      readonly kind: "pairs";
      readonly pairs: readonly TextPair[];
      readonly hasNegatives: boolean;
    })
  | (DataFileInfo & { readonly kind: "scored"; readonly pairs: readonly ScoredPair[] });

/** One labelled text. */
export interface LabelledText {
  readonly text: string;
  readonly label: string;
  readonly line: number;
}

/** Contents of a `text,label` file. */
export interface LabelledTextsData extends DataFileInfo {
  readonly rows: readonly LabelledText[];
  /** Distinct labels, sorted. */
  readonly labels: readonly string[];
}

/** Contents of a CoNLL-style token/tag file. */
export interface TokenTagData extends DataFileInfo {
  readonly sentences: readonly TaggedSentence[];
  /** Distinct tags, sorted. */
  readonly labels: readonly string[];
  /** Lines whose tag was repaired (an `I-X` continuing nothing read as `B-X`). */
  readonly repairedLines: readonly number[];
}

/** Options of {@link readLabelledTextsFile}. */
export interface LabelledTextsOptions {
  /** Column/field with the text. @default "text" */
  readonly textColumn?: string;
  /** Column/field with the label. @default "label" */
  readonly labelColumn?: string;
}

/** Options of {@link readTokenTagFile}. */
export interface TokenTagOptions {
  /** Tag scheme of the file. @default "bio" */
  readonly scheme?: TagScheme;
  /** `conll` (`token … tag`, whitespace-separated) or `bio` (`character<TAB>tag`, as MSRA). @default "conll" */
  readonly format?: TaggedFormat;
}

const sha256Of = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

async function readData(path: string): Promise<{ content: string; sha256: string }> {
  const bytes = await readFileBytes(path, { what: "training file", maxBytes: MAX_INPUT_FILE_BYTES });
  const text = bytes.toString("utf8");
  return { content: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, sha256: sha256Of(bytes) };
}

function malformed(path: string, line: number, message: string): EmbedkitError {
  return new EmbedkitError("MALFORMED_FILE", `${path}:${line}: ${message}`, { details: { path, line } });
}

function nothingUsable(path: string, skipped: readonly SkippedRow[], expected: string): EmbedkitError {
  const why =
    skipped.length === 0
      ? "it has no rows"
      : `all ${plural(skipped.length, "row")} have an empty cell (first: line ${skipped[0]?.line}, ${skipped[0]?.reason})`;
  return new EmbedkitError(
    "INVALID_INPUT",
    `${path} has no usable training rows: ${why}. Expected ${expected}.`,
    {
      details: { path, skipped: skipped.length },
    },
  );
}

/** Rows of a CSV/TSV/JSONL file with every named column as text; rows with an empty cell are skipped. */
function readRows(
  content: string,
  path: string,
  columns: readonly string[],
): { rows: { cells: Record<string, string>; line: number }[]; skipped: SkippedRow[] } {
  const skipped: SkippedRow[] = [];
  const [first, ...others] = columns as [string, ...string[]];
  const records = parseTexts(content, path, {
    textField: first,
    textFieldOption: `the "${first}" column`,
    keepFields: columns,
    skipEmptyTexts: true,
    onSkipped: (row) => skipped.push(row),
  });
  const rows: { cells: Record<string, string>; line: number }[] = [];
  for (const record of records) {
    const line = record.line ?? 0;
    const cells: Record<string, string> = { [first]: record.text };
    let empty: string | undefined;
    for (const column of others) {
      const value = record.fields?.[column];
      if (value === null || value === undefined || (typeof value === "string" && value.trim() === "")) {
        empty ??= column;
        continue;
      }
      if (typeof value !== "string" && typeof value !== "number") {
        throw malformed(path, line, `"${column}" must be text, received ${JSON.stringify(value)}.`);
      }
      cells[column] = String(value);
    }
    if (empty === undefined) rows.push({ cells, line });
    else skipped.push({ line, reason: `empty "${empty}" value` });
  }
  skipped.sort((a, b) => a.line - b.line);
  return { rows, skipped };
}

/** Column names of the first row (CSV/TSV header, or the first JSONL object's keys). */
function headerOf(content: string, path: string): string[] {
  const firstLine = content.split(/\r?\n/).find((line) => line.trim() !== "") ?? "";
  if (/\.jsonl$|\.ndjson$/i.test(path)) {
    try {
      return Object.keys(JSON.parse(firstLine) as object);
    } catch {
      return [];
    }
  }
  return firstLine.split(/\.tsv$/i.test(path) ? "\t" : ",").map((cell) => cell.trim().replace(/^"|"$/g, ""));
}

/**
 * Read a pairs file: `anchor,positive[,negative]` (contrastive, in-batch negatives) or
 * `text1,text2,score` (scored pairs, CoSENT).
 * @throws EmbedkitError FILE_NOT_FOUND; MALFORMED_FILE (`file:line`: bad CSV/JSON, missing columns,
 *   a score that is not a number); INVALID_INPUT when no row is usable
 */
export async function readPairsFile(path: string): Promise<PairsData> {
  const { content, sha256 } = await readData(path);
  const header = headerOf(content, path);
  if (header.includes("anchor") && header.includes("positive")) {
    const hasNegatives = header.includes("negative");
    const { rows, skipped } = readRows(content, path, ["anchor", "positive"]);
    const negatives = hasNegatives ? readRows(content, path, ["anchor", "positive", "negative"]) : undefined;
    const withNegative = new Map(negatives?.rows.map((row) => [row.line, row.cells.negative as string]));
    const pairs = rows.map(({ cells, line }) => {
      const negative = withNegative.get(line);
      return {
        anchor: cells.anchor as string,
        positive: cells.positive as string,
        ...(negative === undefined ? {} : { negative }),
        line,
      };
    });
    if (pairs.length === 0) throw nothingUsable(path, skipped, 'rows with non-empty "anchor" and "positive"');
    return { kind: "pairs", path, sha256, skipped, pairs, hasNegatives };
  }
  if (header.includes("text1") && header.includes("text2") && header.includes("score")) {
    const { rows, skipped } = readRows(content, path, ["text1", "text2", "score"]);
    const pairs = rows.map(({ cells, line }) => {
      const score = Number(cells.score);
      if (cells.score?.trim() === "" || !Number.isFinite(score)) {
        throw malformed(
          path,
          line,
          `score ${JSON.stringify(cells.score)} is not a number (e.g. 0.8 or 4.2).`,
        );
      }
      return { text1: cells.text1 as string, text2: cells.text2 as string, score, line };
    });
    if (pairs.length === 0)
      throw nothingUsable(path, skipped, 'rows with "text1", "text2" and a numeric "score"');
    return { kind: "scored", path, sha256, skipped, pairs };
  }
  throw malformed(
    path,
    1,
    `expected the columns "anchor,positive" (optionally ",negative") or "text1,text2,score", found ${header.map((cell) => JSON.stringify(cell)).join(", ") || "nothing"}.`,
  );
}

/**
 * Read a `text,label` file for sequence classification.
 * @throws EmbedkitError FILE_NOT_FOUND; MALFORMED_FILE (`file:line`); INVALID_INPUT when no row is
 *   usable or fewer than two labels remain
 */
export async function readLabelledTextsFile(
  path: string,
  options: LabelledTextsOptions = {},
): Promise<LabelledTextsData> {
  const textColumn = options.textColumn ?? "text";
  const labelColumn = options.labelColumn ?? "label";
  const { content, sha256 } = await readData(path);
  const { rows: cells, skipped } = readRows(content, path, [textColumn, labelColumn]);
  const rows = cells.map(({ cells: row, line }) => ({
    text: row[textColumn] as string,
    label: (row[labelColumn] as string).trim(),
    line,
  }));
  if (rows.length === 0)
    throw nothingUsable(path, skipped, `rows with non-empty "${textColumn}" and "${labelColumn}"`);
  const labels = [...new Set(rows.map((row) => row.label))].sort();
  if (labels.length < 2) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${path} has only one label (${JSON.stringify(labels[0])}); a classifier needs at least two.`,
      { details: { path } },
    );
  }
  return { path, sha256, skipped, rows, labels };
}

/**
 * Read a CoNLL-style file (`token … tag` per line, blank line between sentences), or with
 * `format: "bio"` a character-per-line file (`character<TAB>tag`).
 * @throws EmbedkitError FILE_NOT_FOUND; MALFORMED_FILE (`file:line`: ragged columns, bad tags);
 *   INVALID_INPUT when the file has no sentence
 */
export async function readTokenTagFile(path: string, options: TokenTagOptions = {}): Promise<TokenTagData> {
  const { content, sha256 } = await readData(path);
  const corpus = parseTagged(content, {
    format: options.format ?? "conll",
    scheme: options.scheme ?? "bio",
    source: path,
  });
  if (corpus.sentences.length === 0)
    throw nothingUsable(path, [], "`token … tag` lines with a blank line between sentences");
  const labels = [...new Set(corpus.sentences.flatMap((sentence) => sentence.tags))].sort();
  return {
    path,
    sha256,
    skipped: [],
    sentences: corpus.sentences,
    labels,
    repairedLines: corpus.repairedLines,
  };
}

/** A label of the validation data, with where it first appears. */
interface LabelledLine {
  readonly label: string;
  readonly line: number;
}

/**
 * Refuse validation labels that training never saw (INVALID_INPUT naming each with its first
 * `file:line`). Labels only in training are fine.
 */
export function checkValidationLabels(
  trainLabels: Iterable<string>,
  validation: { readonly path: string; readonly rows: readonly LabelledLine[] },
): void {
  const known = new Set(trainLabels);
  const unseen = new Map<string, number>();
  for (const { label, line } of validation.rows)
    if (!known.has(label) && !unseen.has(label)) unseen.set(label, line);
  if (unseen.size === 0) return;
  const listed = [...unseen].map(([label, line]) => `"${label}" (${validation.path}:${line})`);
  throw new EmbedkitError(
    "INVALID_INPUT",
    `Validation has ${plural(unseen.size, "label")} never seen in training: ${listed.join(", ")}. ` +
      `Training labels: ${[...known].sort().join(", ")}. Add training examples for them, or remove them from validation.`,
    { details: { path: validation.path, unseen: [...unseen.keys()] } },
  );
}

/** The labels of a token/tag corpus as `{ label, line }` rows, for {@link checkValidationLabels}. */
export function tagLines(data: TokenTagData): LabelledLine[] {
  return data.sentences.flatMap((sentence) => sentence.tags.map((label) => ({ label, line: sentence.line })));
}

/** What to do with a sequence longer than the model's limit. */
export type OnLong = "truncate" | "refuse";

/** Options of {@link applyLengthPolicy}. */
export interface LengthPolicyOptions {
  /** The model's limit, special tokens included (`embedder.model.maxTokens`). */
  readonly maxTokens: number;
  /** Tokens per text without special tokens (`embedder.countTokens`). */
  readonly countTokens: (texts: readonly string[]) => Promise<readonly number[]>;
  readonly onLong: OnLong;
  /** Special tokens the model adds to one sequence ([CLS] + [SEP]). @default 2 */
  readonly specialTokens?: number;
  /** File the texts come from, for messages. */
  readonly path: string;
  /** Told once, with the count, when `truncate` shortens some texts. */
  readonly onWarning?: (message: string) => void;
}

/** Result of {@link applyLengthPolicy}. */
export interface LengthReport {
  /** Texts over the limit (they are cut to `maxTokens` when they are embedded or trained on). */
  readonly truncated: number;
  /** Longest text in tokens (special tokens included). */
  readonly longest: number;
}

/**
 * Count the tokens of every text and apply the `--on-long` policy: `truncate` keeps them (the
 * tokenizer cuts at `maxTokens`, as embedding does) and warns once with the count; `refuse` raises
 * INPUT_TOO_LONG naming the first long text's `file:line`, its length and the limit.
 */
export async function applyLengthPolicy(
  texts: readonly { readonly text: string; readonly line: number }[],
  options: LengthPolicyOptions,
): Promise<LengthReport> {
  if (options.onLong !== "truncate" && options.onLong !== "refuse") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `onLong must be "truncate" or "refuse", received ${JSON.stringify(options.onLong)}.`,
      {
        details: { option: "onLong" },
      },
    );
  }
  const special = options.specialTokens ?? 2;
  const counts = await options.countTokens(texts.map((item) => item.text));
  let truncated = 0;
  let longest = 0;
  for (const [index, count] of counts.entries()) {
    const total = count + special;
    longest = Math.max(longest, total);
    if (total <= options.maxTokens) continue;
    if (options.onLong === "refuse") {
      const line = texts[index]?.line ?? 0;
      throw new EmbedkitError(
        "INPUT_TOO_LONG",
        `${options.path}:${line}: the text has ${total} tokens, over the model's limit of ${options.maxTokens}. ` +
          "Shorten it, or pass --on-long truncate to cut long texts at the limit.",
        { details: { path: options.path, line, tokens: total, limit: options.maxTokens } },
      );
    }
    truncated++;
  }
  if (truncated > 0) {
    options.onWarning?.(
      `${options.path}: ${plural(truncated, "text")} over the model's limit of ${options.maxTokens} tokens will be truncated ` +
        "(--on-long refuse to stop instead).",
    );
  }
  return { truncated, longest };
}

/** One `dataSha256` for several files (training, validation): sha256 over their hashes in order. */
export function combineDataSha256(files: readonly Pick<DataFileInfo, "sha256">[]): string {
  const hash = createHash("sha256");
  for (const file of files) hash.update(file.sha256);
  return hash.digest("hex");
}
