/**
 * @module cli/jobs
 * `embedkit jobs submit|status|list|cancel|retry-failed`: distributed indexing
 * runs on a BullMQ queue in Redis (see docs/JOBS.md). Thin: parse → jobs/ → print.
 */
import { Command, Option } from "commander";
import { EmbedkitError } from "../errors.js";
import {
  cancelRun,
  listRuns,
  type RunStatus,
  retryFailed,
  runStatus,
  submitRun,
  withJobQueue,
} from "../jobs/index.js";
import { openStore } from "./context.js";
import { parsePositiveInteger, printJson, printLine } from "./io.js";
import { addMetadataOptions, metadataReading } from "./metadata-options.js";

interface QueueOptions {
  readonly queue?: string;
  readonly json?: boolean;
}

function queueUrl(options: QueueOptions): string {
  const url = options.queue ?? process.env.EMBEDKIT_QUEUE;
  if (url === undefined || url === "") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "No job queue: pass --queue redis://host:port or set EMBEDKIT_QUEUE (scripts/redis-start.sh starts a local Redis and prints its URL).",
    );
  }
  return url;
}

function queueOption(command: Command): Command {
  return command.option(
    "--queue <url>",
    "Redis URL of the job queue, redis://[:password@]host:port (default: $EMBEDKIT_QUEUE)",
  );
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

/** One status as text: a progress bar line, rates, and the failed chunks with their errors. */
export function formatStatus(status: RunStatus): string {
  const width = 30;
  const { total, done, failed, active, pending } = status.chunks;
  const filled = total === 0 ? 0 : Math.round((done / total) * width);
  const broken = total === 0 ? 0 : Math.min(width - filled, Math.ceil((failed / total) * width));
  const bar = `${"#".repeat(filled)}${"x".repeat(broken)}${"-".repeat(width - filled - broken)}`;
  const rate = status.docsPerSecond === null ? "– docs/s" : `${status.docsPerSecond.toFixed(1)} docs/s`;
  const eta = status.etaSeconds === null ? "" : ` · ETA ${duration(status.etaSeconds)}`;
  const lines = [
    `run ${status.runId} (${status.state}) → "${status.collection}" in ${status.store} [${status.model}]`,
    `[${bar}] ${done}/${total} chunks done, ${failed} failed, ${active} active, ${pending} pending · ` +
      `${status.documents.done}/${status.documents.total} docs · ${rate}${eta}`,
  ];
  const time = status.workerTime;
  if (time.seconds > 0) {
    const share = (seconds: number) => `${((seconds / time.seconds) * 100).toFixed(0)} %`;
    lines.push(
      `worker time ${time.seconds.toFixed(1)} s: store writes ${share(time.storeWriteSeconds)}, ` +
        `store reads ${share(time.storeReadSeconds)}, embedding and the rest ${share(time.seconds - time.storeWriteSeconds - time.storeReadSeconds)}`,
    );
  }
  for (const failure of status.failures) {
    lines.push(`  chunk ${failure.index} failed after ${failure.attempts} attempt(s): ${failure.error}`);
  }
  return lines.join("\n");
}

function submitCommand(): Command {
  return queueOption(
    addMetadataOptions(new Command("submit"))
      .description(
        "Stream a document file into chunk jobs for `embedkit worker`; prints the run id. Idempotent.",
      )
      .argument("<collection>", "collection name (created for the model when missing)")
      .requiredOption(
        "-f, --file <path>",
        "documents: .jsonl, .csv/.tsv (header row) or .txt (one per line); streamed",
      )
      .requiredOption(
        "--store <location>",
        "vector store every worker writes to: postgres://user:pass@host/db (or an embedded store folder, same host only)",
      )
      .option("--text-field <name>", "field/column holding the text", "text")
      .option("--id-field <name>", "field/column holding a unique id (default: a hash of the text)")
      .option(
        "-m, --model <id>",
        "model of a new collection (default: all-minilm-l6-v2); an existing one keeps its own",
      )
      .option("--chunk-size <n>", "documents per job", parsePositiveInteger, 1000)
      .option(
        "--attempts <n>",
        "attempts per chunk before it goes to the failed set",
        parsePositiveInteger,
        5,
      )
      .option("--backoff <ms>", "first retry delay, doubled on each attempt", parsePositiveInteger, 2000)
      .option("--no-truncate", "fail over-long texts (INPUT_TOO_LONG) instead of truncating them")
      .option(
        "--home <dir>",
        "embedkit home for the model cache (default: $EMBEDKIT_HOME or ~/.cache/embedkit)",
      )
      .option("--json", "print a JSON summary"),
  )
    .addHelpText(
      "after",
      `
Examples:
  url=$(scripts/redis-start.sh)                                 # a local Redis, if you have none
  embedkit jobs submit docs -f big.jsonl --id-field id --store postgres://app:secret@db/app --queue $url
  embedkit worker --queue $url --concurrency 1 --threads 2      # on every machine
  embedkit jobs status <run> --queue $url`,
    )
    .action(
      async (
        collection: string,
        options: QueueOptions & {
          file: string;
          store: string;
          textField: string;
          idField?: string;
          metadataFields?: string;
          metadataTypes?: string;
          model?: string;
          chunkSize: number;
          attempts: number;
          backoff: number;
          truncate: boolean;
          home?: string;
        },
      ) => {
        const result = await withJobQueue(queueUrl(options), (queue) =>
          submitRun(queue, collection, options.file, {
            store: options.store,
            textField: options.textField,
            ...(options.idField === undefined ? {} : { idField: options.idField }),
            ...metadataReading(options),
            ...(options.model === undefined ? {} : { model: options.model }),
            chunkSize: options.chunkSize,
            attempts: options.attempts,
            backoffMs: options.backoff,
            truncate: options.truncate,
            modelStore: openStore(options),
          }),
        );
        if (options.json) printJson(result);
        else {
          printLine(result.runId);
          process.stderr.write(
            `${result.resubmitted ? "Resubmitted" : "Submitted"} run ${result.runId}: ${result.documents} documents in ${result.chunks} chunks ` +
              `for "${result.collection}" (${result.model}); ${result.enqueued} chunk jobs added.\n`,
          );
        }
      },
    );
}

function statusCommand(): Command {
  return queueOption(
    new Command("status")
      .description("Progress of a run: chunks done/failed, documents/s, ETA, and the failed chunks' errors")
      .argument("<run>", "run id printed by jobs submit")
      .option("--watch", "refresh every second until the run is done, failed or cancelled")
      .option("--json", "print the status as JSON"),
  ).action(async (run: string, options: QueueOptions & { watch?: boolean }) => {
    await withJobQueue(queueUrl(options), async (queue) => {
      for (;;) {
        const status = await runStatus(queue, run);
        const finished = status.state === "done" || status.state === "failed" || status.state === "cancelled";
        if (options.json) printJson(status);
        else printLine(formatStatus(status));
        if (!options.watch || finished) return;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    });
  });
}

function listCommand(): Command {
  return queueOption(
    new Command("list").description("Every run on the queue, newest first").option("--json", "print JSON"),
  ).action(async (options: QueueOptions) => {
    const runs = await withJobQueue(queueUrl(options), listRuns);
    if (options.json) printJson(runs);
    else if (runs.length === 0) printLine("No runs.");
    else for (const status of runs) printLine(formatStatus(status));
  });
}

function cancelCommand(): Command {
  return queueOption(
    new Command("cancel")
      .description("Cancel a run: pending and failed chunks are removed; chunks being processed finish")
      .argument("<run>", "run id"),
  ).action(async (run: string, options: QueueOptions) => {
    const removed = await withJobQueue(queueUrl(options), (queue) => cancelRun(queue, run));
    printLine(`Cancelled run ${run}: ${removed} chunk jobs removed (submit the same file again to resume).`);
  });
}

function retryCommand(): Command {
  return queueOption(
    new Command("retry-failed")
      .description("Re-queue a run's failed chunks (the dead letter) with fresh attempts")
      .argument("<run>", "run id")
      .addOption(
        new Option(
          "--truncate <on|off>",
          "change the chunks' truncation before retrying (fix for INPUT_TOO_LONG)",
        ).choices(["on", "off"]),
      ),
  )
    .addHelpText(
      "after",
      "\nExample:\n  embedkit jobs retry-failed 3f2a9c0d1e4b5a6f --truncate on --queue redis://127.0.0.1:6379",
    )
    .action(async (run: string, options: QueueOptions & { truncate?: "on" | "off" }) => {
      const retried = await withJobQueue(queueUrl(options), (queue) =>
        retryFailed(
          queue,
          run,
          options.truncate === undefined ? {} : { truncate: options.truncate === "on" },
        ),
      );
      printLine(`Re-queued ${retried} failed chunks of run ${run}.`);
    });
}

/** Build the `jobs` command. */
export function jobsCommand(): Command {
  return new Command("jobs")
    .description(
      "Distributed indexing on a Redis queue: submit files, follow, cancel and retry runs (see docs/JOBS.md)",
    )
    .addCommand(submitCommand())
    .addCommand(statusCommand())
    .addCommand(listCommand())
    .addCommand(cancelCommand())
    .addCommand(retryCommand());
}
