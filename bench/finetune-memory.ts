/**
 * @module bench/finetune-memory
 * Checks the fine-tuning memory estimate (`train/finetune/memory.ts`) against a
 * measured peak RSS, each batch size in a fresh child process.
 *
 * - `--engine jax` (default): the real training engine. The child starts the
 *   JAX sidecar with all-MiniLM-L6-v2, the optimizer in the engine (AdamW, as
 *   `finetune` runs by default), and takes two training steps at
 *   `[batch, seqLen]` (mean pooling; forward, backward, update). Reported: the
 *   engine's peak RSS (`ru_maxrss` of the Python process) and Node's
 *   (`maxRSS`), their sum, and the estimate with the loop's constants
 *   (`JAX_ENGINE_MEMORY`). The per-sequence slope and the intercept give the
 *   fitted `activationFactor` and `runtimeBytes`.
 * - `--engine ort`: onnxruntime's forward pass only — a lower bound (a forward
 *   frees activations layer by layer, a training step keeps them).
 *
 * Run: `npx tsx bench/finetune-memory.ts [--engine jax|ort] [--batches 4,16,32] [--seq-len 128]`
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { loadOnnxRuntime } from "../src/internal/load-dependency.js";
import { createModelStore } from "../src/models/index.js";
import { readOnnxInitializers } from "../src/models/onnx-initializers.js";
import { readOnnxBert } from "../src/train/encoder/onnx-bert.js";
import { createTrainableEncoder } from "../src/train/encoder/sidecar.js";
import { estimateTrainingMemory, JAX_ENGINE_MEMORY } from "../src/train/finetune/index.js";

const { values: args } = parseArgs({
  options: {
    engine: { type: "string", default: "jax" },
    batches: { type: "string", default: "4,16,32" },
    "seq-len": { type: "string", default: "128" },
    child: { type: "string" },
  },
});
const seqLen = Number(args["seq-len"]);
const onnx = (await createModelStore().ensure("all-minilm-l6-v2")).path("onnx");
const MIB = 2 ** 20;

/** Token ids of a full [batch, seqLen] input (no padding). */
function ids(batch: number): Int32Array {
  return Int32Array.from({ length: batch * seqLen }, (_, i) =>
    i % seqLen === 0 ? 101 : 1000 + ((i * 7) % 20000),
  );
}

if (args.child !== undefined && args.engine === "jax") {
  const batch = Number(args.child);
  const encoder = await createTrainableEncoder({ bert: await readOnnxBert(onnx) });
  try {
    const optimizer = await encoder.engineOptimizer({ name: "adamw", learningRate: 2e-5, weightDecay: 0.01 });
    const loaded = await encoder.stats();
    const nodeLoaded = process.memoryUsage().rss;
    const size = batch * seqLen;
    const input = {
      batch,
      tokens: seqLen,
      inputIds: ids(batch),
      attentionMask: new Int32Array(size).fill(1),
      tokenTypeIds: new Int32Array(size),
    };
    for (let step = 0; step < 2; step++) {
      const pooled = await encoder.forward(input, {
        output: "mean",
        training: true,
        dropout: 0.1,
        seed: step,
      });
      await encoder.backwardInEngine(pooled.map((value) => value * 1e-3));
      await optimizer?.step(2e-5, 1);
    }
    const after = await encoder.stats();
    process.stdout.write(
      `${JSON.stringify({
        engineLoaded: loaded.peakRss,
        enginePeak: after.peakRss,
        nodeLoaded,
        nodePeak: process.resourceUsage().maxRSS * 1024,
      })}\n`,
    );
  } finally {
    await encoder.close();
  }
  process.exit(0);
}

if (args.child !== undefined) {
  // onnxruntime lower bound: one forward pass at one batch size; RSS after loading and the peak.
  const batch = Number(args.child);
  const ort = await loadOnnxRuntime();
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 2 });
  const loaded = process.memoryUsage().rss;
  const size = batch * seqLen;
  const feeds = {
    input_ids: new ort.Tensor("int64", BigInt64Array.from(ids(batch), BigInt), [batch, seqLen]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(size).fill(1n), [batch, seqLen]),
    token_type_ids: new ort.Tensor("int64", new BigInt64Array(size), [batch, seqLen]),
  };
  const inputs = new Set(session.inputNames);
  await session.run(Object.fromEntries(Object.entries(feeds).filter(([name]) => inputs.has(name))));
  process.stdout.write(`${JSON.stringify({ loaded, peak: process.resourceUsage().maxRSS * 1024 })}\n`);
  process.exit(0);
}

