/**
 * Vector store benchmark: every backend in BACKENDS on the same data in one
 * run, next to an exact brute-force baseline (a scan over Float32Arrays in
 * this process) and each backend's own exact path (`exact: true`).
 *
 * For each size N: N embedding-like 384-d unit vectors (seeded Gaussian
 * clusters, bench/lib/vector-bench-data.ts) are upserted in batches; the first
 * query after the load builds (embedded) or uses (pgvector) the HNSW index.
 * Then held-out queries run one at a time on one thread (p50/p99 latency,
 * QPS) and their top-10 is compared with the brute-force top-10 (recall@10).
 * Disk bytes per vector, process RSS (and server PSS for pgvector) are read at
 * the end. For the embedded store the run also reopens the store (snapshot
 * load + first query), sweeps efSearch, and compares durability=full with
 * durability=normal on small batches (the fsync cost per acknowledged write).
 *
 *   npx tsx bench/store.ts                                   # 10k,100k, embedded
 *   npx tsx bench/store.ts --sizes 10000 --backends embedded,pgvector
 *   npx tsx bench/store.ts --sizes 1000000 --queries 200 --out bench/out/store-1m.json
 *   npx tsx bench/store.ts --write-results                   # also splice "## Vector store" into bench/RESULTS.md
 *
 * Adding a backend = adding an entry to BACKENDS.
 */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { openEmbeddedStore } from "../src/store/embedded-store.js";
import type { VectorStore } from "../src/store/vector-store.js";
import { busyCores } from "./lib/machine-load.js";
import { spliceSection } from "./lib/results-section.js";
import { exactTopK, makeVectors, percentile, recallOf } from "./lib/vector-bench-data.js";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    backends: { type: "string", default: "embedded" },
    dims: { type: "string", default: "384" },
    queries: { type: "string", default: "500" },
    "exact-queries": { type: "string", default: "20" },
    k: { type: "string", default: "10" },
    batch: { type: "string", default: "1000" },
    "ef-search": { type: "string", default: "64" },
    "ef-sweep": { type: "string", default: "16,32,128" },
    "ann-threshold": { type: "string", default: "10000" },
    out: { type: "string", default: "bench/out/store.json" },
    "write-results": { type: "boolean", default: false },
  },
});
const sizes = (args.sizes ?? "").split(",").map(Number);
const dims = Number(args.dims);
const queryCount = Number(args.queries);
const exactQueryCount = Number(args["exact-queries"]);
const k = Number(args.k);
const batchSize = Number(args.batch);
const efSearch = Number(args["ef-search"]);
const efSweep = (args["ef-sweep"] ?? "")
  .split(",")
  .filter((x) => x !== "")
  .map(Number);
const annThreshold = Number(args["ann-threshold"]);

