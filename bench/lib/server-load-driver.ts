/**
 * @module bench/lib/server-load-driver
 * The load generator of bench/server-load.ts, in its own process so the client
 * never shares an event loop with the server: autocannon (programmatic API)
 * sends single-sentence `POST /v1/embeddings` requests, rotating through the
 * given sentences, for a duration or a fixed amount, and prints one JSON line
 * with throughput and latency percentiles.
 *
 * Run: `node --import tsx bench/lib/server-load-driver.ts '<json DriverConfig>'`
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

/** What the parent asks for. */
export interface DriverConfig {
  readonly url: string;
  readonly model: string;
  readonly sentencesPath: string;
  readonly connections: number;
  /** Seconds (ignored when `amount` is set). */
  readonly duration?: number;
  readonly amount?: number;
  /** Where in the sentence list to start (so consecutive runs do not repeat the same texts). */
  readonly offset?: number;
}

/** What the driver prints (one JSON line). */
export interface DriverResult {
  readonly connections: number;
  readonly seconds: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly requestsPerSecond: number;
  readonly latencyP50: number;
  readonly latencyP99: number;
  readonly latencyMean: number;
  /** CPU seconds the driver process itself used (user + system), to see whether the client is the bottleneck. */
  readonly clientCpuSeconds: number;
}

// autocannon ships no type declarations; this is the part of its API we use.
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  timeout?: number;
  requests: {
    method: string;
    path: string;
    headers: Record<string, string>;
    setupRequest: (request: AutocannonRequest) => AutocannonRequest;
  }[];
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  "2xx": number;
  latency: { p50: number; p99: number; average: number };
}
type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult>;

const require = createRequire(import.meta.url);
const autocannon = require("autocannon") as Autocannon;

function cpuSecondsSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

async function drive(config: DriverConfig): Promise<DriverResult> {
  const sentences = JSON.parse(await readFile(config.sentencesPath, "utf8")) as string[];
  let next = config.offset ?? 0;
  const cpuBefore = process.cpuUsage();
  const result = await autocannon({
    url: config.url,
    connections: config.connections,
    ...(config.amount === undefined ? { duration: config.duration ?? 15 } : { amount: config.amount }),
    timeout: 60,
    requests: [
      {
        method: "POST",
        path: "/v1/embeddings",
        headers: { "content-type": "application/json" },
        setupRequest(request) {
          const input = sentences[next % sentences.length] as string;
          next++;
          return { ...request, body: JSON.stringify({ model: config.model, input }) };
        },
      },
    ],
  });
  const ok = result["2xx"];
  return {
    connections: config.connections,
    seconds: result.duration,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    requestsPerSecond: ok / result.duration,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    latencyMean: result.latency.average,
    clientCpuSeconds: cpuSecondsSince(cpuBefore),
  };
}

const config = JSON.parse(process.argv[2] ?? "{}") as DriverConfig;
process.stdout.write(`${JSON.stringify(await drive(config))}\n`);
