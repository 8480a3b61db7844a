/**
 * @module embed/onnx/onnx-embedder
 * The local text encoder: tokenizer.json + an ONNX BERT-family graph run with
 * onnxruntime-node. Inputs are validated up front, tokenized once, sorted by
 * length and packed into batches under a token budget (padding waste stays
 * small), run, pooled (masked mean or [CLS]) as the model requires, then
 * normalized, optionally truncated to fewer dimensions and quantized.
 * We call onnxruntime-node directly rather than through transformers.js
 * pipelines: fewer copies and full control of batching (measured in
 * bench/RESULTS.md).
 */
import { availableParallelism } from "node:os";
import type * as ort from "onnxruntime-node";
import { describeType, EmbedkitError } from "../../errors.js";
import { loadOnnxRuntime } from "../../internal/load-dependency.js";
import type { ModelSpec } from "../../models/model-spec.js";
import type { Embedder, ModelInfo } from "../embedder.js";
import { assertOpen, validateTexts } from "../inputs.js";
import { embedTexts, scheduleBatches, type TextProvider } from "../pipeline.js";
import { loadTextTokenizer, type TextTokenizer } from "./text-tokenizer.js";
import {
  pieceSpans,
  sentencePieces,
  splitWords,
  type TextSpan,
  type WindowSequence,
  windowSequences,
} from "./word-pieces.js";

/** Options of {@link createOnnxEmbedder}. */
export interface OnnxEmbedderOptions {
  /** The model's catalog (or ad-hoc) spec: dims, pooling, prefixes, maxTokens. */
  readonly spec: ModelSpec;
  /** Path of the ONNX graph (already verified by the model store). */
  readonly onnxPath: string;
  /** Path of tokenizer.json. */
  readonly tokenizerPath: string;
  /** Threads used inside one inference call. @default os.availableParallelism() */
  readonly threads?: number;
  /** Most inputs per inference call. @default 64 */
  readonly maxBatchSize?: number;
  /** Most padded tokens (batch size × longest sequence) per inference call. @default 8192 */
  readonly maxBatchTokens?: number;
}

/** An {@link Embedder} backed by a local ONNX session. */
export interface OnnxEmbedder extends Embedder {
  /**
   * Token-level hidden states of one text (the last hidden state per word
   * piece, like TEI's `/embed_all`), special tokens excluded, each piece with
   * its character span in `text`. Texts longer than the model's limit are
   * covered by overlapping windows (see {@link TokenLevelOptions.stride}), not
   * truncated.
   * @throws EmbedkitError INVALID_INPUT for an empty or non-string text, CLOSED
   */
  embedTokens(text: string, options?: TokenLevelOptions): Promise<TokenEmbeddings>;
  /**
   * One vector per word for pre-split sentences (e.g. CoNLL tokens or Chinese
   * characters): each word is encoded on its own, the pieces of a sentence are
   * run together (windows over long sentences) and each word takes its first
   * piece's vector, or the mean of its pieces.
   * @throws EmbedkitError INVALID_INPUT for an empty sentence or word, CLOSED
   */
  embedWords(
    sentences: ReadonlyArray<readonly string[]>,
    options?: WordLevelOptions,
  ): Promise<WordEmbeddings[]>;
  /**
   * Decode token ids of this model's tokenizer back into text (special tokens
   * skipped); the OpenAI-compatible server uses it for token-id input.
   * @throws EmbedkitError INVALID_INPUT on an id outside the vocabulary
   */
  decodeTokenIds(ids: readonly number[]): string;
}

/** Options of {@link OnnxEmbedder.embedTokens}. */
export interface TokenLevelOptions {
  /**
   * Word pieces between the starts of consecutive windows when a text exceeds
   * the model's limit. Smaller = more overlap (more context, more compute).
   * @default half the model's limit
   */
  readonly stride?: number;
}

/** Options of {@link OnnxEmbedder.embedWords}. */
export interface WordLevelOptions extends TokenLevelOptions {
  /** A word's vector: its first piece's (the usual choice for tagging) or the mean of its pieces. @default "first" */
  readonly pooling?: "first" | "mean";
  /** Called after each inference batch with sentences done so far. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Cancels between batches. */
  readonly signal?: AbortSignal;
}

