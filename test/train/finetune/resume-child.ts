/**
 * A stand-in training run for the checkpoint/resume test (the real engine is
 * another module): softmax regression with Adam on real all-MiniLM-L6-v2
 * sentence vectors, seeded shuffles, a checkpoint every 3 steps through
 * `saveTrainingCheckpoint`, resuming from `loadLatestCheckpoint`. What is under
 * test is the checkpoint format and the resume logic: a run killed with SIGKILL
 * and resumed must end with the same weights, bit for bit, as one that never stopped.
 *
 * Usage: node --import tsx resume-child.ts <data.json> <checkpoint dir> <result.json> <total steps> [pause-after-step]
 */
import { readFile, writeFile } from "node:fs/promises";
import { loadLatestCheckpoint, saveTrainingCheckpoint } from "../../../src/train/finetune/checkpoints.js";

const [dataPath, dir, resultPath, totalText, pauseText] = process.argv.slice(2) as string[];
const total = Number(totalText);
const pauseAfter = pauseText === undefined ? -1 : Number(pauseText);
const data = JSON.parse(await readFile(dataPath as string, "utf8")) as {
  vectors: number[][];
  labels: number[];
};
const rows = data.vectors.length;
const dims = data.vectors[0]?.length ?? 0;
const classes = 2;
const batch = 4;
const batchesPerEpoch = Math.ceil(rows / batch);

// mulberry32 with its state in the open, so it can be checkpointed.
let rng = 42;
const next = (): number => {
  rng = (rng + 0x6d2b79f5) >>> 0;
  let t = rng;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const shuffled = (): number[] => {
  const order = Array.from({ length: rows }, (_, i) => i);
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
};

let weights = new Map<string, Float32Array>([
  ["head.weight", new Float32Array(classes * dims)],
  ["head.bias", new Float32Array(classes)],
]);
let optimizer = new Map<string, Float32Array>();
for (const [name, values] of weights) {
  optimizer.set(`${name}.m`, new Float32Array(values.length));
  optimizer.set(`${name}.v`, new Float32Array(values.length));
}
let step = 0;
let epoch = 0;
let batchInEpoch = 0;
let epochStartRng = rng;

const resumed = await loadLatestCheckpoint(dir as string);
if (resumed !== undefined) {
  step = resumed.step;
  epoch = resumed.epoch;
  batchInEpoch = resumed.batchInEpoch;
  const state = resumed.rngState as { epochStart: number; current: number };
  epochStartRng = state.epochStart;
  rng = state.current;
  weights = new Map(resumed.weights);
  optimizer = new Map(resumed.optimizer);
  process.stdout.write(`resumed from step ${step} (epoch ${epoch}, batch ${batchInEpoch})\n`);
}
// The epoch's order is drawn from the generator's state at the epoch's start; drawing it
// advances the generator, which a resumed run (mid-epoch) has already done.
const orderFrom = (start: number): { order: number[]; after: number } => {
  const saved = rng;
  rng = start;
  const drawn = shuffled();
  const after = rng;
  rng = saved;
  return { order: drawn, after };
};
let { order, after } = orderFrom(epochStartRng);
if (batchInEpoch === 0) rng = after;

const W = () => weights.get("head.weight") as Float32Array;
const B = () => weights.get("head.bias") as Float32Array;
while (step < total) {
  const ids = order.slice(batchInEpoch * batch, (batchInEpoch + 1) * batch);
  const gradW = new Float32Array(classes * dims);
  const gradB = new Float32Array(classes);
  for (const id of ids) {
    const x = data.vectors[id] as number[];
    const logits = Array.from({ length: classes }, (_, c) => {
      let sum = B()[c] as number;
      for (let d = 0; d < dims; d++) sum += (W()[c * dims + d] as number) * (x[d] as number);
      // Input noise from the generator, so its state matters.
      return sum + 0.01 * (next() - 0.5);
    });
    const max = Math.max(...logits);
    const exps = logits.map((value) => Math.exp(value - max));
    const norm = exps.reduce((a, b) => a + b, 0);
    for (let c = 0; c < classes; c++) {
      const g = ((exps[c] as number) / norm - (data.labels[id] === c ? 1 : 0)) / ids.length;
      gradB[c] = (gradB[c] as number) + g;
      for (let d = 0; d < dims; d++)
        gradW[c * dims + d] = (gradW[c * dims + d] as number) + g * (x[d] as number);
    }
  }
  step++;
  for (const [name, grad] of [
    ["head.weight", gradW],
    ["head.bias", gradB],
  ] as const) {
    const value = weights.get(name) as Float32Array;
    const m = optimizer.get(`${name}.m`) as Float32Array;
    const v = optimizer.get(`${name}.v`) as Float32Array;
    for (let i = 0; i < value.length; i++) {
      m[i] = 0.9 * (m[i] as number) + 0.1 * (grad[i] as number);
      v[i] = 0.999 * (v[i] as number) + 0.001 * (grad[i] as number) ** 2;
      const mHat = (m[i] as number) / (1 - 0.9 ** step);
      const vHat = (v[i] as number) / (1 - 0.999 ** step);
      value[i] = (value[i] as number) - (0.01 * mHat) / (Math.sqrt(vHat) + 1e-8);
    }
  }
  batchInEpoch++;
  if (batchInEpoch === batchesPerEpoch) {
    epoch++;
    batchInEpoch = 0;
    epochStartRng = rng;
    ({ order, after } = orderFrom(epochStartRng));
    rng = after;
  }
  if (step % 3 === 0) {
    await saveTrainingCheckpoint(
      dir as string,
      {
        step,
        epoch,
        batchInEpoch,
        rngState: { epochStart: epochStartRng, current: rng },
        weights,
        optimizer,
      },
      { keep: 2 },
    );
    process.stdout.write(`checkpoint ${step}\n`);
    // Stand in for a long step: the parent kills the process while it waits here.
    if (step === pauseAfter) await new Promise((resolve) => setTimeout(resolve, 600_000));
  }
}
await writeFile(
  resultPath as string,
  JSON.stringify({
    step,
    weights: Object.fromEntries(
      [...weights].map(([name, values]) => [name, Buffer.from(values.buffer).toString("base64")]),
    ),
  }),
);
process.stdout.write("done\n");
