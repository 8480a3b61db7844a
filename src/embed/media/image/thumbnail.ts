/**
 * @module embed/media/image/thumbnail
 * Small previews of indexed images, made at index time so a viewer (the
 * dashboard's map hover and item table) can show an image without the server
 * ever reading the file an item names — a collection writer could otherwise
 * make the server read any image file it can reach.
 *
 * A thumbnail is a `data:image/webp;base64,…` URL of the image fitted inside
 * 96 × 96 pixels (never enlarged; EXIF orientation applied, alpha flattened on
 * white), kept in the item's reserved metadata field {@link THUMBNAIL_FIELD}
 * — so every store backend keeps it through its normal upsert. Readers must
 * check a stored value with {@link isThumbnailDataUrl} before rendering it: a
 * collection writer can put anything in metadata (the field and the check are
 * in ./thumbnail-url, which the browser code shares).
 */
import { EmbedkitError } from "../../../errors.js";
import { loadSharp } from "../../../internal/load-dependency.js";
import { DEFAULT_MEDIA_LIMITS, type MediaInput, type MediaLimits } from "../media-embedder.js";
import { openMediaInput } from "../media-input.js";
import { malformedImage, readImageHeader } from "./decode-image.js";
import { MAX_THUMBNAIL_CHARS } from "./thumbnail-url.js";

export {
  isThumbnailDataUrl,
  MAX_THUMBNAIL_CHARS,
  THUMBNAIL_FIELD,
  withoutThumbnail,
} from "./thumbnail-url.js";

/** Longest side of a thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 96;

/** WebP qualities tried in turn until the data URL fits {@link MAX_THUMBNAIL_CHARS}. */
const QUALITIES = [50, 30, 10] as const;

/** Options of {@link imageThumbnail}. */
export interface ImageThumbnailOptions {
  /** Input limits (bytes, pixels), as for embedding. @default DEFAULT_MEDIA_LIMITS */
  readonly limits?: Pick<MediaLimits, "maxBytes" | "maxPixels">;
}

/**
 * Make the thumbnail of one image file (a path or `{ data, name }`): the same
 * checks as embedding it (type sniffed, size and pixel limits before decoding),
 * then fitted inside {@link THUMBNAIL_SIZE}² and encoded as WebP, returned as a
 * data URL of at most {@link MAX_THUMBNAIL_CHARS} characters.
 *
 * @throws EmbedkitError FILE_NOT_FOUND, UNSUPPORTED_MEDIA, INPUT_TOO_LARGE, MALFORMED_FILE (truncated or corrupt)
 * @example
 * ```ts
 * const url = await imageThumbnail("photos/cat.jpg"); // "data:image/webp;base64,UklGR…"
 * await collection.upsert([{ id: "cat", vector, text: "photos/cat.jpg", metadata: { [THUMBNAIL_FIELD]: url } }]);
 * ```
 */
export async function imageThumbnail(
  input: MediaInput,
  options: ImageThumbnailOptions = {},
): Promise<string> {
  const limits = options.limits ?? DEFAULT_MEDIA_LIMITS;
  const file = await openMediaInput(input, { modality: "image", limits });
  await readImageHeader(file, limits.maxPixels);
  const bytes = file.data;
  if (bytes === undefined) throw new EmbedkitError("INTERNAL", `${file.name} was opened without its bytes.`);
  const sharp = await loadSharp();
  for (const quality of QUALITIES) {
    let encoded: Buffer;
    try {
      encoded = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: "truncated", pages: 1 })
        .rotate()
        .flatten({ background: "#ffffff" })
        .toColourspace("srgb")
        .resize({ width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE, fit: "inside", withoutEnlargement: true })
        .webp({ quality, effort: 4 })
        .toBuffer();
    } catch (cause) {
      throw malformedImage(file, cause);
    }
    const url = `data:image/webp;base64,${encoded.toString("base64")}`;
    if (url.length <= MAX_THUMBNAIL_CHARS) return url;
  }
  throw new EmbedkitError(
    "INTERNAL",
    `The thumbnail of ${file.name} does not fit in ${MAX_THUMBNAIL_CHARS} characters even at WebP quality ${QUALITIES.at(-1)}.`,
    { details: { name: file.name } },
  );
}
