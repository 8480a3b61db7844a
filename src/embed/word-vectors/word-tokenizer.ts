/**
 * @module embed/word-vectors/word-tokenizer
 * A small Unicode-aware word tokenizer for static word vectors, and the lookup rules
 * that map its tokens onto a vocabulary. Text is NFKC-normalized (so full-width
 * letters and ligatures match), optionally lower-cased (GloVe's vocabulary is
 * lower-case), and split on anything that is not a letter, mark or digit; an
 * apostrophe or hyphen *between* letters/digits stays inside the word ("don't",
 * "e-mail"). Lookup tries the whole word first, then its accent-free form, then its
 * parts ("don't" → "don" + "t", "rock-solid" → "rock" + "solid"), because the wink
 * table kept "e-mail" but dropped every apostrophe word and every non-ASCII word.
 * Punctuation is never a token, even though GloVe has vectors for "," and ".":
 * they carry no topic and would dominate mean pooling.
 */

/** Characters that may join two word pieces; curly and modifier apostrophes are folded to "'". */
const TOKEN_PATTERN = /[\p{L}\p{M}\p{N}]+(?:['’ʼ\-‐][\p{L}\p{M}\p{N}]+)*/gu;
const APOSTROPHES = /[’ʼ]/g;
const HYPHENS = /‐/g;
const JOINERS = /['-]/;
const COMBINING_MARKS = /\p{M}+/gu;

/** Options of {@link tokenizeWords}. */
export interface TokenizeWordsOptions {
  /** Lower-case the text before splitting (locale-independent). @default true */
  readonly lowercase?: boolean;
}

/**
 * Split a text into word tokens. Joined words keep their inner apostrophe/hyphen.
 *
 * @example
 * ```ts
 * tokenizeWords("Don't panic — it's 42°C in São Paulo!");
 * // ["don't", "panic", "it's", "42", "c", "in", "são", "paulo"]
 * ```
 */
export function tokenizeWords(text: string, options: TokenizeWordsOptions = {}): string[] {
  let normalized = text.normalize("NFKC");
  if (options.lowercase !== false) normalized = normalized.toLowerCase();
  const tokens = normalized.match(TOKEN_PATTERN) ?? [];
  return tokens.map((token) => token.replace(APOSTROPHES, "'").replace(HYPHENS, "-"));
}

/** Strip accents (combining marks after NFD): "café" → "cafe"; returns the input when unchanged. */
export function stripAccents(word: string): string {
  return word.normalize("NFD").replace(COMBINING_MARKS, "").normalize("NFC");
}

/** One lookup unit of a text: a word as looked up, and its row in the table or -1 (out of vocabulary). */
export interface ResolvedToken {
  readonly word: string;
  readonly row: number;
}

/**
 * Map tokens onto table rows. A token counts once when it (or its accent-free form)
 * is in the vocabulary; otherwise a joined token ("don't") is split at its joiners and
 * each part is looked up on its own (each part then counts as one token). Unknown
 * words are returned with `row: -1` so callers can count and skip them.
 */
export function resolveTokens(tokens: readonly string[], indexOf: (word: string) => number): ResolvedToken[] {
  const resolved: ResolvedToken[] = [];
  const lookUp = (word: string): number => {
    const row = indexOf(word);
    if (row >= 0) return row;
    const plain = stripAccents(word);
    return plain === word ? -1 : indexOf(plain);
  };
  for (const token of tokens) {
    const row = lookUp(token);
    if (row >= 0 || !JOINERS.test(token)) {
      resolved.push({ word: token, row });
      continue;
    }
    for (const part of token.split(JOINERS)) {
      if (part !== "") resolved.push({ word: part, row: lookUp(part) });
    }
  }
  return resolved;
}
