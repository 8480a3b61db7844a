/**
 * @module models/download
 * Streaming HTTP download with resume and retries, built on Node's global
 * `fetch`. Bytes go straight to a `.part` file while their sha256 is computed;
 * when a `.part` already exists the download continues with an HTTP `Range`
 * request (and starts over when the server ignores it). Transient failures
 * (connection resets, 5xx, 408, 429) are retried with exponential backoff; the
 * `.part` is always kept so the next attempt resumes. Deciding whether the bytes
 * are the right ones (pinned sha256) is the caller's job.
 */
import type { Hash } from "node:crypto";
import { open, rm, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { EmbedkitError } from "../errors.js";
import { createSha256, updateHashFromFile } from "./hash.js";

/** Options of {@link downloadFile}. */
export interface DownloadOptions {
  readonly url: string;
  /** Where the bytes go; an existing file is resumed. */
  readonly partPath: string;
  /** Expected size, when pinned: never read more, and skip the request when the part is already complete. */
  readonly expectedBytes?: number;
  /** Extra request headers (e.g. `Authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Called after every chunk with the bytes on disk so far and the total when known. */
  readonly onProgress?: (receivedBytes: number, totalBytes: number | undefined) => void;
  readonly signal?: AbortSignal;
  /** Retries after the first attempt for transient failures. @default 2 */
  readonly retries?: number;
  /** Delay before the first retry; doubles each time. @default 500 */
  readonly retryDelayMs?: number;
}

/** What {@link downloadFile} wrote. */
export interface DownloadResult {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** An HTTP status that is not a success, kept apart to decide whether to retry. */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly statusText: string,
  ) {
    super(`HTTP ${status}${statusText ? ` ${statusText}` : ""}`);
  }
}

/** 5xx, 408 (timeout) and 429 (rate limited) may succeed on a later attempt. */
function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** Network-level failures (reset, refused, cut body) are transient; HTTP 4xx and aborts are not. */
function isTransient(error: unknown): boolean {
  if (error instanceof HttpStatusError) return isTransientStatus(error.status);
  if (error instanceof Error && error.name === "AbortError") return false;
  return !EmbedkitError.isInstance(error);
}

/** The innermost message of a fetch error (`fetch failed` hides the real reason in `cause`). */
function describeFailure(error: unknown): string {
  if (error instanceof HttpStatusError) return error.message;
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === "string" ? `${current.message} (${code})` : current.message);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join(": ") : String(error);
}

/** Turn a final failure into the DOWNLOAD_FAILED the caller sees. */
function downloadFailed(
  url: string,
  partPath: string | undefined,
  error: unknown,
  attempts: number,
): EmbedkitError {
  const status = error instanceof HttpStatusError ? error.status : undefined;
  let hint =
    "Check the network connection, proxy and the mirror settings (EMBEDKIT_MAVEN_URL, " +
    "EMBEDKIT_NPM_REGISTRY / npm_config_registry, HF_ENDPOINT), then run the pull again" +
    (partPath === undefined ? "." : `; the partial download in ${partPath} is kept and resumes.`);
  if (status === 404) hint = "The file does not exist there: check the model name, revision and mirror URL.";
  if (status === 401 || status === 403) {
    hint = "Access was refused: for a gated or private Hugging Face model set HF_TOKEN to an access token.";
  }
  return new EmbedkitError(
    "DOWNLOAD_FAILED",
    `Download of ${url} failed${status === undefined ? "" : ` with HTTP ${status}`} after ${attempts} attempt(s): ` +
      `${describeFailure(error)}. ${hint}`,
    { cause: error, details: { url, status: status ?? null, partPath: partPath ?? null, attempts } },
  );
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** Parse `bytes <start>-<end>/<total>`; `undefined` when absent or malformed. */
function parseContentRange(value: string | null): { start: number; total: number | undefined } | undefined {
  const match = value === null ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim());
  if (match === null) return undefined;
  return { start: Number(match[1]), total: match[3] === "*" ? undefined : Number(match[3]) };
}

