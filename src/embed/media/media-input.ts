/**
 * @module embed/media/media-input
 * Turning a {@link MediaInput} into checked bytes before any decoder sees it:
 * the file exists, is not empty, is under `maxBytes`, and its magic bytes say it
 * really is the expected modality (sniffed with `file-type`, never trusted from
 * the extension). A name whose extension claims another format than the content
 * ("photo.jpg" that is a PNG, "clip.mp4" that is a PDF) is refused with what the
 * file really is, because silently decoding mislabelled files hides upstream bugs.
 */
import { open, readFile, stat } from "node:fs/promises";
import { basename, extname } from "node:path";
import { describeType, EmbedkitError } from "../../errors.js";
import { withArticle } from "../../internal/english.js";
import { loadFileType } from "../../internal/load-dependency.js";
import type { MediaInput, MediaLimits, MediaModality } from "./media-embedder.js";

/** What the content of an input was sniffed as. */
export interface SniffedType {
  /** Canonical extension from the magic bytes (`jpg`, `png`, `mp4`, `wav`, ...). */
  readonly ext: string;
  readonly mime: string;
  /** The media modality this format belongs to, if any. */
  readonly modality: MediaModality | undefined;
}

/** A checked media input. `data` is present when the bytes were loaded into memory. */
export interface MediaFile {
  /** Display name: the path, the given name, or `input <index>`. */
  readonly name: string;
  /** Path on disk, for file inputs. */
  readonly path?: string;
  /** The encoded bytes (always for byte inputs; for files when `read` was true). */
  readonly data?: Uint8Array;
  /** Encoded size in bytes. */
  readonly bytes: number;
  readonly type: SniffedType;
}

/**
 * Container/codec formats accepted per modality (canonical `file-type` extensions).
 * Decoders may accept fewer (the image decoder checks with sharp).
 */
export const MEDIA_FORMATS: Readonly<Record<MediaModality, readonly string[]>> = Object.freeze({
  image: Object.freeze(["jpg", "png", "webp", "gif", "tif", "avif"]),
  video: Object.freeze(["mp4", "mov", "webm", "mkv", "avi", "m4v", "mpg", "mts", "flv", "3gp", "ogv"]),
  audio: Object.freeze(["wav", "flac", "mp3", "ogg", "opus", "oga", "m4a", "aac", "webm", "mka", "aiff"]),
});

/** Extensions that name the same format as the sniffed canonical one. */
const EXTENSION_ALIASES: Readonly<Record<string, readonly string[]>> = {
  jpg: ["jpg", "jpeg", "jpe", "jfif"],
  tif: ["tif", "tiff"],
  mp4: ["mp4", "m4v", "mov"],
  mov: ["mov", "mp4", "qt"],
  m4v: ["m4v", "mp4"],
  mkv: ["mkv", "webm", "mka"],
  webm: ["webm", "mkv", "weba"],
  mpg: ["mpg", "mpeg"],
  ogg: ["ogg", "oga", "ogv", "opus"],
  opus: ["opus", "ogg"],
  oga: ["oga", "ogg"],
  ogv: ["ogv", "ogg"],
  aiff: ["aiff", "aif"],
  m4a: ["m4a", "mp4", "aac"],
};

/** Every extension that some known format uses (only those are checked against content). */
const KNOWN_EXTENSIONS: ReadonlySet<string> = new Set([
  ...Object.values(MEDIA_FORMATS).flat(),
  ...Object.values(EXTENSION_ALIASES).flat(),
  "bmp",
  "svg",
  "heic",
  "pdf",
  "txt",
  "json",
  "zip",
]);

/** Bytes `file-type` needs to recognise every format it knows. */
const SNIFF_BYTES = 4100;

function modalityOf(ext: string, mime: string): MediaModality | undefined {
  for (const modality of ["image", "video", "audio"] as const) {
    if (MEDIA_FORMATS[modality].includes(ext)) {
      // webm/mkv are audio or video containers; the MIME top level decides.
      if (ext === "webm" || ext === "mkv") return mime.startsWith("audio/") ? "audio" : "video";
      return modality;
    }
  }
  if (mime.startsWith("image/")) return "image";
  if (mime.startsWith("video/")) return "video";
  if (mime.startsWith("audio/")) return "audio";
  return undefined;
}

