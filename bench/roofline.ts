/**
 * @module bench/roofline
 * How close text inference gets to the fp32 peak of this CPU, measured with the
 * same runtime (onnxruntime-node, same threads):
 *
 * 1. **Peak**: one-node MatMul graphs (built with src/models/onnx-writer.ts) of
 *    the model's own weight shapes (K×N read from the graph) at M rows → GFLOP/s.
 *    The peak is the best median over those shapes.
 * 2. **FLOPs per token**, counted from the graph: 2·K·N per MatMul/Gemm with a
 *    weight operand, plus 2·T·H per token for each activation×activation MatMul
 *    (attention scores and context; T the sequence length, H the hidden size).
 *    Embedding gathers, LayerNorm, GELU, softmax and adds are not counted.
 * 3. **End to end**: `createEmbedder(...).embed(group)` over STS-B dev sentences in
 *    groups of `--batch`; useful GFLOP/s = the FLOPs of the real tokens (padding
 *    excluded) / wall time; **fraction of peak** = useful GFLOP/s / peak.
 *    Peak and end-to-end passes are interleaved (A B A B …) so load hits both.
 * 4. **Per operator**: an onnxruntime profile (`enableProfiling`) of `session.run`
 *    on the embedder's own padded batches, kernel time summed per op type.
 * 5. **Cost growth**: tokens/s of `session.run` vs batch size and sequence length
 *    (rows of real word pieces cut to exactly L tokens, no padding), as a table and
 *    an SVG plot (bench/out/roofline-growth.svg).
 * Stage split of embed() (tokenize / tensors / run / pool): bench/lib/profile-embed.ts.
 *
 * Run: `npx tsx bench/roofline.ts [--model all-minilm-l6-v2] [--threads 2] [--sentences 1000]
 *   [--batch 32] [--repeats 5] [--gemm-rows 512,4096] [--growth-batches 1,8,32,128]
 *   [--growth-lengths 8,32,128,256] [--growth-tokens 4096] [--growth-max-cell 16384]
 *   [--data <sts csv>, default $EMBEDKIT_DATA/stsb/stsb-en-dev.csv] [--out bench/out]`
 * Prints Markdown; writes bench/out/roofline.json and bench/out/roofline-growth.svg.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import * as ort from "onnxruntime-node";
import { createEmbedder } from "../src/embed/create-embedder.js";
import { paddedFeeds, planBatches } from "../src/embed/onnx/onnx-embedder.js";
import { loadTextTokenizer } from "../src/embed/onnx/text-tokenizer.js";
import { lineChart } from "../src/eval/report.js";
import { getModel } from "../src/models/catalog.js";
import { encodeOnnxModel } from "../src/models/onnx-writer.js";
import { protobufChild, protobufFields, protobufString } from "../src/models/protobuf.js";
import { createModelStore } from "../src/models/store-impl.js";
import { chunk } from "./lib/bench-worker.js";
import { benchDataPath } from "./lib/data.js";
import { busyCores } from "./lib/machine-load.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "all-minilm-l6-v2" },
    threads: { type: "string", default: "2" },
    sentences: { type: "string", default: "1000" },
    batch: { type: "string", default: "32" },
    repeats: { type: "string", default: "5" },
    "gemm-rows": { type: "string", default: "512,4096" },
    "growth-batches": { type: "string", default: "1,8,32,128" },
    "growth-lengths": { type: "string" },
    "growth-tokens": { type: "string", default: "4096" },
    "growth-max-cell": { type: "string", default: "16384" },
    data: { type: "string" },
    out: { type: "string", default: "bench/out" },
  },
});
const numbers = (text: string): number[] => text.split(",").map(Number);
const spec = getModel(values.model);
const threads = Number(values.threads);
const batch = Number(values.batch);
const repeats = Number(values.repeats);
const outDir = resolve(values.out);
const sessionOptions: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: "all",
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
};
const median = (list: readonly number[]): number => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
};
const log = (message: string): void => console.error(`[roofline] ${message}`);

/** Varints of a repeated integer field, packed (wire type 2) or not. */
function integers(field: { value?: number; bytes?: Uint8Array }): number[] {
  if (field.value !== undefined) return [field.value];
  const out: number[] = [];
  const bytes = field.bytes ?? new Uint8Array();
  let value = 0;
  let scale = 1;
  for (const byte of bytes) {
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) {
      out.push(value);
      value = 0;
      scale = 1;
    }
  }
  return out;
}

