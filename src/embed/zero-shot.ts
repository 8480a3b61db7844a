/**
 * @module embed/zero-shot
 * Zero-shot text classification from label names: each label is put into a
 * prompt template ("This text is about {label}."), the prompts and the texts are embedded
 * by the same model, and a text gets the label whose prompt is most similar
 * (cosine), with probabilities from a softmax over the similarities divided by
 * a temperature. How well this works depends mostly on the template and on how
 * each side is prefixed, so every catalog text model has measured defaults
 * ({@link ZERO_SHOT_DEFAULTS}, chosen by `bench/zero-shot.ts` on training
 * splits and reported on held-out ones; docs/EVALUATION.md has the numbers).
 */
import { EmbedkitError } from "../errors.js";
import { checkNumber } from "../internal/options.js";
import { cosineSimilarity } from "../vectors/math.js";
import type { Embedder, InputType } from "./embedder.js";

/** How labels become prompts and how both sides are prefixed. */
export interface ZeroShotSettings {
  /** Prompt per label; `{label}` is replaced by the label. */
  readonly template: string;
  /** Input type of the texts being classified (e5 needs its "query: " prefix). */
  readonly textInputType: InputType;
  /** Input type of the label prompts. */
  readonly labelInputType: InputType;
}

/** Settings for a model without measured defaults: the template embedkit used before per-model defaults. */
export const GENERIC_ZERO_SHOT_SETTINGS: ZeroShotSettings = Object.freeze({
  template: "This text is about {label}.",
  textInputType: "none",
  labelInputType: "none",
});

// e5: the label prompts as queries looking for the texts as passages (its asymmetric use).
const ENGLISH_E5: ZeroShotSettings = Object.freeze({
  template: GENERIC_ZERO_SHOT_SETTINGS.template,
  textInputType: "passage",
  labelInputType: "query",
});
const CHINESE_BGE: ZeroShotSettings = Object.freeze({
  template: "{label}",
  textInputType: "none",
  labelInputType: "none",
});

/**
 * Measured zero-shot defaults of the catalog text models (quantized variants
 * share their model's). Chosen by mean accuracy over the shared sets' training
 * splits; see docs/EVALUATION.md ("Zero-shot classification").
 */
export const ZERO_SHOT_DEFAULTS: Readonly<Record<string, ZeroShotSettings>> = Object.freeze({
  "all-minilm-l6-v2": GENERIC_ZERO_SHOT_SETTINGS,
  "all-minilm-l6-v2-q": GENERIC_ZERO_SHOT_SETTINGS,
  "bge-small-en-v1.5": GENERIC_ZERO_SHOT_SETTINGS,
  "bge-small-en-v1.5-q": GENERIC_ZERO_SHOT_SETTINGS,
  "e5-small-v2": ENGLISH_E5,
  "e5-small-v2-q": ENGLISH_E5,
  "bge-small-zh-v1.5": CHINESE_BGE,
  "bge-small-zh-v1.5-q": CHINESE_BGE,
});

/** Zero-shot models chosen when none is given: by the script of the labels and texts. */
export const DEFAULT_ZERO_SHOT_MODELS = Object.freeze({ en: "bge-small-en-v1.5", zh: "bge-small-zh-v1.5" });

/** Default softmax temperature over cosine similarities. */
export const DEFAULT_ZERO_SHOT_TEMPERATURE = 0.02;

/** The measured defaults of `modelId`, or {@link GENERIC_ZERO_SHOT_SETTINGS} for other models. */
export function zeroShotDefaults(modelId: string): ZeroShotSettings {
  return Object.hasOwn(ZERO_SHOT_DEFAULTS, modelId)
    ? (ZERO_SHOT_DEFAULTS[modelId] as ZeroShotSettings)
    : GENERIC_ZERO_SHOT_SETTINGS;
}

/** One text's zero-shot result. */
export interface ZeroShotPrediction {
  /** The most likely label. */
  readonly label: string;
  /** Its probability. */
  readonly score: number;
  /** Every label's probability (softmax over cosine similarities / temperature). */
  readonly probabilities: Readonly<Record<string, number>>;
}

/** Options of {@link createZeroShotClassifier}. */
export interface ZeroShotClassifierOptions {
  readonly embedder: Embedder;
  /** At least two distinct, non-empty labels (names or short descriptions). */
  readonly labels: readonly string[];
  /** Prompt template with `{label}`. @default the model's {@link zeroShotDefaults} template */
  readonly template?: string;
  /** @default the model's {@link zeroShotDefaults} */
  readonly textInputType?: InputType;
  /** @default the model's {@link zeroShotDefaults} */
  readonly labelInputType?: InputType;
  /** Softmax temperature (> 0); lower is more peaked. @default 0.02 */
  readonly temperature?: number;
}

