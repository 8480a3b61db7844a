/**
 * @module bench/server-load
 * Load test of the OpenAI-compatible server, dynamic batching vs batching
 * disabled, in the same run. Two `embedkit serve` child processes (one with
 * `--no-batching`) listen on 127.0.0.1 at random ports, both preloaded and
 * warmed up; a third process (bench/lib/server-load-driver.ts, autocannon)
 * sends single-sentence requests (STS-B English dev sentences, rotated) at each
 * concurrency level for a fixed duration, alternating servers level by level
 * so machine drift hits both alike. Then a soak run of ≥ 50k requests against
 * the batching server samples its RSS (/proc/<pid>/status VmRSS) after a
 * warm-up and at the end. Results go to bench/out/server-load.json and the
 * "## Server load (OpenAI-compatible /v1/embeddings)" section of bench/out/RESULTS.md.
 *
 * Run: `npx tsx bench/server-load.ts [--model all-minilm-l6-v2] [--connections 1,16,64] [--duration 15]
 *   [--soak 50000] [--soak-warmup 5000] [--data <sts csv>, default $EMBEDKIT_DATA/stsb/stsb-en-dev.csv]
 *   [--results bench/out/RESULTS.md] [--no-write] [--wait-idle 0]`
 * `--wait-idle SECONDS` waits (at most that long) before each concurrency level until other processes
 * use < 0.5 core. Before every cell the script also waits until both servers are idle: a run that
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
import { busyCores, waitForQuiet } from "./lib/machine-load.js";
import { FULL_RESULTS, spliceSection } from "./lib/results-section.js";
import type { DriverConfig, DriverResult } from "./lib/server-load-driver.js";

const SECTION_TITLE = "## Server load (OpenAI-compatible /v1/embeddings)";
const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "bench", "out");

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "all-minilm-l6-v2" },
    connections: { type: "string", default: "1,16,64" },
    duration: { type: "string", default: "15" },
    soak: { type: "string", default: "50000" },
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

function log(message: string): void {
  process.stderr.write(`[server-load ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

interface ServerProcess {
  readonly label: "batching" | "no batching";
  readonly child: ChildProcess;
  readonly url: string;
}

/** Start `embedkit serve` from source in a child process and wait for its URL. */
async function startServer(label: ServerProcess["label"], extra: readonly string[]): Promise<ServerProcess> {
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
  return { label, child, url };
}

/** Run the autocannon driver in its own process. */
async function runDriver(config: DriverConfig): Promise<DriverResult> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/lib/server-load-driver.ts", JSON.stringify(config)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolveCode) => child.on("exit", resolveCode));
  if (code !== 0) throw new Error(`driver exited with ${code}`);
  return JSON.parse(output.trim().split("\n").pop() as string) as DriverResult;
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
  readonly batching: CellResult;
  readonly noBatching: CellResult;
  readonly loadBefore: number;
  readonly busyBefore: number;
  readonly busyAfter: number;
}

