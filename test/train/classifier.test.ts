import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  CHECKPOINT_FILE,
  createRandom,
  type EpochReport,
  loadClassifier,
  saveClassifier,
  stratifiedSplit,
  trainClassifier,
} from "../../src/train/index.js";

const embedding = { modelId: "toy-model", dims: 8 };

/** Three Gaussian blobs in 8 dimensions, seeded. */
function blobs(perClass: number, seed: number): { vectors: Float32Array[]; labels: string[] } {
  const random = createRandom(seed);
  const centres = ["alpha", "beta", "gamma"].map((_, c) =>
    Float32Array.from({ length: 8 }, (_, d) => (d % 3 === c ? 2 : 0)),
  );
  const vectors: Float32Array[] = [];
  const labels: string[] = [];
  for (let i = 0; i < perClass * 3; i++) {
    const c = i % 3;
    vectors.push(Float32Array.from(centres[c] as Float32Array, (value) => value + 0.7 * random.gaussian()));
    labels.push(["alpha", "beta", "gamma"][c] as string);
  }
  return { vectors, labels };
}

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});
async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "embedkit-train-"));
  folders.push(folder);
  return folder;
}

describe("trainClassifier", () => {
  const train = blobs(60, 1);
  const test = blobs(30, 2);

  it("learns separable blobs with an MLP, reports every epoch and predicts held-out data", () => {
    const epochs: EpochReport[] = [];
    const result = trainClassifier({
      ...train,
      embedding,
      hidden: [16],
      activation: "gelu",
      dropout: 0.1,
      optimizer: { name: "adamw", learningRate: 1e-2 },
      schedule: { name: "cosine", warmup: 0.1 },
      epochs: 15,
      batchSize: 16,
      validationSplit: 0.2,
      onEpoch: (report) => epochs.push(report),
    });
    expect(epochs).toHaveLength(15);
    expect(epochs.at(-1)?.trainLoss).toBeLessThan(epochs[0]?.trainLoss ?? 0);
    expect(result.trainSize + result.validationSize).toBe(180);
    const predicted = result.classifier.predict(test.vectors).map((prediction) => prediction.label);
    const correct = predicted.filter((label, index) => label === test.labels[index]).length;
    expect(correct / test.labels.length).toBeGreaterThan(0.9);
    const probabilities =
      result.classifier.predict([test.vectors[0] as Float32Array])[0]?.probabilities ?? {};
    expect(Object.values(probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("is reproducible: the same seed gives the same weights", () => {
    const run = () =>
      trainClassifier({
        ...train,
        embedding,
        hidden: [8],
        dropout: 0.2,
        epochs: 3,
        seed: 7,
      }).classifier.probabilities(test.vectors.slice(0, 5));
    expect(run()).toEqual(run());
  });

  it("stops early when the validation metric stops improving and restores the best epoch", () => {
    const result = trainClassifier({
      ...train,
      embedding,
      optimizer: { name: "sgd", learningRate: 0.5, momentum: 0.9 },
      epochs: 200,
      validationSplit: 0.3,
      earlyStopping: { patience: 2 },
    });
    expect(result.stoppedEarly).toBe(true);
    expect(result.history.length).toBeLessThan(200);
    const best = Math.max(...result.history.map((report) => report.validationMetric ?? 0));
    expect(result.history[result.bestEpoch - 1]?.validationMetric).toBe(best);
  });

  it("balanced class weights raise recall of a rare class", () => {
    const rare = { vectors: [...train.vectors], labels: [...train.labels] };
    // Keep only 6 'gamma' examples and overlap it with 'alpha'.
    const keep = rare.labels.map((label, index) => label !== "gamma" || index < 18);
    const vectors = rare.vectors.filter((_, index) => keep[index]);
    const labels = rare.labels.filter((_, index) => keep[index]);
    const recall = (weights?: "balanced") => {
      const { classifier } = trainClassifier({
        vectors,
        labels,
        embedding,
        epochs: 10,
        optimizer: { name: "adam", learningRate: 1e-2 },
        ...(weights === undefined ? {} : { classWeights: weights }),
      });
      const gammaTest = test.vectors.filter((_, index) => test.labels[index] === "gamma");
      return classifier.predict(gammaTest).filter((prediction) => prediction.label === "gamma").length;
    };
    expect(recall("balanced")).toBeGreaterThanOrEqual(recall());
  });

  it("splits stratified: every class with two or more examples appears in validation", () => {
    const split = stratifiedSplit(["a", "a", "a", "a", "b", "b", "c"], 0.25, 1);
    expect(split.validation.length + split.train.length).toBe(7);
    const validationLabels = split.validation.map((index) => ["a", "a", "a", "a", "b", "b", "c"][index]);
    expect(new Set(validationLabels)).toEqual(new Set(["a", "b"]));
  });
});

describe("trainClassifier refuses bad input clearly", () => {
  const data = blobs(5, 3);
  it("missing labels", () => {
    const labels = [...data.labels];
    labels[3] = "";
    expect(() => trainClassifier({ vectors: data.vectors, labels, embedding })).toThrow(/label 3 is missing/);
  });
  it("a single class", () => {
    expect(() =>
      trainClassifier({ vectors: data.vectors, labels: data.labels.map(() => "same"), embedding }),
    ).toThrow(/only one class/);
  });
  it("NaN features", () => {
    const vectors = data.vectors.map((vector) => vector.slice());
    (vectors[4] as Float32Array)[2] = Number.NaN;
    expect(() => trainClassifier({ vectors, labels: data.labels, embedding })).toThrow(
      /non-finite value \(NaN\)/,
    );
  });
  it("vectors of the wrong length", () => {
    expect(() => trainClassifier({ ...data, embedding: { modelId: "toy-model", dims: 16 } })).toThrow(
      expect.objectContaining({ code: "DIMENSION_MISMATCH" }),
    );
  });
  it("mismatched counts of vectors and labels", () => {
    expect(() => trainClassifier({ vectors: data.vectors, labels: data.labels.slice(1), embedding })).toThrow(
      /one label per vector/,
    );
  });
  it("an unknown optimizer or schedule", () => {
    expect(() => trainClassifier({ ...data, embedding, optimizer: { name: "lion" as "adam" } })).toThrow(
      /Unknown optimizer "lion"/,
    );
    expect(() => trainClassifier({ ...data, embedding, schedule: { name: "cyclic" as "cosine" } })).toThrow(
      /Unknown learning-rate schedule/,
    );
  });
});

describe("classifier checkpoints", () => {
  const data = blobs(20, 4);
  const trained = trainClassifier({ ...data, embedding, hidden: [4], epochs: 2 }).classifier;

  it("round-trip: a loaded classifier gives the same probabilities", async () => {
    const dir = await tempFolder();
    await saveClassifier(dir, trained, { note: "test" });
    const loaded = await loadClassifier(dir);
    expect(loaded.classes).toEqual(trained.classes);
    expect(loaded.embedding).toEqual(embedding);
    expect(loaded.metadata).toEqual({ note: "test" });
    expect(loaded.probabilities(data.vectors.slice(0, 4))).toEqual(
      trained.probabilities(data.vectors.slice(0, 4)),
    );
  });

  it("refuses vectors of another embedding model by name", async () => {
    expect(() => trained.assertEmbedding({ modelId: "bge-small-en-v1.5", dims: 8 })).toThrow(
      expect.objectContaining({
        code: "MODEL_MISMATCH",
        message: expect.stringMatching(/trained on toy-model/),
      }),
    );
    expect(() => trained.predict([new Float32Array(384)])).toThrow(
      expect.objectContaining({ code: "DIMENSION_MISMATCH" }),
    );
  });

  it("refuses a corrupt weights file, a damaged model.json and a missing folder", async () => {
    const dir = await tempFolder();
    await saveClassifier(dir, trained);
    const description = JSON.parse(await readFile(join(dir, CHECKPOINT_FILE), "utf8"));
    const weightsPath = join(dir, description.weights.file);
    const weights = await readFile(weightsPath);
    weights[5] = (weights[5] as number) ^ 0xff;
    await writeFile(weightsPath, weights);
    await expect(loadClassifier(dir)).rejects.toThrow(/does not match its recorded SHA-256/);
    await writeFile(weightsPath, weights.subarray(0, 10));
    await expect(loadClassifier(dir)).rejects.toThrow(/truncated or replaced/);
    await writeFile(join(dir, CHECKPOINT_FILE), "{ not json");
    await expect(loadClassifier(dir)).rejects.toThrow(expect.objectContaining({ code: "MALFORMED_FILE" }));
    await writeFile(join(dir, CHECKPOINT_FILE), JSON.stringify({ ...description, version: 99 }));
    await expect(loadClassifier(dir)).rejects.toThrow(/newer than this embedkit reads/);
    await expect(loadClassifier(join(dir, "nope"))).rejects.toThrow(
      expect.objectContaining({ code: "FILE_NOT_FOUND" }),
    );
  });

  it("saving twice keeps exactly one weights file", async () => {
    const dir = await tempFolder();
    await saveClassifier(dir, trained);
    const other = trainClassifier({ ...data, embedding, hidden: [4], epochs: 1, seed: 9 }).classifier;
    await saveClassifier(dir, other);
    const files = (await readdir(dir)).sort();
    expect(files.filter((file) => file.startsWith("weights-"))).toHaveLength(1);
    expect(files).toContain(CHECKPOINT_FILE);
    await expect(loadClassifier(dir)).resolves.toMatchObject({ classes: other.classes });
  });
});
