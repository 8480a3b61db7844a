/**
 * @module bench/store-event-loop
 * Does `embedkit serve` stay responsive while the embedded store builds a
 * large HNSW graph? One run, two modes on identical data:
 * - `blocking` — the graph is built inside the query that needs it, on the
 *   server's thread (how the store worked before builds moved off-thread);
 * - `background` — the default: the build runs in a worker thread and queries
 *   are answered by exact search until the graph is ready.
 *
 * - `idle` — the same server and client load for `--idle-seconds` without a
 *   build: the machine's own noise, for reference.
 *
 * For each mode: a collection of N × 384 random unit vectors (ingested once,
 * the folder copied for the second mode) is opened in a temp folder and
 * handed to `createServer({ vectorStore })` with the real default model
 * (all-minilm-l6-v2, preloaded) listening on 127.0.0.1. A
 * `POST /v1/collections/{name}/query` starts the build; meanwhile an
 * open-loop client sends `GET /health` every 50 ms, a small
 * `POST /v1/embeddings` every 100 ms (and with `--queries-during-build`, in
 * background mode, one collection query at a time, a second apart), until the build is done or
 * `--max-seconds` pass. Latency counts from the moment a request was due
 * (not when a stalled loop got round to sending it). The server's event-loop
 * delay is measured with perf_hooks.monitorEventLoopDelay over the same
 * window. Writes bench/out/store-event-loop.json and the section
 * "## Event loop during an HNSW build" of bench/notes/store.md.
 *
 * Run: `nice -n 10 npx tsx bench/store-event-loop.ts [--count 100000] [--dims 384]
 *   [--modes idle,background,blocking] [--idle-seconds 20] [--max-seconds 240]
 *   [--queries-during-build] [--no-write]`
 * A blocking build cannot be interrupted: that mode runs until its build ends.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { createServer } from "../src/server/create-server.js";
import { openEmbeddedStore } from "../src/store/embedded-store.js";
import { createRandom } from "../src/vectors/random.js";
import { busyCores } from "./lib/machine-load.js";

const ROOT = resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "100000" },
    dims: { type: "string", default: "384" },
    modes: { type: "string", default: "idle,background,blocking" },
    "idle-seconds": { type: "string", default: "20" },
    "queries-during-build": { type: "boolean", default: false },
    "max-seconds": { type: "string", default: "240" },
    "no-write": { type: "boolean", default: false },
  },
});
const COUNT = Number(args.count);
const DIMS = Number(args.dims);
type Mode = "idle" | "blocking" | "background";
const MODES = (args.modes as string).split(",") as Mode[];
const IDLE_MS = Number(args["idle-seconds"]) * 1000;
const QUERIES_DURING_BUILD = args["queries-during-build"] as boolean;
const MAX_MS = Number(args["max-seconds"]) * 1000;
const MODEL = "all-minilm-l6-v2";
const COLLECTION = "bench";

function log(message: string): void {
  process.stderr.write(`[store-event-loop ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function unitVector(random: ReturnType<typeof createRandom>): Float32Array {
  const vector = Float32Array.from({ length: DIMS }, () => random.next() * 2 - 1);
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  for (let i = 0; i < DIMS; i++) vector[i] = (vector[i] as number) / norm;
  return vector;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

interface ModeResult {
  readonly mode: string;
  readonly buildSeconds: number;
  readonly finished: boolean;
  readonly firstQueryMs: number;
  readonly loopDelayMs: { p50: number; p99: number; max: number };
  readonly health: { count: number; failed: number; p50: number; p99: number; max: number };
  readonly embeddings: { count: number; failed: number; p50: number; p99: number; max: number };
  readonly queries: { count: number; failed: number; p50: number; p99: number; max: number };
}

async function ingest(dir: string): Promise<void> {
  const random = createRandom(20261207);
  const store = await openEmbeddedStore({ path: dir, durability: "normal" });
  const collection = await store.createCollection(COLLECTION, { model: MODEL, dims: DIMS });
  const batch = 2000;
  for (let start = 0; start < COUNT; start += batch) {
    const size = Math.min(batch, COUNT - start);
    await collection.upsert(
      Array.from({ length: size }, (_, i) => ({ id: `v${start + i}`, vector: unitVector(random) })),
    );
  }
  await store.close();
}

/** Closed-loop requests: the next one `pauseMs` after the previous answer (collection queries are seconds of work each). */
async function closedLoop(
  pauseMs: number,
  send: () => Promise<Response>,
  running: () => boolean,
): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = [];
  let failed = 0;
  while (running()) {
    await sleep(pauseMs);
    if (!running()) break;
    const start = performance.now();
    try {
      const response = await send();
      await response.arrayBuffer();
      if (response.ok) latencies.push(performance.now() - start);
      else failed++;
    } catch {
      failed++;
    }
  }
  return { latencies, failed };
}

