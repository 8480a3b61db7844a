/**
 * Classification, pair-classification and clustering metrics on hand-computed
 * cases and on the examples of scikit-learn's documentation (values quoted there).
 */
import { describe, expect, it } from "vitest";
import {
  accuracy,
  averagePrecision,
  f1Report,
  macroF1,
  rocAuc,
  vMeasure,
} from "../../src/eval/classification-metrics.js";
import { bioToSpans, entityF1 } from "../../src/eval/entity-f1.js";

describe("accuracy and macroF1", () => {
  it("match sklearn's documented examples", () => {
    expect(accuracy([0, 1, 2, 3], [0, 2, 1, 3])).toBe(0.5);
    // sklearn f1_score(average="macro") docs: 0.26666...
    expect(macroF1([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1])).toBeCloseTo(0.26666666666666666, 12);
  });

  it("counts a class that is only predicted (never true) with F1 0, and works with string labels", () => {
    const report = f1Report(["a", "a", "b"], ["a", "c", "b"]);
    expect(report.perClass.map((row) => row.label)).toEqual(["a", "b", "c"]);
    // a: P=1, R=1/2 → F1=2/3; b: 1; c: 0.
    expect(report.macroF1).toBeCloseTo((2 / 3 + 1 + 0) / 3, 12);
  });

  it("rejects lists of different lengths and empty lists", () => {
    expect(() => accuracy([0, 1], [0])).toThrow(/same length/);
    expect(() => macroF1([], [])).toThrow(/at least one item/);
  });
});

describe("rocAuc", () => {
  it("matches sklearn's roc_auc_score example", () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
  });

  it("gives tied scores half credit", () => {
    // Pairs (pos, neg): (0.5, 0.1) 1, (0.5, 0.5) 0.5, (0.9, 0.1) 1, (0.9, 0.5) 1 → 3.5 / 4.
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9])).toBeCloseTo(0.875, 12);
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });

  it("refuses one-class data and labels other than 0/1", () => {
    expect(() => rocAuc([1, 1], [0.2, 0.3])).toThrow(/only one class/);
    expect(() => rocAuc([0, 2], [0.2, 0.3])).toThrow(/must be 0 or 1/);
  });
});

describe("averagePrecision", () => {
  it("matches sklearn's average_precision_score example", () => {
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.8333333333333333, 12);
  });

  it("treats tied scores as one threshold", () => {
    // 0.9: R=0.5, P=1; 0.5 (two items): R=1, P=2/3.
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9])).toBeCloseTo(0.5 + 0.5 * (2 / 3), 12);
    expect(averagePrecision([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });
});

describe("vMeasure", () => {
  it("matches sklearn's documented examples (labels_true, labels_pred)", () => {
    expect(vMeasure([0, 0, 1, 1], [0, 0, 1, 1]).vMeasure).toBe(1);
    expect(vMeasure([0, 0, 1, 1], [1, 1, 0, 0]).vMeasure).toBe(1);
    expect(vMeasure([0, 0, 1, 2], [0, 0, 1, 1]).vMeasure).toBeCloseTo(0.8, 12);
    expect(vMeasure([0, 1, 2, 3], [0, 0, 1, 1]).vMeasure).toBeCloseTo(0.6666666666666666, 12);
    expect(vMeasure([0, 0, 1, 1], [0, 1, 0, 1]).vMeasure).toBeCloseTo(0, 12);
    const oneCluster = vMeasure([0, 0, 1, 1], [0, 0, 0, 0]);
    expect(oneCluster.homogeneity).toBeCloseTo(0, 12);
    expect(oneCluster.completeness).toBe(1);
    expect(oneCluster.vMeasure).toBeCloseTo(0, 12);
  });

  it("splits homogeneity and completeness", () => {
    const result = vMeasure([0, 0, 1, 1], [0, 0, 1, 2]);
    expect(result.homogeneity).toBeCloseTo(1, 12);
    expect(result.completeness).toBeCloseTo(2 / 3, 12);
  });
});

describe("entity F1", () => {
  it("turns BIO tags into spans (conlleval: a stray I- starts an entity)", () => {
    expect(bioToSpans(["B-PER", "I-PER", "O", "B-LOC", "I-ORG", "I-ORG"])).toEqual([
      { start: 0, end: 2, type: "PER" },
      { start: 3, end: 4, type: "LOC" },
      { start: 4, end: 6, type: "ORG" },
    ]);
    expect(() => bioToSpans(["X-PER"])).toThrow(/must be "O"/);
  });

  it("counts exact span + type matches, per type and micro", () => {
    const gold = [bioToSpans(["B-PER", "I-PER", "O", "B-LOC"]), bioToSpans(["B-ORG", "O"])];
    const predicted = [bioToSpans(["B-PER", "O", "O", "B-LOC"]), bioToSpans(["B-LOC", "O"])];
    const report = entityF1(gold, predicted);
    // Correct: LOC in sentence 1 only. Gold 3, predicted 3.
    expect(report.micro).toMatchObject({ correct: 1, predicted: 3, support: 3 });
    expect(report.micro.f1).toBeCloseTo(1 / 3, 12);
    expect(report.perType.LOC).toMatchObject({ precision: 0.5, recall: 1 });
    expect(report.perType.PER).toMatchObject({ precision: 0, recall: 0, f1: 0 });
    expect(report.perType.ORG).toMatchObject({ predicted: 0, support: 1, f1: 0 });
  });
});
