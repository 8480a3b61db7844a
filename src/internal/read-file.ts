/**
 * @module internal/read-file
 * Read a whole file as text or bytes with one set of errors: a missing path, a
 * folder where a file was expected and a file without read permission all throw
 * `EmbedkitError` FILE_NOT_FOUND with a message that says which of the three it
 * was (`details.reason`: `missing`, `folder`, `permission`, `unreadable`), and an
 * optional size limit throws INVALID_INPUT before anything is read.
 *
 * Internal: not re-exported from `src/index.ts`.
 */
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { EmbedkitError } from "../errors.js";

/** Options of {@link readFileText} and {@link readFileBytes}. */
export interface ReadFileOptions {
  /** What the file is, for messages ("config file", "pair file"). @default only the path is named */
  readonly what?: string;
  /** How to fix a missing or unreadable file, appended to the message. @default "Check the path." */
  readonly hint?: string;
  /** Largest accepted size in bytes; a larger file throws INVALID_INPUT. @default no limit */
  readonly maxBytes?: number;
}

/** Why a path could not be read. */
export type UnreadableReason = "missing" | "folder" | "permission" | "unreadable";

function reasonOf(error: unknown): { reason: UnreadableReason; text: string } {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return { reason: "missing", text: "no such file" };
  if (code === "EISDIR") return { reason: "folder", text: "it is a folder, not a file" };
  if (code === "EACCES" || code === "EPERM") return { reason: "permission", text: "permission denied" };
  return { reason: "unreadable", text: (error as Error).message };
}

/** "the config file a.json", or just "a.json". */
function subject(path: string, options: ReadFileOptions): string {
  return options.what === undefined ? path : `the ${options.what} ${path}`;
}

function unreadable(path: string, options: ReadFileOptions, error: unknown): EmbedkitError {
  const { reason, text } = reasonOf(error);
  return new EmbedkitError(
    "FILE_NOT_FOUND",
    `Cannot read ${subject(path, options)}: ${text}. ${options.hint ?? "Check the path."}`,
    { cause: error, details: { path, reason } },
  );
}

async function readChecked(path: string, options: ReadFileOptions): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw unreadable(path, options, error);
  }
  try {
    let info: Awaited<ReturnType<FileHandle["stat"]>>;
    try {
      info = await handle.stat();
    } catch (error) {
      throw unreadable(path, options, error);
    }
    if (info.isDirectory()) {
      throw unreadable(path, options, Object.assign(new Error("is a folder"), { code: "EISDIR" }));
    }
    if (options.maxBytes !== undefined && info.size > options.maxBytes) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Cannot read ${subject(path, options)}: it is ${info.size} bytes, and at most ${options.maxBytes} are accepted. Split it into parts.`,
        { details: { path, size: info.size, limit: options.maxBytes } },
      );
    }
    try {
      return await handle.readFile();
    } catch (error) {
      throw unreadable(path, options, error);
    }
  } finally {
    await handle.close();
  }
}

/**
 * The bytes of file `path`.
 *
 * @throws EmbedkitError FILE_NOT_FOUND (missing, a folder, no permission — the message
 *   says which); INVALID_INPUT when larger than `maxBytes`.
 */
export async function readFileBytes(path: string, options: ReadFileOptions = {}): Promise<Buffer> {
  return readChecked(path, options);
}

/**
 * The text of file `path`, decoded as UTF-8 (or Latin-1), without a leading byte-order mark.
 *
 * @throws EmbedkitError as {@link readFileBytes}.
 * @example
 * ```ts
 * const text = await readFileText(path, { what: "config file", hint: "Pass --config with an existing file." });
 * ```
 */
export async function readFileText(
  path: string,
  options: ReadFileOptions & { readonly encoding?: "utf8" | "latin1" } = {},
): Promise<string> {
  const text = (await readChecked(path, options)).toString(options.encoding ?? "utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