/** Open-loop requests: one every `everyMs`, latency from when it was due; stops when `running()` turns false. */
async function openLoop(
  everyMs: number,
  send: () => Promise<Response>,
  running: () => boolean,
): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let failed = 0;
  const start = performance.now();
  for (let i = 0; running(); i++) {
    const due = start + i * everyMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (!running()) break;
    pending.push(
      send().then(
        async (response) => {
          await response.arrayBuffer();
          if (response.ok) latencies.push(performance.now() - due);
          else failed++;
        },
        () => {
          failed++;
        },
      ),
    );
  }
  await Promise.all(pending);
  return { latencies, failed };
}

function summary(run: { latencies: number[]; failed: number }) {
  return {
    count: run.latencies.length,
    failed: run.failed,
    p50: percentile(run.latencies, 50),
    p99: percentile(run.latencies, 99),
    max: Math.max(...run.latencies, 0),
  };
}

async function runMode(mode: Mode, dir: string): Promise<ModeResult> {
  const store = await openEmbeddedStore({
    path: dir,
    indexBuild: mode === "blocking" ? "blocking" : "background",
  });
  const server = createServer({ models: [MODEL], defaultModel: MODEL, vectorStore: store });
  try {
    await server.embedkit.preload();
    const base = await server.listen({ host: "127.0.0.1", port: 0 });
    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const embed = () => post("/v1/embeddings", { model: MODEL, input: "How do I reset my password?" });
    for (let i = 0; i < 5; i++) await (await embed()).arrayBuffer();
    const random = createRandom(7);
    const query = () =>
      post(`/v1/collections/${COLLECTION}/query`, { vector: Array.from(unitVector(random)), k: 10 });

    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    const started = performance.now();
    let building = true;
    const deadline = setTimeout(() => {
      building = false;
    }, MAX_MS);
    const running = () => building;
    // Idle: the same server and load for a fixed window, no build (the machine's own noise).
    const trigger =
      mode === "idle"
        ? Promise.resolve(Number.NaN)
        : query().then(async (response) => {
            const ms = performance.now() - started;
            if (!response.ok)
              throw new Error(`trigger query failed: ${response.status} ${await response.text()}`);
            await response.arrayBuffer();
            return ms;
          });
    const done =
      mode === "idle"
        ? sleep(IDLE_MS)
        : mode === "blocking"
          ? trigger.then(() => undefined)
          : trigger.then(() => store.waitForIndexBuilds());
    let finished = false;
    void done.then(
      () => {
        finished = true;
        building = false;
      },
      () => {
        building = false;
      },
    );
    const clients = Promise.all([
      openLoop(50, () => fetch(`${base}/health`), running),
      openLoop(100, embed, running),
      mode === "background" && QUERIES_DURING_BUILD
        ? closedLoop(1000, query, running)
        : Promise.resolve({ latencies: [], failed: 0 }),
    ]);
    const firstQueryMs = await trigger;
    const [health, embeddings, queries] = await clients;
    clearTimeout(deadline);
    const buildSeconds = (performance.now() - started) / 1000;
    histogram.disable();
    if (!finished && mode !== "idle")
      log(`${mode}: the build did not finish within ${MAX_MS / 1000} s; measured until then`);
    return {
      mode,
      buildSeconds,
      finished,
      firstQueryMs,
      loopDelayMs: {
        p50: histogram.percentile(50) / 1e6,
        p99: histogram.percentile(99) / 1e6,
        max: histogram.max / 1e6,
      },
      health: summary(health),
      embeddings: summary(embeddings),
      queries: summary(queries),
    };
  } finally {
    await server.close();
    await store.close();
  }
}

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
const ratio = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(1)}×` : "–";

function markdown(
  results: readonly ModeResult[],
  machine: { cpu: string; busyBefore: number; load: number[] },
): string {
  const idle = results.find((r) => r.mode === "idle");
  const blocking = results.find((r) => r.mode === "blocking");
  const background = results.find((r) => r.mode === "background");
  const rows: [string, (r: ModeResult) => number][] = [
    ["event-loop delay p50 (ms)", (r) => r.loopDelayMs.p50],
    ["event-loop delay p99 (ms)", (r) => r.loopDelayMs.p99],
    ["event-loop delay max (ms)", (r) => r.loopDelayMs.max],
    ["GET /health p50 (ms)", (r) => r.health.p50],
    ["GET /health p99 (ms)", (r) => r.health.p99],
    ["POST /v1/embeddings p50 (ms)", (r) => r.embeddings.p50],
    ["POST /v1/embeddings p99 (ms)", (r) => r.embeddings.p99],
    ["first collection query (ms)", (r) => r.firstQueryMs],
    ["build wall time (s; idle: the window)", (r) => r.buildSeconds],
  ];
  const lines = [
    "## Event loop during an HNSW build",
    "",
    `\`nice -n 10 npx tsx bench/store-event-loop.ts --count ${COUNT} --dims ${DIMS}\` — ${new Date().toISOString().slice(0, 10)}, ` +
      `${machine.cpu}, 2 cores shared with other work (busy cores before the run: ${machine.busyBefore.toFixed(1)}, ` +
      `load average ${machine.load.map((l) => l.toFixed(1)).join(" ")}).`,
    "",
    `${COUNT.toLocaleString("en-US")} × ${DIMS} random unit vectors, default HNSW parameters (M 16, efConstruction 100); ` +
      "`createServer` with the embedded store and all-minilm-l6-v2 on 127.0.0.1. One collection query starts the build; " +
      "meanwhile `GET /health` every 50 ms and a one-sentence `POST /v1/embeddings` every 100 ms (open loop, latency from " +
      "when each was due). Event-loop delay: `perf_hooks.monitorEventLoopDelay` (10 ms resolution) over the build.",
    "",
    "| | idle (no build) | blocking (build inside the query, the old behaviour) | background (worker thread, default) | blocking / background |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const [label, pick] of rows) {
    const a = blocking ? pick(blocking) : Number.NaN;
    const b = background ? pick(background) : Number.NaN;
    const i = idle ? pick(idle) : Number.NaN;
    lines.push(`| ${label} | ${fmt(i)} | ${fmt(a)} | ${fmt(b)} | ${ratio(a, b)} |`);
  }
  if (background) {
    lines.push(
      "",
      `Background mode: ${background.health.count} /health and ${background.embeddings.count} embeddings requests answered, ` +
        `${background.health.failed + background.embeddings.failed + background.queries.failed} failed` +
        (background.queries.count > 0
          ? `; ${background.queries.count} collection queries answered by exact search during the build ` +
            `(p50 ${fmt(background.queries.p50)} ms, p99 ${fmt(background.queries.p99)} ms)`
          : "") +
        (background.finished
          ? "."
          : ` (the build had not finished after ${MAX_MS / 1000} s: measured until then).`),
    );
  }
  if (blocking) {
    lines.push(
      `Blocking mode: ${blocking.health.count} /health and ${blocking.embeddings.count} embeddings requests answered, ` +
        `${blocking.health.failed + blocking.embeddings.failed} failed` +
        (blocking.finished ? "." : ` (the build had not finished after ${MAX_MS / 1000} s).`),
    );
  }
  return `${lines.join("\n")}\n`;
}

