/**
 * @module internal/english
 * The two bits of English grammar messages need: "a"/"an" before a word and
 * singular/plural after a count, so no message says "a image" or
 * "1 questions".
 */

/**
 * The word with "a" or "an" by its first letter: `withArticle("image")` → "an image",
 * `withArticle("video model")` → "a video model". (By spelling: enough for embedkit's nouns.)
 */
export function withArticle(phrase: string): string {
  return `${/^[aeiou]/i.test(phrase) ? "an" : "a"} ${phrase}`;
}

/** The count and the noun, singular for 1: `plural(1, "question")` → "1 question", `plural(2, "match", "matches")`. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
