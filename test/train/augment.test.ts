import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWordVectorEmbedder, type WordVectorEmbedder } from "../../src/embed/word-vectors/index.js";
import {
  addGaussianNoise,
  adjustBrightnessContrast,
  augmentDataset,
  augmentImage,
  augmentText,
  createRandom,
  createWordVectorSynonyms,
  flipImage,
  type PixelImage,
  randomCrop,
  rotateImage,
  type SynonymSource,
  textUnits,
} from "../../src/train/index.js";

describe("text augmentation", () => {
  const table: Record<string, string[]> = { film: ["movie"], great: ["excellent"] };
  const synonyms: SynonymSource = (word) => table[word] ?? [];

  it("splits CJK into characters and other scripts into words", () => {
    expect(textUnits("我很喜欢 this movie!")).toEqual(["我", "很", "喜", "欢", "this", "movie!"]);
  });

  it("deletion keeps at least one unit and only removes units", () => {
    const random = createRandom(1);
    for (let i = 0; i < 20; i++) {
      const out = augmentText("one two three four five", "deletion", { random, rate: 0.5 });
      const units = textUnits(out);
      expect(units.length).toBeGreaterThan(0);
      for (const unit of units) expect(["one", "two", "three", "four", "five"]).toContain(unit);
    }
  });

  it("swap permutes the units of English and of Chinese text", () => {
    const english = augmentText("a b c d e f", "swap", { random: createRandom(2) });
    expect(textUnits(english).sort()).toEqual(["a", "b", "c", "d", "e", "f"]);
    expect(english).not.toBe("a b c d e f");
    const chinese = augmentText("这部电影很好看", "swap", { random: createRandom(2) });
    expect([...chinese].sort()).toEqual([..."这部电影很好看"].sort());
    expect(chinese).not.toBe("这部电影很好看");
    expect(chinese).not.toContain(" ");
  });

  it("synonym replacement and insertion use the synonym source and keep capitalisation", () => {
    expect(augmentText("Great film", "synonym", { random: createRandom(3), rate: 1, synonyms })).toBe(
      "Excellent movie",
    );
    const inserted = augmentText("a great film", "insertion", { random: createRandom(3), synonyms });
    expect(textUnits(inserted)).toHaveLength(4);
    expect(inserted).toMatch(/movie|excellent/);
    expect(augmentText("a great film", "synonym", { random: createRandom(3) })).toBe("a great film");
  });

  it("character noise changes characters but not the number of words; on Chinese it edits characters", () => {
    const out = augmentText("wonderful acting throughout", "char-noise", {
      random: createRandom(5),
      rate: 1,
    });
    expect(out).not.toBe("wonderful acting throughout");
    expect(textUnits(out)).toHaveLength(3);
    const chinese = augmentText("这部电影很好看", "char-noise", { random: createRandom(5) });
    expect(chinese).not.toBe("这部电影很好看");
  });

  it("augmentDataset appends labelled copies and is reproducible by seed", () => {
    const options = {
      texts: ["the film was great", "boring plot and weak acting"],
      labels: ["pos", "neg"],
      augmentations: ["deletion", "swap"] as const,
      copies: 2,
      seed: 9,
    };
    const first = augmentDataset(options);
    expect(first.texts.slice(0, 2)).toEqual(options.texts);
    expect(first.texts.length).toBeGreaterThan(2);
    expect(first.labels.length).toBe(first.texts.length);
    expect(augmentDataset(options)).toEqual(first);
    expect(() => augmentDataset({ ...options, augmentations: ["shout" as "swap"] })).toThrow(
      /Unknown text augmentation/,
    );
  });
});

