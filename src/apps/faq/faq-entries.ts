/**
 * @module apps/faq/faq-entries
 * The FAQ as data: reading a question/answer table (CSV or TSV with a header
 * row: `question`, `answer`, optional `category`), grouping questions that
 * share an answer into one {@link FaqAnswer} (several phrasings of one FAQ
 * item are matched together and aggregated at ask time), and reading labelled
 * calibration files (`query`, `expected`). Every problem is reported with the
 * file name and line before anything is embedded or written.
 */
import { createHash } from "node:crypto";
import { extname } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { EmbedkitError } from "../../errors.js";
import { readFileBytes } from "../../internal/read-file.js";

/** One row of a FAQ file: a question and the answer it should get. */
export interface FaqEntry {
  readonly question: string;
  readonly answer: string;
  /** Optional grouping (shown with answers, usable as a filter). */
  readonly category?: string;
}

/** One FAQ item: an answer with every question phrasing that leads to it. */
export interface FaqAnswer {
  /** Stable id derived from the answer text (`a-` + 16 hex digits of its SHA-256). */
  readonly id: string;
  readonly answer: string;
  /** Distinct questions, in file order. */
  readonly questions: readonly string[];
  /** The category of the first row with this answer that has one. */
  readonly category?: string;
}

/** Column names of a FAQ file. */
export interface FaqColumns {
  /** @default "question" */
  readonly question?: string;
  /** @default "answer" */
  readonly answer?: string;
  /** Optional column. @default "category" */
  readonly category?: string;
}

/** Largest FAQ or calibration file read into memory (64 MiB). */
export const MAX_FAQ_FILE_BYTES = 64 * 1024 * 1024;

/** Longest question or answer accepted, in characters. */
export const MAX_FAQ_TEXT_CHARACTERS = 8000;

function malformed(path: string, line: number, what: string): EmbedkitError {
  return new EmbedkitError("MALFORMED_FILE", `${path}:${line}: ${what}`, { details: { path, line } });
}

/** Parse delimited text with a header row into records (column names trimmed and lower-cased). */
function parseTable(content: string, path: string): { rows: Record<string, string>[]; columns: string[] } {
  const delimiter = extname(path).toLowerCase() === ".tsv" ? "\t" : ",";
  let rows: Record<string, string>[];
  let columns: string[] = [];
  try {
    rows = parseCsv(content, {
      columns: (header: string[]) => {
        columns = header.map((name) => name.trim().toLowerCase());
        return columns;
      },
      delimiter,
      skip_empty_lines: true,
      bom: true,
      relax_quotes: delimiter === "\t",
      trim: false,
    }) as Record<string, string>[];
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? 0;
    const kind = delimiter === "\t" ? "TSV" : "CSV";
    throw malformed(path, line, `invalid ${kind} (${(error as Error).message}).`);
  }
  return { rows, columns };
}

/** How a file's header is explained when a column is missing: an example header and the fix. */
interface HeaderHelp {
  readonly example: string;
  readonly fix: string;
}

const FAQ_HEADER = (flag: string): HeaderHelp => ({
  example: "question,answer,category",
  fix: `choose another column with ${flag}`,
});

const CALIBRATION_HEADER: HeaderHelp = {
  example: "query,expected",
  fix: 'a calibration file has one labelled query per row (expected = the right answer, or "none" when the FAQ has none) — not the FAQ file itself',
};

function requireColumn(path: string, columns: readonly string[], name: string, help: HeaderHelp): void {
  if (!columns.includes(name)) {
    throw malformed(
      path,
      1,
      `no column "${name}" in the header (found: ${columns.length === 0 ? "none" : columns.join(", ")}). ` +
        `The first row must name the columns, e.g. "${help.example}"; ${help.fix}.`,
    );
  }
}

function checkText(path: string, line: number, column: string, value: string | undefined): string {
  const text = (value ?? "").trim();
  if (text === "") throw malformed(path, line, `empty "${column}" value. Fill it in or delete the row.`);
  if (text.length > MAX_FAQ_TEXT_CHARACTERS) {
    throw malformed(
      path,
      line,
      `"${column}" has ${text.length} characters; at most ${MAX_FAQ_TEXT_CHARACTERS} are accepted. Shorten it.`,
    );
  }
  return text;
}

/**
 * Parse FAQ rows from file content. Blank lines are skipped; every kept row
 * needs a non-empty question and answer.
 *
 * @param path used in messages and to pick the delimiter (`.tsv` = tab, otherwise comma).
 * @throws EmbedkitError MALFORMED_FILE (missing column, empty value, bad quoting; with the line),
 *   INVALID_INPUT when the file has no rows
 * @example
 * ```ts
 * parseFaqEntries("question,answer\nHow do I reset my PIN?,In the app under Card > PIN.\n", "faq.csv");
 * ```
 */
