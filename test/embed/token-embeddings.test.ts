/** Token-level embeddings: word/character splitting, offsets (UTF-16), windows over long texts, real encoders. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { OnnxEmbedder } from "../../src/embed/onnx/onnx-embedder.js";
import { pieceSpans, planWindows, splitCharacters, splitWords } from "../../src/embed/onnx/word-pieces.js";
import { cosineSimilarity } from "../../src/vectors/math.js";

const MIXED = "我在北京用iPhone拍了😀👍🏽照片, Obama said: naïve 👨‍👩‍👧 café!";

describe("splitWords / splitCharacters", () => {
  it("splits mixed Chinese/English/emoji text with offsets that slice back to each unit", () => {
    const words = splitWords(MIXED);
    expect(words.map((word) => word.text)).toEqual([
      "我",
      "在",
      "北",
      "京",
      "用",
      "iPhone",
      "拍",
      "了",
      "😀",
      "👍🏽",
      "照",
      "片",
      ",",
      "Obama",
      "said",
      ":",
      "naïve",
      "👨‍👩‍👧",
      "café",
      "!",
    ]);
    for (const word of words) expect(MIXED.slice(word.start, word.end)).toBe(word.text);
    // Offsets are UTF-16 code units: the emoji after 了 takes two.
    const grin = words.find((word) => word.text === "😀");
    expect(grin).toMatchObject({ start: 13, end: 15 });
  });

  it("gives one unit per character for character-level tagging, keeping emoji and their modifiers whole", () => {
    const characters = splitCharacters("北京 😀👍🏽a");
    expect(characters.map((c) => [c.text, c.start, c.end])).toEqual([
      ["北", 0, 1],
      ["京", 1, 2],
      ["😀", 3, 5],
      ["👍🏽", 5, 9],
      ["a", 9, 10],
    ]);
  });

  it("places pieces exactly when they spell the word, else gives each piece the word's span", () => {
    const word = { text: "Unbelievably", start: 4, end: 16 };
    expect(pieceSpans(word, ["un", "##bel", "##ie", "##va", "##bly"])).toEqual([
      [4, 6],
      [6, 9],
      [9, 11],
      [11, 13],
      [13, 16],
    ]);
    expect(pieceSpans({ text: "😀", start: 0, end: 2 }, ["[UNK]"])).toEqual([[0, 2]]);
  });
});

describe("planWindows", () => {
  it("covers every word, never exceeds the piece limit, and overlaps consecutive windows", () => {
    const counts = Array.from({ length: 50 }, (_, i) => 1 + (i % 3));
    const { windows, owner } = planWindows(counts, 20, 10);
    for (const window of windows) {
      const pieces = counts.slice(window.start, window.end).reduce((a, b) => a + b, 0);
      expect(pieces).toBeLessThanOrEqual(20);
    }
    for (let i = 1; i < windows.length; i++) {
      expect((windows[i] as { start: number }).start).toBeLessThan((windows[i - 1] as { end: number }).end);
    }
    counts.forEach((_, word) => {
      const window = windows[owner[word] as number] as { start: number; end: number };
      expect(word).toBeGreaterThanOrEqual(window.start);
      expect(word).toBeLessThan(window.end);
    });
    expect((windows.at(-1) as { end: number }).end).toBe(50);
  });

  it("gives an over-long single word a window of its own", () => {
    expect(planWindows([2, 30, 2], 10, 5).windows).toEqual([
      { start: 0, end: 1 },
      { start: 1, end: 2 },
      { start: 2, end: 3 },
    ]);
  });
});

describe("OnnxEmbedder token level (real models)", () => {
  let chinese: OnnxEmbedder;
  let english: OnnxEmbedder;
  beforeAll(async () => {
    chinese = (await createEmbedder({ model: "bge-small-zh-v1.5" })) as OnnxEmbedder;
    english = (await createEmbedder({ model: "all-minilm-l6-v2" })) as OnnxEmbedder;
  });
  afterAll(async () => {
    await chinese?.close();
    await english?.close();
  });

  it("maps every piece of mixed Chinese/English/emoji text back to its span in the original string", async () => {
    const tokens = await chinese.embedTokens(MIXED);
    expect(tokens.data.length).toBe(tokens.ids.length * 512);
    expect(tokens.offsets).toHaveLength(tokens.ids.length);
    const pieces = tokens.offsets.map(([start, end]) => MIXED.slice(start, end));
    expect(pieces.slice(0, 5)).toEqual(["我", "在", "北", "京", "用"]);
    expect(pieces).toContain("😀");
    expect(pieces).toContain("👍🏽");
    expect(pieces).toContain("👨‍👩‍👧");
    // Every piece span lies inside its word's span.
    tokens.wordIndex.forEach((word, piece) => {
      const [start, end] = tokens.offsets[piece] as readonly [number, number];
      const span = tokens.words[word] as { start: number; end: number };
      expect(start).toBeGreaterThanOrEqual(span.start);
      expect(end).toBeLessThanOrEqual(span.end);
    });
  });

  it("splits an English word into pieces with exact sub-word offsets", async () => {
    const text = "Unbelievably, EU rejects German call.";
    const tokens = await english.embedTokens(text);
    expect(tokens.offsets.map(([start, end]) => text.slice(start, end))).toEqual([
      "Un",
      "bel",
      "ie",
      "va",
      "bly",
      ",",
      "EU",
      "rejects",
      "German",
      "call",
      ".",
    ]);
  });

  it("embeds texts over the model's limit with windows instead of truncating, and agrees with the unwindowed vectors", async () => {
    const words = Array.from({ length: 400 }, (_, i) => `word${i}`);
    const tokens = await english.embedTokens(words.join(" "));
    // all-minilm-l6-v2's limit is 256 tokens; every piece still gets a vector.
    expect(tokens.wordIndex.at(-1)).toBe(399);
    for (let row = 0; row < tokens.ids.length; row++) {
      const vector = tokens.data.subarray(row * 384, (row + 1) * 384);
      expect(vector.some((value) => value !== 0)).toBe(true);
    }
    // A short sentence gives the same first-piece vectors through embedWords and embedTokens.
    const [sentence] = await english.embedWords([["EU", "rejects", "German", "call"]]);
    const direct = await english.embedTokens("EU rejects German call");
    const a = sentence?.data.subarray(384, 768) as Float32Array;
    const b = direct.data.subarray(384, 768);
    expect(cosineSimilarity(a, b)).toBeGreaterThan(0.9999);
  });

  it("rejects an empty sentence or word with the position", async () => {
    await expect(english.embedWords([["ok"], []])).rejects.toThrow(/Sentence 1 must be a non-empty array/);
    await expect(english.embedWords([["ok", ""]])).rejects.toThrow(/Word 1 of sentence 0/);
  });
});
