/**
 * @module train/adapter
 * An embedding adapter: a linear map `q ↦ W·q + b` (initialised to the
 * identity) applied to *query* vectors only, trained on (query, positive
 * passage) pairs with the in-batch-negatives contrastive loss (InfoNCE, as in
 * SimCSE / DPR / sentence-transformers' MultipleNegativesRankingLoss): for a
 * batch of B pairs, the cosine of adapted query i with passage j, divided by a
 * temperature τ, is a logit, and cross-entropy pushes each query towards its
 * own passage and away from the B − 1 others. Passages that are the same
 * document as the query's own positive are masked out of its negatives.
 *
 * Only queries change, so a corpus embedded once stays valid: search with
 * `adapter.apply(queryVectors)` against the unchanged passage vectors. This is
 * the cheap domain adaptation of frozen embeddings (LlamaIndex's linear
 * adapter, Chroma's embedding adapters) — the model itself is never touched.
 */
import { EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";
import { normalize } from "../vectors/math.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import type { EmbeddingSpace } from "./classifier.js";
import { createLinear, type Layer } from "./layers.js";
import type { OptimizerOptions } from "./optimizers.js";
import { assertFinite, stackRows, type Tensor } from "./tensor.js";
import type {
  EarlyStoppingOptions,
  EpochReport,
  TrainModelResult,
  TrainScheduleOptions,
} from "./train-model.js";
import { trainModel } from "./train-model.js";

/** A trained adapter. */
export interface EmbeddingAdapter {
  /** The embedding space it adapts (queries must come from this model). */
  readonly embedding: EmbeddingSpace;
  /** The linear map (`dims → dims`). */
  readonly model: Layer;
  /** Adapted, L2-normalised query vectors. */
  apply(queries: readonly Float32Array[]): Float32Array[];
}

/** Options of {@link trainAdapter}. */
export interface TrainAdapterOptions {
  /** Query vectors, one per pair. */
  readonly queries: readonly Float32Array[];
  /** The matching positive passage vector of each query. */
  readonly positives: readonly Float32Array[];
  /** Ids of the positive passages; pairs sharing a passage are not each other's negatives. */
  readonly positiveIds?: readonly string[];
  /** Embedding model of both sides. */
  readonly embedding: EmbeddingSpace;
  /** Softmax temperature τ. @default 0.05 */
  readonly temperature?: number;
  /** @default { name: "adamw", learningRate: 1e-3, weightDecay: 0 } (decay would pull W towards 0, not the identity) */
  readonly optimizer?: OptimizerOptions;
  /** @default constant */
  readonly schedule?: TrainScheduleOptions;
  /** @default 10 */
  readonly epochs?: number;
  /** Pairs per batch (= 1 positive + batchSize − 1 negatives per query). @default 32 */
  readonly batchSize?: number;
  /** @default 42 */
  readonly seed?: number;
  /** Validation metric of the adapter after each epoch (higher is better), e.g. nDCG@10 of held-out queries. */
  readonly validate?: (adapter: EmbeddingAdapter) => number;
  /** Early stopping on `validate`. */
  readonly earlyStopping?: EarlyStoppingOptions;
  /** Progress after every epoch. */
  readonly onEpoch?: (report: EpochReport) => void;
}

/** Result of {@link trainAdapter}. */
export interface TrainAdapterResult extends TrainModelResult {
  readonly adapter: EmbeddingAdapter;
}

/** Wrap a `dims → dims` layer as an {@link EmbeddingAdapter}. */
export function createAdapter(options: {
  readonly model: Layer;
  readonly embedding: EmbeddingSpace;
}): EmbeddingAdapter {
  const { model, embedding } = options;
  return {
    embedding,
    model,
    apply(queries) {
      if (queries.length === 0) return [];
      queries.forEach((query, index) => {
        if (query.length !== embedding.dims) {
          throw new EmbedkitError(
            "DIMENSION_MISMATCH",
            `Query ${index} has ${query.length} dimensions, but the adapter was trained on ${embedding.dims}-dimensional ${embedding.modelId} embeddings.`,
            { details: { index, expected: embedding.dims, received: query.length } },
          );
        }
      });
      const output = model.forward(stackRows(queries), { training: false });
      const dims = embedding.dims;
      return queries.map((_, row) => normalize(output.data.subarray(row * dims, (row + 1) * dims)));
    },
  };
}

/** A `dims → dims` linear layer holding the identity map. */
function identityLinear(dims: number): Layer {
  const layer = createLinear({ inputs: dims, outputs: dims });
  const [weight] = layer.parameters();
  for (let i = 0; i < dims; i++) (weight?.value as Float32Array)[i * dims + i] = 1;
  return layer;
}

/**
 * In-batch-negatives InfoNCE of adapted queries (`[B, d]`, not yet normalised)
 * against unit positives; returns the mean loss and d(loss)/d(queries).
 */
export function inBatchContrastiveLoss(
  queries: Tensor,
  positives: readonly Float32Array[],
  options: { readonly temperature: number; readonly positiveIds?: readonly string[] },
): { loss: number; grad: Tensor } {
  const rows = queries.shape[0] as number;
  const dims = queries.shape[1] as number;
  const { temperature } = options;
  const norms = new Float64Array(rows);
  const units = new Float64Array(rows * dims);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let d = 0; d < dims; d++) sum += (queries.data[r * dims + d] as number) ** 2;
    const norm = Math.sqrt(sum) || 1;
    norms[r] = norm;
    for (let d = 0; d < dims; d++) units[r * dims + d] = (queries.data[r * dims + d] as number) / norm;
  }
  const positiveUnits = positives.map((vector) => normalize(vector));
  const gradUnits = new Float64Array(rows * dims);
  const logits = new Float64Array(rows);
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < rows; j++) {
      const masked =
        j !== i && options.positiveIds !== undefined && options.positiveIds[j] === options.positiveIds[i];
      if (masked) {
        logits[j] = Number.NEGATIVE_INFINITY;
        continue;
      }
      const positive = positiveUnits[j] as Float32Array;
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += (units[i * dims + d] as number) * (positive[d] as number);
      logits[j] = dot / temperature;
      if ((logits[j] as number) > max) max = logits[j] as number;
    }
    let sum = 0;
    for (let j = 0; j < rows; j++) sum += Math.exp((logits[j] as number) - max);
    loss += Math.log(sum) - ((logits[i] as number) - max);
    for (let j = 0; j < rows; j++) {
      const probability = Math.exp((logits[j] as number) - max) / sum;
      const g = (probability - (j === i ? 1 : 0)) / rows / temperature;
      if (g === 0) continue;
      const positive = positiveUnits[j] as Float32Array;
      for (let d = 0; d < dims; d++)
        gradUnits[i * dims + d] = (gradUnits[i * dims + d] as number) + g * (positive[d] as number);
    }
  }
  // Through the normalisation u = q/|q|: dL/dq = (dL/du − (dL/du·u)·u) / |q|.
  const grad = new Float32Array(rows * dims);
  for (let i = 0; i < rows; i++) {
    let projection = 0;
    for (let d = 0; d < dims; d++)
      projection += (gradUnits[i * dims + d] as number) * (units[i * dims + d] as number);
    for (let d = 0; d < dims; d++) {
      grad[i * dims + d] =
        ((gradUnits[i * dims + d] as number) - projection * (units[i * dims + d] as number)) /
        (norms[i] as number);
    }
  }
  return { loss: loss / rows, grad: { data: grad, shape: [rows, dims] } };
}

