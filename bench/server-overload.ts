/**
 * @module bench/server-overload
 * Overload behaviour of `embedkit serve` (real all-MiniLM-L6-v2, real HTTP on
 * 127.0.0.1), all in one run:
 *
 * 1. Batching gain: closed-loop clients sending one STS-B sentence per request
 *    — 1 client and 64 clients against the batching server, 64 clients against
 *    a `--no-batching` server — requests/s and the ratios.
 * 2. Overload at 64 and 512 clients (batching server): p50/p99 latency of the
 *    accepted requests, the share answered 429, and Retry-After accuracy — a
 *    client that gets 429 waits the advertised seconds and retries the same
 *    request; "accurate" = the retry is accepted.
 *    The same at 512 clients with `--max-queue-ms 1000`, so 429s fire.
 * 3. Big-body flood: 4 clients sending 8 MB bodies (one 8 MB string; 2,000
 *    long strings) while 16 clients send small requests: p99 of the small
 *    requests next to the same 16 clients without the flood.
 * 4. Memory: server RSS (VmRSS) sampled every 200 ms — at start, peak per
 *    phase, and after 15 s idle following the overload.
 *
 * The driver runs in this process (it shares the 2 cores with the server, as
 * any local client would). Results: bench/out/server-overload.json and a
 * Markdown table on stdout (paste into bench/RESULTS.md).
 *
 * Run: `npx tsx bench/server-overload.ts [--duration 20] [--data $EMBEDKIT_DATA/stsb/stsb-en-dev.csv]`
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import { benchDataPath } from "./lib/data.js";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "bench", "out");
const MODEL = "all-minilm-l6-v2";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "20" },
    data: { type: "string" },
  },
});
const DURATION_MS = Number(args.duration) * 1000;

function log(message: string): void {
  process.stderr.write(`[server-overload ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** The STS-B English dev sentences: `--data` (a CSV file) or `$EMBEDKIT_DATA/stsb/stsb-en-dev.csv`. */
function dataFile(): string {
  return benchDataPath(args.data, "stsb/stsb-en-dev.csv");
}

interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
}

