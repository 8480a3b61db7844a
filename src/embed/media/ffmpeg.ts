/**
 * @module embed/media/ffmpeg
 * The one place that runs the external `ffmpeg` / `ffprobe` programs (Debian
 * package `ffmpeg`; `scripts/ensure-ffmpeg.sh` installs it). Audio decoding
 * and video frame sampling go through here, so a missing binary, a probe that
 * fails and an output over its byte cap all raise the same clear errors.
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
