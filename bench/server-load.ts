/**
 * @module bench/server-load
 * Load test of the OpenAI-compatible server: dynamic batching vs batching
 * disabled, next to the library's own batch gain, all in the same run.
 * `embedkit serve` child processes listen on 127.0.0.1 at random ports, both
 * preloaded and warmed up: one with batching and one with `--no-batching` per
 * variant (`worker` = the default, text inference in a worker thread;
 * `in-process` = `--no-inference-worker`, the server before that change). A
 * separate process (bench/lib/server-load-driver.ts, autocannon) sends
 * single-sentence requests (STS-B English dev sentences, rotated) at each
 * concurrency level for a fixed duration, servers in a rotating order so
 * machine drift hits all alike; once per round, next to the top level, a
 * third process (bench/lib/library-batch-driver.ts) measures the library's
 * batch-N vs N × batch-1 gain on the same sentences. Rounds repeat (≥ 3 to see
 * the spread). Then an optional soak run against the default batching server
 * samples its RSS (/proc/<pid>/status VmRSS) after a warm-up and at the end.
 * Results go to bench/out/server-load.json and the
 * "## Server load (OpenAI-compatible /v1/embeddings)" section of bench/out/RESULTS.md.
 *
 * Run: `npx tsx bench/server-load.ts [--model all-minilm-l6-v2] [--connections 1,64] [--duration 10]
 *   [--rounds 3] [--variants worker,in-process] [--library-batch 64]
 *   [--soak 0] [--soak-warmup 5000] [--data <sts csv>, default $EMBEDKIT_DATA/stsb/stsb-en-dev.csv]
 *   [--results bench/out/RESULTS.md] [--no-write] [--wait-idle 0]`
 * `--wait-idle SECONDS` waits (at most that long) before each concurrency level until other processes
 * use < 0.5 core. Before every cell the script also waits until the servers are idle: a run that
 * ends leaves requests in flight (the no-batching server cannot drop requests already inside
 * `embed`), and their CPU must not be billed to the next cell.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import { benchDataPath } from "./lib/data.js";
import type { LibraryBatchConfig, LibraryBatchResult } from "./lib/library-batch-driver.js";
import { busyCores, waitForQuiet } from "./lib/machine-load.js";
import { FULL_RESULTS, spliceSection } from "./lib/results-section.js";
import type { DriverConfig, DriverResult } from "./lib/server-load-driver.js";

const SECTION_TITLE = "## Server load (OpenAI-compatible /v1/embeddings)";
const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "bench", "out");

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "all-minilm-l6-v2" },
    connections: { type: "string", default: "1,64" },
    duration: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    variants: { type: "string", default: "worker,in-process" },
    "library-batch": { type: "string", default: "64" },
    soak: { type: "string", default: "0" },
    "soak-warmup": { type: "string", default: "5000" },
    data: { type: "string" },
    results: { type: "string", default: join(ROOT, FULL_RESULTS) },
    "no-write": { type: "boolean", default: false },
    "wait-idle": { type: "string", default: "0" },
  },
});

const MODEL = args.model as string;
const LEVELS = (args.connections as string).split(",").map(Number);
const DURATION = Number(args.duration);
const SOAK = Number(args.soak);
const SOAK_WARMUP = Number(args["soak-warmup"]);
const WAIT_IDLE = Number(args["wait-idle"]);
const ROUNDS = Math.max(1, Number(args.rounds));
const LIBRARY_BATCH = Number(args["library-batch"]);
/** Server variants: flags added to both servers of the pair. */
const VARIANT_FLAGS: Readonly<Record<string, readonly string[]>> = {
  worker: [],
  "worker-no-prefetch": ["--no-batch-prefetch"],
  "in-process": ["--no-inference-worker"],
};
const VARIANTS = (args.variants as string).split(",").map((name) => {
  const flags = VARIANT_FLAGS[name];
  if (flags === undefined)
    throw new Error(`unknown variant ${name}; use ${Object.keys(VARIANT_FLAGS).join(", ")}`);
  return name;
});

