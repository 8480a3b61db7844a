/**
 * The limits of the two shared services of distributed indexing, measured on
 * this machine, for docs/SCALE.md's projections. Both servers are started by
 * the project's scripts (Redis with AOF everysec as scripts/redis-start.sh
 * runs it; PostgreSQL 16 + pgvector 0.8 by scripts/pg-start.sh) and stopped at
 * the end. Next to each rate the server's own CPU time per operation is read
 * from /proc (Redis is one thread; PostgreSQL one process per connection), so
 * the capacity of a dedicated server can be projected from it: on a shared,
 * busy 2-core machine the wall-clock rates are lower bounds, the CPU costs are
 * the steadier number.
 *
 * Redis (BullMQ, the way `jobs submit` and `embedkit worker` use it):
 *   - enqueue: `addBulk` in groups of 20 with submit's job options, tiny jobs
 *     and chunk-sized jobs (1000 documents of ~45-character titles);
 *   - complete: a BullMQ worker with a no-op processor and concurrency C
 *     drains the queue (removeOnComplete, as submit sets it).
 * pgvector (384-d unit vectors, seeded Gaussian):
 *   - the store's upsert (`INSERT … SELECT FROM unnest(…) ON CONFLICT DO
 *     UPDATE`, one transaction per call) with 64 rows per call (the worker's
 *     default batch) and 1000, no HNSW index yet (below the store's 10k
 *     threshold), two writers at once, and with the HNSW index maintained;
 *   - COPY (psql's \copy, a C client) into a table of the same schema: text
 *     and binary format without index, binary with the HNSW index, and binary
 *     COPY into a temporary table + one `INSERT … SELECT … ON CONFLICT` (COPY
 *     has no upsert of its own).
 *
 *   npx tsx bench/jobs-limits.ts                  # 20,000 jobs, 20,000 rows per phase
 *   npx tsx bench/jobs-limits.ts --jobs 5000 --rows 5000
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Queue, Worker } from "bullmq";
import pg from "pg";
import { KEY_PREFIX, openJobQueue } from "../src/jobs/queue.js";
import { openPgVectorStore } from "../src/store/pgvector-store.js";
import type { Collection, Item, VectorStore } from "../src/store/vector-store.js";
import { createRandom } from "../src/vectors/random.js";
import { startRedis } from "../test/jobs/redis-server.js";
import { startPostgres } from "../test/store/pg-server.js";
import { children } from "./lib/pgvector-backend.js";

const ROOT = resolve(import.meta.dirname, "..");
const DIMS = 384;
const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "20000" },
    rows: { type: "string", default: "20000" },
  },
});
const JOBS = Number(values.jobs);
const ROWS = Number(values.rows);

const run = (file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
  new Promise<string>((done, fail) =>
    execFile(file, args, { env: { ...process.env, ...env }, maxBuffer: 1 << 24 }, (error, stdout, stderr) =>
      error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout),
    ),
  );

/**
 * CPU seconds (user + system) a server has used so far: its main process, the
 * children it has reaped (cutime/cstime: PostgreSQL backends that ended, Redis'
 * AOF rewrites) and its live children.
 */
async function serverCpuSeconds(main: number, children: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const [pid, withReaped] of [
    [main, true] as const,
    ...children.map((child) => [child, false] as const),
  ]) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      // Fields after "(comm) ": state is field 3, so field n is at n - 3.
      const fields = stat
        .slice(stat.lastIndexOf(")") + 2)
        .split(" ")
        .map(Number);
      ticks += (fields[11] ?? 0) + (fields[12] ?? 0); // utime, stime
      if (withReaped) ticks += (fields[13] ?? 0) + (fields[14] ?? 0); // cutime, cstime
    } catch {
      // ended meanwhile (then counted in the main process' cutime)
    }
  }
  return ticks / 100;
}

