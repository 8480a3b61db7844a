/**
 * A throw-away service (PostgreSQL, Redis) started by the project's own
 * `scripts/<name>-start.sh <dataDir>` on 127.0.0.1 with a fresh data
 * directory, and stopped and deleted by `scripts/<name>-stop.sh <dataDir>
 * --remove`. If the process exits without calling `stop()`, an exit hook stops
 * the service anyway; if it is killed (no exit hook runs), a detached watchdog
 * shell notices within seconds and stops it, so no service is left running.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const scripts = resolve(import.meta.dirname, "../../scripts");

/** A running service. */
export interface ScriptService {
  /** The URL the start script printed last. */
  readonly url: string;
  /** The service's data directory. */
  readonly dataDir: string;
  /** Stop the service and delete its data directory. Idempotent. */
  stop(): Promise<void>;
}

/** Start `scripts/<name>-start.sh` on a fresh data directory (the first call may install the service). */
export async function startScriptService(name: "pg" | "redis"): Promise<ScriptService> {
  const dataDir = await mkdtemp(join(tmpdir(), `embedkit-${name}-`));
  const stopScript = join(scripts, `${name}-stop.sh`);
  const stopSync = () => {
    execFileSync("bash", [stopScript, dataDir, "--remove"], { stdio: "ignore" });
  };
  process.once("exit", stopSync);
  let url: string;
  try {
    const { stdout } = await run("bash", [join(scripts, `${name}-start.sh`), dataDir], { timeout: 600_000 });
    url = stdout.trim().split("\n").at(-1) ?? "";
  } catch (error) {
    stopSync();
    process.removeListener("exit", stopSync);
    throw error;
  }
  // Watchdog: polls this process; when it is gone and the data directory is
  // still there, stops the service and deletes the directory. Ends by itself
  // once stop() has removed the directory.
  const watchdog = spawn(
    "bash",
    [
      "-c",
      'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 2; done; [ -d "$2" ] && exec bash "$3" "$2" --remove',
      `${name}-watchdog`,
      String(process.pid),
      dataDir,
      stopScript,
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
      await run("bash", [stopScript, dataDir, "--remove"]);
    },
  };
}
