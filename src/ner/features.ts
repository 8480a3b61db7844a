/**
 * @module ner/features
 * Word-shape features appended to each word's encoder vector. The encoders we
 * ship (all-MiniLM-L6-v2, bge-small-en-v1.5) lowercase their input, so the
 * strongest surface cue for English names — capitalisation — never reaches the
 * hidden states; eight binary shape bits put it back. Character-level taggers
 * (Chinese) do not use them.
 */

/** Names of the shape features, in vector order. */
export const SHAPE_FEATURES = Object.freeze([
  "initial-capital",
  "all-capitals",
  "all-lowercase",
  "mixed-case",
  "has-digit",
  "only-digits-and-punctuation",
  "punctuation",
  "sentence-initial",
] as const);

const LETTER = /\p{L}/u;
const UPPER = /\p{Lu}/u;
const LOWER = /\p{Ll}/u;
const DIGIT = /\p{Nd}/u;
const DIGITS_AND_PUNCTUATION = /^[\p{Nd}\p{P}\p{S}]+$/u;
const PUNCTUATION = /^[\p{P}\p{S}]+$/u;

/**
 * Shape bits of a word (see {@link SHAPE_FEATURES}) written into `out` from `offset`.
 * @example
 * ```ts
 * const out = new Float32Array(8);
 * writeShapeFeatures("EU", 0, out, 0); // all-capitals and sentence-initial set
 * ```
 */
export function writeShapeFeatures(word: string, position: number, out: Float32Array, offset: number): void {
  const letters = [...word].filter((character) => LETTER.test(character));
  const upper = letters.filter((character) => UPPER.test(character)).length;
  const lower = letters.filter((character) => LOWER.test(character)).length;
  const first = letters[0];
  out[offset] = first !== undefined && UPPER.test(first) && upper === 1 ? 1 : 0;
  out[offset + 1] = upper > 0 && lower === 0 ? 1 : 0;
  out[offset + 2] = lower > 0 && upper === 0 ? 1 : 0;
  out[offset + 3] =
    upper > 0 && lower > 0 && !(first !== undefined && UPPER.test(first) && upper === 1) ? 1 : 0;
  out[offset + 4] = DIGIT.test(word) ? 1 : 0;
  out[offset + 5] = DIGITS_AND_PUNCTUATION.test(word) ? 1 : 0;
  out[offset + 6] = PUNCTUATION.test(word) ? 1 : 0;
  out[offset + 7] = position === 0 ? 1 : 0;
}
