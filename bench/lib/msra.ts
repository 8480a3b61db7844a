/**
 * @module bench/lib/msra
 * The MSRA splits every zh NER bench script uses: parts 1–4 in order; the last
 * 1,258 sentences (the last 10 % of part 4) are the validation slice; the
 * other 49,400 (the pool) are shuffled with seed 42 — the order the
 * word-vector cache is filled in (512 sentences a file), so any prefix of it
 * that starts on a multiple of 512 is found in the cache.
 */
import { join } from "node:path";
import type { OnnxEmbedder } from "../../src/embed/onnx/onnx-embedder.js";
import {
  concatCorpora,
  readTaggedFile,
  selectSentences,
  splitCorpus,
  type TaggedCorpus,
  type TaggedSentence,
} from "../../src/ner/readers.js";
import {
  embedCorpusWords,
  selectWordVectors,
  type WordVectorCorpus,
} from "../../src/ner/word-vector-cache.js";
import { createRandom } from "../../src/vectors/random.js";

/** Sentences held out at the end of part 4. */
export const MSRA_VALIDATION = 1258;
/** Seed of the pool's shuffle. */
export const MSRA_SEED = 42;

/** Pool sentences of the block dev split: the last ones of part 3 (contiguous, whole documents). */
export const MSRA_DEV_BLOCK = 2048;

/** The validation slice, the pool, and sentences `[from, to)` of the shuffled pool. */
export interface MsraSplits {
  readonly validation: TaggedCorpus;
  readonly pool: TaggedCorpus;
  readonly shuffled: (from: number, to: number) => TaggedCorpus;
  /** Pool index of each shuffled position. */
  readonly order: readonly number[];
  /** Pool index one past the last sentence of part 3 (where the block dev split ends). */
  readonly part3End: number;
}

/** Read MSRA from `<dataDir>/msra-ner/` and split it. */
export async function loadMsra(dataDir: string): Promise<MsraSplits> {
  const parts = [];
  for (let part = 1; part <= 4; part++) {
    parts.push(await readTaggedFile(join(dataDir, `msra-ner/train.part${part}of4.bio`), { format: "bio" }));
  }
  const split = splitCorpus(concatCorpora(parts), { validationLast: MSRA_VALIDATION });
  const part3End = parts.slice(0, 3).reduce((sum, part) => sum + part.sentences.length, 0);
  const pool = split.train;
  const order = createRandom(MSRA_SEED).shuffle(pool.sentences.map((_, index) => index));
  return {
    validation: split.validation as TaggedCorpus,
    pool,
    order,
    part3End,
    shuffled: (from, to) =>
      selectSentences(
        pool,
        order.slice(from, to).map((index) => pool.sentences[index] as (typeof pool.sentences)[number]),
      ),
  };
}

/** Train and dev corpora with their encoder vectors, for the block dev split. */
export interface MsraBlockSplit {
  readonly train: TaggedCorpus;
  readonly dev: TaggedCorpus;
  readonly vectors: { readonly train: WordVectorCorpus; readonly validation: WordVectorCorpus };
}

/**
 * The block dev split: dev = the last {@link MSRA_DEV_BLOCK} pool sentences of
 * part 3 (contiguous, so its documents — and most of their entities — are
 * never trained on, like the validation slice's), train = the first `size`
 * other pool sentences in shuffled order. Training vectors come from the
 * shuffled pool's prefix that holds them (the cache keeps it in chunks of 512
 * from position 0); the dev block is embedded on its own.
 */
export async function msraBlockSplit(
  splits: MsraSplits,
  encoder: OnnxEmbedder,
  size: number,
  onProgress?: (done: number, total: number) => void,
): Promise<MsraBlockSplit> {
  const { pool, order, part3End: blockEnd } = splits;
  const blockStart = blockEnd - MSRA_DEV_BLOCK;
  const positionOf = new Int32Array(order.length);
  order.forEach((index, position) => {
    positionOf[index] = position;
  });
  const devIndices = Array.from({ length: MSRA_DEV_BLOCK }, (_, i) => blockStart + i);
  const trainIndices = order.filter((index) => index < blockStart || index >= blockEnd).slice(0, size);
  // Only the shuffled prefix that holds the training sentences is embedded (whole
  // cache chunks of 512), and the dev block on its own: a small training size no
  // longer pays for the whole pool.
  const lastPosition = trainIndices.length === 0 ? -1 : (positionOf[trainIndices.at(-1) as number] as number);
  const prefix = Math.min(order.length, Math.ceil((lastPosition + 1) / 512) * 512);
  const words = (indices: readonly number[]) =>
    indices.map((index) => (pool.sentences[index] as TaggedSentence).words);
  const head = await embedCorpusWords(
    encoder,
    words(order.slice(0, prefix)),
    onProgress === undefined ? {} : { onProgress },
  );
  const dev = await embedCorpusWords(encoder, words(devIndices));
  const corpus = (indices: readonly number[]): TaggedCorpus =>
    selectSentences(
      pool,
      indices.map((index) => pool.sentences[index] as TaggedSentence),
    );
  const positions = (indices: readonly number[]): number[] =>
    indices.map((index) => positionOf[index] as number);
  return {
    train: corpus(trainIndices),
    dev: corpus(devIndices),
    vectors: {
      train: selectWordVectors(head, positions(trainIndices)),
      validation: dev,
    },
  };
}