export function parseFaqEntries(content: string, path: string, columns: FaqColumns = {}): FaqEntry[] {
  const questionColumn = (columns.question ?? "question").toLowerCase();
  const answerColumn = (columns.answer ?? "answer").toLowerCase();
  const categoryColumn = (columns.category ?? "category").toLowerCase();
  const table = parseTable(content, path);
  if (table.columns.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${path} is empty. A FAQ file needs a header row "question,answer[,category]" and at least one row.`,
      { details: { path } },
    );
  }
  requireColumn(path, table.columns, questionColumn, FAQ_HEADER("--question-column"));
  requireColumn(path, table.columns, answerColumn, FAQ_HEADER("--answer-column"));
  if (table.rows.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${path} has a header but no rows. Add at least one "question,answer" row.`,
      { details: { path } },
    );
  }
  return table.rows.map((row, index) => {
    // Line numbers count the header as line 1 (skipped blank lines may shift them slightly).
    const line = index + 2;
    const question = checkText(path, line, questionColumn, row[questionColumn]);
    const answer = checkText(path, line, answerColumn, row[answerColumn]);
    const category = (row[categoryColumn] ?? "").trim();
    return category === "" ? { question, answer } : { question, answer, category };
  });
}

async function readBoundedFile(path: string, what: string): Promise<string> {
  const bytes = await readFileBytes(path, { what, maxBytes: MAX_FAQ_FILE_BYTES });
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new EmbedkitError("MALFORMED_FILE", `${path} is not valid UTF-8. Save it as UTF-8 and retry.`, {
      cause: error,
      details: { path },
    });
  }
}

/**
 * Read a FAQ file (`.csv`, or `.tsv` for tab-separated) with a header row
 * `question,answer[,category]`.
 *
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE, INVALID_INPUT (empty, too large)
 */
export async function readFaqFile(path: string, columns: FaqColumns = {}): Promise<FaqEntry[]> {
  return parseFaqEntries(await readBoundedFile(path, "FAQ file"), path, columns);
}

/** The stable id of an answer text. */
export function answerId(answer: string): string {
  return `a-${createHash("sha256").update(answer.trim(), "utf8").digest("hex").slice(0, 16)}`;
}

/**
 * Group FAQ rows by answer text: rows with the same (trimmed) answer become one
 * {@link FaqAnswer} with all their distinct questions, in first-seen order.
 */
export function groupFaqEntries(entries: readonly FaqEntry[]): FaqAnswer[] {
  const byAnswer = new Map<string, { answer: string; questions: string[]; category?: string }>();
  for (const entry of entries) {
    const key = entry.answer.trim();
    let group = byAnswer.get(key);
    if (group === undefined) {
      group = { answer: key, questions: [] };
      byAnswer.set(key, group);
    }
    const question = entry.question.trim();
    if (!group.questions.includes(question)) group.questions.push(question);
    if (group.category === undefined && entry.category !== undefined) group.category = entry.category;
  }
  return [...byAnswer.values()].map((group) => ({
    id: answerId(group.answer),
    answer: group.answer,
    questions: group.questions,
    ...(group.category === undefined ? {} : { category: group.category }),
  }));
}

/** One labelled query of a calibration file. */
export interface LabelledQuery {
  readonly query: string;
  /** The expected answer text (or answer id, or one of the FAQ's questions); `null` = must fall back. */
  readonly expected: string | null;
}

/** Words in the `expected` column that mean "no answer; the fallback is right". */
export const NO_ANSWER_LABELS: readonly string[] = Object.freeze(["none", "oos", "out_of_scope", "-"]);

/**
 * Parse a calibration file: header `query,expected`; `expected` is the answer
 * text (or its id, or a FAQ question), or `none` (also `oos`, `-`, empty) for
 * queries that must get the fallback.
 *
 * @throws EmbedkitError MALFORMED_FILE, INVALID_INPUT (no rows)
 */
export function parseLabelledQueries(content: string, path: string): LabelledQuery[] {
  const table = parseTable(content, path);
  if (table.columns.length === 0 || table.rows.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${path} has no labelled queries. Expected a header "query,expected" and one row per query ` +
        '(expected = the right answer, or "none" when the FAQ has no answer).',
      { details: { path } },
    );
  }
  requireColumn(path, table.columns, "query", CALIBRATION_HEADER);
  requireColumn(path, table.columns, "expected", CALIBRATION_HEADER);
  return table.rows.map((row, index) => {
    const query = checkText(path, index + 2, "query", row.query);
    const expected = (row.expected ?? "").trim();
    return {
      query,
      expected: expected === "" || NO_ANSWER_LABELS.includes(expected.toLowerCase()) ? null : expected,
    };
  });
}

/**
 * Read a calibration file (see {@link parseLabelledQueries}).
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE, INVALID_INPUT
 */
export async function readLabelledQueries(path: string): Promise<LabelledQuery[]> {
  return parseLabelledQueries(await readBoundedFile(path, "calibration file"), path);
}
