/**
 * @module store/open-vector-store
 * One entry point from a store location to a {@link VectorStore}: nothing or a
 * plain path means the embedded store, `file://…` too; other URL schemes are
 * looked up in {@link VECTOR_STORE_BACKENDS}, whose entries import their
 * backend lazily so a database driver is only loaded when it is used.
 * Adding a backend = adding one entry to that table.
 */
import { fileURLToPath } from "node:url";
import { EmbedkitError } from "../errors.js";
import { type EmbeddedStoreOptions, openEmbeddedStore } from "./embedded/index.js";
import type { PgVectorStoreOptions } from "./pgvector-store.js";
import type { VectorStore } from "./vector-store.js";

/** Options of {@link openVectorStore} that are not part of the URL. */
export interface OpenVectorStoreOptions {
  /** embedkit home, for the default embedded location. @default process.env.EMBEDKIT_HOME ?? ~/.cache/embedkit */
  readonly home?: string;
  /** Tuning of the embedded backend (ANN threshold, HNSW parameters, durability, index build mode). */
  readonly embedded?: Omit<EmbeddedStoreOptions, "path" | "home">;
  /** Tuning of the PostgreSQL + pgvector backend (schema, pool size, ANN threshold, HNSW parameters). */
  readonly pgvector?: Omit<PgVectorStoreOptions, "url">;
}

/** Opens a store for a URL of its scheme. */
export type VectorStoreOpener = (url: string, options: OpenVectorStoreOptions) => Promise<VectorStore>;

/** PostgreSQL + pgvector, loaded (with the `pg` driver) only when a pg URL is used. */
const pgvector = async (): Promise<VectorStoreOpener> => {
  const { openPgVectorStore } = await import("./pgvector-store.js");
  return (url, options) => openPgVectorStore({ ...options.pgvector, url });
};

/**
 * Backends by URL scheme (lower case, without `:`). Each entry resolves to an
 * opener on first use.
 */
export const VECTOR_STORE_BACKENDS: Readonly<Record<string, () => Promise<VectorStoreOpener>>> =
  Object.freeze({
    file: async () => (url, options) => openEmbeddedStore({ ...options.embedded, path: fileURLToPath(url) }),
    pg: pgvector,
    postgres: pgvector,
    postgresql: pgvector,
  });

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** Hide a password in a URL before it goes into a message. */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/, "$1:***@");
}

/**
 * Open the vector store at `location`: omitted → the embedded store under
 * `<home>/collections`; a path or `file://` URL → the embedded store there;
 * `postgres://…` and other registered schemes → that backend.
 *
 * @throws EmbedkitError INVALID_OPTION for an unknown scheme; whatever the backend throws
 * @example
 * ```ts
 * const local = await openVectorStore();                          // embedded, zero setup
 * const shared = await openVectorStore("postgres://app@db/app");  // same interface on pgvector
 * ```
 */
export async function openVectorStore(
  location?: string,
  options: OpenVectorStoreOptions = {},
): Promise<VectorStore> {
  if (location === undefined || location === "") {
    return openEmbeddedStore({
      ...options.embedded,
      ...(options.home === undefined ? {} : { home: options.home }),
    });
  }
  const scheme = SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return openEmbeddedStore({ ...options.embedded, path: location });
  const backend = VECTOR_STORE_BACKENDS[scheme];
  if (backend === undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Unknown vector store URL scheme "${scheme}:" in ${redactUrl(location)}. Use a folder path for the embedded store, ` +
        `or one of: ${Object.keys(VECTOR_STORE_BACKENDS)
          .map((name) => `${name}://`)
          .join(", ")}.`,
      { details: { option: "store", scheme } },
    );
  }
  const open = await backend();
  return open(location, options);
}