/**
 * Per-piece vectors of one text (last hidden state), special tokens excluded.
 * Offsets are UTF-16 code units into the input string.
 */
export interface TokenEmbeddings {
  /** Word-piece ids, in text order. */
  readonly ids: readonly number[];
  /** Row-major `[ids.length × hiddenSize]`. */
  readonly data: Float32Array;
  readonly hiddenSize: number;
  /** `[start, end)` of each piece in the input (UTF-16 code units); a piece that cannot be placed exactly gets its word's span. */
  readonly offsets: ReadonlyArray<readonly [number, number]>;
  /** Index (into `words`) of the word each piece belongs to. */
  readonly wordIndex: readonly number[];
  /** The words the text was split into (see `splitWords`). */
  readonly words: readonly TextSpan[];
}

/** One vector per word of a pre-split sentence. */
export interface WordEmbeddings {
  /** Row-major `[words × hiddenSize]`. */
  readonly data: Float32Array;
  readonly hiddenSize: number;
  /** Word pieces per word (a word the tokenizer drops entirely counts as one [UNK]). */
  readonly pieceCounts: readonly number[];
}

/** Rows a batch reaches before padding alone may end it. */
const MIN_ROWS_BEFORE_PADDING_CUT = 8;
/** Largest padded/real token ratio accepted once a batch has enough rows. */
const MAX_PADDING_RATIO = 1.15;

interface Batch {
  readonly indices: number[];
  readonly length: number;
}

/**
 * Group inputs (by index) into batches: sorted longest first, each batch under
 * `maxBatchSize` inputs and `maxBatchTokens` padded tokens.
 */
export function planBatches(
  lengths: readonly number[],
  maxBatchSize: number,
  maxBatchTokens: number,
): Batch[] {
  const order = lengths
    .map((_, i) => i)
    .sort((a, b) => (lengths[b] as number) - (lengths[a] as number) || a - b);
  const batches: Batch[] = [];
  let current: number[] = [];
  let longest = 0;
  let real = 0;
  for (const index of order) {
    const length = lengths[index] as number;
    const nextLongest = Math.max(longest, length);
    const rows = current.length;
    // Cut a batch that is full, over the token budget, or (once it has enough rows
    // to keep the runtime busy) about to carry more than 15 % padding: padded tokens
    // cost as much as real ones, and throughput is flat above ~8 rows per call.
    const tooPadded =
      rows >= MIN_ROWS_BEFORE_PADDING_CUT && nextLongest * (rows + 1) > MAX_PADDING_RATIO * (real + length);
    if (rows > 0 && (rows >= maxBatchSize || nextLongest * (rows + 1) > maxBatchTokens || tooPadded)) {
      batches.push({ indices: current, length: longest });
      current = [];
      longest = 0;
      real = 0;
    }
    current.push(index);
    longest = Math.max(longest, length);
    real += length;
  }
  if (current.length > 0) batches.push({ indices: current, length: longest });
  return batches;
}

/**
 * The int64 inputs of one padded batch for a BERT-style graph: `input_ids`
 * (each row's ids, then 0 up to `length`), `attention_mask` (1 on real
 * tokens) and, when `withTokenTypes`, all-zero `token_type_ids`; shape
 * `[sequences.length, length]`. Shared by the embedder and the benchmarks
 * that time `session.run` on the very batches the embedder builds.
 */
export function paddedFeeds(
  runtime: Pick<typeof ort, "Tensor">,
  sequences: readonly (readonly number[])[],
  length: number,
  withTokenTypes: boolean,
): Record<string, ort.Tensor> {
  const size = sequences.length * length;
  const ids = new BigInt64Array(size);
  const mask = new BigInt64Array(size);
  sequences.forEach((sequence, row) => {
    for (let t = 0; t < sequence.length; t++) {
      ids[row * length + t] = BigInt(sequence[t] as number);
      mask[row * length + t] = 1n;
    }
  });
  const dims = [sequences.length, length];
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new runtime.Tensor("int64", ids, dims),
    attention_mask: new runtime.Tensor("int64", mask, dims),
  };
  if (withTokenTypes) feeds.token_type_ids = new runtime.Tensor("int64", new BigInt64Array(size), dims);
  return feeds;
}