const params = [...(await readOnnxInitializers(onnx)).values()].reduce(
  (sum, tensor) => sum + tensor.values.length,
  0,
);
const shape = { params, seqLen, layers: 6, hidden: 384, heads: 12 };
const child = (batch: number): Record<string, number> => {
  const run = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "bench/finetune-memory.ts",
      "--engine",
      args.engine,
      "--child",
      String(batch),
      "--seq-len",
      String(seqLen),
    ],
    { encoding: "utf8", env: process.env },
  );
  const line = run.stdout.trim().split("\n").at(-1) ?? "";
  if (!line.startsWith("{")) throw new Error(`child ${batch} failed: ${run.stderr.slice(-2000)}`);
  return JSON.parse(line) as Record<string, number>;
};
const batches = args.batches.split(",").map(Number);
const first = batches[0] as number;
const last = batches.at(-1) as number;
const load = () => loadavg().map((value) => Number(value.toFixed(2)));

if (args.engine === "jax") {
  const rows = batches.map((batch) => {
    const measured = child(batch);
    const peak = (measured.enginePeak as number) + (measured.nodePeak as number);
    const raw = estimateTrainingMemory({ ...shape, batch, activationFactor: 1, runtimeBytes: 0 });
    const fitted = estimateTrainingMemory({ ...shape, batch, ...JAX_ENGINE_MEMORY });
    return {
      batch,
      engineLoadedMiB: Math.round((measured.engineLoaded as number) / MIB),
      enginePeakMiB: Math.round((measured.enginePeak as number) / MIB),
      nodePeakMiB: Math.round((measured.nodePeak as number) / MIB),
      measuredTotalMiB: Math.round(peak / MIB),
      formulaActivationsMiB: Math.round(raw.activations / MIB),
      formulaStateMiB: Math.round((raw.weights + raw.gradients + raw.optimizer) / MIB),
      estimateWithEngineConstantsMiB: Math.round(fitted.total / MIB),
      peak,
      activations: raw.activations,
      state: raw.weights + raw.gradients + raw.optimizer,
    };
  });
  const a = rows[0] as (typeof rows)[number];
  const b = rows.at(-1) as (typeof rows)[number];
  // Peak = state + factor·activations + runtime: slope → factor, intercept → runtime.
  const factor = (b.peak - a.peak) / (b.activations - a.activations);
  const runtime = a.peak - a.state - factor * a.activations;
  process.stdout.write(
    `${JSON.stringify(
      {
        engine: "jax (optimizer in the engine, AdamW)",
        seqLen,
        params,
        rows: rows.map(({ peak: _p, activations: _a, state: _s, ...row }) => row),
        fittedActivationFactor: Number(factor.toFixed(3)),
        fittedRuntimeMiB: Math.round(runtime / MIB),
        engineConstants: JAX_ENGINE_MEMORY,
        batchesMeasured: [first, last],
        loadavg: load(),
      },
      null,
      2,
    )}\n`,
  );
} else {
  const rows = batches.map((batch) => {
    const measured = child(batch);
    const estimate = estimateTrainingMemory({ ...shape, batch });
    return {
      batch,
      forwardGrowthMiB: Math.round(((measured.peak as number) - (measured.loaded as number)) / MIB),
      estimatedActivationsMiB: Math.round(estimate.activations / MIB),
      estimatedTotalMiB: Math.round(estimate.total / MIB),
    };
  });
  const a = rows[0] as (typeof rows)[number];
  const b = rows.at(-1) as (typeof rows)[number];
  const perSequenceMeasured = (b.forwardGrowthMiB - a.forwardGrowthMiB) / (b.batch - a.batch);
  const perSequenceEstimated = b.estimatedActivationsMiB / b.batch;
  process.stdout.write(
    `${JSON.stringify(
      {
        engine: "onnxruntime forward (lower bound)",
        seqLen,
        params,
        rows,
        forwardMiBPerSequence: Number(perSequenceMeasured.toFixed(2)),
        estimatedActivationMiBPerSequence: Number(perSequenceEstimated.toFixed(2)),
        ratioForwardOverEstimate: Number((perSequenceMeasured / perSequenceEstimated).toFixed(3)),
        loadavg: load(),
      },
      null,
      2,
    )}\n`,
  );
}
