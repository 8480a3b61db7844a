/**
 * @module embed/media/image/keras-onnx-image-embedder
 * The fast path for TF.js Keras image models (the offline default MobileNetV2):
 * the model's pinned TF.js files are converted once into an ONNX graph
 * (`models/keras-onnx.ts`, batch norm folded into the convolutions), cached in
 * the model's folder with its own sha256 (`models/derived-file.ts`), and run by
 * onnxruntime-node on all cores. Decoding, preprocessing and the tensor layout
 * (NHWC, as TF.js) are the same as the TF.js runtime's, so the vectors agree
 * with it to float rounding (tested: cosine > 0.9999 on real photos).
 */
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import type * as ort from "onnxruntime-node";
import { EmbedkitError } from "../../../errors.js";
import { loadOnnxRuntime } from "../../../internal/load-dependency.js";
import { ensureDerivedFile } from "../../../models/derived-file.js";
import { convertKerasToOnnx, KERAS_ONNX_CONVERTER_VERSION } from "../../../models/keras-onnx.js";
import type { ModelSpec } from "../../../models/model-spec.js";
import { encodeOnnxModel } from "../../../models/onnx-writer.js";
import { decodeTfjsWeights, readTfjsModelFiles } from "../../../models/tfjs-layers.js";
import { createPixelEmbedder, imageModelInfo, type PixelEmbedder } from "./pixel-embedder.js";
import { shardPathOf, type TfjsImageEmbedderOptions } from "./tfjs-image-embedder.js";

const INPUT = "pixels";
const OUTPUT = "features";

/** Options of {@link createKerasOnnxImageEmbedder}: those of the TF.js runtime, without its backend. */
export interface KerasOnnxImageEmbedderOptions extends Omit<TfjsImageEmbedderOptions, "backend"> {
  /** onnxruntime intra-op threads. @default os.availableParallelism() */
  readonly threads?: number;
  /** Told when the ONNX graph was (re)built instead of read from the cache, and why. */
  readonly onConvert?: (event: { readonly reason: string; readonly path: string | undefined }) => void;
}

/** File name of the cached ONNX conversion of a TF.js model's feature layer. */
export function convertedGraphName(spec: ModelSpec): string {
  return `${spec.image?.featureLayer ?? "output"}.onnx`;
}

/**
 * Convert (once) and load a TF.js Keras image model on onnxruntime.
 *
 * @throws EmbedkitError INVALID_OPTION (not a tfjs-layers image model), CORRUPT_MODEL (files
 *   unreadable, a layer the converter does not support, wrong output size, onnxruntime refuses the graph)
 * @example
 * ```ts
 * const pulled = await createModelStore().ensure("mobilenet-v2-nsfwjs");
 * const embedder = await createKerasOnnxImageEmbedder({ spec: pulled.spec, paths: pulled.paths });
 * const { vectors } = await embedder.embed(["cat.jpg"]);
 * ```
 */
export async function createKerasOnnxImageEmbedder(
  options: KerasOnnxImageEmbedderOptions,
): Promise<PixelEmbedder> {
  const { spec } = options;
  const preprocess = spec.image;
  const graphFile = spec.files.find((file) => file.role === "graph");
  const graphPath = graphFile === undefined ? undefined : options.paths[graphFile.name];
  if (spec.format !== "tfjs-layers" || preprocess === undefined || graphPath === undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${spec.id} is not a TF.js image model with a graph file (format ${spec.format}); expected format "tfjs-layers" with image preprocessing.`,
      { details: { model: spec.id } },
    );
  }
  if (preprocess.layout !== "nhwc") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${spec.id}: a TF.js model takes NHWC input, the spec says ${preprocess.layout}.`,
      {
        details: { model: spec.id },
      },
    );
  }
  const derived = await ensureDerivedFile({
    dir: dirname(graphPath),
    name: convertedGraphName(spec),
    converter: KERAS_ONNX_CONVERTER_VERSION,
    inputs: Object.fromEntries(spec.files.map((file) => [file.name, file.sha256])),
    async build() {
      const files = await readTfjsModelFiles(graphPath, (shard) => shardPathOf(spec, options.paths, shard));
      const graph = convertKerasToOnnx(files.json.modelTopology, decodeTfjsWeights(files, spec.id), {
        label: spec.id,
        inputName: INPUT,
        outputName: OUTPUT,
        ...(preprocess.featureLayer === undefined ? {} : { outputLayer: preprocess.featureLayer }),
      });
      return encodeOnnxModel(graph);
    },
  });
  if (derived.rebuilt !== undefined) options.onConvert?.({ reason: derived.rebuilt, path: derived.path });
  const where = derived.path ?? `the in-memory conversion of ${spec.id}`;
  const ort = await loadOnnxRuntime();
  let session: ort.InferenceSession;
  try {
    const sessionOptions = {
      intraOpNumThreads: options.threads ?? availableParallelism(),
      interOpNumThreads: 1,
    };
    session =
      derived.bytes !== undefined
        ? await ort.InferenceSession.create(derived.bytes, sessionOptions)
        : await ort.InferenceSession.create(derived.path as string, sessionOptions);
  } catch (cause) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${spec.id}: onnxruntime cannot load ${where}: ${(cause as Error).message}. Delete it to convert again, or use runtime "tfjs".`,
      { cause, details: { model: spec.id } },
    );
  }
  const meta = session.outputMetadata.find((value) => value.name === OUTPUT);
  const outputDims = meta?.isTensor === true ? meta.shape.at(-1) : undefined;
  if (
    !session.inputNames.includes(INPUT) ||
    !session.outputNames.includes(OUTPUT) ||
    outputDims !== spec.dims
  ) {
    await session.release();
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${spec.id}: ${where} has inputs [${session.inputNames}] and outputs [${session.outputNames}] of ${String(outputDims)} dimensions; expected "${INPUT}" → "${OUTPUT}" with ${spec.dims}.`,
      { details: { model: spec.id, expected: spec.dims } },
    );
  }
  const model = imageModelInfo(spec, options);
  const { width, height } = preprocess;
  return createPixelEmbedder({
    model,
    preprocess,
    async run(tensor, count) {
      let result: ort.InferenceSession.OnnxValueMapType;
      try {
        result = await session.run({ [INPUT]: new ort.Tensor("float32", tensor, [count, height, width, 3]) });
      } catch (cause) {
        throw new EmbedkitError(
          "INFERENCE_FAILED",
          `${spec.id}: onnxruntime failed: ${(cause as Error).message}`,
          {
            cause,
            details: { model: spec.id },
          },
        );
      }
      const flat = result[OUTPUT]?.data as Float32Array;
      return Array.from({ length: count }, (_, index) =>
        flat.slice(index * spec.dims, (index + 1) * spec.dims),
      );
    },
    async close() {
      await session.release();
    },
  });
}
