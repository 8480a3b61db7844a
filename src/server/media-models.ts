/**
 * @module server/media-models
 * Audio and image models behind `POST /v1/embeddings`. OpenAI's `input` is
 * text, so a media model takes each input string as the file's bytes in
 * base64 (plain, or a `data:<mime>;base64,` URL) — the same JSON envelope,
 * `dimensions` and `encoding_format` as text, answered in OpenAI's shape with
 * `usage` tokens of 0. Models load lazily on first use (concurrent first
 * requests share one load; a failed load is forgotten). Each request runs the
 * model directly: media inputs are decoded one by one anyway, so there is
 * nothing for the text batcher to coalesce.
 */
import { createAudioEmbedder } from "../embed/media/audio/create-audio-embedder.js";
import type { MediaEmbedder, MediaModality, NamedBytes } from "../embed/media/media-embedder.js";
import { EmbedkitError } from "../errors.js";
import { withArticle } from "../internal/english.js";
import type { ModelStore } from "../models/model-store.js";
import { float32ToBase64 } from "../vectors/codec.js";
import type { EmbeddingsRequest } from "./embeddings-request.js";

/** Options of {@link createMediaModels}. */
export interface MediaModelsOptions {
  /** Served media model names: audio (`resemblyzer-ge2e`, `mfcc-stats`, `wav2vec2:dir:…`, `wav2vec2:hf:…`, `clap:dir:…`, `clap:hf:…`) or image catalog models. */
  readonly models: readonly string[];
  readonly store: ModelStore;
  readonly threads?: number;
}

/** The media models one server serves. */
export interface MediaModels {
  /** Whether `name` is a served media model. */
  has(name: string): boolean;
  /** Served media model names (for `GET /v1/models`). */
  list(): readonly string[];
  /**
   * Answer an embeddings request for a media model in OpenAI's shape.
   * @throws EmbedkitError INVALID_INPUT (not base64), and the embedder's input errors
   */
  embed(request: EmbeddingsRequest, signal: AbortSignal): Promise<unknown>;
  /** Close every loaded model. */
  close(): Promise<void>;
}

const DATA_URL = /^data:([^;,]*)(;[^,]*)?;base64,/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The modality of a served name; image names go through the catalog. */
async function modalityOf(name: string, store: ModelStore): Promise<MediaModality> {
  if (/^(mfcc|mfcc-stats|(wav2vec2|clap):(dir|hf):.*)$/i.test(name.trim())) return "audio";
  const spec = await store.resolve(name);
  if (spec.modality !== "audio" && spec.modality !== "image") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${name} is ${withArticle(`${spec.modality} model`)}; mediaModels takes audio or image models (serve text models with "models").`,
      { details: { option: "mediaModels", model: name } },
    );
  }
  return spec.modality;
}

/** Decode one `input` string (base64 or a base64 data URL) into bytes. */
function decodeInput(input: unknown, index: number, model: string): NamedBytes {
  if (typeof input !== "string") {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Invalid 'input': input[${index}] must be a string holding the file in base64 for the media model ${model}; ` +
        "token arrays are for text models.",
      { details: { param: "input", index } },
    );
  }
  const match = DATA_URL.exec(input);
  const body = (match === null ? input : input.slice(match[0].length)).replace(/\s+/g, "");
  if (body.length === 0 || body.length % 4 === 1 || !BASE64.test(body)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Invalid 'input': input[${index}] is not base64. ${model} takes each input as the file's bytes in base64 ` +
        '(e.g. "UklGR…" for a WAV) or as a data URL ("data:audio/wav;base64,UklGR…").',
      { details: { param: "input", index } },
    );
  }
  return { data: new Uint8Array(Buffer.from(body, "base64")), name: `input[${index}]` };
}

/**
 * Serve media models by name.
 * @example
 * ```ts
 * const media = createMediaModels({ models: ["resemblyzer-ge2e"], store: createModelStore() });
 * ```
 */
export function createMediaModels(options: MediaModelsOptions): MediaModels {
  const names = new Set(options.models);
  const loading = new Map<string, Promise<MediaEmbedder>>();
  const threads = options.threads === undefined ? {} : { threads: options.threads };

  const load = (name: string): Promise<MediaEmbedder> => {
    let promise = loading.get(name);
    if (promise === undefined) {
      promise = (async () => {
        const modality = await modalityOf(name, options.store);
        if (modality === "audio")
          return createAudioEmbedder({ model: name, store: options.store, ...threads });
        const { createImageEmbedder } = await import("../embed/media/image/create-image-embedder.js");
        return createImageEmbedder({ model: name, store: options.store, ...threads });
      })();
      loading.set(name, promise);
      promise.catch(() => loading.delete(name));
    }
    return promise;
  };

  return {
    has: (name) => names.has(name),
    list: () => [...names],
    async embed(request, signal) {
      const embedder = await load(request.model);
      const inputs = request.inputs.map((input, index) => decodeInput(input, index, request.model));
      if (request.dimensions !== undefined && request.dimensions > embedder.model.dims) {
        throw new EmbedkitError(
          "INVALID_OPTION",
          `Invalid 'dimensions': ${request.dimensions} is larger than ${embedder.model.id}'s ${embedder.model.dims} dimensions.`,
          { details: { param: "dimensions", max: embedder.model.dims, received: request.dimensions } },
        );
      }
      const { vectors } = await embedder.embed(inputs, {
        signal,
        ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
      });
      return {
        object: "list",
        data: vectors.map((vector, index) => {
          return {
            object: "embedding",
            index,
            embedding: request.encodingFormat === "base64" ? float32ToBase64(vector) : Array.from(vector),
          };
        }),
        model: request.model,
        usage: { prompt_tokens: 0, total_tokens: 0 },
      };
    },
    async close() {
      const loaded = await Promise.allSettled(loading.values());
      loading.clear();
      for (const result of loaded) if (result.status === "fulfilled") await result.value.close();
    },
  };
}
