/**
 * @module embed/embedder
 * The Embedder contract shared by every provider (local ONNX, static word
 * vectors, OpenAI-compatible endpoints). Types only, no behaviour: the call
 * loop every provider runs (validation, batching, cancellation, finishing,
 * progress) is the pipeline core in `pipeline.ts`.
 */
import type { ModelSpec } from "../models/model-spec.js";
import type { Precision, PrecisionVector } from "../vectors/quantize.js";

/** What an input is used for; selects the model's query/passage prefix. */
export type InputType = "query" | "passage" | "none";

/** Options of {@link Embedder.embed}. */
export interface EmbedOptions<P extends Precision = "float32"> {
  /**
   * Prefix inputs as queries or passages when the model expects it (e5 requires
   * it; bge uses an instruction for queries). `none` embeds text as given.
   * @default "none"
   */
  readonly inputType?: InputType;
  /**
   * Truncate inputs longer than the model's limit. When false, an over-long input
   * throws INPUT_TOO_LONG naming the limit and the input's token count.
   * @default true
   */
  readonly truncate?: boolean;
  /** Keep the first N dimensions and re-normalize (Matryoshka-style). @default the model's dims */
  readonly dimensions?: number;
  /** Output precision. @default "float32" */
  readonly precision?: P;
  /** Called after each batch with the number of inputs done so far. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Cancels between batches. */
  readonly signal?: AbortSignal;
}

/** Result of {@link Embedder.embed}. */
export interface Embeddings<P extends Precision = "float32"> {
  /** One vector per input, in input order. */
  readonly vectors: PrecisionVector[P][];
  /** Dimensions of each vector (before binary packing). */
  readonly dims: number;
  readonly precision: P;
  readonly usage: {
    /** Tokens processed, excluding special tokens ([CLS]/[SEP]). */
    readonly tokens: number;
  };
}

/** Public facts about the model behind an embedder. */
export interface ModelInfo {
  readonly id: string;
  readonly dims: number;
  readonly modality: ModelSpec["modality"];
  readonly maxTokens: number;
  readonly pooling: ModelSpec["pooling"];
  readonly normalize: boolean;
  readonly prefixes: ModelSpec["prefixes"];
  /** Largest number of inputs sent to the runtime in one call. */
  readonly maxBatchSize: number;
}

/** Anything that turns inputs into fixed-length vectors. */
export interface Embedder {
  readonly model: ModelInfo;
  /**
   * Embed texts. Validates every input first, so a bad input rejects the whole
   * call before any work is done.
   * @throws EmbedkitError INVALID_INPUT, INPUT_TOO_LONG, INVALID_OPTION, CLOSED
   */
  embed<P extends Precision = "float32">(
    inputs: readonly string[],
    options?: EmbedOptions<P>,
  ): Promise<Embeddings<P>>;
  /** Count tokens per input as the model would see them (without special tokens). */
  countTokens(inputs: readonly string[]): Promise<number[]>;
  /** Free native resources. Further calls throw CLOSED. Idempotent. */
  close(): Promise<void>;
}