/** Describe unrecognised content by its first bytes ("text", "binary"). */
function describeUnknown(head: Uint8Array): string {
  const sample = head.subarray(0, 512);
  let printable = 0;
  for (const byte of sample)
    if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127)) printable++;
  const hex = Array.from(head.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return printable / Math.max(sample.length, 1) > 0.95
    ? `plain text or an unknown text format (starts with ${JSON.stringify(new TextDecoder().decode(head.subarray(0, 24)))})`
    : `unrecognised binary data (first bytes ${hex})`;
}

/**
 * Sniff what bytes really are from their magic bytes.
 * @returns undefined when the format is not recognised
 */
export async function sniffMediaType(head: Uint8Array): Promise<SniffedType | undefined> {
  const { fileTypeFromBuffer } = await loadFileType();
  const found = await fileTypeFromBuffer(head.subarray(0, SNIFF_BYTES));
  if (found === undefined) return undefined;
  return { ext: found.ext, mime: found.mime, modality: modalityOf(found.ext, found.mime) };
}

/** Options of {@link openMediaInput}. */
export interface OpenMediaInputOptions {
  /** The modality the caller will decode. */
  readonly modality: MediaModality;
  readonly limits: Pick<MediaLimits, "maxBytes">;
  /** Position of the input in the call, for messages. */
  readonly index?: number;
  /** Load a file's bytes into memory (images); false keeps only the path (video). @default true */
  readonly read?: boolean;
}

function isNamedBytes(value: unknown): value is { data: Uint8Array; name?: unknown } {
  return typeof value === "object" && value !== null && "data" in value && value.data instanceof Uint8Array;
}

