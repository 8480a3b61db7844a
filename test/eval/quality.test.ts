/** Information-density measures on hand-computed cases, percentiles, and seeded perturbations. */
import { describe, expect, it } from "vitest";
import {
  dimensionEntropy,
  isotropy,
  participationRatio,
  partitionIsotropy,
  perturbText,
  summarize,
} from "../../src/eval/quality.js";
import { createRandom } from "../../src/eval/random.js";

const basis = (dims: number): Float32Array[] =>
  Array.from({ length: 2 * dims }, (_, index) => {
    const vector = new Float32Array(dims);
    vector[index % dims] = index < dims ? 1 : -1;
    return vector;
  });

describe("participationRatio", () => {
  it("is 1 when all variance lies on one axis and d when spread evenly", () => {
    const line = [1, 2, 3, 4].map((value) => Float32Array.of(value, 0, 0));
    expect(participationRatio(line).participationRatio).toBeCloseTo(1, 12);
    // ±e_i for i < 4: covariance ∝ identity → PR = 4 (exercises the n > d path).
    const even = participationRatio(basis(4));
    expect(even.participationRatio).toBeCloseTo(4, 10);
    expect(even.normalized).toBeCloseTo(1, 10);
  });

  it("gives the same value through the Gram path (n ≤ d) as hand computation", () => {
    // Two points: all variance along their difference → 1.
    expect(
      participationRatio([Float32Array.of(1, 2, 3, 4, 5), Float32Array.of(0, 0, 0, 0, 1)]).participationRatio,
    ).toBeCloseTo(1, 12);
    // Eigenvalues 2 and 1 (variances along x and y): (3)^2 / (4 + 1) = 1.8.
    const points = [
      Float32Array.of(2, 0),
      Float32Array.of(-2, 0),
      Float32Array.of(0, Math.SQRT2),
      Float32Array.of(0, -Math.SQRT2),
    ];
    expect(participationRatio(points).participationRatio).toBeCloseTo(9 / 5, 6);
  });

  it("refuses identical vectors", () => {
    expect(() => participationRatio([Float32Array.of(1, 1), Float32Array.of(1, 1)])).toThrow(/zero variance/);
  });
});

describe("dimensionEntropy", () => {
  it("is 1 for values filling every bin equally and 0 for a constant dimension", () => {
    const uniform = Array.from({ length: 8 }, (_, index) => Float32Array.of(index, 5));
    const result = dimensionEntropy(uniform, { bins: 8 });
    // Dimension 0: one value per bin → 1; dimension 1 constant → 0.
    expect(result.meanNormalized).toBeCloseTo(0.5, 12);
    expect(result.minNormalized).toBe(0);
    expect(result.meanBits).toBeCloseTo(1.5, 12);
  });

  it("is 1 bit for two equally frequent values", () => {
    const twoValues = [0, 0, 1, 1].map((value) => Float32Array.of(value));
    expect(dimensionEntropy(twoValues, { bins: 2 }).meanBits).toBeCloseTo(1, 12);
  });
});

describe("isotropy", () => {
  it("is 1 for vectors sharing one direction and about 0 for ±basis vectors", () => {
    const same = [Float32Array.of(1, 1), Float32Array.of(2, 2), Float32Array.of(3, 3)];
    expect(isotropy(same).meanCosineToMean).toBeCloseTo(1, 6);
    expect(isotropy(same).meanPairwiseCosine).toBeCloseTo(1, 6);
    const spread = isotropy(basis(3));
    expect(spread.meanCosineToMean).toBe(0);
    // 6 unit vectors summing to 0: (0 - 6) / (6·5) = -0.2.
    expect(spread.meanPairwiseCosine).toBeCloseTo(-0.2, 12);
  });
});

