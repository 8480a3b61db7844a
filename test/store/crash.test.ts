/**
 * Crash safety of the embedded store: a child process ingests (upserts,
 * re-upserts, deletes, queries that snapshot the HNSW graph) and is killed
 * with SIGKILL at a random moment, 24 times on the same store. After each kill
 * the store must open, hold every acknowledged write, count exactly what it
 * holds, and answer queries.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbeddedStore } from "../../src/store/embedded-store.js";
import { type Collection, STORE_LIMITS, type StoredItem } from "../../src/store/vector-store.js";
import { createRandom } from "../../src/vectors/random.js";
import { crashVector } from "./crash-vectors.js";

const TRIALS = 24;
/** `get` in chunks of the per-call limit (a quiet machine acknowledges more than 10,000 ids over the trials). */
async function getAll(collection: Collection, ids: readonly string[]): Promise<StoredItem[]> {
  const items: StoredItem[] = [];
  for (let start = 0; start < ids.length; start += STORE_LIMITS.maxBatchItems) {
    items.push(...(await collection.get(ids.slice(start, start + STORE_LIMITS.maxBatchItems))));
  }
  return items;
}

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * Transpile src/ and the child script to plain ESM under `.cache/` (inside the
 * checkout, so node_modules resolve). Starting 24 children through tsx costs an
 * esbuild service per child, seconds each on a busy machine; plain node does not.
 */
async function buildChild(): Promise<string> {
  const out = join(ROOT, ".cache", `store-crash-${process.pid}-${Date.now().toString(36)}`);
  // The child's relative import closure (static and dynamic imports).
  const pending = [join(ROOT, "test/store/crash-child.ts")];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const source = pending.pop() as string;
    if (seen.has(source)) continue;
    seen.add(source);
    const text = await readFile(source, "utf8");
    // Static and dynamic imports, and worker scripts (`new URL("./x.js", import.meta.url)`).
    for (const match of text.matchAll(/(?:from|import\(|new URL\()\s*"(\.{1,2}\/[^"]+)\.js"/g)) {
      pending.push(resolve(dirname(source), `${match[1]}.ts`));
    }
    const { outputText } = ts.transpileModule(text, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
      fileName: source,
    });
    const target = join(out, relative(ROOT, source)).replace(/\.ts$/, ".js");
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
  await writeFile(join(out, "package.json"), '{"type":"module"}');
  return out;
}

interface TrialLog {
  /** Ids whose upsert was acknowledged (and not acknowledged-deleted since). */
  readonly live: Set<string>;
  /** Ids whose delete was acknowledged (and not acknowledged-upserted since). */
  readonly deleted: Set<string>;
  /** Ids of the write that may have been in flight at the kill. */
  inFlight: { op: string; ids: string[] } | undefined;
}

/**
 * Run the child until it has acknowledged `afterAcks` writes, SIGKILL it
 * `jitterMs` later (so the kill lands at a random point of the next writes,
 * however fast or slow the machine is; at the latest 3 s after it is ready,
 * when a busy disk makes every fsync slow), and apply its log.
 */
async function runAndKill(
  build: string,
  dir: string,
  trial: number,
  kill: { readonly afterAcks: number; readonly jitterMs: number },
  log: TrialLog,
): Promise<number> {
  const child = spawn(
    process.execPath,
    [join(build, "test/store/crash-child.js"), dir, String(trial), String(1000 + trial)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let buffer = "";
  let stderr = "";
  let acknowledged = 0;
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // "close", not "exit": every line the child wrote must be read before the store is checked.
  const exited = new Promise<NodeJS.Signals | null>((resolveExit) => {
    child.on("close", (_code, signal) => resolveExit(signal));
  });
  await new Promise<void>((resolveReady, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const [kind, op, ...ids] = line.split(" ");
        if (kind === "ready") {
          setTimeout(() => child.kill("SIGKILL"), 3000);
          resolveReady();
        } else if (kind === "begin") {
          log.inFlight = { op: op as string, ids };
        } else if (kind === "ack") {
          acknowledged++;
          if (acknowledged === kill.afterAcks) setTimeout(() => child.kill("SIGKILL"), kill.jitterMs);
          log.inFlight = undefined;
          for (const id of ids) {
            if (op === "upsert") {
              log.live.add(id);
              log.deleted.delete(id);
            } else {
              log.live.delete(id);
              log.deleted.add(id);
            }
          }
        }
        newline = buffer.indexOf("\n");
      }
    });
    child.on("exit", () => reject(new Error(`child exited before ready: ${stderr}`)));
  });
  expect(await exited).toBe("SIGKILL");
  return acknowledged;
}

