/**
 * @module eval/sts-data
 * Readers for STS-style sentence-pair files (two sentences and a gold score per
 * row) and a frozen table, {@link STS_SETS}, of the public sets embedkit is
 * benchmarked on, described relative to a data directory. Formats differ in ways
 * that silently corrupt results if guessed wrong: the STS-B CSVs use RFC-4180
 * quoting (sentences contain commas and doubled quotes), while the Chinese TSVs
 * must be read with *no* quoting at all (a field may start with a literal `"`).
 * So CSV goes through csv-parse and TSV is split on tabs verbatim, and every bad
 * row is reported with its file and 1-based line number.
 */
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { describeType, EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";
import { readFileText } from "../internal/read-file.js";
import { resolveDataDir } from "./data-dir.js";

/** One sentence pair with its gold similarity score, as read from a file. */
export interface StsPair {
  readonly a: string;
  readonly b: string;
  /** Gold score in the file's own scale (see {@link ReadPairsOptions.scoreScale}). */
  readonly score: number;
}

/** A column reference: 0-based index, or a header name (requires `header: true`). */
export type ColumnReference = number | string;

/** Which columns hold the two sentences and the score. */
export interface PairColumns {
  readonly a: ColumnReference;
  readonly b: ColumnReference;
  readonly score: ColumnReference;
}

/** The declared range of gold scores; a score outside it is a malformed row. */
export interface ScoreScale {
  readonly min: number;
  readonly max: number;
}

/** File formats {@link readPairs} understands. */
export type PairFileFormat = "csv" | "tsv";

/** Options of {@link readPairs}. */
export interface ReadPairsOptions {
  /**
   * `csv`: comma-separated with RFC-4180 quoting (fields may contain commas,
   * doubled quotes and newlines). `tsv`: tab-separated with no quoting; quotes
   * are kept as literal characters.
   */
  readonly format: PairFileFormat;
  /** Where the sentences and the score are. */
  readonly columns: PairColumns;
  /**
   * Whether the first non-empty line is a header. Needed to address columns by name.
   * @default false
   */
  readonly header?: boolean;
  /**
   * Range the gold scores must fall in (inclusive). Scores are returned as they
   * are, not rescaled: Spearman and Pearson do not depend on the scale, so this is
   * a check that the right column was read. @default no range check
   */
  readonly scoreScale?: ScoreScale;
  /** Keep only the first `limit` pairs (after the header). @default all pairs */
  readonly limit?: number;
}

/** A row of fields with the 1-based line on which it starts (shared with the task readers; not re-exported). */
export interface Row {
  readonly fields: readonly string[];
  readonly line: number;
}

/** A MALFORMED_FILE error naming the file and (when known) the 1-based line. Internal to eval. */
export function malformed(
  path: string,
  line: number | undefined,
  problem: string,
  fix: string,
): EmbedkitError {
  const where = line === undefined ? path : `${path}, line ${line}`;
  return new EmbedkitError("MALFORMED_FILE", `${where}: ${problem} ${fix}`, {
    details: { path, ...(line === undefined ? {} : { line }) },
  });
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) count++;
  return count;
}

/** Split TSV text into rows verbatim (no quoting), skipping empty lines. Internal to eval. */
export function tsvRows(text: string): Row[] {
  const rows: Row[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line === "") continue;
    rows.push({ fields: line.split("\t"), line: i + 1 });
  }
  return rows;
}

interface CsvRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

