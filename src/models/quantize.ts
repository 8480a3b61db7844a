/**
 * @module models/quantize
 * Static int8 graphs produced on the user's machine from a model's pinned fp32
 * ONNX file (issue #23): onnxruntime's own `quantize_static` (QDQ, per-channel
 * s8 weights, u8 activations, MatMul only), run by `python/quantize/quantize_static.py`
 * in a pinned venv made on first use (`models/python-venv.ts`), calibrated on a
 * fixed sample of sentences shipped in `python/quantize/calibration/`. The
 * recipe is chosen per model by measurement (bench/int8.ts, docs/MODELS.md) and
 * lives in the catalog as the derived-file settings of the `-int8s` variants.
 *
 * The output goes through the derived-file cache (`derived-file.ts`): written
 * atomically with a record of its sha256, re-hashed on every load, rebuilt when
 * damaged. Its bytes are reproducible on one machine (calibration on one thread,
 * fixed sentence order: same input → same sha256, checked by the tests) but not
 * pinned across machines: the activation ranges come from fp32 inference, whose
 * last bits depend on the CPU's kernels. Work happens in a temporary folder next
 * to the model that is removed however the run ends (failure, abort), so a
 * failed or interrupted run leaves nothing behind.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { EmbedkitError } from "../errors.js";
import type { DerivedFilesSpec, ModelSpec } from "./model-spec.js";
import { ensurePythonVenv, type PythonVenvOptions, pythonToolDir } from "./python-venv.js";

const run = promisify(execFile);

/** Converter name and version of the static int8 graph (a new version rebuilds cached graphs). */
export const STATIC_INT8_CONVERTER = "ort-quantize-static/1";

/** File name of the produced graph inside the variant's folder. */
export const STATIC_INT8_FILE = "model-int8s.onnx";

/** Suffix of the catalog variants whose ONNX graph is produced by {@link STATIC_INT8_CONVERTER}. */
export const STATIC_INT8_SUFFIX = "-int8s";

/** Calibration samples shipped in `python/quantize/calibration/<name>.txt`. */
export const CALIBRATION_SAMPLES = Object.freeze(["en", "zh"] as const);

/** A per-model quantization recipe (the settings of the derived-file spec). */
export interface StaticInt8Recipe {
  /** Which shipped sentence sample calibrates the activation ranges. */
  readonly calibration: (typeof CALIBRATION_SAMPLES)[number];
  /** 7-bit weights: onnxruntime's advice for x86 without VNNI (int16 saturation of u8×s8 pairs). */
  readonly reduceRange: boolean;
  /**
   * Activation range estimate: min/max over the sample. (onnxruntime's histogram methods —
   * percentile, entropy — need equal-length calibration inputs, i.e. padding rows that would
   * skew the ranges, so they are not offered.)
   */
  readonly method: "minmax";
  /**
   * Quantize only the MatMuls with a weight input; attention's activation × activation MatMuls
   * (scores, context: < 1 % of the FLOPs at sentence lengths) stay fp32.
   */
  readonly weightsOnly: boolean;
  /**
   * Regular expression (Python `re.search`) of node names kept fp32, e.g. the FFN output
   * MatMuls whose input (the GELU output) carries BERT's activation outliers; "" for none.
   */
  readonly keepFp32: string;
}

/** The derived-files spec of a static int8 variant made with `recipe`. */
export function staticInt8Derived(recipe: StaticInt8Recipe): DerivedFilesSpec {
  return Object.freeze({
    converter: STATIC_INT8_CONVERTER,
    settings: Object.freeze({ ...recipe }),
    files: Object.freeze([{ role: "onnx" as const, name: STATIC_INT8_FILE }]),
  });
}

