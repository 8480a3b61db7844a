/**
 * @module embed/media/media-path-embedder
 * Present a {@link MediaEmbedder} as a text-shaped {@link Embedder} whose
 * "texts" are file paths, so everything built on `Embedder` — the vector
 * store's `indexDocuments` / `searchText`, `embedMany`, the CLI's collection
 * commands — works for image, video and audio collections unchanged: a
 * document's `text` is the file's path, and search-by-example is a search whose
 * query is a path. Token counts are 0 (media has no tokens).
 */
import type { Precision } from "../../vectors/quantize.js";
import type { Embedder, Embeddings, EmbedOptions, ModelInfo } from "../embedder.js";
import { validateTexts } from "../inputs.js";
import type { MediaEmbedder } from "./media-embedder.js";

/**
 * Wrap `media` so `embed(paths)` embeds the files at those paths. Closing the
 * wrapper closes `media`.
 * @example
 * ```ts
 * const images = mediaPathEmbedder(await createImageEmbedder());
 * const photos = await ensureCollection(store, "photos", images.model);
 * await indexDocuments(photos, images, [{ id: "cat", text: "cat.jpg" }]);
 * const hits = await searchText(photos, images, "query.jpg", { k: 5 });
 * ```
 */
export function mediaPathEmbedder(media: MediaEmbedder): Embedder {
  const model: ModelInfo = Object.freeze({
    id: media.model.id,
    dims: media.model.dims,
    modality: media.model.modality,
    maxTokens: 0,
    pooling: "mean",
    normalize: media.model.normalize,
    prefixes: Object.freeze({}),
    maxBatchSize: media.model.maxBatchSize,
  });
  return {
    model,
    async embed<P extends Precision = "float32">(
      paths: readonly string[],
      options: EmbedOptions<P> = {},
    ): Promise<Embeddings<P>> {
      validateTexts(paths);
      const result = await media.embed<P>(paths, {
        ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions }),
        ...(options.precision === undefined ? {} : { precision: options.precision }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      });
      return {
        vectors: result.vectors,
        dims: result.dims,
        precision: result.precision,
        usage: { tokens: 0 },
      };
    },
    async countTokens(paths) {
      validateTexts(paths);
      return paths.map(() => 0);
    },
    close: () => media.close(),
  };
}
