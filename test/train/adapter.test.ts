import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createRandom,
  createTensor,
  inBatchContrastiveLoss,
  loadAdapter,
  saveAdapter,
  trainAdapter,
} from "../../src/train/index.js";
import { normalize } from "../../src/vectors/math.js";

const dims = 16;
const embedding = { modelId: "toy", dims };

/** Passages are random unit vectors; a query is its passage with coordinates permuted and scaled, plus noise. */
function pairs(count: number, seed: number) {
  const random = createRandom(seed);
  const passages = Array.from({ length: count }, () =>
    normalize(Float32Array.from({ length: dims }, () => random.gaussian())),
  );
  const queries = passages.map((passage) =>
    normalize(
      Float32Array.from(
        { length: dims },
        (_, d) => (passage[(d + 3) % dims] as number) * (d < 8 ? 2 : 0.5) + 0.1 * random.gaussian(),
      ),
    ),
  );
  return { passages, queries };
}

function recallAt1(queries: readonly Float32Array[], passages: readonly Float32Array[]): number {
  let hits = 0;
  queries.forEach((query, i) => {
    let best = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    passages.forEach((passage, j) => {
      let score = 0;
      for (let d = 0; d < dims; d++) score += (query[d] as number) * (passage[d] as number);
      if (score > bestScore) {
        bestScore = score;
        best = j;
      }
    });
    if (best === i) hits++;
  });
  return hits / queries.length;
}

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

describe("in-batch contrastive loss", () => {
  it("has the gradient finite differences give", () => {
    const random = createRandom(3);
    const data = Float32Array.from({ length: 4 * 5 }, () => random.gaussian());
    const positives = Array.from({ length: 4 }, () =>
      Float32Array.from({ length: 5 }, () => random.gaussian()),
    );
    const options = { temperature: 0.5, positiveIds: ["a", "b", "a", "c"] };
    const { grad } = inBatchContrastiveLoss(createTensor([4, 5], data), positives, options);
    for (const index of [0, 7, 13, 19]) {
      const plus = data.slice();
      const minus = data.slice();
      plus[index] = (plus[index] as number) + 1e-2;
      minus[index] = (minus[index] as number) - 1e-2;
      const numeric =
        (inBatchContrastiveLoss(createTensor([4, 5], plus), positives, options).loss -
          inBatchContrastiveLoss(createTensor([4, 5], minus), positives, options).loss) /
        2e-2;
      expect(grad.data[index]).toBeCloseTo(numeric, 3);
    }
  });
});

describe("trainAdapter", () => {
  const train = pairs(400, 1);
  const test = pairs(100, 2);

  it("starts as the identity and learns a map that raises held-out recall", () => {
    const before = recallAt1(test.queries, test.passages);
    const { adapter, history } = trainAdapter({
      queries: train.queries,
      positives: train.passages,
      embedding,
      epochs: 15,
      optimizer: { name: "adam", learningRate: 1e-2 },
      validate: (candidate) => recallAt1(candidate.apply(test.queries), test.passages),
    });
    expect(history[0]?.validationMetric).toBeGreaterThanOrEqual(before - 0.05);
    expect(recallAt1(adapter.apply(test.queries), test.passages)).toBeGreaterThan(before + 0.2);
  });

  it("saves and loads, and refuses bad pairs", async () => {
    const { adapter } = trainAdapter({
      queries: train.queries,
      positives: train.passages,
      embedding,
      epochs: 1,
    });
    const dir = await mkdtemp(join(tmpdir(), "embedkit-adapter-"));
    folders.push(dir);
    await saveAdapter(dir, adapter);
    const loaded = await loadAdapter(dir);
    expect(loaded.apply(test.queries.slice(0, 3))).toEqual(adapter.apply(test.queries.slice(0, 3)));
    expect(() =>
      trainAdapter({ queries: train.queries, positives: train.passages.slice(1), embedding }),
    ).toThrow(/pairs/);
    expect(() =>
      trainAdapter({ queries: train.queries, positives: train.passages, embedding, batchSize: 1 }),
    ).toThrow(/negatives/);
    expect(() => adapter.apply([new Float32Array(8)])).toThrow(
      expect.objectContaining({ code: "DIMENSION_MISMATCH" }),
    );
  });
});
