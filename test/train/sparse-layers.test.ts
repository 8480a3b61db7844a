/**
 * The embedding bag (sparse linear layer over hashed feature ids) and the
 * column sum (layers on column blocks, outputs added): forward values by hand,
 * gradients against finite differences, bad ids and widths refused, and a
 * checkpoint round trip of a dense + sparse head.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createColumnSum,
  createEmbeddingBag,
  createMlp,
  createOptimizer,
  createTensor,
  type Layer,
  loadCheckpoint,
  saveCheckpoint,
  softmaxCrossEntropy,
} from "../../src/train/index.js";
import { createRandom } from "../../src/vectors/random.js";

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

function errorCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/** A dense MLP on 4 columns + an embedding bag on 3 id columns, 3 outputs, random weights. */
function sparseHead(seed: number): Layer {
  const random = createRandom(seed);
  const head = createColumnSum(
    [4, 3],
    [
      createMlp({ inputs: 4, hidden: [5], outputs: 3, activation: "gelu", random, name: "0." }),
      createEmbeddingBag({ buckets: 11, outputs: 3, slots: 3, name: "1." }),
    ],
  );
  for (const parameter of head.parameters()) {
    if (parameter.name === "1.weight") {
      for (let i = 0; i < parameter.value.length; i++) parameter.value[i] = random.gaussian();
    }
  }
  return head;
}

const INPUT = new Float32Array([
  // dense (4)          ids (3)
  0.5, -1, 2, 0.1, 3, 7, -1, -0.3, 0.2, 0.9, -2, 3, 3, 10,
]);
const TARGETS = [2, 0];

function lossOf(head: Layer, input: Float32Array): number {
  return softmaxCrossEntropy(head.forward(createTensor([2, 7], input), { training: false }), TARGETS).loss;
}

describe("createEmbeddingBag", () => {
  it("sums the table rows of the ids in each row and skips -1", () => {
    const bag = createEmbeddingBag({ buckets: 4, outputs: 2, slots: 3 });
    const [weight] = bag.parameters();
    weight?.value.set([1, 2, 10, 20, 100, 200, 1000, 2000]);
    const output = bag.forward(createTensor([2, 3], new Float32Array([0, 2, -1, 3, 3, 1])), {
      training: false,
    });
    expect(Array.from(output.data)).toEqual([101, 202, 2010, 4020]);
    expect(output.shape).toEqual([2, 2]);
  });

  it("adds each row's output gradient to the table row of every id it used (twice for a repeated id)", () => {
    const bag = createEmbeddingBag({ buckets: 4, outputs: 2, slots: 2 });
    bag.forward(createTensor([2, 2], new Float32Array([1, 1, 3, -1])), { training: false });
    const inputGrad = bag.backward(createTensor([2, 2], new Float32Array([0.5, -1, 2, 3])));
    expect(Array.from(bag.parameters()[0]?.grad ?? [])).toEqual([0, 0, 1, -2, 0, 0, 2, 3]);
    expect(Array.from(inputGrad.data)).toEqual([0, 0, 0, 0]);
  });

  it("refuses ids out of range or fractional, and bad sizes, with clear codes", () => {
    const bag = createEmbeddingBag({ buckets: 4, outputs: 2, slots: 1 });
    expect(
      errorCode(() => bag.forward(createTensor([1, 1], new Float32Array([4])), { training: false })),
    ).toBe("INVALID_INPUT");
    expect(() => bag.forward(createTensor([1, 1], new Float32Array([1.5])), { training: false })).toThrow(
      /integers from 0 to 3 \(or -1 for none\), received 1.5 in row 0, slot 0/,
    );
    expect(errorCode(() => bag.forward(createTensor([1, 2]), { training: false }))).toBe(
      "DIMENSION_MISMATCH",
    );
    expect(errorCode(() => createEmbeddingBag({ buckets: 2 ** 24 + 1, outputs: 2, slots: 1 }))).toBe(
      "INVALID_OPTION",
    );
    expect(errorCode(() => createEmbeddingBag({ buckets: 4, outputs: 0, slots: 1 }))).toBe("INVALID_OPTION");
  });
});

