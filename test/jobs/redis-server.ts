/**
 * A throw-away Redis server for tests and benchmarks, started by the project's
 * own scripts (scripts/redis-start.sh installs Debian's redis-server on first
 * use) on 127.0.0.1 with a fresh data directory, and stopped and deleted by
 * `stop()`. As with test/store/pg-server.ts, an exit hook and a detached
 * watchdog make sure no server outlives the test process.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const scripts = resolve(import.meta.dirname, "../../scripts");

/** A running Redis server. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly dataDir: string;
  /** Stop the server and delete its data directory. Idempotent. */
  stop(): Promise<void>;
}

/** Start a fresh Redis server. */
export async function startRedis(): Promise<RedisServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "embedkit-redis-"));
  const stopSync = () => {
    execFileSync("bash", [join(scripts, "redis-stop.sh"), dataDir, "--remove"], { stdio: "ignore" });
  };
  process.once("exit", stopSync);
  let url: string;
  try {
    const { stdout } = await run("bash", [join(scripts, "redis-start.sh"), dataDir], { timeout: 600_000 });
    url = stdout.trim().split("\n").at(-1) ?? "";
  } catch (error) {
    stopSync();
    process.removeListener("exit", stopSync);
    throw error;
  }
  const watchdog = spawn(
    "bash",
    [
      "-c",
      'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 2; done; [ -d "$2" ] && exec bash "$3" "$2" --remove',
      "redis-watchdog",
      String(process.pid),
      dataDir,
      join(scripts, "redis-stop.sh"),
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
      await run("bash", [join(scripts, "redis-stop.sh"), dataDir, "--remove"]);
    },
  };
}
