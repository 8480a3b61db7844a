/**
 * @module bench/lib/real-vectors
 * Realistic vectors for the store benchmarks. The clustered Gaussian data of
 * vector-bench-data.ts is isotropic inside each cluster (intrinsic dimension =
 * all 384 dims), which is the hardest case for any graph index; real sentence
 * embeddings have a steeply decaying spectrum. This module embeds the English
 * sentences of the shared evaluation sets with all-MiniLM-L6-v2 (384-d, cached
 * on disk by the eval embedding cache) and offers
 * - `real`: those vectors themselves (≈ 27k distinct sentences), and
 * - `spectrum`: any number of samples from a Gaussian with the mean and
 *   covariance fitted on them (eigendecomposition with ml-matrix), normalised
 *   like the model's outputs — the real spectrum without the real clusters, so
 *   it scales to 1M vectors. To keep 1M samples cheap, the leading components
 *   that hold 95 % of the variance are drawn exactly and the remaining 5 % is
 *   spread as isotropic noise of the same total variance.
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import * as ort from "onnxruntime-node";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { embedTexts } from "../../src/eval/embedding-cache.js";
import { loadLabeledSet } from "../../src/eval/task-data.js";
import { encodeOnnxModel } from "../../src/models/onnx-writer.js";
import { createRandom } from "../../src/vectors/random.js";
import { rowsOf } from "./vector-bench-data.js";

/** Rows per onnxruntime call of {@link SpectrumModel.sampleMatrix}. */
const SAMPLE_BLOCK = 4096;

/** Model whose outputs are the real vectors. */
export const REAL_MODEL = "all-minilm-l6-v2";
const SETS = ["sst-2", "ag-news", "trec-qc", "banking77"] as const;

/** Distinct English sentences of the shared sets, in a seeded order. */
async function sentences(dataDir: string): Promise<string[]> {
  const all = new Set<string>();
  for (const id of SETS) {
    const split = await loadLabeledSet(id, { dataDir });
    for (const item of [...split.train, ...split.test]) all.add(item.text);
  }
  return createRandom(7).shuffle([...all]);
}

/**
 * Real all-MiniLM-L6-v2 vectors of the shared English sentences (embedded once, then cached);
 * `limit` keeps the first sentences of the seeded order (enough to fit a spectrum).
 */
export async function loadRealVectors(
  dataDir: string,
  log: (message: string) => void,
  limit = Number.POSITIVE_INFINITY,
): Promise<Float32Array[]> {
  const texts = (await sentences(dataDir)).slice(0, limit);
  const embedder = await createEmbedder({ model: REAL_MODEL });
  try {
    let last = 0;
    const result = await embedTexts({
      embedder,
      texts,
      onProgress: ({ done, total }) => {
        if (done - last >= 2000 || done === total) {
          last = done;
          log(`embedding real sentences ${done}/${total}`);
        }
      },
    });
    log(
      `${texts.length} real vectors (${result.cached} cached, ${result.embedded} embedded in ${result.embedSeconds.toFixed(0)} s)`,
    );
    return result.vectors;
  } finally {
    await embedder.close();
  }
}

/** A Gaussian fitted on sample vectors: draw with {@link SpectrumModel.sample}. */
export interface SpectrumModel {
  readonly dims: number;
  /** Eigenvalues of the fitted covariance, largest first. */
  readonly eigenvalues: readonly number[];
  /** Participation ratio (Σλ)² / Σλ²: an effective dimension of the data. */
  readonly effectiveDims: number;
  /** Leading components drawn exactly (95 % of the variance). */
  readonly components: number;
  /** `count` unit vectors drawn from the fitted Gaussian (seeded). */
  sample(count: number, seed: number): Promise<Float32Array[]>;
  /**
   * The same vectors as {@link SpectrumModel.sample} in one row-major
   * `count × dims` Float32Array; the product with the scaled components runs
   * as onnxruntime MatMuls on blocks of rows (1M rows: seconds, not minutes).
   */
  sampleMatrix(count: number, seed: number): Promise<Float32Array>;
}

