/**
 * @module vectors
 * Pure vector math, quantization and codecs. Re-exports only.
 */
export { base64ToFloat32, float32ToBase64, toNumberArray } from "./codec.js";
export type { ScoredIndex, SimilarityMetric, VectorLike } from "./math.js";
export {
  cosineSimilarity,
  dot,
  euclideanDistance,
  norm,
  normalize,
  normalizeInPlace,
  similarityMatrix,
  topK,
  truncateDimensions,
} from "./math.js";
export { encodeNpy, npyHeader } from "./npy.js";
export type { Precision, PrecisionVector } from "./quantize.js";
export { assertPrecision, dequantize, hammingDistance, PRECISIONS, quantize } from "./quantize.js";
export type { Random } from "./random.js";
export { createRandom } from "./random.js";
