/**
 * @module embed/text-file
 * Reading texts (with an optional id and metadata per text) from a file:
 * `.txt` (one text per non-empty line), `.jsonl` (one object per line, text in
 * the `textField` field), `.csv`/`.tsv` (header row, text in the `textField`
 * column). Malformed files fail with the file name and line number before any
 * embedding starts. The CLI reads its input files with it (`cli/text-input`
 * adds stdin), and so do the training workflows (`train/train-from-file`).
 */
import { extname } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { EmbedkitError } from "../errors.js";
import { readFileText } from "../internal/read-file.js";
import {
  applyMetadataTypes,
  createMetadataTyper,
  type MetadataScalar,
  type MetadataTypes,
} from "./metadata-types.js";

/** One text with an optional id (and metadata) carried through to the output. */
export interface TextRecord {
  readonly text: string;
  readonly id?: string;
  /** 1-based line of the record in its file (for CSV: approximate when a quoted cell spans lines). */
  readonly line?: number;
  /**
   * Values of `metadataFields` (present fields only). CSV fields whose non-empty values are all
   * number-like are numbers, other CSV values strings (see `embed/metadata-types`).
   */
  readonly metadata?: Record<string, MetadataScalar>;
  /** The input columns asked for with `keepFields`, as read (CSV: text; JSONL: any JSON value; absent: null). */
  readonly fields?: Readonly<Record<string, unknown>>;
}

/** A record left out by {@link ReadTextFileOptions.skipEmptyTexts}. */
export interface SkippedRecord {
  /** 1-based line of the record in the file. */
  readonly line: number;
  readonly reason: string;
}

/** Options of {@link readTextFile}. */
export interface ReadTextFileOptions {
  /** Field holding the text in .jsonl/.csv. @default "text" */
  readonly textField?: string;
  /** Field holding an id in .jsonl/.csv, copied to the output. */
  readonly idField?: string;
  /** The option that named `idField`, for messages (e.g. `--label-col`). @default "--id-field" */
  readonly idFieldOption?: string;
  /** The option that named `textField`, for messages (e.g. `--text-col`). @default "--text-field" */
  readonly textFieldOption?: string;
  /** Fields copied into each record's `metadata` (.jsonl: scalar values; .csv: the column's text). */
  readonly metadataFields?: readonly string[];
  /** Types forced per metadata field (`--metadata-types`); others are detected (CSV) or kept (JSONL). */
  readonly metadataTypes?: MetadataTypes;
  /** Format override (otherwise from the extension). */
  readonly format?: "txt" | "jsonl" | "csv" | "tsv";
  /**
   * Leave out records whose text is empty or missing (reported to `onSkipped`) instead of failing.
   * @default false
   */
  readonly skipEmptyTexts?: boolean;
  /** Told about every record left out by `skipEmptyTexts`. */
  readonly onSkipped?: (skipped: SkippedRecord) => void;
  /**
   * `.txt`: keep blank lines as records with text "" (one record per line, so results map back
   * to lines, e.g. `ner --json --file`). @default false
   */
  readonly keepBlankLines?: boolean;
  /**
   * Input columns copied as they are into each record's `fields`, so results can be
   * joined back to the user's rows: names, or `"all"` for every column. A name no
   * row has is refused (INVALID_OPTION listing the columns); a .txt file has none.
   */
  readonly keepFields?: readonly string[] | "all";
}

/** The `keepFields` subset of one row: every named field (null when the row lacks it), or all of them. */
function keptFields(
  row: Readonly<Record<string, unknown>>,
  keep: ReadTextFileOptions["keepFields"],
): Pick<TextRecord, "fields"> {
  if (keep === undefined) return {};
  if (keep === "all") return { fields: { ...row } };
  return {
    fields: Object.fromEntries(keep.map((name) => [name, Object.hasOwn(row, name) ? row[name] : null])),
  };
}

