/**
 * The linear layer's blocked kernels (four rows or four outputs at a time, with
 * remainders) against plain float64 sums computed here, for shapes that hit
 * both the blocks and the leftovers, and for gradients with zero rows (the
 * skip path a ReLU produces).
 */
import { describe, expect, it } from "vitest";
import { createLinear } from "../../src/train/layers.js";
import { createTensor } from "../../src/train/tensor.js";
import { createRandom } from "../../src/vectors/random.js";

function reference(x: Float32Array, g: Float32Array, w: Float32Array, b: Float32Array, rows: number) {
  const outputs = b.length;
  const inputs = w.length / outputs;
  const out = new Float64Array(rows * outputs);
  const gw = new Float64Array(w.length);
  const gb = new Float64Array(outputs);
  const gx = new Float64Array(rows * inputs);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outputs; o++) {
      let sum = b[o] as number;
      const go = g[r * outputs + o] as number;
      gb[o] = (gb[o] as number) + go;
      for (let i = 0; i < inputs; i++) {
        sum += (x[r * inputs + i] as number) * (w[o * inputs + i] as number);
        gw[o * inputs + i] = (gw[o * inputs + i] as number) + go * (x[r * inputs + i] as number);
        gx[r * inputs + i] = (gx[r * inputs + i] as number) + go * (w[o * inputs + i] as number);
      }
      out[r * outputs + o] = sum;
    }
  }
  return { out, gw, gb, gx };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs((actual[i] as number) - (expected[i] as number))).toBeLessThan(1e-4);
  }
}

describe("createLinear kernels", () => {
  for (const [rows, inputs, outputs] of [
    [9, 13, 6],
    [4, 8, 4],
    [3, 5, 3],
    [1, 1, 1],
  ] as const) {
    it(`match plain sums for ${rows} rows × ${inputs} inputs → ${outputs} outputs`, () => {
      const random = createRandom(rows * 100 + outputs);
      const layer = createLinear({ inputs, outputs, random });
      const [weight, bias] = layer.parameters();
      const x = Float32Array.from({ length: rows * inputs }, () => random.next() * 2 - 1);
      const g = Float32Array.from({ length: rows * outputs }, () => random.next() * 2 - 1);
      // Zero whole rows and single entries: the kernels skip those products.
      g.fill(0, 0, Math.min(outputs, g.length));
      if (rows > 4) g.fill(0, 4 * outputs, 8 * outputs);
      g[g.length - 1] = 0;
      const expected = reference(x, g, weight?.value as Float32Array, bias?.value as Float32Array, rows);
      const out = layer.forward(createTensor([rows, inputs], x), { training: true });
      expectClose(out.data, expected.out);
      const gx = layer.backward(createTensor([rows, outputs], g));
      expectClose(gx.data, expected.gx);
      expectClose(weight?.grad as Float32Array, expected.gw);
      expectClose(bias?.grad as Float32Array, expected.gb);
    });
  }
});
