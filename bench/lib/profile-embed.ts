/**
 * @module bench/lib/profile-embed
 * Where the time of `embedder.embed(group)` goes, phase by phase, for the local
 * ONNX text embedder: tokenize, plan + build the int64 tensors, session.run,
 * pool + normalize. The phases are re-enacted here with the embedder's own
 * building blocks (loadTextTokenizer, planBatches, the same session options and
 * the same loops as src/embed/onnx/onnx-embedder.ts), and the real `embed()`
 * is timed next to them in the same process to show the re-enactment adds up.
 *
 * Run: `npx tsx bench/lib/profile-embed.ts [--model all-minilm-l6-v2] [--sentences 2000]
 *   [--batch-sizes 1,8,32,128] [--threads 2] [--repeats 3] [--data <sts csv>, default $EMBEDKIT_DATA/stsb/stsb-en-dev.csv]`
 * Prints a Markdown table (ms per 1000 sentences, median of repeats).
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import * as ort from "onnxruntime-node";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { paddedFeeds, planBatches } from "../../src/embed/onnx/onnx-embedder.js";
import { loadTextTokenizer } from "../../src/embed/onnx/text-tokenizer.js";
import { getModel } from "../../src/models/catalog.js";
import { createModelStore } from "../../src/models/store-impl.js";
import { normalizeInPlace } from "../../src/vectors/math.js";
import { chunk } from "./bench-worker.js";
import { benchDataPath } from "./data.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "all-minilm-l6-v2" },
    sentences: { type: "string", default: "2000" },
    "batch-sizes": { type: "string", default: "1,8,32,128" },
    threads: { type: "string", default: "2" },
    repeats: { type: "string", default: "3" },
    data: { type: "string" },
  },
});
const spec = getModel(values.model);
const threads = Number(values.threads);
const repeats = Number(values.repeats);
const maxBatchTokens = 8192;
const pulled = await createModelStore().ensure(spec.id);
const rows = parseCsv(await readFile(benchDataPath(values.data, "stsb/stsb-en-dev.csv"), "utf8"), {
  relax_column_count: true,
}) as string[][];
const sentences = [...new Set(rows.flatMap((row) => row.slice(0, 2)))].slice(0, Number(values.sentences));

const tokenizer = await loadTextTokenizer(pulled.path("tokenizer"), spec.maxTokens);
const session = await ort.InferenceSession.create(pulled.path("onnx"), {
  graphOptimizationLevel: "all",
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
});
const needsTokenTypes = session.inputNames.includes("token_type_ids");
const outputName = session.outputNames.includes("last_hidden_state")
  ? "last_hidden_state"
  : (session.outputNames[0] as string);

const PHASES = [
  "tokenize",
  "plan+tensors",
  "session.run",
  "pool+normalize",
  "sum of phases",
  "real embed()",
] as const;
type Phase = (typeof PHASES)[number];

/** One pass over all sentences in groups of `batchSize`; milliseconds per phase. */
async function phasedPass(batchSize: number): Promise<Record<Phase, number>> {
  const times: Record<Phase, number> = {
    tokenize: 0,
    "plan+tensors": 0,
    "session.run": 0,
    "pool+normalize": 0,
    "sum of phases": 0,
    "real embed()": 0,
  };
  for (const group of chunk(sentences, batchSize)) {
    let mark = performance.now();
    const lap = (phase: Phase): void => {
      const now = performance.now();
      times[phase] += now - mark;
      mark = now;
    };
    const encoded = group.map((text, index) => tokenizer.encode(text, { truncate: true, index }));
    lap("tokenize");
    for (const batch of planBatches(
      encoded.map((item) => item.ids.length),
      batchSize,
      maxBatchTokens,
    )) {
      mark = performance.now();
      const sequences = batch.indices.map((index) => (encoded[index] as { ids: readonly number[] }).ids);
      const length = batch.length;
      const feeds = paddedFeeds(ort, sequences, length, needsTokenTypes);
      lap("plan+tensors");
      const output = await session.run(feeds);
      lap("session.run");
      const hidden = (output[outputName] as ort.Tensor).data as Float32Array;
      const width = spec.dims;
      sequences.forEach((sequence, row) => {
        const base = row * length * width;
        let out: Float32Array;
        if (spec.pooling === "cls") out = hidden.slice(base, base + width);
        else {
          out = new Float32Array(width);
          for (let t = 0; t < sequence.length; t++) {
            const offset = base + t * width;
            for (let j = 0; j < width; j++) out[j] = (out[j] as number) + (hidden[offset + j] as number);
          }
          for (let j = 0; j < width; j++) out[j] = (out[j] as number) / sequence.length;
        }
        normalizeInPlace(out);
      });
      (output[outputName] as ort.Tensor).dispose();
      lap("pool+normalize");
    }
  }
  times["sum of phases"] =
    times.tokenize + times["plan+tensors"] + times["session.run"] + times["pool+normalize"];
  return times;
}

const median = (list: number[]): number => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
};

console.log(
  `${spec.id}, ${sentences.length} sentences, ${threads} threads, median of ${repeats}; ms per 1000 sentences\n`,
);
console.log(`| batch | ${PHASES.join(" | ")} | run share of real |`);
console.log(`|${["", ...PHASES, ""].map(() => "---").join("|")}|`);
for (const batchSize of (values["batch-sizes"] as string).split(",").map(Number)) {
  const embedder = await createEmbedder({ model: spec.id, threads, maxBatchSize: batchSize, maxBatchTokens });
  const realPass = async (): Promise<number> => {
    const start = performance.now();
    for (const group of chunk(sentences, batchSize)) await embedder.embed(group);
    return performance.now() - start;
  };
  const warm = sentences.slice(0, Math.max(64, 4 * batchSize));
  for (const group of chunk(warm, batchSize)) await embedder.embed(group);
  await phasedPass(batchSize);
  const samples: Record<Phase, number[]> = Object.fromEntries(PHASES.map((phase) => [phase, []])) as never;
  for (let repeat = 0; repeat < repeats; repeat++) {
    const phased = await phasedPass(batchSize);
    for (const phase of PHASES) if (phase !== "real embed()") samples[phase].push(phased[phase]);
    samples["real embed()"].push(await realPass());
  }
  await embedder.close();
  const per1000 = (phase: Phase): number => (median(samples[phase]) * 1000) / sentences.length;
  console.log(
    `| ${batchSize} | ${PHASES.map((phase) => per1000(phase).toFixed(1)).join(" | ")} | ${(
      (per1000("session.run") / per1000("real embed()")) * 100
    ).toFixed(1)}% |`,
  );
}
await session.release();
