/**
 * @module cli/context
 * What several commands share: opening the model store (honouring `--home`)
 * and creating an embedder with a download progress bar on first use.
 */
import { createEmbedder } from "../embed/create-embedder.js";
import type { Embedder } from "../embed/embedder.js";
import type { ModelStore } from "../models/model-store.js";
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

/** Create the embedder for `--model`, showing a progress bar while a model downloads. */
export async function openEmbedder(options: ModelCommandOptions): Promise<Embedder> {
  const bar = createProgressBar({ unit: "bytes", quiet: options.quiet ?? false });
  let current = "";
  try {
    return await createEmbedder({
      store: openStore(options),
      ...(options.model === undefined ? {} : { model: options.model }),
      onPullProgress: (progress) => {
        const key = `${progress.phase}:${progress.file}`;
        if (key !== current) {
          bar.stop();
          bar.start(progress.totalBytes ?? 0, `${progress.phase} ${progress.file}`);
          current = key;
        }
        bar.update(progress.receivedBytes, progress.totalBytes);
      },
    });
  } finally {
    bar.stop();
  }
}
