/**
 * Distributed indexing on real services: Redis (scripts/redis-start.sh),
 * PostgreSQL + pgvector (scripts/pg-start.sh), the real all-minilm-l6-v2
 * model, and `embedkit worker` child processes started from source.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { EmbedkitError } from "../../src/errors.js";
import {
  cancelRun,
  type JobQueue,
  listRuns,
  openJobQueue,
  type RunStatus,
  retryFailed,
  runStatus,
  startWorker,
  submitRun,
} from "../../src/jobs/index.js";
import { contentId } from "../../src/jobs/input.js";
import { openVectorStore } from "../../src/store/open-vector-store.js";
import { sharedData } from "../helpers/data.js";
import { type PostgresServer, startPostgres } from "../store/pg-server.js";
import { type RedisServer, startRedis } from "./redis-server.js";
import { expectStoredExactly, runCli, waitForRun } from "./run-helpers.js";
import { workerProcesses } from "./worker-processes.js";

const MODEL = "all-minilm-l6-v2";

let redis: RedisServer;
let postgres: PostgresServer;
let queue: JobQueue;
let embedder: Embedder;
let dir: string;
let sentences: string[];
/** The worker children (their stderr is shown when a wait gives up). */
const workerPool = workerProcesses();

beforeAll(async () => {
  const rows = parseCsv(await readFile(sharedData("stsb/stsb-en-dev.csv"), "utf8"), {
    relax_quotes: true,
  }) as string[][];
  sentences = [
    ...new Set(rows.flatMap((row) => [row[0] ?? "", row[1] ?? ""]).filter((text) => text.trim() !== "")),
  ];
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  queue = await openJobQueue(redis.url);
  embedder = await createEmbedder({ model: MODEL, threads: 1 });
  dir = await mkdtemp(join(tmpdir(), "embedkit-jobs-"));
});

