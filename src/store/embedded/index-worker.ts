/**
 * @module store/embedded/index-worker
 * Worker-thread entry of an HNSW build: runs {@link runBuild} on the job in
 * `workerData` and posts `{ result }` or `{ error }` back. The graph stays in
 * the worker (and dies with it); the main thread loads the written file.
 */
import { parentPort, workerData } from "node:worker_threads";
import { loadHnswlib, loadSqlite } from "../../internal/load-dependency.js";
import { type BuildJob, type BuildResult, runBuild } from "./build.js";

/** The message a build worker posts when it finishes. */
export type WorkerReply =
  | { readonly result: BuildResult; readonly error?: undefined }
  | { readonly result?: undefined; readonly error: { readonly message: string; readonly code?: string } };

let reply: WorkerReply;
try {
  // The native addons load on first use (src/internal/load-dependency.ts), in this thread too.
  await Promise.all([loadSqlite(), loadHnswlib()]);
  const { result, index } = runBuild(workerData as BuildJob);
  // Free the graph before replying: the main thread loads the written file
  // next, and two copies of a large graph must not be resident at once.
  index?.release();
  reply = { result };
} catch (error) {
  const code = (error as { code?: unknown }).code;
  reply = {
    error: {
      message: error instanceof Error ? error.message : String(error),
      ...(typeof code === "string" ? { code } : {}),
    },
  };
}
parentPort?.postMessage(reply);
