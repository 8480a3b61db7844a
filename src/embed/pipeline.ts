/**
 * @module embed/pipeline
 * The one embedding call loop every provider runs through. A provider (ONNX
 * text encoder, OpenAI-compatible endpoint, word vectors, image/face/video/audio
 * models, the text tower of CLIP/CLAP) implements a single method,
 * {@link EmbedProvider.doEmbed}: raw vectors for one sub-batch of prepared
 * values. It declares its limits ({@link ProviderLimits}: most values per call,
 * a token budget with a cost per value or its own planner, calls in flight,
 * retries). The core does the rest, the same way for text and media:
 *
 * 1. validation and options — {@link embedTexts}: the texts, `inputType` /
 *    `truncate` / `dimensions` / `precision`, query/passage prefixes, then the
 *    provider's `prepare` (tokenizing; an over-long input fails here, before
 *    any inference); `embedMedia` (media/media-pipeline.ts, the same core for
 *    files): the inputs array, options and limits, every file opened and
 *    sniffed, then the provider's `inspect` (headers);
 * 2. batch planning by the declared limits ({@link planByLimits});
 * 3. running the batches ({@link scheduleBatches}): at most
 *    `maxParallelCalls` in flight, the caller's signal checked before every
 *    sub-batch (a cancelled call rejects with the caller's own reason, or
 *    INVALID_INPUT "cancelled" with the reason as cause: `cancelledError`), a
 *    closed embedder checked too, fail-fast (the
 *    first failure aborts the siblings), retries of {@link TransientError}s
 *    with the HTTP retry policy (`retryDelay`: full-jitter backoff, server hints);
 * 4. finishing each vector as its batch completes — normalize (when the model
 *    does), `dimensions` (re-normalized), `precision` — in input order;
 * 5. progress (`onProgress(done, total)` after every batch) and usage (tokens;
 *    for media inputs, pixels and seconds).
 */
import { EmbedkitError } from "../errors.js";
import type { Precision, PrecisionVector } from "../vectors/quantize.js";
import type { Embeddings, EmbedOptions, ModelInfo } from "./embedder.js";
import {
  applyPrefix,
  cancelledError,
  finishVector,
  type ResolvedEmbedOptions,
  resolveEmbedOptions,
  throwIfCancelled,
  validateTexts,
} from "./inputs.js";
import { retryDelay, sleep } from "./retry-policy.js";

/** Positions (into the prepared values) of each sub-batch, in the order they run. */
export type BatchPlan = ReadonlyArray<readonly number[]>;

/** How often and how long to retry a {@link TransientError}. */
export interface RetryLimits {
  /** Retries per sub-batch after the first attempt. */
  readonly maxRetries: number;
  /** Ceiling of the first backoff window; doubles per retry (full jitter). */
  readonly initialDelayMs: number;
  /** Longest wait between attempts, for backoff and server hints alike. */
  readonly maxDelayMs: number;
}

/** What a provider declares about the calls it can take. */
export interface ProviderLimits<V> {
  /** Most values per {@link EmbedProvider.doEmbed} call. */
  readonly maxBatchSize: number;
  /** Most summed {@link ProviderLimits.cost} per call (a value over it alone travels alone). @default unbounded */
  readonly maxBatchTokens?: number;
  /** Cost of one value against `maxBatchTokens`. @default 1 */
  readonly cost?: (value: V) => number;
  /**
   * The provider's own planner (e.g. the ONNX encoder's length-sorted,
   * padding-aware one); replaces the contiguous planner when given.
   */
  readonly plan?: (values: readonly V[]) => BatchPlan;
  /** Calls in flight at once. @default 1 */
  readonly maxParallelCalls?: number;
  /** Retry {@link TransientError}s; without it they fail the call at once. */
  readonly retry?: RetryLimits;
}

/**
 * A failure worth another attempt (HTTP 429/5xx, network errors, timeouts).
 * Thrown by {@link EmbedProvider.doEmbed}; the core retries it within
 * {@link ProviderLimits.retry} and otherwise throws the wrapped `error`.
 */
export class TransientError extends Error {
  constructor(
    /** The error to report when no retry is left. */
    readonly error: EmbedkitError,
    /** The server's requested wait, if it gave one. */
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
    this.name = "TransientError";
  }
}

