/**
 * @module apps/social/social-input
 * Streaming reader of social-media exports for `social analyze`: `.csv` /
 * `.tsv` (header row, RFC 4180 quoting, newlines inside quoted fields) and
 * `.jsonl` / `.ndjson` (one object per line). The bytes are decoded as strict
 * UTF-8 while they stream, so a GBK or Latin-1 export fails at once with the
 * byte offset and how to convert it, instead of producing mojibake topics.
 * Every input column is kept (in file order) so the outputs can pass them
 * through; posts whose text is empty are skipped and counted, not fatal.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { parse as parseCsv } from "csv-parse";
import { textFileFormat } from "../../embed/text-file.js";
import { EmbedkitError } from "../../errors.js";

/** Input formats of {@link readSocialPosts}. */
export type SocialFileFormat = "csv" | "tsv" | "jsonl";

/** A JSON value of one input field (CSV fields are strings). */
export type FieldValue =
  | string
  | number
  | boolean
  | null
  | readonly unknown[]
  | { readonly [key: string]: unknown };

/** One post as read. */
export interface SocialPost {
  /** Where it is in the file: 1-based data row (CSV/TSV, header excluded) or line (JSONL). */
  readonly row: number;
  readonly text: string;
  /** Every input field, as read. */
  readonly fields: Readonly<Record<string, FieldValue>>;
}

/** Options of {@link readSocialPosts}. */
export interface ReadSocialPostsOptions {
  /** Field holding the post text. @default "text" */
  readonly textField?: string;
  /** Other fields that must exist (time, group, id…), named in errors by their option. */
  readonly requiredFields?: Readonly<Record<string, string>>;
  /** Format override (otherwise from the extension: .csv, .tsv, .jsonl/.ndjson). */
  readonly format?: SocialFileFormat;
  /** Most posts read. @default 2,000,000 */
  readonly maxPosts?: number;
}

/** What {@link readSocialPosts} returns. */
export interface SocialInput {
  readonly format: SocialFileFormat;
  /** Field names in first-seen order (CSV: the header). */
  readonly columns: readonly string[];
  readonly posts: readonly SocialPost[];
  /** Rows whose text was empty or only white space (skipped). */
  readonly emptyTexts: number;
}

/** Largest input file (bytes). */
export const MAX_SOCIAL_FILE_BYTES = 4 * 1024 ** 3;
/** Default cap on posts per file. */
export const MAX_SOCIAL_POSTS = 2_000_000;

function malformed(path: string, where: string, what: string): EmbedkitError {
  return new EmbedkitError("MALFORMED_FILE", `${path}:${where}: ${what}`, { details: { path, where } });
}