/** Length of the longest sequence (the padded length of its batch). */
/**
 * Run an onnxruntime session; a runtime failure becomes `INFERENCE_FAILED` naming the model.
 *
 * @throws EmbedkitError INFERENCE_FAILED
 */
export async function runSession(
  session: ort.InferenceSession,
  feeds: ort.InferenceSession.FeedsType,
  modelId: string,
): Promise<ort.InferenceSession.OnnxValueMapType> {
  try {
    return await session.run(feeds);
  } catch (cause) {
    throw new EmbedkitError(
      "INFERENCE_FAILED",
      `onnxruntime failed on ${modelId}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

/** The {@link ModelInfo} an ONNX text embedder reports: the catalog spec's facts plus its batch size. */
export function modelInfoOf(spec: ModelSpec, maxBatchSize: number): ModelInfo {
  return Object.freeze({
    id: spec.id,
    dims: spec.dims,
    modality: spec.modality,
    maxTokens: spec.maxTokens,
    pooling: spec.pooling,
    normalize: spec.normalize,
    prefixes: spec.prefixes,
    maxBatchSize,
  });
}

function longest(sequences: readonly (readonly number[])[]): number {
  let length = 0;
  for (const sequence of sequences) length = Math.max(length, sequence.length);
  return length;
}

function checkPositive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${name} must be a positive integer, received ${String(value)}.`,
    );
  }
  return value;
}

