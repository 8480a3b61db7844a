/**
 * @module ner/baseline
 * The most-frequent-tag baseline every NER number here is shown next to: each
 * word gets the tag it carried most often in the training data (ties: the
 * first seen), unseen words get `O`, and the sequence is then made well-formed
 * (an `I-X` that continues nothing becomes `B-X`). It needs no encoder, so it
 * shows how much of a score comes from memorising names.
 */
import type { TaggedCorpus } from "./readers.js";
import { convertTags, type TagScheme } from "./tag-scheme.js";

/** A fitted most-frequent-tag baseline. */
export interface MostFrequentTagBaseline {
  /** Tags for a sentence's words (well-formed in `scheme`). */
  tag(words: readonly string[]): string[];
  readonly scheme: TagScheme;
}

/**
 * Count word → tag frequencies on a training corpus.
 * @example
 * ```ts
 * const baseline = fitMostFrequentTag(train);
 * baseline.tag(["EU", "rejects", "German", "call"]); // ["B-ORG", "O", "B-MISC", "O"]
 * ```
 */
export function fitMostFrequentTag(train: TaggedCorpus): MostFrequentTagBaseline {
  const counts = new Map<string, Map<string, number>>();
  for (const sentence of train.sentences) {
    sentence.words.forEach((word, index) => {
      const tag = sentence.tags[index] as string;
      let perTag = counts.get(word);
      if (perTag === undefined) {
        perTag = new Map();
        counts.set(word, perTag);
      }
      perTag.set(tag, (perTag.get(tag) ?? 0) + 1);
    });
  }
  const best = new Map<string, string>();
  for (const [word, perTag] of counts) {
    let top = "O";
    let topCount = 0;
    for (const [tag, count] of perTag) {
      if (count > topCount) {
        top = tag;
        topCount = count;
      }
    }
    best.set(word, top);
  }
  const scheme = train.scheme;
  return {
    scheme,
    tag(words) {
      return convertTags(
        words.map((word) => best.get(word) ?? "O"),
        scheme,
        scheme,
      );
    },
  };
}
