/**
 * @module embed/media/ffmpeg
 * The one place that runs the external `ffmpeg` / `ffprobe` programs (Debian
 * package `ffmpeg`; `scripts/ensure-ffmpeg.sh` installs it). Audio decoding
 * and video frame sampling go through here, so a missing binary, a probe that
 * fails and an output over its byte cap all raise the same clear errors.
 * {@link runMediaTool} collects a program's whole output (audio, probes);
 * {@link streamMediaTool} hands it over in fixed-size records (raw video frames),
 * one batch at a time, reading at most one batch ahead of the consumer, so
 * memory stays two batches however long the input is.
 * Binaries are found on PATH, or at `EMBEDKIT_FFMPEG` / `EMBEDKIT_FFPROBE`.
 */
import { spawn } from "node:child_process";
import { EmbedkitError } from "../../errors.js";

/** Where the ffmpeg binaries are; defaults come from the environment. */
export interface FfmpegPaths {
  /** @default process.env.EMBEDKIT_FFMPEG ?? "ffmpeg" */
  readonly ffmpeg?: string;
  /** @default process.env.EMBEDKIT_FFPROBE ?? "ffprobe" */
  readonly ffprobe?: string;
}

/** Resolve the binary names from options and the environment. */
export function ffmpegBinaries(paths: FfmpegPaths = {}): { ffmpeg: string; ffprobe: string } {
  return {
    ffmpeg: paths.ffmpeg ?? process.env.EMBEDKIT_FFMPEG ?? "ffmpeg",
    ffprobe: paths.ffprobe ?? process.env.EMBEDKIT_FFPROBE ?? "ffprobe",
  };
}

function missing(binary: string, cause: unknown): EmbedkitError {
  return new EmbedkitError(
    "DEPENDENCY_MISSING",
    `Cannot run "${binary}": it is not installed or not on PATH. Decoding this media needs ffmpeg/ffprobe. ` +
      "Fix: install Debian's ffmpeg (`apt-get install -y ffmpeg`, or `bash scripts/ensure-ffmpeg.sh` in a " +
      "checkout), or point EMBEDKIT_FFMPEG / EMBEDKIT_FFPROBE at the binaries.",
    { cause, details: { binary } },
  );
}

/** Options of {@link runMediaTool}. */
export interface RunMediaToolOptions {
  /** Bytes written to the program's stdin (then closed); stdin is ignored when absent. */
  readonly input?: Uint8Array;
  /**
   * Most stdout bytes to keep. Once exceeded, the program is killed and
   * `onOverflow` decides the error, so a huge input never fills memory.
   */
  readonly maxOutputBytes: number;
  /** Error to throw when stdout exceeds `maxOutputBytes`. */
  readonly onOverflow: () => EmbedkitError;
  readonly signal?: AbortSignal;
}

/** What a finished ffmpeg/ffprobe run produced. */
export interface MediaToolResult {
  readonly stdout: Buffer;
  /** Last few KB of stderr (ffmpeg's diagnostics). */
  readonly stderr: string;
  readonly exitCode: number;
}

const STDERR_KEEP = 8192;

/**
 * Run `binary args...`, collecting stdout up to a byte cap and the tail of stderr.
 * Resolves with the exit code (non-zero is the caller's to interpret).
 * @throws EmbedkitError DEPENDENCY_MISSING when the binary cannot be started; the
 *   `onOverflow` error when stdout exceeds the cap
 */
export function runMediaTool(
  binary: string,
  args: readonly string[],
  options: RunMediaToolOptions,
): Promise<MediaToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [...args], {
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = "";
    let failure: unknown;
    child.stdout?.on("data", (chunk: Buffer) => {
      if (failure !== undefined) return;
      bytes += chunk.length;
      if (bytes > options.maxOutputBytes) {
        failure = options.onOverflow();
        chunks.length = 0;
        child.kill("SIGKILL");
        return;
      }
      chunks.push(chunk);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_KEEP);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (failure === undefined) failure = error.code === "ENOENT" ? missing(binary, error) : error;
    });
    if (child.stdin !== null && options.input !== undefined) {
      // EPIPE when the program stops reading early (e.g. killed at the cap) is expected.
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.input);
    }
    child.on("close", (code) => {
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      resolve({ stdout: Buffer.concat(chunks), stderr, exitCode: code ?? -1 });
    });
  });
}

