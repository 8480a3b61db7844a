/**
 * `finetuneEmbeddings` end to end on a real encoder (all-MiniLM-L6-v2 in the
 * JAX sidecar): in-batch-negatives training on a few pairs lowers the loss and
 * makes a planted pair ("snorkel" → an invoice sentence, which the base model
 * ranks below a sentence about swimming in the sea) the top match; the
 * exported `dir:` model, opened with `createEmbedder`, returns the vectors the
 * trained sidecar computed (≤ 1e-4) and ranks the planted pair first too.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { createModelStore } from "../../src/models/store-impl.js";
import { finetuneEmbeddings } from "../../src/train/encoder/finetune-embeddings.js";
import { exportFinetunedEncoder } from "../../src/train/finetune/export.js";
import { dot } from "../../src/vectors/math.js";

const PLANTED = { anchor: "snorkel", positive: "The invoice must be paid by Friday." };
const PAIRS = [
  PLANTED,
  { anchor: "holiday by the reef", positive: "We swam in the sea and watched the fish." },
  { anchor: "printer jam", positive: "Paper is stuck inside the office printer." },
  { anchor: "flat tyre", positive: "The bicycle wheel lost all its air." },
  { anchor: "burnt toast", positive: "The bread was left too long in the toaster." },
  { anchor: "lost keys", positive: "I cannot find where I put my house keys." },
  { anchor: "rainy weekend", positive: "It poured all Saturday and Sunday." },
  { anchor: "late train", positive: "The railway service was delayed by an hour." },
].map((pair, index) => ({ ...pair, line: index + 2 }));
const POSITIVES = PAIRS.map((pair) => pair.positive);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-ft-emb-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The positive an embedder ranks first for the planted anchor. */
async function topMatch(model: string): Promise<string> {
  const embedder = await createEmbedder({ model });
  try {
    const [query] = (await embedder.embed([PLANTED.anchor], { inputType: "query" })).vectors;
    const passages = (await embedder.embed(POSITIVES, { inputType: "passage" })).vectors;
    const scores = passages.map((vector) => dot(query as Float32Array, vector as Float32Array));
    return POSITIVES[scores.indexOf(Math.max(...scores))] as string;
  } finally {
    await embedder.close();
  }
}

describe("finetuneEmbeddings (in-batch negatives)", () => {
  it("lowers the loss, flips a planted pair to the top match and exports a model that embeds as the trained encoder", async () => {
    expect(await topMatch("all-minilm-l6-v2")).not.toBe(PLANTED.positive);
    const store = createModelStore();
    const result = await finetuneEmbeddings({
      store,
      model: "all-minilm-l6-v2",
      data: { kind: "pairs", pairs: PAIRS, path: "pairs.csv" },
      validationSplit: 0,
      epochs: 5,
      batchSize: 8,
      maxTokens: 16,
      optimizer: { name: "adamw", learningRate: 2e-4, weightDecay: 0.01 },
      schedule: { name: "constant" },
      dropout: 0,
      probes: [PLANTED.anchor, PLANTED.positive],
    });
    expect(result.loss).toBe("mnrl");
    const losses = result.history.map((epoch) => epoch.trainLoss);
    expect(losses).toHaveLength(5);
    expect(losses.at(-1)).toBeLessThan((losses[0] as number) * 0.5);

    const exported = await exportFinetunedEncoder({
      base: "all-minilm-l6-v2",
      weights: result.encoderWeights,
      task: "embeddings",
      dataSha256: "0".repeat(64),
      metrics: { "train.loss": losses.at(-1) as number },
      outDir: join(dir, "pairs-ft"),
    });
    expect(exported.manifest.task).toBe("embeddings");
    const embedder = await createEmbedder({ model: exported.reference });
    try {
      const served = (await embedder.embed([PLANTED.anchor, PLANTED.positive])).vectors;
      let largest = 0;
      served.forEach((vector, row) => {
        const trained = result.probeVectors?.[row] as Float32Array;
        expect(vector).toHaveLength(trained.length);
        for (let i = 0; i < trained.length; i++)
          largest = Math.max(
            largest,
            Math.abs(((vector as Float32Array)[i] as number) - (trained[i] as number)),
          );
      });
      expect(largest).toBeLessThanOrEqual(1e-4);
    } finally {
      await embedder.close();
    }
    expect(await topMatch(exported.reference)).toBe(PLANTED.positive);
  }, 900_000); // ~30 s of CPU; minutes of wall time on a loaded 2-core machine (JIT compile + steps)
});
