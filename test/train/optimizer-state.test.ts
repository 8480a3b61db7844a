/**
 * Optimizer state for checkpoints: a fresh optimizer given another's exported
 * state continues exactly as the original does, for every update rule; a state
 * that does not fit the parameters is refused by name.
 */
import { describe, expect, it } from "vitest";
import { createOptimizer, OPTIMIZERS } from "../../src/train/optimizers.js";
import { createParameter, type Parameter } from "../../src/train/parameter.js";

function parameters(): Parameter[] {
  const weight = createParameter({ name: "w", shape: [2, 3] });
  const bias = createParameter({ name: "b", shape: [3], decay: false });
  weight.value.set([0.5, -0.25, 1, 0.75, -1, 0.125]);
  bias.value.set([0.1, -0.2, 0.3]);
  return [weight, bias];
}

/** A fixed, step-dependent gradient (the same for both runs). */
function step(
  list: readonly Parameter[],
  optimizer: ReturnType<typeof createOptimizer>,
  index: number,
): void {
  for (const parameter of list)
    for (let i = 0; i < parameter.grad.length; i++)
      parameter.grad[i] = Math.sin(index * 1.7 + i) * 0.3 + (parameter.value[i] as number) * 0.1;
  optimizer.step();
}

describe("optimizer state export/import", () => {
  for (const name of OPTIMIZERS) {
    it(`${name}: a restored optimizer continues like the original`, () => {
      const options = { name, learningRate: 0.01, momentum: name === "sgd" || name === "rmsprop" ? 0.9 : 0 };
      const original = parameters();
      const first = createOptimizer(original, options);
      for (let i = 0; i < 3; i++) step(original, first, i);
      const copy = parameters();
      copy.forEach((parameter, index) => {
        parameter.value.set((original[index] as Parameter).value);
      });
      const second = createOptimizer(copy, options);
      second.importState(first.exportState());
      expect(second.steps).toBe(3);
      for (let i = 3; i < 6; i++) {
        step(original, first, i);
        step(copy, second, i);
      }
      copy.forEach((parameter, index) => {
        const expected = (original[index] as Parameter).value;
        for (let i = 0; i < expected.length; i++)
          expect(parameter.value[i]).toBeCloseTo(expected[i] as number, 6);
      });
    });
  }

  it("refuses a state of other parameters, naming the tensor", () => {
    const optimizer = createOptimizer(parameters(), { name: "adam" });
    expect(() =>
      optimizer.importState({ steps: 1, tensors: new Map([["w.m", new Float32Array(6)]]) }),
    ).toThrow(/Optimizer state "w\.v" is missing/);
    expect(() =>
      optimizer.importState({
        steps: 1,
        tensors: new Map([
          ["w.m", new Float32Array(2)],
          ["w.v", new Float32Array(6)],
        ]),
      }),
    ).toThrow(/"w\.m" is 2 values long, expected 6/);
  });
});
