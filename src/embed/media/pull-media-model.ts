/**
 * @module embed/media/pull-media-model
 * What every media embedder factory does for a catalog model: resolve the
 * name, refuse a model of another modality (naming the right choices), and
 * make sure its files are in the cache and verified.
 */
import { EmbedkitError } from "../../errors.js";
import { withArticle } from "../../internal/english.js";
import type { ModelStore, PulledModel, PullProgress } from "../../models/model-store.js";
import type { MediaModality } from "./media-embedder.js";

/** Options of {@link pullMediaModel}. */
export interface PullMediaModelOptions {
  readonly store: ModelStore;
  /** Catalog id or alias. */
  readonly name: string;
  readonly modality: MediaModality;
  /** How to name the right models in the error, e.g. `default mobilenet-v2-nsfwjs, or "clip:dir:/path"`. */
  readonly choices: string;
  readonly onPullProgress?: (progress: PullProgress) => void;
}

/**
 * Resolve `name`, check its modality and pull it (once) into the cache.
 * @throws EmbedkitError UNKNOWN_MODEL; INVALID_OPTION for a model of another modality;
 *   the store's DOWNLOAD_FAILED / CHECKSUM_MISMATCH / CORRUPT_MODEL
 */
export async function pullMediaModel(options: PullMediaModelOptions): Promise<PulledModel> {
  const spec = await options.store.resolve(options.name);
  if (spec.modality !== options.modality) {
    const wanted = withArticle(`${options.modality} model`);
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${spec.id} is ${withArticle(`${spec.modality} model`)}, not ${wanted}. Use ${wanted} ` +
        `(${options.choices}) — see \`embedkit models list\`.`,
      { details: { model: spec.id, modality: spec.modality } },
    );
  }
  return options.store.ensure(spec, options.onPullProgress ? { onProgress: options.onPullProgress } : {});
}
