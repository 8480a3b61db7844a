/**
 * @module train/encoder/base-model
 * The base encoder every fine-tuning task starts from: resolved in the model
 * store (pulled on first use), its training length checked against the
 * model's limit, and its tokenizer loaded.
 */
import { loadTextTokenizer, type TextTokenizer } from "../../embed/onnx/text-tokenizer.js";
import { checkInteger } from "../../internal/options.js";
import type { ModelSpec, ModelStore, PulledModel } from "../../models/index.js";

/** What {@link openBaseModel} returns. */
export interface BaseModel {
  readonly spec: ModelSpec;
  /** The model's files (`pulled.path("onnx")` for `readOnnxBert`). */
  readonly pulled: PulledModel;
  /** Longest training sequence in tokens (checked: 4 … the model's limit). */
  readonly maxTokens: number;
  readonly tokenizer: TextTokenizer;
}

/**
 * Resolve and pull the base model (`all-minilm-l6-v2` when none is named), check `maxTokens`
 * (default: `defaultMaxTokens` of the model's limit) and load the tokenizer — cut at `maxTokens`,
 * or at the model's limit with `tokenizerLimit: "model"` (tasks that tag long texts in windows).
 */
export async function openBaseModel(
  options: { readonly store: ModelStore; readonly model?: string; readonly maxTokens?: number },
  defaults: { readonly maxTokens: (modelLimit: number) => number; readonly tokenizerLimit?: "model" },
): Promise<BaseModel> {
  const spec = await options.store.resolve(options.model ?? "all-minilm-l6-v2");
  const maxTokens = checkInteger("maxTokens", options.maxTokens ?? defaults.maxTokens(spec.maxTokens), {
    min: 4,
    max: spec.maxTokens,
  });
  const pulled = await options.store.ensure(spec);
  const tokenizer = await loadTextTokenizer(
    pulled.path("tokenizer"),
    defaults.tokenizerLimit === "model" ? spec.maxTokens : maxTokens,
  );
  return { spec, pulled, maxTokens, tokenizer };
}
