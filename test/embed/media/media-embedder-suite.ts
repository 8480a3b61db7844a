/**
 * The MediaEmbedder conformance suite: every media embedder (image, face, video,
 * audio, the media side of CLIP/CLAP) runs these same checks on its real model
 * and real files, as test/embed/embedder-suite.ts does for text embedders. It
 * covers what the pipeline core (src/embed/pipeline.ts) promises for media:
 * shape and order, determinism, options, input checks before any work, progress,
 * and cancellation between sub-batches with the embedder usable afterwards.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MediaEmbedder, MediaInput } from "../../../src/embed/media/media-embedder.js";
import { cosineSimilarity, norm } from "../../../src/vectors/math.js";
import { errorCode, temporaryFolder } from "./image-fixtures.js";

/** Options of {@link runMediaEmbedderSuite}. */
export interface MediaEmbedderSuiteOptions {
  readonly name: string;
  /**
   * Creates a fresh embedder (once per suite, plus once for the close test). Its
   * `maxBatchSize` should be below `inputs.length` so a call has several sub-batches.
   */
  readonly create: () => Promise<MediaEmbedder>;
  /** At least three valid inputs of the embedder's modality. */
  readonly inputs: () => readonly MediaInput[];
  /** A real file of another modality (e.g. a WAV for an image model). */
  readonly wrongType: () => string;
  /** File extension of the embedder's modality, for the 0-byte file. */
  readonly extension: string;
  /**
   * Least cosine between an input embedded alone and inside a batch.
   * @default 0.9999
   */
  readonly batchInvariance?: number;
}

function asFloats(vector: unknown): Float32Array {
  expect(vector).toBeInstanceOf(Float32Array);
  return vector as Float32Array;
}