/** The graph's matrix products: weight shapes (K×N) and the count of activation×activation MatMuls. */
function graphProducts(model: Uint8Array): { weights: Array<[number, number]>; activationMatMuls: number } {
  const graph = protobufChild(model, 7);
  if (graph === undefined) throw new Error("not an ONNX model: no graph");
  const dims = new Map<string, number[]>();
  const products: string[][] = [];
  const decoder = new TextDecoder();
  for (const field of protobufFields(graph)) {
    if (field.number === 5 && field.bytes !== undefined) {
      const shape = [...protobufFields(field.bytes)].filter((f) => f.number === 1).flatMap(integers);
      dims.set(protobufString(field.bytes, 8) ?? "", shape);
    } else if (field.number === 1 && field.bytes !== undefined) {
      const op = protobufString(field.bytes, 4);
      if (op === "MatMul" || op === "Gemm") {
        products.push(
          [...protobufFields(field.bytes)]
            .filter((f) => f.number === 1 && f.bytes !== undefined)
            .map((f) => decoder.decode(f.bytes)),
        );
      }
    }
  }
  const weights: Array<[number, number]> = [];
  let activationMatMuls = 0;
  for (const inputs of products) {
    const weight = inputs.slice(0, 2).find((name) => dims.get(name)?.length === 2);
    if (weight === undefined) activationMatMuls++;
    else weights.push(dims.get(weight) as [number, number]);
  }
  return { weights, activationMatMuls };
}

const pulled = await createModelStore().ensure(spec.id);
const modelBytes = new Uint8Array(await readFile(pulled.path("onnx")));
const products = graphProducts(modelBytes);
const hidden = spec.dims;
const linearFlops = products.weights.reduce((sum, [k, n]) => sum + 2 * k * n, 0);
/** FLOPs of one token in a sequence of `length` tokens. */
const flopsPerToken = (length: number): number =>
  linearFlops + products.activationMatMuls * 2 * length * hidden;
const shapes = [...new Set(products.weights.map(([k, n]) => `${k}x${n}`))].map(
  (key) => key.split("x").map(Number) as [number, number],
);
log(
  `${spec.id}: ${products.weights.length} weight MatMuls (${shapes.map(([k, n]) => `${k}×${n}`).join(", ")}), ` +
    `${products.activationMatMuls} attention MatMuls; ${(linearFlops / 1e6).toFixed(2)} MFLOP/token + ` +
    `${((products.activationMatMuls * 2 * hidden) / 1e3).toFixed(1)} kFLOP/token per token of length`,
);

// ---- texts ----
const rows = parseCsv(await readFile(benchDataPath(values.data, "stsb/stsb-en-dev.csv"), "utf8"), {
  relax_column_count: true,
}) as string[][];
const sentences = [...new Set(rows.flatMap((row) => row.slice(0, 2)))].slice(0, Number(values.sentences));
const tokenizer = await loadTextTokenizer(pulled.path("tokenizer"), spec.maxTokens);
const encoded = sentences.map((text) => tokenizer.encode(text, { truncate: true }).ids);
const realTokens = encoded.reduce((sum, ids) => sum + ids.length, 0);
const usefulFlops = encoded.reduce((sum, ids) => sum + ids.length * flopsPerToken(ids.length), 0);

