/** Zero-shot classification from label names on real models: defaults per model, prefixes, errors. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import {
  createZeroShotClassifier,
  GENERIC_ZERO_SHOT_SETTINGS,
  ZERO_SHOT_DEFAULTS,
  zeroShotDefaults,
} from "../../src/embed/zero-shot.js";
import { EmbedkitError } from "../../src/errors.js";

let bge: Embedder;
let e5: Embedder;

beforeAll(async () => {
  bge = await createEmbedder({ model: "bge-small-en-v1.5" });
  e5 = await createEmbedder({ model: "e5-small-v2-q" });
});
afterAll(async () => {
  await bge?.close();
  await e5?.close();
});

describe("createZeroShotClassifier", () => {
  it("labels texts with the model's measured defaults; probabilities sum to 1", async () => {
    const classifier = await createZeroShotClassifier({
      embedder: bge,
      labels: ["sports", "cooking", "finance"],
    });
    expect(classifier.settings).toEqual(ZERO_SHOT_DEFAULTS["bge-small-en-v1.5"]);
    const results = await classifier.classify([
      "the chef added garlic and simmered the sauce",
      "the striker scored twice in the final",
      "the central bank raised interest rates again",
    ]);
    expect(results.map((result) => result.label)).toEqual(["cooking", "sports", "finance"]);
    for (const result of results) {
      const total = Object.values(result.probabilities).reduce((a, b) => a + b, 0);
      expect(total).toBeCloseTo(1, 6);
      expect(result.score).toBe(result.probabilities[result.label]);
    }
  });

  it("embeds texts with the text input type (e5: passage prefix), so predict on such vectors equals classify", async () => {
    const classifier = await createZeroShotClassifier({ embedder: e5, labels: ["positive", "negative"] });
    expect(classifier.settings.textInputType).toBe(ZERO_SHOT_DEFAULTS["e5-small-v2-q"]?.textInputType);
    const texts = ["what a wonderful, moving film", "a dull and tedious movie"];
    const classified = await classifier.classify(texts);
    const vectors = (await e5.embed(texts, { inputType: classifier.settings.textInputType })).vectors;
    const predicted = classifier.predict(vectors);
    predicted.forEach((prediction, index) => {
      expect(prediction.label).toBe(classified[index]?.label);
      expect(prediction.score).toBeCloseTo(classified[index]?.score as number, 5);
    });
    expect(classified.map((result) => result.label)).toEqual(["positive", "negative"]);
  });

  it("a given template and temperature override the defaults; lower temperature is more peaked", async () => {
    const text = ["the striker scored twice in the final"];
    const warm = await createZeroShotClassifier({
      embedder: bge,
      labels: ["sports", "cooking"],
      template: "A news story about {label}.",
      temperature: 1,
    });
    const cold = await createZeroShotClassifier({
      embedder: bge,
      labels: ["sports", "cooking"],
      template: "A news story about {label}.",
      temperature: 0.01,
    });
    expect(warm.settings.template).toBe("A news story about {label}.");
    const [warmResult] = await warm.classify(text);
    const [coldResult] = await cold.classify(text);
    expect(coldResult?.label).toBe("sports");
    expect(coldResult?.score as number).toBeGreaterThan(warmResult?.score as number);
  });

  it("models without measured defaults get the generic template", () => {
    expect(zeroShotDefaults("some-other-model")).toBe(GENERIC_ZERO_SHOT_SETTINGS);
    expect(zeroShotDefaults("bge-small-zh-v1.5-q")).toBe(ZERO_SHOT_DEFAULTS["bge-small-zh-v1.5"]);
  });

  it("refuses fewer than two labels, repeated or empty labels, a template without {label}, temperature ≤ 0", async () => {
    await expect(createZeroShotClassifier({ embedder: bge, labels: ["only"] })).rejects.toThrow(
      /at least two distinct, non-empty labels/,
    );
    await expect(createZeroShotClassifier({ embedder: bge, labels: ["a", " "] })).rejects.toThrow(
      EmbedkitError,
    );
    await expect(createZeroShotClassifier({ embedder: bge, labels: ["a", "b", "a"] })).rejects.toThrow(
      /labels repeat/,
    );
    await expect(
      createZeroShotClassifier({ embedder: bge, labels: ["a", "b"], template: "no placeholder" }),
    ).rejects.toThrow(/must contain \{label\}/);
    await expect(
      createZeroShotClassifier({ embedder: bge, labels: ["a", "b"], temperature: 0 }),
    ).rejects.toThrow(/temperature/);
  });
});
