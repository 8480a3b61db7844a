/**
 * Distributed indexing benchmark, one run on this machine: the same N texts
 * (DBLP paper titles from the OCTIS corpus by default — 54k distinct, the
 * public shared set large enough for 50k documents — or STS-B sentences)
 * indexed into PostgreSQL + pgvector three ways —
 *   1. `embedkit index` in one process (the baseline),
 *   2. `jobs submit` + one `embedkit worker` with 2 inference threads,
 *   3. `jobs submit` + two `embedkit worker` processes with 1 thread each —
 * reported as documents/s and as ratios to the baseline. Each configuration
 * writes a fresh collection; the wall time includes model loading in every
 * case (the baseline's process start, the workers' first chunk), and for the
 * jobs runs the submit (validation pass + enqueue). Redis and PostgreSQL are
 * started by the project's scripts and stopped at the end. The machine's load
 * from other work is sampled before each configuration and printed with it.
 * For the jobs runs the workers' own time split is printed too: the share of
 * chunk time in pgvector writes (upserts) and reads (the unchanged-document
 * check), as the workers record it per chunk (RunStatus.workerTime).
 *
 *   npx tsx bench/jobs.ts                                     # 50,000 titles from $EMBEDKIT_DATA/octis-dblp/corpus.tsv
 *   npx tsx bench/jobs.ts --texts stsb --docs 2000 --chunk-size 200   # $EMBEDKIT_DATA/stsb/stsb-en-dev.csv
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
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
    docs: { type: "string", default: "50000" },
    "chunk-size": { type: "string", default: "1000" },
    texts: { type: "string", default: "dblp" },
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

/** Distinct non-empty texts of the chosen set, in file order. */
async function loadTexts(set: string): Promise<{ path: string; texts: string[] }> {
  if (set === "stsb") {
    const path = benchDataPath(values.data, "stsb/stsb-en-dev.csv");
    const rows = parseCsv(await readFile(path, "utf8"), { relax_quotes: true }) as string[][];
    return { path, texts: [...new Set(rows.flatMap((row) => [row[0] ?? "", row[1] ?? ""]))] };
  }
  if (set === "dblp") {
    // corpus.tsv: preprocessed title <TAB> partition <TAB> label, no header.
    const path = benchDataPath(values.data, "octis-dblp/corpus.tsv");
    const lines = (await readFile(path, "utf8")).split("\n");
    return { path, texts: [...new Set(lines.map((line) => line.split("\t")[0] ?? ""))] };
  }
  throw new Error(`--texts must be dblp or stsb, received ${set}`);
}
const { path: source, texts } = await loadTexts(values.texts);
const sentences = texts.filter((text) => text.trim() !== "");
if (sentences.length < docs)
  throw new Error(`${source} has ${sentences.length} distinct texts, fewer than --docs ${docs}`);
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
interface Result {
  readonly name: string;
  readonly seconds: number;
  /** Cores busy with other work just before, and the 1-minute load average then. */
  readonly busy: number;
  readonly load: number;
  /** The workers' time split (jobs rows only). */
  readonly workerTime?: { seconds: number; storeWriteSeconds: number; storeReadSeconds: number };
}
const results: Result[] = [];
try {
  // Warm the model cache (download/verify) outside the timings.
  await exited(cli(["embed", "warm up", "-q"]));

  let busy = await busyCores();
  let load = loadavg()[0] ?? 0;
  let started = performance.now();
  await exited(cli(["index", "baseline", "--file", file, "--id-field", "id", "--store", postgres.url, "-q"]));
  results.push({
    name: "embedkit index (1 process, all cores)",
    seconds: (performance.now() - started) / 1000,
    busy,
    load,
  });
  console.error(`done: ${JSON.stringify(results.at(-1))}`);

  for (const [name, workers, threads] of [
    ["jobs: 1 worker × 2 threads", 1, 2],
    ["jobs: 2 workers × 1 thread", 2, 1],
  ] as const) {
    const collection = `w${workers}t${threads}`;
    busy = await busyCores();
    load = loadavg()[0] ?? 0;
    const children = Array.from({ length: workers }, () =>
      cli(["worker", "--queue", redis.url, "--threads", String(threads), "-q"]),
    );
    await Promise.all(children.map(ready));
    started = performance.now();
    const run = await submitRun(queue, collection, file, { store: postgres.url, idField: "id", chunkSize });
    let status = await runStatus(queue, run.runId);
    while (status.state !== "done") {
      if (status.state === "failed") throw new Error(`run failed: ${JSON.stringify(status.failures)}`);
      await new Promise((done) => setTimeout(done, 250));
      status = await runStatus(queue, run.runId);
    }
    results.push({
      name,
      seconds: (performance.now() - started) / 1000,
      busy,
      load,
      workerTime: status.workerTime,
    });
    console.error(`done: ${JSON.stringify(results.at(-1))}`);
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
const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)} %`;
console.log(
  `\n${docs} ${values.texts} texts → pgvector, chunk size ${chunkSize}; ${cpus()[0]?.model ?? "?"} × ${cpus().length}`,
);
console.log(
  "| configuration | seconds | docs/s | vs index | pgvector writes (share of worker time) | pgvector reads | other work (busy cores) | load avg |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const result of results) {
  const time = result.workerTime;
  const writes = time
    ? `${percent(time.storeWriteSeconds, time.seconds)} (${time.storeWriteSeconds.toFixed(1)} s)`
    : "–";
  const reads = time ? percent(time.storeReadSeconds, time.seconds) : "–";
  console.log(
    `| ${result.name} | ${result.seconds.toFixed(1)} | ${(docs / result.seconds).toFixed(1)} | ${(baseline / result.seconds).toFixed(2)}× | ${writes} | ${reads} | ${result.busy.toFixed(2)} | ${result.load.toFixed(2)} |`,
  );
}
