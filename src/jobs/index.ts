/**
 * @module jobs
 * Distributed indexing on BullMQ + Redis: submit a document file as chunk
 * jobs, run workers that embed and upsert them into a vector store, and follow,
 * cancel or retry runs. See docs/JOBS.md. Re-exports only.
 */
export {
  contentId,
  type DocumentFileFormat,
  type DocumentStreamOptions,
  type LocatedDocument,
  readDocumentStream,
} from "./input.js";
export {
  type ChunkDocument,
  type ChunkJobData,
  chunkJobId,
  type JobQueue,
  type OpenJobQueueOptions,
  openJobQueue,
  probeQueue,
  withJobQueue,
} from "./queue.js";
export {
  cancelRun,
  type FailedChunk,
  listRuns,
  type RetryFailedOptions,
  type RunState,
  type RunStatus,
  retryFailed,
  runStatus,
  type SubmitOptions,
  type SubmitResult,
  submitRun,
} from "./runs.js";
export { type JobWorker, startWorker, type WorkerEvent, type WorkerOptions } from "./worker.js";
