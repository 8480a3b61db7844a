/**
 * `embedkit worker` child processes for the jobs tests: started from source
 * (test/jobs/cli-child.ts) with one inference thread, tracked so a test file
 * can kill every one it left, and with their stderr kept for failure messages.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

/** The worker children of one test file. */
export interface WorkerProcesses {
  /** Start `embedkit worker --queue <url> --threads 1 ...args`; resolves once it logged "worker ready". */
  spawn(queueUrl: string, args?: readonly string[]): Promise<ChildProcess>;
  /** SIGTERM a worker and resolve to its exit code (null when it had already died by a signal). */
  stop(child: ChildProcess): Promise<number | null>;
  /** SIGKILL every worker still running (for afterAll). */
  killAll(): void;
  /** What the workers wrote to stderr so far. */
  readonly log: string;
}

/** Create the tracker of one test file's workers. */
export function workerProcesses(): WorkerProcesses {
  const children = new Set<ChildProcess>();
  let log = "";
  return {
    async spawn(queueUrl, args = []) {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          join(ROOT, "test/jobs/cli-child.ts"),
          "worker",
          "--queue",
          queueUrl,
          "--threads",
          "1",
          ...args,
        ],
        { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env } },
      );
      children.add(child);
      child.on("exit", () => children.delete(child));
      let own = "";
      await new Promise<void>((ready, fail) => {
        child.stderr?.on("data", (chunk: Buffer) => {
          own += chunk.toString();
          log += chunk.toString();
          if (own.includes("worker ready")) ready();
        });
        child.on("exit", (code) => fail(new Error(`worker exited (${code}) before ready:\n${own}`)));
      });
      return child;
    },
    stop(child) {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
      child.kill("SIGTERM");
      return exited;
    },
    killAll() {
      for (const child of children) child.kill("SIGKILL");
    },
    get log() {
      return log;
    },
  };
}
