/**
 * @module train/encoder/python-env
 * The Python environment of the fine-tuning sidecar: a venv under
 * `<EMBEDKIT_HOME>/finetune-venv` with the pinned packages of
 * `python/finetune/requirements.txt` (JAX on CPU, from PyPI), created on first
 * use and re-created when the requirements change (their sha256 is recorded
 * in the venv). Creation runs under a cross-process lock, into a temp folder
 * renamed at the end, so a killed install leaves nothing half-made. Python
 * itself must be there: `EMBEDKIT_PYTHON` or `python3` (≥ 3.11).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { EmbedkitError } from "../../errors.js";
import { withLock } from "../../models/lock.js";

const run = promisify(execFile);

/** Folder of the sidecar's Python sources (`python/finetune`, shipped with the package). */
export function sidecarSourceDir(): string {
  // src/train/encoder/ and dist/train/encoder/ are both three levels below the package root.
  return resolve(dirname(fileURLToPath(import.meta.url)), "../../../python/finetune");
}

/** The ready environment: the venv's interpreter and the sidecar script. */
export interface SidecarEnvironment {
  readonly python: string;
  readonly script: string;
  /** JAX's persistent compilation cache (`finetune-jax-cache` in the embedkit home): compiled steps outlive a run. */
  readonly compileCache: string;
}

/** Options of {@link ensureSidecarEnvironment}. */
export interface SidecarEnvironmentOptions {
  /** embedkit home (the venv goes in `finetune-venv`). @default EMBEDKIT_HOME or ~/.cache/embedkit */
  readonly home?: string;
  /** Python interpreter that creates the venv. @default EMBEDKIT_PYTHON or python3 */
  readonly python?: string;
  /** Progress lines ("creating the fine-tuning environment…"). */
  readonly onLog?: (line: string) => void;
}

const MINIMUM_PYTHON: readonly [number, number] = [3, 11];

async function pythonVersion(python: string): Promise<[number, number]> {
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
      `Fine-tuning needs Python ${MINIMUM_PYTHON.join(".")} or newer, but "${python}" could not be run (${(error as Error).message}). Install Python 3 (e.g. apt-get install python3 python3-venv) or set EMBEDKIT_PYTHON to an interpreter.`,
      { cause: error, details: { python } },
    );
  }
}

/**
 * Create (once) and return the sidecar's Python environment.
 * @throws EmbedkitError DEPENDENCY_MISSING when Python is missing or too old, or the packages cannot be installed
 */
export async function ensureSidecarEnvironment(
  options: SidecarEnvironmentOptions = {},
): Promise<SidecarEnvironment> {
  const home = options.home ?? process.env.EMBEDKIT_HOME ?? join(homedir(), ".cache", "embedkit");
  const sources = sidecarSourceDir();
  const script = join(sources, "sidecar.py");
  const requirements = await readFile(join(sources, "requirements.txt"), "utf8");
  const digest = createHash("sha256").update(requirements).digest("hex");
  const venv = join(home, "finetune-venv");
  const python = join(venv, "bin", "python");
  const stamp = join(venv, "requirements.sha256");
  const compileCache = join(home, "finetune-jax-cache");
  const ready = async (): Promise<boolean> =>
    existsSync(python) && (await readFile(stamp, "utf8").catch(() => "")) === digest;
  if (await ready()) return { python, script, compileCache };
  return withLock(
    {
      path: join(home, "locks", "finetune-venv.lock"),
      subject: "the fine-tuning environment",
      timeoutMs: 1_800_000,
    },
    async () => {
      if (await ready()) return { python, script, compileCache };
      const base = options.python ?? process.env.EMBEDKIT_PYTHON ?? "python3";
      const [major, minor] = await pythonVersion(base);
      if (
        major < (MINIMUM_PYTHON[0] as number) ||
        (major === MINIMUM_PYTHON[0] && minor < MINIMUM_PYTHON[1])
      ) {
        throw new EmbedkitError(
          "DEPENDENCY_MISSING",
          `Fine-tuning needs Python ${MINIMUM_PYTHON.join(".")} or newer (for JAX), but "${base}" is ${major}.${minor}. Set EMBEDKIT_PYTHON to a newer interpreter.`,
          { details: { python: base, version: `${major}.${minor}` } },
        );
      }
      const temp = `${venv}.tmp-${process.pid}`;
      await rm(temp, { recursive: true, force: true });
      await mkdir(dirname(venv), { recursive: true });
      try {
        options.onLog?.(`creating the fine-tuning environment in ${venv} (JAX from PyPI, ~620 MB)…`);
        await run(base, ["-m", "venv", temp]);
        await run(
          join(temp, "bin", "python"),
          ["-m", "pip", "install", "--quiet", "--only-binary=:all:", "-r", join(sources, "requirements.txt")],
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
          `Could not create the fine-tuning environment (python -m venv + pip install of python/finetune/requirements.txt): ${(error as Error).message.slice(0, 2000)}`,
          { cause: error, details: { venv } },
        );
      }
      return { python, script, compileCache };
    },
  );
}
