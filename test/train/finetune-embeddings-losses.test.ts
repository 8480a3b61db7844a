/**
 * The contrastive losses of `finetune embeddings` (embedding-losses.ts): their
 * gradients against central finite differences through the L2 normalization
 * (what the encoder's backward receives), the duplicate-positive mask of the
 * in-batch negatives loss, CoSENT's ordering, the held-out ranking metric and
 * the batch-of-one refusal. Pure arithmetic on seeded random rows: no model.
 */
import { describe, expect, it } from "vitest";
import {
  cosentLoss,
  multipleNegativesRankingLoss,
  normalizeRows,
  normalizeRowsBackward,
  pairRetrievalScores,
} from "../../src/train/encoder/embedding-losses.js";
import { createRandom } from "../../src/vectors/random.js";

const DIMS = 6;

function randomRows(rows: number, seed: number): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: rows * DIMS }, () => random.next() * 2 - 1);
}

/** Loss of raw (unnormalized) rows and its analytic gradient through the normalization. */
function throughNormalization(
  raw: Float32Array,
  rows: number,
  loss: (unit: Float32Array) => { loss: number; grad: Float32Array },
): { loss: number; grad: Float32Array } {
  const { unit, norms } = normalizeRows(raw, rows, DIMS);
  const result = loss(unit);
  return { loss: result.loss, grad: normalizeRowsBackward(unit, norms, result.grad.slice(), DIMS) };
}

function expectGradientMatches(
  raw: Float32Array,
  rows: number,
  loss: (unit: Float32Array) => { loss: number; grad: Float32Array },
): void {
  const { grad } = throughNormalization(raw, rows, loss);
  const step = 1e-3;
  let largest = 0;
  for (let i = 0; i < raw.length; i++) {
    const plus = raw.slice();
    plus[i] = (plus[i] as number) + step;
    const minus = raw.slice();
    minus[i] = (minus[i] as number) - step;
    const numeric =
      (throughNormalization(plus, rows, loss).loss - throughNormalization(minus, rows, loss).loss) /
      (2 * step);
    expect(Math.abs(numeric - (grad[i] as number))).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
    largest = Math.max(largest, Math.abs(numeric));
  }
  expect(largest).toBeGreaterThan(1e-3); // the check saw real gradients
}

describe("multipleNegativesRankingLoss", () => {
  it("has the gradient of its loss, with and without hard negatives", () => {
    const batch = 3;
    const keys = { anchorKeys: ["a", "b", "c"], candidateKeys: ["p", "q", "r"] };
    expectGradientMatches(randomRows(2 * batch, 1), 2 * batch, (unit) =>
      multipleNegativesRankingLoss({ vectors: unit, dims: DIMS, batch, scale: 5, ...keys }),
    );
    expectGradientMatches(randomRows(3 * batch, 2), 3 * batch, (unit) =>
      multipleNegativesRankingLoss({
        vectors: unit,
        dims: DIMS,
        batch,
        negatives: batch,
        scale: 5,
        anchorKeys: keys.anchorKeys,
        candidateKeys: [...keys.candidateKeys, "x", "y", "z"],
      }),
    );
  });

  it("masks a duplicate positive instead of pushing it away as a negative", () => {
    const vectors = normalizeRows(randomRows(4, 3), 4, DIMS).unit;
    const masked = multipleNegativesRankingLoss({
      vectors,
      dims: DIMS,
      batch: 2,
      anchorKeys: ["a", "b"],
      candidateKeys: ["same", "same"],
    });
    // Each anchor's only other candidate is its own positive's copy: nothing left to contrast.
    expect(masked.loss).toBeCloseTo(0, 6);
    expect(masked.grad.every((value) => value === 0)).toBe(true);
    const unmasked = multipleNegativesRankingLoss({
      vectors,
      dims: DIMS,
      batch: 2,
      anchorKeys: ["a", "b"],
      candidateKeys: ["one", "two"],
    });
    expect(unmasked.loss).toBeGreaterThan(0.01);
  });

  it("refuses a batch of one pair without hard negatives", () => {
    expect(() =>
      multipleNegativesRankingLoss({
        vectors: randomRows(2, 4),
        dims: DIMS,
        batch: 1,
        anchorKeys: ["a"],
        candidateKeys: ["p"],
      }),
    ).toThrow(/at least 2 pairs per batch/);
  });
});

describe("cosentLoss", () => {
  it("has the gradient of its loss and is lower when the cosines follow the scores", () => {
    const batch = 4;
    const scores = [0.9, 0.1, 0.5, 0.3];
    expectGradientMatches(randomRows(2 * batch, 5), 2 * batch, (unit) =>
      cosentLoss({ vectors: unit, dims: DIMS, batch, scores, scale: 5 }),
    );
    // Pairs (u_i, v_i) whose cosine is the score's order vs the reverse order.
    const rows = (cosines: number[]) => {
      const out = new Float32Array(2 * batch * DIMS);
      cosines.forEach((cosine, i) => {
        out[i * DIMS] = 1;
        out[(batch + i) * DIMS] = cosine;
        out[(batch + i) * DIMS + 1] = Math.sqrt(1 - cosine * cosine);
      });
      return out;
    };
    const ordered = cosentLoss({ vectors: rows([0.9, 0.1, 0.5, 0.3]), dims: DIMS, batch, scores });
    const reversed = cosentLoss({ vectors: rows([0.1, 0.9, 0.3, 0.5]), dims: DIMS, batch, scores });
    expect(ordered.loss).toBeLessThan(reversed.loss);
    expect(
      cosentLoss({ vectors: rows([0.1, 0.2, 0.3, 0.4]), dims: DIMS, batch, scores: [1, 1, 1, 1] }).loss,
    ).toBe(0);
  });
});

describe("pairRetrievalScores", () => {
  it("scores the rank of each anchor's own candidate", () => {
    const e = (i: number) => Float32Array.from({ length: 3 }, (_, k) => (k === i ? 1 : 0));
    // Anchor 0 finds its candidate first; anchor 1's candidate (index 2) ranks second.
    const anchors = [e(0), Float32Array.from([0, 0.8, 0.6])];
    const candidates = [e(0), e(1), e(2)];
    const scores = pairRetrievalScores(anchors, candidates, [0, 2]);
    expect(scores.accuracy).toBe(0.5);
    expect(scores.mrr).toBeCloseTo((1 + 1 / 2) / 2, 10);
  });
});
