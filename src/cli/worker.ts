/**
 * @module cli/worker
 * `embedkit worker --queue redis://…`: process chunk jobs of `jobs submit`
 * until SIGTERM/SIGINT, then finish the current chunks and exit.
 */
import { Command } from "commander";
import { EmbedkitError } from "../errors.js";
import { startWorker } from "../jobs/index.js";
import { openStore } from "./context.js";
import { EXIT, parsePositiveInteger } from "./io.js";

interface WorkerCommandOptions {
  readonly queue?: string;
  readonly concurrency: number;
  readonly threads?: number;
  readonly model?: string;
  readonly home?: string;
  readonly batchSize: number;
  readonly lockDuration: number;
  readonly stalledInterval: number;
  readonly maxStalledCount: number;
  readonly quiet?: boolean;
}

/** Build the `worker` command. */
export function workerCommand(): Command {
  return new Command("worker")
    .description("Embed and index chunk jobs from the queue into the store each job names, until SIGTERM")
    .option("--queue <url>", "Redis URL of the job queue (default: $EMBEDKIT_QUEUE)")
    .option("--concurrency <n>", "chunks processed at once", parsePositiveInteger, 1)
    .option("--threads <n>", "inference threads per model (default: all cores)", parsePositiveInteger)
    .option("-m, --model <id>", "only index collections of this model (others fail with MODEL_MISMATCH)")
    .option(
      "--home <dir>",
      "embedkit home for the model cache (default: $EMBEDKIT_HOME or ~/.cache/embedkit)",
    )
    .option("--batch-size <n>", "documents embedded and written per step", parsePositiveInteger, 64)
    .option(
      "--lock-duration <ms>",
      "a chunk whose worker is silent this long is handed to another",
      parsePositiveInteger,
      30_000,
    )
    .option(
      "--stalled-interval <ms>",
      "how often stalled chunks are looked for",
      parsePositiveInteger,
      30_000,
    )
    .option(
      "--max-stalled-count <n>",
      "how often a chunk may lose its worker (crash, kill) before it is failed",
      parsePositiveInteger,
      3,
    )
    .option("-q, --quiet", 'no per-chunk log lines (the "worker ready" line is still printed)')
    .addHelpText(
      "after",
      `
Examples:
  embedkit worker --queue redis://127.0.0.1:6379 --concurrency 1 --threads 2
  EMBEDKIT_QUEUE=redis://:secret@queue-host:6379 embedkit worker -m all-minilm-l6-v2
SIGTERM or Ctrl-C: the chunks in progress finish, then the worker exits (at once when Redis is
unreachable, or on a second signal; an unfinished chunk is run again by another worker).`,
    )
    .action(async (options: WorkerCommandOptions) => {
      const url = options.queue ?? process.env.EMBEDKIT_QUEUE;
      if (url === undefined || url === "") {
        throw new EmbedkitError(
          "INVALID_OPTION",
          "No job queue: pass --queue redis://host:port or set EMBEDKIT_QUEUE.",
        );
      }
      const log = (line: string) => {
        if (!options.quiet) process.stderr.write(`${new Date().toISOString()} ${line}\n`);
      };
      const worker = await startWorker(url, {
        concurrency: options.concurrency,
        ...(options.threads === undefined ? {} : { threads: options.threads }),
        ...(options.model === undefined ? {} : { model: options.model }),
        modelStore: openStore(options),
        batchSize: options.batchSize,
        lockDurationMs: options.lockDuration,
        stalledIntervalMs: options.stalledInterval,
        maxStalledCount: options.maxStalledCount,
        onEvent: (event) => {
          if (event.type === "completed") {
            log(
              `run ${event.runId} chunk ${event.index}: ${event.documents} docs (${event.embedded} embedded)`,
            );
          } else if (event.type === "failed") {
            log(
              `run ${event.runId} chunk ${event.index} ${event.final ? "FAILED" : "failed, will retry"}: ${event.error}`,
            );
          } else log(`run ${event.runId} chunk ${event.index} skipped: ${event.reason}`);
        },
      });
      // Always printed (also with -q): supervisors and tests wait for it.
      process.stderr.write(
        `${new Date().toISOString()} worker ready (pid ${process.pid}, concurrency ${options.concurrency})\n`,
      );
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) {
            // A second signal: stop now (a chunk in progress is run again by another worker).
            process.stderr.write(`${new Date().toISOString()} ${signal} again: exiting now\n`);
            process.exit(EXIT.user);
          }
          stopping = true;
          log(`${signal}: finishing current chunks (send it again to exit at once)`);
          void worker.close().then(resolve, resolve);
        };
        process.on("SIGTERM", () => stop("SIGTERM"));
        process.on("SIGINT", () => stop("SIGINT"));
      });
      log("worker stopped");
    });
}
