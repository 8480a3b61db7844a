/**
 * @module cli/text-input
 * Reading texts for CLI commands from arguments, stdin, or a file. Files are
 * read by `embed/text-file` (`.txt`, `.jsonl`, `.csv`, `.tsv`), re-exported here.
 */
import { parseTexts, readTextFile, type SkippedRecord, type TextRecord } from "../embed/text-file.js";

export {
  MAX_INPUT_FILE_BYTES,
  parseTexts,
  type ReadTextFileOptions,
  readTextFile,
  type SkippedRecord,
  type TextRecord,
} from "../embed/text-file.js";

/** Read all of stdin as text lines (one text per non-empty line). */
export async function readStdinTexts(): Promise<TextRecord[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return parseTexts(Buffer.concat(chunks).toString("utf8"), "<stdin>", { format: "txt" });
}

/**
 * The texts of a command: from `--file` when given, else the command-line
 * arguments, else stdin lines when stdin is not a terminal; `[]` when none.
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE, INVALID_INPUT (from {@link readTextFile})
 */
export async function readTextRecords(
  texts: readonly string[],
  options: {
    readonly file?: string | undefined;
    readonly textField?: string;
    readonly idField?: string | undefined;
    readonly skipEmptyTexts?: boolean;
    readonly onSkipped?: (skipped: SkippedRecord) => void;
    readonly keepBlankLines?: boolean;
    readonly keepFields?: readonly string[] | "all" | undefined;
  },
): Promise<TextRecord[]> {
  if (options.file) {
    return readTextFile(options.file, {
      ...(options.textField === undefined ? {} : { textField: options.textField }),
      ...(options.idField === undefined ? {} : { idField: options.idField }),
      ...(options.skipEmptyTexts ? { skipEmptyTexts: true } : {}),
      ...(options.onSkipped === undefined ? {} : { onSkipped: options.onSkipped }),
      ...(options.keepBlankLines ? { keepBlankLines: true } : {}),
      ...(options.keepFields === undefined ? {} : { keepFields: options.keepFields }),
    });
  }
  if (texts.length > 0) return texts.map((text) => ({ text }));
  if (!process.stdin.isTTY) return readStdinTexts();
  return [];
}
