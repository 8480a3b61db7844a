/**
 * @module models/tfjs-layers
 * Reading TF.js Keras ("Layers") models from the files a registry package
 * ships, without TensorFlow.js: the topology (`model.json`) and the weights,
 * dequantized exactly as TF.js does it on load. Used by the TF.js image runtime
 * (which hands the raw bytes to `tf.loadLayersModel`) and by the one-time
 * conversion to ONNX (`keras-onnx.ts`).
 *
 * Model files come in two shapes, both accepted: the usual `model.json` plus
 * binary `*.bin` shards, or nsfwjs's browserify bundles (`model.min.js` whose
 * module exports the model.json object literal, `group1-shard*.min.js` whose
 * module exports the shard as a base64 string). Shards are read by pattern
 * (nothing executed); the topology literal is evaluated in an empty `vm`
 * context with a time limit. Both files are sha256-pinned by the model store
 * before they get here.
 */
import { readFile } from "node:fs/promises";
import { runInNewContext } from "node:vm";
import { EmbedkitError } from "../errors.js";

function corrupt(path: string, problem: string, cause?: unknown): EmbedkitError {
  return new EmbedkitError(
    "CORRUPT_MODEL",
    `${path} is not a readable TF.js model file: ${problem}. Re-pull the model (\`embedkit models rm\` then \`pull\`).`,
    { details: { path }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** One entry of a TF.js weights manifest. */
export interface TfjsWeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  /** Present when the weights are stored quantized (`uint8`/`uint16` with min and scale). */
  readonly quantization?: { readonly dtype: string; readonly min?: number; readonly scale?: number };
}

/** The `model.json` of a TF.js Layers model. */
export interface TfjsModelJson {
  readonly modelTopology: unknown;
  readonly weightsManifest: readonly {
    readonly paths: readonly string[];
    readonly weights: readonly TfjsWeightEntry[];
  }[];
}

/**
 * Read a model.json, or the object a browserify `model.min.js` bundle exports.
 * @throws EmbedkitError CORRUPT_MODEL when the file is not a TF.js model description
 */
export async function readTfjsModelJson(path: string): Promise<TfjsModelJson> {
  const text = await readFile(path, "utf8");
  let value: unknown;
  try {
    if (path.endsWith(".json")) {
      value = JSON.parse(text);
    } else {
      const sandbox: { module: { exports: unknown }; exports?: unknown } = { module: { exports: {} } };
      sandbox.exports = sandbox.module.exports;
      runInNewContext(text, sandbox, { timeout: 10_000 });
      // Round-trip through JSON: objects from another realm confuse TF.js's iteration checks.
      value = JSON.parse(JSON.stringify(sandbox.module.exports));
    }
  } catch (cause) {
    throw corrupt(path, (cause as Error).message, cause);
  }
  const json = value as Partial<TfjsModelJson> | null;
  if (
    json === null ||
    typeof json !== "object" ||
    json.modelTopology === undefined ||
    !Array.isArray(json.weightsManifest)
  ) {
    throw corrupt(path, "it has no modelTopology / weightsManifest");
  }
  return json as TfjsModelJson;
}

const BASE64_EXPORT = /exports\s*=\s*"([A-Za-z0-9+/=]+)"/;

/**
 * Read one weight shard: raw bytes (`.bin`) or the base64 string a `.min.js` bundle exports.
 * @throws EmbedkitError CORRUPT_MODEL when a `.js` shard holds no base64 string
 */
export async function readTfjsShard(path: string): Promise<Uint8Array> {
  if (!path.endsWith(".js")) return new Uint8Array(await readFile(path));
  const match = BASE64_EXPORT.exec(await readFile(path, "utf8"));
  if (match?.[1] === undefined) throw corrupt(path, "no base64 weight string found");
  return new Uint8Array(Buffer.from(match[1], "base64"));
}

/** A model's TF.js files, read: the description, the manifest entries and the weight bytes in manifest order. */
export interface TfjsModelFiles {
  readonly json: TfjsModelJson;
  readonly weightSpecs: readonly TfjsWeightEntry[];
  /** All shards concatenated, in manifest order. */
  readonly weightData: Uint8Array;
}

/**
 * Read a TF.js Layers model: the graph file and every shard the manifest names.
 * `shardPath(name)` maps a manifest shard name (e.g. `group1-shard1of1`) to a file.
 * @throws EmbedkitError CORRUPT_MODEL when a shard is missing or unreadable
 */
export async function readTfjsModelFiles(
  graphPath: string,
  shardPath: (shardName: string) => string | undefined,
): Promise<TfjsModelFiles> {
  const json = await readTfjsModelJson(graphPath);
  const weightSpecs: TfjsWeightEntry[] = [];
  const shards: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const shardName of group.paths) {
      const path = shardPath(shardName);
      if (path === undefined) {
        throw new EmbedkitError(
          "CORRUPT_MODEL",
          `${graphPath}: weight shard "${shardName}" is not among the model's files. Re-pull the model.`,
          { details: { path: graphPath, shard: shardName } },
        );
      }
      shards.push(await readTfjsShard(path));
    }
  }
  const weightData = new Uint8Array(shards.reduce((sum, shard) => sum + shard.length, 0));
  let offset = 0;
  for (const shard of shards) {
    weightData.set(shard, offset);
    offset += shard.length;
  }
  return { json, weightSpecs, weightData };
}

