/**
 * @module embed/media/image/tfjs-runtime
 * Loading TensorFlow.js once per process, on the wasm backend (SIMD on; in
 * Node single-threaded: tfjs-backend-wasm reports no multithread support there)
 * or the pure-JS cpu backend. `@tensorflow/tfjs-node` is not used: its install
 * step downloads libtensorflow, which fails offline. Reading the model files
 * lives in `models/tfjs-layers.ts` (re-exported here).
 */
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

export type { TfjsModelJson } from "../../../models/tfjs-layers.js";
export { readTfjsModelJson, readTfjsShard } from "../../../models/tfjs-layers.js";