function log(message: string): void {
  process.stderr.write(`[server-load ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

interface ServerProcess {
  /** `<variant> batching` or `<variant> no batching`. */
  readonly label: string;
  readonly variant: string;
  readonly batching: boolean;
  readonly child: ChildProcess;
  readonly url: string;
}

/** Start `embedkit serve` from source in a child process and wait for its URL. */
async function startServer(variant: string, batching: boolean): Promise<ServerProcess> {
  const label = `${variant} ${batching ? "batching" : "no batching"}`;
  const extra = [...(VARIANT_FLAGS[variant] ?? []), ...(batching ? [] : ["--no-batching"])];
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "bench/lib/server-child.ts",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--models",
      MODEL,
      "--max-queue",
      "4096",
      ...extra,
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, EMBEDKIT_API_KEYS: "" } },
  );
  let output = "";
  let errors = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolveUrl(match[1] as string);
    });
    child.on("exit", (code) => reject(new Error(`server (${label}) exited with ${code}: ${errors}`)));
  });
  log(`${label} server pid ${child.pid} at ${url}`);
  return { label, variant, batching, child, url };
}

/** Run a driver script in its own process and parse the JSON line it prints. */
async function runDriver(config: DriverConfig): Promise<DriverResult>;
async function runDriver(config: LibraryBatchConfig, script: string): Promise<LibraryBatchResult>;
async function runDriver(
  config: DriverConfig | LibraryBatchConfig,
  script = "bench/lib/server-load-driver.ts",
): Promise<unknown> {
  const child = spawn(process.execPath, ["--import", "tsx", script, JSON.stringify(config)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolveCode) => child.on("exit", resolveCode));
  if (code !== 0) throw new Error(`driver exited with ${code}`);
  return JSON.parse(output.trim().split("\n").pop() as string);
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** CPU seconds used so far by a process (utime + stime from /proc/<pid>/stat). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name; 100 ticks/s.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Wait until the server processes stop using CPU (leftover requests of the last run are done). */
async function waitForServersIdle(pids: readonly number[]): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const before = await Promise.all(pids.map(cpuSeconds));
    await sleep(500);
    const after = await Promise.all(pids.map(cpuSeconds));
    const used = after.reduce((sum, value, index) => sum + value - (before[index] as number), 0);
    if (used <= 0.03) return;
  }
  log("servers still busy after 180 s; going on");
}

async function loadSentences(path: string): Promise<string[]> {
  const rows = parseCsv(await readFile(path, "utf8"), { relaxQuotes: true }) as string[][];
  const unique = new Set<string>();
  for (const row of rows) {
    for (const text of row.slice(0, 2)) if (text && text.trim().length > 0) unique.add(text.trim());
  }
  return [...unique];
}

/** A driver result plus the server CPU time it cost (until the server was idle again). */
type CellResult = DriverResult & { readonly serverCpuSeconds: number; readonly requestsPerCpuSecond: number };

interface LevelResult {
  readonly connections: number;
  /** By server label. */
  readonly cells: Readonly<Record<string, CellResult>>;
  readonly loadBefore: number;
  readonly busyBefore: number;
  readonly busyAfter: number;
}

interface RoundResult {
  readonly round: number;
  readonly library: LibraryBatchResult;
  readonly levels: readonly LevelResult[];
}

const fmt = (value: number, digits = 1): string => value.toFixed(digits);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** "median (min–max)" of per-round values. */
function spread(values: readonly number[], digits = 2, unit = "×"): string {
  const body = `${fmt(median(values), digits)}${unit}`;
  if (values.length < 2) return body;
  return `${body} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})`;
}

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const dataPath = benchDataPath(args.data, "stsb/stsb-en-dev.csv");
  const sentences = await loadSentences(dataPath);
  const sentencesPath = join(OUT, "server-load-sentences.json");
  await writeFile(sentencesPath, JSON.stringify(sentences));
  log(`${sentences.length} unique sentences from ${dataPath}`);
  const started = new Date();
  const loadAtStart = loadavg();
  const servers: ServerProcess[] = [];
  for (const variant of VARIANTS) {
    servers.push(await startServer(variant, true), await startServer(variant, false));
  }
  const byLabel = (variant: string, batching: boolean): string =>
    `${variant} ${batching ? "batching" : "no batching"}`;
  let offset = 0;
  const drive = async (server: ServerProcess, connections: number, extra: Partial<DriverConfig>) => {
    const result = await runDriver({
      url: server.url,
      model: "text-embedding-3-small",
      sentencesPath,
      connections,
      offset,
      ...extra,
    });
    offset += result.ok + result.non2xx;
    return result;
  };
  const pids = servers.map((server) => server.child.pid as number);
  try {
    for (const server of servers) {
      log(`warm-up ${server.label} (3 s at 16 connections)`);
      await drive(server, 16, { duration: 3 });
    }
    const cell = async (server: ServerProcess, connections: number): Promise<CellResult> => {
      await waitForServersIdle(pids);
      const pid = server.child.pid as number;
      const cpuBefore = await cpuSeconds(pid);
      const result = await drive(server, connections, { duration: DURATION });
      // Requests still in flight when the client stops are part of this cell's cost.
      await waitForServersIdle(pids);
      const serverCpuSeconds = (await cpuSeconds(pid)) - cpuBefore;
      const requestsPerCpuSecond = result.ok / serverCpuSeconds;
      log(
        `  ${server.label}: ${fmt(result.requestsPerSecond)} req/s p50 ${result.latencyP50} ms p99 ${result.latencyP99} ms; ` +
          `${fmt(serverCpuSeconds)} server CPU-s, ${fmt(requestsPerCpuSecond)} req per CPU-s; client ${fmt(result.clientCpuSeconds)} CPU-s`,
      );
      return { ...result, serverCpuSeconds, requestsPerCpuSecond };
    };
    const topLevel = Math.max(...LEVELS);
    const rounds: RoundResult[] = [];
    let turn = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const levels: LevelResult[] = [];
      let library: LibraryBatchResult | undefined;
      for (const connections of LEVELS) {
        await waitForServersIdle(pids);
        if (WAIT_IDLE > 0) {
          await waitForQuiet({ threshold: 0.5, timeoutSeconds: WAIT_IDLE, cores: cpus().length, log });
        }
        const busyBefore = await busyCores(1000, cpus().length);
        const loadBefore = loadavg()[0] as number;
        log(
          `round ${round}: ${connections} connections, ${DURATION} s each (other load: ${fmt(busyBefore, 2)} cores busy)`,
        );
        // Rotate the order, so slow drift in other load hits every server (and the library) alike.
        const order = servers.map((_, index) => servers[(index + turn) % servers.length] as ServerProcess);
        turn++;
        const cells: Record<string, CellResult> = {};
        const libraryAt = connections === topLevel ? turn % (order.length + 1) : -1;
        for (let index = 0; index <= order.length; index++) {
          if (index === libraryAt) {
            await waitForServersIdle(pids);
            library = await runDriver(
              { model: MODEL, sentencesPath, batchSize: LIBRARY_BATCH, duration: DURATION, offset },
              "bench/lib/library-batch-driver.ts",
            );
            offset += library.rounds * LIBRARY_BATCH * 2;
            log(
              `  library: batch ${LIBRARY_BATCH} ${fmt(library.batchedPerSecond)} texts/s, 1 × ${LIBRARY_BATCH} ` +
                `${fmt(library.singlePerSecond)} texts/s → ${fmt(library.gain, 2)}× (CPU-efficiency ${fmt(library.cpuGain, 2)}×)`,
            );
          }
          const server = order[index];
          if (server !== undefined) cells[server.label] = await cell(server, connections);
        }
        await waitForServersIdle(pids);
        const busyAfter = await busyCores(1000, cpus().length);
        levels.push({ connections, cells, loadBefore, busyBefore, busyAfter });
      }
      if (library === undefined) throw new Error("the library cell did not run");
      rounds.push({ round, library, levels });
    }
    // Summary per variant and level: medians over rounds, ratios taken within each round.
    const summaryRows: string[] = [];
    const fractions: Record<string, number[]> = {};
    for (const variant of VARIANTS) {
      for (const connections of LEVELS) {
        const cellsOf = (batching: boolean): CellResult[] =>
          rounds.map(
            (round) =>
              (round.levels.find((level) => level.connections === connections) as LevelResult).cells[
                byLabel(variant, batching)
              ] as CellResult,
          );
        const on = cellsOf(true);
        const off = cellsOf(false);
        const ratios = on.map(
          (cellOn, index) => cellOn.requestsPerSecond / (off[index] as CellResult).requestsPerSecond,
        );
        const cpuRatios = on.map(
          (cellOn, index) => cellOn.requestsPerCpuSecond / (off[index] as CellResult).requestsPerCpuSecond,
        );
        const ofLibrary = ratios.map((ratio, index) => ratio / (rounds[index] as RoundResult).library.gain);
        if (connections === topLevel) fractions[variant] = ofLibrary;
        const errors = [...on, ...off].reduce((sum, result) => sum + result.non2xx + result.errors, 0);
        summaryRows.push(
          `| ${variant} | ${connections} | ${fmt(median(on.map((r) => r.requestsPerSecond)))} | ` +
            `${median(on.map((r) => r.latencyP50))} / ${median(on.map((r) => r.latencyP99))} (max ${Math.max(...on.map((r) => r.latencyP99))}) | ` +
            `${fmt(median(off.map((r) => r.requestsPerSecond)))} | ` +
            `${median(off.map((r) => r.latencyP50))} / ${median(off.map((r) => r.latencyP99))} | ` +
            `**${spread(ratios)}** | ${spread(cpuRatios)} | ${
              connections === topLevel
                ? `**${spread(
                    ofLibrary.map((f) => f * 100),
                    0,
                    " %",
                  )}**`
                : "–"
            } | ` +
            `${fmt(median(on.map((r) => r.clientCpuSeconds / r.seconds)), 2)} | ${errors} |`,
        );
      }
    }
    const libraryGains = rounds.map((round) => round.library.gain);
    const libraryCpuGains = rounds.map((round) => round.library.cpuGain);
    const summary = [
      `| variant | clients | batching req/s | p50 / p99 ms | no batching req/s | p50 / p99 ms | batching gain (median, range over rounds) | CPU-efficiency gain | server gain / library gain (same round) | client cores used | non-2xx + errors |`,
      "|---|---|---|---|---|---|---|---|---|---|---|",
      ...summaryRows,
    ].join("\n");
    const perRound = [
      "| round | library batch / 1 × N texts/s | library gain (wall / CPU) | other load: cores busy before / after each level; 1-min load avg |",
      "|---|---|---|---|",
      ...rounds.map(
        (round) =>
          `| ${round.round} | ${fmt(round.library.batchedPerSecond)} / ${fmt(round.library.singlePerSecond)} | ` +
          `${fmt(round.library.gain, 2)}× / ${fmt(round.library.cpuGain, 2)}× | ` +
          round.levels
            .map(
              (level) =>
                `${level.connections}: ${fmt(level.busyBefore, 2)} / ${fmt(level.busyAfter, 2)}; ${fmt(level.loadBefore, 2)}`,
            )
            .join(" · ") +
          " |",
      ),
    ].join("\n");
    let soakText = "";
    let soakReport: unknown;
    if (SOAK > 0) {
      const main = servers.find(
        (server) => server.variant === VARIANTS[0] && server.batching,
      ) as ServerProcess;
      for (const server of servers) if (server !== main) server.child.kill("SIGTERM");
      const pid = main.child.pid as number;
      await waitForServersIdle([pid]);
      log(`soak: warm-up ${SOAK_WARMUP} requests at 64 connections`);
      await drive(main, 64, { amount: SOAK_WARMUP });
      await sleep(1000);
      const rssAfterWarmup = await rssMiB(pid);
      const samples: number[] = [rssAfterWarmup];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          await sleep(2000);
          if (sampling) samples.push(await rssMiB(pid));
        }
      })();
      log(`soak: ${SOAK} requests at 64 connections (RSS after warm-up ${fmt(rssAfterWarmup)} MiB)`);
      const soak = await drive(main, 64, { amount: SOAK });
      sampling = false;
      await sampler;
      await sleep(1000);
      const rssEnd = await rssMiB(pid);
      samples.push(rssEnd);
      const growth = (rssEnd - rssAfterWarmup) / rssAfterWarmup;
      soakReport = {
        requests: SOAK,
        warmup: SOAK_WARMUP,
        result: soak,
        rssAfterWarmup,
        rssEnd,
        growth,
        samples,
      };
      soakText = `
