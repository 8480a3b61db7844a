/**
 * @module train/augment-text
 * Text data augmentation in the style of EDA (Wei & Zou 2019, "Easy Data
 * Augmentation Techniques for Boosting Performance on Text Classification"):
 * random deletion, random swap, random insertion of a synonym, synonym
 * replacement, plus character noise (typos). Text is split into units — words
 * for space-separated scripts and single characters for CJK (Chinese has no
 * spaces; its characters are the natural unit) — so every operation works on
 * Chinese too. Synonyms come from a {@link SynonymSource}; the usual one is
 * {@link createWordVectorSynonyms} over the GloVe word vectors (English
 * only: CJK units simply have no synonyms, and synonym operations skip them).
 * Every function is pure given its seeded `random`. The units, typos and
 * synonym swaps come from the engine eval's robustness measures share
 * (`internal/text-perturbation`).
 */
import type { WordVectorEmbedder } from "../embed/word-vectors/word-vector-embedder.js";
import { EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";
import {
  hasCjk,
  isWord,
  joinUnits,
  pickSynonym,
  type SynonymSource,
  textUnits,
  typo,
} from "../internal/text-perturbation.js";
import { createRandom, type Random } from "../vectors/random.js";

export { joinUnits, type SynonymSource, textUnits };

/** The text augmentations {@link augmentText} applies. */
export const TEXT_AUGMENTATIONS = ["deletion", "swap", "insertion", "synonym", "char-noise"] as const;
/** One of {@link TEXT_AUGMENTATIONS}. */
export type TextAugmentation = (typeof TEXT_AUGMENTATIONS)[number];

/** Options of {@link augmentText}. */
export interface AugmentTextOptions {
  /** Seeded randomness. */
  readonly random: Random;
  /** Share of units changed (EDA's α); at least one unit changes. @default 0.1 */
  readonly rate?: number;
  /** Synonyms for `insertion` and `synonym`; without it those two leave the text unchanged. */
  readonly synonyms?: SynonymSource;
}

/**
 * Apply one augmentation to a text. Texts too short for it come back unchanged
 * (deletion never removes the last unit; swap needs two units).
 *
 * - deletion: drop each unit with probability `rate` (at least one unit kept);
 * - swap: swap two random units, max(1, rate·n) times;
 * - insertion: insert a synonym of a random word at a random position, max(1, rate·n) times;
 * - synonym: replace max(1, rate·n) random words that have synonyms;
 * - char-noise: one typo (swap / delete / double / neighbouring key) in max(1, rate·n) units;
 *   for CJK text the "typo" drops, doubles or swaps characters.
 *
 * @throws EmbedkitError INVALID_OPTION for an unknown kind or a rate outside [0, 1].
 * @example
 * ```ts
 * augmentText("the film was great", "synonym", { random: createRandom(1), synonyms });
 * ```
 */
export function augmentText(text: string, kind: TextAugmentation, options: AugmentTextOptions): string {
  if (!TEXT_AUGMENTATIONS.includes(kind)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Unknown text augmentation ${JSON.stringify(kind)}; expected one of ${TEXT_AUGMENTATIONS.join(", ")}.`,
    );
  }
  const rate = options.rate ?? 0.1;
  if (!(rate >= 0 && rate <= 1)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Augmentation rate must be in [0, 1], received ${String(rate)}.`,
    );
  }
  const { random } = options;
  const units = textUnits(text);
  if (units.length === 0) return text;
  const count = Math.max(1, Math.round(rate * units.length));
  switch (kind) {
    case "deletion": {
      if (units.length === 1) return text;
      const kept = units.filter(() => random.next() >= rate);
      return joinUnits(kept.length > 0 ? kept : [units[random.integer(units.length)] as string]);
    }
    case "swap": {
      if (units.length < 2) return text;
      for (let i = 0; i < count; i++) {
        const a = random.integer(units.length);
        let b = random.integer(units.length - 1);
        if (b >= a) b++;
        [units[a], units[b]] = [units[b] as string, units[a] as string];
      }
      return joinUnits(units);
    }
    case "insertion": {
      for (let i = 0; i < count; i++) {
        const candidates = units.filter((unit) => isWord(unit));
        if (candidates.length === 0) break;
        const synonym = pickSynonym(
          candidates[random.integer(candidates.length)] as string,
          options.synonyms,
          random,
        );
        if (synonym === undefined) continue;
        units.splice(random.integer(units.length + 1), 0, synonym.toLowerCase());
      }
      return joinUnits(units);
    }
    case "synonym": {
      const positions = random.shuffle(units.map((_, index) => index));
      let replaced = 0;
      for (const position of positions) {
        if (replaced >= count) break;
        const synonym = pickSynonym(units[position] as string, options.synonyms, random);
        if (synonym === undefined) continue;
        units[position] = synonym;
        replaced++;
      }
      return joinUnits(units);
    }
    default: {
      // CJK units are single characters: noise means dropping, doubling or swapping characters.
      if (units.every((unit) => hasCjk(unit))) {
        const joined = units.join("");
        let characters = [...joined];
        for (let i = 0; i < count && characters.length > 1; i++)
          characters = [...typo(characters.join(""), random)];
        return characters.join("");
      }
      const positions = random.shuffle(
        units.map((_, index) => index).filter((index) => [...(units[index] as string)].length >= 2),
      );
      for (const position of positions.slice(0, count))
        units[position] = typo(units[position] as string, random);
      return joinUnits(units);
    }
  }
}

