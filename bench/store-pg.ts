/**
 * Vector store benchmark for the PostgreSQL + pgvector backend, side by side
 * with an exact-search baseline in the same run.
 *
 * For each size N: N embedding-like 384-d unit vectors (a seeded mixture of
 * Gaussian clusters) are upserted in batches of 1,000 into a fresh collection
 * on a throw-away PostgreSQL 16 + pgvector 0.8 server on 127.0.0.1 (started by
 * scripts/pg-start.sh). Then held-out queries run one at a time (latency p50 /
 * p99, single-stream QPS) and with 4 in flight (pooled QPS), and their top-10
 * is compared with the exact top-10 from a brute-force scan in this process
 * (recall@10). The same queries also run as pgvector exact scans (`exact:
 * true`), and the brute-force scan itself is timed: those are the baselines.
 *
 *   npx tsx bench/store-pg.ts --sizes 10000,100000 --queries 300 --out bench/out/store-pg.json
 *   npx tsx bench/store-pg.ts --sizes 100000 --ann-threshold size --out bench/out/store-pg-bulk.json
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { busyCores } from "./lib/machine-load.js";
import { startPgvectorBackend } from "./lib/pgvector-backend.js";
import { exactTopK, makeVectors, percentile, recallOf } from "./lib/vector-bench-data.js";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    dims: { type: "string", default: "384" },
    queries: { type: "string", default: "300" },
    "exact-queries": { type: "string", default: "30" },
    k: { type: "string", default: "10" },
    batch: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "4" },
    "ef-search": { type: "string", default: "100" },
    // "size": build the HNSW index once, after the whole load (bulk-load mode).
    "ann-threshold": { type: "string", default: "10000" },
    out: { type: "string", default: "bench/out/store-pg.json" },
  },
});
const sizes = (args.sizes ?? "").split(",").map(Number);
const dims = Number(args.dims);
const queryCount = Number(args.queries);
const exactQueryCount = Number(args["exact-queries"]);
const k = Number(args.k);
const batchSize = Number(args.batch);
const concurrency = Number(args.concurrency);
const efSearch = Number(args["ef-search"]);
const annThresholdFor = (n: number) => (args["ann-threshold"] === "size" ? n : Number(args["ann-threshold"]));

const log = (message: string) =>
  process.stderr.write(`[store-pg ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

interface SizeResult {
  readonly vectors: number;
  readonly annThreshold: number;
  readonly ingestSeconds: number;
  readonly ingestVectorsPerSecond: number;
  readonly indexBuildSeconds: number;
  readonly ann: { p50Ms: number; p99Ms: number; qps: number; pooledQps: number; recallAt10: number };
  readonly pgExact: { p50Ms: number; p99Ms: number; qps: number; recallAt10: number };
  readonly bruteForce: { p50Ms: number; qps: number };
  readonly diskBytesPerVector: number;
  readonly serverMemoryMiB: number;
  readonly clientRssMiB: number;
  readonly otherLoadCores: number;
}

async function benchSize(n: number): Promise<SizeResult> {
  log(`N=${n}: generating ${n} + ${queryCount} vectors`);
  const base = makeVectors(n, dims, 1);
  const queries = makeVectors(queryCount, dims, 2);
  const otherLoadCores = await busyCores(2000);
  log(`N=${n}: other load ${otherLoadCores.toFixed(2)} cores; starting PostgreSQL`);
  const annThreshold = annThresholdFor(n);
  const backend = await startPgvectorBackend({ efSearch, annThreshold, maxConnections: concurrency + 2 });
  try {
    const collection = await backend.store.createCollection("bench", { model: "bench-model", dims });
    const batchSeconds: number[] = [];
    const started = performance.now();
    for (let start = 0; start < n; start += batchSize) {
      const t = performance.now();
      await collection.upsert(
        base.slice(start, start + batchSize).map((vector, j) => ({
          id: `v${start + j}`,
          vector,
          metadata: { bucket: (start + j) % 10 },
        })),
      );
      batchSeconds.push((performance.now() - t) / 1000);
      if ((start / batchSize) % 10 === 9) log(`N=${n}: ingested ${start + batchSize}`);
    }
    const ingestSeconds = (performance.now() - started) / 1000;
    // The batch that reached the ANN threshold also built the HNSW index in bulk.
    const slowest = Math.max(...batchSeconds);
    const indexBuildSeconds = slowest - percentile(batchSeconds, 0.5);
    log(`N=${n}: ingest ${ingestSeconds.toFixed(1)} s (index build ≈ ${indexBuildSeconds.toFixed(1)} s)`);

    const truth = queries.map((query) => exactTopK(base, query, k).map((i) => `v${i}`));
    const bruteTimes: number[] = [];
    for (const query of queries.slice(0, exactQueryCount)) {
      const t = performance.now();
      exactTopK(base, query, k);
      bruteTimes.push(performance.now() - t);
    }

    const recall = (hits: readonly { id: string }[], index: number) =>
      recallOf(
        hits.map((hit) => hit.id),
        truth[index] as string[],
      );
    // Warm-up: first touches read the index from disk into shared buffers.
    for (const query of queries.slice(0, 20)) await collection.query({ vector: query, k });
    const annTimes: number[] = [];
    let annRecall = 0;
    for (const [i, query] of queries.entries()) {
      const t = performance.now();
      const hits = await collection.query({ vector: query, k });
      annTimes.push(performance.now() - t);
      annRecall += recall(hits, i);
    }
    const pooledStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < queries.length) {
          const query = queries[next++] as Float32Array;
          await collection.query({ vector: query, k });
        }
      }),
    );
    const pooledQps = queries.length / ((performance.now() - pooledStart) / 1000);
    const exactTimes: number[] = [];
    let exactRecall = 0;
    for (const [i, query] of queries.slice(0, exactQueryCount).entries()) {
      const t = performance.now();
      const hits = await collection.query({ vector: query, k, exact: true });
      exactTimes.push(performance.now() - t);
      exactRecall += recall(hits, i);
    }
    const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const result: SizeResult = {
      vectors: n,
      annThreshold,
      ingestSeconds,
      ingestVectorsPerSecond: n / ingestSeconds,
      indexBuildSeconds,
      ann: {
        p50Ms: percentile(annTimes, 0.5),
        p99Ms: percentile(annTimes, 0.99),
        qps: 1000 / mean(annTimes),
        pooledQps,
        recallAt10: annRecall / queries.length,
      },
      pgExact: {
        p50Ms: percentile(exactTimes, 0.5),
        p99Ms: percentile(exactTimes, 0.99),
        qps: 1000 / mean(exactTimes),
        recallAt10: exactRecall / exactTimes.length,
      },
      bruteForce: { p50Ms: percentile(bruteTimes, 0.5), qps: 1000 / mean(bruteTimes) },
      diskBytesPerVector: (await backend.diskBytes("bench")) / n,
      serverMemoryMiB: (await backend.serverMemoryBytes()) / 2 ** 20,
      clientRssMiB: process.memoryUsage().rss / 2 ** 20,
      otherLoadCores,
    };
    log(`N=${n}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await backend.close();
  }
}

function table(results: readonly SizeResult[]): string {
  const f = (x: number, digits = 1) => x.toFixed(digits);
  const rows = results.map(
    (r) =>
      `| pgvector HNSW (index at ${r.annThreshold.toLocaleString("en")}) | ${r.vectors.toLocaleString("en")} | ${f(r.ingestVectorsPerSecond, 0)} (index ${f(r.indexBuildSeconds)} s) | ` +
      `${f(r.ann.p50Ms, 2)} / ${f(r.ann.p99Ms, 2)} | ${f(r.ann.qps, 0)} / ${f(r.ann.pooledQps, 0)} | ${f(r.ann.recallAt10, 3)} | ` +
      `${f(r.pgExact.p50Ms, 1)} (${f(r.ann.qps / r.pgExact.qps)}×) | ${f(r.bruteForce.p50Ms, 1)} (${f(r.ann.qps / r.bruteForce.qps)}×) | ` +
      `${f(r.diskBytesPerVector, 0)} | ${f(r.serverMemoryMiB, 0)} + ${f(r.clientRssMiB, 0)} | ${f(r.otherLoadCores, 2)} |`,
  );
  return [
    "| backend | vectors | ingest vec/s | query p50 / p99 ms | QPS 1 stream / 4 in flight | recall@10 | pgvector exact scan p50 ms (ANN speed-up) | brute force in Node p50 ms (ANN speed-up) | disk bytes/vector | memory MiB (server PSS + client RSS) | other load (cores) |",
    "|---|---:|---:|---|---|---:|---|---|---:|---|---:|",
    ...rows,
  ].join("\n");
}

const results: SizeResult[] = [];
for (const n of sizes) results.push(await benchSize(n));
const backend = await startPgvectorBackend();
const versions = await backend.versions();
await backend.close();
await mkdir(dirname(args.out ?? "."), { recursive: true });
await writeFile(
  args.out ?? "bench/out/store-pg.json",
  `${JSON.stringify({ date: new Date().toISOString(), dims, k, efSearch, versions, results }, null, 2)}\n`,
);
process.stdout.write(`PostgreSQL ${versions.postgres}, pgvector ${versions.pgvector}\n\n${table(results)}\n`);
