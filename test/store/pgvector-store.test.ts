/**
 * The pgvector store against a real PostgreSQL 16 + pgvector server started on
 * 127.0.0.1 by scripts/pg-start.sh: the shared conformance suite, then what is
 * specific to a database server (unreachable server, pooling, SQL injection,
 * transactional batches, index layout).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import { openVectorStore } from "../../src/store/open-vector-store.js";
import { openPgVectorStore } from "../../src/store/pgvector-store.js";
import type { VectorStore } from "../../src/store/vector-store.js";
import { runCli } from "../cli/run-cli.js";
import { type PostgresServer, startPostgres } from "./pg-server.js";
import { runVectorStoreSuite } from "./store-suite.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

const uniqueSchema = () => `t_${randomBytes(6).toString("hex")}`;
const code = (c: string) => expect.objectContaining({ code: c });

/** A raw client for looking at what the store wrote. */
async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function dropSchema(schema: string): Promise<void> {
  await withClient(server.url, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/** A TCP port on 127.0.0.1 with nothing listening on it. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, "127.0.0.1", done));
  const address = probe.address();
  await new Promise<void>((done) => probe.close(() => done()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

runVectorStoreSuite("pgvector", async () => {
  const schema = uniqueSchema();
  const open = () => openPgVectorStore({ url: server.url, schema });
  const opened: VectorStore[] = [await open()];
  return {
    store: opened[0] as VectorStore,
    reopen: async () => {
      const store = await open();
      opened.push(store);
      return store;
    },
    cleanup: async () => {
      await Promise.all(opened.map((store) => store.close()));
      await dropSchema(schema);
    },
  };
});

describe("pgvector store: server errors", () => {
  it("reports a refused connection as STORE_UNAVAILABLE naming the URL without its password", async () => {
    const port = await closedPort();
    const url = `postgres://embedkit:hunter2-secret@127.0.0.1:${port}/postgres`;
    const failure = openPgVectorStore({ url, connectTimeoutMs: 5000 });
    await expect(failure).rejects.toThrow(EmbedkitError);
    await expect(failure).rejects.toEqual(code("STORE_UNAVAILABLE"));
    await expect(failure).rejects.toThrow(`postgres://embedkit:***@127.0.0.1:${port}/postgres`);
    await expect(failure).rejects.toThrow(/ECONNREFUSED/);
    await expect(failure).rejects.not.toThrow(/hunter2/);
  });

  it("reports a wrong password as STORE_UNAVAILABLE with a hint, without echoing it", async () => {
    const url = new URL(server.url);
    url.password = "wrong-password";
    const failure = openPgVectorStore({ url: url.toString() });
    await expect(failure).rejects.toEqual(code("STORE_UNAVAILABLE"));
    await expect(failure).rejects.toThrow(/password/);
    await expect(failure).rejects.not.toThrow(/wrong-password/);
  });

  it("refuses a URL that is not PostgreSQL's with INVALID_OPTION", async () => {
    await expect(openPgVectorStore({ url: "mysql://root:pw@127.0.0.1/db" })).rejects.toEqual(
      code("INVALID_OPTION"),
    );
    await expect(
      openPgVectorStore({ url: server.url, schema: 'x"; DROP SCHEMA public; --' }),
    ).rejects.toEqual(code("INVALID_OPTION"));
  });

  it("tells a user without rights to create pgvector what a superuser must run, then works once it has", async () => {
    const suffix = randomBytes(4).toString("hex");
    const [role, database, password] = [`app_${suffix}`, `db_${suffix}`, `pw_${suffix}`];
    await withClient(server.url, async (client) => {
      await client.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      await client.query(`CREATE DATABASE ${database}`);
    });
    const url = new URL(server.url);
    url.username = role;
    url.password = password;
    url.pathname = `/${database}`;
    const failure = openPgVectorStore({ url: url.toString() });
    await expect(failure).rejects.toEqual(code("STORE_UNAVAILABLE"));
    await expect(failure).rejects.toThrow(/CREATE EXTENSION vector/);
    await expect(failure).rejects.not.toThrow(password);
    const admin = new URL(server.url);
    admin.pathname = `/${database}`;
    await withClient(admin.toString(), async (client) => {
      await client.query("CREATE EXTENSION vector");
      await client.query(`GRANT CREATE ON DATABASE ${database} TO ${role}`);
    });
    const store = await openPgVectorStore({ url: url.toString() });
    try {
      const collection = await store.createCollection("mine", { model: "m", dims: 2 });
      await collection.upsert([{ id: "a", vector: [1, 0] }]);
      expect(await collection.count()).toBe(1);
    } finally {
      await store.close();
    }
  });

  it("turns a server that goes away mid-use into STORE_UNAVAILABLE, for every operation", async () => {
    const doomed = await startPostgres();
    const password = new URL(doomed.url).password;
    const store = await openPgVectorStore({ url: doomed.url, connectTimeoutMs: 3000 });
    try {
      const collection = await store.createCollection("docs", { model: "m", dims: 3 });
      await collection.upsert([{ id: "a", vector: [1, 0, 0] }]);
      await doomed.stop();
      for (const operation of [
        () => collection.query({ vector: [1, 0, 0], k: 1 }),
        () => collection.upsert([{ id: "b", vector: [0, 1, 0] }]),
        () => collection.count(),
        () => store.listCollections(),
        () => store.getCollection("docs"),
      ]) {
        const failure = operation();
        await expect(failure).rejects.toEqual(code("STORE_UNAVAILABLE"));
        await expect(failure).rejects.not.toThrow(password);
      }
    } finally {
      await store.close();
      await doomed.stop();
    }
  });

  it("opens through openVectorStore for pg://, postgres:// and postgresql:// URLs, locating itself without the password", async () => {
    const password = new URL(server.url).password;
    for (const scheme of ["pg", "postgres", "postgresql"]) {
      const schema = uniqueSchema();
      const store = await openVectorStore(server.url.replace(/^postgres/, scheme), { pgvector: { schema } });
      try {
        expect(store.backend).toBe("pgvector");
        expect(store.location).not.toContain(password);
        expect(store.location).toMatch(/^postgres:\/\/embedkit:\*\*\*@127\.0\.0\.1:\d+\/postgres$/);
        await store.createCollection("via-registry", { model: "m", dims: 2 });
        expect((await store.listCollections()).map((c) => c.name)).toEqual(["via-registry"]);
      } finally {
        await store.close();
        await dropSchema(schema);
      }
    }
  });
});

describe("pgvector store: database behaviour", () => {
  const schema = uniqueSchema();
  let store: VectorStore;
  beforeAll(async () => {
    store = await openPgVectorStore({ url: server.url, schema });
  });
  afterAll(async () => {
    await store?.close();
    await dropSchema(schema);
  });

  /** The items table behind a collection, looked up the way an operator would. */
  async function itemsTable(name: string): Promise<string> {
    const result = await withClient(server.url, (client) =>
      client.query<{ id: string }>(`SELECT id FROM "${schema}".collections WHERE name = $1`, [name]),
    );
    return `"${schema}"."items_${result.rows[0]?.id}"`;
  }

  it("reuses pooled connections: 60 concurrent queries over at most 3 connections", async () => {
    const applicationName = `embedkit-pool-${randomBytes(4).toString("hex")}`;
    const pooled = await openPgVectorStore({ url: server.url, schema, maxConnections: 3, applicationName });
    try {
      const collection = await pooled.createCollection("pool", { model: "m", dims: 2 });
      await collection.upsert([{ id: "a", vector: [1, 0] }]);
      const results = await Promise.all(
        Array.from({ length: 60 }, () => collection.query({ vector: [1, 0], k: 1 })),
      );
      expect(results.every((hits) => hits[0]?.id === "a")).toBe(true);
      const connections = await withClient(server.url, (client) =>
        client.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1",
          [applicationName],
        ),
      );
      const open = Number(connections.rows[0]?.n);
      expect(open).toBeGreaterThanOrEqual(1);
      expect(open).toBeLessThanOrEqual(3);
    } finally {
      await pooled.close();
    }
  });

  it("stores SQL-ish ids, metadata values and text byte for byte, leaving the schema intact", async () => {
    const collection = await store.createCollection("literal", { model: "m", dims: 2 });
    const nasty = [
      "'; DROP SCHEMA public CASCADE; --",
      "$$; SELECT 1; $$",
      'a"b\\c',
      "E'\\x00'",
      "🙂 ' OR ''='",
    ];
    await collection.upsert(
      nasty.map((id, i) => ({
        id,
        vector: [1, i],
        metadata: { "_x--y": id, "a.b-c": "$1" },
        text: `${id}\n`,
      })),
    );
    const table = await itemsTable("literal");
    const rows = await withClient(server.url, (client) =>
      client.query<{ id: string; metadata: Record<string, string>; text: string }>(
        `SELECT id, metadata, text FROM ${table} ORDER BY id COLLATE "C"`,
      ),
    );
    expect(rows.rows.map((row) => row.id)).toEqual([...nasty].sort());
    for (const row of rows.rows) {
      expect(row.metadata).toEqual({ "_x--y": row.id, "a.b-c": "$1" });
      expect(row.text).toBe(`${row.id}\n`);
    }
    const hits = await collection.query({
      vector: [1, 0],
      k: 10,
      filter: [{ field: "a.b-c", op: "eq", value: "$1" }],
    });
    expect(hits).toHaveLength(nasty.length);
    expect(await collection.count([{ field: "_x--y", op: "in", values: [nasty[1] as string] }])).toBe(1);
    expect((await store.listCollections()).map((c) => c.name)).toContain("literal");
  });

  it("writes nothing of a batch when the server rejects a later chunk of it", async () => {
    const collection = await store.createCollection("atomic", { model: "m", dims: 2 });
    await collection.upsert([{ id: "keep", vector: [1, 0], metadata: { v: 1 } }]);
    const table = await itemsTable("atomic");
    // A server-side failure validation cannot foresee: a trigger refusing one id.
    await withClient(server.url, async (client) => {
      await client.query(`CREATE FUNCTION "${schema}".refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.id = 'boom' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$`);
      await client.query(
        `CREATE TRIGGER refuse_boom BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_boom()`,
      );
    });
    const batch = [
      { id: "keep", vector: [0, 1], metadata: { v: 2 } },
      ...Array.from({ length: 1500 }, (_, i) => ({ id: `n${i}`, vector: [1, i] })),
      { id: "boom", vector: [1, 1] },
    ];
    const failure = collection.upsert(batch);
    await expect(failure).rejects.toEqual(code("INTERNAL"));
    await expect(failure).rejects.toThrow(/refused by test trigger/);
    expect(await collection.count()).toBe(1);
    const [keep] = await collection.get(["keep"]);
    expect(keep?.metadata).toEqual({ v: 1 });
    expect(Array.from(keep?.vector ?? [])).toEqual([1, 0]);
    // The pool is healthy afterwards.
    await collection.upsert(batch.slice(0, -1));
    expect(await collection.count()).toBe(1501);
  });

  /** The definitions of a collection's indexes. */
  async function indexDefinitions(name: string): Promise<string> {
    const table = (await itemsTable(name)).split(".")[1]?.replaceAll('"', "");
    const indexes = await withClient(server.url, (client) =>
      client.query<{ indexdef: string }>(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2",
        [schema, table],
      ),
    );
    return indexes.rows.map((row) => row.indexdef).join("\n");
  }

  it("builds one table per collection with an HNSW index whose operator class follows the metric", async () => {
    const eager = await openPgVectorStore({ url: server.url, schema, annThreshold: 0 });
    try {
      const expected = {
        cosine: "vector_cosine_ops",
        dot: "vector_ip_ops",
        euclidean: "vector_l2_ops",
      } as const;
      for (const metric of ["cosine", "dot", "euclidean"] as const) {
        await eager.createCollection(`metric-${metric}`, { model: "m", dims: 8, metric, normalized: false });
        const definitions = await indexDefinitions(`metric-${metric}`);
        expect(definitions).toContain(`USING hnsw (embedding ${expected[metric]})`);
        expect(definitions).toContain("USING gin (metadata jsonb_path_ops)");
      }
    } finally {
      await eager.close();
    }
  });

  it("searches exactly below annThreshold and builds the HNSW index in the upsert that reaches it", async () => {
    const lazy = await openPgVectorStore({ url: server.url, schema, annThreshold: 50 });
    try {
      const collection = await lazy.createCollection("lazy", { model: "m", dims: 4 });
      const items = Array.from({ length: 60 }, (_, i) => ({ id: `i${i}`, vector: [1, i % 7, i % 5, i % 3] }));
      await collection.upsert(items.slice(0, 49));
      expect(await indexDefinitions("lazy")).not.toContain("hnsw");
      expect((await collection.query({ vector: [1, 3, 3, 0], k: 1 }))[0]?.id).toBe("i3");
      await collection.upsert(items.slice(49));
      expect(await indexDefinitions("lazy")).toContain("USING hnsw (embedding vector_cosine_ops)");
      expect(await collection.count()).toBe(60);
      // Another handle on the same collection finds the index there and adds to it.
      const again = await lazy.getCollection("lazy");
      await again.upsert([{ id: "extra", vector: [0, 0, 0, 1] }]);
      expect((await again.query({ vector: [0, 0, 0, 1], k: 1 }))[0]?.id).toBe("extra");
    } finally {
      await lazy.close();
    }
  });

  it("lets two stores on one database see each other's writes, and only one create a given name", async () => {
    const other = await openPgVectorStore({ url: server.url, schema });
    try {
      const results = await Promise.allSettled([
        store.createCollection("race", { model: "m", dims: 2 }),
        other.createCollection("race", { model: "m", dims: 2 }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const rejected = results.find((r) => r.status === "rejected");
      expect(rejected?.status === "rejected" && rejected.reason).toEqual(code("COLLECTION_EXISTS"));
      await (await store.getCollection("race")).upsert([{ id: "x", vector: [0, 1] }]);
      expect(await (await other.getCollection("race")).count()).toBe(1);
    } finally {
      await other.close();
    }
  });

  it("refuses more dimensions than pgvector's vector type holds, and searches exactly above the HNSW limit", async () => {
    await expect(store.createCollection("huge", { model: "m", dims: 16_001 })).rejects.toEqual(
      code("INVALID_OPTION"),
    );
    const wide = await store.createCollection("wide", { model: "m", dims: 2048 });
    const vector = Float32Array.from({ length: 2048 }, (_, i) => (i % 7) - 3);
    await wide.upsert([
      { id: "same", vector },
      { id: "flipped", vector: vector.map((x) => -x) },
    ]);
    const hits = await wide.query({ vector, k: 2 });
    expect(hits.map((hit) => hit.id)).toEqual(["same", "flipped"]);
    expect(hits[0]?.score).toBeCloseTo(1, 5);
  });
});

describe("pgvector store: CLI", () => {
  it("runs `embedkit faq index` and `faq ask` unchanged with --store <postgres url>; a dead URL exits 1 without the password", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pg-cli-"));
    try {
      const faq = join(dir, "faq.csv");
      await writeFile(
        faq,
        "question,answer\nHow do I reset my password?,Use the reset link on the login page.\n" +
          "What are your opening hours?,We are open 9 to 5 on weekdays.\n",
      );
      const url = server.url.replace(/^postgres:/, "pg:");
      const common = ["--collection", "support", "--store", url, "--quiet"];
      const indexed = await runCli(["faq", "index", faq, "--model", "bge-small-en-v1.5", ...common]);
      expect(indexed.stderr).toBe("");
      expect(indexed.code).toBe(0);
      const asked = await runCli(["faq", "ask", "I forgot my password", ...common]);
      expect(asked.code).toBe(0);
      expect(asked.stdout).toContain("Use the reset link on the login page.");
      const dead = await runCli([
        "faq",
        "ask",
        "hello",
        ...common.slice(0, 2),
        "--store",
        `postgres://u:pw-9f3@127.0.0.1:${await closedPort()}/x`,
      ]);
      expect(dead.code).toBe(1);
      expect(dead.stderr).toContain("STORE_UNAVAILABLE");
      expect(dead.stderr).not.toContain("pw-9f3");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
