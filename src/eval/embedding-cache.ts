/**
 * @module eval/embedding-cache
 * An on-disk cache of embeddings per (model id, input type, text), so comparing
 * models or re-running an evaluation only embeds what is new. Layout:
 * `<dir>/<model id>/<input type>-<dims>/<xx>.bin`, where `xx` is the first byte
 * (hex) of the text's SHA-256, and each `.bin` shard is a flat list of records
 * `[32-byte SHA-256 of the text][dims × float32 little-endian]`.
 *
 * Writes are atomic (write a temporary file, then rename), so a crash never
 * leaves a half-written shard. A shard whose length is not a whole number of
 * records, or that holds a non-finite value, is treated as corrupt: it is
 * ignored (every text in it counts as a miss) and rewritten with fresh entries
 * on the next store. Two processes storing into the same shard at once can lose
 * each other's new entries (last rename wins), never corrupt the file.
 * {@link embedTexts} is the one function task runners call: it deduplicates,
 * serves hits from the cache, embeds the misses in batches and stores them.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Embedder, InputType } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-write.js";
import { checkInteger } from "../internal/options.js";

const HASH_BYTES = 32;

/** Where the cache lives by default: `$EMBEDKIT_HOME/eval-cache` (or `~/.cache/embedkit/eval-cache`). */
export function defaultEvalCacheDir(): string {
  return join(process.env.EMBEDKIT_HOME ?? join(homedir(), ".cache", "embedkit"), "eval-cache");
}

/** A cache of text embeddings for one model and input type. */
export interface EmbeddingCache {
  /** Cached vectors for the texts found (by index into `texts`). */
  lookup(texts: readonly string[]): Promise<Map<number, Float32Array>>;
  /** Store vectors for texts (same order). */
  store(texts: readonly string[], vectors: readonly Float32Array[]): Promise<void>;
}

/** Options of {@link openEmbeddingCache}. */
export interface OpenEmbeddingCacheOptions {
  /** Cache root. @default defaultEvalCacheDir() */
  readonly dir?: string;
  /** Model id (part of the key: different models never share entries). */
  readonly modelId: string;
  /** Input type the texts were embedded with (prefixes change vectors). */
  readonly inputType: InputType;
  /** Vector length; entries of another length are never returned. */
  readonly dims: number;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Keep a model id usable as one folder name on every file system. */
function safeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, (character) => `%${character.charCodeAt(0).toString(16)}`);
}

/**
 * Open (lazily; nothing is read until used) the cache of one model and input type.
 *
 * @example
 * ```ts
 * const cache = openEmbeddingCache({ modelId: embedder.model.id, inputType: "none", dims: embedder.model.dims });
 * ```
 */
