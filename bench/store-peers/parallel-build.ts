/**
 * Parallel HNSW builds for the embedded store, measured on the same data in one
 * run (issue #23 item 4): CPU seconds and wall time of the build, then recall@10
 * against the exact top-10 and queries per CPU-second on one thread at several
 * search breadths (efSearch / expansion_search).
 *
 * - `hnswlib 1 worker`: today's store (hnswlib-node, one graph built in one worker thread).
 * - `hnswlib 2 shards`: two worker threads each build a graph over half the rows; each
 *   query searches both graphs and merges (what a two-core build costs at query time).
 * - `usearch T threads`: usearch's multi-threaded `add` (2.25.3: the newest release
 *   whose `engines` allows Node 20), one graph.
 *
 * Same graph parameters everywhere: M (connectivity) 16, efConstruction (expansion_add) 100,
 * cosine, float32. Data: unit vectors drawn from the spectrum of real all-MiniLM-L6-v2
 * vectors (bench/lib/real-vectors.ts), queries held out; ground truth by
 * bench/lib/vector-bench-data.ts's blocked exact top-k.
 *
 *   cd bench/store-peers && npm install && cd ../..     # usearch, isolated from embedkit's dependencies
 *   npx tsx bench/store-peers/parallel-build.ts --count 50000 --queries 200 --ef 32,64,128,256
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import type { HierarchicalNSW } from "hnswlib-node";
import { benchDataPath } from "../lib/data.js";
import { busyCores } from "../lib/machine-load.js";
import { fitSpectrum, loadRealVectors } from "../lib/real-vectors.js";
import { exactTopKMatrix, percentile, recallOf } from "../lib/vector-bench-data.js";

const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "50000" },
    queries: { type: "string", default: "200" },
    ef: { type: "string", default: "32,64,128,256" },
    "usearch-threads": { type: "string", default: "1,2" },
    "spectrum-sample": { type: "string", default: "8000" },
    "data-dir": { type: "string" },
  },
});
const count = Number(args.count);
const queryCount = Number(args.queries);
const efs = (args.ef ?? "").split(",").map(Number);
// Empty (`--usearch-threads ""`): hnswlib only.
const usearchThreads = (args["usearch-threads"] ?? "")
  .split(",")
  .filter((x) => x !== "")
  .map(Number);
const dims = 384;
const M = 16;
const EF_CONSTRUCTION = 100;
/** The slice of usearch's API used here (the package is not installed for type-checking). */
interface UsearchIndex {
  add(keys: BigUint64Array, vectors: Float32Array, threads: number): void;
  search(vector: Float32Array, k: number, threads: number): { keys: BigUint64Array };
  save(path: string): void;
  load(path: string): void;
}
interface UsearchModule {
  Index: new (config: {
    metric: string;
    connectivity: number;
    dimensions: number;
    expansion_add: number;
    expansion_search: number;
    quantization: string;
    multi: boolean;
  }) => UsearchIndex;
}
const usearchName = "usearch";
const usearch = ((await import(usearchName)) as { default: UsearchModule }).default;
const require = createRequire(import.meta.url);
const hnswlib = require("hnswlib-node") as typeof import("hnswlib-node");

