/**
 * Vector store benchmark: every backend in BACKENDS on the same data in one
 * run, next to an exact brute-force baseline (a scan over Float32Arrays in
 * this process) and each backend's own exact path (`exact: true`).
 *
 * For each size N: N embedding-like 384-d unit vectors (seeded Gaussian
 * clusters, bench/lib/vector-bench-data.ts) are upserted in batches; the first
 * query after the load builds (embedded, LanceDB) or uses (pgvector: built in
 * bulk by the batch that reaches `--ann-threshold`) the ANN index. Then
 * held-out queries run one at a time on one thread (p50/p99 latency, QPS, QPS
 * per CPU-second of this process) and, with `--concurrency N`, N in flight;
 * their top-10 is compared with the brute-force top-10 (recall@10). Disk bytes
 * per vector, process RSS (now and peak; server PSS for pgvector) are read at
 * the end. Each backend × size runs in a child process of its own, so RSS and
 * caches are not inherited from the backend before it. The embedded store also
 * reopens (snapshot load + first query) and sweeps efSearch; LanceDB sweeps
 * `ef` and re-measures disk after `optimize()`; the run ends with the embedded
 * store's durability=full vs durability=normal cost on small batches.
 *
 *   npx tsx bench/store.ts                                   # 10k,100k, embedded
 *   npx tsx bench/store.ts --sizes 10000,100000 --backends embedded,lancedb --queries 300
 *   npx tsx bench/store.ts --sizes 10000,100000 --backends pgvector --queries 300 --exact-queries 30 --concurrency 4
 *   npx tsx bench/store.ts --sizes 100000 --backends pgvector --ann-threshold size   # pgvector bulk load: index built once, after the load
 *   npx tsx bench/store.ts --sizes 1000000 --queries 200 --out bench/out/store-1m.json
 *   npx tsx bench/store.ts --sizes 1000000 --hnsw-m 32 --ef-construction 200 --ef-sweep 128,256,512   # a larger graph
 *   npx tsx bench/store.ts --sizes 50000 --data spectrum --build-workers 1,2   # one graph vs two shards built at once, same data
 *   npx tsx bench/store.ts --write-results                   # also splice "## Vector store" into bench/out/RESULTS.md (its ### subsections are kept)
 *
 * Adding a backend = adding an entry to BACKENDS.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { escapeHtml, lineChart, reportPage } from "../src/eval/report.js";
import { openEmbeddedStore } from "../src/store/embedded-store.js";
import { benchDataPath } from "./lib/data.js";
import { busyCores } from "./lib/machine-load.js";
import { fitSpectrum, loadRealVectors, REAL_MODEL } from "./lib/real-vectors.js";
import { FULL_RESULTS, spliceSection } from "./lib/results-section.js";
import {
  exactTopKMatrix,
  makeVectorMatrix,
  makeVectors,
  percentile,
  recallOf,
  scanTopK,
} from "./lib/vector-bench-data.js";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    // clustered: Gaussian clusters (isotropic inside each: the hard case); real: all-MiniLM-L6-v2
    // vectors of the shared English sentences; spectrum: Gaussian with their mean and covariance.
    data: { type: "string", default: "clustered" },
    "data-dir": { type: "string" },
    // --data spectrum: fit the spectrum on the first N real sentences (a 384 × 384 covariance needs a few thousand).
    "spectrum-sample": { type: "string" },
    backends: { type: "string", default: "embedded" },
    dims: { type: "string", default: "384" },
    queries: { type: "string", default: "500" },
    "exact-queries": { type: "string", default: "20" },
    k: { type: "string", default: "10" },
    batch: { type: "string", default: "1000" },
    // Queries in flight for the pooled-QPS pass (1 = no such pass).
    concurrency: { type: "string", default: "1" },
    // HNSW ef at query time for the embedded store and LanceDB (same graph parameters M=16, efC=100).
    "ef-search": { type: "string", default: "64" },
    "ef-sweep": { type: "string", default: "16,32,128" },
    // HNSW graph of the embedded store: links per node and build-time candidate list.
    "hnsw-m": { type: "string", default: "16" },
    "ef-construction": { type: "string", default: "100" },
    // Embedded store build workers (= HNSW shards): "1,2" runs the embedded backend once with each,
    // side by side on the same data (backends embedded-w1, embedded-w2); unset: the store's default.
    "build-workers": { type: "string" },
    // pgvector's hnsw.ef_search (its recall needs more at the same M).
    "pg-ef-search": { type: "string", default: "100" },
    // LanceDB refine factor: re-rank k × this many candidates with the full vectors (0 = off).
    "lance-refine": { type: "string", default: "0" },
    // A number, or "size": build the index once, after the whole load (pgvector bulk-load mode).
    "ann-threshold": { type: "string", default: "10000" },
    out: { type: "string", default: "bench/out/store.json" },
    "write-results": { type: "boolean", default: false },
    // Internal: run one backend at one size in this process and write its Result here.
    child: { type: "string" },
  },
});
const dataKind = args.data ?? "clustered";
const sizes = (args.sizes ?? "").split(",").map(Number);
const dims = Number(args.dims);
const queryCount = Number(args.queries);
const exactQueryCount = Number(args["exact-queries"]);
const k = Number(args.k);
const batchSize = Number(args.batch);
const concurrency = Number(args.concurrency);
const efSearch = Number(args["ef-search"]);
const hnswM = Number(args["hnsw-m"]);
const efConstruction = Number(args["ef-construction"]);
const efSweep = (args["ef-sweep"] ?? "")
  .split(",")
  .filter((x) => x !== "")
  .map(Number);
const pgEfSearch = Number(args["pg-ef-search"]);
const lanceRefine = Number(args["lance-refine"]);
const annThresholdFor = (n: number) => (args["ann-threshold"] === "size" ? n : Number(args["ann-threshold"]));

const log = (message: string) =>
  process.stderr.write(`[store ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const mib = (bytes: number) => bytes / 2 ** 20;
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** What the benchmark needs of a collection (VectorStore's Collection has it). */
interface BenchCollection {
  upsert(
    items: readonly { id: string; vector: Float32Array; metadata?: Record<string, number> }[],
  ): Promise<void>;
  query(query: { vector: Float32Array; k: number; exact?: boolean }): Promise<readonly { id: string }[]>;
}

