/**
 * @module ner/ner-words
 * How raw text is cut into the units a tagger labels. Word taggers (English)
 * were trained on CoNLL-2003 tokens, so raw text is split the CoNLL way:
 * whitespace, then leading and trailing punctuation peeled off, except that
 * abbreviations keep their final period (`U.S.`, `Corp.`) and inner hyphens,
 * periods and apostrophes stay inside (`1-0`, `O'Neill`); a possessive `'s` is
 * its own token; CJK characters and emoji are single units. Character taggers
 * (Chinese) label each character ({@link splitCharacters}). Offsets are UTF-16
 * code units into the original text.
 */
import { splitCharacters, splitWords, type TextSpan } from "../embed/onnx/word-pieces.js";

/** What one tag labels: a word (CoNLL token) or a character (Chinese NER). */
export const TAGGING_UNITS = Object.freeze(["word", "character"] as const);

/** A tagging unit. */
export type TaggingUnit = (typeof TAGGING_UNITS)[number];

const STANDALONE =
  /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Extended_Pictographic}]/u;
const PUNCTUATION = /^[\p{P}\p{S}]$/u;
const ABBREVIATIONS = new Set(
  (
    "Mr Mrs Ms Dr St Jr Sr Inc Corp Co Ltd Bros Gen Gov Sen Rep Lt Col Capt Sgt Mt Ft Prof vs No " +
    "Jan Feb Mar Apr Aug Sep Sept Oct Nov Dec"
  ).split(" "),
);

function splitChunk(text: string, chunk: TextSpan): TextSpan[] {
  const parts = splitWords(chunk.text).map((part) => ({
    text: part.text,
    start: part.start + chunk.start,
    end: part.end + chunk.start,
  }));
  const leading: TextSpan[] = [];
  const trailing: TextSpan[] = [];
  while (parts.length > 1 && PUNCTUATION.test((parts[0] as TextSpan).text))
    leading.push(parts.shift() as TextSpan);
  while (parts.length > 1 && PUNCTUATION.test((parts.at(-1) as TextSpan).text))
    trailing.unshift(parts.pop() as TextSpan);
  // An abbreviation keeps its final period: "U.S." (inner period) or a known one ("Corp.").
  const core = text.slice(parts[0]?.start ?? chunk.start, parts.at(-1)?.end ?? chunk.start);
  if (trailing[0]?.text === "." && (core.includes(".") || ABBREVIATIONS.has(core))) {
    parts.push(trailing.shift() as TextSpan);
  }
  // Merge the middle back into words, keeping CJK characters and emoji apart.
  const middle: TextSpan[] = [];
  for (const part of parts) {
    const previous = middle.at(-1);
    const joinable =
      previous !== undefined &&
      previous.end === part.start &&
      !STANDALONE.test(part.text) &&
      !STANDALONE.test(previous.text);
    if (joinable) {
      middle[middle.length - 1] = {
        text: text.slice(previous.start, part.end),
        start: previous.start,
        end: part.end,
      };
    } else {
      middle.push(part);
    }
  }
  const words: TextSpan[] = [];
  for (const word of middle) {
    const possessive = /['’]s$/i.exec(word.text);
    if (possessive !== null && word.text.length > 2) {
      const cut = word.end - 2;
      words.push({ text: text.slice(word.start, cut), start: word.start, end: cut });
      words.push({ text: text.slice(cut, word.end), start: cut, end: word.end });
    } else {
      words.push(word);
    }
  }
  return [...leading, ...words, ...trailing];
}

/**
 * Cut raw text into the units a tagger of `unit` labels.
 * @example
 * ```ts
 * splitForTagging("The U.S. team's 1-0 win.", "word").map((w) => w.text);
 * // ["The", "U.S.", "team", "'s", "1-0", "win", "."]
 * ```
 */
export function splitForTagging(text: string, unit: TaggingUnit): TextSpan[] {
  if (unit === "character") return splitCharacters(text);
  const words: TextSpan[] = [];
  for (const match of text.matchAll(/\S+/gu)) {
    const start = match.index as number;
    words.push(...splitChunk(text, { text: match[0], start, end: start + match[0].length }));
  }
  return words;
}
