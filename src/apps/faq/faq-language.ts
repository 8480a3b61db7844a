/**
 * @module apps/faq/faq-language
 * Which model a FAQ uses. No multilingual model is available from the
 * registries this project can reach, so a FAQ picks a model per language: the
 * share of CJK characters among the letters of its questions decides between
 * Chinese (bge-small-zh-v1.5) and English (bge-small-en-v1.5). The choice is
 * recorded as the collection's model, so every later question is embedded
 * with the same model.
 */

/** Languages a FAQ can be detected as. */
export const FAQ_LANGUAGES = Object.freeze(["zh", "en"] as const);

/** A detected FAQ language. */
export type FaqLanguage = (typeof FAQ_LANGUAGES)[number];

/**
 * Default model per language. bge-small-en-v1.5 beat all-MiniLM-L6-v2 on both
 * English FAQ sets in bench/faq.ts (see bench/RESULTS.md, "FAQ answering").
 */
export const DEFAULT_FAQ_MODELS: Readonly<Record<FaqLanguage, string>> = Object.freeze({
  zh: "bge-small-zh-v1.5",
  en: "bge-small-en-v1.5",
});

/** Share of CJK letters above which text counts as Chinese. */
export const CJK_THRESHOLD = 0.3;

// Han ideographs (incl. extension A and compatibility), kana and Hangul count as CJK.
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]/u;
const LETTER = /\p{L}/u;

/**
 * Share of CJK characters among the letters of `texts` (0 when there are no letters).
 * @example
 * ```ts
 * cjkRatio(["花呗怎么还款", "How to repay?"]); // 6 CJK of 14 letters ≈ 0.43
 * ```
 */
export function cjkRatio(texts: readonly string[]): number {
  let letters = 0;
  let cjk = 0;
  for (const text of texts) {
    for (const character of text) {
      if (!LETTER.test(character)) continue;
      letters++;
      if (CJK.test(character)) cjk++;
    }
  }
  return letters === 0 ? 0 : cjk / letters;
}

/**
 * Detect a FAQ's language from its questions: `zh` when at least
 * {@link CJK_THRESHOLD} of the letters are CJK, otherwise `en`. A CJK character
 * carries about as much meaning as a short English word, so a mixed FAQ with a
 * third of its letters in Chinese is mostly Chinese by content.
 */
export function detectFaqLanguage(texts: readonly string[]): FaqLanguage {
  return cjkRatio(texts) >= CJK_THRESHOLD ? "zh" : "en";
}
