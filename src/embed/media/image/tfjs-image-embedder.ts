/**
 * @module embed/media/image/tfjs-image-embedder
 * An image {@link MediaEmbedder} backed by a TF.js Keras model (the offline
 * default: MobileNetV2 from the nsfwjs package). The embedding is the output of
 * the spec's `featureLayer` (global-average-pooled features), L2-normalized.
 * Images are decoded and resized with sharp, normalized per the spec, run in
 * batches of `maxBatchSize`, and every tensor is disposed after its batch.
 */

import type { io, LayersModel, SymbolicTensor, Tensor } from "@tensorflow/tfjs";
import { EmbedkitError } from "../../../errors.js";
import type { ModelSpec } from "../../../models/model-spec.js";
import { readTfjsModelFiles } from "../../../models/tfjs-layers.js";
import type { MediaLimits } from "../media-embedder.js";
import { type RgbImage, writeNormalized } from "./decode-image.js";
import { createPixelEmbedder, imageModelInfo, type PixelEmbedder } from "./pixel-embedder.js";
import { loadTensorFlow, type TfjsBackend } from "./tfjs-runtime.js";

/** Options of {@link createTfjsImageEmbedder}. */
export interface TfjsImageEmbedderOptions {
  /** The model's spec; needs `format: "tfjs-layers"` and an `image` preprocessing block. */
  readonly spec: ModelSpec;
  /** Absolute path of each model file by {@link ModelFile.name} (from the model store). */
  readonly paths: Readonly<Record<string, string>>;
  /** TF.js backend. @default "wasm" */
  readonly backend?: TfjsBackend;
  /** Images per inference call. @default 16 */
  readonly maxBatchSize?: number;
  /** Limits for every call (per-call options may override). @default DEFAULT_MEDIA_LIMITS */
  readonly limits?: Partial<MediaLimits>;
}

/** A {@link PixelEmbedder} on a TF.js model, which can also run the model's own head. */
export interface TfjsImageEmbedder extends PixelEmbedder {
  /**
   * Output of the full network (its classification head) for one model-sized
   * image; for nsfwjs the scores of Drawing, Hentai, Neutral, Porn, Sexy. Used to
   * check that the weights behave like the published model.
   */
  headOutput(image: RgbImage): Float32Array;
}

/**
 * Load a TF.js Layers model and expose its feature layer as an image embedder.
 * @throws EmbedkitError CORRUPT_MODEL when the files do not form a model or the layer is missing
 * @example
 * ```ts
 * const store = createModelStore();
 * const pulled = await store.ensure("mobilenet-v2-nsfwjs");
 * const embedder = await createTfjsImageEmbedder({ spec: pulled.spec, paths: pulled.paths });
 * const { vectors } = await embedder.embed(["cat.jpg", "dog.png"]);
 * ```
 */
export async function createTfjsImageEmbedder(options: TfjsImageEmbedderOptions): Promise<TfjsImageEmbedder> {
  const { spec } = options;
  const preprocess = spec.image;
  if (spec.format !== "tfjs-layers" || preprocess === undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${spec.id} is not a TF.js image model (format ${spec.format}); expected format "tfjs-layers" with image preprocessing.`,
      { details: { model: spec.id } },
    );
  }
  const tf = await loadTensorFlow(options.backend ?? "wasm");
  const graphFile = spec.files.find((file) => file.role === "graph");
  const graphPath = graphFile === undefined ? undefined : options.paths[graphFile.name];
  if (graphPath === undefined) {
    throw new EmbedkitError("CORRUPT_MODEL", `${spec.id} has no TF.js graph file (role "graph").`, {
      details: { model: spec.id },
    });
  }
  const { json, weightSpecs, weightData } = await readTfjsModelFiles(graphPath, (shardName) =>
    shardPathOf(spec, options.paths, shardName),
  );
  let full: LayersModel;
  try {
    full = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology as object,
        weightSpecs: weightSpecs as io.WeightsManifestEntry[],
        weightData: weightData.buffer as ArrayBuffer,
      }),
    );
  } catch (cause) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${spec.id}: TF.js could not build the model: ${(cause as Error).message}`,
      {
        cause,
        details: { model: spec.id },
      },
    );
  }
  const layerName = preprocess.featureLayer;
  const layer =
    layerName === undefined ? undefined : full.layers.find((candidate) => candidate.name === layerName);
  if (layerName !== undefined && layer === undefined) {
    full.dispose();
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${spec.id}: the model has no layer "${layerName}". Its last layers are ${full.layers
        .slice(-5)
        .map((l) => l.name)
        .join(", ")}.`,
      { details: { model: spec.id } },
    );
  }
  const features =
    layer === undefined ? full : tf.model({ inputs: full.inputs, outputs: layer.output as SymbolicTensor });
  const outputDims = (features.outputs[0]?.shape ?? []).at(-1);
  if (outputDims !== spec.dims) {
    full.dispose();
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${spec.id}: feature layer gives ${String(outputDims)} dimensions, the catalog says ${spec.dims}.`,
      { details: { model: spec.id, expected: spec.dims, received: outputDims ?? null } },
    );
  }
  const model = imageModelInfo(spec, options);
  const { width, height } = preprocess;
  const shapeOf = (count: number): [number, number, number, number] =>
    preprocess.layout === "nhwc" ? [count, height, width, 3] : [count, 3, height, width];
  const predict = (network: LayersModel, tensor: Float32Array, count: number): Float32Array => {
    const output = tf.tidy(() => {
      const result = network.predict(tf.tensor4d(tensor, shapeOf(count)));
      return (Array.isArray(result) ? result[0] : result) as Tensor;
    });
    try {
      return output.dataSync() as Float32Array;
    } finally {
      output.dispose();
    }
  };
  const embedder = createPixelEmbedder({
    model,
    preprocess,
    async run(tensor, count) {
      const flat = predict(features, tensor, count);
      return Array.from({ length: count }, (_, index) =>
        flat.slice(index * spec.dims, (index + 1) * spec.dims),
      );
    },
    async close() {
      full.dispose();
    },
  });
  return {
    ...embedder,
    headOutput(image) {
      const tensor = new Float32Array(width * height * 3);
      writeNormalized(image, preprocess, tensor, 0);
      return predict(full, tensor, 1);
    },
  };
}

/** The file holding TF.js weight shard `shardName` (manifest name; files may add `.bin`/`.min.js`). */
export function shardPathOf(
  spec: ModelSpec,
  paths: Readonly<Record<string, string>>,
  shardName: string,
): string | undefined {
  const file = spec.files.find(
    (candidate) => candidate.role === "weights" && candidate.name.startsWith(shardName),
  );
  return file === undefined ? undefined : paths[file.name];
}