/** One sub-batch handed to a provider. */
export interface EmbedCall<V, C> {
  readonly values: readonly V[];
  /** Positions of `values` in the prepared list. */
  readonly indices: readonly number[];
  /** Aborts on the caller's signal, on close, or when a sibling batch failed. */
  readonly signal: AbortSignal;
  /** Zero-based attempt of this sub-batch. */
  readonly attempt: number;
  /** Per-call facts the provider needs (the caller's options, media limits). */
  readonly context: C;
}

/** What one {@link EmbedProvider.doEmbed} call returns. */
export interface BatchOutput {
  /** One raw (not yet finished) vector per value, in order. */
  readonly vectors: readonly Float32Array[];
  /** Tokens of the batch, when the provider counts them per batch. */
  readonly tokens?: number | undefined;
  /** Decoded pixels (media). */
  readonly pixels?: number;
  /** Seconds of audio or video (media). */
  readonly seconds?: number;
}

/** The small thing a provider implements. */
export interface EmbedProvider<V, C = undefined> {
  readonly limits: ProviderLimits<V>;
  /** Raw vectors of one sub-batch. Throw {@link TransientError} for a failure worth retrying. */
  doEmbed(call: EmbedCall<V, C>): Promise<BatchOutput>;
}

/**
 * Group values (by cost) into contiguous sub-batches of at most `maxSize`
 * values and `maxCost` summed cost; a value whose own cost exceeds the budget
 * travels alone. Contiguous groups keep reassembly trivial.
 */
export function planContiguous(costs: readonly number[], maxSize: number, maxCost: number): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let total = 0;
  for (let index = 0; index < costs.length; index++) {
    const cost = costs[index] as number;
    if (current.length > 0 && (current.length >= maxSize || total + cost > maxCost)) {
      batches.push(current);
      current = [];
      total = 0;
    }
    current.push(index);
    total += cost;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** The sub-batches of `values` under a provider's limits. */
export function planByLimits<V>(values: readonly V[], limits: ProviderLimits<V>): BatchPlan {
  if (limits.plan !== undefined) return limits.plan(values);
  const cost = limits.cost;
  return planContiguous(
    cost === undefined ? values.map(() => 1) : values.map(cost),
    limits.maxBatchSize,
    limits.maxBatchTokens ?? Number.POSITIVE_INFINITY,
  );
}

/** Options of {@link scheduleBatches}. */
export interface ScheduleOptions {
  /** The caller's signal: checked before every sub-batch and while one runs. */
  readonly signal?: AbortSignal | undefined;
  /** Aborts in-flight work when the embedder closes. */
  readonly closeSignal?: AbortSignal | undefined;
  /** Throws CLOSED when the embedder was closed; checked before every sub-batch. */
  readonly assertOpen?: () => void;
  /** @default 1 */
  readonly maxParallelCalls?: number | undefined;
  readonly retry?: RetryLimits | undefined;
}

/**
 * Run `batches` with `run`, at most `maxParallelCalls` at once, in plan order.
 * Before each sub-batch the caller's signal and the embedder's state are
 * checked; the first failure aborts the others (their own errors are dropped)
 * and is thrown once every started call has settled. {@link TransientError}s
 * are retried within `retry`, waiting {@link retryDelay} (cancellable).
 * @throws the caller's abort reason or EmbedkitError INVALID_INPUT when cancelled, CLOSED, or the provider's error
 */
export async function scheduleBatches<R>(
  batches: BatchPlan,
  run: (indices: readonly number[], signal: AbortSignal, attempt: number) => Promise<R>,
  done: (indices: readonly number[], result: R) => void,
  options: ScheduleOptions = {},
): Promise<void> {
  const { signal: callerSignal, closeSignal, assertOpen, retry } = options;
  throwIfCancelled(callerSignal);
  assertOpen?.();
  if (batches.length === 0) return;
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  callerSignal?.addEventListener("abort", stop, { once: true });
  closeSignal?.addEventListener("abort", stop, { once: true });
  /** Why work stopped: the caller's signal, or close(). */
  const stopped = (): Error => {
    throwIfCancelled(callerSignal);
    assertOpen?.();
    return cancelledError(callerSignal);
  };
  const attemptBatch = async (indices: readonly number[]): Promise<R> => {
    for (let attempt = 0; ; attempt++) {
      if (controller.signal.aborted) throw stopped();
      try {
        return await run(indices, controller.signal, attempt);
      } catch (error) {
        if (controller.signal.aborted) throw stopped();
        if (!(error instanceof TransientError)) throw error;
        if (retry === undefined || attempt >= retry.maxRetries) throw error.error;
        try {
          await sleep(
            retryDelay({
              attempt,
              initialDelayMs: retry.initialDelayMs,
              maxDelayMs: retry.maxDelayMs,
              retryAfterMs: error.retryAfterMs,
            }),
            controller.signal,
          );
        } catch {
          throw stopped();
        }
      }
    }
  };
  let failed = false;
  let firstError: unknown;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!failed && next < batches.length) {
      const indices = batches[next++] as readonly number[];
      try {
        if (callerSignal?.aborted) throw cancelledError(callerSignal);
        assertOpen?.();
        const result = await attemptBatch(indices);
        // A result that lands after an abort (or a sibling's failure) is dropped, not reported.
        if (controller.signal.aborted) throw stopped();
        done(indices, result);
      } catch (error) {
        if (!failed) {
          failed = true;
          firstError = error;
          // Fail fast: stop siblings' in-flight calls and pending retries.
          controller.abort();
        }
      }
    }
  };
  const parallel = Math.max(1, Math.min(options.maxParallelCalls ?? 1, batches.length));
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    callerSignal?.removeEventListener("abort", stop);
    closeSignal?.removeEventListener("abort", stop);
  }
  if (failed) throw firstError;
}