/** Fit mean and covariance of `vectors` (all of one dimension). */
export function fitSpectrum(vectors: readonly Float32Array[]): SpectrumModel {
  const dims = (vectors[0] as Float32Array).length;
  const mean = new Float64Array(dims);
  for (const v of vectors) for (let i = 0; i < dims; i++) mean[i] = (mean[i] as number) + (v[i] as number);
  for (let i = 0; i < dims; i++) mean[i] = (mean[i] as number) / vectors.length;
  const centred = new Matrix(vectors.length, dims);
  vectors.forEach((v, r) => {
    for (let i = 0; i < dims; i++) centred.set(r, i, (v[i] as number) - (mean[i] as number));
  });
  const covariance = centred
    .transpose()
    .mmul(centred)
    .div(vectors.length - 1);
  const decomposition = new EigenvalueDecomposition(covariance, { assumeSymmetric: true });
  const values = decomposition.realEigenvalues.map((x) => Math.max(0, x));
  const order = values.map((_, i) => i).sort((a, b) => (values[b] as number) - (values[a] as number));
  const eigenvalues = order.map((i) => values[i] as number);
  const basis = decomposition.eigenvectorMatrix;
  const sum = eigenvalues.reduce((a, b) => a + b, 0);
  const squares = eigenvalues.reduce((a, b) => a + b * b, 0);
  // Leading components holding 95 % of the variance; the rest becomes isotropic noise.
  let kept = 0;
  for (let covered = 0; kept < dims && covered < 0.95 * sum; kept++) covered += eigenvalues[kept] as number;
  const tailSd = Math.sqrt(eigenvalues.slice(kept).reduce((a, b) => a + b, 0) / dims);
  // Columns scaled by √λ: x = mean + B·z + tail noise, with z ~ N(0, I).
  const scaled = new Float64Array(dims * kept); // row-major [dim][component]
  order.slice(0, kept).forEach((column, c) => {
    const s = Math.sqrt(values[column] as number);
    for (let i = 0; i < dims; i++) scaled[i * kept + c] = basis.get(i, column) * s;
  });
  return {
    dims,
    eigenvalues,
    effectiveDims: (sum * sum) / squares,
    components: kept,
    async sample(count, seed) {
      return rowsOf(await this.sampleMatrix(count, seed), dims);
    },
    async sampleMatrix(count, seed) {
      // right[c][i] = scaled[i][c]: z (rows × kept) · right (kept × dims) = the leading-component part.
      const right = new Float32Array(kept * dims);
      for (let i = 0; i < dims; i++)
        for (let c = 0; c < kept; c++) right[c * dims + i] = scaled[i * kept + c] as number;
      const session = await ort.InferenceSession.create(
        encodeOnnxModel({
          name: "spectrum-sample",
          inputs: [{ name: "z", type: "float", shape: ["rows", kept] }],
          outputs: [{ name: "x", type: "float", shape: ["rows", dims] }],
          initializers: [{ name: "b", dims: [kept, dims], data: right }],
          nodes: [{ op: "MatMul", inputs: ["z", "b"], outputs: ["x"] }],
        }),
        { intraOpNumThreads: 1, interOpNumThreads: 1 },
      );
      try {
        const random = createRandom(seed);
        const out = new Float32Array(count * dims);
        const noise = new Float64Array(SAMPLE_BLOCK * dims);
        for (let start = 0; start < count; start += SAMPLE_BLOCK) {
          const rows = Math.min(SAMPLE_BLOCK, count - start);
          // Per row: its kept component draws, then its dims noise draws (one seeded stream).
          const z = new Float32Array(rows * kept);
          for (let r = 0; r < rows; r++) {
            for (let c = 0; c < kept; c++) z[r * kept + c] = random.gaussian();
            for (let i = 0; i < dims; i++) noise[r * dims + i] = tailSd * random.gaussian();
          }
          const { x } = await session.run({ z: new ort.Tensor("float32", z, [rows, kept]) });
          const lead = (x as ort.Tensor).data as Float32Array;
          for (let r = 0; r < rows; r++) {
            const o = r * dims;
            let norm = 0;
            for (let i = 0; i < dims; i++) {
              const value = (mean[i] as number) + (noise[o + i] as number) + (lead[o + i] as number);
              lead[o + i] = value;
              norm += value * value;
            }
            const inv = 1 / Math.sqrt(norm);
            for (let i = 0; i < dims; i++) out[(start + r) * dims + i] = (lead[o + i] as number) * inv;
          }
        }
        return out;
      } finally {
        await session.release();
      }
    },
  };
}
