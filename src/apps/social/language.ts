/**
 * @module apps/social/language
 * The language of a post for `--lang auto`: Chinese when Han characters make up
 * at least a quarter of its letters (Weibo posts mix in Latin handles, hashtags
 * and brand names), English otherwise. Decided per post, so a mixed file gets
 * each post embedded and labelled by the model of its own language.
 */

/** Languages a post can be given. */
export type PostLanguage = "en" | "zh";

const HAN = /\p{Script=Han}/gu;
const LETTER = /\p{L}/gu;

/** Share of Han characters among letters from which a post is Chinese. */
export const HAN_SHARE_FOR_CHINESE = 0.25;

/** The language of one post (see the module comment). */
export function detectPostLanguage(text: string): PostLanguage {
  const han = text.match(HAN)?.length ?? 0;
  if (han === 0) return "en";
  const letters = text.match(LETTER)?.length ?? 0;
  return han >= HAN_SHARE_FOR_CHINESE * letters ? "zh" : "en";
}