afterAll(async () => {
  workerPool.killAll();
  await embedder?.close();
  await queue?.close();
  await Promise.all([redis?.stop(), postgres?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Write documents as JSONL and return the path. */
async function jsonl(name: string, documents: ReadonlyArray<Record<string, unknown>>): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${documents.map((document) => JSON.stringify(document)).join("\n")}\n`);
  return path;
}

const spawnWorker = (args: readonly string[] = []) => workerPool.spawn(redis.url, args);
const stopWorker = (child: ChildProcess) => workerPool.stop(child);

/** Poll the run until `until` holds (150 s at most; the failure shows the workers' logs). */
const waitFor = (runId: string, until: (status: RunStatus) => boolean): Promise<RunStatus> =>
  waitForRun(queue, runId, until, { log: () => workerPool.log });

/** Every document of `texts` (with `ids`) is in the collection, nothing else, with the vector of a direct embed. */
const expectIndexed = (store: string, collectionName: string, ids: string[], texts: string[]) =>
  expectStoredExactly(
    store,
    collectionName,
    ids.map((id, i) => ({ id, text: texts[i] as string })),
    embedder,
  );

async function expectError(
  promise: Promise<unknown>,
  code: string,
  pattern?: RegExp,
): Promise<EmbedkitError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(EmbedkitError.isInstance(error), String(error)).toBe(true);
  const typed = error as EmbedkitError;
  expect(typed.code).toBe(code);
  if (pattern) expect(typed.message).toMatch(pattern);
  return typed;
}

describe("jobs on Redis + pgvector", () => {
  it("two worker processes index a submitted file into pgvector with the vectors of a direct embed; resubmitting is idempotent", async () => {
    const texts = sentences.slice(0, 150);
    const file = await jsonl(
      "sts.jsonl",
      texts.map((text, i) => ({ id: `s${i}`, text, split: i % 2 === 0 ? "even" : "odd" })),
    );
    const options = { store: postgres.url, idField: "id", metadataFields: ["split"], chunkSize: 20 };
    const submitted = await submitRun(queue, "sts", file, options);
    expect(submitted).toMatchObject({
      chunks: 8,
      documents: 150,
      enqueued: 8,
      resubmitted: false,
      model: MODEL,
    });
    const workers = await Promise.all([spawnWorker(), spawnWorker()]);
    const status = await waitFor(submitted.runId, (s) => s.state === "done" || s.state === "failed");
    expect(status.state).toBe("done");
    expect(status.chunks).toMatchObject({ total: 8, done: 8, failed: 0 });
    expect(status.documents).toEqual({ total: 150, done: 150 });
    expect(status.docsPerSecond).toBeGreaterThan(0);
    // The workers' time split: each chunk counted once; store writes and reads are part of it.
    const time = status.workerTime;
    expect(time.storeWriteSeconds).toBeGreaterThan(0);
    expect(time.storeWriteSeconds + time.storeReadSeconds).toBeLessThan(time.seconds);
    // SIGTERM: both finish and exit cleanly.
    expect(await Promise.all(workers.map(stopWorker))).toEqual([0, 0]);
    await expectIndexed(
      postgres.url,
      "sts",
      texts.map((_, i) => `s${i}`),
      texts,
    );

    const again = await submitRun(queue, "sts", file, options);
    expect(again).toMatchObject({ runId: submitted.runId, enqueued: 0, resubmitted: true });
    expect(await queue.queue.getJobCounts("waiting", "active", "delayed", "failed")).toEqual({
      waiting: 0,
      active: 0,
      delayed: 0,
      failed: 0,
    });
    expect((await runStatus(queue, submitted.runId)).documents.done).toBe(150);
    expect((await listRuns(queue)).map((run) => run.runId)).toContain(submitted.runId);
  });

  it("submitting twice before any worker runs adds no duplicate jobs; cancel removes them", async () => {
    const texts = sentences.slice(150, 210);
    const file = await jsonl(
      "cancel.jsonl",
      texts.map((text) => ({ text })),
    );
    const first = await submitRun(queue, "cancelled", file, { store: postgres.url, chunkSize: 15 });
    const second = await submitRun(queue, "cancelled", file, { store: postgres.url, chunkSize: 15 });
    expect(second.runId).toBe(first.runId);
    expect([first.enqueued, second.enqueued]).toEqual([4, 0]);
    expect(await queue.queue.getWaitingCount()).toBe(4);
    expect(await cancelRun(queue, first.runId)).toBe(4);
    expect(await queue.queue.getWaitingCount()).toBe(0);
    const status = await runStatus(queue, first.runId);
    expect(status.state).toBe("cancelled");
    expect(status.chunks.done).toBe(0);
    // A different chunk size is a different run.
    const other = await submitRun(queue, "cancelled", file, { store: postgres.url, chunkSize: 30 });
    expect(other.runId).not.toBe(first.runId);
    expect(await cancelRun(queue, other.runId)).toBe(2);
  });

  it("a poison chunk (over-long text, truncation off) goes to the failed set with its error; retry-failed with truncation completes it", async () => {
    const texts = sentences.slice(210, 250);
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(" ");
    const documents = texts.map((text, i) => ({ id: `p${i}`, text }));
    documents.splice(17, 0, { id: "long", text: long });
    const file = await jsonl("poison.jsonl", documents);
    const run = await submitRun(queue, "poison", file, {
      store: postgres.url,
      idField: "id",
      chunkSize: 10,
      truncate: false,
      backoffMs: 100,
    });
    const worker = await startWorker(redis.url, { threads: 1 });
    try {
      const failed = await waitFor(run.runId, (s) => s.chunks.done + s.chunks.failed === s.chunks.total);
      expect(failed.state).toBe("failed");
      expect(failed.chunks).toMatchObject({ total: 5, done: 4, failed: 1 });
      expect(failed.failures).toHaveLength(1);
      expect(failed.failures[0]?.index).toBe(1);
      expect(failed.failures[0]?.error).toMatch(/INPUT_TOO_LONG/);
      // A data error is not retried: one attempt.
      expect(failed.failures[0]?.attempts).toBe(1);
      expect(await retryFailed(queue, run.runId, { truncate: true })).toBe(1);
      const done = await waitFor(run.runId, (s) => s.state === "done" || s.state === "failed");
      expect(done.state).toBe("done");
      expect(done.documents.done).toBe(41);
    } finally {
      await worker.close();
    }
    const vectorStore = await openVectorStore(postgres.url);
    try {
      expect(await (await vectorStore.getCollection("poison")).count()).toBe(41);
    } finally {
      await vectorStore.close();
    }
  });

  it("a worker killed with SIGKILL mid-chunk: its chunk is recovered by another worker (stalled check)", async () => {
    const texts = sentences.slice(250, 650);
    const file = await jsonl(
      "kill.jsonl",
      texts.map((text) => ({ text })),
    );
    const run = await submitRun(queue, "killed", file, { store: postgres.url, chunkSize: 200 });
    const fast = ["--lock-duration", "3000", "--stalled-interval", "1000", "--batch-size", "8", "-q"];
    const victim = await spawnWorker(fast);
    const active = await waitFor(run.runId, (s) => s.chunks.active > 0);
    expect(active.chunks.done).toBe(0);
    victim.kill("SIGKILL");
    await new Promise((done) => victim.once("exit", done));
    const rescuer = await spawnWorker(fast);
    const status = await waitFor(run.runId, (s) => s.state === "done" || s.state === "failed");
    expect(status.state).toBe("done");
    expect(status.documents.done).toBe(400);
    expect(await stopWorker(rescuer)).toBe(0);
    await expectIndexed(postgres.url, "killed", texts.map(contentId), texts);
  });

  it("a worker started with another --model refuses the collection's chunks with MODEL_MISMATCH", async () => {
    const file = await jsonl(
      "mismatch.jsonl",
      sentences.slice(650, 660).map((text) => ({ text })),
    );
    const run = await submitRun(queue, "mismatch", file, { store: postgres.url });
    const worker = await startWorker(redis.url, { model: "bge-small-en-v1.5" });
    try {
      const status = await waitFor(run.runId, (s) => s.chunks.failed === 1);
      expect(status.failures[0]?.error).toMatch(/MODEL_MISMATCH.*all-minilm-l6-v2.*bge-small-en-v1\.5/);
    } finally {
      await worker.close();
    }
    expect(await cancelRun(queue, run.runId)).toBe(1);
  });

  it("bad input fails before anything is enqueued, with clear errors", async () => {
    const runsBefore = (await listRuns(queue)).length;
    const waitingBefore = await queue.queue.getWaitingCount();
    await expectError(
      submitRun(queue, "bad", join(dir, "missing.jsonl"), { store: postgres.url }),
      "FILE_NOT_FOUND",
      /missing\.jsonl/,
    );
    const wrongField = await jsonl("fields.jsonl", [{ body: "a text", title: "t" }]);
    await expectError(
      submitRun(queue, "bad", wrongField, { store: postgres.url }),
      "MALFORMED_FILE",
      /fields\.jsonl:1: no field "text" \(fields: body, title\).*--text-field/,
    );
    const broken = join(dir, "broken.jsonl");
    await writeFile(broken, '{"text":"fine"}\n{"text":"also fine"}\n{"text": oops}\n');
    await expectError(
      submitRun(queue, "bad", broken, { store: postgres.url }),
      "MALFORMED_FILE",
      /broken\.jsonl:3: invalid JSON/,
    );
    const good = await jsonl("good.jsonl", [{ text: "a fine text" }]);
    await expectError(
      submitRun(queue, "bad", good, { store: postgres.url, model: "no-such-model" }),
      "UNKNOWN_MODEL",
    );
    await expectError(
      submitRun(queue, "bad", good, { store: postgres.url, chunkSize: 0 }),
      "INVALID_OPTION",
      /chunkSize/,
    );
    // Issue 19.1/19.4: a metadata field found on no line, and a forced number type a cell refuses.
    await expectError(
      submitRun(queue, "bad", good, { store: postgres.url, metadataFields: ["year"] }),
      "INVALID_OPTION",
      /--metadata-fields: no document of .*good\.jsonl has a field "year"/,
    );
    const years = join(dir, "years.csv");
    await writeFile(years, "text,year\nfirst,1990\nsecond,unknown\n");
    await expectError(
      submitRun(queue, "bad", years, {
        store: postgres.url,
        metadataFields: ["year"],
        metadataTypes: { year: "number" },
      }),
      "MALFORMED_FILE",
      /years\.csv:3: metadata field "year" is typed number but holds "unknown"/,
    );
    expect((await listRuns(queue)).length).toBe(runsBefore);
    expect(await queue.queue.getWaitingCount()).toBe(waitingBefore);
    const dead = await expectError(
      openJobQueue("redis://:hunter2@127.0.0.1:1"),
      "QUEUE_UNAVAILABLE",
      /127\.0\.0\.1:1/,
    );
    expect(dead.message).not.toContain("hunter2");
    await expectError(openJobQueue("http://127.0.0.1:6379"), "INVALID_OPTION", /Redis URL/);
    await expectError(runStatus(queue, "0123456789abcdef"), "UNKNOWN_RUN", /jobs list/);
  });
});

describe("jobs submit from the command line: bad input", () => {
  /** The collections in the test store (nothing may be created by a failed submit). */
  async function collections(): Promise<string[]> {
    const vectorStore = await openVectorStore(postgres.url);
    try {
      return (await vectorStore.listCollections()).map((item) => item.name);
    } finally {
      await vectorStore.close();
    }
  }

  it("a dead or wrong Redis URL fails with QUEUE_UNAVAILABLE naming the URL without its password; nothing is created or enqueued", async () => {
    const file = await jsonl("cli-good.jsonl", [{ text: "a text for the dead queue" }]);
    for (const [url, shown] of [
      ["redis://:hunter2@127.0.0.1:1", /redis:\/\/:\*\*\*@127\.0\.0\.1:1 /],
      ["redis://user:hunter2@no-such-host.invalid:6379", /redis:\/\/user:\*\*\*@no-such-host\.invalid:6379 /],
    ] as const) {
      const result = await runCli([
        "jobs",
        "submit",
        "cli-dead",
        "-f",
        file,
        "--store",
        postgres.url,
        "--queue",
        url,
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/embedkit: error \[QUEUE_UNAVAILABLE\]: Cannot reach the job queue at /);
      expect(result.stderr).toMatch(shown);
      expect(result.stderr).not.toContain("hunter2");
      expect(result.stdout).toBe("");
    }
    // The worker refuses the same way.
    const worker = await runCli(["worker", "--queue", "redis://:hunter2@127.0.0.1:1"]);
    expect(worker.code).toBe(1);
    expect(worker.stderr).toMatch(/QUEUE_UNAVAILABLE.*127\.0\.0\.1:1/);
    expect(worker.stderr).not.toContain("hunter2");
    expect(await collections()).not.toContain("cli-dead");
  });

  it("a malformed line (JSONL or CSV) fails at submit with the file and line; nothing is enqueued and no collection created", async () => {
    const runsBefore = (await listRuns(queue)).length;
    const jobsBefore = await queue.queue.getJobCounts("waiting", "delayed", "failed");
    const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `m${i}`, text: `line ${i}` }));
    lines.splice(25, 0, '{"id": "m-broken", "text": "no closing quote}');
    const broken = join(dir, "cli-broken.jsonl");
    await writeFile(broken, `${lines.join("\n")}\n`);
    const jsonlResult = await runCli([
      "jobs",
      "submit",
      "cli-broken",
      "-f",
      broken,
      "--id-field",
      "id",
      "--chunk-size",
      "10",
      "--store",
      postgres.url,
      "--queue",
      redis.url,
    ]);
    expect(jsonlResult.code).toBe(1);
    expect(jsonlResult.stderr).toMatch(/\[MALFORMED_FILE\]: .*cli-broken\.jsonl:26: invalid JSON/);
    const csv = join(dir, "cli-broken.csv");
    await writeFile(csv, 'id,text\n1,"a fine text"\n2,"an unclosed quote\n3,"more"\n');
    const csvResult = await runCli([
      "jobs",
      "submit",
      "cli-broken",
      "-f",
      csv,
      "--store",
      postgres.url,
      "--queue",
      redis.url,
    ]);
    expect(csvResult.code).toBe(1);
    expect(csvResult.stderr).toMatch(/\[MALFORMED_FILE\]: .*cli-broken\.csv:4: invalid CSV/);
    expect((await listRuns(queue)).length).toBe(runsBefore);
    expect(await queue.queue.getJobCounts("waiting", "delayed", "failed")).toEqual(jobsBefore);
    expect(await collections()).not.toContain("cli-broken");
  });
});

describe("jobs into the embedded store on one machine", () => {
  it("two worker processes write to the same embedded store folder (SQLite serializes the writers)", async () => {
    const texts = sentences.slice(700, 820);
    const file = await jsonl(
      "local.jsonl",
      texts.map((text, i) => ({ id: `l${i}`, text })),
    );
    const store = join(dir, "embedded-store");
    const run = await submitRun(queue, "local", file, { store, idField: "id", chunkSize: 10 });
    const workers = await Promise.all([spawnWorker(["-q"]), spawnWorker(["-q"])]);
    const status = await waitFor(run.runId, (s) => s.state === "done" || s.state === "failed");
    expect(status.state).toBe("done");
    expect(await Promise.all(workers.map(stopWorker))).toEqual([0, 0]);
    await expectIndexed(
      store,
      "local",
      texts.map((_, i) => `l${i}`),
      texts,
    );
  });
});