const log = (message: string) =>
  process.stderr.write(`[store ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const mib = (bytes: number) => bytes / 2 ** 20;
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** One backend, started fresh for one size. */
interface BackendRun {
  readonly store: VectorStore;
  /** Bytes the collection takes on disk (after `settle`). */
  diskBytes(collection: string): Promise<number>;
  /** Memory outside this process (a database server), in bytes. */
  serverMemoryBytes(): Promise<number>;
  /** Flush caches to disk (embedded: close, which writes the HNSW snapshot) before measuring disk. */
  settle(): Promise<void>;
  /** Backend-specific extra measurements (run after the main ones). */
  extras?(
    collection: string,
    queries: readonly Float32Array[],
    truth: readonly string[][],
  ): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

interface Backend {
  /** A line for the results table. */
  readonly label: string;
  start(): Promise<BackendRun>;
}

async function directoryBytes(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** Time one query pass: latencies, recall against `truth`. */
async function queryPass(
  store: VectorStore,
  collection: string,
  queries: readonly Float32Array[],
  truth: readonly string[][],
  exact = false,
): Promise<{ p50Ms: number; p99Ms: number; qps: number; cpuQps: number; recallAt10: number }> {
  const handle = await store.getCollection(collection);
  const times: number[] = [];
  let recall = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (const [i, vector] of queries.entries()) {
    const t = performance.now();
    const hits = await handle.query({ vector, k, exact });
    times.push(performance.now() - t);
    recall += recallOf(
      hits.map((hit) => hit.id),
      truth[i] as string[],
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    p50Ms: percentile(times, 0.5),
    p99Ms: percentile(times, 0.99),
    qps: queries.length / seconds,
    // Queries per second of this process's CPU time: what one core would do with the machine to itself.
    cpuQps: queries.length / ((used.user + used.system) / 1e6),
    recallAt10: recall / queries.length,
  };
}

const BACKENDS: Record<string, Backend> = {
  embedded: {
    label: `embedded (SQLite + hnswlib HNSW M=16 efC=100 efSearch=${efSearch})`,
    async start() {
      const dir = await mkdtemp(join(tmpdir(), "embedkit-bench-store-"));
      const open = (ef = efSearch) => openEmbeddedStore({ path: dir, annThreshold, hnsw: { efSearch: ef } });
      let store = await open();
      let closed = false;
      return {
        get store() {
          return store;
        },
        diskBytes: () => directoryBytes(dir),
        serverMemoryBytes: async () => 0,
        async settle() {
          await store.close();
          closed = true;
        },
        async extras(collection, queries, truth) {
          // Reopen: the snapshot written at close is loaded instead of rebuilt.
          const t = performance.now();
          store = await open();
          closed = false;
          await (await store.getCollection(collection)).query({ vector: queries[0] as Float32Array, k });
          const reopenSeconds = (performance.now() - t) / 1000;
          await store.close();
          const sweep: Record<string, unknown>[] = [];
          for (const ef of efSweep) {
            store = await open(ef);
            await (await store.getCollection(collection)).query({ vector: queries[0] as Float32Array, k });
            sweep.push({ efSearch: ef, ...(await queryPass(store, collection, queries, truth)) });
            await store.close();
          }
          closed = true;
          return { reopenSeconds, efSweep: sweep };
        },
        async close() {
          if (!closed) await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  pgvector: {
    label: "pgvector 0.8 HNSW (PostgreSQL 16 on 127.0.0.1, ef_search=100)",
    async start() {
      const { startPgvectorBackend } = await import("./lib/pgvector-backend.js");
      const backend = await startPgvectorBackend({ annThreshold, efSearch: 100 });
      return {
        store: backend.store,
        diskBytes: (collection) => backend.diskBytes(collection),
        serverMemoryBytes: () => backend.serverMemoryBytes(),
        settle: async () => {},
        close: () => backend.close(),
      };
    },
  },
};

interface Result {
  readonly backend: string;
  readonly label: string;
  readonly vectors: number;
  readonly ingestSeconds: number;
  readonly ingestVectorsPerSecond: number;
  /** First query after the load (embedded: builds the HNSW graph from SQLite). */
  readonly firstQuerySeconds: number;
  /** CPU seconds of this process for the first query (the embedded HNSW build). */
  readonly firstQueryCpuSeconds: number;
  readonly ann: { p50Ms: number; p99Ms: number; qps: number; cpuQps: number; recallAt10: number };
  readonly storeExact: { p50Ms: number; p99Ms: number; qps: number; cpuQps: number; recallAt10: number };
  readonly bruteForce: { p50Ms: number; qps: number };
  readonly diskBytesPerVector: number;
  readonly rssMiB: number;
  readonly serverMemoryMiB: number;
  readonly otherLoadCores: number;
  readonly extras: Record<string, unknown>;
}

async function benchSize(n: number, names: readonly string[]): Promise<Result[]> {
  log(`N=${n}: generating ${n} + ${queryCount} vectors`);
  const base = makeVectors(n, dims, 1);
  const queries = makeVectors(queryCount, dims, 2);
  const truth = queries.map((query) => exactTopK(base, query, k).map((i) => `v${i}`));
  const bruteTimes: number[] = [];
  for (const query of queries.slice(0, exactQueryCount)) {
    const t = performance.now();
    exactTopK(base, query, k);
    bruteTimes.push(performance.now() - t);
  }
  const bruteForce = { p50Ms: percentile(bruteTimes, 0.5), qps: 1000 / mean(bruteTimes) };
  const results: Result[] = [];
  for (const name of names) {
    const backend = BACKENDS[name];
    if (!backend) throw new Error(`unknown backend ${name}; known: ${Object.keys(BACKENDS).join(", ")}`);
    const otherLoadCores = await busyCores(2000);
    log(`N=${n} ${name}: other load ${otherLoadCores.toFixed(2)} cores`);
    const run = await backend.start();
    try {
      const collection = await run.store.createCollection("bench", { model: "bench-model", dims });
      const started = performance.now();
      for (let start = 0; start < n; start += batchSize) {
        await collection.upsert(
          base.slice(start, start + batchSize).map((vector, j) => ({
            id: `v${start + j}`,
            vector,
            metadata: { bucket: (start + j) % 10 },
          })),
        );
      }
      const ingestSeconds = (performance.now() - started) / 1000;
      const t = performance.now();
      const cpu = process.cpuUsage();
      await collection.query({ vector: queries[0] as Float32Array, k });
      const firstQuerySeconds = (performance.now() - t) / 1000;
      const firstCpu = process.cpuUsage(cpu);
      const firstQueryCpuSeconds = (firstCpu.user + firstCpu.system) / 1e6;
      log(
        `N=${n} ${name}: ingest ${ingestSeconds.toFixed(1)} s, first query ${firstQuerySeconds.toFixed(1)} s`,
      );
      for (const query of queries.slice(0, 20)) await collection.query({ vector: query, k });
      const ann = await queryPass(run.store, "bench", queries, truth);
      log(`N=${n} ${name}: ANN ${JSON.stringify(ann)}`);
      const storeExact = await queryPass(
        run.store,
        "bench",
        queries.slice(0, exactQueryCount),
        truth.slice(0, exactQueryCount),
        true,
      );
      const rssMiB = mib(process.memoryUsage().rss);
      const serverMemoryMiB = mib(await run.serverMemoryBytes());
      await run.settle();
      const diskBytesPerVector = (await run.diskBytes("bench")) / n;
      const extras = run.extras ? await run.extras("bench", queries, truth) : {};
      const result: Result = {
        backend: name,
        label: backend.label,
        vectors: n,
        ingestSeconds,
        ingestVectorsPerSecond: n / ingestSeconds,
        firstQuerySeconds,
        firstQueryCpuSeconds,
        ann,
        storeExact,
        bruteForce,
        diskBytesPerVector,
        rssMiB,
        serverMemoryMiB,
        otherLoadCores,
        extras,
      };
      log(`N=${n} ${name}: ${JSON.stringify(result)}`);
      results.push(result);
    } finally {
      await run.close();
    }
  }
  return results;
}

/** Acknowledged-write cost: small batches with fsync per commit (full) vs at checkpoints (normal). */
async function durabilityExperiment(): Promise<Record<string, number>> {
  const vectors = makeVectors(5000, dims, 3);
  const out: Record<string, number> = {};
  for (const durability of ["full", "normal"] as const) {
    const dir = await mkdtemp(join(tmpdir(), "embedkit-bench-durability-"));
    const store = await openEmbeddedStore({ path: dir, durability });
    const collection = await store.createCollection("d", { model: "bench-model", dims });
    const started = performance.now();
    for (let start = 0; start < vectors.length; start += 10) {
      await collection.upsert(
        vectors.slice(start, start + 10).map((vector, j) => ({ id: `d${start + j}`, vector })),
      );
    }
    out[`${durability}CommitsPerSecond`] = vectors.length / 10 / ((performance.now() - started) / 1000);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

function table(results: readonly Result[]): string {
  const f = (x: number, digits = 1) => x.toFixed(digits);
  const rows = results.map(
    (r) =>
      `| ${r.label} | ${r.vectors.toLocaleString("en")} | ${f(r.ingestVectorsPerSecond, 0)} | ${f(r.firstQuerySeconds)} (${f(r.firstQueryCpuSeconds)} CPU) | ` +
      `${f(r.ann.p50Ms, 2)} / ${f(r.ann.p99Ms, 2)} | ${f(r.ann.qps, 0)} / ${f(r.ann.cpuQps, 0)} | ${f(r.ann.recallAt10, 3)} | ` +
      `${f(r.storeExact.p50Ms, 1)} (${f(r.ann.qps / r.storeExact.qps)}×) | ${f(r.bruteForce.p50Ms, 1)} (${f(r.ann.qps / r.bruteForce.qps)}×) | ` +
      `${f(r.diskBytesPerVector, 0)} | ${f(r.rssMiB, 0)}${r.serverMemoryMiB > 0 ? ` + ${f(r.serverMemoryMiB, 0)} server` : ""} | ${f(r.otherLoadCores, 2)} |`,
  );
  return [
    "| backend | vectors | ingest vec/s (upserts of 1,000) | first query s (index build/load) | ANN p50 / p99 ms | ANN QPS wall / per CPU-second (1 thread) | recall@10 | store exact p50 ms (ANN speed-up) | brute force in Node p50 ms (ANN speed-up) | disk bytes/vector | RSS MiB | other load (cores) |",
    "|---|---:|---:|---:|---|---:|---:|---|---|---:|---|---:|",
    ...rows,
  ].join("\n");
}

function sweepTable(results: readonly Result[]): string {
  const rows: string[] = [];
  for (const r of results) {
    const sweep = r.extras.efSweep as
      | { efSearch: number; p50Ms: number; qps: number; cpuQps: number; recallAt10: number }[]
      | undefined;
    if (sweep === undefined) continue;
    const all = [{ efSearch, ...r.ann }, ...sweep].sort((a, b) => a.efSearch - b.efSearch);
    for (const s of all) {
      rows.push(
        `| ${r.vectors.toLocaleString("en")} | ${s.efSearch} | ${s.recallAt10.toFixed(3)} | ${s.p50Ms.toFixed(2)} | ${s.qps.toFixed(0)} / ${s.cpuQps.toFixed(0)} |`,
      );
    }
    if (r.extras.reopenSeconds !== undefined) {
      rows.push(
        `| ${r.vectors.toLocaleString("en")} | reopen + first query | | ${((r.extras.reopenSeconds as number) * 1000).toFixed(0)} | |`,
      );
    }
  }
  return [
    "| vectors | efSearch | recall@10 | p50 ms | QPS wall / per CPU-second |",
    "|---:|---|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

const names = (args.backends ?? "embedded").split(",");
const results: Result[] = [];
for (const n of sizes) results.push(...(await benchSize(n, names)));
log("durability experiment");
const durability = await durabilityExperiment();
log(JSON.stringify(durability));
const out = args.out ?? "bench/out/store.json";
await mkdir(dirname(out), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), dims, k, annThreshold, efSearch, results, durability }, null, 2)}\n`,
);
const command = `npx tsx bench/store.ts ${process.argv.slice(2).join(" ")}`.trim();
const body = [
  `Command: \`${command}\` (${new Date().toISOString().slice(0, 10)}; ${dims}-d embedding-like unit vectors, k=${k}; the machine is a shared 2-core VM — "other load" is what other processes used while we were idle, so latencies are pessimistic).`,
  "",
  table(results),
  "",
  "efSearch sweep (embedded, same queries) and reopen time (HNSW snapshot load + first query):",
  "",
  sweepTable(results),
  "",
  `Durability, 5,000 vectors in upserts of 10: \`full\` (fsync per commit) ${durability.fullCommitsPerSecond?.toFixed(0)} commits/s vs \`normal\` (fsync at checkpoints) ${durability.normalCommitsPerSecond?.toFixed(0)} commits/s.`,
].join("\n");
process.stdout.write(`${body}\n`);
if (args["write-results"]) await spliceSection("bench/RESULTS.md", "## Vector store", body);
