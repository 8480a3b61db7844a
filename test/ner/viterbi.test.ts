/** Constrained Viterbi: legal paths only, and the best one. */
import { describe, expect, it } from "vitest";
import {
  isAllowedEnd,
  isAllowedTransition,
  parseTag,
  type TagScheme,
  tagSet,
} from "../../src/ner/tag-scheme.js";
import { buildTransitions, viterbiDecode } from "../../src/ner/viterbi.js";
import { createRandom } from "../../src/vectors/random.js";

function isLegal(path: readonly string[], scheme: TagScheme): boolean {
  let previous: ReturnType<typeof parseTag>;
  for (const tag of path) {
    const parsed = parseTag(tag, scheme);
    if (!isAllowedTransition(previous, parsed, scheme)) return false;
    previous = parsed;
  }
  return isAllowedEnd(previous, scheme);
}

describe("viterbiDecode", () => {
  it("never emits I-X after O, after another type, or at the start (random scores, BIO and BIOES)", () => {
    const random = createRandom(7);
    for (const scheme of ["bio", "bioes"] as const) {
      const tags = tagSet(["PER", "LOC", "ORG", "MISC"], scheme);
      const table = buildTransitions(tags, scheme);
      for (let trial = 0; trial < 500; trial++) {
        const length = 1 + Math.floor(random.next() * 12);
        const scores = new Float32Array(length * tags.length);
        // Scores that favour I- tags, so an unconstrained argmax would break the rules.
        for (let i = 0; i < scores.length; i++) {
          const tag = tags[i % tags.length] as string;
          scores[i] = Math.log(random.next() + 1e-9) + (tag.startsWith("I-") ? 2 : 0);
        }
        const path = viterbiDecode(scores, table).map((index) => tags[index] as string);
        expect(path).toHaveLength(length);
        expect(isLegal(path, scheme), `${scheme}: ${path.join(" ")}`).toBe(true);
        if (scheme === "bio") {
          path.forEach((tag, position) => {
            if (!tag.startsWith("I-")) return;
            const previous = path[position - 1];
            expect(previous).toBeDefined();
            expect(previous === `B-${tag.slice(2)}` || previous === tag).toBe(true);
          });
        }
      }
    }
  });

  it("finds the best legal path (exhaustive check on short sequences)", () => {
    const random = createRandom(3);
    const tags = tagSet(["PER", "LOC"], "bio");
    const table = buildTransitions(tags, "bio");
    for (let trial = 0; trial < 100; trial++) {
      const length = 1 + Math.floor(random.next() * 4);
      const scores = Float32Array.from({ length: length * tags.length }, () =>
        Math.log(random.next() + 1e-9),
      );
      const path = viterbiDecode(scores, table);
      const score = (candidate: number[]): number =>
        candidate.reduce((sum, tag, position) => sum + (scores[position * tags.length + tag] as number), 0);
      let best = Number.NEGATIVE_INFINITY;
      const visit = (prefix: number[]): void => {
        if (prefix.length === length) {
          if (
            isLegal(
              prefix.map((index) => tags[index] as string),
              "bio",
            )
          )
            best = Math.max(best, score(prefix));
          return;
        }
        for (let tag = 0; tag < tags.length; tag++) visit([...prefix, tag]);
      };
      visit([]);
      expect(score(path)).toBeCloseTo(best, 4);
    }
  });
});
