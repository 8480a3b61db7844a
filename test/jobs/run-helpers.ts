/**
 * Helpers shared by the jobs tests: poll a run until a condition holds, check
 * that a collection holds exactly the submitted documents with the vectors of
 * a direct embed, and run the `embedkit` CLI from source as a child process.
 */
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import type { Embedder } from "../../src/embed/embedder.js";
import { type JobQueue, type RunStatus, runStatus } from "../../src/jobs/index.js";
import { openVectorStore } from "../../src/store/open-vector-store.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** A run is over: every chunk done, or nothing left to do but failed chunks. */
export const finished = (status: RunStatus): boolean => status.state === "done" || status.state === "failed";

/**
 * Poll the run every 250 ms until `until` holds; after `timeoutMs` fail with the
 * last status and `log()` (the workers' stderr).
 */
export async function waitForRun(
  queue: JobQueue,
  runId: string,
  until: (status: RunStatus) => boolean,
  options: { readonly timeoutMs?: number; readonly log?: () => string } = {},
): Promise<RunStatus> {
  const deadline = Date.now() + (options.timeoutMs ?? 150_000);
  for (;;) {
    const status = await runStatus(queue, runId);
    if (until(status)) return status;
    if (Date.now() > deadline) {
      throw new Error(
        `run ${runId} did not get there: ${JSON.stringify(status)}\nworkers:\n${options.log?.().slice(-4000) ?? ""}`,
      );
    }
    await new Promise((wait) => setTimeout(wait, 250));
  }
}

/**
 * The collection at `store` holds exactly `documents` (count, and every id found
 * with its text), and the vectors of `sample` random ones (default: all) equal
 * `embedder`'s direct embed of their texts (max abs diff < 1e-5).
 */
export async function expectStoredExactly(
  store: string,
  collectionName: string,
  documents: ReadonlyArray<{ readonly id: string; readonly text: string }>,
  embedder: Embedder,
  sample = documents.length,
): Promise<void> {
  const vectorStore = await openVectorStore(store);
  try {
    const collection = await vectorStore.getCollection(collectionName);
    expect(await collection.count()).toBe(documents.length);
    const texts = new Map<string, string | undefined>();
    for (let start = 0; start < documents.length; start += 1000) {
      const ids = documents.slice(start, start + 1000).map((document) => document.id);
      for (const item of await collection.get(ids)) texts.set(item.id, item.text);
    }
    expect(texts.size).toBe(documents.length);
    expect(documents.filter((document) => texts.get(document.id) !== document.text)).toEqual([]);

    const picked =
      sample >= documents.length
        ? documents
        : [...documents].sort(() => Math.random() - 0.5).slice(0, sample);
    const stored = new Map((await collection.get(picked.map((d) => d.id))).map((item) => [item.id, item]));
    const { vectors } = await embedder.embed(
      picked.map((d) => d.text),
      { inputType: "passage" },
    );
    let maxDiff = 0;
    picked.forEach((document, i) => {
      const vector = stored.get(document.id)?.vector;
      const expected = vectors[i] as Float32Array;
      for (let d = 0; d < expected.length; d += 1) {
        maxDiff = Math.max(maxDiff, Math.abs((vector?.[d] ?? Number.NaN) - (expected[d] as number)));
      }
    });
    expect(maxDiff).toBeLessThan(1e-5);
  } finally {
    await vectorStore.close();
  }
}

/** What a CLI child printed and its exit code. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `embedkit <args>` from source (test/jobs/cli-child.ts) and wait for it to exit. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "test/jobs/cli-child.ts"), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        done({ code, stdout, stderr });
      },
    );
  });
}
