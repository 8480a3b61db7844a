/**
 * @module models/model-store
 * The contract of the model store: a cache folder (`EMBEDKIT_HOME`, default
 * `~/.cache/embedkit`) holding pulled models, each verified by sha256 before use.
 * Types only; the implementation lives in `store-impl.ts` (createModelStore).
 */
import type { ModelFileRole, ModelSpec } from "./model-spec.js";

/** Progress of a pull, reported as bytes arrive. */
export interface PullProgress {
  readonly model: string;
  readonly phase: "download" | "extract" | "verify";
  /** File or artifact being processed. */
  readonly file: string;
  readonly receivedBytes: number;
  /** Total bytes, when known. */
  readonly totalBytes?: number;
}

/** Options of {@link ModelStore.pull} and {@link ModelStore.ensure}. */
export interface PullOptions {
  /** Called as bytes arrive (throttled by the caller if needed). */
  readonly onProgress?: (progress: PullProgress) => void;
  /** Cancels the pull; partial downloads are kept for resume, never trusted. */
  readonly signal?: AbortSignal;
  /** Re-download even if a verified copy exists. @default false */
  readonly force?: boolean;
}

/** A model whose files are present in the cache and verified. */
export interface PulledModel {
  readonly spec: ModelSpec;
  /** Folder holding the model's files. */
  readonly dir: string;
  /** Absolute path of each file, by {@link ModelFile.name}. */
  readonly paths: Readonly<Record<string, string>>;
  /** Absolute path of the file with the given role. @throws EmbedkitError CORRUPT_MODEL when the model has no such file */
  path(role: ModelFileRole): string;
}

/** Result of {@link ModelStore.verify}. */
export interface VerifyReport {
  readonly model: string;
  readonly ok: boolean;
  readonly files: readonly {
    readonly name: string;
    readonly expectedSha256: string;
    readonly actualSha256: string | null;
    readonly ok: boolean;
  }[];
}

/** One model present in the cache. */
export interface InstalledModel {
  readonly id: string;
  readonly dir: string;
  readonly bytes: number;
  readonly pulledAt: string;
  readonly source: string;
}

/** The model cache. */
export interface ModelStore {
  /** Root folder of the cache. */
  readonly home: string;
  /**
   * Resolve a model name to a spec: a catalog id/alias, `dir:/path` (a local folder
   * with model.onnx + tokenizer.json [+ config.json]) or `hf:owner/name[@revision]`.
   * @throws EmbedkitError UNKNOWN_MODEL
   */
  resolve(model: string | ModelSpec): Promise<ModelSpec>;
  /** Download, verify and install a model (idempotent; safe across processes). */
  pull(model: string | ModelSpec, options?: PullOptions): Promise<PulledModel>;
  /** Return the verified local copy, pulling it first if missing. */
  ensure(model: string | ModelSpec, options?: PullOptions): Promise<PulledModel>;
  /** Return the verified local copy. @throws EmbedkitError MODEL_NOT_PULLED, CHECKSUM_MISMATCH */
  open(model: string | ModelSpec): Promise<PulledModel>;
  /** Re-hash every file of an installed model against its pinned sha256. */
  verify(model: string | ModelSpec): Promise<VerifyReport>;
  /** Models present in the cache. */
  list(): Promise<readonly InstalledModel[]>;
  /** Delete a model from the cache; false when it was not there. */
  remove(model: string | ModelSpec): Promise<boolean>;
}