/** What the benchmark needs of a store (VectorStore has it; bench-only backends implement just this). */
interface BenchStore {
  createCollection(name: string, spec: { model: string; dims: number }): Promise<BenchCollection>;
  getCollection(name: string): Promise<BenchCollection>;
  /** Resolves when no background index build is running (the embedded store builds in a worker). */
  waitForIndexBuilds?(): Promise<void>;
  close(): Promise<void>;
}

/** One backend, started fresh for one size. */
interface BackendRun {
  readonly store: BenchStore;
  /** Bytes the collection takes on disk (after `settle`). */
  diskBytes(collection: string): Promise<number>;
  /** Memory outside this process (a database server), in bytes. */
  serverMemoryBytes(): Promise<number>;
  /** Flush caches to disk (embedded: close, which writes the HNSW snapshot) before measuring disk. */
  settle(): Promise<void>;
  /** Engine versions and settings, for the results. */
  describe?(): Promise<string>;
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
  /** True when the ANN index is built inside an upsert (pgvector), not by the first query. */
  readonly buildsIndexDuringIngest?: boolean;
  /** True when queries run in a server process, so this process's CPU time does not measure them. */
  readonly outOfProcess?: boolean;
  start(annThreshold: number): Promise<BackendRun>;
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
  store: BenchStore,
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

/** Queries per second with `concurrency` queries in flight (the pgvector pool; in-process backends gain little). */
async function pooledQps(
  store: BenchStore,
  collection: string,
  queries: readonly Float32Array[],
): Promise<number> {
  const handle = await store.getCollection(collection);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < queries.length) await handle.query({ vector: queries[next++] as Float32Array, k });
    }),
  );
  return queries.length / ((performance.now() - started) / 1000);
}

