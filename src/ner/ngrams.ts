/**
 * @module ner/ngrams
 * Hashed unit n-gram features — the feature set of classic Chinese NER CRFs
 * (character unigrams and bigrams in a ±2 window): for each unit of a
 * sentence, one id per template, hashed into a fixed number of buckets. The
 * tagger feeds the ids to an embedding bag (`createEmbeddingBag`, a sparse
 * linear layer) next to the dense encoder vector, so surface patterns such as
 * "X省", "X公司" or common surnames are learned directly from the training
 * tags instead of being recovered from one character's contextual vector.
 *
 * Templates (offsets relative to the unit; `<s>`/`</s>` pad the sentence):
 * `U-2 U-1 U0 U+1 U+2` (unigrams), `B-2-1 B-10 B0+1 B+1+2` (adjacent
 * bigrams) and `S-1+1` (the pair around the unit). An id is
 * FNV-1a(template + units) mod buckets, so the table size is fixed whatever
 * the training data, and unseen n-grams at inference hash to (mostly) untrained
 * rows that stay near zero.
 */

/** One template: the unit offsets it joins. */
interface NgramTemplate {
  readonly name: string;
  readonly offsets: readonly number[];
}

const TEMPLATES: readonly NgramTemplate[] = [
  { name: "U-2", offsets: [-2] },
  { name: "U-1", offsets: [-1] },
  { name: "U0", offsets: [0] },
  { name: "U+1", offsets: [1] },
  { name: "U+2", offsets: [2] },
  { name: "B-2-1", offsets: [-2, -1] },
  { name: "B-10", offsets: [-1, 0] },
  { name: "B0+1", offsets: [0, 1] },
  { name: "B+1+2", offsets: [1, 2] },
  { name: "S-1+1", offsets: [-1, 1] },
];

/** Names of the n-gram templates, in slot order. */
export const NGRAM_TEMPLATES: readonly string[] = Object.freeze(TEMPLATES.map((template) => template.name));

/** Default number of hash buckets (2^18). */
export const DEFAULT_NGRAM_BUCKETS = 2 ** 18;

const BEGIN = "<s>";
const END = "</s>";

/** 32-bit FNV-1a over the UTF-16 code units of `text`. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Write the hashed n-gram ids of every unit of a sentence: for unit `position`,
 * slot `k` (template {@link NGRAM_TEMPLATES}[k]) goes to
 * `out[rowStart(position) + offset + k]`, a float holding an integer in `[0, buckets)`.
 * @example
 * ```ts
 * const out = new Float32Array(3 * NGRAM_TEMPLATES.length);
 * writeNgramIds(["北", "京", "市"], 1 << 18, out, (p) => p * NGRAM_TEMPLATES.length, 0);
 * ```
 */
export function writeNgramIds(
  units: readonly string[],
  buckets: number,
  out: Float32Array,
  rowStart: (position: number) => number,
  offset: number,
): void {
  const unitAt = (index: number): string => {
    if (index < 0) return BEGIN;
    if (index >= units.length) return END;
    return units[index] as string;
  };
  for (let position = 0; position < units.length; position++) {
    const base = rowStart(position) + offset;
    TEMPLATES.forEach((template, slot) => {
      let key = template.name;
      for (const relative of template.offsets) key += `\u0001${unitAt(position + relative)}`;
      out[base + slot] = fnv1a(key) % buckets;
    });
  }
}
