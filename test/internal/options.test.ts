import { describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import { checkInteger, checkNumber, checkOptionalInteger } from "../../src/internal/options.js";

describe("checkInteger", () => {
  it("returns integers inside the range", () => {
    expect(checkInteger("k", 1, { min: 1 })).toBe(1);
    expect(checkInteger("k", 100, { min: 1, max: 100 })).toBe(100);
    expect(checkInteger("offset", -5)).toBe(-5);
  });

  it("names the option, the range and the received value", () => {
    expect(() => checkInteger("k", 0, { min: 1, max: 100 })).toThrow(
      "k must be an integer from 1 to 100, received 0.",
    );
    expect(() => checkInteger("batchSize", 2.5, { min: 1 })).toThrow(
      "batchSize must be a positive integer, received 2.5.",
    );
    expect(() => checkInteger("limit", "3", { max: 9 })).toThrow(
      'limit must be an integer <= 9, received "3".',
    );
    expect(() => checkInteger("n", Number.NaN)).toThrow("n must be an integer, received NaN.");
  });

  it("throws INVALID_OPTION with the facts in details", () => {
    expect(() => checkInteger("epochs", -1, { min: 1 })).toThrow(
      expect.objectContaining({
        name: "EmbedkitError",
        code: "INVALID_OPTION",
        details: { param: "epochs", received: -1, min: 1 },
      }),
    );
  });

  it("refuses integers beyond the safe range", () => {
    expect(() => checkInteger("n", 2 ** 60)).toThrow(EmbedkitError);
  });
});

describe("checkNumber", () => {
  it("accepts finite numbers in range and an exclusive lower bound", () => {
    expect(checkNumber("rate", 0.5, { min: 0, max: 1 })).toBe(0.5);
    expect(checkNumber("learningRate", 1e-5, { above: 0 })).toBe(1e-5);
  });

  it("refuses NaN, infinities and values out of range", () => {
    expect(() => checkNumber("rate", Number.NaN, { min: 0, max: 1 })).toThrow(
      "rate must be a finite number from 0 to 1, received NaN.",
    );
    expect(() => checkNumber("learningRate", 0, { above: 0 })).toThrow(
      "learningRate must be a finite number > 0, received 0.",
    );
    expect(() => checkNumber("x", Number.POSITIVE_INFINITY)).toThrow(EmbedkitError);
  });
});

describe("checkOptionalInteger", () => {
  it("uses the fallback only for undefined", () => {
    expect(checkOptionalInteger("k", undefined, 10, { min: 1 })).toBe(10);
    expect(checkOptionalInteger("k", 3, 10, { min: 1 })).toBe(3);
    expect(() => checkOptionalInteger("copies", -1, 1, { min: 0 })).toThrow(
      "copies must be a non-negative integer, received -1.",
    );
    expect(() =>
      checkInteger("batchSize", 1, { min: 2, reason: "the rest of a batch are the negatives" }),
    ).toThrow("batchSize must be an integer >= 2 (the rest of a batch are the negatives), received 1.");
    expect(() => checkInteger("warmupSteps", 9, { min: 0, max: 8 })).toThrow(
      "warmupSteps must be an integer from 0 to 8, received 9.",
    );
    expect(() => checkOptionalInteger("k", null, 10, { min: 1 })).toThrow(
      "k must be a positive integer, received null.",
    );
  });
});
