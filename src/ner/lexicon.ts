/**
 * @module ner/lexicon
 * A word → tag-count table from the training data, turned into features: for
 * a word seen in training, the distribution of the tags it carried; for an
 * unseen word, an "unseen" bit. This is the classic lexicon (memorisation)
 * feature of CoNLL taggers — it lets a linear head remember that "Reuters" is
 * an ORG — while the encoder vectors generalise to unseen names. To keep the
 * head from trusting it blindly, training rows get counts from the *other*
 * folds of the training data only (cross-fitting), as an unseen sentence would.
 */

/** Tag counts per word form. */
export type Lexicon = ReadonlyMap<string, Float32Array>;

/** Extra feature columns the lexicon adds for `tags` output tags. */
export function lexiconWidth(tags: number): number {
  return tags + 1;
}

/**
 * Count tags per word over the sentences `include` accepts.
 * @param tagIndices Tag index of each word of each sentence.
 */
export function countLexicon(
  sentences: ReadonlyArray<readonly string[]>,
  tagIndices: ReadonlyArray<ArrayLike<number>>,
  tags: number,
  include: (sentence: number) => boolean = () => true,
): Map<string, Float32Array> {
  const lexicon = new Map<string, Float32Array>();
  sentences.forEach((words, sentence) => {
    if (!include(sentence)) return;
    const indices = tagIndices[sentence] as ArrayLike<number>;
    words.forEach((word, position) => {
      let counts = lexicon.get(word);
      if (counts === undefined) {
        counts = new Float32Array(tags);
        lexicon.set(word, counts);
      }
      const tag = indices[position] as number;
      counts[tag] = (counts[tag] as number) + 1;
    });
  });
  return lexicon;
}

/** Write a word's lexicon features (tag distribution, then the unseen bit) into `out` from `offset`. */
export function writeLexiconFeatures(
  lexicon: Lexicon,
  word: string,
  tags: number,
  out: Float32Array,
  offset: number,
): void {
  const counts = lexicon.get(word);
  if (counts === undefined) {
    out[offset + tags] = 1;
    return;
  }
  let total = 0;
  for (let tag = 0; tag < tags; tag++) total += counts[tag] as number;
  for (let tag = 0; tag < tags; tag++) out[offset + tag] = (counts[tag] as number) / total;
}
