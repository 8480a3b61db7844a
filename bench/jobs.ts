/**
 * Distributed indexing benchmark, one run on this machine: the same N STS
 * sentences indexed into PostgreSQL + pgvector three ways —
 *   1. `embedkit index` in one process (the baseline),
 *   2. `jobs submit` + one `embedkit worker` with 2 inference threads,
 *   3. `jobs submit` + two `embedkit worker` processes with 1 thread each —
 * reported as documents/s and as ratios to the baseline. Each configuration
 * writes a fresh collection; the wall time includes model loading in every
 * case (the baseline's process start, the workers' first chunk), and for the
 * jobs runs the submit (validation pass + enqueue). Redis and PostgreSQL are
 * started by the project's scripts and stopped at the end. The machine's load
 * from other work is sampled before each configuration and printed with it.
 *
 *   npx tsx bench/jobs.ts                           # 2000 sentences from $EMBEDKIT_DATA/stsb/stsb-en-dev.csv
 *   npx tsx bench/jobs.ts --docs 3000 --chunk-size 250
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import { openJobQueue, runStatus, submitRun } from "../src/jobs/index.js";
import { openVectorStore } from "../src/store/open-vector-store.js";
import { startRedis } from "../test/jobs/redis-server.js";
import { startPostgres } from "../test/store/pg-server.js";
import { benchDataPath } from "./lib/data.js";
import { busyCores } from "./lib/machine-load.js";

const ROOT = resolve(import.meta.dirname, "..");
const CLI = join(ROOT, "test/jobs/cli-child.ts");

const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "2000" },
    "chunk-size": { type: "string", default: "200" },
    data: { type: "string" },
  },
});
const docs = Number(values.docs);
const chunkSize = Number(values["chunk-size"]);

function cli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
}

async function exited(child: ChildProcess): Promise<void> {
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  if (code !== 0) throw new Error(`child exited with ${code}:\n${log}`);
}

async function ready(child: ChildProcess): Promise<void> {
  let log = "";
  await new Promise<void>((done, fail) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("worker ready")) done();
    });
    child.once("exit", (code) => fail(new Error(`worker exited (${code}):\n${log}`)));
  });
}

const csv = benchDataPath(values.data, "stsb/stsb-en-dev.csv");
const rows = parseCsv(await readFile(csv, "utf8"), { relax_quotes: true }) as string[][];
const sentences = [
  ...new Set(rows.flatMap((row) => [row[0] ?? "", row[1] ?? ""]).filter((t) => t.trim() !== "")),
];
if (sentences.length < docs)
  throw new Error(`${csv} has ${sentences.length} distinct sentences, fewer than --docs ${docs}`);
const dir = await mkdtemp(join(tmpdir(), "embedkit-bench-jobs-"));
const file = join(dir, "docs.jsonl");
await writeFile(
  file,
  `${sentences
    .slice(0, docs)
    .map((text, i) => JSON.stringify({ id: `d${i}`, text }))
    .join("\n")}\n`,
);

const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
const queue = await openJobQueue(redis.url);
const results: Array<{ name: string; seconds: number; busy: number }> = [];
try {
  // Warm the model cache (download/verify) outside the timings.
  await exited(cli(["embed", "warm up", "-q"]));

  let busy = await busyCores();
  let started = performance.now();
  await exited(cli(["index", "baseline", "--file", file, "--id-field", "id", "--store", postgres.url, "-q"]));
  results.push({
    name: "embedkit index (1 process, all cores)",
    seconds: (performance.now() - started) / 1000,
    busy,
  });

  for (const [name, workers, threads] of [
    ["jobs: 1 worker × 2 threads", 1, 2],
    ["jobs: 2 workers × 1 thread", 2, 1],
  ] as const) {
    const collection = `w${workers}t${threads}`;
    busy = await busyCores();
    const children = Array.from({ length: workers }, () =>
      cli(["worker", "--queue", redis.url, "--threads", String(threads), "-q"]),
    );
    await Promise.all(children.map(ready));
    started = performance.now();
    const run = await submitRun(queue, collection, file, { store: postgres.url, idField: "id", chunkSize });
    for (;;) {
      const status = await runStatus(queue, run.runId);
      if (status.state === "done") break;
      if (status.state === "failed") throw new Error(`run failed: ${JSON.stringify(status.failures)}`);
      await new Promise((done) => setTimeout(done, 100));
    }
    results.push({ name, seconds: (performance.now() - started) / 1000, busy });
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((child) => new Promise((done) => child.once("exit", done))));
    const store = await openVectorStore(postgres.url);
    const count = await (await store.getCollection(collection)).count();
    await store.close();
    if (count !== docs) throw new Error(`${collection} holds ${count} documents, expected ${docs}`);
  }
} finally {
  await queue.close();
  await Promise.all([redis.stop(), postgres.stop()]);
  await rm(dir, { recursive: true, force: true });
}

const baseline = results[0]?.seconds ?? Number.NaN;
console.log(
  `\n${docs} STS sentences → pgvector, chunk size ${chunkSize}; ${cpus()[0]?.model ?? "?"} × ${cpus().length}`,
);
console.log("| configuration | seconds | docs/s | vs index | other work (busy cores) |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const result of results) {
  console.log(
    `| ${result.name} | ${result.seconds.toFixed(1)} | ${(docs / result.seconds).toFixed(1)} | ${(baseline / result.seconds).toFixed(2)}× | ${result.busy.toFixed(2)} |`,
  );
}