// ---- peak: GEMM microbenchmarks with the model's shapes ----
interface Gemm {
  readonly label: string;
  readonly flops: number;
  readonly session: ort.InferenceSession;
  readonly feeds: Record<string, ort.Tensor>;
}
const gemms: Gemm[] = [];
for (const [k, n] of shapes) {
  for (const m of numbers(values["gemm-rows"] as string)) {
    const weight = Float32Array.from({ length: k * n }, (_, i) => Math.sin(i) * 0.05);
    const bytes = encodeOnnxModel({
      name: "gemm",
      inputs: [{ name: "x", type: "float", shape: ["m", k] }],
      outputs: [{ name: "y", type: "float", shape: ["m", n] }],
      initializers: [{ name: "w", dims: [k, n], data: weight }],
      nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["y"] }],
    });
    const x = Float32Array.from({ length: m * k }, (_, i) => Math.cos(i) * 0.5);
    gemms.push({
      label: `${m}×${k}×${n}`,
      flops: 2 * m * k * n,
      session: await ort.InferenceSession.create(bytes, sessionOptions),
      feeds: { x: new ort.Tensor("float32", x, [m, k]) },
    });
  }
}
/** GFLOP/s of one GEMM, running it for at least `seconds`. */
async function timeGemm(gemm: Gemm, seconds = 0.4): Promise<number> {
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await gemm.session.run(gemm.feeds);
    runs++;
  }
  return (gemm.flops * runs) / ((performance.now() - start) / 1000) / 1e9;
}

// ---- end to end ----
const embedder = await createEmbedder({ model: spec.id, threads, maxBatchSize: batch });
const groups = chunk(sentences, batch);
async function endToEnd(): Promise<number> {
  const start = performance.now();
  for (const group of groups) await embedder.embed(group);
  return (performance.now() - start) / 1000;
}

const busyBefore = await busyCores(2000, cpus().length);
const loadBefore = loadavg()[0] as number;
for (const gemm of gemms) await timeGemm(gemm, 0.1);
await embedder.embed(sentences.slice(0, Math.max(batch, 64)));
const gemmSamples = new Map<string, number[]>(gemms.map((gemm) => [gemm.label, []]));
const e2eSamples: number[] = [];
for (let repeat = 0; repeat < repeats; repeat++) {
  for (const gemm of gemms) gemmSamples.get(gemm.label)?.push(await timeGemm(gemm));
  e2eSamples.push(await endToEnd());
  log(`repeat ${repeat + 1}/${repeats}`);
}
await embedder.close();
for (const gemm of gemms) await gemm.session.release();
const gemmMedians = gemms.map((gemm) => ({
  label: gemm.label,
  median: median(gemmSamples.get(gemm.label) as number[]),
  best: Math.max(...(gemmSamples.get(gemm.label) as number[])),
}));
const peak = Math.max(...gemmMedians.map((g) => g.median));
const e2eSeconds = median(e2eSamples);
const usefulGflops = usefulFlops / e2eSeconds / 1e9;
const meanFlopsPerToken = usefulFlops / realTokens;

// ---- per-operator profile ----
await mkdir(outDir, { recursive: true });
const profilePrefix = join(outDir, `ort-profile-${spec.id}`);
const profiled = await ort.InferenceSession.create(pulled.path("onnx"), {
  ...sessionOptions,
  enableProfiling: true,
  profileFilePrefix: profilePrefix,
});
const needsTokenTypes = profiled.inputNames.includes("token_type_ids");
const profileBatches = chunk(encoded, batch).flatMap((group) =>
  planBatches(
    group.map((ids) => ids.length),
    batch,
    8192,
  ).map((plan) =>
    paddedFeeds(
      ort,
      plan.indices.map((index) => group[index] as number[]),
      plan.length,
      needsTokenTypes,
    ),
  ),
);
for (const feeds of profileBatches) await profiled.run(feeds);
profiled.endProfiling();
await profiled.release();
const profileFile = (await readdir(outDir))
  .filter((name) => name.startsWith(`ort-profile-${spec.id}`) && name.endsWith(".json"))
  .sort()
  .at(-1);
