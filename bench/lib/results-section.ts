/**
 * @module bench/lib/results-section
 * Splice one "## Title" section into a Markdown report several benchmarks share
 * (by default {@link FULL_RESULTS}, the generated full report under bench/out/;
 * bench/RESULTS.md is the hand-kept summary and is not written by scripts): the
 * file is re-read right before writing, the named section is replaced up to the
 * next "## " heading (or appended when absent), and every other section is left
 * byte for byte as it was.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** The generated full report every benchmark splices its section into (git-ignored, like bench/out/). */
export const FULL_RESULTS = "bench/out/RESULTS.md";

/** Replace (or append) the section headed `title` in the Markdown file at `path`. */
export async function spliceSection(path: string, title: string, body: string): Promise<void> {
  let existing = "";
  try {
    existing = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    existing = "# Benchmark results\n";
  }
  const section = `${title}\n\n${body.trimEnd()}\n`;
  const start = existing.startsWith(`${title}\n`) ? 0 : existing.indexOf(`\n${title}\n`) + 1;
  let next: string;
  if (start <= 0 && !existing.startsWith(`${title}\n`)) {
    next = `${existing.trimEnd()}\n\n${section}`;
  } else {
    const end = existing.indexOf("\n## ", start + title.length);
    const after = end === -1 ? "" : existing.slice(end + 1);
    next = `${existing.slice(0, start)}${section}${after === "" ? "" : `\n${after}`}`;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, next);
}
