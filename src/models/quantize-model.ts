/**
 * @module models/quantize-model
 * `quantizeModel`: get the static int8 variant of a catalog text model on this
 * machine (`embedkit models quantize <model>`). The variant is a catalog entry
 * (`<id>-int8s`) whose ONNX graph is derived from the pinned fp32 file on pull
 * (`models/quantize.ts`); this function pulls it (or finds it), makes sure the
 * graph is there and checks out against its record, and reports what it found.
 */
import { rm } from "node:fs/promises";
import { EmbedkitError } from "../errors.js";
import { getModel, listModels } from "./catalog.js";
import { ensureModelDerivedFiles } from "./derived-converters.js";
import { derivedRecordPath } from "./derived-file.js";
import type { ModelSpec } from "./model-spec.js";
import type { ModelStore } from "./model-store.js";
import { STATIC_INT8_CONVERTER, STATIC_INT8_SUFFIX } from "./quantize.js";

/** Catalog models that have a static int8 variant, as `[fp32 id, variant id]`. */
export function staticInt8Variants(): readonly (readonly [string, string])[] {
  return listModels()
    .filter((model) => model.derived?.converter === STATIC_INT8_CONVERTER)
    .map((model) => [model.id.slice(0, -STATIC_INT8_SUFFIX.length), model.id] as const);
}

/**
 * The static int8 variant of a model named by id or alias (the fp32 model or the variant itself).
 * @throws EmbedkitError UNKNOWN_MODEL for a name the catalog does not know; INVALID_OPTION for a
 *   model without a quantization recipe (listing those that have one)
 */
export function staticInt8VariantOf(name: string): ModelSpec {
  const spec = getModel(name);
  if (spec.derived?.converter === STATIC_INT8_CONVERTER) return spec;
  const variant = listModels().find((model) => model.id === `${spec.id}${STATIC_INT8_SUFFIX}`);
  if (variant === undefined) {
    const known = staticInt8Variants()
      .map(([base]) => base)
      .join(", ");
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${spec.id} has no static int8 recipe (one is added per model only after measuring speed and quality, ` +
        `see docs/MODELS.md). Models with one: ${known}.` +
        (spec.quantized ? ` ${spec.id} is already quantized.` : ""),
      { details: { model: spec.id } },
    );
  }
  return variant;
}

/** Options of {@link quantizeModel}. */
export interface QuantizeModelOptions {
  /** The model cache. */
  readonly store: ModelStore;
  /** Produce the graph again even if a checked copy is cached. @default false */
  readonly force?: boolean;
  /** Stops the quantizer; nothing is kept. */
  readonly signal?: AbortSignal;
  /** Progress lines (venv creation, quantization). */
  readonly onLog?: (line: string) => void;
}

/** What {@link quantizeModel} found or made. */
export interface QuantizedModel {
  /** The variant's id (what `--model` takes). */
  readonly model: string;
  /** The fp32 model it was produced from. */
  readonly base: string;
  /** Path of the int8 graph. */
  readonly path: string;
  /** sha256 of the graph, as recorded when it was produced. */
  readonly sha256: string;
  /** Why it was produced in this call; undefined when the cached graph checked out. */
  readonly produced: string | undefined;
}

/**
 * Make sure the static int8 variant of `name` is installed and its graph produced
 * (on this machine, from the pinned fp32 file), and return where it is.
 *
 * @throws EmbedkitError UNKNOWN_MODEL, INVALID_OPTION (no recipe), DEPENDENCY_MISSING (no Python,
 *   venv failure), CORRUPT_MODEL (the quantizer failed), CLOSED (aborted); the pull's own errors
 * @example
 * ```ts
 * const { model, sha256 } = await quantizeModel("bge-small-zh-v1.5", { store: createModelStore() });
 * const embedder = await createEmbedder({ model }); // "bge-small-zh-v1.5-int8s"
 * ```
 */
export async function quantizeModel(name: string, options: QuantizeModelOptions): Promise<QuantizedModel> {
  const spec = staticInt8VariantOf(name);
  const pulled = await options.store.ensure(
    spec,
    options.signal === undefined ? {} : { signal: options.signal },
  );
  const file = spec.derived?.files[0]?.name as string;
  // Without its record the cached graph is rebuilt (and replaced atomically only once the new one is made).
  if (options.force) await rm(derivedRecordPath(pulled.dir, file), { force: true });
  const results = await ensureModelDerivedFiles(spec, pulled.paths, {
    home: options.store.home,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onLog === undefined ? {} : { onLog: options.onLog }),
  });
  const result = results[file];
  if (result?.path === undefined) {
    throw new EmbedkitError("CORRUPT_MODEL", `${spec.id}: ${file} could not be written to ${pulled.dir}.`, {
      details: { model: spec.id },
    });
  }
  return {
    model: spec.id,
    base: spec.id.slice(0, -STATIC_INT8_SUFFIX.length),
    path: result.path,
    sha256: result.sha256,
    produced: result.rebuilt,
  };
}
