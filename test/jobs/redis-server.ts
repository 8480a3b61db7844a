/**
 * A throw-away Redis server for tests and benchmarks, started by the project's
 * own scripts (scripts/redis-start.sh installs Debian's redis-server on first
 * use) — see test/helpers/script-service.ts for the lifecycle and the watchdog.
 */
import { type ScriptService, startScriptService } from "../helpers/script-service.js";

/** A running Redis server; `url` is `redis://127.0.0.1:<port>`. */
export type RedisServer = ScriptService;

/** Start a fresh Redis server. */
export function startRedis(): Promise<RedisServer> {
  return startScriptService("redis");
}
