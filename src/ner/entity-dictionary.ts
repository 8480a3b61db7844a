/**
 * @module ner/entity-dictionary
 * Dictionary-match features: every multi-unit entity seen in training (e.g.
 * "中国银行" as ORG) goes into a dictionary of surface forms per type; each
 * unit of a sentence then gets, per type, three bits — it begins, continues or
 * ends a span of the sentence that matches a dictionary entry. This is the
 * classic gazetteer feature of Chinese NER, where a character-level head
 * otherwise has to find multi-character names from one character's vector.
 * Like the lexicon, training rows see a dictionary built from the other folds
 * only (cross-fitting), so the head learns how far to trust a match on unseen text.
 */

/** Entity surface forms per type, and the longest form (in units). */
export interface EntityDictionary {
  readonly types: readonly string[];
  /** Surface form (units joined with `separator`) → indices of the types it was seen as. */
  readonly forms: ReadonlyMap<string, readonly number[]>;
  readonly longest: number;
  readonly separator: string;
}

/** Longest entity (in units) the dictionary stores. */
const MAX_FORM_UNITS = 12;

/** Feature columns a dictionary adds: begin / inside / end per type. */
export function dictionaryWidth(types: number): number {
  return 3 * types;
}

/**
 * Collect the multi-unit entities of the sentences `include` accepts.
 * @param spans Entity spans (unit positions) of each sentence.
 */
export function buildEntityDictionary(
  sentences: ReadonlyArray<readonly string[]>,
  spans: ReadonlyArray<
    ReadonlyArray<{ readonly start: number; readonly end: number; readonly type: string }>
  >,
  types: readonly string[],
  separator: string,
  include: (sentence: number) => boolean = () => true,
): EntityDictionary {
  const typeIndex = new Map(types.map((type, index) => [type, index]));
  const forms = new Map<string, number[]>();
  let longest = 0;
  sentences.forEach((words, sentence) => {
    if (!include(sentence)) return;
    for (const span of spans[sentence] ?? []) {
      const length = span.end - span.start;
      const type = typeIndex.get(span.type);
      if (length < 2 || length > MAX_FORM_UNITS || type === undefined) continue;
      const form = words.slice(span.start, span.end).join(separator);
      const seen = forms.get(form) ?? [];
      if (!seen.includes(type)) seen.push(type);
      forms.set(form, seen);
      longest = Math.max(longest, length);
    }
  });
  return { types, forms, longest, separator };
}

/**
 * Write dictionary-match bits for every unit of a sentence: `out[row(position) + offset + 3·type + k]`
 * with k = 0 begins, 1 inside, 2 ends a match.
 */
export function writeDictionaryFeatures(
  dictionary: EntityDictionary,
  words: readonly string[],
  out: Float32Array,
  rowStart: (position: number) => number,
  offset: number,
): void {
  for (let start = 0; start < words.length; start++) {
    let form = words[start] as string;
    for (let end = start + 2; end <= Math.min(words.length, start + dictionary.longest); end++) {
      form += dictionary.separator + (words[end - 1] as string);
      const types = dictionary.forms.get(form);
      if (types === undefined) continue;
      for (const type of types) {
        out[rowStart(start) + offset + 3 * type] = 1;
        for (let inside = start + 1; inside < end - 1; inside++)
          out[rowStart(inside) + offset + 3 * type + 1] = 1;
        out[rowStart(end - 1) + offset + 3 * type + 2] = 1;
      }
    }
  }
}

/** A dictionary as plain JSON (for saving with a tagger). */
export function dictionaryToJson(dictionary: EntityDictionary): Record<string, unknown> {
  return {
    types: dictionary.types,
    separator: dictionary.separator,
    longest: dictionary.longest,
    forms: Object.fromEntries(dictionary.forms),
  };
}

/** Read a dictionary written by {@link dictionaryToJson}; undefined when the JSON does not hold one. */
export function dictionaryFromJson(json: unknown): EntityDictionary | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const value = json as Record<string, unknown>;
  if (
    !Array.isArray(value.types) ||
    typeof value.separator !== "string" ||
    typeof value.longest !== "number"
  ) {
    return undefined;
  }
  if (typeof value.forms !== "object" || value.forms === null) return undefined;
  const forms = new Map<string, number[]>();
  for (const [form, types] of Object.entries(value.forms as Record<string, unknown>)) {
    if (!Array.isArray(types) || !types.every((type) => Number.isInteger(type))) return undefined;
    forms.set(form, types as number[]);
  }
  return { types: value.types as string[], separator: value.separator, longest: value.longest, forms };
}