const log = (message: string) =>
  process.stderr.write(`[parallel-build ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

const real = await loadRealVectors(
  benchDataPath(args["data-dir"], "", "--data-dir"),
  log,
  Number(args["spectrum-sample"]),
);
const model = fitSpectrum(real);
// The rows live in shared memory so the build workers read them without a copy.
const shared = new Float32Array(new SharedArrayBuffer(count * dims * 4));
shared.set(await model.sampleMatrix(count, 1));
const queries = await model.sample(queryCount, 2);
const truth = (await exactTopKMatrix(shared, dims, queries, 10)).map((top) => top.map(String));
log(`${count} × ${dims} spectrum vectors, ${queryCount} queries, exact top-10 done`);

/** hnswlib-node over rows [from, to) in a worker thread, as the store's build does (Array.from per row). */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { HierarchicalNSW } = require(workerData.hnswlib);
const { rows, dims, from, to, m, efConstruction, path } = workerData;
const graph = new HierarchicalNSW("cosine", dims);
graph.initIndex({ maxElements: to - from, m, efConstruction, randomSeed: 100 });
const started = process.hrtime.bigint();
for (let i = from; i < to; i++) graph.addPoint(Array.from(rows.subarray(i * dims, (i + 1) * dims)), i);
graph.writeIndexSync(path);
parentPort.postMessage({ seconds: Number(process.hrtime.bigint() - started) / 1e9 });
`;

async function buildHnswlib(
  dir: string,
  shards: number,
): Promise<{ paths: string[]; wall: number; cpu: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const paths = Array.from({ length: shards }, (_, s) => join(dir, `shard-${shards}-${s}.hnsw`));
  await Promise.all(
    paths.map(
      (path, s) =>
        new Promise((resolve, reject) => {
          const from = Math.floor((count * s) / shards);
          const to = Math.floor((count * (s + 1)) / shards);
          const worker = new Worker(WORKER, {
            eval: true,
            workerData: {
              hnswlib: require.resolve("hnswlib-node"),
              rows: shared,
              dims,
              from,
              to,
              m: M,
              efConstruction: EF_CONSTRUCTION,
              path,
            },
          });
          worker.once("message", resolve);
          worker.once("error", reject);
        }),
    ),
  );
  return { paths, wall: (performance.now() - started) / 1000, cpu: cpuSeconds(cpu) };
}

interface Pass {
  readonly ef: number;
  readonly recallAt10: number;
  readonly cpuQps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Recall and one-thread speed of `search` over the held-out queries. */
function pass(ef: number, search: (query: Float32Array) => string[]): Pass {
  for (const query of queries.slice(0, 20)) search(query); // warm-up
  const times: number[] = [];
  let recall = 0;
  const cpu = process.cpuUsage();
  for (const [i, query] of queries.entries()) {
    const t = performance.now();
    const ids = search(query);
    times.push(performance.now() - t);
    recall += recallOf(ids, truth[i] as string[]);
  }
  return {
    ef,
    recallAt10: recall / queries.length,
    cpuQps: queries.length / cpuSeconds(cpu),
    p50Ms: percentile(times, 0.5),
    p99Ms: percentile(times, 0.99),
  };
}

function hnswlibPasses(paths: readonly string[]): Pass[] {
  const graphs: HierarchicalNSW[] = paths.map((path) => {
    const graph = new hnswlib.HierarchicalNSW("cosine", dims);
    graph.readIndexSync(path, false);
    return graph;
  });
  const passes = efs.map((ef) => {
    for (const graph of graphs) graph.setEf(ef);
    return pass(ef, (query) => {
      const q = Array.from(query);
      const hits: { id: number; distance: number }[] = [];
      for (const graph of graphs) {
        const { neighbors, distances } = graph.searchKnn(q, 10);
        neighbors.forEach((id, i) => {
          hits.push({ id, distance: distances[i] as number });
        });
      }
      return hits
        .sort((a, b) => a.distance - b.distance)
        .slice(0, 10)
        .map((hit) => String(hit.id));
    });
  });
  for (const graph of graphs) graph.initIndex(1, M, EF_CONSTRUCTION, 100); // free the graph now
  return passes;
}

function usearchIndex(ef: number): UsearchIndex {
  return new usearch.Index({
    metric: "cos",
    connectivity: M,
    dimensions: dims,
    expansion_add: EF_CONSTRUCTION,
    expansion_search: ef,
    quantization: "f32",
    multi: false,
  });
}

async function buildUsearch(
  dir: string,
  threads: number,
): Promise<{ path: string; wall: number; cpu: number }> {
  const keys = new BigUint64Array(count);
  for (let i = 0; i < count; i++) keys[i] = BigInt(i);
  const index = usearchIndex(64);
  const started = performance.now();
  const cpu = process.cpuUsage();
  index.add(keys, shared, threads);
  const wall = (performance.now() - started) / 1000;
  const used = cpuSeconds(cpu);
  const path = join(dir, `usearch-${threads}.usearch`);
  index.save(path);
  return { path, wall, cpu: used };
}

function usearchPasses(path: string): Pass[] {
  return efs.map((ef) => {
    const index = usearchIndex(ef);
    index.load(path);
    return pass(ef, (query) => Array.from(index.search(query, 10, 1).keys, String));
  });
}

interface Row {
  readonly engine: string;
  readonly wall: number;
  readonly cpu: number;
  readonly otherLoad: number;
  readonly passes: readonly Pass[];
}

const dir = await mkdtemp(join(tmpdir(), "embedkit-parallel-build-"));
const rows: Row[] = [];
try {
  for (const shards of [1, 2]) {
    const otherLoad = await busyCores(2000);
    log(`hnswlib ${shards} worker(s): building (other load ${otherLoad.toFixed(2)} cores)`);
    const built = await buildHnswlib(dir, shards);
    log(`hnswlib ${shards}: ${built.wall.toFixed(1)} s wall, ${built.cpu.toFixed(1)} CPU-s`);
    rows.push({
      engine:
        shards === 1
          ? "hnswlib-node, 1 worker (today)"
          : "hnswlib-node, 2 workers × half (2 graphs searched)",
      wall: built.wall,
      cpu: built.cpu,
      otherLoad,
      passes: hnswlibPasses(built.paths),
    });
  }
  for (const threads of usearchThreads) {
    const otherLoad = await busyCores(2000);
    log(`usearch ${threads} thread(s): building (other load ${otherLoad.toFixed(2)} cores)`);
    const built = await buildUsearch(dir, threads);
    log(`usearch ${threads}: ${built.wall.toFixed(1)} s wall, ${built.cpu.toFixed(1)} CPU-s`);
    rows.push({
      engine: `usearch 2.25.3, add() on ${threads} thread(s)`,
      wall: built.wall,
      cpu: built.cpu,
      otherLoad,
      passes: usearchPasses(built.path),
    });
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const base = rows[0] as Row;
const lines = [
  `\`npx tsx bench/store-peers/parallel-build.ts ${process.argv.slice(2).join(" ")}\` — ${new Date().toISOString()}; ${count.toLocaleString("en")} × ${dims} spectrum vectors, M 16, efConstruction 100, cosine.`,
  "",
  "| engine | build wall s | build CPU-s | wall / today | CPU-s / today | other load (cores) | efSearch: recall@10 / queries per CPU-second (one thread) |",
  "|---|---:|---:|---:|---:|---:|---|",
  ...rows.map(
    (r) =>
      `| ${r.engine} | ${r.wall.toFixed(1)} | ${r.cpu.toFixed(1)} | ${(r.wall / base.wall).toFixed(2)}× | ${(r.cpu / base.cpu).toFixed(2)}× | ${r.otherLoad.toFixed(2)} | ${r.passes.map((p) => `${p.ef}: ${p.recallAt10.toFixed(3)} / ${p.cpuQps.toFixed(0)}`).join("; ")} |`,
  ),
];
process.stdout.write(`${lines.join("\n")}\n`);
process.stdout.write(`${JSON.stringify(rows)}\n`);
