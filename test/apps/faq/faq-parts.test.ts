/**
 * The FAQ's pure parts: reading FAQ and calibration files (and their errors),
 * grouping questions by answer, language detection, answer aggregation and
 * threshold calibration.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  aggregateAnswerScores,
  assertAggregation,
  rankAnswersExactly,
} from "../../../src/apps/faq/answer-ranking.js";
import {
  type AnswerOutcome,
  calibrateThreshold,
  evaluateThreshold,
  thresholdCurve,
} from "../../../src/apps/faq/answer-threshold.js";
import {
  answerId,
  groupFaqEntries,
  parseFaqEntries,
  parseLabelledQueries,
  readFaqFile,
  readLabelledQueries,
} from "../../../src/apps/faq/faq-entries.js";
import { cjkRatio, detectFaqLanguage } from "../../../src/apps/faq/faq-language.js";
import { EmbedkitError } from "../../../src/errors.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/faq");

describe("FAQ files", () => {
  it("reads question, answer and category columns and groups questions by answer", async () => {
    const entries = await readFaqFile(join(FIXTURES, "faq-en.csv"));
    expect(entries).toHaveLength(7);
    expect(entries[0]).toEqual({
      question: "How do I reset my card PIN?",
      answer: "Open the app, go to Cards > PIN and choose Reset PIN.",
      category: "cards",
    });
    const answers = groupFaqEntries(entries);
    expect(answers).toHaveLength(5);
    expect(answers[0]?.questions).toEqual(["How do I reset my card PIN?", "I forgot my PIN"]);
    expect(answers[0]?.id).toBe(answerId("Open the app, go to Cards > PIN and choose Reset PIN."));
    expect(answers[0]?.id).toMatch(/^a-[0-9a-f]{16}$/);
  });

  it("accepts a file without a category column and with custom column names", () => {
    expect(parseFaqEntries("Q,A\nHi?,Hello.\n", "x.csv", { question: "q", answer: "a" })).toEqual([
      { question: "Hi?", answer: "Hello." },
    ]);
    expect(parseFaqEntries("question\tanswer\nHi?\tHello.\n", "x.tsv")).toEqual([
      { question: "Hi?", answer: "Hello." },
    ]);
  });

  it("refuses a missing answer column, naming the columns found", async () => {
    const read = readFaqFile(join(FIXTURES, "missing-answer.csv"));
    await expect(read).rejects.toThrow(EmbedkitError);
    await expect(read).rejects.toThrow(/no column "answer" in the header \(found: question, reply\)/);
  });

  it("refuses an empty file, a header without rows, an empty answer and broken quoting", async () => {
    await expect(readFaqFile(join(FIXTURES, "empty.csv"))).rejects.toThrow(/is empty/);
    await expect(readFaqFile(join(FIXTURES, "header-only.csv"))).rejects.toThrow(/header but no rows/);
    await expect(readFaqFile(join(FIXTURES, "empty-answer.csv"))).rejects.toThrow(/:2: empty "answer" value/);
    await expect(readFaqFile(join(FIXTURES, "unclosed-quote.csv"))).rejects.toThrow(/invalid CSV/);
    await expect(readFaqFile(join(FIXTURES, "no-such.csv"))).rejects.toThrow(
      /Cannot read the FAQ file .*: no such file/,
    );
  });

  it("reads calibration files with none/oos/empty as unanswerable", async () => {
    const labelled = await readLabelledQueries(join(FIXTURES, "calibration-en.csv"));
    expect(labelled).toHaveLength(6);
    expect(labelled.filter((entry) => entry.expected === null)).toHaveLength(3);
    expect(
      parseLabelledQueries("query,expected\na,OOS\nb,\nc,x\n", "c.csv").map((entry) => entry.expected),
    ).toEqual([null, null, "x"]);
    // Issue 19.6: a FAQ file given as calibration file is explained with the calibration header.
    expect(() => parseLabelledQueries("question,answer\na,b\n", "c.csv")).toThrow(
      /no column "query" in the header \(found: question, answer\)\. The first row must name the columns, e\.g\. "query,expected"; a calibration file .* not the FAQ file itself/,
    );
    expect(() => parseLabelledQueries("", "c.csv")).toThrow(/no labelled queries/);
  });
});

describe("language detection", () => {
  it("detects Chinese by the share of CJK letters", () => {
    expect(detectFaqLanguage(["花呗怎么还款", "银行卡怎么解绑"])).toBe("zh");
    expect(detectFaqLanguage(["How do I reset my PIN?"])).toBe("en");
    expect(detectFaqLanguage(["支付宝账户怎么 close"])).toBe("zh");
    expect(cjkRatio(["123 !?"])).toBe(0);
  });
});

describe("answer aggregation", () => {
  const scores = [
    { answerId: "a", score: 0.9, question: "a1" },
    { answerId: "a", score: 0.3, question: "a2" },
    { answerId: "b", score: 0.7, question: "b1" },
    { answerId: "b", score: 0.65, question: "b2" },
  ];

  it("max ranks by the best question, mean by the mean over questions", () => {
    expect(aggregateAnswerScores(scores, "max").map((entry) => entry.answerId)).toEqual(["a", "b"]);
    const mean = aggregateAnswerScores(scores, "mean");
    expect(mean.map((entry) => entry.answerId)).toEqual(["b", "a"]);
    expect(mean[0]?.score).toBeCloseTo(0.675, 6);
    expect(mean[1]?.matchedQuestion).toBe("a1");
  });

  it("ranks exactly in memory with max, mean and centroid", () => {
    const unit = (x: number, y: number): Float32Array => {
      const n = Math.hypot(x, y);
      return Float32Array.from([x / n, y / n]);
    };
    const matrix = {
      questionVectors: [unit(1, 0), unit(0, 1), unit(0.8, 0.6), unit(0.8, 0.6)],
      questionAnswer: [0, 0, 1, 1],
      answers: 2,
    };
    const query = [unit(1, 0)];
    expect(rankAnswersExactly(query, matrix, { aggregation: "max", k: 2 })[0]?.[0]).toEqual({
      answer: 0,
      score: 1,
    });
    const mean = rankAnswersExactly(query, matrix, { aggregation: "mean", k: 2 })[0];
    expect(mean?.[0]?.answer).toBe(1);
    expect(mean?.[0]?.score).toBeCloseTo(0.8, 5);
    const centroid = rankAnswersExactly(query, matrix, { aggregation: "centroid", k: 1 })[0];
    expect(centroid?.[0]?.answer).toBe(1);
    expect(centroid?.[0]?.score).toBeCloseTo(0.8, 5);
  });

  it("refuses an unknown aggregation", () => {
    expect(() => assertAggregation("median")).toThrow(/Expected one of: max, mean, centroid/);
  });
});

describe("threshold calibration", () => {
  const outcomes: AnswerOutcome[] = [
    { confidence: 0.95, inScope: true, correct: true },
    { confidence: 0.9, inScope: true, correct: true },
    { confidence: 0.85, inScope: true, correct: false },
    { confidence: 0.8, inScope: false, correct: false },
    { confidence: 0.7, inScope: true, correct: true },
    { confidence: 0.6, inScope: false, correct: false },
    { confidence: 0.5, inScope: false, correct: false },
  ];

  it("evaluates coverage, precision, in-scope accuracy and out-of-scope recall", () => {
    const point = evaluateThreshold(outcomes, 0.75);
    expect(point.coverage).toBeCloseTo(4 / 7, 6);
    expect(point.precision).toBeCloseTo(2 / 4, 6);
    expect(point.inScopeAccuracy).toBeCloseTo(2 / 4, 6);
    expect(point.outOfScopeRecall).toBeCloseTo(2 / 3, 6);
    expect(point.accuracy).toBeCloseTo(4 / 7, 6);
  });

  it("picks midpoints: max accuracy, a precision target, an in-scope accuracy target", () => {
    const best = calibrateThreshold(outcomes, { kind: "accuracy" });
    expect(best.threshold).toBeCloseTo(0.65, 6);
    expect(best.point.accuracy).toBeCloseTo(5 / 7, 6);
    const precise = calibrateThreshold(outcomes, { kind: "precision", target: 1 });
    expect(precise.threshold).toBeCloseTo(0.875, 6);
    expect(precise.targetMet).toBe(true);
    const inScope = calibrateThreshold(outcomes, { kind: "in-scope-accuracy", target: 0.75 });
    expect(inScope.threshold).toBeCloseTo(0.65, 6);
    expect(inScope.point.outOfScopeRecall).toBeCloseTo(2 / 3, 6);
    const impossible = calibrateThreshold(
      outcomes.map((outcome) => ({ ...outcome, correct: false })),
      { kind: "precision", target: 0.9 },
    );
    expect(impossible.targetMet).toBe(false);
  });

  it("gives a curve from answering everything to answering nothing", () => {
    const curve = thresholdCurve(outcomes);
    expect(curve[0]?.coverage).toBe(1);
    expect(curve[curve.length - 1]?.coverage).toBe(0);
    expect(curve.every((point) => Number.isFinite(point.threshold))).toBe(true);
    expect(thresholdCurve(outcomes, { points: 3 }).length).toBeLessThanOrEqual(4);
  });

  it("refuses no outcomes, NaN confidences and targets outside (0, 1]", () => {
    expect(() => calibrateThreshold([])).toThrow(/at least one labelled question/);
    expect(() => evaluateThreshold([{ confidence: Number.NaN, inScope: true, correct: true }], 0)).toThrow(
      /finite/,
    );
    expect(() => calibrateThreshold(outcomes, { kind: "precision", target: 1.5 })).toThrow(/\(0, 1\]/);
  });
});