/** Options of {@link ZeroShotClassifier.classify}. */
export interface ZeroShotClassifyOptions {
  /** Called after every batch with texts done so far. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Texts per embed call. @default 256 */
  readonly batchSize?: number;
}

/** A zero-shot classifier over one embedder and label set. */
export interface ZeroShotClassifier {
  readonly labels: readonly string[];
  /** The settings in effect (defaults filled in). */
  readonly settings: ZeroShotSettings;
  readonly temperature: number;
  /** One label vector per label (unit length, the embedder's). */
  readonly labelVectors: readonly Float32Array[];
  /** Classify texts already embedded with {@link ZeroShotSettings.textInputType}. */
  predict(vectors: readonly Float32Array[]): ZeroShotPrediction[];
  /** Embed (with the text input type) and classify texts. */
  classify(texts: readonly string[], options?: ZeroShotClassifyOptions): Promise<ZeroShotPrediction[]>;
}

/** Softmax of `scores / temperature`. */
function softmax(scores: readonly number[], temperature: number): number[] {
  const max = Math.max(...scores);
  const exps = scores.map((score) => Math.exp((score - max) / temperature));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
}

function checkLabels(labels: readonly string[]): string[] {
  const cleaned = labels.map((label) => (typeof label === "string" ? label.trim() : ""));
  if (cleaned.length < 2 || cleaned.some((label) => label === "")) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Zero-shot classification needs at least two distinct, non-empty labels, received ${JSON.stringify(labels)}.`,
      { details: { param: "labels" } },
    );
  }
  if (new Set(cleaned).size !== cleaned.length) {
    throw new EmbedkitError("INVALID_OPTION", `Zero-shot labels repeat: ${JSON.stringify(labels)}.`, {
      details: { param: "labels" },
    });
  }
  return cleaned;
}

/**
 * Create a zero-shot classifier: embeds the label prompts once; `classify`
 * embeds texts and picks the closest prompt.
 *
 * @throws EmbedkitError INVALID_OPTION for fewer than two distinct labels, a template without
 *   `{label}` or a temperature ≤ 0; errors of `embedder.embed`
 * @example
 * ```ts
 * const embedder = await createEmbedder({ model: "bge-small-en-v1.5" });
 * const classifier = await createZeroShotClassifier({ embedder, labels: ["positive", "negative"] });
 * const [result] = await classifier.classify(["what a wonderful film"]);
 * console.log(result.label, result.score);
 * ```
 */
export async function createZeroShotClassifier(
  options: ZeroShotClassifierOptions,
): Promise<ZeroShotClassifier> {
  const labels = checkLabels(options.labels);
  const defaults = zeroShotDefaults(options.embedder.model.id);
  const settings: ZeroShotSettings = {
    template: options.template ?? defaults.template,
    textInputType: options.textInputType ?? defaults.textInputType,
    labelInputType: options.labelInputType ?? defaults.labelInputType,
  };
  if (!settings.template.includes("{label}")) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `The zero-shot template must contain {label} where the label goes, received ${JSON.stringify(settings.template)}.`,
      { details: { param: "template" } },
    );
  }
  const temperature = options.temperature ?? DEFAULT_ZERO_SHOT_TEMPERATURE;
  checkNumber("temperature", temperature, { above: 0 });
  const { embedder } = options;
  const prompts = labels.map((label) => settings.template.replaceAll("{label}", label));
  const labelVectors = (await embedder.embed(prompts, { inputType: settings.labelInputType })).vectors;
  const predict = (vectors: readonly Float32Array[]): ZeroShotPrediction[] =>
    vectors.map((vector) => {
      const probabilities = softmax(
        labelVectors.map((labelVector) => cosineSimilarity(vector, labelVector)),
        temperature,
      );
      let best = 0;
      for (let c = 1; c < labels.length; c++) {
        if ((probabilities[c] as number) > (probabilities[best] as number)) best = c;
      }
      return {
        label: labels[best] as string,
        score: probabilities[best] as number,
        probabilities: Object.fromEntries(labels.map((label, c) => [label, probabilities[c] as number])),
      };
    });
  return {
    labels,
    settings,
    temperature,
    labelVectors,
    predict,
    async classify(texts, classifyOptions = {}) {
      const batchSize = classifyOptions.batchSize ?? 256;
      const vectors: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        const result = await embedder.embed(texts.slice(start, start + batchSize), {
          inputType: settings.textInputType,
        });
        vectors.push(...result.vectors);
        classifyOptions.onProgress?.(vectors.length, texts.length);
      }
      return predict(vectors);
    },
  };
}
