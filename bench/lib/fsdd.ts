/**
 * @module bench/lib/fsdd
 * The FSDD spoken-digit protocol the audio benchmarks share (bench/audio.ts,
 * bench/speech.ts): the clip list from `labels.csv`, leave-one-out 1-NN
 * accuracy by cosine, and leave-one-speaker-out digit accuracy of a softmax
 * head (`trainClassifier` from src/train, no hidden layer) on vectors z-scored
 * with the training folds' statistics — so a head must generalise to an unseen
 * voice.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { trainClassifier } from "../../src/train/classifier.js";
import { cosineSimilarity } from "../../src/vectors/math.js";

/** One FSDD clip. */
export interface FsddClip {
  readonly path: string;
  readonly digit: string;
  readonly speaker: string;
  /** Take number (0–4 in the official test split). */
  readonly index: number;
  readonly seconds: number;
}

/** The clips listed in `<dataDir>/labels.csv`. */
export async function readFsddClips(dataDir: string): Promise<FsddClip[]> {
  const lines = (await readFile(join(dataDir, "labels.csv"), "utf8")).trim().split(/\r?\n/);
  const header = (lines.shift() ?? "").split(",");
  const column = (name: string): number => header.indexOf(name);
  return lines.map((line) => {
    const cells = line.split(",");
    return {
      path: join(dataDir, cells[column("path")] as string),
      digit: cells[column("digit")] as string,
      speaker: cells[column("speaker")] as string,
      index: Number(cells[column("index")]),
      seconds: Number(cells[column("duration_s")]),
    };
  });
}

/** Leave-one-out 1-NN accuracy of `labels` by cosine. */
export function nearestNeighbourAccuracy(
  vectors: readonly Float32Array[],
  labels: readonly string[],
): number {
  let correct = 0;
  vectors.forEach((query, i) => {
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    vectors.forEach((candidate, j) => {
      if (i === j) return;
      const score = cosineSimilarity(query, candidate);
      if (score > bestScore) {
        bestScore = score;
        best = j;
      }
    });
    if (labels[best] === labels[i]) correct++;
  });
  return correct / vectors.length;
}

/** z-score every dimension with the training rows' mean and standard deviation. */
function standardizer(train: readonly Float32Array[]): (vector: Float32Array) => Float32Array {
  const dims = train[0]?.length ?? 0;
  const mean = new Float64Array(dims);
  const std = new Float64Array(dims);
  for (const row of train)
    for (let d = 0; d < dims; d++) mean[d] = (mean[d] as number) + (row[d] as number) / train.length;
  for (const row of train) {
    for (let d = 0; d < dims; d++)
      std[d] = (std[d] as number) + ((row[d] as number) - (mean[d] as number)) ** 2 / train.length;
  }
  for (let d = 0; d < dims; d++) std[d] = Math.sqrt(std[d] as number) || 1;
  return (vector) =>
    Float32Array.from(vector, (value, d) => (value - (mean[d] as number)) / (std[d] as number));
}

/**
 * Leave-one-speaker-out digit accuracy of a softmax-regression head; one accuracy
 * per held-out speaker (AdamW lr 0.01, L2 1e-3, batch 32, seed 7).
 */
export function digitHeadAccuracy(
  modelId: string,
  vectors: readonly Float32Array[],
  clips: readonly FsddClip[],
  epochs: number,
): Record<string, number> {
  const speakers = [...new Set(clips.map((clip) => clip.speaker))].sort();
  const folds: Record<string, number> = {};
  for (const held of speakers) {
    const trainIndex = clips.flatMap((clip, index) => (clip.speaker === held ? [] : [index]));
    const testIndex = clips.flatMap((clip, index) => (clip.speaker === held ? [index] : []));
    const scale = standardizer(trainIndex.map((index) => vectors[index] as Float32Array));
    const { classifier } = trainClassifier({
      vectors: trainIndex.map((index) => scale(vectors[index] as Float32Array)),
      labels: trainIndex.map((index) => (clips[index] as FsddClip).digit),
      embedding: { modelId, dims: vectors[0]?.length ?? 0 },
      hidden: [],
      optimizer: { name: "adamw", learningRate: 1e-2 },
      l2: 1e-3,
      epochs,
      batchSize: 32,
      seed: 7,
    });
    const predictions = classifier.predict(testIndex.map((index) => scale(vectors[index] as Float32Array)));
    const correct = predictions.filter(
      (prediction, k) => prediction.label === (clips[testIndex[k] as number] as FsddClip).digit,
    );
    folds[held] = correct.length / testIndex.length;
  }
  return folds;
}

/** Mean of the folds of {@link digitHeadAccuracy}. */
export function meanOfFolds(folds: Record<string, number>): number {
  const values = Object.values(folds);
  return values.reduce((a, b) => a + b, 0) / values.length;
}