async function startServer(extra: readonly string[]): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/lib/server-child.ts", "serve", "--port", "0", "--models", MODEL, ...extra],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, EMBEDKIT_API_KEYS: "" } },
  );
  let output = "";
  let errors = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolvePort(Number(match[1]));
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${errors}`)));
  });
  return { child, port };
}

async function stopServer(server: ServerProcess): Promise<void> {
  server.child.kill("SIGTERM");
  await new Promise((done) => server.child.once("exit", done));
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Sample a process's RSS until stopped; returns the peak. */
function sampleRss(pid: number): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await rssMiB(pid).catch(() => 0));
      await sleep(200);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

interface Reply {
  readonly status: number;
  readonly retryAfter?: number;
  readonly milliseconds: number;
}

function post(agent: Agent, port: number, body: string): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolveReply) => {
    const req = request(
      {
        agent,
        host: "127.0.0.1",
        port,
        path: "/v1/embeddings",
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          const retry = res.headers["retry-after"];
          resolveReply({
            status: res.statusCode ?? 0,
            ...(retry === undefined ? {} : { retryAfter: Number(retry) }),
            milliseconds: performance.now() - started,
          });
        });
      },
    );
    req.on("error", () => resolveReply({ status: 0, milliseconds: performance.now() - started }));
    req.end(body);
  });
}

interface PhaseResult {
  readonly clients: number;
  readonly seconds: number;
  readonly ok: number;
  readonly rejected429: number;
  readonly otherErrors: number;
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly share429: number;
  readonly retriesAfter429: number;
  readonly retriesAccepted: number;
  readonly retryAfterMedian: number;
  readonly peakRssMiB: number;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Closed-loop clients sending one sentence per request; a 429 waits Retry-After and retries once. */
async function phase(
  server: ServerProcess,
  clients: number,
  sentences: readonly string[],
  options: { readonly durationMs: number; readonly retry: boolean; readonly flood?: number },
): Promise<PhaseResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients + (options.flood ?? 0) + 4 });
  const latencies: number[] = [];
  let ok = 0;
  let rejected = 0;
  let other = 0;
  let retries = 0;
  let retriesAccepted = 0;
  const advertised: number[] = [];
  let next = 0;
  const deadline = performance.now() + options.durationMs;
  const sampler = sampleRss(server.child.pid as number);
  const started = performance.now();
  const small = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const body = JSON.stringify({
        model: "text-embedding-3-small",
        input: sentences[next++ % sentences.length],
      });
      const reply = await post(agent, server.port, body);
      if (reply.status === 200) {
        ok++;
        latencies.push(reply.milliseconds);
      } else if (reply.status === 429) {
        rejected++;
        if (options.retry && reply.retryAfter !== undefined) {
          advertised.push(reply.retryAfter);
          await sleep(reply.retryAfter * 1000);
          retries++;
          const again = await post(agent, server.port, body);
          if (again.status === 200) retriesAccepted++;
        }
      } else {
        other++;
      }
    }
  };
  const hugeString = JSON.stringify({ model: MODEL, input: "word ".repeat(1_600_000) });
  const manyStrings = JSON.stringify({
    model: MODEL,
    input: Array.from({ length: 2000 }, () => "word ".repeat(800)),
  });
  let floodSent = 0;
  const flooder = async (index: number): Promise<void> => {
    while (performance.now() < deadline) {
      await post(agent, server.port, index % 2 === 0 ? hugeString : manyStrings);
      floodSent++;
    }
  };
  await Promise.all([
    ...Array.from({ length: clients }, small),
    ...Array.from({ length: options.flood ?? 0 }, (_, index) => flooder(index)),
  ]);
  const seconds = (performance.now() - started) / 1000;
  const peakRssMiB = await sampler.stop();
  agent.destroy();
  if (options.flood !== undefined) log(`  flood: ${floodSent} bodies of 8 MB sent`);
  const total = ok + rejected + other;
  return {
    clients,
    seconds,
    ok,
    rejected429: rejected,
    otherErrors: other,
    requestsPerSecond: ok / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    share429: total === 0 ? 0 : rejected / total,
    retriesAfter429: retries,
    retriesAccepted,
    retryAfterMedian: percentile(advertised, 50),
    peakRssMiB,
  };
}

async function loadSentences(path: string): Promise<string[]> {
  const rows = parseCsv(await readFile(path, "utf8"), { relaxQuotes: true }) as string[][];
  const unique = new Set<string>();
  for (const row of rows)
    for (const text of row.slice(0, 2)) if (text && text.trim() !== "") unique.add(text.trim());
  return [...unique];
}

const f = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : "–");

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const sentences = await loadSentences(dataFile());
  const machine = cpus()[0]?.model ?? "unknown CPU";
  log(`${sentences.length} sentences; ${machine}; ${cpus().length} cores`);
  const results: Record<string, unknown> = {
    started: new Date().toISOString(),
    machine,
    durationMs: DURATION_MS,
  };

  // 1. Batching gain, same run.
  const plain = await startServer(["--no-batching", "--max-queue", "4096"]);
  await phase(plain, 8, sentences, { durationMs: 3000, retry: false });
  const plain64 = await phase(plain, 64, sentences, { durationMs: DURATION_MS, retry: false });
  await stopServer(plain);
  const server = await startServer(["--max-queue", "4096"]);
  const pid = server.child.pid as number;
  const rssStart = await rssMiB(pid);
  await phase(server, 8, sentences, { durationMs: 3000, retry: false });
  const one = await phase(server, 1, sentences, { durationMs: DURATION_MS, retry: false });
  const batch64 = await phase(server, 64, sentences, { durationMs: DURATION_MS, retry: false });
  log(
    `batching: 1 client ${f(one.requestsPerSecond)} req/s, 64 clients ${f(batch64.requestsPerSecond)}, ` +
      `no batching at 64 ${f(plain64.requestsPerSecond)}`,
  );
  // 2. Overload with the default queue bounds: restart with defaults.
  await stopServer(server);
  const overloaded = await startServer([]);
  const opid = overloaded.child.pid as number;
  await phase(overloaded, 8, sentences, { durationMs: 3000, retry: false });
  const rssWarm = await rssMiB(opid);
  const over64 = await phase(overloaded, 64, sentences, { durationMs: DURATION_MS, retry: true });
  const over512 = await phase(overloaded, 512, sentences, { durationMs: DURATION_MS, retry: true });
  // 3. Big-body flood next to small requests.
  const quiet16 = await phase(overloaded, 16, sentences, { durationMs: DURATION_MS, retry: false });
  const flood16 = await phase(overloaded, 16, sentences, { durationMs: DURATION_MS, retry: false, flood: 4 });
  await sleep(15_000);
  const rssIdle = await rssMiB(opid);
  await stopServer(overloaded);
  // 4. A tight queue bound, so 429s fire at 512 clients and Retry-After can be checked.
  const tight = await startServer(["--max-queue-ms", "1000"]);
  await phase(tight, 8, sentences, { durationMs: 3000, retry: false });
  const tight512 = await phase(tight, 512, sentences, { durationMs: DURATION_MS, retry: true });
  await stopServer(tight);

  Object.assign(results, {
    batching: { oneClient: one, batching64: batch64, noBatching64: plain64 },
    overload: { c64: over64, c512: over512, tight512 },
    flood: { quiet16, flood16 },
    rss: { startMiB: rssStart, warmMiB: rssWarm, afterIdleMiB: rssIdle },
  });
  await writeFile(join(OUT, "server-overload.json"), `${JSON.stringify(results, null, 2)}\n`);

  const lines = [
    `Command: \`npx tsx bench/server-overload.ts --duration ${DURATION_MS / 1000}\` — ${results.started}, ${machine}, ${cpus().length} cores.`,
    "",
    "| run | clients | req/s | p50 ms | p99 ms | 429 share | retries accepted after Retry-After | peak RSS MiB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...[
      ["batching", one],
      ["batching", batch64],
      ["no batching", plain64],
      ["overload (defaults)", over64],
      ["overload (defaults)", over512],
      ["overload (--max-queue-ms 1000)", tight512],
      ["small requests, quiet", quiet16],
      ["small requests + 4 × 8 MB flood", flood16],
    ].map(([label, r]) => {
      const p = r as PhaseResult;
      return `| ${label} | ${p.clients} | ${f(p.requestsPerSecond, 1)} | ${f(p.p50)} | ${f(p.p99)} | ${f(100 * p.share429, 1)} % | ${p.retriesAfter429 === 0 ? "–" : `${p.retriesAccepted}/${p.retriesAfter429} (median wait ${f(p.retryAfterMedian)} s)`} | ${f(p.peakRssMiB)} |`;
    }),
    "",
    `Batching gain at 64 clients: ${f(batch64.requestsPerSecond / one.requestsPerSecond, 2)}× one client, ` +
      `${f(batch64.requestsPerSecond / plain64.requestsPerSecond, 2)}× no batching. ` +
      `Flood: small-request p99 ${f(flood16.p99)} ms vs ${f(quiet16.p99)} ms quiet (${f(flood16.p99 / quiet16.p99, 2)}×). ` +
      `RSS: ${f(rssStart)} MiB at start, ${f(rssWarm)} warm, peak ${f(Math.max(over64.peakRssMiB, over512.peakRssMiB, flood16.peakRssMiB))} under overload, ${f(rssIdle)} after 15 s idle.`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
