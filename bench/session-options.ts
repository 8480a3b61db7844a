/**
 * @module bench/session-options
 * onnxruntime session settings for the text encoder, against the embedder's
 * current ones (graph optimisation "all", intra-op threads = 2, inter-op 1,
 * sequential), on the very padded batches the embedder builds (its tokenizer,
 * planBatches, paddedFeeds), interleaved A B C … per repeat, median reported:
 *
 * - `intra2`     the current setting (baseline)
 * - `intra1`     one intra-op thread
 * - `2x intra1`  two sessions of one thread each, the batches split between two
 *                concurrent streams (session.run is asynchronous in onnxruntime-node)
 * - `parallel`   executionMode "parallel", inter-op 2, intra-op 2
 * - `basic`      graphOptimizationLevel "basic" (constant folding only)
 * - `saved-opt`  the graph optimised once and saved (`optimizedModelFilePath`, level
 *                "extended", portable), loaded with level "all"
 * - `pinned`     intra2 with its worker thread pinned to a core
 *                (`extra.session.intra_op_thread_affinities`)
 * Also the session creation time, original file vs the saved optimised file.
 *
 * Run: `npx tsx bench/session-options.ts [--model all-minilm-l6-v2] [--sentences 500]
 *   [--batch-sizes 1,32] [--repeats 5] [--data <sts csv>]`
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import * as ort from "onnxruntime-node";
import { paddedFeeds, planBatches } from "../src/embed/onnx/onnx-embedder.js";
import { loadTextTokenizer } from "../src/embed/onnx/text-tokenizer.js";
import { getModel } from "../src/models/catalog.js";
import { createModelStore } from "../src/models/store-impl.js";
import { chunk } from "./lib/bench-worker.js";
import { benchDataPath } from "./lib/data.js";
import { busyCores } from "./lib/machine-load.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "all-minilm-l6-v2" },
    sentences: { type: "string", default: "500" },
    "batch-sizes": { type: "string", default: "1,32" },
    repeats: { type: "string", default: "5" },
    data: { type: "string" },
  },
});
const spec = getModel(values.model);
const repeats = Number(values.repeats);
const pulled = await createModelStore().ensure(spec.id);
const onnxPath = pulled.path("onnx");
const rows = parseCsv(await readFile(benchDataPath(values.data, "stsb/stsb-en-dev.csv"), "utf8"), {
  relax_column_count: true,
}) as string[][];
const sentences = [...new Set(rows.flatMap((row) => row.slice(0, 2)))].slice(0, Number(values.sentences));
const tokenizer = await loadTextTokenizer(pulled.path("tokenizer"), spec.maxTokens);
const encoded = sentences.map((text) => tokenizer.encode(text, { truncate: true }).ids);
const tokens = encoded.reduce((sum, ids) => sum + ids.length, 0);
const median = (list: readonly number[]): number => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
};

const base: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: "all",
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  executionMode: "sequential",
};
const scratch = await mkdtemp(join(tmpdir(), "embedkit-session-options-"));
const savedPath = join(scratch, "optimized.onnx");
await (
  await ort.InferenceSession.create(onnxPath, {
    ...base,
    graphOptimizationLevel: "extended",
    optimizedModelFilePath: savedPath,
  })
).release();

// Session creation: original with "all" vs the saved file with "all".
const createSamples: Record<string, number[]> = { original: [], saved: [] };
for (let repeat = 0; repeat < repeats; repeat++) {
  for (const [label, path] of [
    ["original", onnxPath],
    ["saved", savedPath],
  ] as const) {
    const start = performance.now();
    const session = await ort.InferenceSession.create(path, base);
    createSamples[label]?.push(performance.now() - start);
    await session.release();
  }
}

interface Variant {
  readonly label: string;
  readonly sessions: ort.InferenceSession[];
}
const variants: Variant[] = [
  { label: "intra2 (current)", sessions: [await ort.InferenceSession.create(onnxPath, base)] },
  {
    label: "intra1",
    sessions: [await ort.InferenceSession.create(onnxPath, { ...base, intraOpNumThreads: 1 })],
  },
  {
    label: "2x intra1 concurrent",
    sessions: [
      await ort.InferenceSession.create(onnxPath, { ...base, intraOpNumThreads: 1 }),
      await ort.InferenceSession.create(onnxPath, { ...base, intraOpNumThreads: 1 }),
    ],
  },
  {
    label: "parallel inter2",
    sessions: [
      await ort.InferenceSession.create(onnxPath, {
        ...base,
        executionMode: "parallel",
        interOpNumThreads: 2,
      }),
    ],
  },
  {
    label: "level basic",
    sessions: [await ort.InferenceSession.create(onnxPath, { ...base, graphOptimizationLevel: "basic" })],
  },
  { label: "saved-opt (extended) + all", sessions: [await ort.InferenceSession.create(savedPath, base)] },
  {
    // Thread pinning: onnxruntime's session config entry `session.intra_op_thread_affinities`
    // (one entry per intra-op worker thread, the caller's thread is the other one; logical
    // processors 1-based). onnxruntime-node passes `extra` through: a malformed value is
    // rejected by onnxruntime's own parser (checked 2026-12-07 with 1.30.0).
    label: "intra2 pinned (worker on cpu 2)",
    sessions: [
      await ort.InferenceSession.create(onnxPath, {
        ...base,
        extra: { session: { intra_op_thread_affinities: "2" } },
      }),
    ],
  },
];
const current = (variants[0] as Variant).sessions[0] as ort.InferenceSession;
const withTokenTypes = current.inputNames.includes("token_type_ids");

/** Seconds for all batches, spread round-robin over the variant's sessions running concurrently. */
async function pass(variant: Variant, batches: Record<string, ort.Tensor>[]): Promise<number> {
  const start = performance.now();
  await Promise.all(
    variant.sessions.map(async (session, stream) => {
      for (let index = stream; index < batches.length; index += variant.sessions.length) {
        await session.run(batches[index] as Record<string, ort.Tensor>);
      }
    }),
  );
  return (performance.now() - start) / 1000;
}