/** Options of {@link runPipeline}. */
export interface PipelineOptions<P extends Precision>
  extends Omit<ScheduleOptions, "maxParallelCalls" | "retry"> {
  /** `dimensions` / `precision` of the finished vectors. */
  readonly resolved: ResolvedEmbedOptions<P>;
  /** Normalize raw vectors before `dimensions` (the model's `normalize`). */
  readonly normalize: boolean;
  /** Called after each sub-batch with the values done so far. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/** What {@link runPipeline} returns. */
export interface PipelineResult<P extends Precision> {
  /** Finished vectors, in input order. */
  readonly vectors: PrecisionVector[P][];
  /** Summed {@link BatchOutput.tokens}. */
  readonly tokens: number;
  readonly pixels: number;
  readonly seconds: number;
}

/**
 * Plan `values` by the provider's limits, run every sub-batch through
 * {@link EmbedProvider.doEmbed} (see {@link scheduleBatches}) and finish each
 * raw vector (normalize, `dimensions`, `precision`) into input order.
 * @throws the caller's abort reason or EmbedkitError INVALID_INPUT when cancelled, CLOSED, or the provider's error
 */
export async function runPipeline<V, C, P extends Precision>(
  provider: EmbedProvider<V, C>,
  values: readonly V[],
  context: C,
  options: PipelineOptions<P>,
): Promise<PipelineResult<P>> {
  const vectors = new Array<PrecisionVector[P]>(values.length);
  let tokens = 0;
  let pixels = 0;
  let seconds = 0;
  let done = 0;
  const { limits } = provider;
  await scheduleBatches(
    planByLimits(values, limits),
    (indices, signal, attempt) =>
      provider.doEmbed({
        values: indices.map((index) => values[index] as V),
        indices,
        signal,
        attempt,
        context,
      }),
    (indices, output) => {
      if (output.vectors.length !== indices.length) {
        throw new EmbedkitError(
          "INTERNAL",
          `A provider returned ${output.vectors.length} vectors for a batch of ${indices.length} inputs.`,
        );
      }
      indices.forEach((index, row) => {
        vectors[index] = finishVector(
          output.vectors[row] as Float32Array,
          options.normalize,
          options.resolved,
        );
      });
      tokens += output.tokens ?? 0;
      pixels += output.pixels ?? 0;
      seconds += output.seconds ?? 0;
      done += indices.length;
      options.onProgress?.(done, values.length);
    },
    { ...options, maxParallelCalls: limits.maxParallelCalls, retry: limits.retry },
  );
  return { vectors, tokens, pixels, seconds };
}

/** Options of {@link embedDecoded}. */
export interface DecodedOptions {
  /** Width of the provider's vectors. */
  readonly dims: number;
  /** L2-normalize each vector (in place). */
  readonly normalize: boolean;
  readonly signal?: AbortSignal | undefined;
  /** Throws CLOSED when the embedder was closed; checked first and before every sub-batch. */
  readonly assertOpen?: () => void;
}

/**
 * Full-width float32 vectors of inputs that need no file checks and take no
 * options — decoded video frames, audio samples, a model's internal windows —
 * batched, cancellable and in order, like every other call.
 */
export async function embedDecoded<V>(
  provider: EmbedProvider<V>,
  values: readonly V[],
  options: DecodedOptions,
): Promise<Float32Array[]> {
  options.assertOpen?.();
  const result = await runPipeline(provider, values, undefined, {
    resolved: { inputType: "none", truncate: true, dimensions: options.dims, precision: "float32" },
    normalize: options.normalize,
    signal: options.signal,
    ...(options.assertOpen === undefined ? {} : { assertOpen: options.assertOpen }),
  });
  return result.vectors;
}

/** A text provider: model facts, an optional tokenizing step and {@link EmbedProvider.doEmbed}. */
export interface TextProvider<V> extends EmbedProvider<V, EmbedOptions<Precision>> {
  /** Facts of the model; `dims` may be 0 until the first response (remote models). */
  readonly model: ModelInfo;
  /** Whether raw vectors are normalized before `dimensions`. @default model.normalize */
  readonly normalize?: boolean;
  /** Throws CLOSED when the embedder was closed. */
  assertOpen(): void;
  /** Aborts in-flight calls on close. */
  readonly closeSignal?: AbortSignal;
  /**
   * Turn prefixed texts into the values sent to {@link EmbedProvider.doEmbed}
   * (e.g. token ids), all before the first call: an over-long input fails the
   * call here. `tokens` is the call's token usage when known up front.
   * @default the texts themselves, tokens counted per batch
   */
  prepare?(
    texts: readonly string[],
    options: ResolvedEmbedOptions<Precision>,
  ): { readonly values: readonly V[]; readonly tokens?: number };
}

/**
 * The whole `embed(texts, options)` of a text provider: validation, options,
 * prefixes, preparation, {@link runPipeline}, the result. When the model's
 * dims are unknown until the first response, `dimensions` is checked against
 * them once they are known.
 * @throws EmbedkitError INVALID_INPUT, INPUT_TOO_LONG, INVALID_OPTION, CLOSED and the provider's errors
 */
export async function embedTexts<V, P extends Precision = "float32">(
  provider: TextProvider<V>,
  inputs: readonly string[],
  options: EmbedOptions<P> = {},
): Promise<Embeddings<P>> {
  provider.assertOpen();
  validateTexts(inputs);
  const known = provider.model;
  // With unknown dims the upper bound of `dimensions` is checked after the first response.
  const resolved = resolveEmbedOptions(
    known.dims > 0 ? known : { ...known, dims: Number.MAX_SAFE_INTEGER },
    options,
  );
  const texts = inputs.map((text) => applyPrefix(text, resolved.inputType, known.prefixes));
  const prepared = provider.prepare?.(texts, resolved) ?? { values: texts as unknown as readonly V[] };
  const result = await runPipeline(provider, prepared.values, options as EmbedOptions<Precision>, {
    resolved,
    normalize: provider.normalize ?? known.normalize,
    signal: options.signal,
    closeSignal: provider.closeSignal,
    assertOpen: () => provider.assertOpen(),
    onProgress: options.onProgress,
  });
  const model = provider.model;
  if (known.dims === 0 && model.dims > 0) resolveEmbedOptions(model, options);
  return {
    vectors: result.vectors,
    dims: known.dims > 0 ? resolved.dimensions : (options.dimensions ?? model.dims),
    precision: resolved.precision,
    usage: { tokens: prepared.tokens ?? result.tokens },
  };
}