export function openEmbeddingCache(options: OpenEmbeddingCacheOptions): EmbeddingCache {
  const folder = join(
    options.dir ?? defaultEvalCacheDir(),
    safeSegment(options.modelId),
    `${options.inputType}-${options.dims}`,
  );
  const recordBytes = HASH_BYTES + 4 * options.dims;

  /** Read one shard into hash(hex) → vector; corrupt or missing shards read as empty. */
  const readShard = async (shard: string): Promise<Map<string, Float32Array>> => {
    const entries = new Map<string, Float32Array>();
    let bytes: Buffer;
    try {
      bytes = await readFile(join(folder, `${shard}.bin`));
    } catch {
      return entries;
    }
    if (bytes.length % recordBytes !== 0) return entries;
    for (let offset = 0; offset < bytes.length; offset += recordBytes) {
      const key = bytes.subarray(offset, offset + HASH_BYTES).toString("hex");
      const vector = new Float32Array(options.dims);
      for (let d = 0; d < options.dims; d++) vector[d] = bytes.readFloatLE(offset + HASH_BYTES + 4 * d);
      if (!vector.every(Number.isFinite)) return new Map();
      entries.set(key, vector);
    }
    return entries;
  };

  const group = (texts: readonly string[]): Map<string, { index: number; key: string }[]> => {
    const shards = new Map<string, { index: number; key: string }[]>();
    texts.forEach((text, index) => {
      const key = sha256(text).toString("hex");
      const shard = key.slice(0, 2);
      let list = shards.get(shard);
      if (list === undefined) {
        list = [];
        shards.set(shard, list);
      }
      list.push({ index, key });
    });
    return shards;
  };

  return {
    async lookup(texts) {
      const found = new Map<number, Float32Array>();
      for (const [shard, items] of group(texts)) {
        const entries = await readShard(shard);
        for (const { index, key } of items) {
          const vector = entries.get(key);
          if (vector !== undefined) found.set(index, vector);
        }
      }
      return found;
    },
    async store(texts, vectors) {
      if (texts.length !== vectors.length) {
        throw new EmbedkitError(
          "INTERNAL",
          `Embedding cache store needs one vector per text, received ${texts.length} texts and ${vectors.length} vectors.`,
        );
      }
      await mkdir(folder, { recursive: true });
      for (const [shard, items] of group(texts)) {
        const entries = await readShard(shard);
        for (const { index, key } of items) {
          const vector = vectors[index] as Float32Array;
          if (vector.length !== options.dims) {
            throw new EmbedkitError(
              "DIMENSION_MISMATCH",
              `Cannot cache a ${vector.length}-dimensional vector in a ${options.dims}-dimensional cache (${folder}).`,
              { details: { expected: options.dims, received: vector.length } },
            );
          }
          entries.set(key, vector);
        }
        const bytes = Buffer.alloc(entries.size * recordBytes);
        let offset = 0;
        for (const [key, vector] of entries) {
          Buffer.from(key, "hex").copy(bytes, offset);
          for (let d = 0; d < options.dims; d++)
            bytes.writeFloatLE(vector[d] as number, offset + HASH_BYTES + 4 * d);
          offset += recordBytes;
        }
        const path = join(folder, `${shard}.bin`);
        // A cache: a shard lost to a power cut is recomputed (a short one reads as empty).
        await writeFileAtomic(path, bytes, {
          durable: false,
          hint: "Check that EMBEDKIT_HOME (or the cache directory) is writable, or disable the cache.",
        });
      }
    },
  };
}

/** Progress of {@link embedTexts}, in distinct texts. */
export interface EmbedTextsProgress {
  readonly done: number;
  readonly total: number;
}

/** Options of {@link embedTexts}. */
export interface EmbedTextsOptions {
  readonly embedder: Embedder;
  readonly texts: readonly string[];
  /** @default "none" */
  readonly inputType?: InputType;
  /** Cache to use; `false` disables caching. @default a cache under {@link defaultEvalCacheDir} */
  readonly cache?: EmbeddingCache | false;
  /** Texts per embed call. @default 256 */
  readonly batchSize?: number;
  readonly onProgress?: (progress: EmbedTextsProgress) => void;
  readonly signal?: AbortSignal;
}

/** Result of {@link embedTexts}. */
export interface EmbedTextsResult {
  /** One vector per input text, in input order (duplicates share a vector). */
  readonly vectors: Float32Array[];
  /** Distinct texts served from the cache. */
  readonly cached: number;
  /** Distinct texts embedded now. */
  readonly embedded: number;
  /** Seconds spent embedding the misses (0 when everything was cached). */
  readonly embedSeconds: number;
}

/**
 * Embed texts with deduplication and the on-disk cache: hits come from the
 * cache, misses are embedded in batches (progress reported) and stored.
 *
 * @throws EmbedkitError any error of `embedder.embed`; INVALID_OPTION for a bad
 *   batchSize or an unwritable cache.
 */
