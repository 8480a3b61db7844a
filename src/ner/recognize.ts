/**
 * @module ner/recognize
 * The text-in, entities-out surface of NER: open a saved tagger together with
 * its encoder ({@link openTagger}), then {@link recognizeEntities} cuts text
 * into the tagger's units (CoNLL-style words or characters), tags them and
 * returns entity spans with UTF-16 offsets into the original string and a
 * confidence score.
 */
import { createEmbedder } from "../embed/create-embedder.js";
import type { OnnxEmbedder } from "../embed/onnx/onnx-embedder.js";
import { describeType, EmbedkitError } from "../errors.js";
import { headEncoderReference } from "../models/finetuned-folder.js";
import type { ModelStore } from "../models/model-store.js";
import { splitForTagging } from "./ner-words.js";
import { loadTagger, outputSpans, type Tagger, tagSentences } from "./tagger.js";

/** One recognised entity. */
export interface Entity {
  /** Entity type (`PER`, `LOC`, `ORG`, `MISC`, …). */
  readonly type: string;
  /** `text.slice(start, end)`. */
  readonly text: string;
  /** Start offset in the input, in UTF-16 code units (JavaScript string indices). */
  readonly start: number;
  /** End offset (exclusive), in UTF-16 code units. */
  readonly end: number;
  /** Mean probability the head gave the entity's tags (0–1). */
  readonly score: number;
}

/** A tagger with its encoder running, ready for {@link recognizeEntities}. */
export interface LoadedTagger extends Tagger {
  readonly embedder: OnnxEmbedder;
  /** Release the encoder. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link openTagger}. */
export interface OpenTaggerOptions {
  /** Model cache the encoder is pulled into. @default createModelStore() */
  readonly store?: ModelStore;
  /** Inference threads. @default all cores */
  readonly threads?: number;
}

/**
 * Load a tagger folder and start the encoder it was trained on.
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE; model errors from createEmbedder
 * @example
 * ```ts
 * const tagger = await openTagger("ner-en/");
 * console.log(await recognizeEntities(tagger, "Angela Merkel visited Paris."));
 * await tagger.close();
 * ```
 */
export async function openTagger(dir: string, options: OpenTaggerOptions = {}): Promise<LoadedTagger> {
  const tagger = await loadTagger(dir);
  const embedder = (await createEmbedder({
    // A tagger trained with a fine-tuned encoder carries it in its encoder/ sub-folder.
    model: await headEncoderReference(dir, tagger.settings.modelId),
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
  })) as OnnxEmbedder;
  if (typeof embedder.embedWords !== "function" || embedder.model.dims !== tagger.settings.dims) {
    await embedder.close();
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${dir} expects ${tagger.settings.dims}-dimensional token vectors from ${tagger.settings.modelId}, which this model does not provide.`,
      { details: { path: dir } },
    );
  }
  return { ...tagger, embedder, close: () => embedder.close() };
}

/** Options of {@link recognizeEntitiesMany}. */
export interface RecognizeOptions {
  /** Called after each encoder batch with texts done so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Find named entities in each text.
 * @throws EmbedkitError INVALID_INPUT for a non-string text
 */
export async function recognizeEntitiesMany(
  tagger: LoadedTagger,
  texts: readonly string[],
  options: RecognizeOptions = {},
): Promise<Entity[][]> {
  texts.forEach((text, index) => {
    if (typeof text !== "string") {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Text ${index} must be a string, received ${describeType(text)}.`,
        {
          details: { index },
        },
      );
    }
  });
  const units = texts.map((text) => splitForTagging(text, tagger.settings.unit));
  const outputs = await tagSentences(
    tagger,
    tagger.embedder,
    units.map((spans) => spans.map((span) => span.text)),
    options,
  );
  return texts.map((text, index) => {
    const spans = units[index] as ReturnType<typeof splitForTagging>;
    const output = outputs[index] as { tags: string[]; probabilities: number[] };
    return outputSpans(tagger, output.tags).map((entity) => {
      const start = (spans[entity.start] as { start: number }).start;
      const end = (spans[entity.end - 1] as { end: number }).end;
      let score = 0;
      for (let i = entity.start; i < entity.end; i++) score += output.probabilities[i] as number;
      return {
        type: entity.type,
        text: text.slice(start, end),
        start,
        end,
        score: score / (entity.end - entity.start),
      };
    });
  });
}

/**
 * Find named entities in a text.
 * @throws EmbedkitError INVALID_INPUT for a non-string text
 * @example
 * ```ts
 * const tagger = await openTagger("ner-en/");
 * await recognizeEntities(tagger, "EU rejects German call to boycott British lamb.");
 * // [{ type: "ORG", text: "EU", start: 0, end: 2, score: 0.98 }, { type: "MISC", text: "German", … }, …]
 * ```
 */
export async function recognizeEntities(tagger: LoadedTagger, text: string): Promise<Entity[]> {
  const [entities] = await recognizeEntitiesMany(tagger, [text]);
  return entities ?? [];
}
