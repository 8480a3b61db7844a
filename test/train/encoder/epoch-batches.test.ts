/**
 * One epoch's batches (`epochBatches`): plain shuffled batches (the order every earlier run used),
 * and length-grouped batches (`--group-by-length`) that cut padding without losing or repeating
 * an example, and without changing the batch count the schedule is built on.
 */
import { describe, expect, it } from "vitest";
import { trainingLoopSettings } from "../../../src/cli/finetune-options.js";
import { bucketLength, epochBatches, GROUP_CHUNK_BATCHES } from "../../../src/train/encoder/training-loop.js";
import { createRandom } from "../../../src/vectors/random.js";

/** Lengths like MSRA's sentences: mostly 10–60 tokens, a long tail to 200. */
function lengths(count: number): number[] {
  const random = createRandom(5);
  return Array.from({ length: count }, () => {
    const u = random.next();
    return u < 0.9 ? 10 + Math.floor(random.next() * 50) : 60 + Math.floor(random.next() * 140);
  });
}

const paddedTokens = (batches: number[][], of: readonly number[], batchSize: number): number =>
  batches.reduce(
    (sum, batch) => sum + batchSize * bucketLength(Math.max(...batch.map((i) => of[i] as number)), 256),
    0,
  );

describe("epochBatches", () => {
  it("without grouping, is the seeded shuffle cut in order (the batches of every earlier run)", () => {
    const of = lengths(37);
    const shuffled = createRandom(9).shuffle(Array.from({ length: 37 }, (_, i) => i));
    const batches = epochBatches(of, 8, createRandom(9), false);
    expect(batches.map((batch) => batch.length)).toEqual([8, 8, 8, 8, 5]);
    expect(batches.flat()).toEqual(shuffled);
  });

  it("with grouping, keeps every example once and the batch count, and halves the padding", () => {
    const of = lengths(3000);
    const batchSize = 16;
    const grouped = epochBatches(of, batchSize, createRandom(1), true);
    const plain = epochBatches(of, batchSize, createRandom(1), false);
    expect(grouped).toHaveLength(Math.ceil(3000 / batchSize));
    expect([...grouped.flat()].sort((a, b) => a - b)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    // Only the last batch is short, as without grouping (the schedule's step count is unchanged).
    expect(grouped.slice(0, -1).every((batch) => batch.length === batchSize)).toBe(true);
    expect(grouped.at(-1)).toHaveLength(3000 % batchSize);
    const ratio = paddedTokens(grouped, of, batchSize) / paddedTokens(plain, of, batchSize);
    expect(ratio).toBeLessThan(0.7);
    // Batches are still drawn from across the epoch: the first batches are not the longest ones.
    const longestFirst = [...grouped.slice(0, -1)].sort(
      (a, b) => Math.max(...b.map((i) => of[i] as number)) - Math.max(...a.map((i) => of[i] as number)),
    );
    expect(grouped.slice(0, 10)).not.toEqual(longestFirst.slice(0, 10));
    // Seeded: the same generator gives the same batches; another epoch's gives others.
    expect(epochBatches(of, batchSize, createRandom(1), true)).toEqual(grouped);
    expect(epochBatches(of, batchSize, createRandom(2), true)).not.toEqual(grouped);
    expect(GROUP_CHUNK_BATCHES).toBeGreaterThan(1);
  });

  it("handles fewer examples than one batch, and one example", () => {
    expect(epochBatches([5, 9, 3], 16, createRandom(3), true)).toEqual([[1, 0, 2]]);
    expect(epochBatches([5], 4, createRandom(3), true)).toEqual([[0]]);
  });

  it("is off unless --group-by-length is given on the command line", () => {
    const base = {
      model: "all-minilm-l6-v2",
      onLong: "truncate" as const,
      optimizer: "adamw" as const,
      lr: 5e-5,
      weightDecay: 0.01,
      schedule: "linear" as const,
      warmup: 0.1,
      epochs: 1,
      batchSize: 16,
      dropout: 0.1,
      clip: 1,
      seed: 42,
      out: "out",
      checkpointKeep: 3,
    };
    expect(trainingLoopSettings(base).groupByLength).toBeUndefined();
    expect(trainingLoopSettings({ ...base, groupByLength: true }).groupByLength).toBe(true);
  });
});