/** Options of {@link augmentDataset}. */
export interface AugmentDatasetOptions {
  /** Original texts. */
  readonly texts: readonly string[];
  /** Their labels (copied to the augmented rows). */
  readonly labels: readonly string[];
  /** Augmentations to apply; each new copy uses one, chosen at random. */
  readonly augmentations: readonly TextAugmentation[];
  /** Augmented copies per original text. @default 1 */
  readonly copies?: number;
  /** Share of units changed per copy. @default 0.1 */
  readonly rate?: number;
  /** Seed. @default 42 */
  readonly seed?: number;
  /** Synonyms for insertion / synonym replacement. */
  readonly synonyms?: SynonymSource;
}

/**
 * The original rows followed by augmented copies (copies identical to their
 * original are dropped: they add nothing).
 *
 * @throws EmbedkitError INVALID_INPUT when texts and labels differ in length;
 *   INVALID_OPTION for an unknown augmentation or bad copies.
 */
export function augmentDataset(options: AugmentDatasetOptions): { texts: string[]; labels: string[] } {
  const { texts, labels, augmentations } = options;
  if (texts.length !== labels.length) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `augmentDataset needs one label per text, received ${texts.length} texts and ${labels.length} labels.`,
    );
  }
  for (const kind of augmentations) {
    if (!TEXT_AUGMENTATIONS.includes(kind)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `Unknown text augmentation ${JSON.stringify(kind)}; expected one of ${TEXT_AUGMENTATIONS.join(", ")}.`,
      );
    }
  }
  const copies = options.copies ?? 1;
  checkInteger("copies", copies, { min: 0 });
  const random = createRandom(options.seed ?? 42);
  const outTexts = [...texts];
  const outLabels = [...labels];
  if (augmentations.length === 0) return { texts: outTexts, labels: outLabels };
  texts.forEach((text, index) => {
    for (let copy = 0; copy < copies; copy++) {
      const kind = augmentations[random.integer(augmentations.length)] as TextAugmentation;
      const augmented = augmentText(text, kind, {
        random,
        ...(options.rate === undefined ? {} : { rate: options.rate }),
        ...(options.synonyms === undefined ? {} : { synonyms: options.synonyms }),
      });
      if (augmented !== text && augmented.trim() !== "") {
        outTexts.push(augmented);
        outLabels.push(labels[index] as string);
      }
    }
  });
  return { texts: outTexts, labels: outLabels };
}

/** Options of {@link createWordVectorSynonyms}. */
export interface WordVectorSynonymOptions {
  /** Neighbours considered per word. @default 5 */
  readonly k?: number;
  /** Smallest cosine similarity of a synonym. @default 0.6 */
  readonly minSimilarity?: number;
  /** Search only the N most frequent words (rare rows are noisy). @default 50000 */
  readonly vocabulary?: number;
}

/**
 * Synonyms from static word vectors: a word's nearest neighbours by cosine
 * (GloVe neighbours are mostly synonyms, sometimes antonyms or co-hyponyms —
 * "good" ↔ "bad" — the usual caveat of this technique). Results are memoised.
 * Unknown words and words shorter than 3 letters get none.
 *
 * @example
 * ```ts
 * const synonyms = createWordVectorSynonyms(await createWordVectorEmbedder());
 * synonyms("movie"); // ["film", "movies", ...]
 * ```
 */
export function createWordVectorSynonyms(
  embedder: Pick<WordVectorEmbedder, "nearestWords">,
  options: WordVectorSynonymOptions = {},
): SynonymSource {
  const k = options.k ?? 5;
  const minSimilarity = options.minSimilarity ?? 0.6;
  const vocabulary = options.vocabulary ?? 50_000;
  const memo = new Map<string, readonly string[]>();
  return (word) => {
    const cached = memo.get(word);
    if (cached !== undefined) return cached;
    let found: readonly string[] = [];
    if (word.length >= 3 && /^\p{L}+$/u.test(word)) {
      try {
        found = embedder
          .nearestWords(word, k, { vocabularyLimit: vocabulary })
          .filter((neighbour) => neighbour.score >= minSimilarity && /^\p{L}+$/u.test(neighbour.word))
          .map((neighbour) => neighbour.word);
      } catch {
        found = []; // unknown word
      }
    }
    memo.set(word, found);
    return found;
  };
}
