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

/** Create a {@link PullProgressDisplay} on stderr (hidden when `quiet` or not a TTY). */
export function createPullProgress(quiet: boolean): PullProgressDisplay {
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
