/**
 * The Embedder conformance suite: every provider (local ONNX, word vectors,
 * OpenAI-compatible) runs these same checks on its real model.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Embedder } from "../../src/embed/embedder.js";
import { EmbedkitError } from "../../src/errors.js";
import { cosineSimilarity, norm } from "../../src/vectors/math.js";

/** Options of {@link runEmbedderSuite}. */
export interface EmbedderSuiteOptions {
  readonly name: string;
  /** Creates a fresh embedder (called once per suite, plus once for the close test). */
  readonly create: () => Promise<Embedder>;
  /** Two related texts and one unrelated text, in the model's language. */
  readonly related: readonly [string, string];
  readonly unrelated: string;
  /**
   * Least cosine between a text embedded alone and inside a batch. 1 - 1e-4 for
   * fp32 graphs; int8 graphs use dynamic quantization whose per-tensor scale
   * depends on the whole batch (padding included), so they need a looser bound.
   * @default 0.9999
   */
  readonly batchInvariance?: number;
}

export function runEmbedderSuite(options: EmbedderSuiteOptions): void {
  describe(`Embedder conformance: ${options.name}`, () => {
    let embedder: Embedder;
    beforeAll(async () => {
      embedder = await options.create();
    });
    afterAll(async () => {
      await embedder?.close();
    });

    it("returns one unit vector of model.dims per input, in input order", async () => {
      const texts = [options.related[0], options.unrelated, options.related[1]];
      const result = await embedder.embed(texts);
      expect(result.vectors).toHaveLength(3);
      expect(result.dims).toBe(embedder.model.dims);
      for (const vector of result.vectors) {
        expect(vector).toBeInstanceOf(Float32Array);
        expect(vector.length).toBe(embedder.model.dims);
        expect(norm(vector)).toBeCloseTo(1, 4);
      }
      // Order is preserved: embedding one at a time gives the same vectors.
      for (let i = 0; i < texts.length; i++) {
        const single = await embedder.embed([texts[i] as string]);
        expect(
          cosineSimilarity(single.vectors[0] as Float32Array, result.vectors[i] as Float32Array),
        ).toBeGreaterThan(options.batchInvariance ?? 0.9999);
      }
      expect(result.usage.tokens).toBeGreaterThan(0);
    });

    it("places related texts closer than unrelated ones", async () => {
      const { vectors } = await embedder.embed([...options.related, options.unrelated]);
      const [a, b, c] = vectors as [Float32Array, Float32Array, Float32Array];
      expect(cosineSimilarity(a, b)).toBeGreaterThan(cosineSimilarity(a, c));
    });

    it("is deterministic", async () => {
      const first = await embedder.embed([options.related[0]]);
      const second = await embedder.embed([options.related[0]]);
      expect(Array.from(second.vectors[0] as Float32Array)).toEqual(
        Array.from(first.vectors[0] as Float32Array),
      );
    });

    it("returns an empty result for an empty list", async () => {
      const result = await embedder.embed([]);
      expect(result.vectors).toEqual([]);
    });

    it("truncates dimensions and re-normalizes", async () => {
      const { vectors, dims } = await embedder.embed([options.related[0]], { dimensions: 32 });
      expect(dims).toBe(32);
      expect(vectors[0]?.length).toBe(32);
      expect(norm(vectors[0] as Float32Array)).toBeCloseTo(1, 4);
      await expect(embedder.embed(["x"], { dimensions: embedder.model.dims + 1 })).rejects.toThrow(
        /dimensions must be an integer between 1 and/,
      );
    });

    it("supports int8, uint8 and binary precision", async () => {
      const int8 = await embedder.embed([options.related[0]], { precision: "int8" });
      expect(int8.vectors[0]).toBeInstanceOf(Int8Array);
      const binary = await embedder.embed([options.related[0]], { precision: "binary" });
      expect(binary.vectors[0]).toBeInstanceOf(Uint8Array);
      expect(binary.vectors[0]?.length).toBe(Math.ceil(embedder.model.dims / 8));
      await expect(embedder.embed(["x"], { precision: "fp16" as "int8" })).rejects.toThrow(
        /precision must be one of/,
      );
    });

    it("rejects bad inputs with specific errors before doing any work", async () => {
      await expect(embedder.embed([""])).rejects.toThrow(/Input 0 is an empty string/);
      await expect(embedder.embed(["ok", 42 as unknown as string])).rejects.toThrow(
        /Input 1 must be a string, received number/,
      );
      await expect(embedder.embed("text" as unknown as string[])).rejects.toThrow(
        /must be an array of strings, received string/,
      );
      await expect(embedder.embed([null as unknown as string])).rejects.toThrow(EmbedkitError);
    });

    it("stops between sub-batches when the signal aborts, and stays usable", async () => {
      const texts = [options.related[0], options.unrelated];
      const before = await embedder.embed(texts);
      await expect(embedder.embed(texts, { signal: AbortSignal.abort() })).rejects.toMatchObject({
        code: "INVALID_INPUT",
        message: expect.stringMatching(/cancelled by the caller's AbortSignal/),
      });
      // One more input than a sub-batch holds: at least two sub-batches.
      const many = Array.from(
        { length: embedder.model.maxBatchSize + 1 },
        (_, i) => `${options.related[0]} ${i % 7}`,
      );
      const controller = new AbortController();
      const reason = new Error("deadline passed");
      let progress = 0;
      const call = embedder.embed(many, {
        signal: controller.signal,
        onProgress: () => {
          progress++;
          controller.abort(reason);
        },
      });
      // The caller's own reason is what the call rejects with (a server maps its deadline error).
      await expect(call).rejects.toBe(reason);
      // The first sub-batch finished; no other one was started or reported after the abort.
      expect(progress).toBe(1);
      const after = await embedder.embed(texts);
      expect(after.vectors.map((vector) => Array.from(vector))).toEqual(
        before.vectors.map((vector) => Array.from(vector)),
      );
    });

    it("counts tokens", async () => {
      const counts = await embedder.countTokens([options.related[0], options.unrelated]);
      expect(counts).toHaveLength(2);
      expect(counts[0]).toBeGreaterThan(0);
    });

    it("refuses calls after close, and close is idempotent", async () => {
      const fresh = await options.create();
      await fresh.close();
      await fresh.close();
      await expect(fresh.embed(["hello"])).rejects.toThrow(/was closed/);
    });
  });
}
