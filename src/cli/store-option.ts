/**
 * @module cli/store-option
 * The `--store` option shared by the vector collection commands (`index`,
 * `search`, `collections`): where the store lives, and a helper that opens it
 * for the duration of one command.
 */
import type { Command } from "commander";
import { openVectorStore } from "../store/open-vector-store.js";
import type { VectorStore } from "../store/vector-store.js";

/** Options of a command that uses a vector store. */
export interface StoreCommandOptions {
  readonly store?: string;
  readonly home?: string;
  /** HNSW search breadth for this command's queries (commands that offer `--ef-search`). */
  readonly efSearch?: number;
}

/** Add `--store` and `--home` to a command. */
export function addStoreOptions(command: Command): Command {
  return command
    .option(
      "--store <location>",
      "vector store: a folder for the embedded store, or postgres://user:pass@host/db for pgvector " +
        "(default: $EMBEDKIT_STORE, else <home>/collections)",
    )
    .option(
      "--home <dir>",
      "embedkit home: model cache and default store (default: $EMBEDKIT_HOME or ~/.cache/embedkit)",
    );
}

/** Open the store of `--store` / EMBEDKIT_STORE / the default, run `work`, and close it. */
export async function withVectorStore<T>(
  options: StoreCommandOptions,
  work: (store: VectorStore) => Promise<T>,
): Promise<T> {
  const location = options.store ?? process.env.EMBEDKIT_STORE;
  // A one-shot command has no other requests to keep answering: the embedded store builds its HNSW
  // graph in the query that needs it (and snapshots it), so the next command opens the graph instead
  // of scanning exactly while a background build would be cancelled at close.
  const store = await openVectorStore(location, {
    ...(options.home === undefined ? {} : { home: options.home }),
    embedded: {
      indexBuild: "blocking",
      ...(options.efSearch === undefined ? {} : { hnsw: { efSearch: options.efSearch } }),
    },
    ...(options.efSearch === undefined ? {} : { pgvector: { efSearch: options.efSearch } }),
  });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