/** Check pre-split sentences: arrays of non-empty strings, none empty. */
function validateSentences(sentences: unknown): asserts sentences is ReadonlyArray<readonly string[]> {
  if (!Array.isArray(sentences)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `sentences must be an array of word arrays, received ${describeType(sentences)}.`,
    );
  }
  sentences.forEach((words: unknown, sentence) => {
    if (!Array.isArray(words) || words.length === 0) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Sentence ${sentence} must be a non-empty array of words, received ${Array.isArray(words) ? "an empty array" : describeType(words)}.`,
        { details: { sentence } },
      );
    }
    words.forEach((word: unknown, index) => {
      if (typeof word !== "string" || word.length === 0) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `Word ${index} of sentence ${sentence} must be a non-empty string, received ${typeof word === "string" ? "an empty string" : describeType(word)}.`,
          { details: { sentence, word: index } },
        );
      }
    });
  });
}

/**
 * Load a local ONNX text encoder.
 * @throws EmbedkitError CORRUPT_MODEL when the graph or tokenizer cannot be loaded
 * @example
 * ```ts
 * const embedder = await createOnnxEmbedder({ spec, onnxPath, tokenizerPath });
 * const { vectors } = await embedder.embed(["hello world"]);
 * ```
 */
export async function createOnnxEmbedder(options: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
  const { spec } = options;
  const threads = checkPositive("threads", options.threads ?? availableParallelism());
  const maxBatchSize = checkPositive("maxBatchSize", options.maxBatchSize ?? 64);
  const maxBatchTokens = checkPositive("maxBatchTokens", options.maxBatchTokens ?? 8192);
  const tokenizer: TextTokenizer = await loadTextTokenizer(options.tokenizerPath, spec.maxTokens);
  const ort = await loadOnnxRuntime();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(options.onnxPath, {
      graphOptimizationLevel: "all",
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
    });
  } catch (error) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `onnxruntime cannot load ${options.onnxPath}: ${(error as Error).message}. ` +
        `Re-pull the model (\`embedkit models rm ${spec.id}\` then \`embedkit models pull ${spec.id}\`).`,
      { cause: error },
    );
  }
  const inputNames = new Set(session.inputNames);
  for (const required of ["input_ids", "attention_mask"]) {
    if (!inputNames.has(required)) {
      await session.release();
      throw new EmbedkitError(
        "CORRUPT_MODEL",
        `${options.onnxPath} is not a BERT-style text encoder: it lacks the "${required}" input ` +
          `(inputs: ${session.inputNames.join(", ")}).`,
      );
    }
  }
  const outputName = session.outputNames.includes("last_hidden_state")
    ? "last_hidden_state"
    : (session.outputNames[0] as string);
  const needsTokenTypes = inputNames.has("token_type_ids");
  let closed = false;

  const model = modelInfoOf(spec, maxBatchSize);

  /** Run one padded batch; returns the hidden states and their shape. */
  async function run(sequences: readonly (readonly number[])[], length: number): Promise<ort.Tensor> {
    const output = await runSession(session, paddedFeeds(ort, sequences, length, needsTokenTypes), spec.id);
    const hidden = output[outputName] as ort.Tensor | undefined;
    if (hidden === undefined || hidden.dims.length !== 3 || hidden.dims[2] !== spec.dims) {
      throw new EmbedkitError(
        "CORRUPT_MODEL",
        `${spec.id}: expected output "${outputName}" of shape [batch, tokens, ${spec.dims}], ` +
          `received ${hidden === undefined ? "nothing" : `[${hidden.dims.join(", ")}]`}.`,
      );
    }
    return hidden;
  }

  function pool(hidden: Float32Array, row: number, tokens: number, length: number): Float32Array {
    const width = spec.dims;
    const base = row * length * width;
    if (spec.pooling === "cls") return hidden.slice(base, base + width);
    // Masked mean: only the row's real tokens (padding sits after them).
    const out = new Float32Array(width);
    for (let t = 0; t < tokens; t++) {
      const offset = base + t * width;
      for (let j = 0; j < width; j++) out[j] = (out[j] as number) + (hidden[offset + j] as number);
    }
    for (let j = 0; j < width; j++) out[j] = (out[j] as number) / tokens;
    return out;
  }

  /**
   * Run every sentence (as windows of whole words under the model's limit)
   * through the encoder in padding-aware batches, and hand each word's rows to
   * `visit`: `row` is the word's first piece row in `hidden` (one row per
   * window position, special tokens included), `count` its pieces in that window.
   */
  async function runWindows(
    sentences: readonly (readonly (readonly number[])[])[],
    options: WordLevelOptions,
    visit: (sentence: number, word: number, hidden: Float32Array, row: number, count: number) => void,
  ): Promise<void> {
    const { leading, trailing } = tokenizer.special;
    const maxPieces = spec.maxTokens - leading.length - trailing.length;
    const stride = options.stride ?? Math.max(1, Math.floor(maxPieces / 2));
    if (!Number.isInteger(stride) || stride < 1 || stride > maxPieces) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `stride must be an integer from 1 to ${maxPieces} (the model's limit in word pieces), received ${String(stride)}.`,
        { details: { option: "stride", maximum: maxPieces } },
      );
    }
    type Window = WindowSequence & { readonly sentence: number };
    const windows: Window[] = sentences.flatMap((words, sentence) =>
      windowSequences(words, tokenizer.special, maxPieces, stride).map((window) => ({ ...window, sentence })),
    );
    const remaining = sentences.map(() => 0);
    for (const window of windows) remaining[window.sentence] = (remaining[window.sentence] as number) + 1;
    let done = 0;
    await runBatches(
      windows.map((window) => window.ids),
      options.signal,
      (indices, data, length) => {
        indices.forEach((index, row) => {
          const window = windows[index] as Window;
          for (const [word, first, count] of window.reads) {
            visit(window.sentence, word, data.subarray(row * length * spec.dims), first, count);
          }
          remaining[window.sentence] = (remaining[window.sentence] as number) - 1;
          if (remaining[window.sentence] === 0) done++;
        });
        options.onProgress?.(done, sentences.length);
      },
    );
  }

  /**
   * Run sequences through the encoder in padding-aware batches (longest first)
   * on the pipeline core's scheduler (cancellation and a closed session checked
   * before each batch); `handle` gets the batch's sequence indices, its hidden
   * states and padded length.
   */
  async function runBatches(
    sequences: readonly (readonly number[])[],
    signal: AbortSignal | undefined,
    handle: (indices: readonly number[], hidden: Float32Array, length: number) => void,
  ): Promise<void> {
    await scheduleBatches(
      planOf(sequences),
      async (indices) => {
        const batch = indices.map((index) => sequences[index] as readonly number[]);
        const length = longest(batch);
        return { hidden: await run(batch, length), length };
      },
      (indices, { hidden, length }) => {
        try {
          handle(indices, hidden.data as Float32Array, length);
        } finally {
          hidden.dispose();
        }
      },
      { signal, assertOpen: () => assertOpen(closed, spec.id) },
    );
  }

  /** The padding-aware, length-sorted plan of {@link planBatches}, as index lists. */
  function planOf(sequences: readonly (readonly number[])[]): number[][] {
    return planBatches(
      sequences.map((sequence) => sequence.length),
      maxBatchSize,
      maxBatchTokens,
    ).map((batch) => batch.indices);
  }

  /** The pipeline provider: token ids in, pooled hidden states out. */
  const provider: TextProvider<readonly number[]> = {
    model,
    limits: { maxBatchSize, maxBatchTokens, plan: planOf },
    assertOpen: () => assertOpen(closed, spec.id),
    // Tokenize everything first: an over-long input fails the call before any inference.
    prepare(texts, resolved) {
      const encoded = texts.map((text, index) =>
        tokenizer.encode(text, { truncate: resolved.truncate, index }),
      );
      const specialTokens = (encoded[0]?.ids.length ?? 0) - (encoded[0]?.fullLength ?? 0);
      let tokens = 0;
      for (const item of encoded) tokens += item.ids.length - specialTokens;
      return { values: encoded.map((item) => item.ids), tokens };
    },
    async doEmbed({ values }) {
      const length = longest(values);
      const hidden = await run(values, length);
      try {
        const data = hidden.data as Float32Array;
        return { vectors: values.map((ids, row) => pool(data, row, ids.length, length)) };
      } finally {
        hidden.dispose();
      }
    },
  };

  return {
    model,
    embed: (inputs, embedOptions) => embedTexts(provider, inputs, embedOptions),
    async countTokens(inputs) {
      assertOpen(closed, spec.id);
      validateTexts(inputs);
      return inputs.map((text) => tokenizer.count(text));
    },
    async embedTokens(text, tokenOptions = {}) {
      assertOpen(closed, spec.id);
      validateTexts([text]);
      const words = splitWords(text);
      const [pieces] = sentencePieces(tokenizer, [words.map((word) => word.text)]);
      const wordPieces = pieces as number[][];
      const ids = wordPieces.flat();
      const data = new Float32Array(ids.length * spec.dims);
      const firstRow: number[] = [];
      let total = 0;
      for (const list of wordPieces) {
        firstRow.push(total);
        total += list.length;
      }
      // A single word longer than the model's limit keeps zero rows for its cut pieces.
      await runWindows([wordPieces], tokenOptions, (_sentence, word, hidden, row, count) => {
        data.set(
          hidden.subarray(row * spec.dims, (row + count) * spec.dims),
          (firstRow[word] as number) * spec.dims,
        );
      });
      const offsets: Array<readonly [number, number]> = [];
      const wordIndex: number[] = [];
      words.forEach((word, index) => {
        const list = wordPieces[index] as number[];
        offsets.push(
          ...pieceSpans(
            word,
            list.map((id) => tokenizer.tokenText(id)),
          ),
        );
        for (let i = 0; i < list.length; i++) wordIndex.push(index);
      });
      return { ids, data, hiddenSize: spec.dims, offsets, wordIndex, words };
    },
    async embedWords(sentences, wordOptions = {}) {
      assertOpen(closed, spec.id);
      validateSentences(sentences);
      const pooling = wordOptions.pooling ?? "first";
      if (pooling !== "first" && pooling !== "mean") {
        throw new EmbedkitError(
          "INVALID_OPTION",
          `pooling must be "first" or "mean", received ${JSON.stringify(pooling)}.`,
          { details: { option: "pooling" } },
        );
      }
      const pieces = sentencePieces(tokenizer, sentences);
      const width = spec.dims;
      const results = sentences.map((words, index) => ({
        data: new Float32Array(words.length * width),
        hiddenSize: width,
        pieceCounts: (pieces[index] as number[][]).map((list) => list.length),
      }));
      await runWindows(pieces, wordOptions, (sentence, word, hidden, row, count) => {
        const out = (results[sentence] as WordEmbeddings).data;
        const base = word * width;
        if (pooling === "first") {
          out.set(hidden.subarray(row * width, (row + 1) * width), base);
          return;
        }
        for (let piece = 0; piece < count; piece++) {
          const offset = (row + piece) * width;
          for (let j = 0; j < width; j++)
            out[base + j] = (out[base + j] as number) + (hidden[offset + j] as number) / count;
        }
      });
      return results;
    },
    decodeTokenIds(ids) {
      assertOpen(closed, spec.id);
      return tokenizer.decode(ids);
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}
