/**
 * @module scripts/lib/fixture-folder
 * What the tiny-model fixture scripts (make-tiny-clip.ts, make-tiny-wav2vec2.ts)
 * share: writing a model folder file by file atomically (temp file + rename), and
 * reading `<folder> [--name number ...]` from their command line.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Write `[relative path, body]` pairs under `folder`; each file appears whole or not at all. */
export async function writeFixtureFiles(
  folder: string,
  files: readonly (readonly [string, Uint8Array | string])[],
): Promise<void> {
  for (const [name, body] of files) {
    const target = join(folder, name);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(`${target}.tmp`, body);
    await rename(`${target}.tmp`, target);
  }
}

/**
 * Parse `<folder> [--name <number>]...` from `process.argv`; prints `usage` and
 * exits 1 when the folder is missing. Unset options are absent from `numbers`.
 */
export function fixtureArguments(
  usage: string,
  names: readonly string[],
): { folder: string; numbers: Record<string, number> } {
  const args = process.argv.slice(2);
  const folder = args.find((arg, index) => !arg.startsWith("--") && !args[index - 1]?.startsWith("--"));
  if (folder === undefined) {
    console.error(`usage: ${usage}`);
    process.exit(1);
  }
  const numbers: Record<string, number> = {};
  for (const name of names) {
    const index = args.indexOf(`--${name}`);
    if (index >= 0) numbers[name] = Number(args[index + 1]);
  }
  return { folder, numbers };
}
