/**
 * @module models/python-venv
 * The one way embedkit makes a Python environment for a helper it ships
 * (`python/<tool>/requirements.txt`, pinned versions from PyPI): a venv under
 * `<EMBEDKIT_HOME>/<name>`, created on first use and re-created when the
 * requirements change (their sha256 is recorded in the venv). Creation runs
 * under a cross-process lock, into a temp folder renamed at the end, so a
 * killed install leaves nothing half-made. Python itself must be there:
 * `EMBEDKIT_PYTHON` or `python3` (≥ the tool's minimum). Used by the
 * fine-tuning sidecar (`train/encoder/python-env.ts`) and the static int8
 * quantizer (`models/quantize.ts`).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { EmbedkitError } from "../errors.js";
import { withLock } from "./lock.js";

const run = promisify(execFile);

/** Folder of a shipped Python helper, `python/<tool>` at the package root. */
export function pythonToolDir(tool: string): string {
  // src/models/ and dist/models/ are both two levels below the package root.
  return resolve(dirname(fileURLToPath(import.meta.url)), "../../python", tool);
}

/** What a venv is for, for messages and paths. */
export interface PythonVenvSpec {
  /** Folder of the tool's sources (holds `requirements.txt`). */
  readonly sourceDir: string;
  /** Folder name of the venv under embedkit home, e.g. `finetune-venv`. */
  readonly name: string;
  /** What needs it, for messages: "Fine-tuning", "Static int8 quantization". */
  readonly purpose: string;
  /** Oldest Python accepted, and why (for the message), e.g. `[3, 11]`, "for JAX". */
  readonly minimumPython: readonly [number, number];
  readonly minimumReason?: string;
  /** Progress line shown before creating it (size hint). */
  readonly creating: string;
}

/** Options shared by every venv user. */
export interface PythonVenvOptions {
  /** embedkit home (the venv goes in `<home>/<name>`). @default EMBEDKIT_HOME or ~/.cache/embedkit */
  readonly home?: string;
  /** Python interpreter that creates the venv. @default EMBEDKIT_PYTHON or python3 */
  readonly python?: string;
  /** Progress lines ("creating the … environment…"). */
  readonly onLog?: (line: string) => void;
}

/** The home folder embedkit uses when none is given. */
export function defaultHome(home: string | undefined): string {
  return home ?? process.env.EMBEDKIT_HOME ?? join(homedir(), ".cache", "embedkit");
}

async function pythonVersion(python: string, spec: PythonVenvSpec): Promise<[number, number]> {
  try {
    const { stdout } = await run(python, [
      "-c",
      "import sys; print(sys.version_info[0], sys.version_info[1])",
    ]);
    const [major, minor] = stdout.trim().split(" ").map(Number);
    return [major ?? 0, minor ?? 0];
  } catch (error) {
    throw new EmbedkitError(
      "DEPENDENCY_MISSING",
      `${spec.purpose} needs Python ${spec.minimumPython.join(".")} or newer, but "${python}" could not be run (${(error as Error).message}). Install Python 3 (e.g. apt-get install python3 python3-venv) or set EMBEDKIT_PYTHON to an interpreter.`,
      { cause: error, details: { python } },
    );
  }
}

/**
 * Create (once) the venv of `spec` and return its interpreter's path.
 * @throws EmbedkitError DEPENDENCY_MISSING when Python is missing or too old, or the packages cannot be installed
 */
export async function ensurePythonVenv(
  spec: PythonVenvSpec,
  options: PythonVenvOptions = {},
): Promise<string> {
  const home = defaultHome(options.home);
  const requirementsPath = join(spec.sourceDir, "requirements.txt");
  const requirements = await readFile(requirementsPath, "utf8");
  const digest = createHash("sha256").update(requirements).digest("hex");
  const venv = join(home, spec.name);
  const python = join(venv, "bin", "python");
  const stamp = join(venv, "requirements.sha256");
  const ready = async (): Promise<boolean> =>
    existsSync(python) && (await readFile(stamp, "utf8").catch(() => "")) === digest;
  if (await ready()) return python;
  return withLock(
    {
      path: join(home, "locks", `${spec.name}.lock`),
      subject: `the ${spec.name} environment`,
      timeoutMs: 1_800_000,
    },
    async () => {
      if (await ready()) return python;
      const base = options.python ?? process.env.EMBEDKIT_PYTHON ?? "python3";
      const [major, minor] = await pythonVersion(base, spec);
      const [needMajor, needMinor] = spec.minimumPython;
      if (major < needMajor || (major === needMajor && minor < needMinor)) {
        throw new EmbedkitError(
          "DEPENDENCY_MISSING",
          `${spec.purpose} needs Python ${spec.minimumPython.join(".")} or newer${spec.minimumReason === undefined ? "" : ` (${spec.minimumReason})`}, but "${base}" is ${major}.${minor}. Set EMBEDKIT_PYTHON to a newer interpreter.`,
          { details: { python: base, version: `${major}.${minor}` } },
        );
      }
      const temp = `${venv}.tmp-${process.pid}`;
      await rm(temp, { recursive: true, force: true });
      await mkdir(dirname(venv), { recursive: true });
      try {
        options.onLog?.(`${spec.creating} in ${venv}…`);
        await run(base, ["-m", "venv", temp]);
        await run(
          join(temp, "bin", "python"),
          ["-m", "pip", "install", "--quiet", "--only-binary=:all:", "-r", requirementsPath],
          { maxBuffer: 64 * 1024 * 1024 },
        );
        await writeFile(join(temp, "requirements.sha256"), digest);
        await rm(venv, { recursive: true, force: true });
        // A venv's scripts name its folder; `python -m` from the renamed folder still works.
        await rename(temp, venv);
      } catch (error) {
        await rm(temp, { recursive: true, force: true });
        throw new EmbedkitError(
          "DEPENDENCY_MISSING",
          `Could not create the ${spec.purpose.toLowerCase()} environment (python -m venv + pip install of ${requirementsPath}): ${(error as Error).message.slice(0, 2000)}`,
          { cause: error, details: { venv } },
        );
      }
      return python;
    },
  );
}
