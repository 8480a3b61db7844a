import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder, Embeddings, EmbedOptions, InputType } from "../../src/embed/embedder.js";
import { evaluateSts } from "../../src/eval/sts.js";
import { readPairs, type StsPair } from "../../src/eval/sts-data.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/eval");

interface RecordingEmbedder extends Embedder {
  readonly calls: { inputs: string[]; inputType: InputType | undefined }[];
}

/**
 * Orchestration fake: each text maps to a unit vector at a fixed angle, so the
 * cosine of a pair is cos(angle difference). Records every embed call.
 */
function createAngleEmbedder(angles: Readonly<Record<string, number>>): RecordingEmbedder {
  const calls: RecordingEmbedder["calls"] = [];
  const embed = async (inputs: readonly string[], options: EmbedOptions = {}): Promise<Embeddings> => {
    calls.push({ inputs: [...inputs], inputType: options.inputType });
    const vectors = inputs.map((text) => {
      const angle = angles[text];
      if (angle === undefined) throw new Error(`fake embedder has no angle for ${text}`);
      return new Float32Array([Math.cos(angle), Math.sin(angle)]);
    });
    return { vectors, dims: 2, precision: "float32", usage: { tokens: inputs.length } };
  };
  return {
    calls,
    model: {
      id: "angle-fake",
      dims: 2,
      modality: "text",
      maxTokens: 512,
      pooling: "mean",
      normalize: true,
      prefixes: {},
      maxBatchSize: 64,
    },
    embed: embed as Embedder["embed"],
    countTokens: async (inputs) => inputs.map(() => 1),
    close: async () => {},
  };
}

// "anchor" at 0 rad; partners at growing angles have falling cosines.
const ANGLES = { anchor: 0, near: 0.1, mid: 0.6, far: 1.2, opposite: 3, other: 0.3 };
const GRADED: StsPair[] = [
  { a: "anchor", b: "near", score: 5 },
  { a: "anchor", b: "mid", score: 3 },
  { a: "far", b: "anchor", score: 1 },
  { a: "anchor", b: "opposite", score: 0 },
  { a: "near", b: "other", score: 4 },
];

describe("evaluateSts (orchestration, fake embedder)", () => {
  it("scores a perfect ranking as Spearman 100 (correlations are ×100)", async () => {
    const embedder = createAngleEmbedder(ANGLES);
    const result = await evaluateSts({ embedder, pairs: GRADED });
    expect(result.spearman).toBeCloseTo(100, 10);
    expect(result.pearson).toBeGreaterThan(80);
    expect(result.pearson).toBeLessThanOrEqual(100);
    expect(result.pairs).toBe(5);
    expect(result.seconds).toBeGreaterThanOrEqual(0);
  });

  it("scores a reversed ranking as Spearman -100", async () => {
    const embedder = createAngleEmbedder(ANGLES);
    const reversed = GRADED.map((pair) => ({ ...pair, score: 5 - pair.score }));
    expect((await evaluateSts({ embedder, pairs: reversed })).spearman).toBeCloseTo(-100, 10);
  });

  it("embeds each distinct sentence once, in first-seen order", async () => {
    const embedder = createAngleEmbedder(ANGLES);
    const result = await evaluateSts({ embedder, pairs: GRADED });
    expect(embedder.calls).toHaveLength(1);
    expect(embedder.calls[0]?.inputs).toEqual(["anchor", "near", "mid", "far", "opposite", "other"]);
    expect(result.sentences).toBe(6);
  });

  it("splits embedding into batchSize calls, reports progress and forwards inputType", async () => {
    const embedder = createAngleEmbedder(ANGLES);
    const progress: { done: number; total: number }[] = [];
    await evaluateSts({
      embedder,
      pairs: GRADED,
      batchSize: 4,
      inputType: "query",
      onProgress: (update) => progress.push(update),
    });
    expect(embedder.calls.map((call) => call.inputs.length)).toEqual([4, 2]);
    expect(embedder.calls.every((call) => call.inputType === "query")).toBe(true);
    expect(progress).toEqual([
      { done: 4, total: 6 },
      { done: 6, total: 6 },
    ]);
  });

  it("rejects too few pairs, constant gold scores and bad items before embedding anything", async () => {
    const embedder = createAngleEmbedder(ANGLES);
    const invalidInput = (fragment: string): unknown =>
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining(fragment) });
    await expect(evaluateSts({ embedder, pairs: GRADED.slice(0, 1) })).rejects.toThrow(
      invalidInput("at least 2 pairs"),
    );
    await expect(
      evaluateSts({ embedder, pairs: GRADED.map((pair) => ({ ...pair, score: 1 })) }),
    ).rejects.toThrow(invalidInput("All 5 gold scores are equal"));
    await expect(
      evaluateSts({ embedder, pairs: [...GRADED, { a: "anchor", b: 7 as unknown as string, score: 1 }] }),
    ).rejects.toThrow(invalidInput("pairs[5].b must be a string"));
    await expect(
      evaluateSts({ embedder, pairs: [...GRADED, { a: "anchor", b: "near", score: Number.NaN }] }),
    ).rejects.toThrow(invalidInput("pairs[5].score must be a finite number"));
    await expect(evaluateSts({ embedder, pairs: GRADED, batchSize: 0 })).rejects.toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
    expect(embedder.calls).toHaveLength(0);
  });

  it("rejects when every pair gets the same cosine (degenerate model)", async () => {
    const embedder = createAngleEmbedder({ x: 0, y: 0.5, z: 0, w: 0.5 });
    const pairs = [
      { a: "x", b: "y", score: 1 },
      { a: "z", b: "w", score: 2 },
    ];
    await expect(evaluateSts({ embedder, pairs })).rejects.toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining("zero variance") }),
    );
  });
});

describe("evaluateSts (real all-minilm-l6-v2-q)", () => {
  let embedder: Embedder;
  let pairs: StsPair[];

  beforeAll(async () => {
    embedder = await createEmbedder({ model: "all-minilm-l6-v2-q" });
    pairs = await readPairs(join(FIXTURES, "graded-pairs.tsv"), {
      format: "tsv",
      header: true,
      columns: { a: "sentence1", b: "sentence2", score: "score" },
      scoreScale: { min: 0, max: 5 },
    });
  });

  afterAll(async () => {
    await embedder?.close();
  });

  it("ranks 13 hand-graded English pairs close to the human order", async () => {
    const result = await evaluateSts({ embedder, pairs });
    // Measured Spearman 97.4 / Pearson 97.2 (fp32 model: 96.8 / 97.3). The bound
    // leaves room for runtime and int8 differences but fails a broken pipeline
    // (wrong pooling or pairing lands far below it).
    expect(result.pairs).toBe(13);
    expect(result.sentences).toBe(25);
    expect(result.spearman).toBeGreaterThan(85);
    expect(result.pearson).toBeGreaterThan(85);
  });
});
