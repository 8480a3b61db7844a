/**
 * The store goes away mid-run (issue 17, "Bad input"): PostgreSQL is stopped
 * while a worker indexes a run. On real services — Redis
 * (scripts/redis-start.sh), PostgreSQL + pgvector (scripts/pg-start.sh /
 * pg-stop.sh on the same data directory and port), the real all-minilm-l6-v2
 * model. The chunks still to do are retried with exponential backoff, then
 * dead-lettered with STORE_UNAVAILABLE naming the store without its password;
 * once PostgreSQL is back, `embedkit jobs retry-failed` completes the run with
 * exactly the submitted documents. Then Redis goes away: a worker process
 * still exits on SIGTERM.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import {
  type JobQueue,
  type JobWorker,
  openJobQueue,
  runStatus,
  startWorker,
  submitRun,
  type WorkerEvent,
} from "../../src/jobs/index.js";
import { sharedData } from "../helpers/data.js";
import { type PostgresServer, startPostgres } from "../store/pg-server.js";
import { type RedisServer, startRedis } from "./redis-server.js";
import { expectStoredExactly, finished, runCli, waitForRun } from "./run-helpers.js";
import { workerProcesses } from "./worker-processes.js";

const ROOT = resolve(import.meta.dirname, "../..");
const exec = promisify(execFile);
const DOCS = 600;
const CHUNK = 20;
const ATTEMPTS = 3;
const BACKOFF_MS = 300;

let redis: RedisServer;
let postgres: PostgresServer;
let queue: JobQueue;
let embedder: Embedder;
let worker: JobWorker | undefined;
let documents: Array<{ id: string; text: string }>;
const workerPool = workerProcesses();

beforeAll(async () => {
  const rows = parseCsv(await readFile(sharedData("stsb/stsb-en-dev.csv"), "utf8"), {
    relax_quotes: true,
  }) as string[][];
  const texts = [
    ...new Set(rows.flatMap((row) => [row[0] ?? "", row[1] ?? ""]).filter((text) => text.trim() !== "")),
  ];
  documents = texts.slice(1000, 1000 + DOCS).map((text, i) => ({ id: `o${i}`, text }));
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  queue = await openJobQueue(redis.url);
  embedder = await createEmbedder({ model: "all-minilm-l6-v2", threads: 1 });
});

afterAll(async () => {
  workerPool.killAll();
  await worker?.close();
  await embedder?.close();
  await queue?.close();
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

describe("the store goes away mid-run", () => {
  it("chunks are retried with backoff, dead-lettered with STORE_UNAVAILABLE (no password); after the store is back, jobs retry-failed completes the run exactly", async () => {
    const dir = await mkdtemp(join(tmpdir(), "embedkit-outage-"));
    const file = join(dir, "outage.jsonl");
    await writeFile(file, `${documents.map((document) => JSON.stringify(document)).join("\n")}\n`);
    const password = decodeURIComponent(new URL(postgres.url).password);
    const port = new URL(postgres.url).port;
    try {
      const run = await submitRun(queue, "outage", file, {
        store: postgres.url,
        idField: "id",
        chunkSize: CHUNK,
        attempts: ATTEMPTS,
        backoffMs: BACKOFF_MS,
      });
      expect(run.chunks).toBe(DOCS / CHUNK);

      const failures = new Map<number, Array<{ at: number; final: boolean; error: string }>>();
      worker = await startWorker(redis.url, {
        threads: 1,
        batchSize: 10,
        onEvent: (event: WorkerEvent) => {
          if (event.type !== "failed") return;
          const list = failures.get(event.index) ?? [];
          list.push({ at: Date.now(), final: event.final, error: event.error });
          failures.set(event.index, list);
        },
      });
      const before = await waitForRun(queue, run.runId, (s) => s.chunks.done >= 3);
      expect(before.chunks.done).toBeLessThan(run.chunks);

      // The store goes away (PostgreSQL's fast shutdown: open connections are cut).
      await exec("bash", [join(ROOT, "scripts/pg-stop.sh"), postgres.dataDir]);
      const dead = await waitForRun(
        queue,
        run.runId,
        (s) => s.chunks.active === 0 && s.chunks.done + s.chunks.failed === s.chunks.total,
      );
      expect(dead.state).toBe("failed");
      expect(dead.chunks.failed).toBeGreaterThan(0);
      expect(dead.failures).toHaveLength(dead.chunks.failed);
      for (const failure of dead.failures) {
        // Environment errors are retried: every dead-lettered chunk used all its attempts.
        expect(failure.attempts).toBe(ATTEMPTS);
        expect(failure.error).toMatch(
          new RegExp(
            `^STORE_UNAVAILABLE: PostgreSQL at postgres://embedkit:\\*\\*\\*@127\\.0\\.0\\.1:${port}/`,
          ),
        );
        expect(failure.error).not.toContain(password);
        // Exponential backoff: the retries came at least 300 ms and 600 ms after the failures before them.
        const events = failures.get(failure.index) ?? [];
        expect(events.map((event) => event.final)).toEqual([false, false, true]);
        const gaps = events.slice(1).map((event, i) => event.at - (events[i]?.at ?? 0));
        expect(gaps[0]).toBeGreaterThanOrEqual(BACKOFF_MS - 20);
        expect(gaps[1]).toBeGreaterThanOrEqual(2 * BACKOFF_MS - 20);
      }
      // The CLI shows the dead letter with its reason, without the password.
      const status = await runCli(["jobs", "status", run.runId, "--queue", redis.url]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/\(failed\)/);
      expect(status.stdout).toMatch(/chunk \d+ failed after 3 attempt\(s\): STORE_UNAVAILABLE/);
      expect(status.stdout).not.toContain(password);

      // The store comes back on the same port and data; the failed chunks are retried.
      const { stdout } = await exec("bash", [join(ROOT, "scripts/pg-start.sh"), postgres.dataDir], {
        env: { ...process.env, EMBEDKIT_PG_PORT: port },
      });
      expect(stdout.trim()).toBe(postgres.url);
      const retried = await runCli(["jobs", "retry-failed", run.runId, "--queue", redis.url]);
      expect(retried).toMatchObject({ code: 0 });
      expect(retried.stdout).toContain(`Re-queued ${dead.chunks.failed} failed chunks of run ${run.runId}.`);
      const done = await waitForRun(queue, run.runId, finished);
      expect(done.state).toBe("done");
      expect(done.chunks).toMatchObject({ total: run.chunks, done: run.chunks, failed: 0 });
      expect(done.documents).toEqual({ total: DOCS, done: DOCS });
      expect((await runStatus(queue, run.runId)).failures).toEqual([]);
      await expectStoredExactly(postgres.url, "outage", documents, embedder, 100);
      await worker.close();
      worker = undefined;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe("the queue goes away", () => {
  it("a worker process whose Redis is gone exits on SIGTERM without waiting for a reconnect", async () => {
    const child = await workerPool.spawn(redis.url, ["-q"]);
    await exec("bash", [join(ROOT, "scripts/redis-stop.sh"), redis.dataDir]);
    // Let the worker notice the lost connection (it then retries in the background).
    await new Promise((wait) => setTimeout(wait, 1500));
    expect(await workerPool.stop(child)).toBe(0);
    // The library side: closing a queue whose Redis is gone returns too.
    await queue.close();
  }, 120_000);
});