export async function embedTexts(options: EmbedTextsOptions): Promise<EmbedTextsResult> {
  const { embedder, texts } = options;
  const inputType = options.inputType ?? "none";
  const batchSize = options.batchSize ?? 256;
  checkInteger("batchSize", batchSize, { min: 1 });
  const slotOf = new Map<string, number>();
  const distinct: string[] = [];
  const slots = texts.map((text) => {
    let slot = slotOf.get(text);
    if (slot === undefined) {
      slot = distinct.length;
      slotOf.set(text, slot);
      distinct.push(text);
    }
    return slot;
  });
  const cache =
    options.cache === false
      ? undefined
      : (options.cache ??
        openEmbeddingCache({ modelId: embedder.model.id, inputType, dims: embedder.model.dims }));
  const vectors: (Float32Array | undefined)[] = new Array(distinct.length);
  const hits = cache === undefined ? new Map<number, Float32Array>() : await cache.lookup(distinct);
  for (const [index, vector] of hits) vectors[index] = vector;
  const missing = distinct.map((_, index) => index).filter((index) => vectors[index] === undefined);
  let done = hits.size;
  options.onProgress?.({ done, total: distinct.length });
  let embedSeconds = 0;
  for (let start = 0; start < missing.length; start += batchSize) {
    if (options.signal?.aborted) {
      throw new EmbedkitError("INVALID_INPUT", "Embedding was cancelled by the caller's AbortSignal.", {
        cause: options.signal.reason,
      });
    }
    const indices = missing.slice(start, start + batchSize);
    const batch = indices.map((index) => distinct[index] as string);
    const started = performance.now();
    const result = await embedder.embed(batch, { inputType });
    embedSeconds += (performance.now() - started) / 1000;
    indices.forEach((index, offset) => {
      vectors[index] = result.vectors[offset] as Float32Array;
    });
    await cache?.store(batch, result.vectors);
    done += batch.length;
    options.onProgress?.({ done, total: distinct.length });
  }
  return {
    vectors: slots.map((slot) => vectors[slot] as Float32Array),
    cached: hits.size,
    embedded: missing.length,
    embedSeconds,
  };
}

/** An {@link Embedder} served through the embedding cache, with counts of what it embedded. */
export interface CachingEmbedder extends Embedder {
  /** Texts embedded now vs served from the cache so far, and the speed of the embedded ones. */
  stats(): { readonly embedded: number; readonly cached: number; readonly textsPerSecond: number | null };
}

/**
 * Wrap an embedder so plain float32 calls (no `dimensions`, default precision)
 * are served through the on-disk cache; any other call goes straight to the
 * wrapped embedder. Lets runners written against `Embedder` (such as
 * {@link evaluateSts}) benefit from the cache unchanged. Closing the wrapper
 * does not close the wrapped embedder. {@link CachingEmbedder.stats} tells how
 * many texts were embedded now (not served from the cache) and how long that took,
 * so callers can report an honest speed.
 */
export function createCachingEmbedder(
  embedder: Embedder,
  options: { readonly dir?: string } = {},
): CachingEmbedder {
  const caches = new Map<InputType, EmbeddingCache>();
  let embedded = 0;
  let cached = 0;
  let embedSeconds = 0;
  const cacheFor = (inputType: InputType): EmbeddingCache => {
    let cache = caches.get(inputType);
    if (cache === undefined) {
      cache = openEmbeddingCache({
        modelId: embedder.model.id,
        inputType,
        dims: embedder.model.dims,
        ...(options.dir === undefined ? {} : { dir: options.dir }),
      });
      caches.set(inputType, cache);
    }
    return cache;
  };
  const cachingEmbed = async (
    inputs: readonly string[],
    embedOptions?: Parameters<Embedder["embed"]>[1],
  ): Promise<Awaited<ReturnType<Embedder["embed"]>>> => {
    if (
      embedOptions?.dimensions !== undefined ||
      (embedOptions?.precision !== undefined && embedOptions.precision !== "float32") ||
      embedOptions?.truncate === false
    ) {
      return embedder.embed(inputs, embedOptions);
    }
    const inputType = embedOptions?.inputType ?? "none";
    const result = await embedTexts({
      embedder,
      texts: inputs,
      inputType,
      cache: cacheFor(inputType),
      ...(embedOptions?.signal === undefined ? {} : { signal: embedOptions.signal }),
      ...(embedOptions?.onProgress === undefined
        ? {}
        : {
            onProgress: (progress: EmbedTextsProgress) =>
              embedOptions.onProgress?.(progress.done, progress.total),
          }),
    });
    embedded += result.embedded;
    cached += result.cached;
    embedSeconds += result.embedSeconds;
    // Token usage is not known for cached texts; report 0 rather than a guess.
    return {
      vectors: result.vectors,
      dims: embedder.model.dims,
      precision: "float32",
      usage: { tokens: 0 },
    };
  };
  return {
    model: embedder.model,
    embed: cachingEmbed as Embedder["embed"],
    countTokens: (inputs) => embedder.countTokens(inputs),
    close: async () => {},
    stats: () => ({
      embedded,
      cached,
      textsPerSecond: embedded === 0 || embedSeconds === 0 ? null : embedded / embedSeconds,
    }),
  };
}
