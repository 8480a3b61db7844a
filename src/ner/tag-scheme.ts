/**
 * @module ner/tag-scheme
 * Tagging schemes for named entities: BIO (IOB2: `B-X` opens an entity, `I-X`
 * continues it, `O` is outside) and BIOES (adds `E-X` for the last token of a
 * multi-token entity and `S-X` for a single-token one). One place decides
 * which tags exist, which transitions are legal, and how tags, spans and the
 * two schemes convert into each other. Span extraction itself is
 * {@link bioToSpans} from the eval layer (conlleval's rules), so scoring and
 * decoding agree on what an entity is.
 */
import { bioToSpans, type EntitySpan } from "../eval/entity-f1.js";

/** Supported tagging schemes. */
export const TAG_SCHEMES = Object.freeze(["bio", "bioes"] as const);

/** A tagging scheme: `bio` (IOB2) or `bioes`. */
export type TagScheme = (typeof TAG_SCHEMES)[number];

/** A tag split into its prefix and entity type (`type` is empty for `O`). */
export interface ParsedTag {
  readonly prefix: "O" | "B" | "I" | "E" | "S";
  readonly type: string;
}

const PREFIXES: Readonly<Record<TagScheme, string>> = { bio: "BI", bioes: "BIES" };

/**
 * Parse a tag under a scheme; undefined when the tag does not belong to it
 * (`S-PER` under BIO, `B_PER`, `b-per`, `B-`).
 */
export function parseTag(tag: string, scheme: TagScheme): ParsedTag | undefined {
  if (tag === "O") return { prefix: "O", type: "" };
  const match = /^([A-Z])-(\S+)$/.exec(tag);
  if (match === null || !PREFIXES[scheme].includes(match[1] as string)) return undefined;
  return { prefix: match[1] as ParsedTag["prefix"], type: match[2] as string };
}

/**
 * All tags of a scheme for the given entity types, in a fixed order: `O`, then
 * per type (sorted) `B-`, `I-` (and `E-`, `S-` for BIOES).
 * @example
 * ```ts
 * tagSet(["PER", "LOC"], "bio"); // ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
 * ```
 */
export function tagSet(types: readonly string[], scheme: TagScheme): string[] {
  const tags = ["O"];
  for (const type of [...new Set(types)].sort()) {
    for (const prefix of PREFIXES[scheme]) tags.push(`${prefix}-${type}`);
  }
  return tags;
}

/**
 * Whether `next` may follow `previous` (undefined = sentence start) in a
 * well-formed sequence: under BIO an `I-X` only after `B-X` or `I-X`; under
 * BIOES `I-X`/`E-X` only after `B-X`/`I-X`, and after `B-X`/`I-X` only
 * `I-X`/`E-X`.
 */
export function isAllowedTransition(
  previous: ParsedTag | undefined,
  next: ParsedTag | undefined,
  scheme: TagScheme,
): boolean {
  const open = previous !== undefined && (previous.prefix === "B" || previous.prefix === "I");
  const continues = next !== undefined && (next.prefix === "I" || next.prefix === "E");
  if (scheme === "bio") {
    if (next?.prefix !== "I") return true;
    return open && previous?.type === next.type;
  }
  // BIOES: an open entity must continue with I/E of its own type, and only an open one may.
  if (open) return continues && previous?.type === next?.type;
  return !continues;
}

/**
 * Whether a sentence may end after `last` (undefined = empty sentence): under
 * BIOES not inside an entity (after `B-X` or `I-X`); under BIO always.
 */
export function isAllowedEnd(last: ParsedTag | undefined, scheme: TagScheme): boolean {
  return scheme === "bio" || last === undefined || (last.prefix !== "B" && last.prefix !== "I");
}

function toBio(tags: readonly string[], scheme: TagScheme): string[] {
  if (scheme === "bio") return [...tags];
  return tags.map((tag) => {
    if (tag.startsWith("S-")) return `B-${tag.slice(2)}`;
    if (tag.startsWith("E-")) return `I-${tag.slice(2)}`;
    return tag;
  });
}

/**
 * Entity spans `[start, end)` (in tag positions) of a tag sequence. Ill-formed
 * sequences are read leniently, as conlleval does: an `I-X` that continues
 * nothing opens an entity.
 * @throws EmbedkitError INVALID_INPUT for a tag that is not `O` or prefix-type
 */
export function tagsToSpans(tags: readonly string[], scheme: TagScheme): EntitySpan[] {
  return bioToSpans(toBio(tags, scheme));
}

/**
 * Tags for entity spans over a sequence of `length` positions (spans must not
 * overlap).
 * @example
 * ```ts
 * spansToTags([{ start: 1, end: 3, type: "PER" }], 4, "bioes"); // ["O", "B-PER", "E-PER", "O"]
 * ```
 */
export function spansToTags(spans: readonly EntitySpan[], length: number, scheme: TagScheme): string[] {
  const tags = new Array<string>(length).fill("O");
  for (const { start, end, type } of spans) {
    for (let position = start; position < end; position++) tags[position] = `I-${type}`;
    if (scheme === "bio") {
      tags[start] = `B-${type}`;
    } else if (end - start === 1) {
      tags[start] = `S-${type}`;
    } else {
      tags[start] = `B-${type}`;
      tags[end - 1] = `E-${type}`;
    }
  }
  return tags;
}

/**
 * Convert a tag sequence between schemes (through its spans, so an ill-formed
 * input comes out well-formed).
 */
export function convertTags(tags: readonly string[], from: TagScheme, to: TagScheme): string[] {
  return spansToTags(tagsToSpans(tags, from), tags.length, to);
}
