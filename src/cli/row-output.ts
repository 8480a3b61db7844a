/**
 * @module cli/row-output
 * Results joined back to the user's rows: the `--keep-fields a,b` / `--keep-all`
 * options (input columns copied into every output row, read by
 * `embed/text-file`), merging kept columns with a command's result columns
 * (a kept column whose name a result column already uses is written as
 * `input_<name>`), and writing rows as JSON, JSONL or CSV (to `--out`
 * atomically, or stdout). Used by `classify`, `ner`, `embed` and `faq ask --file`.
 */
import { extname } from "node:path";
import type { Command } from "commander";
import { EmbedkitError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-write.js";

/** Options added by {@link addKeepFieldOptions}. */
export interface KeepFieldOptions {
  readonly keepFields?: string;
  readonly keepAll?: boolean;
  readonly file?: string;
}

/** Add `--keep-fields <names>` and `--keep-all` to a command that reads `--file`. */
export function addKeepFieldOptions(command: Command): Command {
  return command
    .option(
      "--keep-fields <names>",
      "copy these comma-separated input columns (.csv/.tsv/.jsonl --file) into every output row",
    )
    .option("--keep-all", "copy every input column into every output row");
}

/**
 * The columns to keep (`undefined` = none), after checking the options.
 * @throws EmbedkitError INVALID_OPTION for both options at once, an empty list, or no --file
 */
export function keptFieldsOf(options: KeepFieldOptions): readonly string[] | "all" | undefined {
  if (options.keepFields === undefined && !options.keepAll) return undefined;
  if (options.keepFields !== undefined && options.keepAll) {
    throw new EmbedkitError("INVALID_OPTION", "Give --keep-fields <names> or --keep-all, not both.");
  }
  if (options.file === undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "--keep-fields/--keep-all copy columns of an input file: read the texts with --file rows.csv (or .tsv/.jsonl).",
    );
  }
  if (options.keepAll) return "all";
  const names = (options.keepFields as string)
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `--keep-fields needs comma-separated column names, received ${JSON.stringify(options.keepFields)}.`,
    );
  }
  return [...new Set(names)];
}

/**
 * One output row: `index`, then the kept input columns, then the result's own
 * columns. A kept column named like a result column is renamed `input_<name>`.
 */
export function joinRow(
  index: number,
  kept: Readonly<Record<string, unknown>> | undefined,
  result: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const row: Record<string, unknown> = { index };
  if (kept !== undefined) {
    for (const [name, value] of Object.entries(kept)) {
      row[name === "index" || Object.hasOwn(result, name) ? `input_${name}` : name] = value;
    }
  }
  return Object.assign(row, result);
}

/** Structured output formats of row-producing commands. */
export type RowFormat = "json" | "jsonl" | "csv";

/** Supported output extensions per {@link RowFormat}. */
const EXTENSIONS: Readonly<Record<string, RowFormat>> = Object.freeze({
  ".json": "json",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".csv": "csv",
});

/**
 * The row format: `--format` when given, else from the `--out` extension, else `fallback`.
 * @throws EmbedkitError INVALID_OPTION for an `--out` extension that is none of .json, .jsonl, .ndjson, .csv
 */
export function rowFormatOf(
  options: { readonly format?: RowFormat; readonly out?: string },
  fallback: RowFormat | undefined,
): RowFormat | undefined {
  if (options.format !== undefined) return options.format;
  if (options.out === undefined) return fallback;
  const extension = extname(options.out).toLowerCase();
  const format = EXTENSIONS[extension];
  if (format === undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Cannot tell the output format of --out ${JSON.stringify(options.out)}: use a .json, .jsonl or .csv file, or pass --format.`,
      { details: { param: "out", received: options.out } },
    );
  }
  return format;
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Render rows; CSV columns are the union of the rows' keys in first-seen order (objects as JSON text). */
export function renderRows(rows: readonly Readonly<Record<string, unknown>>[], format: RowFormat): string {
  if (format === "json") return `${JSON.stringify(rows, null, 2)}\n`;
  if (format === "jsonl") return rows.map((row) => `${JSON.stringify(row)}\n`).join("");
  const columns = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) columns.add(key);
  const header = [...columns];
  const lines = [header.map(csvCell).join(",")];
  for (const row of rows) lines.push(header.map((column) => csvCell(row[column])).join(","));
  return `${lines.join("\n")}\n`;
}

/** Write rendered rows to `out` atomically (temp file + rename), or to stdout. */
export async function writeRows(
  rows: readonly Readonly<Record<string, unknown>>[],
  format: RowFormat,
  out: string | undefined,
): Promise<void> {
  const body = renderRows(rows, format);
  if (out === undefined) {
    process.stdout.write(body);
    return;
  }
  await writeFileAtomic(out, body, { hint: "Check the --out path." });
}
