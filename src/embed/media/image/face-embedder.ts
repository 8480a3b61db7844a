/**
 * @module embed/media/image/face-embedder
 * Face embeddings with the nets bundled in `@vladmandic/face-api` (weights pulled
 * from its npm tarball by the model store and sha256-pinned; the package's
 * node-wasm build supplies the network code and runs on our TF.js wasm backend):
 *
 * 1. **detect** faces with SSD MobileNetV1 (the image is letterboxed to 512×512
 *    inside the net; boxes come back in image pixels), `minConfidence` 0.5;
 * 2. **landmarks**: the 68-point net on each detected face crop;
 * 3. **align**: face-api's dlib-style box from the eye and mouth centres
 *    (`landmarks.align(null, { useDlibAlignment: true })`; scale and position,
 *    no rotation), the crop the recognition net was trained on;
 * 4. **describe**: the ResNet-34 face-recognition net (ported from dlib) gives a
 *    128-d descriptor, L2-normalized here.
 *
 * Several faces: `embed()` describes the **largest** face (detection box area)
 * of each image; `detectFaces()` returns **all** of them (box, score, landmarks,
 * vector). No face: `embed()` throws `NO_FACE`; `detectFaces()` returns an empty
 * list for that image. Images with a side over {@link FACE_MAX_SIDE} pixels are
 * downscaled first (boxes are reported in the original image's pixels).
 */
import { readFile } from "node:fs/promises";
import { EmbedkitError } from "../../../errors.js";
import type { ModelSpec } from "../../../models/model-spec.js";
import { assertOpen, finishVector } from "../../inputs.js";
import { type EmbedProvider, embedDecoded, scheduleBatches } from "../../pipeline.js";
import { prepareMediaCall } from "../media-call.js";
import type { MediaInput, MediaLimits } from "../media-embedder.js";
import type { MediaFile } from "../media-input.js";
import { embedMedia, type MediaProvider } from "../media-pipeline.js";
import { checkImageHeaders, decodeImage, type RgbImage, resizeRgb } from "./decode-image.js";
import { imageModelInfo, type PixelEmbedder } from "./pixel-embedder.js";
import { loadTensorFlow, type TfjsBackend } from "./tfjs-runtime.js";

type FaceApi = typeof import("@vladmandic/face-api/dist/face-api.node-wasm.js");
type Tensor3D = ReturnType<FaceApi["tf"]["tensor3d"]>;
type FaceDetection = Awaited<ReturnType<InstanceType<FaceApi["SsdMobilenetv1"]>["locateFaces"]>>[number];

/** Longest image side given to the detector; larger images are downscaled first. */
export const FACE_MAX_SIDE = 2048;

/** A face found in an image. */
export interface DetectedFace {
  /** Bounding box of the detection, in pixels of the (EXIF-rotated) input image. */
  readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
  /** Detector confidence in [0, 1]. */
  readonly score: number;
  /** The 68 landmark points (iBUG 300-W order), in pixels of the input image. */
  readonly landmarks: readonly { readonly x: number; readonly y: number }[];
  /** The face's 128-d descriptor, L2-normalized. */
  readonly vector: Float32Array;
}

/** Options of {@link FaceEmbedder.detectFaces}. */
export interface DetectFacesOptions {
  readonly limits?: Partial<MediaLimits>;
  readonly signal?: AbortSignal;
}

/** An image embedder for faces: one vector per image (its largest face), or every face. */
export interface FaceEmbedder extends PixelEmbedder {
  /** Minimum detector confidence for a face. */
  readonly minConfidence: number;
  /**
   * Every face of every image, largest first; an image without a face gives an
   * empty list (no error).
   * @throws EmbedkitError like {@link PixelEmbedder.embed}, except NO_FACE
   */
  detectFaces(inputs: readonly MediaInput[], options?: DetectFacesOptions): Promise<DetectedFace[][]>;
}

/** Options of {@link createFaceEmbedder}. */
export interface FaceEmbedderOptions {
  /** The model's spec; needs `format: "tfjs-faceapi"`. */
  readonly spec: ModelSpec;
  /** Absolute path of each model file by name (from the model store). */
  readonly paths: Readonly<Record<string, string>>;
  /** TF.js backend. @default "wasm" */
  readonly backend?: TfjsBackend;
  /** Minimum detector confidence. @default 0.5 */
  readonly minConfidence?: number;
  /** Most faces kept per image (largest first). @default 64 */
  readonly maxFaces?: number;
  /** Images per progress step. @default 16 */
  readonly maxBatchSize?: number;
  /** Limits for every call (per-call options may override). @default DEFAULT_MEDIA_LIMITS */
  readonly limits?: Partial<MediaLimits>;
}

/** The three nets this model needs, by the name prefix of their files. */
const NETS = ["ssd_mobilenetv1_model", "face_landmark_68_model", "face_recognition_model"] as const;

interface ManifestGroup {
  readonly paths: readonly string[];
  readonly weights: readonly unknown[];
}