const perOp = new Map<string, { micros: number; calls: number }>();
if (profileFile !== undefined) {
  const events = JSON.parse(await readFile(join(outDir, profileFile), "utf8")) as Array<{
    cat?: string;
    name?: string;
    dur?: number;
    args?: { op_name?: string };
  }>;
  for (const event of events) {
    if (event.cat !== "Node" || !event.name?.endsWith("_kernel_time")) continue;
    const op = event.args?.op_name ?? "?";
    const entry = perOp.get(op) ?? { micros: 0, calls: 0 };
    entry.micros += event.dur ?? 0;
    entry.calls++;
    perOp.set(op, entry);
  }
  await rm(join(outDir, profileFile));
}
const kernelMicros = [...perOp.values()].reduce((sum, entry) => sum + entry.micros, 0);
const matmulMicros = ["MatMul", "FusedMatMul", "Gemm"].reduce(
  (sum, op) => sum + (perOp.get(op)?.micros ?? 0),
  0,
);
const paddedFlops = profileBatches.reduce((sum, feeds) => {
  const [rowsInBatch, length] = (feeds.input_ids as ort.Tensor).dims as [number, number];
  return sum + rowsInBatch * length * flopsPerToken(length);
}, 0);

// ---- cost growth ----
const pieces = sentences.flatMap((text) => tokenizer.pieces(text));
const { leading, trailing } = tokenizer.special;
const lengths = numbers(values["growth-lengths"] ?? `8,32,128,${spec.maxTokens}`).filter(
  (length) => length <= spec.maxTokens && length > leading.length + trailing.length,
);
const batchSizes = numbers(values["growth-batches"] as string);
const growthTokens = Number(values["growth-tokens"]);
const maxCell = Number(values["growth-max-cell"]);
const growthSession = await ort.InferenceSession.create(pulled.path("onnx"), sessionOptions);
let cursor = 0;
function rowsOf(rowsWanted: number, length: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < rowsWanted; r++) {
    const body: number[] = [];
    while (body.length < length - leading.length - trailing.length) {
      body.push(pieces[cursor % pieces.length] as number);
      cursor++;
    }
    out.push([...leading, ...body, ...trailing]);
  }
  return out;
}
const growth = new Map<string, number[]>();
for (let repeat = 0; repeat < Math.max(1, Math.ceil(repeats / 2)); repeat++) {
  for (const length of lengths) {
    for (const size of batchSizes) {
      if (size * length > maxCell) continue;
      const feeds = paddedFeeds(ort, rowsOf(size, length), length, needsTokenTypes);
      await growthSession.run(feeds);
      const calls = Math.max(1, Math.ceil(growthTokens / (size * length)));
      const start = performance.now();
      for (let call = 0; call < calls; call++) await growthSession.run(feeds);
      const perSecond = (calls * size * length) / ((performance.now() - start) / 1000);
      const key = `${size}/${length}`;
      growth.set(key, [...(growth.get(key) ?? []), perSecond]);
    }
  }
}
await growthSession.release();
const busyAfter = await busyCores(2000, cpus().length);
const loadAfter = loadavg()[0] as number;

