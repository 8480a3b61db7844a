/**
 * @module ner/word-vector-cache
 * Word-level encoder vectors for a whole labelled corpus, cached on disk so a
 * second training run (other epochs, head, learning rate) skips the encoder,
 * which is by far the slowest step. The corpus is cut into chunks of
 * sentences; each chunk is stored as one file of float16 values named by the
 * SHA-256 of (cache format, model id, pooling, the chunk's words), so an
 * interrupted run resumes where it stopped and a changed corpus only embeds
 * the chunks that changed. Layout: `<dir>/<model id>/<sha256>.f16`, raw
 * little-endian IEEE binary16, `words × dims` values. A file of the wrong size
 * is ignored and rewritten; files are written to a temporary name and renamed.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { OnnxEmbedder, WordLevelOptions } from "../embed/onnx/onnx-embedder.js";
import { EmbedkitError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-write.js";
import { fromFloat16, toFloat16 } from "../vectors/float16.js";

/** Version of the cache layout (part of every key). */
const CACHE_FORMAT = "ner-words-f16-v1";

/** Where the cache lives by default: `$EMBEDKIT_HOME/ner-cache` (or `~/.cache/embedkit/ner-cache`). */
export function defaultNerCacheDir(): string {
  return join(process.env.EMBEDKIT_HOME ?? join(homedir(), ".cache", "embedkit"), "ner-cache");
}

/** Word vectors of a corpus, stored as float16 in one buffer. */
export interface WordVectorCorpus {
  /** Vector length (the encoder's hidden size). */
  readonly dims: number;
  /** Row of each sentence's first word; `sentenceStarts[n]` = total words. */
  readonly sentenceStarts: Int32Array;
  /** All words' vectors, row-major, binary16 bit patterns. */
  readonly data: Uint16Array;
  /** Decode row `index` into `out` (or a new array). */
  row(index: number, out?: Float32Array): Float32Array;
}

/** Options of {@link embedCorpusWords}. */
export interface EmbedCorpusWordsOptions {
  /** Cache folder; `false` disables the cache. @default defaultNerCacheDir() */
  readonly cacheDir?: string | false;
  /** Word vector from the first piece or the mean of the pieces. @default "first" */
  readonly pooling?: WordLevelOptions["pooling"];
  /** Sentences per cache file (and per encoder call). @default 512 */
  readonly chunkSentences?: number;
  /** Called with sentences done (from cache or encoder) and the total. */
  readonly onProgress?: (done: number, total: number, fromCache: number) => void;
}

function safeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, (character) => `%${character.charCodeAt(0).toString(16)}`);
}

/**
 * Word vectors for every word of every sentence, from the on-disk cache where
 * present, else from the encoder (then stored).
 *
 * @throws EmbedkitError from the encoder (INVALID_INPUT for an empty sentence or word)
 * @example
 * ```ts
 * const corpus = await embedCorpusWords(encoder, train.sentences.map((s) => s.words));
 * const firstWord = corpus.row(0);
 * ```
 */
export async function embedCorpusWords(
  embedder: OnnxEmbedder,
  sentences: ReadonlyArray<readonly string[]>,
  options: EmbedCorpusWordsOptions = {},
): Promise<WordVectorCorpus> {
  const dims = embedder.model.dims;
  const pooling = options.pooling ?? "first";
  const chunkSize = options.chunkSentences ?? 512;
  const cacheDir = options.cacheDir === false ? undefined : (options.cacheDir ?? defaultNerCacheDir());
  const modelDir = cacheDir === undefined ? undefined : join(cacheDir, safeSegment(embedder.model.id));
  if (modelDir !== undefined) await mkdir(modelDir, { recursive: true });
  const sentenceStarts = new Int32Array(sentences.length + 1);
  sentences.forEach((words, index) => {
    sentenceStarts[index + 1] = (sentenceStarts[index] as number) + words.length;
  });
  const data = new Uint16Array((sentenceStarts[sentences.length] as number) * dims);
  let done = 0;
  let fromCache = 0;
  for (let first = 0; first < sentences.length; first += chunkSize) {
    const chunk = sentences.slice(first, first + chunkSize);
    const offset = (sentenceStarts[first] as number) * dims;
    const length =
      ((sentenceStarts[first + chunk.length] as number) - (sentenceStarts[first] as number)) * dims;
    const key = createHash("sha256")
      .update(JSON.stringify([CACHE_FORMAT, embedder.model.id, pooling, chunk]))
      .digest("hex");
    const path = modelDir === undefined ? undefined : join(modelDir, `${key}.f16`);
    let cached: Uint16Array | undefined;
    if (path !== undefined) {
      try {
        const bytes = await readFile(path);
        if (bytes.length === length * 2) {
          cached = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
        }
      } catch {
        // Not cached yet.
      }
    }
    if (cached === undefined) {
      const embedded = await embedder.embedWords(chunk, { pooling });
      cached = new Uint16Array(length);
      let position = 0;
      for (const sentence of embedded) {
        cached.set(toFloat16(sentence.data), position);
        position += sentence.data.length;
      }
      if (path !== undefined) {
        try {
          await writeFileAtomic(path, new Uint8Array(cached.buffer, cached.byteOffset, cached.byteLength), {
            durable: false, // a file of the wrong length is ignored on read
          });
        } catch {
          // A cache that cannot be written only costs time on the next run.
        }
      }
    } else {
      fromCache += chunk.length;
    }
    data.set(cached, offset);
    done += chunk.length;
    options.onProgress?.(done, sentences.length, fromCache);
  }
  return wordVectorCorpus(dims, sentenceStarts, data);
}

function wordVectorCorpus(dims: number, sentenceStarts: Int32Array, data: Uint16Array): WordVectorCorpus {
  return {
    dims,
    sentenceStarts,
    data,
    row(index: number, out: Float32Array = new Float32Array(dims)): Float32Array {
      return fromFloat16(data.subarray(index * dims, (index + 1) * dims), out);
    },
  };
}

/**
 * The vectors of some sentences of a corpus, in the order given (a copy) — to
 * carve train/dev splits out of one cached encoder pass without re-encoding.
 *
 * @throws EmbedkitError INVALID_OPTION when an index is not a sentence of `corpus`
 * @example
 * ```ts
 * const all = await embedCorpusWords(encoder, pool.sentences.map((s) => s.words));
 * const dev = selectWordVectors(all, [0, 5, 9]);
 * ```
 */
export function selectWordVectors(corpus: WordVectorCorpus, sentences: readonly number[]): WordVectorCorpus {
  const count = corpus.sentenceStarts.length - 1;
  const starts = new Int32Array(sentences.length + 1);
  sentences.forEach((sentence, index) => {
    if (!Number.isInteger(sentence) || sentence < 0 || sentence >= count) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `Sentence index ${String(sentence)} is outside the word-vector corpus (${count} sentences).`,
      );
    }
    const words =
      (corpus.sentenceStarts[sentence + 1] as number) - (corpus.sentenceStarts[sentence] as number);
    starts[index + 1] = (starts[index] as number) + words;
  });
  const { dims } = corpus;
  const data = new Uint16Array((starts[sentences.length] as number) * dims);
  sentences.forEach((sentence, index) => {
    data.set(
      corpus.data.subarray(
        (corpus.sentenceStarts[sentence] as number) * dims,
        (corpus.sentenceStarts[sentence + 1] as number) * dims,
      ),
      (starts[index] as number) * dims,
    );
  });
  return wordVectorCorpus(dims, starts, data);
}
