/** Hand-made features of the tagger: word shape, lexicon (cross-fitting input), entity-dictionary matches, CoNLL-style splitting. */
import { describe, expect, it } from "vitest";
import {
  buildEntityDictionary,
  dictionaryFromJson,
  dictionaryToJson,
  writeDictionaryFeatures,
} from "../../src/ner/entity-dictionary.js";
import { SHAPE_FEATURES, writeShapeFeatures } from "../../src/ner/features.js";
import { countLexicon, writeLexiconFeatures } from "../../src/ner/lexicon.js";
import { splitForTagging } from "../../src/ner/ner-words.js";

describe("entity dictionary", () => {
  const sentences = [
    ["我", "在", "中", "国", "银", "行"],
    ["北", "京", "很", "好"],
  ];
  const spans = [[{ start: 2, end: 6, type: "ORG" }], [{ start: 0, end: 2, type: "LOC" }]];

  it("marks units that begin, continue and end a match of a training entity, per type", () => {
    const dictionary = buildEntityDictionary(sentences, spans, ["LOC", "ORG"], "");
    const words = ["去", "中", "国", "银", "行", "和", "北", "京"];
    const width = 6;
    const out = new Float32Array(words.length * width);
    writeDictionaryFeatures(dictionary, words, out, (position) => position * width, 0);
    const row = (position: number): number[] =>
      Array.from(out.subarray(position * width, (position + 1) * width));
    // Columns: LOC begin/inside/end, ORG begin/inside/end.
    expect(row(0)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(row(1)).toEqual([0, 0, 0, 1, 0, 0]);
    expect(row(2)).toEqual([0, 0, 0, 0, 1, 0]);
    expect(row(4)).toEqual([0, 0, 0, 0, 0, 1]);
    expect(row(6)).toEqual([1, 0, 0, 0, 0, 0]);
    expect(row(7)).toEqual([0, 0, 1, 0, 0, 0]);
  });

  it("leaves out sentences of the held-out fold and survives a JSON round trip", () => {
    const withoutFirst = buildEntityDictionary(
      sentences,
      spans,
      ["LOC", "ORG"],
      "",
      (sentence) => sentence !== 0,
    );
    expect([...withoutFirst.forms.keys()]).toEqual(["北京"]);
    const back = dictionaryFromJson(JSON.parse(JSON.stringify(dictionaryToJson(withoutFirst))));
    expect(back?.forms.get("北京")).toEqual([0]);
    expect(dictionaryFromJson({ types: [] })).toBeUndefined();
  });
});

describe("lexicon and shape features", () => {
  it("gives a seen word its tag distribution and an unseen word the unseen bit", () => {
    const lexicon = countLexicon(
      [
        ["Paris", "is"],
        ["Paris", "Hilton"],
      ],
      [
        [1, 0],
        [2, 3],
      ],
      4,
    );
    const out = new Float32Array(5);
    writeLexiconFeatures(lexicon, "Paris", 4, out, 0);
    expect(Array.from(out)).toEqual([0, 0.5, 0.5, 0, 0]);
    const unseen = new Float32Array(5);
    writeLexiconFeatures(lexicon, "Lyon", 4, unseen, 0);
    expect(Array.from(unseen)).toEqual([0, 0, 0, 0, 1]);
  });

  it("encodes capitalisation, digits and punctuation", () => {
    const bits = (word: string, position: number): string[] => {
      const out = new Float32Array(SHAPE_FEATURES.length);
      writeShapeFeatures(word, position, out, 0);
      return SHAPE_FEATURES.filter((_, index) => out[index] === 1);
    };
    expect(bits("EU", 0)).toEqual(["all-capitals", "sentence-initial"]);
    expect(bits("Blackburn", 3)).toEqual(["initial-capital"]);
    expect(bits("iPhone", 1)).toEqual(["mixed-case"]);
    expect(bits("1-0", 2)).toEqual(["has-digit", "only-digits-and-punctuation"]);
    expect(bits(".", 4)).toEqual(["only-digits-and-punctuation", "punctuation"]);
  });
});

describe("splitForTagging", () => {
  it("splits English text the CoNLL way with offsets into the original", () => {
    const text = "The U.S. team's 1-0 win (in Corp. HQ).";
    const words = splitForTagging(text, "word");
    expect(words.map((word) => word.text)).toEqual([
      "The",
      "U.S.",
      "team",
      "'s",
      "1-0",
      "win",
      "(",
      "in",
      "Corp.",
      "HQ",
      ")",
      ".",
    ]);
    for (const word of words) expect(text.slice(word.start, word.end)).toBe(word.text);
  });

  it("gives one unit per character (emoji whole) for character taggers", () => {
    expect(splitForTagging("王小明😀去北京", "character").map((unit) => unit.text)).toEqual([
      "王",
      "小",
      "明",
      "😀",
      "去",
      "北",
      "京",
    ]);
  });
});
