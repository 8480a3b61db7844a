/** NER data readers (CoNLL, character-per-line BIO) and tagging schemes. */
import { describe, expect, it } from "vitest";
import { parseTagged, readTaggedFile, taggedFormatOf } from "../../src/ner/readers.js";
import { convertTags, spansToTags, tagSet, tagsToSpans } from "../../src/ner/tag-scheme.js";

const CONLL = `-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
`;

/** Matches a MALFORMED_FILE error at `line` whose message matches `message`. */
function malformedAt(line: number, message: RegExp): unknown {
  return expect.objectContaining({
    code: "MALFORMED_FILE",
    details: expect.objectContaining({ line }),
    message: expect.stringMatching(message),
  });
}

describe("parseTagged (CoNLL)", () => {
  it("reads sentences split by blank lines and -DOCSTART-, with the tag from the last column", () => {
    const corpus = parseTagged(CONLL, { format: "conll" });
    expect(corpus.sentences).toHaveLength(2);
    expect(corpus.sentences[0]).toEqual({
      words: ["EU", "rejects", "German", "call", "."],
      tags: ["B-ORG", "O", "B-MISC", "O", "O"],
      line: 3,
    });
    expect(corpus.sentences[1]?.line).toBe(9);
    expect(corpus.types).toEqual(["MISC", "ORG", "PER"]);
  });

  it("rejects ragged columns with the line number and the expected column count", () => {
    const ragged = CONLL.replace("call NN I-NP O", "call NN O");
    expect(() => parseTagged(ragged, { format: "conll", source: "bad.conll" })).toThrow(
      malformedAt(6, /bad\.conll:6: expected 4 columns like line 3, received 3/),
    );
  });

  it("rejects an unknown tag with its line, and points BIOES tags at --scheme bioes", () => {
    expect(() => parseTagged(CONLL.replace("B-MISC", "B_MISC"), { format: "conll" })).toThrow(
      malformedAt(5, /unknown tag "B_MISC"/),
    );
    expect(() => parseTagged(CONLL.replace("B-MISC", "S-MISC"), { format: "conll" })).toThrow(
      malformedAt(5, /scheme bioes/),
    );
  });

  it("rejects an entity type outside the allowed list", () => {
    expect(() => parseTagged(CONLL, { format: "conll", types: ["PER", "ORG", "LOC"] })).toThrow(
      malformedAt(5, /unknown entity type "MISC"/),
    );
  });

  it("repairs an I- that continues nothing by default and lists the line; rejects it under the error policy", () => {
    const stray = CONLL.replace("German JJ B-NP B-MISC", "German JJ B-NP I-MISC");
    const repaired = parseTagged(stray, { format: "conll" });
    expect(repaired.sentences[0]?.tags[2]).toBe("B-MISC");
    expect(repaired.repairedLines).toEqual([5]);
    const afterOtherType = CONLL.replace("rejects VBZ B-VP O", "rejects VBZ B-VP I-PER");
    expect(() => parseTagged(afterOtherType, { format: "conll", invalidTransitions: "error" })).toThrow(
      malformedAt(4, /I-PER cannot follow B-ORG/),
    );
  });

  it("says which file is missing", async () => {
    await expect(readTaggedFile("/no/such/train.conll")).rejects.toThrow(
      /Cannot read \/no\/such\/train\.conll/,
    );
  });
});

describe("parseTagged (character-per-line BIO)", () => {
  it("reads one character and tag per tab-separated line", () => {
    const corpus = parseTagged("中\tB-LOC\n国\tI-LOC\n人\tO\n\n我\tO\n", { format: "bio" });
    expect(corpus.sentences.map((sentence) => sentence.words.join(""))).toEqual(["中国人", "我"]);
    expect(corpus.sentences[0]?.tags).toEqual(["B-LOC", "I-LOC", "O"]);
  });

  it("rejects a line without exactly two fields, with its number", () => {
    expect(() => parseTagged("中\tB-LOC\n国 I-LOC\n", { format: "bio", source: "zh.bio" })).toThrow(
      malformedAt(2, /^zh\.bio:2: expected 2 tab-separated fields/),
    );
  });
});

describe("taggedFormatOf", () => {
  it("takes the given format, else bio for .bio files (any case) and conll for the rest", () => {
    expect(taggedFormatOf("train.txt", "bio")).toBe("bio");
    expect(taggedFormatOf("train.bio", "conll")).toBe("conll");
    expect(taggedFormatOf("dir/TRAIN.BIO")).toBe("bio");
    expect(taggedFormatOf("train.conll")).toBe("conll");
    expect(taggedFormatOf("bio")).toBe("conll");
  });
});

describe("tag schemes", () => {
  it("lists O then B-/I- (and E-/S-) per sorted type", () => {
    expect(tagSet(["PER", "LOC"], "bio")).toEqual(["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]);
    expect(tagSet(["PER"], "bioes")).toEqual(["O", "B-PER", "I-PER", "E-PER", "S-PER"]);
  });

  it("converts BIO ⇄ BIOES through spans, round-tripping", () => {
    const bio = ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"];
    const bioes = convertTags(bio, "bio", "bioes");
    expect(bioes).toEqual(["B-PER", "I-PER", "E-PER", "O", "S-LOC", "B-LOC", "E-LOC"]);
    expect(convertTags(bioes, "bioes", "bio")).toEqual(bio);
    expect(tagsToSpans(bioes, "bioes")).toEqual(tagsToSpans(bio, "bio"));
    expect(spansToTags(tagsToSpans(bio, "bio"), bio.length, "bio")).toEqual(bio);
  });

  it("reads a BIOES file and repairs an entity left open at the end of a sentence", () => {
    const corpus = parseTagged("a x S-PER\nb x B-LOC\n\n", { format: "conll", scheme: "bioes" });
    expect(corpus.sentences[0]?.tags).toEqual(["S-PER", "S-LOC"]);
    expect(corpus.repairedLines).toEqual([2]);
  });
});
