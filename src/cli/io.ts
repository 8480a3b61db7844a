/**
 * @module cli/io
 * Shared CLI plumbing: printing, JSON output, progress bars (on stderr, only
 * on a TTY or when forced, so piped output stays clean) and the single mapping
 * from errors to exit codes (0 ok, 1 user error, 2 internal).
 */
import cliProgress from "cli-progress";
import { InvalidArgumentError } from "commander";
import { EmbedkitError } from "../errors.js";

/** Exit codes of every embedkit command. */
export const EXIT = Object.freeze({ ok: 0, user: 1, internal: 2 } as const);

/** Parse a positive integer option for commander (usage error otherwise). */
export function parsePositiveInteger(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError("must be a positive integer.");
  }
  return parsed;
}

/** Commander argument parser for integers ≥ 0 (rejects blanks, fractions and unsafe integers). */
export function parseNonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(parsed) || parsed < 0) {
    throw new InvalidArgumentError("must be a non-negative integer.");
  }
  return parsed;
}

/** Commander parser for a fraction in [0, 1) (a share held out, a dropout rate). */
export function parseFraction(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !(parsed >= 0 && parsed < 1))
    throw new InvalidArgumentError("must be a number in [0, 1).");
  return parsed;
}

/** Commander parser of a repeatable option (`--probe a --probe b` → `["a", "b"]`). */
export function collectTexts(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Commander argument parser for finite numbers ≥ 0. */
export function parseNonNegativeNumber(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed < 0) {
    throw new InvalidArgumentError("must be a number ≥ 0.");
  }
  return parsed;
}

/** Write a line to stdout. */
export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Write a value as pretty JSON to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A progress bar that is a no-op when stderr is not a terminal. */
export interface ProgressBar {
  start(total: number, label?: string): void;
  update(value: number, total?: number): void;
  stop(): void;
}

/**
 * The ETA of a progress bar. cli-progress gives "INF"/"NULL" when it cannot tell (no progress yet,
 * unknown total) and its own formatter cuts that to two characters ("NFs left"): show "--" instead.
 */
export function formatEta(seconds: unknown, options: cliProgress.Options, roundTo: number): string {
  return typeof seconds === "number" && Number.isFinite(seconds)
    ? cliProgress.Format.TimeFormat(seconds, options, roundTo)
    : "--";
}

/**
 * Create a progress bar on stderr. Shown on a TTY, or always when
 * `EMBEDKIT_PROGRESS=1`; hidden with `EMBEDKIT_PROGRESS=0` or `--quiet`.
 */
export function createProgressBar(options: { unit?: string; quiet?: boolean } = {}): ProgressBar {
  const forced = process.env.EMBEDKIT_PROGRESS;
  const enabled = !options.quiet && (forced === "1" || (forced !== "0" && process.stderr.isTTY === true));
  if (!enabled) return { start() {}, update() {}, stop() {} };
  const unit = options.unit ?? "items";
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `{label} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`,
      hideCursor: true,
      etaBuffer: 50,
      formatTime: formatEta,
      noTTYOutput: true,
      notTTYSchedule: 1000,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    start(total, label = "") {
      bar.start(total, 0, { label });
      started = true;
    },
    update(value, total) {
      if (!started) return;
      if (total !== undefined) bar.setTotal(total);
      bar.update(value);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/**
 * Print an error the way users should see it and return the exit code:
 * 1 for user errors (message only), 2 for internal errors (with stack when
 * `EMBEDKIT_DEBUG=1`).
 */
export function reportError(error: unknown): number {
  if (EmbedkitError.isInstance(error)) {
    process.stderr.write(`embedkit: error [${error.code}]: ${error.message}\n`);
    if (!error.isUserError && process.env.EMBEDKIT_DEBUG === "1" && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    }
    return error.isUserError ? EXIT.user : EXIT.internal;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`embedkit: internal error: ${message}\n`);
  if (process.env.EMBEDKIT_DEBUG === "1" && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  } else {
    process.stderr.write(
      "Run again with EMBEDKIT_DEBUG=1 for a stack trace, and report it if it persists.\n",
    );
  }
  return EXIT.internal;
}
