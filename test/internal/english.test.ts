/** "a"/"an" and singular/plural in messages (issue 19.11: "a image", "1 questions (1 answers)"). */
import { describe, expect, it } from "vitest";
import { DEFAULT_MEDIA_LIMITS } from "../../src/embed/media/media-embedder.js";
import { openMediaInput } from "../../src/embed/media/media-input.js";
import { plural, withArticle } from "../../src/internal/english.js";

describe("english", () => {
  it("puts an before a vowel and a before a consonant", () => {
    expect(withArticle("image")).toBe("an image");
    expect(withArticle("audio model")).toBe("an audio model");
    expect(withArticle("video file")).toBe("a video file");
    expect(withArticle("text")).toBe("a text");
  });

  it("counts in the singular for 1 only", () => {
    expect(plural(1, "question")).toBe("1 question");
    expect(plural(0, "answer")).toBe("0 answers");
    expect(plural(3, "match", "matches")).toBe("3 matches");
  });

  it("media messages say an image / an audio file", async () => {
    const open = (modality: "image" | "audio") =>
      openMediaInput("", { modality, limits: DEFAULT_MEDIA_LIMITS });
    await expect(open("image")).rejects.toThrow(/Expected a path to an image file\./);
    await expect(open("audio")).rejects.toThrow(/Expected a path to an audio file\./);
    await expect(openMediaInput(".", { modality: "image", limits: DEFAULT_MEDIA_LIMITS })).rejects.toThrow(
      /Expected an image file\./,
    );
  });
});