// ---- report ----
const lines: string[] = [];
lines.push(
  `### ${spec.id}: roofline (${threads} threads, ${new Date().toISOString().slice(0, 16)} UTC)`,
  "",
  `Other load: ${busyBefore.toFixed(2)}/${busyAfter.toFixed(2)} cores busy before/after (1-min load average ${loadBefore.toFixed(2)}/${loadAfter.toFixed(2)}); ` +
    `median of ${repeats} interleaved repeats (GEMMs, then end to end).`,
  "",
  `FLOPs from the graph: ${products.weights.length} weight MatMuls = ${(linearFlops / 1e6).toFixed(2)} MFLOP/token, ` +
    `plus ${products.activationMatMuls} attention MatMuls = ${((products.activationMatMuls * 2 * hidden) / 1e3).toFixed(1)} kFLOP/token × sequence length; ` +
    `these ${sentences.length} sentences: ${realTokens} real tokens, mean ${(meanFlopsPerToken / 1e6).toFixed(2)} MFLOP/token.`,
  "",
  "| GEMM (M×K×N, one MatMul node) | median GFLOP/s | best GFLOP/s |",
  "|---|---|---|",
  ...gemmMedians.map((g) => `| ${g.label} | ${g.median.toFixed(1)} | ${g.best.toFixed(1)} |`),
  "",
  `| measure | value |`,
  "|---|---|",
  `| peak (best GEMM median) | ${peak.toFixed(1)} GFLOP/s |`,
  `| roofline at this text mix | ${((peak * 1e9) / meanFlopsPerToken).toFixed(0)} tokens/s |`,
  `| end to end embed(), batch ${batch} | ${(realTokens / e2eSeconds).toFixed(0)} tokens/s (${(sentences.length / e2eSeconds).toFixed(1)} sentences/s) |`,
  `| useful GFLOP/s end to end (padding excluded) | ${usefulGflops.toFixed(1)} |`,
  `| **fraction of peak reached end to end** | **${((usefulGflops / peak) * 100).toFixed(1)} %** |`,
  `| in-model MatMul kernels (profile: MatMul+FusedMatMul+Gemm time, padded FLOPs) | ${(paddedFlops / (matmulMicros / 1e6) / 1e9).toFixed(1)} GFLOP/s |`,
  "",
  `Per operator (onnxruntime profile of session.run on the embedder's batches at ${batch}; kernel time only, total ${(kernelMicros / 1000).toFixed(0)} ms):`,
  "",
  "| op type | ms | share | calls |",
  "|---|---|---|---|",
  ...[...perOp.entries()]
    .sort((a, b) => b[1].micros - a[1].micros)
    .map(
      ([op, entry]) =>
        `| ${op} | ${(entry.micros / 1000).toFixed(1)} | ${((entry.micros / kernelMicros) * 100).toFixed(1)} % | ${entry.calls} |`,
    ),
  "",
  `Cost growth: session.run tokens/s (rows of exactly L real tokens, no padding; median of ${Math.max(1, Math.ceil(repeats / 2))}; — = over ${maxCell} tokens per call):`,
  "",
  `| L \\ batch | ${batchSizes.join(" | ")} |`,
  `|${["", ...batchSizes].map(() => "---").join("|")}|`,
  ...lengths.map(
    (length) =>
      `| ${length} | ${batchSizes
        .map((size) => {
          const samples = growth.get(`${size}/${length}`);
          return samples === undefined ? "—" : median(samples).toFixed(0);
        })
        .join(" | ")} |`,
  ),
);
console.log(lines.join("\n"));
const svg = lineChart({
  title: `${spec.id}: session.run tokens/s vs log2(batch size), one line per sequence length (${threads} threads)`,
  xLabel: "log2 batch size",
  series: lengths.map((length) => ({
    label: `L = ${length}`,
    points: batchSizes
      .filter((size) => growth.has(`${size}/${length}`))
      .map((size) => [Math.log2(size), median(growth.get(`${size}/${length}`) as number[])] as const),
  })),
});
await writeFile(join(outDir, "roofline-growth.svg"), svg);
await writeFile(
  join(outDir, "roofline.json"),
  JSON.stringify(
    {
      model: spec.id,
      threads,
      batch,
      linearFlops,
      activationMatMuls: products.activationMatMuls,
      realTokens,
      usefulFlops,
      gemm: Object.fromEntries(gemmSamples),
      endToEndSeconds: e2eSamples,
      perOp: Object.fromEntries(perOp),
      growth: Object.fromEntries(growth),
      load: { busyBefore, busyAfter, loadBefore, loadAfter },
      versions: { node: process.version, onnxruntime: ort.env.versions.common },
    },
    null,
    1,
  ),
);
log(`wrote ${join(outDir, "roofline.json")} and ${join(outDir, "roofline-growth.svg")}`);
