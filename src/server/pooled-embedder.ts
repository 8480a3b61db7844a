/**
 * @module server/pooled-embedder
 * The one way a route embeds text: an {@link Embedder} view of a leased model
 * whose `embed` counts tokens within the request's limits
 * ({@link measureInputs}: bounded, incremental, cancellable), then queues the
 * texts on the model's batcher (round-robin slices, admission by expected wait,
 * cancellation). `/v1/embeddings`, collection uploads and queries, and FAQ
 * questions all go through it, so no route can occupy the model outside the
 * queue or skip a limit.
 */
import type { Embedder, Embeddings, EmbedOptions } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import type { Precision } from "../vectors/quantize.js";
import type { LoadedModel } from "./model-pool.js";
import { measureInputs } from "./token-budget.js";

/** Special tokens the BERT-family encoders add per input ([CLS] and [SEP]). */
export const SPECIAL_TOKENS_PER_INPUT = 2;

/** The request's limits and signal. */
export interface PooledEmbedderContext {
  /** Cut over-long inputs to the model's limit instead of refusing them. */
  readonly autoTruncate: boolean;
  /** Most tokens of work in one request. */
  readonly maxRequestTokens: number;
  /** The request's signal (client gone, deadline passed). */
  readonly signal: AbortSignal;
}

/** Most content tokens (without special tokens) one input of `model` may have. */
export function contentTokenLimit(model: Embedder["model"]): number {
  return Number.isFinite(model.maxTokens)
    ? model.maxTokens - SPECIAL_TOKENS_PER_INPUT
    : Number.POSITIVE_INFINITY;
}

/**
 * An embedder for one request that routes every call through the model's batcher.
 * Vectors come back at the model's full dimensions in float32; `dimensions` and
 * `precision` are applied by the caller (the batcher shares batches across requests).
 *
 * @throws EmbedkitError INVALID_OPTION when called with `dimensions` or a non-float32 `precision`
 */
export function pooledEmbedder(loaded: LoadedModel, context: PooledEmbedderContext): Embedder {
  const { embedder, batcher } = loaded;
  const model = embedder.model;
  async function embed<P extends Precision = "float32">(
    inputs: readonly string[],
    options: EmbedOptions<P> = {},
  ): Promise<Embeddings<P>> {
    if (options.dimensions !== undefined || (options.precision ?? "float32") !== "float32") {
      throw new EmbedkitError(
        "INVALID_OPTION",
        "The server's pooled embedder returns full float32 vectors; apply dimensions/precision afterwards.",
      );
    }
    // Backpressure before any tokenizing: a full queue refuses even the smallest request now.
    batcher.checkCapacity(inputs.length * (SPECIAL_TOKENS_PER_INPUT + 1));
    const measured = await measureInputs((texts) => embedder.countTokens(texts), inputs, {
      model: model.id,
      limit: contentTokenLimit(model),
      maxTokens: model.maxTokens,
      autoTruncate: options.truncate ?? context.autoTruncate,
      maxRequestTokens: context.maxRequestTokens,
      signal: context.signal,
    });
    const textTokens = measured.costs.map((cost) => cost + SPECIAL_TOKENS_PER_INPUT);
    const vectors = await batcher.submit({
      texts: measured.texts,
      tokens: textTokens.reduce((sum, cost) => sum + cost, 0),
      textTokens,
      signal: context.signal,
      ...(options.inputType === undefined ? {} : { inputType: options.inputType }),
    });
    options.onProgress?.(vectors.length, vectors.length);
    return {
      vectors: vectors as Embeddings<P>["vectors"],
      dims: model.dims,
      precision: "float32" as P,
      usage: { tokens: measured.total },
    };
  }
  return {
    model,
    embed,
    countTokens: (texts) => embedder.countTokens(texts),
    // The lease owns the model; closing this view does nothing.
    close: async () => {},
  };
}