Soak (${main.label}, 64 connections): ${SOAK_WARMUP.toLocaleString("en")} warm-up requests, then ${soak.ok.toLocaleString("en")} OK
(${soak.non2xx} non-2xx, ${soak.errors} errors) at ${fmt(soak.requestsPerSecond)} req/s, p50 ${soak.latencyP50} ms, p99 ${soak.latencyP99} ms.
Server RSS after warm-up ${fmt(rssAfterWarmup)} MiB → end ${fmt(rssEnd)} MiB (**${growth >= 0 ? "+" : ""}${fmt(growth * 100)}%**, max sampled
${fmt(Math.max(...samples))} MiB over ${samples.length} samples; limit +10%).
`;
    }
    const loadAtEnd = loadavg();
    const report = {
      date: started.toISOString(),
      model: MODEL,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      node: process.version,
      durationSeconds: DURATION,
      libraryBatch: LIBRARY_BATCH,
      variants: VARIANTS,
      loadAverageStart: loadAtStart,
      loadAverageEnd: loadAtEnd,
      rounds,
      fractionOfLibraryGain: fractions,
      soak: soakReport,
    };
    await writeFile(join(OUT, "server-load.json"), `${JSON.stringify(report, null, 2)}\n`);
    const body = `\`npx tsx bench/server-load.ts ${process.argv.slice(2).join(" ")}\`— ${started.toISOString().slice(0, 16).replace("T", " ")} UTC, model
${MODEL} (fp32) served as \`text-embedding-3-small\`, ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, node ${process.version}.
Per variant two \`embedkit serve\` processes on 127.0.0.1 (default settings: batching max wait 2 ms, 8192-token budget; the
other with \`--no-batching\`, one \`embed\` call per request); variants: ${VARIANTS.join(", ")} (\`worker\` = the default,
text inference in a worker thread; \`in-process\` = \`--no-inference-worker\`). Each preloaded and warmed up (3 s); a separate
autocannon process sends single-sentence requests (${sentences.length} unique STS-B English dev sentences, rotated) for
${DURATION} s per cell, servers in rotating order; once per round, among the ${topLevel}-client cells, a separate process
measures the library's own gain: one \`embed\` of ${LIBRARY_BATCH} texts vs ${LIBRARY_BATCH} sequential single-text calls
(alternating, ${DURATION} s). ${ROUNDS} round(s); ratios are taken within a round, then the median (range) is shown.
Load average (1/5/15 min) at start ${loadAtStart.map((value) => fmt(value, 2)).join(" / ")}, at end ${loadAtEnd.map((value) => fmt(value, 2)).join(" / ")}.
CPU-efficiency = requests per CPU-second the server process used (from /proc/<pid>/stat, until idle again), the
steadier number when other processes share the cores. Library gain (median over rounds): **${spread(libraryGains)}**
wall, ${spread(libraryCpuGains)} CPU. Source: \`bench/out/server-load.json\`.

${summary}

${perRound}
${soakText}`;
    if (!args["no-write"]) {
      await spliceSection(args.results as string, SECTION_TITLE, body);
      log(`wrote ${SECTION_TITLE} to ${args.results}`);
    }
    process.stdout.write(`${body}\n`);
  } finally {
    for (const server of servers) if (server.child.exitCode === null) server.child.kill("SIGTERM");
  }
}

await main();
