/**
 * @module embed/reference-check
 * Proves a model copy genuine by reproducing the values its publishers printed
 * (sentence-transformers docs, fastembed tests, LangChain4j tests): together
 * with the sha256 pins this shows the bytes and our pipeline (tokenizer,
 * pooling, normalization) are the real thing.
 */
import type { ModelSpec, ReferenceCheck } from "../models/model-spec.js";
import { cosineSimilarity } from "../vectors/math.js";
import type { Embedder } from "./embedder.js";

/** Outcome of one reference check. */
export interface ReferenceResult {
  readonly check: ReferenceCheck;
  readonly ok: boolean;
  /** Observed cosine, or the largest absolute deviation for vector checks. */
  readonly observed: number;
  readonly summary: string;
}

/** Run every published reference check of `spec` against `embedder`. */
export async function checkReferences(embedder: Embedder, spec: ModelSpec): Promise<ReferenceResult[]> {
  const results: ReferenceResult[] = [];
  for (const check of spec.references) {
    if (check.kind === "cosine") {
      const { vectors } = await embedder.embed([check.a, check.b]);
      const observed = cosineSimilarity(vectors[0] as Float32Array, vectors[1] as Float32Array);
      const ok = check.atLeast
        ? observed >= check.expected
        : Math.abs(observed - check.expected) <= (check.tolerance ?? 0.01);
      const bound = check.atLeast ? `>= ${check.expected}` : `${check.expected} ± ${check.tolerance ?? 0.01}`;
      results.push({
        check,
        ok,
        observed,
        summary: `cos(${JSON.stringify(check.a)}, ${JSON.stringify(check.b)}) = ${observed.toFixed(4)}, expected ${bound}`,
      });
    } else {
      const { vectors } = await embedder.embed([check.text]);
      const vector = vectors[0] as Float32Array;
      const positions = check.at ?? check.values.map((_, i) => i);
      let observed = 0;
      positions.forEach((position, i) => {
        observed = Math.max(
          observed,
          Math.abs((vector[position] ?? Number.NaN) - (check.values[i] as number)),
        );
      });
      if (Number.isNaN(observed)) observed = Number.POSITIVE_INFINITY;
      results.push({
        check,
        ok: observed <= check.tolerance,
        observed,
        summary: `vector(${JSON.stringify(check.text)}) max |Δ| = ${observed.toExponential(2)}, tolerance ${check.tolerance}`,
      });
    }
  }
  return results;
}
