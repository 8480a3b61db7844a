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
import * as ort from "onnxruntime-node";
import { EmbedkitError } from "../../errors.js";
import type { ModelSpec } from "../../models/model-spec.js";
import type { Precision, PrecisionVector } from "../../vectors/quantize.js";
import type { Embedder, Embeddings, EmbedOptions, ModelInfo } from "../embedder.js";
import { applyPrefix, assertOpen, finishVector, resolveEmbedOptions, validateTexts } from "../inputs.js";
import { loadTextTokenizer, type TextTokenizer } from "./text-tokenizer.js";

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
  /** Token-level hidden states for one text (for token-classification heads). */
  embedTokens(text: string, options?: { truncate?: boolean }): Promise<TokenEmbeddings>;
  /**
   * Decode token ids of this model's tokenizer back into text (special tokens
   * skipped); the OpenAI-compatible server uses it for token-id input.
   * @throws EmbedkitError INVALID_INPUT on an id outside the vocabulary
   */
  decodeTokenIds(ids: readonly number[]): string;
}

/** Per-token vectors of one text (last hidden state), special tokens included. */
export interface TokenEmbeddings {
  readonly ids: readonly number[];
  /** Row-major `[tokens × hiddenSize]`. */
  readonly data: Float32Array;
  readonly hiddenSize: number;
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

function checkPositive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${name} must be a positive integer, received ${String(value)}.`,
    );
  }
  return value;
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

  const model: ModelInfo = Object.freeze({
    id: spec.id,
    dims: spec.dims,
    modality: spec.modality,
    maxTokens: spec.maxTokens,
    pooling: spec.pooling,
    normalize: spec.normalize,
    prefixes: spec.prefixes,
    maxBatchSize,
  });

  /** Run one padded batch; returns the hidden states and their shape. */
  async function run(sequences: readonly (readonly number[])[], length: number): Promise<ort.Tensor> {
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
      input_ids: new ort.Tensor("int64", ids, dims),
      attention_mask: new ort.Tensor("int64", mask, dims),
    };
    if (needsTokenTypes) feeds.token_type_ids = new ort.Tensor("int64", new BigInt64Array(size), dims);
    let output: ort.InferenceSession.OnnxValueMapType;
    try {
      output = await session.run(feeds);
    } catch (error) {
      throw new EmbedkitError(
        "INFERENCE_FAILED",
        `onnxruntime failed on ${spec.id}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
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

  async function embed<P extends Precision = "float32">(
    inputs: readonly string[],
    embedOptions: EmbedOptions<P> = {},
  ): Promise<Embeddings<P>> {
    assertOpen(closed, spec.id);
    validateTexts(inputs);
    const resolved = resolveEmbedOptions(model, embedOptions);
    // Tokenize everything first: an over-long input fails the call before any inference.
    const encoded = inputs.map((text, index) =>
      tokenizer.encode(applyPrefix(text, resolved.inputType, spec.prefixes), {
        truncate: resolved.truncate,
        index,
      }),
    );
    const vectors = new Array<PrecisionVector[P]>(inputs.length);
    let tokens = 0;
    let done = 0;
    const specialTokens = (encoded[0]?.ids.length ?? 0) - (encoded[0]?.fullLength ?? 0);
    for (const item of encoded) tokens += item.ids.length - specialTokens;
    for (const batch of planBatches(
      encoded.map((item) => item.ids.length),
      maxBatchSize,
      maxBatchTokens,
    )) {
      if (embedOptions.signal?.aborted) {
        throw new EmbedkitError("INVALID_INPUT", "Embedding was cancelled by the caller's AbortSignal.", {
          cause: embedOptions.signal.reason,
        });
      }
      assertOpen(closed, spec.id);
      const sequences = batch.indices.map((index) => (encoded[index] as { ids: readonly number[] }).ids);
      const hidden = await run(sequences, batch.length);
      const data = hidden.data as Float32Array;
      batch.indices.forEach((index, row) => {
        const pooled = pool(data, row, (sequences[row] as readonly number[]).length, batch.length);
        vectors[index] = finishVector(pooled, spec.normalize, resolved);
      });
      hidden.dispose();
      done += batch.indices.length;
      embedOptions.onProgress?.(done, inputs.length);
    }
    return { vectors, dims: resolved.dimensions, precision: resolved.precision, usage: { tokens } };
  }

  return {
    model,
    embed,
    async countTokens(inputs) {
      assertOpen(closed, spec.id);
      validateTexts(inputs);
      return inputs.map((text) => tokenizer.count(text));
    },
    async embedTokens(text, tokenOptions = {}) {
      assertOpen(closed, spec.id);
      validateTexts([text]);
      const encoded = tokenizer.encode(text, { truncate: tokenOptions.truncate ?? true });
      const hidden = await run([encoded.ids], encoded.ids.length);
      const data = (hidden.data as Float32Array).slice();
      hidden.dispose();
      return { ids: encoded.ids, data, hiddenSize: spec.dims };
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
