/**
 * @module test/helpers/data
 * The shared evaluation data (CoNLL-2003, MSRA NER, the ImageNet sample photos, ...)
 * is too big or not licensed for the repository; tests that need it read the folder
 * from `EMBEDKIT_DATA` (`.ci/run` sets it). A missing variable or file fails the
 * test with a message saying what to set: these suites never skip.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * Absolute path of `relativePath` inside the shared data folder (`$EMBEDKIT_DATA`).
 *
 * @throws Error when `EMBEDKIT_DATA` is unset or the path does not exist there
 */
export function sharedData(relativePath: string): string {
  const root = process.env.EMBEDKIT_DATA?.trim();
  if (!root) {
    throw new Error(
      `This test reads the shared data file ${relativePath}: set EMBEDKIT_DATA to the shared data folder ` +
        "(the one holding conll2003-en/, msra-ner/, imagenet-sample-images/, ...), e.g. " +
        "EMBEDKIT_DATA=/path/to/shared/data npm test. .ci/run sets it to the shared/data folder next to the checkout.",
    );
  }
  const path = resolve(join(root, relativePath));
  if (!existsSync(path)) {
    throw new Error(`EMBEDKIT_DATA=${root} has no ${relativePath} (looked for ${path}).`);
  }
  return path;
}