function tooLarge(name: string, bytes: number, maxBytes: number): EmbedkitError {
  return new EmbedkitError(
    "INPUT_TOO_LARGE",
    `${name} is ${bytes} bytes, over the limit of ${maxBytes} bytes. ` +
      "Shrink or split the file, or raise limits.maxBytes (CLI: --max-bytes) if you trust it.",
    { details: { name, bytes, maxBytes } },
  );
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Check one media input and (optionally) load its bytes: exists, not empty,
 * under `maxBytes`, content sniffed as the expected modality, extension agrees.
 *
 * @throws EmbedkitError INVALID_INPUT (wrong type), FILE_NOT_FOUND, MALFORMED_FILE (empty or
 *   unrecognised), INPUT_TOO_LARGE, UNSUPPORTED_MEDIA (another modality or a mislabelled file)
 */
export async function openMediaInput(input: MediaInput, options: OpenMediaInputOptions): Promise<MediaFile> {
  const { modality, limits } = options;
  const label = options.index === undefined ? "input" : `input ${options.index}`;
  let name: string;
  let path: string | undefined;
  let data: Uint8Array | undefined;
  let bytes: number;
  let head: Uint8Array;
  if (typeof input === "string") {
    if (input.trim() === "") {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${label} is an empty path. Expected a path to ${withArticle(modality)} file.`,
        {
          details: { index: options.index ?? null },
        },
      );
    }
    path = input;
    name = input;
    const stats = await stat(input).catch((cause: unknown) => {
      throw new EmbedkitError(
        "FILE_NOT_FOUND",
        `${label}: no such ${modality} file: ${input}. Check the path (relative paths resolve against ${process.cwd()}).`,
        { cause, details: { path: input } },
      );
    });
    if (!stats.isFile()) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `${input} is not a regular file (a folder?). Expected ${withArticle(modality)} file.`,
        {
          details: { path: input },
        },
      );
    }
    bytes = stats.size;
    if (bytes > limits.maxBytes) throw tooLarge(name, bytes, limits.maxBytes);
    if (bytes > 0) {
      if (options.read ?? true) {
        data = new Uint8Array(await readFile(input));
        head = data;
      } else {
        head = await readHead(input);
      }
    } else {
      head = new Uint8Array(0);
    }
  } else if (input instanceof Uint8Array || isNamedBytes(input)) {
    data = input instanceof Uint8Array ? input : input.data;
    const given = input instanceof Uint8Array ? undefined : input.name;
    name = typeof given === "string" && given !== "" ? given : label;
    bytes = data.byteLength;
    if (bytes > limits.maxBytes) throw tooLarge(name, bytes, limits.maxBytes);
    head = data;
  } else {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `${label} must be a file path, a Uint8Array or { data: Uint8Array, name? }, received ${describeType(input)}.`,
      { details: { index: options.index ?? null, received: describeType(input) } },
    );
  }
  if (bytes === 0) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${name} is empty (0 bytes); expected ${withArticle(modality)} file.`,
      {
        details: { name },
      },
    );
  }
  const type = await sniffMediaType(head);
  const expected = MEDIA_FORMATS[modality];
  if (type === undefined) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${name} is not a recognisable ${modality} file: its content is ${describeUnknown(head)}. ` +
        `Expected one of ${expected.join(", ")}.`,
      { details: { name, expected } },
    );
  }
  if (type.modality !== modality || !expected.includes(type.ext)) {
    throw new EmbedkitError(
      "UNSUPPORTED_MEDIA",
      `${name} is ${type.modality ? withArticle(`${type.modality} file`) : "not media"} (${type.mime}, .${type.ext}), ` +
        `not ${withArticle(modality)}. Expected one of ${expected.join(", ")}` +
        (type.modality && type.modality !== modality ? `; use --modality ${type.modality} for it.` : "."),
      { details: { name, sniffed: type.ext, mime: type.mime, expected } },
    );
  }
  const extension = extname(basename(name)).slice(1).toLowerCase();
  const accepted = EXTENSION_ALIASES[type.ext] ?? [type.ext];
  if (extension !== "" && KNOWN_EXTENSIONS.has(extension) && !accepted.includes(extension)) {
    throw new EmbedkitError(
      "UNSUPPORTED_MEDIA",
      `${name} is named .${extension} but its content is ${type.mime} (.${type.ext}). ` +
        `The file is mislabelled or damaged; rename it to .${type.ext} if the content is what you meant.`,
      { details: { name, extension, sniffed: type.ext, mime: type.mime } },
    );
  }
  return {
    name,
    ...(path === undefined ? {} : { path }),
    ...(data === undefined ? {} : { data }),
    bytes,
    type,
  };
}

/**
 * The media modality of a file from its magic bytes (for "search by example").
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE (empty), UNSUPPORTED_MEDIA (not image/video/audio)
 */
export async function sniffFileModality(path: string): Promise<MediaModality> {
  const head = await readHead(path).catch((cause: unknown) => {
    throw new EmbedkitError("FILE_NOT_FOUND", `No such file: ${path}.`, { cause, details: { path } });
  });
  if (head.length === 0) {
    throw new EmbedkitError("MALFORMED_FILE", `${path} is empty (0 bytes).`, { details: { name: path } });
  }
  const type = await sniffMediaType(head);
  if (type?.modality === undefined) {
    throw new EmbedkitError(
      "UNSUPPORTED_MEDIA",
      `${path} is ${type === undefined ? describeUnknown(head) : `${type.mime} (.${type.ext})`}, not an image, video or audio file.`,
      { details: { name: path } },
    );
  }
  return type.modality;
}

/**
 * Merge per-call limits over defaults, checking every value is a positive number.
 * @throws EmbedkitError INVALID_OPTION
 */
export function resolveMediaLimits(base: MediaLimits, override: Partial<MediaLimits> = {}): MediaLimits {
  const merged = { ...base, ...override };
  for (const [key, value] of Object.entries(merged)) {
    if (typeof value !== "number" || !(value > 0)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `limits.${key} must be a positive number, received ${JSON.stringify(value)}.`,
        { details: { option: `limits.${key}` } },
      );
    }
  }
  return Object.freeze(merged);
}