interface Measure {
  readonly what: string;
  readonly count: number;
  readonly seconds: number;
  /** Server CPU seconds used meanwhile. */
  readonly serverCpu: number;
  readonly load: number;
}
const measures: Measure[] = [];

/** Time `work` (which handles `count` operations) and the server CPU it costs. */
async function measure(
  what: string,
  count: number,
  serverCpu: () => Promise<number>,
  work: () => Promise<void>,
): Promise<void> {
  const load = loadavg()[0] ?? 0;
  const cpuBefore = await serverCpu();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const cpu = (await serverCpu()) - cpuBefore;
  measures.push({ what, count, seconds, serverCpu: cpu, load });
  console.error(
    `${what}: ${(count / seconds).toFixed(0)}/s, server CPU ${((cpu / count) * 1e6).toFixed(0)} µs each (load ${load.toFixed(1)})`,
  );
}

// ---------------------------------------------------------------- Redis
async function redisLimits(): Promise<void> {
  const redis = await startRedis();
  const jobQueue = await openJobQueue(redis.url);
  // BullMQ does not close connections it was given: they are disconnected at the end.
  const connections: Array<ReturnType<typeof jobQueue.connect>> = [];
  const connect = () => {
    const connection = jobQueue.connect();
    connections.push(connection);
    return connection;
  };
  const redisPid = Number((await readFile(join(redis.dataDir, "redis.pid"), "utf8")).trim());
  const pids = () => serverCpuSeconds(redisPid, []);
  const options = (name: string, i: number) => ({
    jobId: `${name}-${i}`,
    attempts: 5,
    backoff: { type: "exponential", delay: 2000 },
    removeOnComplete: true,
    removeOnFail: false,
  });
  const title = "distributed indexing of sentence embeddings at scale";
  const chunk = Array.from({ length: 1000 }, (_, i) => ({ id: `doc-${i}`, text: `${title} ${i}` }));
  try {
    for (const [name, count, data, concurrency] of [
      ["tiny", JOBS, (i: number) => ({ i }), 50],
      [
        "chunk-sized (1000 docs, 66 KB)",
        Math.max(50, Math.round(JOBS / 100)),
        () => ({ documents: chunk }),
        4,
      ],
    ] as const) {
      const queueName = `limits-${name.split(" ")[0]}`;
      const queue = new Queue(queueName, { connection: connect(), prefix: KEY_PREFIX });
      await measure(`Redis: enqueue ${name} jobs (addBulk × 20)`, count, pids, async () => {
        for (let start = 0; start < count; start += 20) {
          const group = [];
          for (let i = start; i < Math.min(count, start + 20); i += 1) {
            group.push({ name: "chunk", data: data(i), opts: options(queueName, i) });
          }
          await queue.addBulk(group);
        }
      });
      let completed = 0;
      await measure(
        `Redis: complete ${name} jobs (no-op worker, concurrency ${concurrency})`,
        count,
        pids,
        async () => {
          const worker = new Worker(queueName, async () => ({ ok: true }), {
            connection: connect(),
            prefix: KEY_PREFIX,
            concurrency,
          });
          await new Promise<void>((done) => {
            worker.on("completed", () => {
              completed += 1;
              if (completed === count) done();
            });
          });
          await worker.close();
        },
      );
      await queue.close();
    }
    const info = await jobQueue.redis.info("memory");
    console.error(`Redis used_memory after the phases: ${/used_memory_human:(\S+)/.exec(info)?.[1]}`);
  } finally {
    for (const connection of connections) connection.disconnect();
    await jobQueue.close();
    await redis.stop();
  }
}

// ---------------------------------------------------------------- pgvector
function randomItems(count: number, seed: number, prefix: string): Item[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const vector = new Float32Array(DIMS);
    let norm = 0;
    for (let d = 0; d < DIMS; d += 1) {
      vector[d] = random.gaussian();
      norm += (vector[d] as number) ** 2;
    }
    for (let d = 0; d < DIMS; d += 1) vector[d] = (vector[d] as number) / Math.sqrt(norm);
    return { id: `${prefix}${i}`, vector, metadata: {}, text: `distributed indexing title ${prefix}${i}` };
  });
}