/** The embedded store; `buildWorkers` set: that many build workers (shards) instead of the store's default. */
function embeddedBackend(buildWorkers?: 1 | 2): Backend {
  return {
    label: `embedded (SQLite + hnswlib HNSW M=${hnswM} efC=${efConstruction} efSearch=${efSearch}${buildWorkers === undefined ? "" : `, ${buildWorkers === 1 ? "1 build worker" : `${buildWorkers} build workers × shard`}`})`,
    async start(annThreshold) {
      const dir = await mkdtemp(join(tmpdir(), "embedkit-bench-store-"));
      const open = (ef = efSearch) =>
        openEmbeddedStore({
          path: dir,
          annThreshold,
          hnsw: { m: hnswM, efConstruction, efSearch: ef },
          ...(buildWorkers === undefined ? {} : { buildWorkers }),
        });
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
          await store.waitForIndexBuilds();
          const reopenSeconds = (performance.now() - t) / 1000;
          await store.close();
          const sweep: Record<string, unknown>[] = [];
          for (const ef of efSweep) {
            store = await open(ef);
            await (await store.getCollection(collection)).query({ vector: queries[0] as Float32Array, k });
            await store.waitForIndexBuilds();
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
  };
}

const BACKENDS: Record<string, Backend> = {
  embedded: embeddedBackend(),
  "embedded-w1": embeddedBackend(1),
  "embedded-w2": embeddedBackend(2),
  lancedb: {
    label: `LanceDB IVF_HNSW_SQ (1 partition, M=16 efC=100 ef=${efSearch}${lanceRefine > 0 ? `, refine ×${lanceRefine}` : ""})`,
    async start(annThreshold) {
      const { lancedbVersion, openLanceBenchStore } = await import("./lib/lancedb-backend.js");
      const dir = await mkdtemp(join(tmpdir(), "embedkit-bench-lancedb-"));
      const open = (ef = efSearch) =>
        openLanceBenchStore({
          path: dir,
          annThreshold,
          ef,
          ...(lanceRefine > 0 ? { refineFactor: lanceRefine } : {}),
        });
      let store = await open();
      return {
        get store() {
          return store;
        },
        diskBytes: () => directoryBytes(dir),
        serverMemoryBytes: async () => 0,
        settle: async () => {},
        describe: async () => `@lancedb/lancedb ${lancedbVersion()}`,
        async extras(collection, queries, truth) {
          // Compaction and old-version cleanup: every merge-insert batch left a table version behind.
          const t = performance.now();
          await (await store.getCollection(collection)).optimize();
          const optimizeSeconds = (performance.now() - t) / 1000;
          const optimizedDiskBytes = await directoryBytes(dir);
          const sweep: Record<string, unknown>[] = [];
          for (const ef of efSweep) {
            await store.close();
            store = await open(ef);
            await (await store.getCollection(collection)).query({ vector: queries[0] as Float32Array, k });
            sweep.push({ efSearch: ef, ...(await queryPass(store, collection, queries, truth)) });
          }
          return { optimizeSeconds, optimizedDiskBytes, efSweep: sweep };
        },
        async close() {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  pgvector: {
    label: `pgvector HNSW (PostgreSQL on 127.0.0.1, m=16 ef_construction=64 ef_search=${pgEfSearch})`,
    buildsIndexDuringIngest: true,
    outOfProcess: true,
    async start(annThreshold) {
      const { startPgvectorBackend } = await import("./lib/pgvector-backend.js");
      const backend = await startPgvectorBackend({
        annThreshold,
        efSearch: pgEfSearch,
        maxConnections: Math.max(concurrency, 1) + 2,
      });
      return {
        store: backend.store,
        diskBytes: (collection) => backend.diskBytes(collection),
        serverMemoryBytes: () => backend.serverMemoryBytes(),
        settle: async () => {},
        async describe() {
          const versions = await backend.versions();
          return `PostgreSQL ${versions.postgres}, pgvector ${versions.pgvector}`;
        },
        close: () => backend.close(),
      };
    },
  },
};

interface Pass {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly qps: number;
  readonly cpuQps: number;
  readonly recallAt10: number;
}

interface Result {
  readonly backend: string;
  readonly label: string;
  /** Engine versions and settings (`describe`). */
  readonly detail: string;
  readonly vectors: number;
  readonly annThreshold: number;
  /** The bench's own work before the store opens: data generation and the exact top-k (wall and CPU seconds). */
  readonly dataSeconds: { readonly wall: number; readonly cpu: number };
  readonly truthSeconds: { readonly wall: number; readonly cpu: number };
  readonly ingestSeconds: number;
  readonly ingestVectorsPerSecond: number;
  /** Slowest upsert batch minus the median one: the index build inside an upsert (pgvector). */
  readonly ingestIndexSeconds: number;
  /** First query after the load (embedded, LanceDB: builds the ANN index). */
  readonly firstQuerySeconds: number;
  /** CPU seconds of this process for the first query (the in-process index build). */
  readonly firstQueryCpuSeconds: number;
  readonly ann: Pass;
  /** Queries per second with `concurrency` in flight (absent when concurrency is 1). */
  readonly pooledQps?: number;
  readonly storeExact: Pass;
  readonly bruteForce: { p50Ms: number; qps: number };
  readonly diskBytesPerVector: number;
  readonly rssMiB: number;
  /**
   * RSS just before the store opened: the bench's own copies (base vectors,
   * queries, ground truth) and the runtime. Peak minus this is the store's share.
   */
  readonly rssBeforeStoreMiB: number;
  /** Peak RSS after the load, index build and main query pass (before the reopen / ef sweep). */
  readonly peakRssMainMiB: number;
  /** Peak RSS of the process (its own child process: data, load, index build, queries, reopens). */
  readonly peakRssMiB: number;
  readonly serverMemoryMiB: number;
  readonly otherLoadCores: number;
  readonly extras: Record<string, unknown>;
}

/**
 * Base vectors (one row-major `n × dims` Float32Array: a million rows cost their
 * 1.5 GB and no per-vector objects) and held-out queries of the kind chosen by `--data`.
 */
async function benchData(n: number): Promise<{ base: Float32Array; queries: Float32Array[] }> {
  if (dataKind === "clustered")
    return { base: makeVectorMatrix(n, dims, 1), queries: makeVectors(queryCount, dims, 2) };
  if (dataKind !== "real" && dataKind !== "spectrum") {
    throw new Error(`--data must be clustered, real or spectrum; received ${dataKind}`);
  }
  const limit =
    dataKind === "spectrum" && args["spectrum-sample"] !== undefined
      ? Number(args["spectrum-sample"])
      : Number.POSITIVE_INFINITY;
  const real = await loadRealVectors(benchDataPath(args["data-dir"], "", "--data-dir"), log, limit);
  if ((real[0] as Float32Array).length !== dims)
    throw new Error(`--data ${dataKind} is ${REAL_MODEL}: --dims 384`);
  if (dataKind === "real") {
    if (n + queryCount > real.length) {
      throw new Error(`--data real has ${real.length} vectors: N + queries must not exceed it (N=${n})`);
    }
    const base = new Float32Array(n * dims);
    for (const [i, vector] of real.slice(0, n).entries()) base.set(vector, i * dims);
    return { base, queries: real.slice(real.length - queryCount) };
  }
  const model = fitSpectrum(real);
  log(
    `spectrum fitted on ${real.length} real vectors: effective dimension ${model.effectiveDims.toFixed(1)}, ${model.components} components hold 95 % of the variance`,
  );
  return { base: await model.sampleMatrix(n, 1), queries: await model.sample(queryCount, 2) };
}

/** CPU seconds of this process since `since` (a process.cpuUsage() reading). */
const cpuSecondsSince = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

/** One backend at one size, in this process. */
async function benchOne(n: number, name: string): Promise<Result> {
  const backend = BACKENDS[name];
  if (!backend) throw new Error(`unknown backend ${name}; known: ${Object.keys(BACKENDS).join(", ")}`);
  log(`N=${n} ${name}: generating ${n} + ${queryCount} ${dataKind} vectors`);
  let t0 = performance.now();
  let cpu0 = process.cpuUsage();
  const { base, queries } = await benchData(n);
  const dataSeconds = { wall: (performance.now() - t0) / 1000, cpu: cpuSecondsSince(cpu0) };
  log(`N=${n} ${name}: data in ${dataSeconds.wall.toFixed(1)} s (${dataSeconds.cpu.toFixed(1)} CPU-s)`);
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  // Ground truth: one blocked product of all queries against the base matrix.
  const truth = (await exactTopKMatrix(base, dims, queries, k)).map((top) => top.map((i) => `v${i}`));
  const truthSeconds = { wall: (performance.now() - t0) / 1000, cpu: cpuSecondsSince(cpu0) };
  log(
    `N=${n} ${name}: exact top-${k} of ${queries.length} queries in ${truthSeconds.wall.toFixed(1)} s (${truthSeconds.cpu.toFixed(1)} CPU-s)`,
  );
  const bruteTimes: number[] = [];
  for (const query of queries.slice(0, exactQueryCount)) {
    const t = performance.now();
    scanTopK(base, dims, query, k);
    bruteTimes.push(performance.now() - t);
  }
  const bruteForce = { p50Ms: percentile(bruteTimes, 0.5), qps: 1000 / mean(bruteTimes) };
  const otherLoadCores = await busyCores(2000);
  log(`N=${n} ${name}: other load ${otherLoadCores.toFixed(2)} cores`);
  const annThreshold = annThresholdFor(n);
  const rssBeforeStoreMiB = mib(process.memoryUsage().rss);
  log(`N=${n} ${name}: RSS before the store opens (bench data) ${rssBeforeStoreMiB.toFixed(0)} MiB`);
  const run = await backend.start(annThreshold);
  try {
    const collection = await run.store.createCollection("bench", { model: "bench-model", dims });
    const batchSeconds: number[] = [];
    const started = performance.now();
    for (let start = 0; start < n; start += batchSize) {
      const t = performance.now();
      await collection.upsert(
        Array.from({ length: Math.min(batchSize, n - start) }, (_, j) => ({
          id: `v${start + j}`,
          vector: base.subarray((start + j) * dims, (start + j + 1) * dims),
          metadata: { bucket: (start + j) % 10 },
        })),
      );
      batchSeconds.push((performance.now() - t) / 1000);
      if ((start / batchSize) % 20 === 19) log(`N=${n} ${name}: ingested ${start + batchSize}`);
    }
    const ingestSeconds = (performance.now() - started) / 1000;
    const ingestIndexSeconds = Math.max(...batchSeconds) - percentile(batchSeconds, 0.5);
    const t = performance.now();
    const cpu = process.cpuUsage();
    await collection.query({ vector: queries[0] as Float32Array, k });
    // The embedded store builds its graph in a worker and answers exactly meanwhile: wait for the
    // graph, so the build is timed here and the ANN pass below measures the graph.
    await run.store.waitForIndexBuilds?.();
    const firstQuerySeconds = (performance.now() - t) / 1000;
    const firstCpu = process.cpuUsage(cpu);
    const firstQueryCpuSeconds = (firstCpu.user + firstCpu.system) / 1e6;
    log(
      `N=${n} ${name}: ingest ${ingestSeconds.toFixed(1)} s, first query ${firstQuerySeconds.toFixed(1)} s`,
    );
    // Warm-up: first touches page the index in.
    for (const query of queries.slice(0, 20)) await collection.query({ vector: query, k });
    const ann = await queryPass(run.store, "bench", queries, truth);
    log(`N=${n} ${name}: ANN ${JSON.stringify(ann)}`);
    const pooled = concurrency > 1 ? await pooledQps(run.store, "bench", queries) : undefined;
    const storeExact = await queryPass(
      run.store,
      "bench",
      queries.slice(0, exactQueryCount),
      truth.slice(0, exactQueryCount),
      true,
    );
    const rssMiB = mib(process.memoryUsage().rss);
    const peakRssMainMiB = process.resourceUsage().maxRSS / 1024;
    const serverMemoryMiB = mib(await run.serverMemoryBytes());
    const detail = run.describe ? await run.describe() : "";
    await run.settle();
    const diskBytesPerVector = (await run.diskBytes("bench")) / n;
    const extras = run.extras ? await run.extras("bench", queries, truth) : {};
    const result: Result = {
      backend: name,
      label: backend.label,
      detail,
      vectors: n,
      annThreshold,
      dataSeconds,
      truthSeconds,
      ingestSeconds,
      ingestVectorsPerSecond: n / ingestSeconds,
      ingestIndexSeconds,
      firstQuerySeconds,
      firstQueryCpuSeconds,
      ann,
      ...(pooled === undefined ? {} : { pooledQps: pooled }),
      storeExact,
      bruteForce,
      diskBytesPerVector,
      rssMiB,
      rssBeforeStoreMiB,
      peakRssMainMiB,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      serverMemoryMiB,
      otherLoadCores,
      extras,
    };
    log(`N=${n} ${name}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await run.close();
  }
}

/** Run `benchOne(n, name)` in a child process of its own (same loader, same options) and read its Result. */
async function benchInChild(n: number, name: string): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), "embedkit-bench-store-child-"));
  const resultPath = join(dir, "result.json");
  try {
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv,
        process.argv[1] as string,
        ...process.argv.slice(2),
        "--sizes",
        String(n),
        "--backends",
        name,
        "--child",
        resultPath,
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", resolve);
    });
    if (code !== 0) throw new Error(`benchmark of ${name} at N=${n} exited with code ${code}`);
    return JSON.parse(await readFile(resultPath, "utf8")) as Result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const DATA_LABEL: Record<string, string> = {
  clustered: "unit vectors from 256 Gaussian clusters (isotropic inside a cluster: the hard case for HNSW)",
  real: `real ${REAL_MODEL} vectors of the shared English sentences (queries: held-out sentences)`,
  spectrum: `unit vectors drawn from a Gaussian with the mean and covariance of real ${REAL_MODEL} vectors`,
};

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
  const pooled = results.some((r) => r.pooledQps !== undefined);
  const rows = results.map(
    (r) =>
      `| ${r.label} | ${r.vectors.toLocaleString("en")} | ${f(r.ingestVectorsPerSecond, 0)}${r.ingestIndexSeconds >= 1 && BACKENDS[r.backend]?.buildsIndexDuringIngest ? ` (index ${f(r.ingestIndexSeconds)} s)` : ""} | ` +
      `${f(r.firstQuerySeconds)} (${f(r.firstQueryCpuSeconds)} CPU) | ` +
      `${f(r.ann.p50Ms, 2)} / ${f(r.ann.p99Ms, 2)} | ${f(r.ann.qps, 0)} / ${BACKENDS[r.backend]?.outOfProcess ? "– (server-side)" : f(r.ann.cpuQps, 0)}${pooled ? ` / ${r.pooledQps === undefined ? "–" : f(r.pooledQps, 0)}` : ""} | ${f(r.ann.recallAt10, 3)} | ` +
      `${f(r.storeExact.p50Ms, 1)} (${f(r.ann.qps / r.storeExact.qps)}×) | ${f(r.bruteForce.p50Ms, 1)} (${f(r.ann.qps / r.bruteForce.qps)}×) | ` +
      `${f(r.diskBytesPerVector, 0)} | ${f(r.rssMiB, 0)} / ${f(r.peakRssMiB, 0)}${r.serverMemoryMiB > 0 ? ` + ${f(r.serverMemoryMiB, 0)} server` : ""} | ${f(r.rssBeforeStoreMiB, 0)} | ${f(r.peakRssMainMiB - r.rssBeforeStoreMiB, 0)} / ${f(r.peakRssMiB - r.rssBeforeStoreMiB, 0)} | ${f(r.otherLoadCores, 2)} |`,
  );
  return [
    `| backend | vectors | ingest vec/s (upserts of ${batchSize.toLocaleString("en")}) | first query s (index build/load) | ANN p50 / p99 ms | ANN QPS wall / per CPU-second (1 stream)${pooled ? ` / ${concurrency} in flight` : ""} | recall@10 | store exact p50 ms (ANN speed-up) | brute force in Node p50 ms (ANN speed-up) | disk bytes/vector | RSS MiB end / peak | bench's own data MiB (RSS before the store opened) | store's peak MiB above that (main pass / with reopens) | other load (cores) |`,
    "|---|---:|---:|---:|---|---:|---:|---|---|---:|---|---:|---|---:|",
    ...rows,
  ].join("\n");
}

/** Each backend against the first one of the same size, as ratios (> 1 = the backend has more of it). */
function ratioTable(results: readonly Result[]): string {
  const rows: string[] = [];
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  for (const baseline of results.filter((r) => r.backend === names[0])) {
    for (const r of results.filter((o) => o.vectors === baseline.vectors && o.backend !== baseline.backend)) {
      rows.push(
        `| ${r.backend} / ${baseline.backend} | ${r.vectors.toLocaleString("en")} | ${x(r.ingestVectorsPerSecond, baseline.ingestVectorsPerSecond)} | ` +
          `${x(r.firstQuerySeconds + r.ingestIndexSeconds, baseline.firstQuerySeconds + baseline.ingestIndexSeconds)} | ${x(r.firstQueryCpuSeconds, baseline.firstQueryCpuSeconds)} | ${x(r.ann.p50Ms, baseline.ann.p50Ms)} | ` +
          `${BACKENDS[r.backend]?.outOfProcess ? "– (server-side)" : x(r.ann.cpuQps, baseline.ann.cpuQps)} | ${r.ann.recallAt10.toFixed(3)} vs ${baseline.ann.recallAt10.toFixed(3)} | ` +
          `${x(r.diskBytesPerVector, baseline.diskBytesPerVector)} | ${x(r.rssMiB, baseline.rssMiB)} / ${x(r.peakRssMiB, baseline.peakRssMiB)} |`,
      );
    }
  }
  if (rows.length === 0) return "";
  return [
    "| ratio | vectors | ingest vec/s | index build (s) | first query CPU-s (in-process build) | ANN p50 ms | ANN QPS per CPU-second | recall@10 | disk bytes/vector | RSS end / peak |",
    "|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ...rows,
  ].join("\n");
}

function sweepTable(results: readonly Result[]): string {
  const rows: string[] = [];
  for (const r of results) {
    const sweep = r.extras.efSweep as (Pass & { efSearch: number })[] | undefined;
    if (sweep === undefined) continue;
    const all = [{ efSearch, ...r.ann }, ...sweep].sort((a, b) => a.efSearch - b.efSearch);
    for (const s of all) {
      rows.push(
        `| ${r.backend} | ${r.vectors.toLocaleString("en")} | ${s.efSearch} | ${s.recallAt10.toFixed(3)} | ${s.p50Ms.toFixed(2)} | ${s.qps.toFixed(0)} / ${s.cpuQps.toFixed(0)} |`,
      );
    }
    if (r.extras.reopenSeconds !== undefined) {
      rows.push(
        `| ${r.backend} | ${r.vectors.toLocaleString("en")} | reopen + first query | | ${((r.extras.reopenSeconds as number) * 1000).toFixed(0)} | |`,
      );
    }
    if (r.extras.optimizedDiskBytes !== undefined) {
      rows.push(
        `| ${r.backend} | ${r.vectors.toLocaleString("en")} | after optimize() (${(r.extras.optimizeSeconds as number).toFixed(1)} s): ${((r.extras.optimizedDiskBytes as number) / r.vectors).toFixed(0)} disk bytes/vector | | | |`,
      );
    }
  }
  return [
    "| backend | vectors | efSearch / ef | recall@10 | p50 ms | QPS wall / per CPU-second |",
    "|---|---:|---|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

/** Store QPS vs collection size: one row per backend, one column per size (same run). */
function scalingTable(results: readonly Result[]): string {
  const sizesRun = [...new Set(results.map((r) => r.vectors))].sort((a, b) => a - b);
  if (sizesRun.length < 2) return "";
  const rows = [...new Set(results.map((r) => r.backend))].map((backend) => {
    const cells = sizesRun.map((n) => {
      const r = results.find((o) => o.backend === backend && o.vectors === n);
      if (!r) return "–";
      const qps = BACKENDS[backend]?.outOfProcess ? r.ann.qps : r.ann.cpuQps;
      return `${qps.toFixed(0)} (${r.ann.recallAt10.toFixed(3)})`;
    });
    return `| ${backend} | ${cells.join(" | ")} |`;
  });
  return [
    `| backend | ${sizesRun.map((n) => n.toLocaleString("en")).join(" | ")} |`,
    `|---|${sizesRun.map(() => "---:").join("|")}|`,
    ...rows,
  ].join("\n");
}

/** The same as an HTML page with SVG line charts (QPS and recall@10 against log10 of the size). */
function scalingPage(results: readonly Result[]): string {
  const series = (pick: (r: Result) => number) =>
    [...new Set(results.map((r) => r.backend))].map((backend) => ({
      label: backend,
      points: results
        .filter((r) => r.backend === backend)
        .sort((a, b) => a.vectors - b.vectors)
        .map((r) => [Math.log10(r.vectors), pick(r)] as const),
    }));
  const qps = lineChart({
    title: "Queries/s on one stream (embedded: per CPU-second; pgvector: wall) vs collection size",
    xLabel: "log10(vectors)",
    series: series((r) => (BACKENDS[r.backend]?.outOfProcess ? r.ann.qps : r.ann.cpuQps)),
  });
  const recall = lineChart({
    title: "recall@10 vs collection size",
    xLabel: "log10(vectors)",
    series: series((r) => r.ann.recallAt10),
  });
  const memory = lineChart({
    title: "Peak RSS above the bench's own data (MiB) vs collection size",
    xLabel: "log10(vectors)",
    series: series((r) => r.peakRssMiB - r.rssBeforeStoreMiB),
  });
  return reportPage(
    "Vector store cost growth",
    `<h1>Vector store cost growth</h1><p>${escapeHtml(`npx tsx bench/store.ts ${process.argv.slice(2).join(" ")}`)} · ${new Date().toISOString()}</p>${qps}${recall}${memory}`,
  );
}

const buildWorkers = (args["build-workers"] ?? "")
  .split(",")
  .filter((x) => x !== "")
  .map(Number);
for (const workers of buildWorkers) {
  if (workers !== 1 && workers !== 2)
    throw new Error(`--build-workers takes 1 and/or 2; received ${workers}`);
}
// --build-workers 1,2: the embedded backend once per setting (a child's --backends embedded-wN stays as is).
const names = (args.backends ?? "embedded")
  .split(",")
  .flatMap((name) =>
    name === "embedded" && buildWorkers.length > 0 ? buildWorkers.map((w) => `embedded-w${w}`) : [name],
  );
if (args.child !== undefined) {
  // A child of benchInChild: one backend, one size.
  const result = await benchOne(sizes[0] as number, names[0] as string);
  await writeFile(args.child, JSON.stringify(result));
  process.exit(0);
}
for (const name of names) {
  if (!BACKENDS[name]) throw new Error(`unknown backend ${name}; known: ${Object.keys(BACKENDS).join(", ")}`);
}
const results: Result[] = [];
for (const n of sizes) for (const name of names) results.push(await benchInChild(n, name));
let durability: Record<string, number> | undefined;
if (names.some((name) => name.startsWith("embedded"))) {
  log("durability experiment");
  durability = await durabilityExperiment();
  log(JSON.stringify(durability));
}
const out = args.out ?? "bench/out/store.json";
await mkdir(dirname(out), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), dims, k, efSearch, pgEfSearch, results, durability }, null, 2)}\n`,
);
const command = `npx tsx bench/store.ts ${process.argv.slice(2).join(" ")}`.trim();
const details = [...new Set(results.map((r) => r.detail).filter((d) => d !== ""))];
const ratios = ratioTable(results);
const scaling = scalingTable(results);
const plot = `${out.replace(/\.json$/, "")}-scaling.html`;
if (scaling !== "") await writeFile(plot, scalingPage(results));
const body = [
  `Command: \`${command}\` (${new Date().toISOString().slice(0, 10)}; ${dims}-d ${DATA_LABEL[dataKind] ?? dataKind}, k=${k}${details.length > 0 ? `; ${details.join("; ")}` : ""}; each backend × size in a child process of its own; the machine is a shared 2-core VM — "other load" is what other processes used while we were idle, so latencies are pessimistic).`,
  "",
  table(results),
  ...(ratios === "" ? [] : ["", `Ratios against ${names[0]} in the same run:`, "", ratios]),
  ...(scaling === ""
    ? []
    : [
        "",
        `Queries/s vs size (embedded: per CPU-second; pgvector: wall; recall@10 in brackets; plots: ${plot}):`,
        "",
        scaling,
      ]),
  "",
  "ef sweep (same queries) and reopen time (HNSW snapshot load + first query):",
  "",
  sweepTable(results),
  ...(durability === undefined
    ? []
    : [
        "",
        `Durability, 5,000 vectors in upserts of 10: \`full\` (fsync per commit) ${durability.fullCommitsPerSecond?.toFixed(0)} commits/s vs \`normal\` (fsync at checkpoints) ${durability.normalCommitsPerSecond?.toFixed(0)} commits/s.`,
      ]),
].join("\n");
process.stdout.write(`${body}\n`);
if (args["write-results"]) {
  // The section's "### " subsections (the LanceDB comparison, other runs) are kept after the new body.
  const existing = await readFile(FULL_RESULTS, "utf8").catch(() => "");
  const start = existing.indexOf("\n## Vector store\n");
  const end = start === -1 ? -1 : existing.indexOf("\n## ", start + 1);
  const section = start === -1 ? "" : existing.slice(start, end === -1 ? undefined : end);
  const subsections = section.includes("\n### ") ? section.slice(section.indexOf("\n### ") + 1) : "";
  await spliceSection(FULL_RESULTS, "## Vector store", `${body}\n\n${subsections}`);
}