describe("embedded store survives SIGKILL during ingest", () => {
  let dir: string;
  let build: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "embedkit-crash-"));
    build = await buildChild();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    if (build) await rm(build, { recursive: true, force: true });
  });

  it(`keeps every acknowledged write over ${TRIALS} kills, with a consistent count and working queries`, async () => {
    const random = createRandom(20261127);
    const log: TrialLog = { live: new Set(), deleted: new Set(), inFlight: undefined };
    let totalAcknowledged = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const kill = { afterAcks: 2 + random.integer(25), jitterMs: random.integer(25) };
      totalAcknowledged += await runAndKill(build, dir, trial, kill, log);
      const store = await openEmbeddedStore({ path: dir, annThreshold: 300 });
      try {
        const collection = await store.getCollection("crash");
        // Every acknowledged upsert is there with its exact vector; every acknowledged delete is gone.
        // (The write in flight at the kill is checked below: all or nothing.)
        const live = [...log.live].filter((id) => !log.inFlight?.ids.includes(id));
        const present = await getAll(collection, live);
        expect(present.map((item) => item.id)).toEqual(live);
        for (const item of present) expect(Array.from(item.vector)).toEqual(Array.from(crashVector(item.id)));
        if (log.deleted.size > 0) {
          const resurrected = (await getAll(collection, [...log.deleted])).map((item) => item.id);
          // Only a delete that was in flight may be undone by a re-upsert in flight: neither exists here.
          expect(resurrected.filter((id) => !log.inFlight?.ids.includes(id))).toEqual([]);
        }
        // The write in flight at the kill is all or nothing.
        const inFlight = log.inFlight;
        let expectedCount = log.live.size;
        if (inFlight) {
          const found = (await collection.get(inFlight.ids)).map((item) => item.id);
          if (inFlight.op === "upsert") {
            const fresh = inFlight.ids.filter((id) => !log.live.has(id));
            const landed = found.length === inFlight.ids.length;
            expect(landed || fresh.every((id) => !found.includes(id))).toBe(true);
            if (landed) {
              expectedCount += fresh.length;
              for (const id of inFlight.ids) {
                log.live.add(id);
                log.deleted.delete(id);
              }
            }
          } else {
            const targeted = inFlight.ids.filter((id) => log.live.has(id));
            const gone = targeted.filter((id) => !found.includes(id));
            expect(gone.length === 0 || gone.length === targeted.length).toBe(true);
            if (gone.length > 0) {
              expectedCount -= gone.length;
              for (const id of gone) {
                log.live.delete(id);
                log.deleted.add(id);
              }
            }
          }
          log.inFlight = undefined;
        }
        expect(await collection.count()).toBe(expectedCount);
        expect(await collection.count("trial>=0")).toBe(expectedCount);
        // Queries work on the recovered store, exact and through the index.
        if (log.live.size === 0) continue;
        const probe = [...log.live][random.integer(log.live.size)] as string;
        const exact = await collection.query({ vector: crashVector(probe), k: 1, exact: true });
        expect(exact[0]?.id).toBe(probe);
        const approximate = await collection.query({ vector: crashVector(probe), k: 10 });
        expect(approximate).toHaveLength(Math.min(10, expectedCount));
        expect(approximate.map((hit) => hit.id)).toContain(probe);
      } finally {
        await store.close();
      }
    }
    // The kills landed during real work, not before the first write.
    expect(totalAcknowledged).toBeGreaterThanOrEqual(TRIALS);
  });
});