const fmt = (value: number, digits = 1): string => value.toFixed(digits);

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const dataPath = benchDataPath(args.data, "stsb/stsb-en-dev.csv");
  const sentences = await loadSentences(dataPath);
  const sentencesPath = join(OUT, "server-load-sentences.json");
  await writeFile(sentencesPath, JSON.stringify(sentences));
  log(`${sentences.length} unique sentences from ${dataPath}`);
  const started = new Date();
  const loadAtStart = loadavg();
  const servers = [await startServer("batching", []), await startServer("no batching", ["--no-batching"])];
  const [batching, plain] = servers as [ServerProcess, ServerProcess];
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
  try {
    for (const server of servers) {
      log(`warm-up ${server.label} (3 s at 16 connections)`);
      await drive(server, 16, { duration: 3 });
    }
    const levels: LevelResult[] = [];
    const pids = servers.map((server) => server.child.pid as number);
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
          `${fmt(serverCpuSeconds)} server CPU-s, ${fmt(requestsPerCpuSecond)} req per CPU-s`,
      );
      return { ...result, serverCpuSeconds, requestsPerCpuSecond };
    };
    for (const [index, connections] of LEVELS.entries()) {
      await waitForServersIdle(pids);
      if (WAIT_IDLE > 0) {
        await waitForQuiet({ threshold: 0.5, timeoutSeconds: WAIT_IDLE, cores: cpus().length, log });
      }
      const busyBefore = await busyCores(1000, cpus().length);
      const loadBefore = loadavg()[0] as number;
      log(`${connections} connections, ${DURATION} s each (other load: ${fmt(busyBefore, 2)} cores busy)`);
      // Alternate which server goes first, so slow drift in other load hits both alike.
      let withBatching: CellResult;
      let without: CellResult;
      if (index % 2 === 0) {
        withBatching = await cell(batching, connections);
        without = await cell(plain, connections);
      } else {
        without = await cell(plain, connections);
        withBatching = await cell(batching, connections);
      }
      await waitForServersIdle(pids);
      const busyAfter = await busyCores(1000, cpus().length);
      levels.push({
        connections,
        batching: withBatching,
        noBatching: without,
        loadBefore,
        busyBefore,
        busyAfter,
      });
    }
    // The plain server is done; stop it so the soak has the machine to itself.
    plain.child.kill("SIGTERM");
    await waitForServersIdle([batching.child.pid as number]);
    const pid = batching.child.pid as number;
    log(`soak: warm-up ${SOAK_WARMUP} requests at 64 connections`);
    await drive(batching, 64, { amount: SOAK_WARMUP });
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
    const soak = await drive(batching, 64, { amount: SOAK });
    sampling = false;
    await sampler;
    await sleep(1000);
    const rssEnd = await rssMiB(pid);
    samples.push(rssEnd);
    const growth = (rssEnd - rssAfterWarmup) / rssAfterWarmup;
    log(
      `soak: ${soak.ok} ok, ${soak.non2xx} non-2xx, ${fmt(soak.requestsPerSecond)} req/s; RSS ${fmt(rssAfterWarmup)} → ${fmt(rssEnd)} MiB (${fmt(growth * 100)}%), max ${fmt(Math.max(...samples))} MiB`,
    );
    const loadAtEnd = loadavg();
    const report = {
      date: started.toISOString(),
      model: MODEL,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      node: process.version,
      durationSeconds: DURATION,
      loadAverageStart: loadAtStart,
      loadAverageEnd: loadAtEnd,
      levels,
      soak: {
        requests: SOAK,
        warmup: SOAK_WARMUP,
        result: soak,
        rssAfterWarmup,
        rssEnd,
        rssMax: Math.max(...samples),
        growth,
        samples,
      },
    };
    await writeFile(join(OUT, "server-load.json"), `${JSON.stringify(report, null, 2)}\n`);
    const table = [
      "| clients | batching req/s | p50 / p99 ms | req per server CPU-s | no batching req/s | p50 / p99 ms | req per server CPU-s | throughput ratio | CPU-efficiency ratio | other load (cores busy before / after; 1-min load avg before) |",
      "|---|---|---|---|---|---|---|---|---|---|",
      ...levels.map((level) => {
        const ratio = level.batching.requestsPerSecond / level.noBatching.requestsPerSecond;
        const errors = (result: DriverResult): string =>
          result.non2xx + result.errors > 0 ? ` (${result.non2xx} non-2xx, ${result.errors} errors)` : "";
        return (
          `| ${level.connections} | ${fmt(level.batching.requestsPerSecond)}${errors(level.batching)} | ` +
          `${level.batching.latencyP50} / ${level.batching.latencyP99} | ${fmt(level.batching.requestsPerCpuSecond)} | ` +
          `${fmt(level.noBatching.requestsPerSecond)}${errors(level.noBatching)} | ` +
          `${level.noBatching.latencyP50} / ${level.noBatching.latencyP99} | ${fmt(level.noBatching.requestsPerCpuSecond)} | ` +
          `**${fmt(ratio, 2)}×** | **${fmt(level.batching.requestsPerCpuSecond / level.noBatching.requestsPerCpuSecond, 2)}×** | ` +
          `${fmt(level.busyBefore, 2)} / ${fmt(level.busyAfter, 2)}; ${fmt(level.loadBefore, 2)} |`
        );
      }),
    ].join("\n");
    const body = `\`npx tsx bench/server-load.ts\` — ${started.toISOString().slice(0, 16).replace("T", " ")} UTC, model
${MODEL} (fp32) served as \`text-embedding-3-small\`, ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, node ${process.version}.
Two \`embedkit serve\` processes on 127.0.0.1 (default settings: batching max wait 2 ms, 8192-token budget; the other
with \`--no-batching\`, i.e. one \`embed\` call per request, started at once as a naive server would), each preloaded and
warmed up (3 s); a separate autocannon process sends single-sentence requests (${sentences.length} unique STS-B English dev
sentences, rotated) for ${DURATION} s per cell, servers alternating level by level. Load average (1/5/15 min) at
start ${loadAtStart.map((value) => fmt(value, 2)).join(" / ")}, at end ${loadAtEnd.map((value) => fmt(value, 2)).join(" / ")}
(other processes share the cores: on a saturated machine a server's throughput is mostly its share of the CPU, and a
server with more runnable threads — many concurrent \`embed\` calls — wins a bigger share; so each cell also reports
requests per CPU-second the server process used, from /proc/<pid>/stat, counted until it was idle again). "Other load" is sampled for 1 s while both servers are idle, before and after each
level; before every cell both servers are first left to finish leftover requests of the previous cell). Source: \`bench/out/server-load.json\`.

${table}

Soak (batching on, 64 connections): ${SOAK_WARMUP.toLocaleString("en")} warm-up requests, then ${soak.ok.toLocaleString("en")} OK
(${soak.non2xx} non-2xx, ${soak.errors} errors) at ${fmt(soak.requestsPerSecond)} req/s, p50 ${soak.latencyP50} ms, p99 ${soak.latencyP99} ms.
Server RSS after warm-up ${fmt(rssAfterWarmup)} MiB → end ${fmt(rssEnd)} MiB (**${growth >= 0 ? "+" : ""}${fmt(growth * 100)}%**, max sampled
${fmt(Math.max(...samples))} MiB over ${samples.length} samples; limit +10%).
`;
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
