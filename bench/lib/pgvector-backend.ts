/**
 * @module bench/lib/pgvector-backend
 * The PostgreSQL + pgvector side of the vector store benchmarks: a throw-away
 * server started by the project's scripts (test/store/pg-server.ts), a store on
 * it, and the two numbers only the server can tell — bytes on disk per
 * collection (`pg_total_relation_size` of the items table with its indexes and
 * TOAST) and the server's memory (PSS of the postmaster and its children, so
 * shared buffers are counted once).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { openPgVectorStore, type PgVectorStoreOptions } from "../../src/store/pgvector-store.js";
import type { VectorStore } from "../../src/store/vector-store.js";
import { type PostgresServer, startPostgres } from "../../test/store/pg-server.js";

/** A running server with a store on it. */
export interface PgvectorBackend {
  readonly server: PostgresServer;
  readonly store: VectorStore;
  /** Bytes of a collection's table, indexes and TOAST. */
  diskBytes(collection: string): Promise<number>;
  /** Proportional set size of every server process, in bytes. */
  serverMemoryBytes(): Promise<number>;
  /** PostgreSQL and pgvector versions, for the results. */
  versions(): Promise<{ readonly postgres: string; readonly pgvector: string }>;
  /** Close the store and stop (and delete) the server. */
  close(): Promise<void>;
}

async function pssBytes(pid: number): Promise<number> {
  try {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, "utf8");
    const kib = /^Pss:\s+(\d+) kB/m.exec(rollup)?.[1];
    return kib === undefined ? 0 : Number(kib) * 1024;
  } catch {
    return 0; // the process ended between listing and reading
  }
}

/** Pids whose parent is `parent`. */
export async function children(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ...; comm may contain spaces, so split after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Start a server and open a store on it. */
export async function startPgvectorBackend(
  options: Omit<PgVectorStoreOptions, "url"> = {},
): Promise<PgvectorBackend> {
  const server = await startPostgres();
  const store = await openPgVectorStore({ ...options, url: server.url });
  const schema = options.schema ?? "embedkit";
  const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    server,
    store,
    async diskBytes(collection) {
      const [row] = await query<{ bytes: string }>(
        `SELECT pg_total_relation_size(format('%I.%I', $1::text, 'items_' || id)::regclass) AS bytes
         FROM "${schema}".collections WHERE name = $2`,
        [schema, collection],
      );
      return Number(row?.bytes ?? 0);
    },
    async serverMemoryBytes() {
      const pidFile = await readFile(join(server.dataDir, "pgdata", "postmaster.pid"), "utf8");
      const postmaster = Number(pidFile.split("\n", 1)[0]);
      const pids = [postmaster, ...(await children(postmaster))];
      const sizes = await Promise.all(pids.map(pssBytes));
      return sizes.reduce((sum, size) => sum + size, 0);
    },
    async versions() {
      const [row] = await query<{ postgres: string; pgvector: string }>(
        "SELECT current_setting('server_version') AS postgres, extversion AS pgvector FROM pg_extension WHERE extname = 'vector'",
      );
      return { postgres: row?.postgres ?? "?", pgvector: row?.pgvector ?? "?" };
    },
    async close() {
      await store.close();
      await server.stop();
    },
  };
}