function corrupt(spec: ModelSpec, problem: string, cause?: unknown): EmbedkitError {
  return new EmbedkitError(
    "CORRUPT_MODEL",
    `${spec.id}: ${problem}. Re-pull the model (\`embedkit models rm ${spec.id}\` then \`pull\`).`,
    { details: { model: spec.id }, ...(cause === undefined ? {} : { cause }) },
  );
}

async function loadFaceApi(backend: TfjsBackend): Promise<FaceApi> {
  await loadTensorFlow(backend);
  const module = (await import("@vladmandic/face-api/dist/face-api.node-wasm.js")) as FaceApi & {
    default?: FaceApi;
  };
  return module.default ?? module;
}

/** Read one net's weights manifest and shards into TF.js tensors. */
async function readWeightMap(
  faceapi: FaceApi,
  spec: ModelSpec,
  paths: Readonly<Record<string, string>>,
  net: string,
): Promise<ReturnType<FaceApi["tf"]["io"]["decodeWeights"]>> {
  const pathOf = (name: string): string => {
    const path = paths[name];
    if (path === undefined) throw corrupt(spec, `the file "${name}" is not among the model's files`);
    return path;
  };
  let groups: ManifestGroup[];
  try {
    groups = JSON.parse(await readFile(pathOf(`${net}-weights_manifest.json`), "utf8")) as ManifestGroup[];
    if (!Array.isArray(groups)) throw new Error("the manifest is not a list of weight groups");
  } catch (cause) {
    if (EmbedkitError.isInstance(cause)) throw cause;
    throw corrupt(spec, `${net}-weights_manifest.json is not a TF.js weights manifest`, cause);
  }
  const specs = groups.flatMap((group) => [...group.weights]);
  const shards = await Promise.all(
    groups.flatMap((group) => group.paths.map((name) => readFile(pathOf(name)))),
  );
  const bytes = new Uint8Array(Buffer.concat(shards));
  try {
    return faceapi.tf.io.decodeWeights(
      bytes.buffer,
      specs as Parameters<FaceApi["tf"]["io"]["decodeWeights"]>[1],
    );
  } catch (cause) {
    throw corrupt(spec, `the weights of ${net} do not match its manifest`, cause);
  }
}

function area(detection: FaceDetection): number {
  return detection.box.width * detection.box.height;
}

/**
 * Load face-api's detector, landmark and recognition nets from the model
 * store's files and expose them as an image embedder for faces.
 * @throws EmbedkitError INVALID_OPTION (not a face model, bad minConfidence), CORRUPT_MODEL
 * @example
 * ```ts
 * const pulled = await createModelStore().ensure("face-api-descriptor");
 * const faces = await createFaceEmbedder({ spec: pulled.spec, paths: pulled.paths });
 * const { vectors } = await faces.embed(["alice.jpg", "bob.png"]); // largest face of each
 * const all = await faces.detectFaces(["group.jpg"]); // every face, with boxes
 * ```
 */
