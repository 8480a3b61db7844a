/**
 * @module apps/recommend/recommend-input
 * Reading a recommender's two files: the item catalog (one row per item: id,
 * text columns, metadata columns) and the interactions (one row per user–item
 * event, optionally with a rating and a time). Both are CSV/TSV with a header
 * row, streamed through csv-parse so a million interactions never sit in
 * memory as text. Bad columns are refused before any row is read (the message
 * lists the file's columns); bad rows name their line.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname } from "node:path";
import { parse } from "csv-parse";
import {
  applyMetadataTypes,
  createMetadataTyper,
  type MetadataTypes,
  numberFromText,
} from "../../embed/metadata-types.js";
import { EmbedkitError } from "../../errors.js";
import type { Document } from "../../store/documents.js";
import { METADATA_KEY_PATTERN, type MetadataValue } from "../../store/vector-store.js";

/** Columns of an item catalog file. */
export interface ItemColumns {
  /** Column holding the unique item id. */
  readonly idField: string;
  /** Columns joined (". ") into the text that is embedded. */
  readonly textFields: readonly string[];
  /**
   * Columns stored as filterable metadata (blank cells left out); a column whose non-empty cells
   * are all numbers is stored as numbers (`embed/metadata-types`). @default []
   */
  readonly metadataFields?: readonly string[];
  /** Types forced per metadata column (`--metadata-types`). @default {} */
  readonly metadataTypes?: MetadataTypes;
}

/** The items of a catalog file. */
export interface ItemCatalog {
  /** Items with text, in file order. */
  readonly documents: Document[];
  /** Ids of rows whose text columns were all empty (not indexed). */
  readonly emptyText: string[];
  /** Data rows read. */
  readonly rows: number;
}

/** Columns of an interactions file. */
export interface InteractionColumns {
  readonly userField: string;
  readonly itemField: string;
  /** Explicit rating column; without it every interaction is a positive (implicit) signal. */
  readonly ratingField?: string;
  /** Time column: Unix seconds, or an ISO-8601 date. */
  readonly timeField?: string;
}

/** One interaction as read from a file. */
export interface InteractionRow {
  readonly user: string;
  readonly item: string;
  /** NaN when the file has no rating column. */
  readonly rating: number;
  /** Unix seconds; NaN when the file has no time column. */
  readonly time: number;
  /** 1-based line of the row in its file (for messages). */
  readonly line: number;
}

/** Longest accepted catalog or interactions file. */
export const MAX_RECOMMEND_FILE_BYTES = 2 * 1024 ** 3;

async function checkFile(path: string, what: string): Promise<void> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error("not a file");
    size = info.size;
  } catch (error) {
    throw new EmbedkitError("FILE_NOT_FOUND", `The ${what} file ${path} does not exist or is not a file.`, {
      cause: error,
      details: { path },
    });
  }
  if (size > MAX_RECOMMEND_FILE_BYTES) {
    throw new EmbedkitError(
      "INPUT_TOO_LARGE",
      `The ${what} file ${path} is ${size} bytes; the limit is ${MAX_RECOMMEND_FILE_BYTES}.`,
    );
  }
}

interface CsvRecord {
  readonly cells: readonly string[];
  readonly line: number;
}

/**
 * Stream the rows of a CSV (or, for `.tsv`, tab-separated) file after checking
 * that its header has every `required` column.
 */
