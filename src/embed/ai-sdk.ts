/**
 * @module embed/ai-sdk
 * An embedding model for the Vercel AI SDK (the `ai` package): an embedkit
 * embedder wrapped as the SDK's embedding-model specification version 3
 * (`EmbeddingModelV3` of `@ai-sdk/provider` 3.x), so `embed`, `embedMany` and
 * `cosineSimilarity` from `ai` 6 run local models. `ai` 7 accepts version-3
 * models too (it wraps them into its version 4). Like the LangChain adapter,
 * this file only has the shape: embedkit does not depend on `ai` (an optional
 * peer dependency). Batching, limits and cancellation are the embedder's
 * pipeline's, so the SDK is told to send everything in one call, one call at
 * a time.
 */
import { EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";
import type { Embedder, InputType } from "./embedder.js";

/** The provider name the SDK logs, and the key of per-call `providerOptions`. */
export const AI_SDK_PROVIDER = "embedkit";

/** Per-call options read from `providerOptions.embedkit` of `embed` / `embedMany`. */
export interface AiSdkCallOptions {
  /** Overrides the model's input type for this call, e.g. `"query"` for a search query. */
  readonly inputType?: InputType;
  /** Keep the first N dimensions and re-normalize. */
  readonly dimensions?: number;
}

/** What `doEmbed` receives (the fields of the SDK's `EmbeddingModelV3CallOptions` embedkit reads). */
export interface AiSdkEmbedCall {
  readonly values: string[];
  readonly abortSignal?: AbortSignal;
  readonly providerOptions?: Record<string, Record<string, unknown>>;
  readonly headers?: Record<string, string | undefined>;
}

/** What `doEmbed` returns (the SDK's `EmbeddingModelV3Result`). */
export interface AiSdkEmbedResult {
  embeddings: number[][];
  usage: { tokens: number };
  warnings: never[];
}

/** An embedkit embedder as the AI SDK's embedding model (specification version 3). */
export interface AiSdkEmbeddingModel {
  readonly specificationVersion: "v3";
  readonly provider: string;
  readonly modelId: string;
  readonly maxEmbeddingsPerCall: number;
  readonly supportsParallelCalls: boolean;
  doEmbed(options: AiSdkEmbedCall): PromiseLike<AiSdkEmbedResult>;
}

/** Options of {@link toAiSdkEmbeddingModel}. */
export interface AiSdkEmbeddingModelOptions {
  /**
   * Input type of every call unless `providerOptions.embedkit.inputType` says
   * otherwise: documents are passages; pass `"query"` per call (or build a
   * second model) for search queries of models with prefixes (e5, bge).
   * @default "passage"
   */
  readonly inputType?: InputType;
  /** Keep the first N dimensions and re-normalize. @default the model's dims */
  readonly dimensions?: number;
}

const INPUT_TYPES: readonly InputType[] = ["query", "passage", "none"];

function checkInputType(value: unknown, where: string): InputType {
  if (!INPUT_TYPES.includes(value as InputType)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${where} must be one of ${INPUT_TYPES.join(", ")}, received ${JSON.stringify(value)}.`,
      { details: { param: "inputType", received: value } },
    );
  }
  return value as InputType;
}

function callOptions(
  providerOptions: AiSdkEmbedCall["providerOptions"],
  defaults: { inputType: InputType; dimensions: number | undefined },
): { inputType: InputType; dimensions: number | undefined } {
  const own = providerOptions?.[AI_SDK_PROVIDER];
  if (own === undefined) return defaults;
  const known = new Set(["inputType", "dimensions"]);
  for (const key of Object.keys(own)) {
    if (!known.has(key)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `providerOptions.${AI_SDK_PROVIDER}.${key} is not an embedkit option; use inputType or dimensions.`,
        { details: { param: key } },
      );
    }
  }
  return {
    inputType:
      own.inputType === undefined
        ? defaults.inputType
        : checkInputType(own.inputType, `providerOptions.${AI_SDK_PROVIDER}.inputType`),
    dimensions:
      own.dimensions === undefined
        ? defaults.dimensions
        : checkInteger(`providerOptions.${AI_SDK_PROVIDER}.dimensions`, own.dimensions, { min: 1 }),
  };
}

/**
 * Wrap an embedder as a Vercel AI SDK embedding model. The caller keeps
 * owning the embedder (close it when done).
 *
 * @throws EmbedkitError INVALID_OPTION for an unknown input type or bad dimensions (here, or per call)
 * @example
 * ```ts
 * import { cosineSimilarity, embed, embedMany } from "ai";
 * const embedder = await createEmbedder({ model: "bge-small-en-v1.5" });
 * const model = toAiSdkEmbeddingModel(embedder);
 * const { embeddings } = await embedMany({ model, values: ["sunny day at the beach", "rainy afternoon"] });
 * const { embedding } = await embed({
 *   model,
 *   value: "weather at the sea",
 *   providerOptions: { embedkit: { inputType: "query" } },
 * });
 * console.log(cosineSimilarity(embedding, embeddings[0]));
 * ```
 */
export function toAiSdkEmbeddingModel(
  embedder: Embedder,
  options: AiSdkEmbeddingModelOptions = {},
): AiSdkEmbeddingModel {
  const defaults = {
    inputType: checkInputType(options.inputType ?? "passage", "inputType"),
    dimensions:
      options.dimensions === undefined
        ? undefined
        : checkInteger("dimensions", options.dimensions, { min: 1, max: embedder.model.dims }),
  };
  return {
    specificationVersion: "v3",
    provider: AI_SDK_PROVIDER,
    modelId: embedder.model.id,
    // The embedder's pipeline batches by the model's own limits; one SDK call at a time
    // keeps a local model from being run twice at once.
    maxEmbeddingsPerCall: Number.POSITIVE_INFINITY,
    supportsParallelCalls: false,
    async doEmbed(call) {
      const { inputType, dimensions } = callOptions(call.providerOptions, defaults);
      const result = await embedder.embed(call.values, {
        inputType,
        ...(dimensions === undefined ? {} : { dimensions }),
        ...(call.abortSignal === undefined ? {} : { signal: call.abortSignal }),
      });
      return {
        embeddings: result.vectors.map((vector) => Array.from(vector)),
        usage: { tokens: result.usage.tokens },
        warnings: [],
      };
    },
  };
}
