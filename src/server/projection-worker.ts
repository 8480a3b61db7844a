/**
 * @module server/projection-worker
 * Worker-thread entry of a dashboard map projection, so a 100k-point PCA never
 * stalls the server's event loop. Gets `{ method, rows, dims, vectors }` (the
 * row-major vectors' buffer transferred, not copied) in `workerData`; posts
 * `{ progress }` messages, then `{ points }` (x, y interleaved, buffer
 * transferred) or `{ error }`.
 */
import { parentPort, workerData } from "node:worker_threads";
import { applyPca, fitPca, projectUmap } from "../eval/projection.js";

/** What the worker is given. */
export interface ProjectionJob {
  readonly method: "pca" | "umap";
  readonly rows: number;
  readonly dims: number;
  /** `rows × dims` float32 values, row-major. */
  readonly vectors: Float32Array;
  /** Most rows the PCA axes are fitted on (a stride sample of the rest); every row is projected. */
  readonly fitRows: number;
}

/** A message the worker posts. */
export type ProjectionReply =
  | { readonly progress: number }
  | { readonly points: Float32Array }
  | { readonly error: { readonly message: string; readonly code?: string } };

function rowsOf(job: ProjectionJob, stride: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let row = 0; row < job.rows; row += stride) {
    out.push(job.vectors.subarray(row * job.dims, (row + 1) * job.dims));
  }
  return out;
}

async function run(job: ProjectionJob): Promise<Float32Array> {
  const points = new Float32Array(job.rows * 2);
  if (job.method === "umap") {
    const projection = await projectUmap(rowsOf(job, 1));
    projection.points.forEach(([x, y], row) => {
      points[row * 2] = x;
      points[row * 2 + 1] = y;
    });
    return points;
  }
  const model = fitPca(rowsOf(job, Math.max(1, Math.ceil(job.rows / job.fitRows))));
  parentPort?.postMessage({ progress: 0.5 } satisfies ProjectionReply);
  const step = Math.max(1, Math.ceil(job.rows / 10));
  for (let row = 0; row < job.rows; row++) {
    const [x, y] = applyPca(model, job.vectors.subarray(row * job.dims, (row + 1) * job.dims));
    points[row * 2] = x;
    points[row * 2 + 1] = y;
    if ((row + 1) % step === 0) parentPort?.postMessage({ progress: 0.5 + (0.5 * (row + 1)) / job.rows });
  }
  return points;
}

try {
  const points = await run(workerData as ProjectionJob);
  parentPort?.postMessage({ points } satisfies ProjectionReply, [points.buffer as ArrayBuffer]);
} catch (error) {
  const code = (error as { code?: unknown }).code;
  parentPort?.postMessage({
    error: {
      message: error instanceof Error ? error.message : String(error),
      ...(typeof code === "string" ? { code } : {}),
    },
  } satisfies ProjectionReply);
}