/**
 * Train a query adapter on (query, positive) pairs.
 *
 * @throws EmbedkitError INVALID_INPUT for no pairs, mismatched counts or NaN
 *   values; DIMENSION_MISMATCH for vectors of the wrong length; INVALID_OPTION
 *   for a non-positive temperature or a batch size below 2 (no negatives).
 * @example
 * ```ts
 * const { adapter } = trainAdapter({ queries, positives, positiveIds, embedding: { modelId, dims: 384 }, epochs: 10 });
 * const adapted = adapter.apply(newQueryVectors); // search these against the unchanged corpus vectors
 * ```
 */
export function trainAdapter(options: TrainAdapterOptions): TrainAdapterResult {
  const { queries, positives, embedding } = options;
  if (queries.length === 0 || queries.length !== positives.length) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `An adapter needs (query, positive) pairs: received ${queries.length} queries and ${positives.length} positives.`,
    );
  }
  if (options.positiveIds !== undefined && options.positiveIds.length !== queries.length) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `positiveIds must have one id per pair, received ${options.positiveIds.length} for ${queries.length} pairs.`,
    );
  }
  for (const [what, list] of [
    ["Query", queries],
    ["Positive", positives],
  ] as const) {
    list.forEach((vector, index) => {
      if (vector.length !== embedding.dims) {
        throw new EmbedkitError(
          "DIMENSION_MISMATCH",
          `${what} ${index} has ${vector.length} dimensions, expected ${embedding.dims} (${embedding.modelId}).`,
          { details: { index, expected: embedding.dims, received: vector.length } },
        );
      }
    });
    assertFinite(list, what);
  }
  const temperature = options.temperature ?? 0.05;
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `temperature must be a positive number, received ${String(temperature)}.`,
    );
  }
  const batchSize = options.batchSize ?? 32;
  checkInteger("batchSize", batchSize, { min: 2, reason: "the other pairs of a batch are the negatives" });
  const model = identityLinear(embedding.dims);
  const adapter = createAdapter({ model, embedding });
  const validate = options.validate;
  const result = trainModel({
    model,
    inputs: queries,
    loss: (output, indices) =>
      inBatchContrastiveLoss(
        output,
        Array.from(indices, (index) => positives[index] as Float32Array),
        {
          temperature,
          ...(options.positiveIds === undefined
            ? {}
            : { positiveIds: Array.from(indices, (index) => options.positiveIds?.[index] as string) }),
        },
      ),
    optimizer: options.optimizer ?? { name: "adamw", learningRate: 1e-3, weightDecay: 0 },
    ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
    epochs: options.epochs ?? 10,
    batchSize,
    seed: options.seed ?? 42,
    ...(validate === undefined ? {} : { validate: () => ({ metric: validate(adapter) }) }),
    ...(options.earlyStopping === undefined ? {} : { earlyStopping: options.earlyStopping }),
    ...(options.onEpoch === undefined ? {} : { onEpoch: options.onEpoch }),
  });
  return { ...result, adapter };
}