describe("synonyms from the wink GloVe word vectors", () => {
  let embedder: WordVectorEmbedder;
  beforeAll(async () => {
    embedder = await createWordVectorEmbedder();
  });
  afterAll(async () => {
    await embedder.close();
  });

  it("gives close words for a common word and none for unknown or short ones", () => {
    const synonyms = createWordVectorSynonyms(embedder);
    expect(synonyms("movie")).toContain("film");
    expect(synonyms("qzxqzxqzx")).toEqual([]);
    expect(synonyms("a")).toEqual([]);
    const out = augmentText("a wonderful movie", "synonym", { random: createRandom(1), rate: 1, synonyms });
    expect(out).not.toBe("a wonderful movie");
  });
});

describe("image augmentation on decoded pixels", () => {
  // 4×3 RGB gradient: value = 10·x + 100·c + y.
  const image: PixelImage = {
    width: 4,
    height: 3,
    data: Uint8Array.from({ length: 36 }, (_, i) => {
      const c = i % 3;
      const x = Math.floor(i / 3) % 4;
      const y = Math.floor(i / 12);
      return 10 * x + 100 * c + y;
    }),
  };
  const pixel = (img: PixelImage, x: number, y: number): number[] =>
    Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

  it("flips mirror pixels", () => {
    expect(pixel(flipImage(image, "horizontal"), 0, 0)).toEqual(pixel(image, 3, 0));
    expect(pixel(flipImage(image, "vertical"), 1, 0)).toEqual(pixel(image, 1, 2));
  });

  it("random crop returns a window of the source", () => {
    const crop = randomCrop(image, { width: 2, height: 2, random: createRandom(4) });
    expect([crop.width, crop.height, crop.data.length]).toEqual([2, 2, 12]);
    const first = pixel(crop, 0, 0);
    const x = ((first[0] as number) - ((first[0] as number) % 10)) / 10;
    const y = (first[0] as number) % 10;
    expect(pixel(crop, 1, 1)).toEqual(pixel(image, x + 1, y + 1));
    expect(() => randomCrop(image, { width: 5, height: 1, random: createRandom(1) })).toThrow(
      /fit in the 4×3 image/,
    );
  });

  it("rotating by 0 is the identity and by 180 degrees equals both flips", () => {
    expect(rotateImage(image, 0).data).toEqual(image.data);
    expect(rotateImage(image, 180).data).toEqual(flipImage(flipImage(image, "horizontal"), "vertical").data);
  });

  it("brightness and contrast follow torchvision and clamp 8-bit values", () => {
    expect(Array.from(adjustBrightnessContrast(image, { brightness: 0 }).data).every((v) => v === 0)).toBe(
      true,
    );
    const flat = adjustBrightnessContrast(image, { contrast: 0 });
    expect(new Set(flat.data).size).toBe(1);
    expect(Math.max(...adjustBrightnessContrast(image, { brightness: 3 }).data)).toBe(255);
  });

  it("Gaussian noise has the requested spread on a float image", () => {
    const big: PixelImage = { width: 100, height: 100, data: new Float32Array(30_000).fill(0.5) };
    const noisy = addGaussianNoise(big, { sigma: 0.1, random: createRandom(8) });
    let sum = 0;
    let squares = 0;
    for (const value of noisy.data) {
      sum += value - 0.5;
      squares += (value - 0.5) ** 2;
    }
    expect(sum / 30_000).toBeCloseTo(0, 2);
    expect(Math.sqrt(squares / 30_000)).toBeCloseTo(0.1, 2);
  });

  it("the pipeline is reproducible by seed and refuses mis-sized buffers", () => {
    const options = {
      cropScale: 0.75,
      horizontalFlip: 0.5,
      maxRotation: 15,
      brightness: 0.2,
      contrast: 0.2,
      noiseSigma: 3,
    };
    const a = augmentImage(image, { ...options, random: createRandom(11) });
    const b = augmentImage(image, { ...options, random: createRandom(11) });
    expect(a).toEqual(b);
    expect(() => flipImage({ width: 2, height: 2, data: new Uint8Array(5) }, "horizontal")).toThrow(
      /needs 12/,
    );
  });
});
