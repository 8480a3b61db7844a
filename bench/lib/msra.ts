/**
 * @module bench/lib/msra
 * The MSRA splits every zh NER bench script uses: parts 1–4 in order; the last
 * 1,258 sentences (the last 10 % of part 4) are the validation slice; the
 * other 49,400 (the pool) are shuffled with seed 42 — the order the
 * word-vector cache is filled in (512 sentences a file), so any prefix of it
 * that starts on a multiple of 512 is found in the cache.
 */
import { join } from "node:path";
import {
  concatCorpora,
  readTaggedFile,
  selectSentences,
  splitCorpus,
  type TaggedCorpus,
} from "../../src/ner/readers.js";
import { createRandom } from "../../src/vectors/random.js";

/** Sentences held out at the end of part 4. */
export const MSRA_VALIDATION = 1258;
/** Seed of the pool's shuffle. */
export const MSRA_SEED = 42;

/** The validation slice, the pool, and sentences `[from, to)` of the shuffled pool. */
export interface MsraSplits {
  readonly validation: TaggedCorpus;
  readonly pool: TaggedCorpus;
  readonly shuffled: (from: number, to: number) => TaggedCorpus;
}

/** Read MSRA from `<dataDir>/msra-ner/` and split it. */
export async function loadMsra(dataDir: string): Promise<MsraSplits> {
  const parts = [];
  for (let part = 1; part <= 4; part++) {
    parts.push(await readTaggedFile(join(dataDir, `msra-ner/train.part${part}of4.bio`), { format: "bio" }));
  }
  const split = splitCorpus(concatCorpora(parts), { validationLast: MSRA_VALIDATION });
  const pool = split.train;
  const order = createRandom(MSRA_SEED).shuffle(pool.sentences.map((_, index) => index));
  return {
    validation: split.validation as TaggedCorpus,
    pool,
    shuffled: (from, to) =>
      selectSentences(
        pool,
        order.slice(from, to).map((index) => pool.sentences[index] as (typeof pool.sentences)[number]),
      ),
  };
}