/** Decode a byte stream as strict UTF-8 (BOM dropped), failing with the byte offset of the first bad sequence. */
async function* decodeUtf8(path: string, bytes: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let offset = 0;
  for await (const chunk of bytes) {
    try {
      const text = decoder.decode(chunk, { stream: true });
      if (text !== "") yield text;
    } catch (error) {
      throw new EmbedkitError(
        "MALFORMED_FILE",
        `${path} is not valid UTF-8 (a bad byte sequence in the bytes ${offset}–${offset + chunk.length}). Convert it first, e.g. \`iconv -f GBK -t UTF-8 in.csv > out.csv\` (or -f LATIN1 / CP1252).`,
        { cause: error, details: { path, offset } },
      );
    }
    offset += chunk.length;
  }
  try {
    const rest = decoder.decode();
    if (rest !== "") yield rest;
  } catch (error) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${path} is not valid UTF-8 (it ends inside a multi-byte character). Convert it to UTF-8 first.`,
      { cause: error, details: { path, offset } },
    );
  }
}

async function* jsonlRecords(
  path: string,
  text: AsyncIterable<string>,
): AsyncGenerator<{ line: number; fields: Record<string, FieldValue> }> {
  let pending = "";
  let line = 0;
  const parseLine = (content: string): Record<string, FieldValue> | undefined => {
    line++;
    const trimmed = line === 1 ? content.replace(/^\uFEFF/, "").trim() : content.trim();
    if (trimmed === "") return undefined;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw malformed(path, String(line), `invalid JSON (${(error as Error).message}).`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw malformed(path, String(line), "expected one JSON object per line.");
    }
    return value as Record<string, FieldValue>;
  };
  for await (const chunk of text) {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const fields = parseLine(pending.slice(0, newline));
      if (fields !== undefined) yield { line, fields };
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  }
  const fields = parseLine(pending);
  if (fields !== undefined) yield { line, fields };
}

async function* csvRecords(
  path: string,
  text: AsyncIterable<string>,
  format: "csv" | "tsv",
  onHeader: (columns: string[]) => void,
): AsyncGenerator<{ line: number; fields: Record<string, FieldValue> }> {
  const source = Readable.from(text);
  const parser = parseCsv({
    columns: (header: string[]) => {
      const names = header.map((name) => name.trim());
      const repeated = names.find((name, index) => names.indexOf(name) !== index);
      if (repeated !== undefined) {
        throw malformed(
          path,
          "1",
          `the header names column "${repeated}" twice; column names must be unique.`,
        );
      }
      onHeader(names);
      return names;
    },
    delimiter: format === "tsv" ? "\t" : ",",
    bom: true,
    skip_empty_lines: true,
    relax_quotes: format === "tsv",
    info: true,
  });
  // pipe() does not forward a source error (bad UTF-8): hand it to the parser so the loop below throws it.
  source.on("error", (error) => parser.destroy(error));
  source.pipe(parser);
  let row = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string> }>) {
      row++;
      yield { line: row, fields: item.record };
    }
  } catch (error) {
    if (EmbedkitError.isInstance(error)) throw error;
    const lines = (error as { lines?: number }).lines;
    throw malformed(
      path,
      lines === undefined ? "?" : String(lines),
      `invalid ${format.toUpperCase()} (${(error as Error).message}).`,
    );
  }
}

function missingField(
  path: string,
  option: string,
  field: string,
  columns: readonly string[],
): EmbedkitError {
  return new EmbedkitError(
    "INVALID_INPUT",
    `${path} has no field "${field}" for ${option}. Available: ${columns.join(", ") || "none"}.`,
    { details: { path, field, option, available: [...columns] } },
  );
}

/**
 * Read the posts of a CSV, TSV or JSONL export, streamed.
 *
 * @throws EmbedkitError FILE_NOT_FOUND; INVALID_INPUT for an empty file, a file
 *   without posts, a missing column (naming the available ones) or too many
 *   posts; MALFORMED_FILE for bad UTF-8, JSON or CSV (with the line).
 * @example
 * ```ts
 * const input = await readSocialPosts("Tweets.csv", { textField: "text", requiredFields: { "--time-field": "tweet_created" } });
 * ```
 */
export async function readSocialPosts(
  path: string,
  options: ReadSocialPostsOptions = {},
): Promise<SocialInput> {
  const textField = options.textField ?? "text";
  const maxPosts = options.maxPosts ?? MAX_SOCIAL_POSTS;
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error("not a file");
    size = info.size;
  } catch {
    throw new EmbedkitError("FILE_NOT_FOUND", `Input file not found (or not a file): ${path}.`, {
      details: { path },
    });
  }
  if (size === 0) {
    throw new EmbedkitError("INVALID_INPUT", `${path} is empty: expected a header row and posts.`, {
      details: { path },
    });
  }
  if (size > MAX_SOCIAL_FILE_BYTES) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${path} is ${size} bytes, above the ${MAX_SOCIAL_FILE_BYTES}-byte limit; split the export.`,
      { details: { path, size } },
    );
  }
  const detected = textFileFormat(path, options.format);
  if (detected === "txt") {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${path}: cannot tell the format from the extension; expected .csv, .tsv or .jsonl (or give the format).`,
      { details: { path } },
    );
  }
  const format: SocialFileFormat = detected;
  const text = decodeUtf8(path, createReadStream(path) as AsyncIterable<Buffer>);
  const columns: string[] = [];
  const seen = new Set<string>();
  let headerChecked = false;
  const required: [string, string][] = [
    ["--text-field", textField],
    ...Object.entries(options.requiredFields ?? {}),
  ];
  const checkHeader = (names: readonly string[]): void => {
    for (const [option, field] of required) {
      if (!names.includes(field)) throw missingField(path, option, field, names);
    }
    headerChecked = true;
  };
  const records =
    format === "jsonl"
      ? jsonlRecords(path, text)
      : csvRecords(path, text, format, (names) => {
          columns.push(...names);
          checkHeader(names);
        });
  const posts: SocialPost[] = [];
  let emptyTexts = 0;
  for await (const { line, fields } of records) {
    if (format === "jsonl") {
      for (const key of Object.keys(fields)) {
        if (!seen.has(key)) {
          seen.add(key);
          columns.push(key);
        }
      }
      // JSONL has no header: a field missing from every line is caught after reading;
      // a text field missing from a line is that line's error.
      if (!Object.hasOwn(fields, textField))
        throw missingField(`${path}:${line}`, "--text-field", textField, columns);
    }
    const value = fields[textField];
    if (value !== null && value !== undefined && typeof value !== "string") {
      throw malformed(path, String(line), `field "${textField}" must be a string, received ${typeof value}.`);
    }
    if (value === null || value === undefined || value.trim() === "") {
      emptyTexts++;
      continue;
    }
    if (posts.length >= maxPosts) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${path} has more than ${maxPosts} posts; split the file or raise maxPosts.`,
        { details: { path, maxPosts } },
      );
    }
    posts.push({ row: line, text: value, fields });
  }
  if (format === "jsonl" && posts.length > 0 && !headerChecked) checkHeader(columns);
  if (posts.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${path} has no posts with a non-empty "${textField}"${emptyTexts > 0 ? ` (${emptyTexts} empty)` : ""}.`,
      { details: { path, emptyTexts } },
    );
  }
  return { format, columns, posts, emptyTexts };
}