/** Refuse `keepFields` names that no row of the file has, listing the ones it has. */
function checkKeptFields(
  keep: ReadTextFileOptions["keepFields"],
  present: ReadonlySet<string>,
  path: string,
  format: string,
): void {
  if (keep === undefined) return;
  if (format === "txt") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${path} is a plain text file (one text per line), so it has no fields to keep. Use a .csv, .tsv or .jsonl input, or drop --keep-fields/--keep-all.`,
      { details: { param: "keepFields", path } },
    );
  }
  if (keep === "all") return;
  const missing = keep.filter((name) => !present.has(name));
  if (missing.length > 0) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${path} has no ${missing.length === 1 ? "field" : "fields"} ${missing.map((name) => JSON.stringify(name)).join(", ")} to keep. ` +
        `Its ${format === "jsonl" ? "fields" : "columns"}: ${[...present].join(", ") || "(none)"}.`,
      { details: { param: "keepFields", missing, available: [...present] } },
    );
  }
}

/** Largest input file read into memory. */
export const MAX_INPUT_FILE_BYTES = 2 * 1024 ** 3;

function malformed(path: string, line: number, what: string): EmbedkitError {
  return new EmbedkitError("MALFORMED_FILE", `${path}:${line}: ${what}`, { details: { path, line } });
}

/** The format of a text file: `override`, else from its extension (.jsonl/.ndjson, .csv, .tsv, anything else txt). */
export function textFileFormat(
  path: string,
  override: ReadTextFileOptions["format"],
): "txt" | "jsonl" | "csv" | "tsv" {
  if (override) return override;
  const extension = extname(path).toLowerCase();
  if (extension === ".jsonl" || extension === ".ndjson") return "jsonl";
  if (extension === ".csv") return "csv";
  if (extension === ".tsv") return "tsv";
  return "txt";
}

function jsonMetadata(
  object: Record<string, unknown>,
  fields: readonly string[] | undefined,
  path: string,
  line: number,
): TextRecord["metadata"] {
  if (fields === undefined || fields.length === 0) return undefined;
  const metadata: Record<string, string | number | boolean | null> = {};
  for (const field of fields) {
    if (!Object.hasOwn(object, field)) continue;
    const value = object[field];
    if (value !== null && typeof value === "object") {
      throw malformed(
        path,
        line,
        `metadata field "${field}" must be a string, number, boolean or null, not an object or array.`,
      );
    }
    metadata[field] = value as string | number | boolean | null;
  }
  return metadata;
}

function csvMetadata(
  row: Record<string, string>,
  fields: readonly string[] | undefined,
): TextRecord["metadata"] {
  if (fields === undefined || fields.length === 0) return undefined;
  const metadata: Record<string, string> = {};
  for (const field of fields) metadata[field] = row[field] ?? "";
  return metadata;
}

/**
 * Refuse `--id-field` / `--metadata-fields` names that are not in the file: a CSV column
 * missing from the header, or a JSONL field found in no record.
 */
