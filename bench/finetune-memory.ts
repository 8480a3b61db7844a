/**
 * @module bench/finetune-memory
 * Checks the fine-tuning memory estimate (`train/finetune/memory.ts`) against a
 * measured peak RSS. Until the training engine lands, the measurement is a lower
 * bound: onnxruntime's forward pass of all-MiniLM-L6-v2 on a [batch, seqLen]
 * input, each size in a fresh child process (peak RSS = `maxRSS`), minus the
 * same process's RSS after loading the session. A forward pass frees most
 * activations as it goes, a training step keeps them for the backward pass, so
 * the measured growth per sequence should sit below the estimate's activations
 * per sequence; the ratio is reported. With `--engine <module>` exporting
 * `peakStepBytes(batch, seqLen)`, the same table is made for a real engine.
 *
 * Run: `npx tsx bench/finetune-memory.ts [--batches 4,16,32] [--seq-len 128]`
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { loadOnnxRuntime } from "../src/internal/load-dependency.js";
import { createModelStore } from "../src/models/index.js";
import { readOnnxInitializers } from "../src/models/onnx-initializers.js";
import { estimateTrainingMemory } from "../src/train/finetune/index.js";

const { values: args } = parseArgs({
  options: {
    batches: { type: "string", default: "4,16,32" },
    "seq-len": { type: "string", default: "128" },
    child: { type: "string" },
  },
});
const seqLen = Number(args["seq-len"]);
const onnx = (await createModelStore().ensure("all-minilm-l6-v2")).path("onnx");

if (args.child !== undefined) {
  // Child: one forward pass at one batch size; print RSS after loading and the peak.
  const batch = Number(args.child);
  const ort = await loadOnnxRuntime();
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 2 });
  const loaded = process.memoryUsage().rss;
  const size = batch * seqLen;
  const ids = BigInt64Array.from({ length: size }, (_, i) =>
    BigInt(i % seqLen === 0 ? 101 : 1000 + ((i * 7) % 20000)),
  );
  const feeds = {
    input_ids: new ort.Tensor("int64", ids, [batch, seqLen]),
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
const rows: Record<string, number>[] = [];
for (const batch of args.batches.split(",").map(Number)) {
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "bench/finetune-memory.ts", "--child", String(batch), "--seq-len", String(seqLen)],
    {
      encoding: "utf8",
      env: process.env,
    },
  );
  const line = run.stdout.trim().split("\n").at(-1) ?? "{}";
  const measured = JSON.parse(line) as { loaded: number; peak: number };
  const estimate = estimateTrainingMemory({ params, batch, seqLen, layers: 6, hidden: 384, heads: 12 });
  rows.push({
    batch,
    forwardGrowthMiB: Math.round((measured.peak - measured.loaded) / 2 ** 20),
    estimatedActivationsMiB: Math.round(estimate.activations / 2 ** 20),
    estimatedTotalMiB: Math.round(estimate.total / 2 ** 20),
  });
}
// Growth per extra sequence, between the smallest and the largest batch.
const first = rows[0] as Record<string, number>;
const last = rows.at(-1) as Record<string, number>;
const perSequenceMeasured =
  ((last.forwardGrowthMiB as number) - (first.forwardGrowthMiB as number)) /
  ((last.batch as number) - (first.batch as number));
const perSequenceEstimated = (last.estimatedActivationsMiB as number) / (last.batch as number);
process.stdout.write(
  `${JSON.stringify(
    {
      seqLen,
      params,
      rows,
      forwardMiBPerSequence: Number(perSequenceMeasured.toFixed(2)),
      estimatedActivationMiBPerSequence: Number(perSequenceEstimated.toFixed(2)),
      ratioForwardOverEstimate: Number((perSequenceMeasured / perSequenceEstimated).toFixed(3)),
      loadavg: loadavg().map((value) => Number(value.toFixed(2))),
    },
    null,
    2,
  )}\n`,
);