/** Parse CSV text (RFC-4180 quoting) into rows, skipping empty lines. */
export function csvRows(text: string, path: string): Row[] {
  let records: CsvRecord[];
  try {
    records = parse(text, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as CsvRecord[];
  } catch (error) {
    const line = (error as { lines?: unknown }).lines;
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${path}${typeof line === "number" ? `, line ${line}` : ""}: not valid CSV: ${(error as Error).message}. ` +
        'Quote fields that contain commas or quotes ("a, b"), double quotes inside them (""), ' +
        'or read the file as format "tsv" if it is tab-separated.',
      { cause: error, details: { path, ...(typeof line === "number" ? { line } : {}) } },
    );
  }
  // csv-parse reports the line a record ends on; quoted newlines move the start back.
  return records.map(({ record, info }) => {
    let inner = 0;
    for (const field of record) inner += countNewlines(field);
    return { fields: record, line: info.lines - inner };
  });
}

function validateOptions(options: ReadPairsOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `options must be an object, received ${describeType(options)}.`,
    );
  }
  if (options.format !== "csv" && options.format !== "tsv") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `format must be "csv" or "tsv", received ${JSON.stringify(options.format)}.`,
    );
  }
  const columns: unknown = options.columns;
  if (typeof columns !== "object" || columns === null) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `columns must be an object { a, b, score }, received ${describeType(columns)}.`,
    );
  }
  for (const key of ["a", "b", "score"] as const) {
    const reference: unknown = options.columns[key];
    if (typeof reference === "number") {
      if (!Number.isInteger(reference) || reference < 0) {
        throw new EmbedkitError(
          "INVALID_OPTION",
          `columns.${key} must be a 0-based column index (integer >= 0) or a header name, received ${reference}.`,
        );
      }
    } else if (typeof reference === "string") {
      if (options.header !== true) {
        throw new EmbedkitError(
          "INVALID_OPTION",
          `columns.${key} is the header name ${JSON.stringify(reference)}, but header is not true. ` +
            "Set header: true when the file has a header line, or give a 0-based column index.",
        );
      }
    } else {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `columns.${key} must be a column index or a header name, received ${describeType(reference)}.`,
      );
    }
  }
  const scale = options.scoreScale;
  if (
    scale !== undefined &&
    (!Number.isFinite(scale.min) || !Number.isFinite(scale.max) || scale.min >= scale.max)
  ) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `scoreScale must be { min, max } with finite min < max, received ${JSON.stringify(scale)}.`,
    );
  }
  if (options.limit !== undefined) checkInteger("limit", options.limit, { min: 1 });
}

/** Turn a column reference into an index, using the header row for names. */
function resolveColumn(reference: ColumnReference, header: Row | undefined, path: string): number {
  if (typeof reference === "number") return reference;
  const names = (header as Row).fields.map((name) => name.trim());
  const index = names.indexOf(reference);
  if (index === -1) {
    throw malformed(
      path,
      (header as Row).line,
      `the header has no column named ${JSON.stringify(reference)}; it has ${names.map((n) => JSON.stringify(n)).join(", ")}.`,
      "Use one of those names or a 0-based column index.",
    );
  }
  return index;
}

function parseScore(raw: string, path: string, line: number, column: number, scale?: ScoreScale): number {
  const text = raw.trim();
  const score = text === "" ? Number.NaN : Number(text);
  if (!Number.isFinite(score)) {
    throw malformed(
      path,
      line,
      `the score in column ${column} must be a number, received ${JSON.stringify(raw)}.`,
      "Check that columns.score points at the score column and that a header line is declared with header: true.",
    );
  }
  if (scale !== undefined && (score < scale.min || score > scale.max)) {
    throw malformed(
      path,
      line,
      `the score ${score} is outside the declared scale ${scale.min}–${scale.max}.`,
      "Check columns.score, or widen scoreScale if the file really uses another scale.",
    );
  }
  return score;
}

/**
 * Read sentence pairs with gold scores from a CSV or TSV file. Empty lines are
 * skipped; every other row must have the three mapped columns, two non-blank
 * sentences and a numeric score. Sentences are returned exactly as stored (not
 * trimmed). A UTF-8 byte-order mark is ignored.
 *
 * @throws EmbedkitError FILE_NOT_FOUND when the file cannot be read;
 *   MALFORMED_FILE naming the file and 1-based line for invalid CSV, a row with
 *   too few columns, a blank sentence, a non-numeric or out-of-scale score, an
 *   unknown header name, or a file without any pair;
 *   INVALID_OPTION for bad options.
 * @example
 * ```ts
 * const pairs = await readPairs("stsb/stsb-en-dev.csv", {
 *   format: "csv",
 *   columns: { a: 0, b: 1, score: 2 },
 *   scoreScale: { min: 0, max: 5 },
 * });
 * ```
 */
export async function readPairs(path: string, options: ReadPairsOptions): Promise<StsPair[]> {
  validateOptions(options);
  const text = await readFileText(path, {
    what: "pair file",
    hint: "Check the path (and the --data directory).",
  });
  const rows = options.format === "csv" ? csvRows(text, path) : tsvRows(text);
  const header = options.header === true ? rows.shift() : undefined;
  if (options.header === true && header === undefined) {
    throw malformed(path, undefined, "the file is empty, but a header line was expected.", "Check the path.");
  }
  const indexA = resolveColumn(options.columns.a, header, path);
  const indexB = resolveColumn(options.columns.b, header, path);
  const indexScore = resolveColumn(options.columns.score, header, path);
  const needed = Math.max(indexA, indexB, indexScore) + 1;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const pairs: StsPair[] = [];
  for (const row of rows) {
    if (pairs.length >= limit) break;
    if (row.fields.length < needed) {
      throw malformed(
        path,
        row.line,
        `expected at least ${needed} ${options.format === "csv" ? "comma" : "tab"}-separated columns, ` +
          `received ${row.fields.length}.`,
        options.format === "csv"
          ? "Check the delimiter (format) and that fields containing commas are quoted."
          : "Check the delimiter (format) and that no field was split or joined.",
      );
    }
    const a = row.fields[indexA] as string;
    const b = row.fields[indexB] as string;
    for (const [name, column, sentence] of [
      ["first sentence", indexA, a],
      ["second sentence", indexB, b],
    ] as const) {
      if (sentence.trim() === "") {
        throw malformed(
          path,
          row.line,
          `the ${name} (column ${column}) is empty.`,
          "Remove the row or fill in the sentence; an empty text cannot be embedded.",
        );
      }
    }
    const score = parseScore(
      row.fields[indexScore] as string,
      path,
      row.line,
      indexScore,
      options.scoreScale,
    );
    pairs.push({ a, b, score });
  }
  if (pairs.length === 0) {
    throw malformed(
      path,
      undefined,
      `the file holds no sentence pairs${header === undefined ? "" : " after the header"}.`,
      "Check the path and that the file is not empty.",
    );
  }
  return pairs;
}

/** Language of an evaluation set (ISO 639-1). */
export type StsLanguage = "en" | "zh";

/** Which split of its source a staged file is. */
export type StsSplit = "dev" | "trial" | "test";

/** Description of one evaluation set in {@link STS_SETS}. */
export interface StsSetSpec {
  readonly id: string;
  /** Human-readable name. */
  readonly name: string;
  /** File path relative to the data directory. */
  readonly path: string;
  readonly language: StsLanguage;
  readonly split: StsSplit;
  /** Pairs in the full file (used to sanity-check reads). */
  readonly pairs: number;
  /** What the gold score is. */
  readonly scoreKind: "similarity" | "relatedness" | "paraphrase-label";
  /** How to read the file. */
  readonly read: Omit<ReadPairsOptions, "limit">;
  readonly description: string;
}

function stsSet(spec: StsSetSpec): StsSetSpec {
  return Object.freeze({
    ...spec,
    read: Object.freeze({
      ...spec.read,
      columns: Object.freeze({ ...spec.read.columns }),
      ...(spec.read.scoreScale === undefined
        ? {}
        : { scoreScale: Object.freeze({ ...spec.read.scoreScale }) }),
    }),
  });
}

const CHINESE_BINARY_READ = {
  format: "tsv",
  header: false,
  columns: { a: 0, b: 1, score: 2 },
  scoreScale: { min: 0, max: 1 },
} as const;

/**
 * The shared STS evaluation sets, by id, with paths relative to a data directory
 * (see each folder's SOURCE.md). Every set is scored the same way: Spearman
 * between the pair cosine and the gold score (a 0/1 paraphrase label for the
 * Chinese question-matching sets, as C-MTEB does).
 */
export const STS_SETS = Object.freeze({
  "stsb-en-dev": stsSet({
    id: "stsb-en-dev",
    name: "STS-B (en) dev",
    path: "stsb/stsb-en-dev.csv",
    language: "en",
    split: "dev",
    pairs: 1500,
    scoreKind: "similarity",
    // RFC-4180 CSV without header: sentence1, sentence2, score 0–5.
    read: { format: "csv", header: false, columns: { a: 0, b: 1, score: 2 }, scoreScale: { min: 0, max: 5 } },
    description: "English STS Benchmark dev split (1,500 pairs, scores 0–5).",
  }),
  "sick-r-trial": stsSet({
    id: "sick-r-trial",
    name: "SICK-R trial",
    path: "sick-r/SICK_trial.txt",
    language: "en",
    split: "trial",
    pairs: 500,
    scoreKind: "relatedness",
    read: {
      format: "tsv",
      header: true,
      columns: { a: "sentence_A", b: "sentence_B", score: "relatedness_score" },
      scoreScale: { min: 1, max: 5 },
    },
    description: "SICK relatedness, SemEval-2014 trial split (500 pairs, scores 1–5).",
  }),
  "stsb-zh-dev": stsSet({
    id: "stsb-zh-dev",
    name: "STS-B (zh, MT) dev",
    path: "stsb-multi-mt/stsb-zh-dev.csv",
    language: "zh",
    split: "dev",
    pairs: 1500,
    scoreKind: "similarity",
    read: { format: "csv", header: false, columns: { a: 0, b: 1, score: 2 }, scoreScale: { min: 0, max: 5 } },
    description: "STS Benchmark dev split machine-translated to Chinese (stsb-multi-mt, 1,500 pairs, 0–5).",
  }),
  atec: stsSet({
    id: "atec",
    name: "ATEC test",
    path: "chinese-senteval-cn/ATEC.test.tsv",
    language: "zh",
    split: "test",
    pairs: 20000,
    scoreKind: "paraphrase-label",
    read: CHINESE_BINARY_READ,
    description: "Ant Financial customer-service question pairs, C-MTEB test file (20,000 pairs, 0/1).",
  }),
  bq: stsSet({
    id: "bq",
    name: "BQ test",
    path: "chinese-senteval-cn/BQ.test.tsv",
    language: "zh",
    split: "test",
    pairs: 10000,
    scoreKind: "paraphrase-label",
    read: CHINESE_BINARY_READ,
    description: "Bank customer-service question pairs (BQ corpus), official test file (10,000 pairs, 0/1).",
  }),
  lcqmc: stsSet({
    id: "lcqmc",
    name: "LCQMC test",
    path: "chinese-senteval-cn/LCQMC.test.tsv",
    language: "zh",
    split: "test",
    pairs: 12500,
    scoreKind: "paraphrase-label",
    read: CHINESE_BINARY_READ,
    description: "Open-domain question matching (LCQMC), official test file (12,500 pairs, 0/1).",
  }),
} as const satisfies Record<string, StsSetSpec>);

/** Ids of the sets in {@link STS_SETS}. */
export type StsSetId = keyof typeof STS_SETS;

/**
 * Look up an evaluation set by id.
 * @throws EmbedkitError INVALID_OPTION listing the known ids.
 */
export function getStsSet(id: string): StsSetSpec {
  const spec = (STS_SETS as Readonly<Record<string, StsSetSpec>>)[id];
  if (spec === undefined || !Object.hasOwn(STS_SETS, id)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Unknown STS set ${JSON.stringify(id)}. Known sets: ${Object.keys(STS_SETS).join(", ")}.`,
      { details: { received: id } },
    );
  }
  return spec;
}

/** Options of {@link readStsSet}. */
export interface ReadStsSetOptions {
  /** Folder holding the set folders (`stsb/`, `chinese-senteval-cn/`, ...). @default process.env.EMBEDKIT_DATA */
  readonly dataDir?: string;
  /** Keep only the first `limit` pairs. @default all pairs */
  readonly limit?: number;
}

/**
 * Read one of the {@link STS_SETS} from a data directory.
 *
 * @throws EmbedkitError INVALID_OPTION for an unknown id or when neither `dataDir`
 *   nor `EMBEDKIT_DATA` is set; FILE_NOT_FOUND and MALFORMED_FILE as {@link readPairs}.
 * @example
 * ```ts
 * const pairs = await readStsSet("lcqmc", { dataDir: "/path/to/data" });
 * ```
 */
export async function readStsSet(id: string, options: ReadStsSetOptions = {}): Promise<StsPair[]> {
  const spec = getStsSet(id);
  return readPairs(join(resolveDataDir(options.dataDir), spec.path), {
    ...spec.read,
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  });
}
