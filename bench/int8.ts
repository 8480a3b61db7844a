/**
 * @module bench/int8
 * Is an int8 graph worth having, per model (issue #23 item 2)? For each fp32 text model with a
 * static int8 recipe, three graphs through embedkit's own pipeline (`createEmbedder` → `embed()`):
 * the fp32 file, the shipped dynamic-quantized copy (`<id>-q`) and the static int8 variant
 * produced on this machine (`<id>-int8s`, `quantizeModel`). Measured in one run:
 *   speed       sentences/s of `embed()` calls of 1 / 32 / 128 texts (STS sentences in file order),
 *               the variants interleaved inside every repeat (A B C A B C …), same threads;
 *               the ratio to fp32 is taken per repeat, the table shows the median
 *   quality     Spearman ×100 on the model's STS sets (`evaluateSts`) and the points lost vs fp32
 *   invariance  max |Δ| between a text embedded alone and inside one call with 31 others
 *   production  seconds to produce the int8s graph (0 when cached) and its sha256
 * Target (issue #23): ≥ 1.8× fp32 at ≤ 0.3 Spearman points lost, invariance ≤ 1e-5.
 *
 * Run: `EMBEDKIT_DATA=… npx tsx bench/int8.ts [--models all-minilm-l6-v2,bge-small-zh-v1.5]
 *   [--threads 2] [--repeats 3] [--speed-sentences 256] [--batch-sizes 1,32,128] [--limit-zh 1000]
 *   [--out bench/out]`
 * Writes `<out>/int8.json` and prints Markdown tables with `uptime` load before and after.
 * On a shared machine only the same-run ratios mean anything.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createEmbedder } from "../src/embed/create-embedder.js";
import type { Embedder } from "../src/embed/embedder.js";
import { evaluateSts } from "../src/eval/sts.js";
import { readStsSet, type StsPair } from "../src/eval/sts-data.js";
import { quantizeModel } from "../src/models/quantize-model.js";
import { createModelStore } from "../src/models/store-impl.js";
import { benchDataPath } from "./lib/data.js";

const { values: args } = parseArgs({
  options: {
    models: { type: "string", default: "all-minilm-l6-v2,bge-small-zh-v1.5" },
    threads: { type: "string", default: "2" },
    repeats: { type: "string", default: "3" },
    "speed-sentences": { type: "string", default: "256" },
    "batch-sizes": { type: "string", default: "1,32,128" },
    "limit-zh": { type: "string", default: "1000" },
    "skip-dynamic": { type: "boolean", default: false },
    out: { type: "string", default: "bench/out" },
    data: { type: "string" },
  },
});

/** STS sets per model language: the English dev set, or the Chinese ones the project evaluates. */
const SETS: Readonly<Record<string, readonly string[]>> = {
  "all-minilm-l6-v2": ["stsb-en-dev"],
  "bge-small-zh-v1.5": ["stsb-zh-dev", "lcqmc", "atec", "bq"],
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(" ");

async function invariance(embedder: Embedder, texts: readonly string[]): Promise<number> {
  const batch = (await embedder.embed(texts)).vectors;
  let worst = 0;
  for (let i = 0; i < texts.length; i++) {
    const alone = (await embedder.embed([texts[i] as string])).vectors[0] as Float32Array;
    const inBatch = batch[i] as Float32Array;
    for (let d = 0; d < alone.length; d++)
      worst = Math.max(worst, Math.abs((alone[d] as number) - (inBatch[d] as number)));
  }
  return worst;
}

async function timeCalls(embedder: Embedder, texts: readonly string[], size: number): Promise<number> {
  const started = performance.now();
  for (let offset = 0; offset < texts.length; offset += size)
    await embedder.embed(texts.slice(offset, offset + size));
  return texts.length / ((performance.now() - started) / 1000);
}

interface VariantResult {
  readonly id: string;
  readonly spearman: Record<string, number>;
  readonly invariance: number;
  readonly speed: Record<
    string,
    { median: number; samples: number[]; ratioMedian: number; ratios: number[] }
  >;
}

async function main(): Promise<void> {
  const dataDir = benchDataPath(args.data);
  const store = createModelStore();
  const threads = Number(args.threads);
  const repeats = Number(args.repeats);
  const batchSizes = (args["batch-sizes"] as string).split(",").map(Number);
  const limitZh = Number(args["limit-zh"]);
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model,
    threads,
    repeats,
    loadBefore: load(),
    models: {},
  };
  console.log(
    `# int8 bench — ${report.date}, ${cpus()[0]?.model}, ${threads} threads; load ${report.loadBefore}`,
  );
  for (const base of (args.models as string).split(",")) {
    const started = performance.now();
    const produced = await quantizeModel(base, { store, onLog: (line) => console.error(line) });
    const productionSeconds = (performance.now() - started) / 1000;
    const ids = [base, ...(args["skip-dynamic"] ? [] : [`${base}-q`]), produced.model];
    const embedders = new Map<string, Embedder>();
    for (const id of ids)
      embedders.set(id, await createEmbedder({ model: id, store, threads, maxBatchSize: 128 }));
    const sets: Record<string, StsPair[]> = {};
    for (const set of SETS[base] ?? []) {
      const pairs = await readStsSet(set, { dataDir });
      sets[set] = set.startsWith("stsb") ? pairs : pairs.slice(0, limitZh);
    }
    const sentences = [...new Set(Object.values(sets)[0]?.flatMap((pair) => [pair.a, pair.b]) ?? [])];
    const speedTexts = sentences.slice(0, Number(args["speed-sentences"]));
    const results: VariantResult[] = [];
    for (const id of ids) {
      const embedder = embedders.get(id) as Embedder;
      const spearman: Record<string, number> = {};
      for (const [set, pairs] of Object.entries(sets))
        spearman[set] = (await evaluateSts({ embedder, pairs })).spearman;
      results.push({
        id,
        spearman,
        invariance: await invariance(embedder, sentences.slice(0, 32)),
        speed: {},
      });
      console.error(`${id}: ${JSON.stringify(spearman)} (load ${load()})`);
    }
    for (const size of batchSizes) {
      const texts = size === 1 ? speedTexts.slice(0, 64) : speedTexts;
      for (const embedder of embedders.values()) await embedder.embed(texts.slice(0, size)); // warm-up
      const samples = new Map<string, number[]>(ids.map((id) => [id, []]));
      for (let r = 0; r < repeats; r++) {
        for (const id of ids)
          samples.get(id)?.push(await timeCalls(embedders.get(id) as Embedder, texts, size));
      }
      const fp32 = samples.get(base) as number[];
      for (const result of results) {
        const own = samples.get(result.id) as number[];
        const ratios = own.map((value, r) => value / (fp32[r] as number));
        result.speed[String(size)] = {
          median: median(own),
          samples: own,
          ratioMedian: median(ratios),
          ratios,
        };
      }
      console.error(`batch ${size} done (load ${load()})`);
    }
    for (const embedder of embedders.values()) await embedder.close();
    (report.models as Record<string, unknown>)[base] = {
      int8s: { sha256: produced.sha256, produced: produced.produced ?? null, productionSeconds },
      results,
    };
    const fp = results[0] as VariantResult;
    console.log(
      `\n## ${base} (int8s sha256 ${produced.sha256.slice(0, 16)}…, ${produced.produced === undefined ? "cached" : `produced in ${productionSeconds.toFixed(0)} s`})\n`,
    );
    const setNames = Object.keys(sets);
    console.log(
      `| variant | ${setNames.map((set) => `${set} ρ×100 (Δ)`).join(" | ")} | ${batchSizes.map((size) => `${size}/call sent/s (×fp32)`).join(" | ")} | alone vs batch max abs Δ |`,
    );
    console.log(`|${"---|".repeat(2 + setNames.length + batchSizes.length)}`);
    for (const result of results) {
      const quality = setNames.map((set) => {
        const value = result.spearman[set] as number;
        return `${value.toFixed(2)} (${(value - (fp.spearman[set] as number)).toFixed(2)})`;
      });
      const speed = batchSizes.map((size) => {
        const cell = result.speed[String(size)];
        return `${cell?.median.toFixed(1)} (${cell?.ratioMedian.toFixed(2)}; ${cell?.ratios.map((r) => r.toFixed(2)).join("/")})`;
      });
      console.log(
        `| ${result.id} | ${quality.join(" | ")} | ${speed.join(" | ")} | ${result.invariance.toExponential(1)} |`,
      );
    }
  }
  report.loadAfter = load();
  console.log(`\nload after: ${report.loadAfter}`);
  await mkdir(args.out as string, { recursive: true });
  await writeFile(join(args.out as string, "int8.json"), `${JSON.stringify(report, null, 1)}\n`);
}

await main();
