import { describe, expect, it } from "vitest";
import { perturbText } from "../../src/eval/quality.js";
import { joinUnits, matchCase, pickSynonym, textUnits, typo } from "../../src/internal/text-perturbation.js";
import { augmentText } from "../../src/train/augment-text.js";
import { createRandom } from "../../src/vectors/random.js";

describe("text-perturbation engine", () => {
  it("splits CJK into characters and words at spaces, and joins them back", () => {
    const units = textUnits("我很喜欢 this  movie!");
    expect(units).toEqual(["我", "很", "喜", "欢", "this", "movie!"]);
    expect(joinUnits(units)).toBe("我很喜欢 this movie!");
  });

  it("makes one typo: the text changes by at most one character, the same for the same seed", () => {
    for (let seed = 0; seed < 50; seed++) {
      const out = typo("wonderful", createRandom(seed));
      expect(out).toBe(typo("wonderful", createRandom(seed)));
      expect(Math.abs([...out].length - 9)).toBeLessThanOrEqual(1);
    }
    const chinese = typo("这部电影很好看", createRandom(3));
    expect(chinese).not.toMatch(/[a-z]/i); // no keyboard neighbours for CJK
    expect(typo("a", createRandom(1))).toBe("a");
  });

  it("swaps synonyms keeping the capital letter, and never returns the word itself", () => {
    const synonyms = (word: string) => (word === "film" ? ["film", "movie"] : []);
    expect(pickSynonym("Film", synonyms, createRandom(1))).toBe("Movie");
    expect(pickSynonym("film", synonyms, createRandom(1))).toBe("movie");
    expect(pickSynonym("actor", synonyms, createRandom(1))).toBeUndefined();
    expect(matchCase("Great", "good")).toBe("Good");
  });

  it("is the engine behind both eval's perturbText and train's char-noise", () => {
    // One typo in a one-word text: both callers draw from the same engine, so the same seed gives the same typo.
    const random = createRandom(11);
    const expected = typo("wonderful", createRandom(11));
    expect(augmentText("wonderful", "char-noise", { random })).toBe(expected);
    // perturbText first picks the word (one candidate: one draw), then types.
    const seeded = createRandom(11);
    seeded.integer(1);
    expect(perturbText("wonderful", "typo", createRandom(11))).toBe(typo("wonderful", seeded));
  });
});