const cpu = cpus()[0]?.model ?? "unknown CPU";
const busyBefore = await busyCores(2000);
const load = loadavg();
const work = await mkdtemp(join(tmpdir(), "embedkit-store-event-loop-"));
try {
  const seed = join(work, "seed");
  log(`ingesting ${COUNT} × ${DIMS} vectors`);
  const ingestStart = performance.now();
  await ingest(seed);
  log(`ingested in ${((performance.now() - ingestStart) / 1000).toFixed(1)} s`);
  const results: ModeResult[] = [];
  for (const mode of MODES) {
    const dir = join(work, mode);
    await cp(seed, dir, { recursive: true });
    log(`${mode}: serving and building`);
    const result = await runMode(mode, dir);
    log(
      `${mode}: build ${result.buildSeconds.toFixed(1)} s, loop delay p99 ${result.loopDelayMs.p99.toFixed(1)} ms ` +
        `max ${result.loopDelayMs.max.toFixed(0)} ms, /health p99 ${fmt(result.health.p99)} ms, embeddings p99 ${fmt(result.embeddings.p99)} ms`,
    );
    results.push(result);
    await rm(dir, { recursive: true, force: true });
  }
  const report = markdown(results, { cpu, busyBefore, load });
  process.stdout.write(report);
  if (!args["no-write"]) {
    await mkdir(join(ROOT, "bench", "out"), { recursive: true });
    await writeFile(
      join(ROOT, "bench", "out", "store-event-loop.json"),
      `${JSON.stringify({ date: new Date().toISOString(), cpu, busyBefore, load, count: COUNT, dims: DIMS, results }, null, 2)}\n`,
    );
    const notes = join(ROOT, "bench", "notes", "store.md");
    const previous = await readFile(notes, "utf8").catch(() => "# Store benchmarks\n");
    const title = "## Event loop during an HNSW build";
    const at = previous.indexOf(title);
    const kept =
      at < 0
        ? previous
        : previous.slice(0, at) +
          previous.slice(previous.indexOf("\n## ", at + title.length) + 1 || previous.length);
    await writeFile(notes, `${kept.trimEnd()}\n\n${report}`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