export function runMediaEmbedderSuite(options: MediaEmbedderSuiteOptions): void {
  describe(`MediaEmbedder conformance: ${options.name}`, () => {
    let embedder: MediaEmbedder;
    let folder: string;
    let inputs: readonly MediaInput[];
    beforeAll(async () => {
      embedder = await options.create();
      folder = await temporaryFolder("media-suite");
      inputs = options.inputs();
      expect(inputs.length).toBeGreaterThanOrEqual(3);
    });
    afterAll(async () => {
      await embedder?.close();
    });

    it("returns one vector of model.dims per input, in input order, with media usage", async () => {
      const result = await embedder.embed(inputs);
      expect(result.vectors).toHaveLength(inputs.length);
      expect(result.dims).toBe(embedder.model.dims);
      expect(result.precision).toBe("float32");
      expect(result.modality).toBe(embedder.model.modality);
      expect(result.usage).toMatchObject({ tokens: 0, inputs: inputs.length });
      for (const vector of result.vectors) {
        expect(asFloats(vector).length).toBe(embedder.model.dims);
        if (embedder.model.normalize) expect(norm(vector)).toBeCloseTo(1, 4);
      }
      // Order is preserved: each input alone gives its vector from the batch.
      for (const [index, input] of inputs.entries()) {
        const [alone] = (await embedder.embed([input])).vectors;
        expect(
          cosineSimilarity(asFloats(alone), result.vectors[index] as Float32Array),
          `input ${index}`,
        ).toBeGreaterThan(options.batchInvariance ?? 0.9999);
      }
    });

    it("is deterministic", async () => {
      const first = await embedder.embed(inputs.slice(0, 2));
      const second = await embedder.embed(inputs.slice(0, 2));
      expect(second.vectors.map((vector) => Array.from(vector))).toEqual(
        first.vectors.map((vector) => Array.from(vector)),
      );
    });

    it("returns an empty result for an empty list", async () => {
      const result = await embedder.embed([]);
      expect(result.vectors).toEqual([]);
      expect(result.usage.inputs).toBe(0);
    });

    it("truncates dimensions (re-normalized) and quantizes to every precision", async () => {
      const full = (await embedder.embed(inputs.slice(0, 1))).vectors[0] as Float32Array;
      const short = await embedder.embed(inputs.slice(0, 1), { dimensions: 16 });
      expect(short.dims).toBe(16);
      const vector = asFloats(short.vectors[0]);
      expect(vector.length).toBe(16);
      expect(norm(vector)).toBeCloseTo(1, 4);
      // The first 16 dimensions, re-normalized: same direction as the full vector's prefix.
      expect(cosineSimilarity(vector, full.subarray(0, 16))).toBeGreaterThan(0.9999);
      const int8 = await embedder.embed(inputs.slice(0, 1), { precision: "int8" });
      expect(int8.vectors[0]).toBeInstanceOf(Int8Array);
      expect(int8.precision).toBe("int8");
      const binary = await embedder.embed(inputs.slice(0, 1), { precision: "binary" });
      expect(binary.vectors[0]).toBeInstanceOf(Uint8Array);
      expect(binary.vectors[0]?.length).toBe(Math.ceil(embedder.model.dims / 8));
      expect(
        await errorCode(embedder.embed(inputs.slice(0, 1), { dimensions: embedder.model.dims + 1 })),
      ).toBe("INVALID_OPTION");
      expect(await errorCode(embedder.embed(inputs.slice(0, 1), { precision: "fp16" as "int8" }))).toBe(
        "INVALID_OPTION",
      );
    });

    it("rejects bad inputs with specific errors before any work (no progress reported)", async () => {
      const empty = join(folder, `empty.${options.extension}`);
      await writeFile(empty, new Uint8Array(0));
      const missing = join(folder, `missing.${options.extension}`);
      const cases: Array<readonly [string, unknown, string]> = [
        ["a missing file", missing, "FILE_NOT_FOUND"],
        ["a 0-byte file", empty, "MALFORMED_FILE"],
        ["a file of another modality", options.wrongType(), "UNSUPPORTED_MEDIA"],
        ["a number", 42, "INVALID_INPUT"],
      ];
      for (const [what, bad, code] of cases) {
        let progress = 0;
        const call = embedder.embed([...inputs, bad as MediaInput], {
          onProgress: () => {
            progress++;
          },
        });
        expect(await errorCode(call), what).toBe(code);
        expect(progress, what).toBe(0);
      }
      expect(await errorCode(embedder.embed(inputs[0] as unknown as MediaInput[]))).toBe("INVALID_INPUT");
      await expect(embedder.embed([missing])).rejects.toThrow(/missing\./);
    });

    it("reports progress after each sub-batch up to the total", async () => {
      const calls: Array<readonly [number, number]> = [];
      await embedder.embed(inputs, { onProgress: (done, total) => calls.push([done, total]) });
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(calls.at(-1)).toEqual([inputs.length, inputs.length]);
      for (let i = 1; i < calls.length; i++) {
        expect((calls[i] as [number, number])[0]).toBeGreaterThan((calls[i - 1] as [number, number])[0]);
      }
    });

    it("stops between sub-batches when the signal aborts, and stays usable", async () => {
      const before = await embedder.embed(inputs);
      expect(await errorCode(embedder.embed(inputs, { signal: AbortSignal.abort() }))).toBe("INVALID_INPUT");
      const controller = new AbortController();
      const reason = new Error("deadline passed");
      let progress = 0;
      const call = embedder.embed(inputs, {
        signal: controller.signal,
        onProgress: () => {
          progress++;
          controller.abort(reason);
        },
      });
      // The caller's own reason is what the call rejects with (a server maps its deadline error).
      await expect(call).rejects.toBe(reason);
      // The first sub-batch finished; no other one started after the abort.
      expect(progress).toBe(1);
      const after = await embedder.embed(inputs);
      expect(after.vectors.map((vector) => Array.from(vector))).toEqual(
        before.vectors.map((vector) => Array.from(vector)),
      );
    });

    it("refuses calls after close, and close is idempotent", async () => {
      const fresh = await options.create();
      await fresh.close();
      await fresh.close();
      expect(await errorCode(fresh.embed(inputs.slice(0, 1)))).toBe("CLOSED");
    });
  });
}