export async function createFaceEmbedder(options: FaceEmbedderOptions): Promise<FaceEmbedder> {
  const { spec } = options;
  const preprocess = spec.image;
  if (spec.format !== "tfjs-faceapi" || preprocess === undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${spec.id} is not a face model (format ${spec.format}); expected format "tfjs-faceapi".`,
      { details: { model: spec.id } },
    );
  }
  const minConfidence = options.minConfidence ?? 0.5;
  if (!(minConfidence > 0 && minConfidence < 1)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `minConfidence must be in (0, 1), received ${String(minConfidence)}.`,
      { details: { option: "minConfidence" } },
    );
  }
  const maxFaces = options.maxFaces ?? 64;
  const faceapi = await loadFaceApi(options.backend ?? "wasm");
  const detector = new faceapi.SsdMobilenetv1();
  const landmarker = new faceapi.FaceLandmark68Net();
  const recognizer = new faceapi.FaceRecognitionNet();
  const nets = [detector, landmarker, recognizer] as const;
  try {
    for (const [index, net] of nets.entries()) {
      const name = NETS[index] as string;
      const weights = await readWeightMap(faceapi, spec, options.paths, name);
      try {
        await net.loadFromWeightMap(weights);
      } catch (cause) {
        // The net keeps the tensors it uses as its parameters; free them when it cannot be built.
        for (const tensor of Object.values(weights)) tensor.dispose();
        throw corrupt(
          spec,
          `face-api could not build ${name} from its weights: ${(cause as Error).message}`,
          cause,
        );
      }
    }
  } catch (error) {
    for (const net of nets) if (net.isLoaded) net.dispose();
    throw error;
  }
  const model = imageModelInfo(spec, options);
  const detectorOptions = new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: maxFaces });
  const raw = { inputType: "none", truncate: true, dimensions: model.dims, precision: "float32" } as const;
  let closed = false;

  /** Detect, align and describe the faces of one image (all, or only the largest). */
  async function facesOf(image: RgbImage, which: "all" | "largest"): Promise<DetectedFace[]> {
    const scale = Math.min(1, FACE_MAX_SIDE / Math.max(image.width, image.height));
    const input =
      scale < 1
        ? await resizeRgb(image, {
            width: Math.max(1, Math.round(image.width * scale)),
            height: Math.max(1, Math.round(image.height * scale)),
            fit: "fill",
          })
        : image;
    const back = { x: image.width / input.width, y: image.height / input.height };
    const tensor: Tensor3D = faceapi.tf.tensor3d(input.data, [input.height, input.width, 3], "int32");
    try {
      const detections = (await detector.locateFaces(tensor, detectorOptions)).sort(
        (a, b) => area(b) - area(a),
      );
      const chosen = which === "largest" ? detections.slice(0, 1) : detections;
      const faces: DetectedFace[] = [];
      for (const detection of chosen) {
        const [crop] = await faceapi.extractFaceTensors(tensor, [detection]);
        let landmarks: InstanceType<FaceApi["FaceLandmarks68"]>;
        try {
          landmarks = (await landmarker.detectLandmarks(crop as Tensor3D)) as typeof landmarks;
        } finally {
          crop?.dispose();
        }
        const withLandmarks = faceapi.extendWithFaceLandmarks(
          faceapi.extendWithFaceDetection({}, detection),
          landmarks,
        );
        const aligned = withLandmarks.landmarks.align(null, { useDlibAlignment: true });
        const [face] = await faceapi.extractFaceTensors(tensor, [aligned]);
        let descriptor: Float32Array;
        try {
          descriptor = (await recognizer.computeFaceDescriptor(face as Tensor3D)) as Float32Array;
        } finally {
          face?.dispose();
        }
        const { box } = detection;
        faces.push({
          box: {
            x: box.x * back.x,
            y: box.y * back.y,
            width: box.width * back.x,
            height: box.height * back.y,
          },
          score: detection.score,
          landmarks: withLandmarks.landmarks.positions.map((point) => ({
            x: point.x * back.x,
            y: point.y * back.y,
          })),
          vector: finishVector(Float32Array.from(descriptor), true, raw),
        });
      }
      return faces;
    } finally {
      tensor.dispose();
    }
  }

  function noFace(name: string): EmbedkitError {
    return new EmbedkitError(
      "NO_FACE",
      `${name}: no face found (detector confidence ≥ ${minConfidence}). A face model embeds faces only: ` +
        "crop or choose a photo with a visible face, use detectFaces() (empty list instead of an error), " +
        "or a generic image model (mobilenet-v2-nsfwjs) for photos without faces.",
      { details: { name, minConfidence } },
    );
  }

  const assertNotClosed = (): void => assertOpen(closed, model.id);
  /** One file at a time (the detector runs per image): the largest face's descriptor. */
  const files: MediaProvider = {
    model,
    read: true,
    measures: { pixels: true, seconds: false },
    // Descriptors are unit length already; normalizing again keeps the published values exact.
    normalize: true,
    limits: { maxBatchSize: 1 },
    assertOpen: assertNotClosed,
    inspect: async (opened, { limits }) => ({ pixels: await checkImageHeaders(opened, limits.maxPixels) }),
    async doEmbed({ values, context }) {
      const vectors: Float32Array[] = [];
      for (const file of values) {
        const image = await decodeImage(file, { maxPixels: context.limits.maxPixels });
        const [face] = await facesOf(image, "largest");
        if (face === undefined) throw noFace(file.name);
        vectors.push(face.vector);
      }
      return { vectors };
    },
  };
  /** Decoded pixels (video frames): the largest face of each. */
  const decoded: EmbedProvider<RgbImage> = {
    limits: { maxBatchSize: 1 },
    async doEmbed({ values, indices }) {
      const vectors: Float32Array[] = [];
      for (const [row, image] of values.entries()) {
        const [face] = await facesOf(image, "largest");
        if (face === undefined) throw noFace(`image ${indices[row] as number}`);
        vectors.push(face.vector);
      }
      return { vectors };
    },
  };

  return {
    model,
    preprocess,
    minConfidence,
    embed: (inputs, callOptions) => embedMedia(files, inputs, callOptions),
    async detectFaces(inputs, callOptions = {}) {
      assertNotClosed();
      const call = await prepareMediaCall(model, inputs, callOptions, true);
      await checkImageHeaders(call.files, call.limits.maxPixels);
      const out: DetectedFace[][] = [];
      await scheduleBatches(
        call.files.map((_, index) => [index]),
        async ([index]) =>
          facesOf(
            await decodeImage(call.files[index as number] as MediaFile, { maxPixels: call.limits.maxPixels }),
            "all",
          ),
        (_, faces) => {
          out.push(faces);
        },
        { signal: callOptions.signal, assertOpen: assertNotClosed },
      );
      return out;
    },
    async embedPixels(images, callOptions = {}) {
      return embedDecoded(decoded, images, {
        dims: model.dims,
        normalize: false,
        signal: callOptions.signal,
        assertOpen: assertNotClosed,
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const net of nets) net.dispose();
    },
  };
}
