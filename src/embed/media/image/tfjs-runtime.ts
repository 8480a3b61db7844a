/**
 * @module embed/media/image/tfjs-runtime
 * Loading TensorFlow.js once per process, on the wasm backend (SIMD,
 * single-threaded in Node) or the pure-JS cpu backend, and reading TF.js Keras
 * models from the files a registry package ships. `@tensorflow/tfjs-node` is
 * not used: its install step downloads libtensorflow, which fails offline.
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
import { EmbedkitError } from "../../../errors.js";

/** The TensorFlow.js namespace. */
export type TensorFlow = typeof import("@tensorflow/tfjs");

/** TF.js backends embedkit can run on. */
export const TFJS_BACKENDS = Object.freeze(["wasm", "cpu"] as const);

/** One of {@link TFJS_BACKENDS}. */
export type TfjsBackend = (typeof TFJS_BACKENDS)[number];

let loading: Promise<TensorFlow> | undefined;

/**
 * Import TensorFlow.js and switch it to `backend` (TF.js has one active backend
 * per process; the last call wins).
 * @throws EmbedkitError INFERENCE_FAILED when the backend cannot start
 */
export async function loadTensorFlow(backend: TfjsBackend = "wasm"): Promise<TensorFlow> {
  loading ??= (async () => {
    const module = (await import("@tensorflow/tfjs")) as TensorFlow & { default?: TensorFlow };
    await import("@tensorflow/tfjs-backend-wasm");
    return module.default ?? module;
  })();
  const tf = await loading;
  if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok) {
      throw new EmbedkitError(
        "INFERENCE_FAILED",
        `The TensorFlow.js ${backend} backend did not start. Try the other backend (${TFJS_BACKENDS.join(", ")}).`,
        { details: { backend } },
      );
    }
    await tf.ready();
  }
  return tf;
}

function corrupt(path: string, problem: string, cause?: unknown): EmbedkitError {
  return new EmbedkitError(
    "CORRUPT_MODEL",
    `${path} is not a readable TF.js model file: ${problem}. Re-pull the model (\`embedkit models rm\` then \`pull\`).`,
    { details: { path }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** The `model.json` of a TF.js Layers model. */
export interface TfjsModelJson {
  readonly modelTopology: unknown;
  readonly weightsManifest: readonly {
    readonly paths: readonly string[];
    readonly weights: readonly unknown[];
  }[];
}

/** Read a model.json, or the object a browserify `model.min.js` bundle exports. */
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

/** Read one weight shard: raw bytes (`.bin`) or the base64 string a `.min.js` bundle exports. */
export async function readTfjsShard(path: string): Promise<Uint8Array> {
  if (!path.endsWith(".js")) return new Uint8Array(await readFile(path));
  const match = BASE64_EXPORT.exec(await readFile(path, "utf8"));
  if (match?.[1] === undefined) throw corrupt(path, "no base64 weight string found");
  return new Uint8Array(Buffer.from(match[1], "base64"));
}
