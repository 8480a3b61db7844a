/**
 * @module bench/lib/bench-worker
 * The line protocol between bench/throughput.ts and its engine workers (Node
 * children, the Python script, the transformers.js peer). Each engine runs in
 * its own process so that its peak RSS is its own, yet all of them stay alive
 * for the whole run so the orchestrator can interleave repeats
 * (bs → repeat → engine): slow drift of the machine then hits every engine
 * alike. Only one worker computes at any moment; the others block on stdin.
 *
 * Wire format: the worker gets its {@link WorkerConfig} as JSON in argv, then
 * reads one JSON {@link WorkerCommand} per stdin line and answers each with one
 * line `@@` + JSON {@link WorkerReply}. A first reply is sent unprompted once
 * the model is loaded. Lines without the `@@` prefix are logs (forwarded to
 * stderr), so a runtime printing to stdout cannot corrupt the protocol.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Marks protocol lines on a worker's stdout. */
export const REPLY_PREFIX = "@@";

/** What every worker is told at start. */
export interface WorkerConfig {
  readonly engine: string;
  readonly model: string;
  readonly onnxPath: string;
  readonly tokenizerPath: string;
  /** JSON file holding the benchmark sentences (string[]), in order. */
  readonly sentencesPath: string;
  readonly maxTokens: number;
  readonly pooling: "mean" | "cls";
  readonly dims: number;
  readonly threads: number;
  /** Token budget per inference call of our embedder (and of the raw batches that mirror it). */
  readonly maxBatchTokens: number;
  /** Scratch folder a worker may write to (the transformers.js model layout). */
  readonly scratchDir: string;
}

/** A request from the orchestrator. */
export type WorkerCommand =
  /** Get ready for this batch size (create the embedder / pre-build the batches). Untimed. */
  | { readonly op: "prepare"; readonly batchSize: number }
  /** Embed the first `count` sentences (all when absent) in groups of `batchSize`; timed. */
  | { readonly op: "run"; readonly batchSize: number; readonly count?: number }
  /** Return the unit vectors of the first `count` sentences (correctness cross-check). */
  | { readonly op: "vectors"; readonly count: number }
  | { readonly op: "exit" };

/** What a worker reports about itself once loaded. */
export interface WorkerReady {
  readonly loadSeconds: number;
  readonly rssKb: number;
  readonly maxRssKb: number;
  readonly versions: Readonly<Record<string, string>>;
}

/** The result of one timed `run`. */
export interface RunResult {
  readonly seconds: number;
  readonly sentences: number;
  /** Real tokens, [CLS]/[SEP] included, padding excluded, as the engine counted them. */
  readonly tokens: number;
  /** Tokens sent to the runtime, padding included (when the engine can tell). */
  readonly paddedTokens: number | null;
  /** Inference calls made. */
  readonly calls: number;
  /** Peak RSS of the worker process so far (getrusage maxrss). */
  readonly maxRssKb: number;
}

/** One reply line. */
export type WorkerReply =
  | ({ readonly ok: true } & Record<string, unknown>)
  | { readonly ok: false; readonly error: string };

/** A running worker process. */
export interface WorkerHandle {
  readonly engine: string;
  /** Resolves with the first (ready) reply. */
  readonly ready: Promise<WorkerReady>;
  send<T>(command: WorkerCommand): Promise<T>;
  close(): Promise<void>;
}

/** Spawn a worker and speak the line protocol with it. */
export function startWorker(options: {
  readonly engine: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
}): WorkerHandle {
  const child: ChildProcessWithoutNullStreams = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const waiting: { resolve: (value: unknown) => void; reject: (error: Error) => void }[] = [];
  let exited: Error | undefined;
  const fail = (error: Error): void => {
    exited = error;
    for (const pending of waiting.splice(0)) pending.reject(error);
  };
  child.stderr.on("data", (chunk: Buffer) => process.stderr.write(`[${options.engine}] ${chunk.toString()}`));
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith(REPLY_PREFIX)) {
      process.stderr.write(`[${options.engine}] ${line}\n`);
      return;
    }
    const reply = JSON.parse(line.slice(REPLY_PREFIX.length)) as WorkerReply;
    const pending = waiting.shift();
    if (pending === undefined) return;
    if (reply.ok) pending.resolve(reply);
    else pending.reject(new Error(`${options.engine} worker: ${reply.error}`));
  });
  child.on("error", (error) => fail(error));
  child.on("exit", (code, signal) =>
    fail(new Error(`${options.engine} worker exited (code ${String(code)}, signal ${String(signal)})`)),
  );
  const ready = new Promise<WorkerReady>((resolve, reject) => {
    waiting.push({ resolve: resolve as (value: unknown) => void, reject });
  });
  return {
    engine: options.engine,
    ready,
    send<T>(command: WorkerCommand): Promise<T> {
      if (exited !== undefined) return Promise.reject(exited);
      return new Promise<T>((resolve, reject) => {
        waiting.push({ resolve: resolve as (value: unknown) => void, reject });
        child.stdin.write(`${JSON.stringify(command)}\n`);
      });
    },
    async close() {
      if (exited !== undefined || child.exitCode !== null) return;
      const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.stdin.write(`${JSON.stringify({ op: "exit" })}\n`);
      child.stdin.end();
      await done;
    },
  };
}

/**
 * Serve the protocol inside a Node worker: read commands from stdin, answer
 * with `handle`'s result. Errors become `{ ok: false }` replies.
 */
export async function serveCommands(
  handle: (command: WorkerCommand) => Promise<Record<string, unknown>>,
): Promise<void> {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === "") continue;
    const command = JSON.parse(line) as WorkerCommand;
    if (command.op === "exit") break;
    try {
      reply({ ok: true, ...(await handle(command)) });
    } catch (error) {
      reply({ ok: false, error: (error as Error).stack ?? String(error) });
    }
  }
}

/** Write one protocol reply line. */
export function reply(value: WorkerReply): void {
  process.stdout.write(`${REPLY_PREFIX}${JSON.stringify(value)}\n`);
}

/** Peak RSS of this process in KiB (Linux getrusage ru_maxrss). */
export function maxRssKb(): number {
  return process.resourceUsage().maxRSS;
}

/** Split `items` into consecutive groups of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let start = 0; start < items.length; start += size) groups.push(items.slice(start, start + size));
  return groups;
}