function recipeOf(spec: ModelSpec): StaticInt8Recipe {
  const settings = spec.derived?.settings ?? {};
  const calibration = settings.calibration;
  const method = settings.method;
  if (
    !(CALIBRATION_SAMPLES as readonly unknown[]).includes(calibration) ||
    method !== "minmax" ||
    typeof settings.reduceRange !== "boolean" ||
    typeof settings.weightsOnly !== "boolean" ||
    typeof settings.keepFp32 !== "string"
  ) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${spec.id} names converter ${STATIC_INT8_CONVERTER} without a valid recipe (${JSON.stringify(settings)}).`,
      { details: { model: spec.id } },
    );
  }
  return {
    calibration: calibration as StaticInt8Recipe["calibration"],
    reduceRange: settings.reduceRange,
    method,
    weightsOnly: settings.weightsOnly,
    keepFp32: settings.keepFp32,
  };
}

/** Options of {@link buildStaticInt8}. */
export interface BuildStaticInt8Options extends PythonVenvOptions {
  /** Stops the quantizer; its temporary folder is removed. */
  readonly signal?: AbortSignal;
}

/** One JSON line the quantizer prints. */
interface QuantizerReport {
  readonly ok: boolean;
  readonly error?: string;
}

function lastJsonLine(text: string): QuantizerReport | undefined {
  const line = text.trim().split("\n").at(-1);
  try {
    return line === undefined ? undefined : (JSON.parse(line) as QuantizerReport);
  } catch {
    return undefined;
  }
}

/**
 * Produce the static int8 graph of `spec` (a `-int8s` variant) from its fp32 ONNX
 * file and tokenizer, in `dir`'s temporary sub-folder, and return its bytes (the
 * caller caches them through the derived-file cache). The quantizer loads the
 * graph with onnxruntime before it reports success.
 *
 * @throws EmbedkitError DEPENDENCY_MISSING (no Python, venv failure); CORRUPT_MODEL when the
 *   quantizer fails or writes nothing; CLOSED when `signal` aborts
 */
export async function buildStaticInt8(
  spec: ModelSpec,
  source: (role: string) => string,
  dir: string,
  options: BuildStaticInt8Options = {},
): Promise<Uint8Array> {
  const recipe = recipeOf(spec);
  const tool = pythonToolDir("quantize");
  const python = await ensurePythonVenv(
    {
      sourceDir: tool,
      name: "quantize-venv",
      purpose: "Static int8 quantization",
      minimumPython: [3, 10],
      creating: "creating the int8 quantization environment (onnxruntime and onnx from PyPI, ~150 MB)",
    },
    options,
  );
  const work = await mkdtemp(join(dir, ".int8s-tmp-"));
  const output = join(work, STATIC_INT8_FILE);
  try {
    options.onLog?.(`quantizing ${spec.id} (${JSON.stringify(recipe)}): ~0.5–2 min on 2 cores…`);
    try {
      await run(
        python,
        [
          join(tool, "quantize_static.py"),
          "--input",
          source("onnx"),
          "--tokenizer",
          source("tokenizer"),
          "--calibration",
          join(tool, "calibration", `${recipe.calibration}.txt`),
          "--output",
          output,
          "--max-tokens",
          String(spec.maxTokens),
          ...(recipe.reduceRange ? ["--reduce-range"] : []),
          ...(recipe.weightsOnly ? ["--weights-only"] : []),
          ...(recipe.keepFp32 === "" ? [] : ["--keep-fp32", recipe.keepFp32]),
        ],
        {
          maxBuffer: 16 * 1024 * 1024,
          // onnxruntime's calibrator writes its augmented graph to a temp folder: keep it inside ours.
          env: { ...process.env, TMPDIR: work },
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        },
      );
    } catch (error) {
      if (options.signal?.aborted) {
        throw new EmbedkitError("CLOSED", `Quantizing ${spec.id} was cancelled; nothing was kept.`, {
          cause: error,
          details: { model: spec.id },
        });
      }
      const stdout = (error as { stdout?: string }).stdout ?? "";
      const stderr = (error as { stderr?: string }).stderr ?? "";
      const report = lastJsonLine(stdout);
      throw new EmbedkitError(
        "CORRUPT_MODEL",
        `onnxruntime's quantize_static failed on ${spec.id}: ${report?.error ?? stderr.trim().slice(-2000)}. ` +
          `Nothing was kept. Re-pull the fp32 files (\`embedkit models rm ${spec.id}\`) or report it.`,
        { cause: error, details: { model: spec.id } },
      );
    }
    try {
      return new Uint8Array(await readFile(output));
    } catch (error) {
      throw new EmbedkitError(
        "CORRUPT_MODEL",
        `The quantizer reported success on ${spec.id} but wrote no graph.`,
        {
          cause: error,
          details: { model: spec.id },
        },
      );
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