/** One HTTP request: resume from the `.part` if the server honours `Range`, else start from 0. */
async function attemptDownload(options: DownloadOptions): Promise<DownloadResult> {
  const { url, partPath, expectedBytes } = options;
  let hash: Hash = createSha256();
  let offset = (await fileSize(partPath)) ?? 0;
  if (expectedBytes !== undefined && offset > expectedBytes) {
    // Longer than the pinned size: it cannot be a prefix of the right file.
    await rm(partPath, { force: true });
    offset = 0;
  }
  if (offset > 0) await updateHashFromFile(hash, partPath);
  if (expectedBytes !== undefined && offset === expectedBytes) {
    // A previous run got every byte but failed later (e.g. during extraction).
    options.onProgress?.(offset, expectedBytes);
    return { path: partPath, sha256: hash.digest("hex"), bytes: offset };
  }

  // `identity`: a compressed transfer would be decoded by fetch and break byte ranges.
  const headers: Record<string, string> = { "accept-encoding": "identity", ...options.headers };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  const response = await fetch(url, {
    headers,
    redirect: "follow",
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (response.status === 416 && offset > 0) {
    // The part is not a prefix the server recognises: drop it and let the retry start over.
    await response.body?.cancel();
    await rm(partPath, { force: true });
    throw new Error(`server refused to resume at byte ${offset} (HTTP 416); starting over`);
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new HttpStatusError(response.status, response.statusText);
  }
  if (offset > 0) {
    const range = parseContentRange(response.headers.get("content-range"));
    if (response.status !== 206 || range === undefined || range.start !== offset) {
      // The server ignored Range (200) or answered another range: restart from byte 0.
      hash = createSha256();
      offset = 0;
    }
  }
  const length = Number(response.headers.get("content-length") ?? Number.NaN);
  const totalBytes = expectedBytes ?? (Number.isFinite(length) ? offset + length : undefined);

  const file = await open(partPath, offset > 0 ? "a" : "w");
  let received = offset;
  try {
    for await (const chunk of response.body) {
      const buffer = chunk as Uint8Array;
      await file.write(buffer);
      hash.update(buffer);
      received += buffer.length;
      options.onProgress?.(received, totalBytes);
      // More than the pin: the caller reports a mismatch; no point reading further.
      if (expectedBytes !== undefined && received > expectedBytes) break;
    }
  } finally {
    await file.close();
  }
  if (Number.isFinite(length) && received < offset + length) {
    throw new Error(`connection closed after ${received} of ${offset + length} bytes`);
  }
  return { path: partPath, sha256: hash.digest("hex"), bytes: received };
}

/**
 * Download `url` into `partPath`, resuming and retrying as described in the module.
 *
 * @throws EmbedkitError DOWNLOAD_FAILED (with url, HTTP status and the kept `.part`)
 *   once retries are exhausted or on a non-transient HTTP status; the signal's
 *   reason when aborted.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const retries = options.retries ?? 2;
  const retryDelayMs = options.retryDelayMs ?? 500;
  for (let attempt = 0; ; attempt++) {
    try {
      return await attemptDownload(options);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!isTransient(error) || attempt >= retries) {
        throw downloadFailed(options.url, options.partPath, error, attempt + 1);
      }
      await sleep(retryDelayMs * 2 ** attempt, undefined, options.signal ? { signal: options.signal } : {});
    }
  }
}

/**
 * GET a small JSON document (a model's config). `undefined` on 404 when
 * `optional`; transient failures are retried like downloads.
 * @throws EmbedkitError DOWNLOAD_FAILED, MALFORMED_FILE
 */
export async function fetchJson(
  url: string,
  options: {
    readonly headers?: Readonly<Record<string, string>>;
    readonly optional?: boolean;
    readonly retries?: number;
    readonly retryDelayMs?: number;
    readonly signal?: AbortSignal;
  } = {},
): Promise<unknown> {
  const retries = options.retries ?? 2;
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(url, {
        headers: { accept: "application/json", ...options.headers },
        redirect: "follow",
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (response.status === 404 && options.optional) {
        await response.body?.cancel();
        return undefined;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new HttpStatusError(response.status, response.statusText);
      }
      const text = await response.text();
      try {
        return JSON.parse(text) as unknown;
      } catch (cause) {
        throw new EmbedkitError(
          "MALFORMED_FILE",
          `${url} is not valid JSON (${(cause as Error).message}). Expected a model configuration file; ` +
            "check the repository and revision.",
          { cause, details: { url } },
        );
      }
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (EmbedkitError.isInstance(error)) throw error;
      if (!isTransient(error) || attempt >= retries) {
        throw downloadFailed(url, undefined, error, attempt + 1);
      }
      await sleep((options.retryDelayMs ?? 500) * 2 ** attempt);
    }
  }
}
