/**
 * @module test/server/helpers
 * Shared fixtures of the server tests: the shared model cache, an assertion for
 * OpenAI-shaped error responses, and a recording fake embedder with a gate (a
 * controllable delay) — used ONLY for batching/queue orchestration tests, never
 * where the numbers of a real model are under test.
 */
import { expect } from "vitest";
import type { Embedder, Embeddings, EmbedOptions, ModelInfo } from "../../src/embed/embedder.js";
import type { ModelStore } from "../../src/models/model-store.js";
import { createModelStore } from "../../src/models/store-impl.js";
import type { Precision } from "../../src/vectors/quantize.js";

/** The shared test model cache (EMBEDKIT_HOME set by vitest.config.ts). */
export function sharedStore(): ModelStore {
  const home = process.env.EMBEDKIT_HOME;
  if (home === undefined) throw new Error("EMBEDKIT_HOME is not set; run the tests through vitest.config.ts");
  return createModelStore({ home });
}

/** The part of a response an assertion needs (inject responses and fetch results both fit). */
export interface ResponseLike {
  readonly statusCode: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, unknown>>;
}

/**
 * Assert an OpenAI-shaped error: `{"error": {"message", "type", "param", "code"}}`
 * and nothing else, with the given status (and `param` when given), no stack trace.
 */
export function expectOpenAiError(response: ResponseLike, status: number, param?: string | null): void {
  expect(response.statusCode, response.body).toBe(status);
  const body = JSON.parse(response.body) as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(typeof body.error.message).toBe("string");
  expect((body.error.message as string).length).toBeGreaterThan(10);
  expect(body.error.message).not.toMatch(/\n\s+at /);
  expect(["invalid_request_error", "rate_limit_error", "server_error"]).toContain(body.error.type);
  if (param !== undefined) expect(body.error.param).toBe(param);
}

/** A deterministic unit vector for a text (what the fake embedder returns). */
export function fakeVector(text: string, dims: number): Float32Array {
  const vector = new Float32Array(dims);
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  for (let j = 0; j < dims; j++) {
    hash = Math.imul(hash ^ (j + 1), 16777619);
    vector[j] = ((hash >>> 0) / 2 ** 32) * 2 - 1;
  }
  let sum = 0;
  for (const value of vector) sum += value * value;
  const scale = 1 / Math.sqrt(sum);
  for (let j = 0; j < dims; j++) vector[j] = (vector[j] as number) * scale;
  return vector;
}

/** A recording fake embedder whose embed calls wait for an open gate. */
export interface FakeEmbedder extends Embedder {
  /** Texts of every embed call, in call order. */
  readonly calls: string[][];
  /** Whether close() was called. */
  readonly closed: boolean;
  /** Let waiting and future embed calls finish. */
  open(): void;
  /** Make future embed calls wait until {@link FakeEmbedder.open}. */
  shut(): void;
  /** Resolves once `count` embed calls have started. */
  started(count: number): Promise<void>;
}

/** Create a {@link FakeEmbedder}: `dims` dimensions, one token per word, 16-token limit. */
export function createFakeEmbedder(id = "all-minilm-l6-v2", dims = 8): FakeEmbedder {
  const calls: string[][] = [];
  let closed = false;
  let gate: Promise<void> = Promise.resolve();
  let release: () => void = () => {};
  const waiters: { count: number; resolve: () => void }[] = [];
  const model: ModelInfo = {
    id,
    dims,
    modality: "text",
    maxTokens: 16,
    pooling: "mean",
    normalize: true,
    prefixes: {},
    maxBatchSize: 64,
  };
  return {
    model,
    calls,
    get closed() {
      return closed;
    },
    async embed<P extends Precision = "float32">(
      inputs: readonly string[],
      _options?: EmbedOptions<P>,
    ): Promise<Embeddings<P>> {
      calls.push([...inputs]);
      for (const waiter of waiters.filter((candidate) => calls.length >= candidate.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      await gate;
      const vectors = inputs.map((text) => fakeVector(text, dims));
      return {
        vectors: vectors as Embeddings<P>["vectors"],
        dims,
        precision: "float32" as P,
        usage: { tokens: inputs.length },
      };
    },
    async countTokens(inputs) {
      return inputs.map((text) => text.split(/\s+/).filter((word) => word.length > 0).length);
    },
    async close() {
      closed = true;
    },
    open() {
      release();
      gate = Promise.resolve();
    },
    shut() {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    started(count) {
      if (calls.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}

/** Largest absolute difference between two vectors of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}
