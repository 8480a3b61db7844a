/**
 * @module bench/lib/data
 * Where a benchmark reads its data: the `--data` flag when given, otherwise a path
 * inside the data folder named by `EMBEDKIT_DATA` (bench/README.md lists the sets
 * each script reads). Neither given is an error that says what to set.
 */
import { join, resolve } from "node:path";
import { EmbedkitError } from "../../src/errors.js";
import { DATA_DIR_ENV } from "../../src/eval/data-dir.js";

/**
 * `flag` (resolved) when given, else `$EMBEDKIT_DATA/inside`.
 *
 * @param flag - the script's `--data` value, if any
 * @param inside - the default path inside the data folder ("" for the folder itself)
 * @param flagName - the flag's name, for the error message
 * @throws EmbedkitError INVALID_OPTION when neither `--data` nor `EMBEDKIT_DATA` is set
 */
export function benchDataPath(flag: string | undefined, inside = "", flagName = "--data"): string {
  if (flag !== undefined && flag.trim() !== "") return resolve(flag);
  const root = process.env[DATA_DIR_ENV]?.trim();
  if (!root) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `No data for this benchmark: set ${DATA_DIR_ENV}=/path/to/data (the folder holding ${inside === "" ? "the evaluation sets" : inside}) or pass ${flagName}.`,
    );
  }
  return resolve(join(root, inside));
}