/** Save an adapter to folder `dir` (kind `adapter`). */
export async function saveAdapter(
  dir: string,
  adapter: EmbeddingAdapter,
  metadata: Readonly<Record<string, unknown>> = {},
): Promise<void> {
  await saveCheckpoint(dir, {
    kind: "adapter",
    model: adapter.model,
    embedding: adapter.embedding,
    metadata,
  });
}

/**
 * Load an adapter saved by {@link saveAdapter}.
 *
 * @throws EmbedkitError FILE_NOT_FOUND / MALFORMED_FILE as `loadCheckpoint`.
 */
export async function loadAdapter(
  dir: string,
): Promise<EmbeddingAdapter & { readonly metadata: Readonly<Record<string, unknown>> }> {
  const checkpoint = await loadCheckpoint(dir, { kind: "adapter" });
  const config = checkpoint.model.config;
  if (
    config.type !== "linear" ||
    config.inputs !== checkpoint.embedding.dims ||
    config.outputs !== checkpoint.embedding.dims
  ) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${dir}: an adapter must be one ${checkpoint.embedding.dims} → ${checkpoint.embedding.dims} linear layer, found ${JSON.stringify(config)}.`,
    );
  }
  return {
    ...createAdapter({ model: checkpoint.model, embedding: checkpoint.embedding }),
    metadata: checkpoint.metadata,
  };
}
