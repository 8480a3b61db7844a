/**
 * @module jobs/input
 * Streaming reader of document files for `jobs submit`: `.jsonl`/`.ndjson`
 * (one object per line), `.csv`/`.tsv` (header row) and `.txt` (one document
 * per non-empty line), read record by record so a file of any size is never
 * held in memory. The same formats and field rules as `embedkit index`.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { parse as parseCsv } from "csv-parse";
import { textFileFormat } from "../embed/text-file.js";
import { EmbedkitError } from "../errors.js";
import type { Document } from "../store/documents.js";
import { validateId } from "../store/validate.js";
import type { Metadata } from "../store/vector-store.js";

/** Input formats of {@link readDocumentStream}. */
export type DocumentFileFormat = "txt" | "jsonl" | "csv" | "tsv";

/** Options of {@link readDocumentStream}. */
export interface DocumentStreamOptions {
  /** Field/column holding the text. @default "text" */
  readonly textField?: string;
  /** Field/column holding a unique id (default: a hash of the text). */
  readonly idField?: string;
  /** Fields/columns copied into the document's metadata (typed by the caller: {@link typeDocumentMetadata}). */
  readonly metadataFields?: readonly string[];
  /** Format override (otherwise from the extension). */
  readonly format?: DocumentFileFormat;
}

/** One document with the line of the file it came from. */
export interface LocatedDocument extends Document {
  /** 1-based line number of the record (for CSV: the line where the record starts). */
  readonly line: number;
}

/** Id of a record without an id field: a hash of its text (as `embedkit index`). */
export function contentId(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function malformed(path: string, line: number, what: string): EmbedkitError {
  return new EmbedkitError("MALFORMED_FILE", `${path}:${line}: ${what}`, { details: { path, line } });
}

/**
 * Check that `path` is a readable file and return its size.
 * @throws EmbedkitError FILE_NOT_FOUND
 */
export async function inputFileSize(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error("not a file");
    return info.size;
  } catch {
    throw new EmbedkitError("FILE_NOT_FOUND", `Input file not found: ${path}.`, { details: { path } });
  }
}

function toDocument(
  fields: Record<string, unknown>,
  options: DocumentStreamOptions,
  path: string,
  line: number,
  kind: "field" | "column",
): LocatedDocument {
  const textField = options.textField ?? "text";
  const available = () => Object.keys(fields).join(", ") || "none";
  if (!Object.hasOwn(fields, textField)) {
    throw malformed(
      path,
      line,
      `no ${kind} "${textField}" (${kind}s: ${available()}). Choose the text with --text-field.`,
    );
  }
  const text = fields[textField];
  if (typeof text !== "string" || text.trim() === "") {
    throw malformed(path, line, `${kind} "${textField}" must be a non-empty string.`);
  }
  let id: string;
  if (options.idField === undefined) {
    id = contentId(text);
  } else {
    const raw = fields[options.idField];
    if (!Object.hasOwn(fields, options.idField)) {
      throw malformed(
        path,
        line,
        `no ${kind} "${options.idField}" for --id-field (${kind}s: ${available()}).`,
      );
    }
    if (raw === null || raw === undefined || raw === "" || typeof raw === "object") {
      throw malformed(path, line, `${kind} "${options.idField}" must be a non-empty string or number.`);
    }
    id = String(raw);
    try {
      validateId(id, `${path}:${line}`);
    } catch (error) {
      throw malformed(path, line, (error as Error).message);
    }
  }
  let metadata: Metadata | undefined;
  if (options.metadataFields !== undefined && options.metadataFields.length > 0) {
    const values: Record<string, string | number | boolean | null> = {};
    for (const field of options.metadataFields) {
      if (!Object.hasOwn(fields, field)) {
        if (kind === "column") {
          throw malformed(
            path,
            line,
            `no column "${field}" for --metadata-fields (columns: ${available()}).`,
          );
        }
        continue;
      }
      const value = fields[field];
      if (value !== null && typeof value === "object") {
        throw malformed(path, line, `metadata field "${field}" must be a string, number, boolean or null.`);
      }
      values[field] = value as string | number | boolean | null;
    }
    metadata = values;
  }
  return { id, text, line, ...(metadata === undefined ? {} : { metadata }) };
}

/**
 * Read the documents of a file one by one, streaming. `onBytes` sees every raw
 * chunk of the file (used to hash its content while it is read).
 *
 * @throws EmbedkitError FILE_NOT_FOUND; MALFORMED_FILE naming the file, the line
 *   and (for a missing field) the fields that are there
 */
export async function* readDocumentStream(
  path: string,
  options: DocumentStreamOptions = {},
  onBytes?: (chunk: Buffer) => void,
): AsyncGenerator<LocatedDocument> {
  await inputFileSize(path);
  const format = textFileFormat(path, options.format);
  const stream = createReadStream(path);
  if (onBytes !== undefined) stream.on("data", (chunk) => onBytes(chunk as Buffer));
  try {
    if (format === "csv" || format === "tsv") {
      const parser = stream.pipe(
        parseCsv({
          columns: true,
          delimiter: format === "tsv" ? "\t" : ",",
          skip_empty_lines: true,
          bom: true,
          relax_quotes: format === "tsv",
          info: true,
        }),
      );
      try {
        for await (const row of parser as AsyncIterable<{
          record: Record<string, string>;
          info: { lines: number };
        }>) {
          yield toDocument(row.record, options, path, row.info.lines, "column");
        }
      } catch (error) {
        if (EmbedkitError.isInstance(error)) throw error;
        const line = (error as { lines?: number }).lines ?? 0;
        throw malformed(path, line, `invalid ${format.toUpperCase()} (${(error as Error).message}).`);
      }
      return;
    }
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    let number = 0;
    for await (const line of lines) {
      number += 1;
      if (line.trim() === "") continue;
      if (format === "txt") {
        yield { id: contentId(line), text: line, line: number };
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw malformed(path, number, `invalid JSON (${(error as Error).message}).`);
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw malformed(path, number, "expected a JSON object per line.");
      }
      yield toDocument(value as Record<string, unknown>, options, path, number, "field");
    }
  } finally {
    stream.destroy();
  }
}
