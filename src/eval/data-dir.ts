/**
 * @module eval/data-dir
 * Where the named evaluation sets live. The STS, task and FAQ benchmark tables
 * hold paths relative to one data folder; that folder comes from an explicit
 * option or the `EMBEDKIT_DATA` environment variable, never from a guess.
 */
import { EmbedkitError } from "../errors.js";

/** Environment variable naming the data folder of the named evaluation sets. */
export const DATA_DIR_ENV = "EMBEDKIT_DATA";

/**
 * The data folder of the named sets: `dataDir` when given, else `$EMBEDKIT_DATA`.
 *
 * @param dataDir - an explicit folder (option or CLI flag); wins over the environment
 * @param option - how the caller names the option in the error (e.g. `--data-dir`)
 * @throws EmbedkitError INVALID_OPTION when neither is set (or both are blank)
 * @example
 * ```ts
 * const dir = resolveDataDir(options.dataDir); // the folder EMBEDKIT_DATA names, unless dataDir is given
 * ```
 */
export function resolveDataDir(dataDir?: string, option = "dataDir"): string {
  const explicit = dataDir?.trim();
  if (explicit) return explicit;
  const fromEnvironment = process.env[DATA_DIR_ENV]?.trim();
  if (fromEnvironment) return fromEnvironment;
  throw new EmbedkitError(
    "INVALID_OPTION",
    `No data folder for the named evaluation sets: pass ${option} or set ${DATA_DIR_ENV}=/path/to/data ` +
      "(the folder holding the set folders, e.g. stsb/, banking77/, conll2003-en/).",
    { details: { option, env: DATA_DIR_ENV } },
  );
}
