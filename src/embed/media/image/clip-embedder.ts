/**
 * @module embed/media/image/clip-embedder
 * Placeholder replaced by the CLIP implementation in the next commit.
 */
import { EmbedkitError } from "../../../errors.js";
import type { ImageTextEmbedder } from "../media-embedder.js";
import type { PixelEmbedder } from "./tfjs-image-embedder.js";

/** Options of {@link createClipEmbedder}. */
export interface CreateClipEmbedderOptions {
  readonly model: string;
}

/** A CLIP pair. */
export interface ClipEmbedder extends ImageTextEmbedder {
  readonly image: PixelEmbedder;
}

/** Not yet available. */
export async function createClipEmbedder(options: CreateClipEmbedderOptions): Promise<ClipEmbedder> {
  throw new EmbedkitError("UNKNOWN_MODEL", `CLIP models are not supported yet (${options.model}).`);
}
