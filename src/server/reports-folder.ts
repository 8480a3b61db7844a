/**
 * @module server/reports-folder
 * The dashboard's one set of rules for files of the server's `--reports` folder
 * (docs/DASHBOARD.md, "Security"), used by the Reports page and by the Social
 * page's "choose a file on the server":
 *
 * - a path names a file by its relative path as the listing gives it: folders
 *   and a file name made of letters, digits, `.`, `_`, `-` and spaces, separated
 *   by `/`, at most {@link REPORTS_FOLDER_LIMITS.maxDepth} folders deep; `..`,
 *   `.`, empty parts, absolute paths, backslashes, NUL and `%` (an encoded form)
 *   are refused — checked on the decoded path the route received (query strings
 *   and JSON bodies are decoded before they reach the check), never on the raw URL;
 * - the real path (symbolic links followed) must be a regular file inside the
 *   real reports folder, so a link pointing out of it is refused;
 * - listings skip symbolic links and names outside the rules, so everything
 *   listed can be chosen.
 */
import type { Dirent } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { EmbedkitError } from "../errors.js";

/** Limits of paths and listings of the reports folder. */
export const REPORTS_FOLDER_LIMITS = Object.freeze({
  /** Most folders above a listed or chosen file. */
  maxDepth: 3,
  /** Longest path accepted (characters). */
  maxPathChars: 300,
});

/** One part of a path: a file or folder name (no `..`, no `%`, no separators). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,127}$/;

/** Whether `name` is a file or folder name the dashboard lists and accepts. */
export function isListedName(name: string): boolean {
  return NAME.test(name) && !name.endsWith(" ") && !name.endsWith(".");
}

/** A file of the reports folder, as listed. */
export interface ReportsFolderFile {
  /** Path relative to the folder, `/`-separated. */
  readonly path: string;
  readonly bytes: number;
  readonly modifiedAt: string;
}

/**
 * Check a relative path named by a request and resolve it inside `root`.
 *
 * @param what - what the file is, for messages ("report", "posts file")
 * @param param - the request field that named it (`details.param`)
 * @param maxDepth - most folders above the file
 * @returns the real path of the file (symbolic links resolved)
 * @throws EmbedkitError INVALID_INPUT for a malformed path (traversal, absolute, encoded) and for a
 *   folder; FILE_NOT_FOUND when no such file is inside the folder (missing, or a link leading out)
 */
export async function resolveInReportsFolder(
  root: string,
  path: string,
  what: string,
  param: string,
  maxDepth: number = REPORTS_FOLDER_LIMITS.maxDepth,
): Promise<string> {
  const parts = path.split("/");
  if (
    path.length > REPORTS_FOLDER_LIMITS.maxPathChars ||
    parts.length > maxDepth + 1 ||
    !parts.every(isListedName)
  ) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Invalid '${param}' ${JSON.stringify(path.slice(0, 100))}: name a ${what} by its path in the reports folder as listed ` +
        `(e.g. run-1/name.csv) — folders and names of letters, digits, '.', '_', '-' and spaces, ` +
        `at most ${maxDepth} folder${maxDepth === 1 ? "" : "s"} deep; no '..', absolute paths, backslashes or encoded characters.`,
      { details: { param } },
    );
  }
  const notFound = new EmbedkitError(
    "FILE_NOT_FOUND",
    `No ${what} ${JSON.stringify(path)} in the reports folder.`,
    {
      details: { param },
    },
  );
  let real: string;
  let realRoot: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(join(realRoot, ...parts));
  } catch {
    throw notFound;
  }
  const inside = relative(realRoot, real);
  if (inside === "" || inside === ".." || inside.startsWith(`..${sep}`) || inside.startsWith(sep)) {
    throw notFound;
  }
  const info = await stat(real).catch(() => undefined);
  if (info === undefined) throw notFound;
  if (!info.isFile()) {
    throw new EmbedkitError("INVALID_INPUT", `${path} is a folder, not a ${what}.`, { details: { param } });
  }
  return real;
}

/**
 * The files of `root` and its sub-folders (up to `maxDepth` deep) whose names `accept`, in path
 * order, at most `max`. Symbolic links and names outside the rules are skipped.
 */
export async function listReportsFolder(
  root: string,
  accept: (name: string) => boolean,
  max: number,
  maxDepth: number = REPORTS_FOLDER_LIMITS.maxDepth,
): Promise<ReportsFolderFile[]> {
  const out: ReportsFolderFile[] = [];
  const visit = async (folder: string, prefix: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (out.length >= max) return;
      if (!isListedName(entry.name)) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (depth < maxDepth) await visit(path, `${prefix}${entry.name}/`, depth + 1);
      } else if (entry.isFile() && accept(entry.name)) {
        const info = await stat(path).catch(() => undefined);
        if (info === undefined) continue;
        out.push({ path: `${prefix}${entry.name}`, bytes: info.size, modifiedAt: info.mtime.toISOString() });
      }
    }
  };
  await visit(root, "", 0);
  return out;
}