/** A dequantized float32 weight tensor (row-major, Keras layout). */
export interface FloatWeight {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const QUANTIZED_BYTES: Readonly<Record<string, number>> = { uint8: 1, uint16: 2 };

/**
 * Decode the weights of a TF.js model into float32 tensors by name, the way
 * TF.js's `decodeWeights` does: `uint8`/`uint16` quantized values become
 * `q * scale + min`, plain `float32` is copied.
 * @throws EmbedkitError CORRUPT_MODEL when the bytes run short or a dtype is not supported
 */
export function decodeTfjsWeights(files: TfjsModelFiles, label: string): Map<string, FloatWeight> {
  const out = new Map<string, FloatWeight>();
  const view = new DataView(
    files.weightData.buffer,
    files.weightData.byteOffset,
    files.weightData.byteLength,
  );
  let offset = 0;
  for (const entry of files.weightSpecs) {
    const size = entry.shape.reduce((product, dim) => product * dim, 1);
    const quantization = entry.quantization;
    const bytesPerValue =
      quantization === undefined
        ? entry.dtype === "float32"
          ? 4
          : 0
        : (QUANTIZED_BYTES[quantization.dtype] ?? 0);
    if (bytesPerValue === 0 || (quantization !== undefined && entry.dtype !== "float32")) {
      throw new EmbedkitError(
        "CORRUPT_MODEL",
        `${label}: weight "${entry.name}" is stored as ${quantization?.dtype ?? entry.dtype} (dtype ${entry.dtype}); ` +
          "supported: float32, or float32 quantized to uint8/uint16.",
        { details: { weight: entry.name } },
      );
    }
    const end = offset + size * bytesPerValue;
    if (end > files.weightData.byteLength) {
      throw new EmbedkitError(
        "CORRUPT_MODEL",
        `${label}: the weight shards hold ${files.weightData.byteLength} bytes but the manifest needs more (at "${entry.name}"). Re-pull the model.`,
        { details: { weight: entry.name, bytes: files.weightData.byteLength } },
      );
    }
    const data = new Float32Array(size);
    if (quantization === undefined) {
      for (let i = 0; i < size; i++) data[i] = view.getFloat32(offset + 4 * i, true);
    } else {
      const scale = quantization.scale ?? 1;
      const min = quantization.min ?? 0;
      for (let i = 0; i < size; i++) {
        const q = bytesPerValue === 1 ? view.getUint8(offset + i) : view.getUint16(offset + 2 * i, true);
        data[i] = q * scale + min;
      }
    }
    out.set(entry.name, { shape: entry.shape, data });
    offset = end;
  }
  return out;
}
