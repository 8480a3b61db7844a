/**
 * @module embed/media/image/thumbnail-url
 * The reserved metadata field of an image item's thumbnail and the check a
 * reader runs before rendering one. No imports, so the dashboard's browser
 * code uses this same file (web/src/shared.tsx) as the server does.
 */

/** The reserved metadata field holding an item's thumbnail (a data URL; see embed/media/image/thumbnail). */
export const THUMBNAIL_FIELD = "_thumbnail";

/** Most characters of a thumbnail data URL (under the store's 8 KiB metadata value limit). */
export const MAX_THUMBNAIL_CHARS = 8000;

/**
 * What a renderable thumbnail looks like: a base64 data URL of a WebP, JPEG or
 * PNG image and nothing else (no `javascript:`, remote URL, SVG or HTML).
 */
const THUMBNAIL_PATTERN = /^data:image\/(?:webp|jpeg|png);base64,[A-Za-z0-9+/]+={0,2}$/;

/**
 * True when `value` is a thumbnail that is safe to use as an `<img src>`: a
 * string of at most {@link MAX_THUMBNAIL_CHARS} characters matching
 * `data:image/(webp|jpeg|png);base64,<base64>`. The field is written by
 * whoever writes the collection, so every reader checks it.
 */
export function isThumbnailDataUrl(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_THUMBNAIL_CHARS && THUMBNAIL_PATTERN.test(value);
}

/** `metadata` without the reserved thumbnail field (for colours, terminal output, or before the field is checked). */
export function withoutThumbnail<V>(metadata: Readonly<Record<string, V>>): Record<string, V> {
  const { [THUMBNAIL_FIELD]: _thumbnail, ...rest } = metadata;
  return rest;
}