describe("partitionIsotropy", () => {
  it("matches the hand-computed min Z / max Z over the principal directions", () => {
    // WᵀW = diag(8, 2): directions ±e1, ±e2; Z(±e1) = e² + e⁻² + 2, Z(±e2) = e + e⁻¹ + 2.
    const vectors = [
      Float32Array.of(2, 0),
      Float32Array.of(-2, 0),
      Float32Array.of(0, 1),
      Float32Array.of(0, -1),
    ];
    const expected = (Math.E + 1 / Math.E + 2) / (Math.E ** 2 + Math.E ** -2 + 2);
    const result = partitionIsotropy(vectors);
    expect(result.isotropy).toBeCloseTo(expected, 10);
    expect(result.directions).toBe(4);
    expect(result.logZMax).toBeCloseTo(Math.log(Math.E ** 2 + Math.E ** -2 + 2), 10);
  });

  it("is near 0 when all vectors share one direction (the null direction is ignored)", () => {
    const vectors = [Float32Array.of(1, 0), Float32Array.of(2, 0), Float32Array.of(3, 0)];
    const expected = (Math.E ** -1 + Math.E ** -2 + Math.E ** -3) / (Math.E + Math.E ** 2 + Math.E ** 3);
    expect(partitionIsotropy(vectors).isotropy).toBeCloseTo(expected, 10);
  });

  it("gives the same value through the Gram path when there are fewer vectors than dimensions", () => {
    const padded = [
      Float32Array.of(2, 0, 0, 0, 0, 0),
      Float32Array.of(-2, 0, 0, 0, 0, 0),
      Float32Array.of(0, 1, 0, 0, 0, 0),
      Float32Array.of(0, -1, 0, 0, 0, 0),
    ];
    const flat = padded.map((vector) => vector.slice(0, 2));
    expect(partitionIsotropy(padded).isotropy).toBeCloseTo(partitionIsotropy(flat).isotropy, 10);
  });

  it("rises towards 1 for many random Gaussian directions and falls when a common offset is added", () => {
    const random = createRandom(7);
    const gaussian = Array.from({ length: 2000 }, () =>
      Float32Array.from({ length: 8 }, () => random.gaussian() * 0.1),
    );
    const shifted = gaussian.map((vector) => vector.map((value, index) => (index === 0 ? value + 1 : value)));
    const isotropic = partitionIsotropy(gaussian).isotropy;
    expect(isotropic).toBeGreaterThan(0.95);
    expect(partitionIsotropy(shifted).isotropy).toBeLessThan(isotropic * 0.5);
  });

  it("refuses sets of zero vectors and mixed lengths", () => {
    expect(() => partitionIsotropy([new Float32Array(3), new Float32Array(3)])).toThrow(/zero vector/);
    expect(() => partitionIsotropy([new Float32Array(3), new Float32Array(2)])).toThrow();
  });
});

describe("summarize", () => {
  it("uses linear-interpolated percentiles like NumPy", () => {
    const summary = summarize([5, 1, 4, 2, 3]);
    expect(summary).toMatchObject({ count: 5, mean: 3, min: 1, p25: 2, p50: 3, p75: 4, max: 5 });
    expect(summary.p5).toBeCloseTo(1.2, 12);
    expect(summary.p95).toBeCloseTo(4.8, 12);
  });
});

describe("perturbText", () => {
  it("is deterministic for a seed and changes the text", () => {
    const text = "The quick brown fox jumps over the lazy dog, again.";
    for (const kind of ["typo", "casing", "punctuation", "word-drop", "synonym"] as const) {
      const a = perturbText(text, kind, createRandom(5));
      expect(perturbText(text, kind, createRandom(5))).toBe(a);
      expect(a).not.toBe(text);
    }
    expect(perturbText(text, "casing", createRandom(1))).toBe(text.toLowerCase());
    expect(perturbText(text, "punctuation", createRandom(1))).toBe(
      "The quick brown fox jumps over the lazy dog again",
    );
    expect(perturbText(text, "synonym", createRandom(1))).toBe(
      "The fast brown fox jumps over the lazy dog, again.",
    );
  });

  it("returns null when a perturbation does not apply", () => {
    expect(perturbText("hello", "word-drop", createRandom(1))).toBeNull();
    expect(perturbText("nothing listed here", "synonym", createRandom(1))).toBeNull();
  });
});
