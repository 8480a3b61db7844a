/**
 * @module internal/atomic-write
 * The one way embedkit replaces a file: write a uniquely named temporary file in
 * the same folder, fsync it, rename it over the target and fsync the folder. A
 * reader sees the old file or the new one, never half of either; a failed write
 * leaves the old file as it was and removes its temporary file. Temporary names
 * carry the process id, a per-process counter and random bytes, so writers in one
 * process (or in several) never share one; the pid lets a later process recognise
 * and clean up the leftovers of a crashed one ({@link temporaryFileOwner}).
 *
 * Internal: not re-exported from `src/index.ts`.
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { EmbedkitError } from "../errors.js";

let counter = 0;

/** `<name>.<pid>-<counter>-<random>.tmp`; {@link temporaryFileOwner} reads the pid back. */
const TEMPORARY_NAME = /\.(\d+)-\d+-[0-9a-f]+\.tmp$/;

/**
 * A fresh temporary path next to `path` (same folder, so the final rename stays
 * on one file system). Unique within the process and, through pid and random
 * bytes, across processes.
 */
export function temporaryPathFor(path: string): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${path}.${process.pid}-${counter}-${randomBytes(4).toString("hex")}.tmp`;
}

/**
 * The process id that created temporary file `name` (a base name or a path), or
 * `undefined` when `name` is not one of {@link temporaryPathFor}'s names.
 */
export function temporaryFileOwner(name: string): number | undefined {
  const match = TEMPORARY_NAME.exec(basename(name));
  return match === null ? undefined : Number(match[1]);
}

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** How to fix a failed write, appended to the error message. @default "Check that the folder exists and is writable." */
  readonly hint?: string;
  /** File mode of a newly created file. @default 0o666 (minus the umask) */
  readonly mode?: number;
  /**
   * fsync the file and its folder, so the new content survives a power loss. `false`
   * keeps the write atomic for readers and for a crash of the process, at a fraction
   * of the cost (an fsync pair costs ~10 ms on a virtual disk): right for caches whose
   * loss only costs recomputation and whose readers reject a short file.
   * @default true
   */
  readonly durable?: boolean;
}

/**
 * Replace (or create) file `path` with `data`, atomically and (unless `durable:
 * false`) durably: temporary file in the same folder, fsync, rename, fsync of the folder.
 *
 * @throws EmbedkitError INVALID_OPTION naming `path` when any step fails (the folder
 *   is missing or read-only, the disk is full, `path` is a folder); the old file is
 *   then unchanged and the temporary file removed. The original error is the `cause`.
 * @example
 * ```ts
 * await writeFileAtomic("out/report.json", `${JSON.stringify(report)}\n`);
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const temporary = temporaryPathFor(path);
  let created = false;
  try {
    // "wx": never reuse a file that is already there, even if a name ever repeated.
    const handle = await open(temporary, "wx", options.mode ?? 0o666);
    created = true;
    try {
      await handle.writeFile(data);
      if (options.durable !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    created = false;
  } catch (error) {
    if (created) await rm(temporary, { force: true }).catch(() => undefined);
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Cannot write ${path}: ${(error as Error).message}. ${options.hint ?? "Check that the folder exists and is writable."}`,
      { cause: error, details: { path } },
    );
  }
  if (options.durable !== false) await syncFolder(dirname(path));
}

/**
 * Replace (or create) file `path` with what `write` puts at the temporary path it
 * is given — for writers that only take a file name (e.g. an index library's
 * `writeIndex(path)`). Then the same steps as {@link writeFileAtomic}: fsync of the
 * temporary file, rename, fsync of the folder.
 *
 * @throws EmbedkitError INVALID_OPTION naming `path` when `write` or any step fails;
 *   the old file is then unchanged and the temporary file removed.
 * @example
 * ```ts
 * await replaceFileAtomic(indexPath, (temporary) => index.writeIndex(temporary));
 * ```
 */
export async function replaceFileAtomic(
  path: string,
  write: (temporaryPath: string) => Promise<void> | void,
  options: Pick<WriteFileAtomicOptions, "hint"> = {},
): Promise<void> {
  const temporary = temporaryPathFor(path);
  try {
    await write(temporary);
    const handle = await open(temporary, "r+");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Cannot write ${path}: ${(error as Error).message}. ${options.hint ?? "Check that the folder exists and is writable."}`,
      { cause: error, details: { path } },
    );
  }
  await syncFolder(dirname(path));
}

/**
 * fsync a folder so a rename inside it survives a power loss. Best effort: some
 * platforms (Windows) and file systems cannot open or sync a folder, and the file
 * itself is already complete and in place.
 */
async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The rename already happened; only its durability across a crash is weaker.
  }
}
