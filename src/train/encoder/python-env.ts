/**
 * @module train/encoder/python-env
 * The Python environment of the fine-tuning sidecar: a venv under
 * `<EMBEDKIT_HOME>/finetune-venv` with the pinned packages of
 * `python/finetune/requirements.txt` (JAX on CPU, from PyPI), made on first
 * use by the shared venv helper (`models/python-venv.ts`: re-created when the
 * requirements change, under a lock, into a temp folder renamed at the end).
 * Python itself must be there: `EMBEDKIT_PYTHON` or `python3` (≥ 3.11).
 */
import { join } from "node:path";
import {
  defaultHome,
  ensurePythonVenv,
  type PythonVenvOptions,
  pythonToolDir,
} from "../../models/python-venv.js";

/** Folder of the sidecar's Python sources (`python/finetune`, shipped with the package). */
export function sidecarSourceDir(): string {
  return pythonToolDir("finetune");
}

/** The ready environment: the venv's interpreter and the sidecar script. */
export interface SidecarEnvironment {
  readonly python: string;
  readonly script: string;
  /** JAX's persistent compilation cache (`finetune-jax-cache` in the embedkit home): compiled steps outlive a run. */
  readonly compileCache: string;
}

/** Options of {@link ensureSidecarEnvironment}. */
export interface SidecarEnvironmentOptions extends PythonVenvOptions {}

/**
 * Create (once) and return the sidecar's Python environment.
 * @throws EmbedkitError DEPENDENCY_MISSING when Python is missing or too old, or the packages cannot be installed
 */
export async function ensureSidecarEnvironment(
  options: SidecarEnvironmentOptions = {},
): Promise<SidecarEnvironment> {
  const sources = sidecarSourceDir();
  const python = await ensurePythonVenv(
    {
      sourceDir: sources,
      name: "finetune-venv",
      purpose: "Fine-tuning",
      minimumPython: [3, 11],
      minimumReason: "for JAX",
      creating: "creating the fine-tuning environment (JAX from PyPI, ~620 MB)",
    },
    options,
  );
  return {
    python,
    script: join(sources, "sidecar.py"),
    compileCache: join(defaultHome(options.home), "finetune-jax-cache"),
  };
}
