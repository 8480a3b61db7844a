/**
 * Pure parts of the OpenAI provider: Retry-After parsing, backoff with full
 * jitter, the token estimate and request planning.
 */
import { describe, expect, it } from "vitest";
import { estimateTokens, planRequests } from "../../src/embed/openai/openai-embedder.js";
import { parseRetryAfter, retryDelay, sleep } from "../../src/embed/retry-policy.js";

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");
  it("prefers retry-after-ms, then Retry-After seconds, then an HTTP date", () => {
    expect(parseRetryAfter(new Headers({ "retry-after-ms": "250", "retry-after": "9" }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ "retry-after": "2" }), now)).toBe(2000);
    expect(parseRetryAfter(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:03 GMT" }), now)).toBe(3000);
    // A date in the past means "now".
    expect(parseRetryAfter(new Headers({ "retry-after": "Tue, 31 Dec 2024 23:59:00 GMT" }), now)).toBe(0);
  });
  it("ignores absent or unparseable values", () => {
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers({ "retry-after-ms": "x", "retry-after": "1" }), now)).toBe(1000);
  });
});

describe("retryDelay", () => {
  it("uses full jitter in [0, min(max, initial × 2^attempt))", () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000 };
    expect(retryDelay({ ...options, attempt: 0, random: () => 0.999 })).toBe(99);
    expect(retryDelay({ ...options, attempt: 3, random: () => 0.5 })).toBe(400);
    expect(retryDelay({ ...options, attempt: 10, random: () => 0.5 })).toBe(500);
    expect(retryDelay({ ...options, attempt: 2, random: () => 0 })).toBe(0);
  });
  it("honours a server hint within the ceiling and ignores one above it", () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000, attempt: 0, random: () => 0.5 };
    expect(retryDelay({ ...options, retryAfterMs: 700 })).toBe(700);
    expect(retryDelay({ ...options, retryAfterMs: 5000 })).toBe(50);
  });
});

describe("sleep", () => {
  it("rejects with the signal's reason when aborted", async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(pending).rejects.toThrow("stop");
  });
});

describe("estimateTokens", () => {
  it("over-counts English (≈4 chars/token) and counts one token per CJK character", () => {
    expect(estimateTokens("The weather is lovely today.")).toBe(10); // 28 chars; cl100k: 6 tokens
    expect(estimateTokens("今天天气很好")).toBe(6);
    expect(estimateTokens("a")).toBe(1);
    expect(estimateTokens("😀")).toBe(1); // one code point, not two UTF-16 units
  });
});

describe("planRequests", () => {
  it("splits by input count, keeping order and contiguity", () => {
    const ranges = planRequests(new Array(5000).fill(1), 2048, 1_000_000);
    expect(ranges).toEqual([
      { start: 0, end: 2048 },
      { start: 2048, end: 4096 },
      { start: 4096, end: 5000 },
    ]);
  });
  it("splits by estimated tokens; an input over the budget travels alone", () => {
    expect(planRequests([3, 3, 3, 10, 1], 100, 6)).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 3 },
      { start: 3, end: 4 },
      { start: 4, end: 5 },
    ]);
    expect(planRequests([], 10, 10)).toEqual([]);
  });
});