describe("row-sparse updates of the embedding table", () => {
  it("AdamW changes only the rows a batch used, exactly as a dense AdamW step would on those rows", () => {
    const sparse = createEmbeddingBag({ buckets: 6, outputs: 2, slots: 2 });
    const dense = createEmbeddingBag({ buckets: 6, outputs: 2, slots: 2 });
    const [table] = sparse.parameters();
    const [denseTable] = dense.parameters();
    const initial = Float32Array.from({ length: 12 }, (_, i) => 0.1 * (i + 1));
    table?.value.set(initial);
    denseTable?.value.set(initial);
    // The same parameter seen as dense: drop the sparse marker.
    const { sparse: _ignored, ...denseView } = denseTable as NonNullable<typeof denseTable>;
    const sparseOptimizer = createOptimizer(sparse.parameters(), { name: "adamw", learningRate: 0.1 });
    const denseOptimizer = createOptimizer([denseView], { name: "adamw", learningRate: 0.1, weightDecay: 0 });
    const ids = createTensor([1, 2], new Float32Array([1, 4]));
    sparseOptimizer.zeroGrad();
    sparse.forward(ids, { training: true });
    sparse.backward(createTensor([1, 2], new Float32Array([1, -1])), { inputGradient: false });
    expect([...(table?.sparse?.touched ?? [])].sort()).toEqual([1, 4]);
    sparseOptimizer.step();
    denseOptimizer.zeroGrad();
    dense.forward(ids, { training: true });
    dense.backward(createTensor([1, 2], new Float32Array([1, -1])), { inputGradient: false });
    denseOptimizer.step();
    const value = Array.from(table?.value ?? []);
    // Untouched rows 0, 2, 3, 5: not even weight decay moved them.
    for (const row of [0, 2, 3, 5]) {
      expect(value.slice(row * 2, row * 2 + 2)).toEqual(Array.from(initial.subarray(row * 2, row * 2 + 2)));
    }
    // Touched rows: the dense Adam step, plus AdamW's decay θ·lr·λ (λ = 0.01 by default).
    for (const index of [2, 3, 8, 9]) {
      const decay = 0.1 * 0.01 * (initial[index] as number);
      expect(value[index]).toBeCloseTo((denseTable?.value[index] as number) - decay, 6);
    }
    // Zeroing clears the touched rows and the record of them.
    sparseOptimizer.zeroGrad();
    expect(Array.from(table?.grad ?? []).every((g) => g === 0)).toBe(true);
    expect(table?.sparse?.touched.size).toBe(0);
  });
});

describe("createColumnSum", () => {
  it("has the parameter gradients finite differences give (dense MLP + embedding bag)", () => {
    const head = sparseHead(5);
    const output = head.forward(createTensor([2, 7], INPUT), { training: true, random: createRandom(1) });
    const { grad } = softmaxCrossEntropy(output, TARGETS);
    for (const parameter of head.parameters()) parameter.grad.fill(0);
    head.backward(grad);
    for (const parameter of head.parameters()) {
      // Every used table row (ids 3, 7, 10) and a sample of the dense weights.
      const indices =
        parameter.name === "1.weight"
          ? [9, 10, 11, 21, 22, 23, 30, 31, 32, 0]
          : [0, 1, Math.floor(parameter.value.length / 2), parameter.value.length - 1];
      for (const index of indices) {
        const original = parameter.value[index] as number;
        parameter.value[index] = original + 1e-2;
        const plus = lossOf(head, INPUT);
        parameter.value[index] = original - 1e-2;
        const minus = lossOf(head, INPUT);
        parameter.value[index] = original;
        expect(parameter.grad[index], `${parameter.name}[${index}]`).toBeCloseTo((plus - minus) / 2e-2, 3);
      }
    }
  });

  it("passes the dense block's input gradient through and zeros the id columns", () => {
    const head = sparseHead(6);
    const output = head.forward(createTensor([2, 7], INPUT), { training: false });
    const { grad } = softmaxCrossEntropy(output, TARGETS);
    const inputGrad = head.backward(grad);
    for (const column of [0, 2]) {
      const plus = INPUT.slice();
      const minus = INPUT.slice();
      plus[column] = (plus[column] as number) + 1e-2;
      minus[column] = (minus[column] as number) - 1e-2;
      expect(inputGrad.data[column]).toBeCloseTo((lossOf(head, plus) - lossOf(head, minus)) / 2e-2, 3);
    }
    expect([4, 5, 6, 11, 12, 13].map((column) => inputGrad.data[column])).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("refuses mismatched widths and layers", () => {
    const bag = createEmbeddingBag({ buckets: 4, outputs: 2, slots: 1 });
    expect(errorCode(() => createColumnSum([1, 2], [bag]))).toBe("INVALID_OPTION");
    expect(errorCode(() => createColumnSum([0], [bag]))).toBe("INVALID_OPTION");
    const head = createColumnSum([2, 1], [createMlp({ inputs: 2, outputs: 3 }), bag]);
    expect(
      errorCode(() => head.forward(createTensor([1, 3], new Float32Array([0, 0, 1])), { training: false })),
    ).toBe("DIMENSION_MISMATCH");
  });

  it("survives a checkpoint round trip with the same outputs", async () => {
    const folder = await mkdtemp(join(tmpdir(), "embedkit-sparse-"));
    folders.push(folder);
    const head = sparseHead(7);
    await saveCheckpoint(folder, { kind: "test-head", model: head, embedding: { modelId: "x", dims: 4 } });
    const loaded = await loadCheckpoint(folder, { kind: "test-head" });
    const input = createTensor([2, 7], INPUT);
    expect(Array.from(loaded.model.forward(input, { training: false }).data)).toEqual(
      Array.from(head.forward(input, { training: false }).data),
    );
    expect(loaded.model.config).toEqual(head.config);
  });
});
