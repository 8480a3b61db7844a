/**
 * @module models/lock
 * A cross-process lock per model id, so two processes pulling the same model
 * never write the same folder at once. Built on proper-lockfile: the lock is a
 * directory next to `<home>/locks/<id>.lock` whose mtime the holder refreshes;
 * a lock not refreshed for `staleMs` (its holder crashed) is taken over.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { EmbedkitError } from "../errors.js";
import { loadLockfile } from "../internal/load-dependency.js";

/** Options of {@link withLock}. */
export interface LockOptions {
  /** The lock target file (created if missing), e.g. `<home>/locks/<id>.lock`. */
  readonly path: string;
  /** What is being locked, for messages (a model id). */
  readonly subject: string;
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** A lock not refreshed for this long belongs to a dead process. @default 10000 */
  readonly staleMs?: number;
}

/** How often a waiting process looks at the lock again. */
const POLL_MS = 200;

/**
 * Run `task` while holding the lock; the lock is released however `task` ends.
 *
 * @throws EmbedkitError LOCK_TIMEOUT when another holder keeps it longer than `timeoutMs`;
 *   INTERNAL when the lock was lost while `task` ran (then `task`'s result is discarded).
 */
export async function withLock<T>(options: LockOptions, task: () => Promise<T>): Promise<T> {
  const lockfile = await loadLockfile();
  await mkdir(dirname(options.path), { recursive: true });
  // proper-lockfile locks an existing file; "a" creates it without truncating another process's file.
  await writeFile(options.path, "", { flag: "a" });
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(options.path, {
      stale: options.staleMs ?? 10_000,
      realpath: false,
      retries: {
        retries: Math.max(0, Math.ceil(options.timeoutMs / POLL_MS)),
        factor: 1,
        minTimeout: POLL_MS,
        maxTimeout: POLL_MS,
        randomize: false,
      },
      // The default handler throws asynchronously and kills the process; record it instead.
      onCompromised: (error) => {
        compromised = error;
      },
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === "ELOCKED") {
      throw new EmbedkitError(
        "LOCK_TIMEOUT",
        `Timed out after ${options.timeoutMs} ms waiting for another embedkit process working on ` +
          `"${options.subject}" (lock ${options.path}.lock). Wait for it to finish and try again; if no ` +
          `other embedkit process is running, the lock is released automatically after ` +
          `${options.staleMs ?? 10_000} ms, or delete ${options.path}.lock.`,
        { cause: error, details: { subject: options.subject, lock: `${options.path}.lock` } },
      );
    }
    throw error;
  }
  try {
    const result = await task();
    if (compromised !== undefined) {
      throw new EmbedkitError(
        "INTERNAL",
        `The lock ${options.path}.lock on "${options.subject}" was lost while working (${compromised.message}). ` +
          "Another process may have taken it over; run the command again.",
        { cause: compromised },
      );
    }
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}