async function* readRows(
  path: string,
  what: string,
  required: readonly { readonly option: string; readonly column: string }[],
): AsyncGenerator<{ columns: Map<string, number>; record: CsvRecord }> {
  await checkFile(path, what);
  const delimiter = extname(path).toLowerCase() === ".tsv" ? "\t" : ",";
  const parser = createReadStream(path).pipe(
    parse({
      bom: true,
      delimiter,
      skip_empty_lines: true,
      relax_quotes: delimiter === "\t",
      quote: delimiter === "\t" ? false : '"',
      info: true,
    }),
  );
  let columns: Map<string, number> | undefined;
  try {
    for await (const entry of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (columns === undefined) {
        columns = new Map(entry.record.map((name, index) => [name.trim(), index]));
        for (const { option, column } of required) {
          if (!columns.has(column)) {
            throw new EmbedkitError(
              "INVALID_OPTION",
              `${option} "${column}" is not a column of ${path}. Available columns: ${[...columns.keys()].join(", ")}.`,
              { details: { param: option, column, available: [...columns.keys()] } },
            );
          }
        }
        continue;
      }
      yield { columns, record: { cells: entry.record, line: entry.info.lines } };
    }
  } catch (error) {
    if (EmbedkitError.isInstance(error)) throw error;
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${path} is not valid ${delimiter === "\t" ? "TSV" : "CSV"}: ${(error as Error).message}`,
      { cause: error, details: { path } },
    );
  } finally {
    parser.destroy();
  }
  if (columns === undefined) {
    throw new EmbedkitError("MALFORMED_FILE", `${path} is empty; it needs a header row and data rows.`, {
      details: { path },
    });
  }
}

function cell(record: CsvRecord, columns: Map<string, number>, column: string): string {
  return (record.cells[columns.get(column) as number] ?? "").trim();
}

function checkNames(option: string, names: readonly string[]): void {
  if (names.length === 0) {
    throw new EmbedkitError("INVALID_OPTION", `${option} needs at least one column name.`);
  }
}

/**
 * Read an item catalog. Text is the non-empty text columns joined with ". ";
 * rows whose text columns are all empty are not returned as documents but
 * listed in `emptyText`.
 *
 * @throws EmbedkitError FILE_NOT_FOUND; INVALID_OPTION (a column that is not in the
 *   header — the message lists the available ones, or a metadata column name that is
 *   not a valid metadata key); MALFORMED_FILE (a row without id, a duplicate id, bad CSV)
 */
export async function readItemCatalog(path: string, columns: ItemColumns): Promise<ItemCatalog> {
  checkNames("--text-fields", columns.textFields);
  const metadataFields = columns.metadataFields ?? [];
  for (const field of metadataFields) {
    if (!METADATA_KEY_PATTERN.test(field)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `Metadata column "${field}" cannot be a metadata key (letters, digits, _ . -, starting with a letter or _).`,
      );
    }
  }
  const required = [
    { option: "--id-field", column: columns.idField },
    ...columns.textFields.map((column) => ({ option: "--text-fields", column })),
    ...metadataFields.map((column) => ({ option: "--metadata-fields", column })),
  ];
  const documents: Document[] = [];
  const emptyText: string[] = [];
  const lines: number[] = [];
  const firstLines = new Map<string, number>();
  const typer = createMetadataTyper({
    detect: true,
    ...(columns.metadataTypes === undefined ? {} : { forced: columns.metadataTypes }),
  });
  let rows = 0;
  for await (const { columns: header, record } of readRows(path, "items", required)) {
    rows++;
    const id = cell(record, header, columns.idField);
    if (id === "") {
      throw new EmbedkitError(
        "MALFORMED_FILE",
        `${path}: line ${record.line} has no item id in column "${columns.idField}".`,
        { details: { path, line: record.line } },
      );
    }
    const first = firstLines.get(id);
    if (first !== undefined) {
      throw new EmbedkitError(
        "MALFORMED_FILE",
        `${path}: item id ${JSON.stringify(id)} appears twice (lines ${first} and ${record.line}); item ids must be unique.`,
        { details: { path, id, lines: [first, record.line] } },
      );
    }
    firstLines.set(id, record.line);
    const text = columns.textFields
      .map((field) => cell(record, header, field))
      .filter((value) => value !== "")
      .join(". ");
    if (text === "") {
      emptyText.push(id);
      continue;
    }
    const metadata: Record<string, MetadataValue> = {};
    for (const field of metadataFields) {
      const value = cell(record, header, field);
      if (value !== "") metadata[field] = value;
    }
    typer.observe(metadata);
    documents.push({ id, text, metadata });
    lines.push(record.line);
  }
  // Type each metadata column once for the whole catalog, as every embedkit reader does.
  const types = typer.types();
  const typed = documents.map((document, i) => ({
    ...document,
    metadata: applyMetadataTypes(document.metadata ?? {}, types, `${path}:${lines[i] ?? 0}`),
  }));
  return { documents: typed, emptyText, rows };
}

/** Parse a time cell: Unix seconds, or a date `Date.parse` understands. */
function parseTime(text: string, path: string, line: number, column: string): number {
  const seconds = numberFromText(text);
  if (seconds !== undefined) return seconds;
  const millis = Date.parse(text);
  if (Number.isNaN(millis)) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${path}: line ${line}, column "${column}": ${JSON.stringify(text)} is not a time (Unix seconds or an ISO-8601 date).`,
      { details: { path, line, column } },
    );
  }
  return millis / 1000;
}

/**
 * Stream the interactions of a file, validating each row: a user and an item
 * id, a numeric rating inside `ratingRange` (when given) and a parseable time.
 *
 * @throws EmbedkitError FILE_NOT_FOUND; INVALID_OPTION (a column not in the header,
 *   listing the available ones); MALFORMED_FILE (missing id, non-numeric rating,
 *   bad time); INVALID_INPUT (a rating outside `ratingRange`, naming the line)
 */
export async function* readInteractions(
  path: string,
  columns: InteractionColumns,
  ratingRange?: readonly [number, number],
): AsyncGenerator<InteractionRow> {
  const required = [
    { option: "--user-field", column: columns.userField },
    { option: "--item-field", column: columns.itemField },
    ...(columns.ratingField === undefined ? [] : [{ option: "--rating-field", column: columns.ratingField }]),
    ...(columns.timeField === undefined ? [] : [{ option: "--time-field", column: columns.timeField }]),
  ];
  for await (const { columns: header, record } of readRows(path, "interactions", required)) {
    const user = cell(record, header, columns.userField);
    const item = cell(record, header, columns.itemField);
    if (user === "" || item === "") {
      throw new EmbedkitError(
        "MALFORMED_FILE",
        `${path}: line ${record.line} has no ${user === "" ? `user id ("${columns.userField}")` : `item id ("${columns.itemField}")`}.`,
        { details: { path, line: record.line } },
      );
    }
    let rating = Number.NaN;
    if (columns.ratingField !== undefined) {
      const text = cell(record, header, columns.ratingField);
      rating = text === "" ? Number.NaN : Number(text);
      if (!Number.isFinite(rating)) {
        throw new EmbedkitError(
          "MALFORMED_FILE",
          `${path}: line ${record.line}, column "${columns.ratingField}": ${JSON.stringify(text)} is not a number.`,
          { details: { path, line: record.line } },
        );
      }
      if (ratingRange !== undefined && (rating < ratingRange[0] || rating > ratingRange[1])) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `${path}: line ${record.line}: rating ${rating} is outside the declared range ${ratingRange[0]}..${ratingRange[1]}` +
            " (fix the row, or declare the range with --rating-range min..max). Nothing was written.",
          { details: { path, line: record.line, rating, range: [...ratingRange] } },
        );
      }
    }
    let time = Number.NaN;
    if (columns.timeField !== undefined) {
      const text = cell(record, header, columns.timeField);
      if (text !== "") time = parseTime(text, path, record.line, columns.timeField);
    }
    yield { user, item, rating, time, line: record.line };
  }
}