/**
 * Rows in COPY's binary format: the PGCOPY header, per row the field count and
 * each field as length + the type's binary form (text: UTF-8; vector:
 * pgvector's int16 dims, int16 0, float32 big-endian; jsonb: version 1 + text),
 * then the -1 trailer.
 */
function copyBinary(items: readonly Item[]): Buffer {
  const parts: Buffer[] = [Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)];
  for (const item of items) {
    const id = Buffer.from(item.id);
    const text = Buffer.from(item.text ?? "");
    const metadata = Buffer.from("\u0001{}");
    const row = Buffer.alloc(2 + 4 * 4 + id.length + 4 + DIMS * 4 + metadata.length + text.length);
    let offset = row.writeInt16BE(4, 0);
    offset = row.writeInt32BE(id.length, offset);
    offset += id.copy(row, offset);
    offset = row.writeInt32BE(4 + DIMS * 4, offset);
    offset = row.writeInt16BE(DIMS, offset);
    offset = row.writeInt16BE(0, offset);
    for (const value of item.vector) offset = row.writeFloatBE(value, offset);
    offset = row.writeInt32BE(metadata.length, offset);
    offset += metadata.copy(row, offset);
    offset = row.writeInt32BE(text.length, offset);
    text.copy(row, offset);
    parts.push(row);
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

/** Rows as the text format of COPY (tab-separated, `\N` never needed here). */
function copyText(items: readonly Item[]): string {
  return items
    .map((item) => `${item.id}\t[${Array.from(item.vector).join(",")}]\t{}\t${item.text}\n`)
    .join("");
}

async function upsertAll(collection: Collection, items: readonly Item[], batch: number): Promise<void> {
  for (let start = 0; start < items.length; start += batch) {
    await collection.upsert(items.slice(start, start + batch));
  }
}

async function pgLimits(dir: string): Promise<void> {
  const server = await startPostgres();
  const prefix = (await run("bash", [join(ROOT, "scripts/pg-install.sh")])).trim();
  const psql = join(prefix, "bin/psql");
  const postmaster = Number(
    (await readFile(join(server.dataDir, "pgdata/postmaster.pid"), "utf8")).split("\n", 1)[0],
  );
  const pids = async () => serverCpuSeconds(postmaster, await children(postmaster));
  const spec = { model: "all-minilm-l6-v2", dims: DIMS };
  // No HNSW index below 1M rows for the plain phases; the default 10k threshold for the indexed one.
  const plain: VectorStore = await openPgVectorStore({ url: server.url, annThreshold: 1_000_000 });
  const indexed: VectorStore = await openPgVectorStore({ url: server.url });
  const sql = new pg.Client({ connectionString: server.url });
  await sql.connect();
  const table = async (name: string) => {
    const { rows } = await sql.query<{ id: string }>("SELECT id FROM embedkit.collections WHERE name = $1", [
      name,
    ]);
    return `embedkit.items_${rows[0]?.id}`;
  };
  try {
    const items = randomItems(ROWS, 1, "a");
    const half = Math.floor(ROWS / 2);
    for (const batch of [64, 1000]) {
      const collection = await plain.createCollection(`upsert${batch}`, spec);
      await measure(`pgvector: store upsert, ${batch} rows/call, no HNSW`, ROWS, pids, () =>
        upsertAll(collection, items, batch),
      );
    }
    const two = await plain.createCollection("two-writers", spec);
    await measure("pgvector: store upsert, 2 writers × 500 rows/call, no HNSW", ROWS, pids, async () => {
      await Promise.all([upsertAll(two, items.slice(0, half), 500), upsertAll(two, items.slice(half), 500)]);
    });
    const hnsw = await indexed.createCollection("hnsw", spec);
    await upsertAll(hnsw, items, 1000); // builds the HNSW index once past 10k rows
    const more = randomItems(half, 2, "b");
    await measure(`pgvector: store upsert, 64 rows/call, HNSW on ${ROWS} rows`, half, pids, () =>
      upsertAll(hnsw, more, 64),
    );

    // COPY through psql (a C client) from files prepared beforehand.
    const all = join(dir, "all.tsv");
    const extra = join(dir, "extra.tsv");
    const allBinary = join(dir, "all.bin");
    await writeFile(all, copyText(items));
    await writeFile(allBinary, copyBinary(items));
    await writeFile(extra, copyBinary(randomItems(half, 3, "c")));
    const plainTable = await table("upsert1000");
    const hnswTable = await table("hnsw");
    await sql.query(`CREATE TABLE embedkit.copy_plain (LIKE ${plainTable} INCLUDING ALL)`);
    await sql.query(`CREATE TABLE embedkit.copy_hnsw (LIKE ${hnswTable} INCLUDING ALL)`);
    await sql.query(`INSERT INTO embedkit.copy_hnsw SELECT * FROM ${hnswTable}`);
    await sql.query(`CREATE TABLE embedkit.copy_upsert (LIKE ${plainTable} INCLUDING ALL)`);
    await sql.query(`CREATE TABLE embedkit.copy_binary (LIKE ${plainTable} INCLUDING ALL)`);
    const psqlRun = (script: string) =>
      run(psql, [server.url, "-v", "ON_ERROR_STOP=1", "-q", "-c", script]).then(() => undefined);
    await measure("pgvector: COPY (psql, text), no HNSW", ROWS, pids, () =>
      psqlRun(`\\copy embedkit.copy_plain (id, embedding, metadata, text) FROM '${all}'`),
    );
    await measure("pgvector: COPY (psql, binary), no HNSW", ROWS, pids, () =>
      psqlRun(
        `\\copy embedkit.copy_binary (id, embedding, metadata, text) FROM '${allBinary}' WITH (FORMAT binary)`,
      ),
    );
    await measure(`pgvector: COPY (psql, binary), HNSW on ${ROWS + half} rows`, half, pids, () =>
      psqlRun(
        `\\copy embedkit.copy_hnsw (id, embedding, metadata, text) FROM '${extra}' WITH (FORMAT binary)`,
      ),
    );
    const script = join(dir, "upsert.sql");
    await writeFile(
      script,
      [
        "BEGIN;",
        "CREATE TEMP TABLE staging (LIKE embedkit.copy_upsert) ON COMMIT DROP;",
        `\\copy staging (id, embedding, metadata, text) FROM '${allBinary}' WITH (FORMAT binary)`,
        "INSERT INTO embedkit.copy_upsert SELECT * FROM staging ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding, metadata = EXCLUDED.metadata, text = EXCLUDED.text;",
        "COMMIT;",
      ].join("\n"),
    );
    await measure("pgvector: COPY (binary) to a temp table + INSERT … ON CONFLICT, no HNSW", ROWS, pids, () =>
      run(psql, [server.url, "-v", "ON_ERROR_STOP=1", "-q", "-f", script]).then(() => undefined),
    );
  } finally {
    await sql.end();
    await plain.close();
    await indexed.close();
    await server.stop();
  }
}

const dir = await mkdtemp(join(tmpdir(), "embedkit-bench-limits-"));
try {
  await redisLimits();
  await pgLimits(dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}

console.log(`\n${cpus()[0]?.model ?? "?"} × ${cpus().length}; ${JOBS} jobs, ${ROWS} rows per phase`);
console.log("| what | count | seconds | per second | server CPU per op | load avg |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const m of measures) {
  console.log(
    `| ${m.what} | ${m.count} | ${m.seconds.toFixed(1)} | ${(m.count / m.seconds).toFixed(0)} | ${((m.serverCpu / m.count) * 1e6).toFixed(0)} µs | ${m.load.toFixed(1)} |`,
  );
}