function checkFieldsExist(
  path: string,
  available: ReadonlySet<string>,
  options: ReadTextFileOptions,
  kind: "column" | "field",
): void {
  const wanted = [
    ...(options.idField === undefined
      ? []
      : [{ option: options.idFieldOption ?? "--id-field", name: options.idField }]),
    ...(options.metadataFields ?? []).map((name) => ({ option: "--metadata-fields", name })),
  ];
  for (const { option, name } of wanted) {
    if (available.has(name)) continue;
    const where = kind === "column" ? "columns" : "fields found";
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${option}: no ${kind} "${name}" in ${path} (${where}: ${[...available].join(", ") || "none"}).`,
      { details: { param: option, [kind]: name, available: [...available], path } },
    );
  }
}

/** Type the metadata of all records of one file consistently (see `embed/metadata-types`). */
function typeMetadata(
  records: TextRecord[],
  path: string,
  options: ReadTextFileOptions,
  detect: boolean,
): TextRecord[] {
  if (options.metadataFields === undefined || options.metadataFields.length === 0) return records;
  const typer = createMetadataTyper({
    detect,
    ...(options.metadataTypes ? { forced: options.metadataTypes } : {}),
  });
  for (const record of records) typer.observe(record.metadata);
  const types = typer.types();
  if (Object.keys(types).length === 0) return records;
  return records.map((record) =>
    record.metadata === undefined
      ? record
      : { ...record, metadata: applyMetadataTypes(record.metadata, types, `${path}:${record.line ?? 0}`) },
  );
}

/** Parse texts out of file content (exported for tests). */
export function parseTexts(content: string, path: string, options: ReadTextFileOptions = {}): TextRecord[] {
  const textField = options.textField ?? "text";
  const format = textFileFormat(path, options.format);
  const records: TextRecord[] = [];
  if (format === "txt") {
    checkKeptFields(options.keepFields, new Set(), path, format);
    const lines = content.split(/\r?\n/);
    if (lines.at(-1) === "") lines.pop(); // the newline that ends the last line starts no new one
    lines.forEach((line, i) => {
      if (line.trim() !== "") records.push({ text: line, line: i + 1 });
      else if (options.keepBlankLines) records.push({ text: "", line: i + 1 });
    });
    return records;
  }
  const skip = (line: number, reason: string): void => {
    options.onSkipped?.({ line, reason });
  };
  if (format === "jsonl") {
    const seen = new Set<string>();
    content.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === "") return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw malformed(path, i + 1, `invalid JSON (${(error as Error).message}).`);
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw malformed(path, i + 1, "expected a JSON object per line.");
      }
      const object = value as Record<string, unknown>;
      for (const key of Object.keys(object)) seen.add(key);
      const text = object[textField];
      if (typeof text !== "string" || text.trim() === "") {
        if (options.skipEmptyTexts) {
          skip(i + 1, `field "${textField}" is missing or empty`);
          return;
        }
        throw malformed(
          path,
          i + 1,
          `field "${textField}" is missing or not a non-empty string. Choose the field with ${options.textFieldOption ?? "--text-field"}.`,
        );
      }
      const id = options.idField === undefined ? undefined : object[options.idField];
      const metadata = jsonMetadata(object, options.metadataFields, path, i + 1);
      records.push({
        text,
        line: i + 1,
        ...(id === undefined ? {} : { id: String(id) }),
        ...(metadata ? { metadata } : {}),
        ...keptFields(object, options.keepFields),
      });
    });
    if (seen.size > 0) checkFieldsExist(path, seen, options, "field");
    checkKeptFields(options.keepFields, seen, path, format);
    return typeMetadata(records, path, options, false);
  }
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(content, {
      columns: true,
      delimiter: format === "tsv" ? "\t" : ",",
      skip_empty_lines: true,
      bom: true,
      relax_quotes: format === "tsv",
    }) as Record<string, string>[];
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? 0;
    throw malformed(path, line, `invalid ${format.toUpperCase()} (${(error as Error).message}).`);
  }
  const header = new Set(rows[0] === undefined ? [] : Object.keys(rows[0]));
  if (rows.length > 0) checkFieldsExist(path, header, options, "column");
  if (rows[0] !== undefined) checkKeptFields(options.keepFields, header, path, format);
  rows.forEach((row, i) => {
    const text = row[textField];
    if (text === undefined) {
      throw malformed(
        path,
        1,
        `no column "${textField}" (columns: ${Object.keys(row).join(", ")}). Choose it with ${options.textFieldOption ?? "--text-field"}.`,
      );
    }
    if (text.trim() === "") {
      if (options.skipEmptyTexts) {
        skip(i + 2, `empty "${textField}" value`);
        return;
      }
      throw malformed(
        path,
        i + 2,
        `empty "${textField}" value. Fix the row, or leave such rows out with --skip-errors.`,
      );
    }
    const id = options.idField === undefined ? undefined : row[options.idField];
    const metadata = csvMetadata(row, options.metadataFields);
    records.push({
      text,
      ...(id === undefined ? {} : { id }),
      line: i + 2,
      ...(metadata ? { metadata } : {}),
      ...keptFields(row, options.keepFields),
    });
  });
  return typeMetadata(records, path, options, true);
}

/**
 * Read texts from a file.
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE (with line numbers), INVALID_INPUT for empty files
 */
export async function readTextFile(path: string, options: ReadTextFileOptions = {}): Promise<TextRecord[]> {
  const content = await readFileText(path, { what: "input file", maxBytes: MAX_INPUT_FILE_BYTES });
  const records = parseTexts(content, path, options);
  if (records.length === 0) {
    throw new EmbedkitError("INVALID_INPUT", `${path} contains no texts.`, { details: { path } });
  }
  return records;
}
