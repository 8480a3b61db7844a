/**
 * @module eval/random
 * The seeded generator moved down to `vectors/random` so that `train` (below
 * `eval`) can share it; this file keeps the old import path working.
 */
export type { Random } from "../vectors/random.js";
export { createRandom } from "../vectors/random.js";