/** Last meaningful line of ffmpeg's stderr, for error messages. */
export function ffmpegReason(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
  return lines.at(-1) ?? "no diagnostic output";
}

/** Options of {@link streamMediaTool}. */
export interface StreamMediaToolOptions {
  /** Bytes per record (one raw video frame). */
  readonly recordBytes: number;
  /** Records per call of `onRecords` (the last call may get fewer). */
  readonly recordsPerBatch: number;
  /** Most records accepted; one more kills the program and throws `onOverflow()`. */
  readonly maxRecords: number;
  /** Error to throw past `maxRecords`. */
  readonly onOverflow: () => EmbedkitError;
  /**
   * Called with each batch, in order, one call at a time: `records` holds `count`
   * records back to back (a fresh buffer per batch, so keeping it is safe). While
   * it runs, the next batch is read; then stdout is not read until it returns, and
   * the program blocks on a full pipe. A rejection kills the program and is rethrown.
   */
  readonly onRecords: (records: Buffer, count: number) => Promise<void>;
  readonly signal?: AbortSignal;
}

/** What a finished {@link streamMediaTool} run produced. */
export interface StreamMediaToolResult {
  /** Whole records handed to `onRecords` (a trailing partial record is dropped). */
  readonly records: number;
  /** Last few KB of stderr (ffmpeg's diagnostics). */
  readonly stderr: string;
  readonly exitCode: number;
}

/**
 * Run `binary args...` and hand its stdout to `onRecords` in batches of
 * fixed-size records, with backpressure: memory is two batches (one being
 * consumed, one filling), independent of how much the program writes. Resolves with the exit code (non-zero is the
 * caller's to interpret).
 * @throws EmbedkitError DEPENDENCY_MISSING when the binary cannot be started; the
 *   `onOverflow` error past `maxRecords`; whatever `onRecords` throws
 */
export async function streamMediaTool(
  binary: string,
  args: readonly string[],
  options: StreamMediaToolOptions,
): Promise<StreamMediaToolResult> {
  const { recordBytes, recordsPerBatch } = options;
  const child = spawn(binary, [...args], {
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_KEEP);
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "ENOENT" ? missing(binary, error) : error);
    });
    child.on("close", (code) => resolve(code ?? -1));
  });
  exited.catch(() => undefined); // observed below; avoid an unhandled rejection meanwhile
  const batchBytes = recordBytes * recordsPerBatch;
  let batch = Buffer.allocUnsafe(batchBytes);
  let filled = 0;
  let records = 0;
  // One batch is with the consumer while the next one fills (ffmpeg decodes while the
  // model runs); a full batch waits for the consumer. Memory: two batches.
  let pending: Promise<void> | undefined;
  const flush = async (count: number): Promise<void> => {
    records += count;
    if (records > options.maxRecords) throw options.onOverflow();
    const full = batch.subarray(0, count * recordBytes);
    batch = Buffer.allocUnsafe(batchBytes);
    filled = 0;
    if (pending !== undefined) await pending;
    pending = options.onRecords(full, count);
    pending.catch(() => undefined); // observed by the next flush or at the end
  };
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(chunk.length - offset, batchBytes - filled);
        chunk.copy(batch, filled, offset, offset + take);
        filled += take;
        offset += take;
        if (filled === batchBytes) await flush(recordsPerBatch);
      }
    }
    const rest = Math.floor(filled / recordBytes);
    if (rest > 0) await flush(rest);
    if (pending !== undefined) await pending;
  } catch (error) {
    child.kill("SIGKILL");
    await Promise.all([exited.catch(() => undefined), pending?.catch(() => undefined)]);
    throw error;
  }
  const exitCode = await exited;
  return { records, stderr, exitCode };
}