// Same outputs: every variant against the baseline on the first batch.
const firstBatch = paddedFeeds(
  ort,
  encoded.slice(0, 8),
  Math.max(...encoded.slice(0, 8).map((ids) => ids.length)),
  withTokenTypes,
);
const reference = await current.run(firstBatch);
const referenceData = (Object.values(reference)[0] as ort.Tensor).data as Float32Array;
const maxDiff: Record<string, number> = {};
for (const variant of variants) {
  const output = await (variant.sessions[0] as ort.InferenceSession).run(firstBatch);
  const data = (Object.values(output)[0] as ort.Tensor).data as Float32Array;
  maxDiff[variant.label] = data.reduce(
    (worst, value, i) => Math.max(worst, Math.abs(value - (referenceData[i] as number))),
    0,
  );
}

const busyBefore = await busyCores(2000, cpus().length);
const loadBefore = loadavg()[0] as number;
const table: string[] = [];
for (const batchSize of (values["batch-sizes"] as string).split(",").map(Number)) {
  const batches = chunk(encoded, batchSize).flatMap((group) =>
    planBatches(
      group.map((ids) => ids.length),
      batchSize,
      8192,
    ).map((plan) =>
      paddedFeeds(
        ort,
        plan.indices.map((index) => group[index] as number[]),
        plan.length,
        withTokenTypes,
      ),
    ),
  );
  for (const variant of variants) await pass(variant, batches.slice(0, 4));
  const samples = new Map<string, number[]>(variants.map((variant) => [variant.label, []]));
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const variant of variants) samples.get(variant.label)?.push(await pass(variant, batches));
  }
  const baseline = median(samples.get((variants[0] as Variant).label) as number[]);
  for (const variant of variants) {
    const seconds = median(samples.get(variant.label) as number[]);
    const ratios = (samples.get(variant.label) as number[])
      .map((value, i) => ((samples.get((variants[0] as Variant).label) as number[])[i] as number) / value)
      .map((ratio) => ratio.toFixed(2))
      .join(" ");
    table.push(
      `| ${batchSize} | ${variant.label} | ${(tokens / seconds).toFixed(0)} | ${(baseline / seconds).toFixed(2)} | ${ratios} | ${(maxDiff[variant.label] as number).toExponential(1)} |`,
    );
  }
}
const busyAfter = await busyCores(2000, cpus().length);
for (const variant of variants) for (const session of variant.sessions) await session.release();
await rm(scratch, { recursive: true, force: true });

console.log(
  `### ${spec.id}: session options (${sentences.length} sentences, ${tokens} tokens, median of ${repeats} interleaved repeats; ` +
    `other load ${busyBefore.toFixed(2)}/${busyAfter.toFixed(2)} cores before/after, load average ${loadBefore.toFixed(2)}/${(loadavg()[0] as number).toFixed(2)})\n`,
);
console.log(
  "| batch | variant | session.run tokens/s | × current (median) | × current per repeat | max abs diff vs current |",
);
console.log("|---|---|---|---|---|---|");
console.log(table.join("\n"));
console.log(
  `\nSession creation (ms, median of ${repeats}): original file with "all" ${median(createSamples.original as number[]).toFixed(0)}, ` +
    `saved optimised file with "all" ${median(createSamples.saved as number[]).toFixed(0)}.`,
);
