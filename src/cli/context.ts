/**
 * @module cli/context
 * What several commands share: opening the model store (honouring `--home`)
 * and creating an embedder with a download progress bar on first use.
 */
import { createEmbedder } from "../embed/create-embedder.js";
import type { Embedder } from "../embed/embedder.js";
import type { ModelStore, PullProgress } from "../models/model-store.js";
import { createModelStore } from "../models/store-impl.js";
import { createProgressBar } from "./io.js";

/** Options every model-using command accepts. */
export interface ModelCommandOptions {
  readonly model?: string;
  readonly home?: string;
  readonly quiet?: boolean;
}

/** Open the model store at `--home` or EMBEDKIT_HOME. */
export function openStore(options: { readonly home?: string }): ModelStore {
  return createModelStore(options.home === undefined ? {} : { home: options.home });
}

/** A progress display for model pulls: one bar per phase and file. */
export interface PullProgressDisplay {
  readonly onProgress: (progress: PullProgress) => void;
  stop(): void;
}

/** Share of a file between two progress lines when stderr is not a terminal. */
const LINE_STEP = 0.1;

/** `86213376` → `86.2 MB` (decimal units, as `models list`). */
function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Line-based pull progress for logs (stderr not a terminal): a line when a file starts, one each
 * time it passes another 10 % (every 10 MB when its size is unknown), and one when it is done —
 * so a first-use download is never a minute of silence in CI or `docker logs`.
 */
export function createLinePullProgress(write: (line: string) => void): PullProgressDisplay {
  let current = "";
  let nextMark = 0;
  let finished = false;
  return {
    onProgress(progress) {
      const key = `${progress.model}:${progress.phase}:${progress.file}`;
      const total = progress.totalBytes;
      const name = `${progress.model}: ${progress.phase} ${progress.file}`;
      if (key !== current) {
        current = key;
        finished = false;
        nextMark = total === undefined || total === 0 ? 10e6 : LINE_STEP;
        // A step that reports once, complete (verifying a file), is one line.
        if (total === undefined || total === 0 || progress.receivedBytes < total) {
          write(`${name} started${total === undefined ? "" : ` (${megabytes(total)})`}`);
        }
      }
      if (finished) return;
      if (total !== undefined && total > 0) {
        const share = progress.receivedBytes / total;
        if (share >= 1) {
          finished = true;
          write(`${name} done (${megabytes(total)})`);
          return;
        }
        if (share < nextMark) return;
        write(
          `${name} ${Math.floor(share * 100)}% (${megabytes(progress.receivedBytes)} of ${megabytes(total)})`,
        );
        nextMark = (Math.floor(share / LINE_STEP) + 1) * LINE_STEP;
        return;
      }
      if (progress.receivedBytes < nextMark) return;
      write(`${name} ${megabytes(progress.receivedBytes)}`);
      nextMark = (Math.floor(progress.receivedBytes / 10e6) + 1) * 10e6;
    },
    stop() {
      current = "";
    },
  };
}

/**
 * Create a {@link PullProgressDisplay} on stderr: a bar on a terminal (or with `EMBEDKIT_PROGRESS=1`),
 * progress lines otherwise ({@link createLinePullProgress}); nothing when `quiet` or `EMBEDKIT_PROGRESS=0`.
 */
export function createPullProgress(quiet: boolean): PullProgressDisplay {
  const forced = process.env.EMBEDKIT_PROGRESS;
  if (!quiet && forced !== "0" && forced !== "1" && process.stderr.isTTY !== true) {
    return createLinePullProgress((line) => process.stderr.write(`embedkit: ${line}\n`));
  }
  const bar = createProgressBar({ unit: "bytes", quiet });
  let current = "";
  return {
    onProgress(progress) {
      const key = `${progress.phase}:${progress.file}`;
      if (key !== current) {
        bar.stop();
        bar.start(progress.totalBytes ?? 0, `${progress.phase} ${progress.file}`);
        current = key;
      }
      bar.update(progress.receivedBytes, progress.totalBytes);
    },
    stop() {
      bar.stop();
      current = "";
    },
  };
}

/** Create the embedder for `--model`, showing a progress bar while a model downloads. */
export async function openEmbedder(options: ModelCommandOptions): Promise<Embedder> {
  const progress = createPullProgress(options.quiet ?? false);
  try {
    return await createEmbedder({
      store: openStore(options),
      ...(options.model === undefined ? {} : { model: options.model }),
      onPullProgress: progress.onProgress,
    });
  } finally {
    progress.stop();
  }
}
