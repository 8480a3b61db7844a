import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  binaryCrossEntropy,
  createGelu,
  createLinear,
  createOptimizer,
  createParameter,
  createRelu,
  createSchedule,
  createSequential,
  createTensor,
  type OptimizerOptions,
  type ScheduleOptions,
  softmaxCrossEntropy,
} from "../../src/train/index.js";

// Numbers produced by real PyTorch: test/fixtures/train/make-reference.py.
interface Reference {
  readonly torch: string;
  readonly optimizers: {
    options: OptimizerOptions;
    initial: number[];
    grads: number[][];
    params: number[][];
  }[];
  readonly schedules: { torch: string; options: ScheduleOptions; rates: number[] }[];
  readonly network: {
    x: number[];
    w1: number[];
    b1: number[];
    w2: number[];
    b2: number[];
    targets: number[];
    classWeights: number[];
    gelu: {
      loss: number;
      gradX: number[];
      gradW1: number[];
      gradB1: number[];
      gradW2: number[];
      gradB2: number[];
    };
    relu: { loss: number; gradX: number[] };
    bce: {
      logits: number[];
      targets: number[];
      weights: number[];
      positiveWeight: number;
      loss: number;
      grad: number[];
    };
    geluValues: { x: number[]; y: number[] };
  };
}

const reference = JSON.parse(
  readFileSync(new URL("../fixtures/train/reference.json", import.meta.url), "utf8"),
) as Reference;

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tolerance = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs((actual[i] as number) - (expected[i] as number))).toBeLessThanOrEqual(tolerance);
  }
}

describe(`optimizers match torch.optim ${reference.torch} step by step`, () => {
  for (const testCase of reference.optimizers) {
    it(`${JSON.stringify(testCase.options)} agrees to 1e-6 after each of ${testCase.grads.length} steps`, () => {
      const parameter = createParameter({ name: "p", shape: [testCase.initial.length] });
      parameter.value.set(testCase.initial);
      const optimizer = createOptimizer([parameter], testCase.options);
      testCase.grads.forEach((grad, step) => {
        optimizer.zeroGrad();
        parameter.grad.set(grad);
        optimizer.step();
        expectClose(parameter.value, testCase.params[step] as number[]);
      });
      expect(optimizer.steps).toBe(testCase.grads.length);
    });
  }
});

describe("learning-rate schedules match torch.optim.lr_scheduler", () => {
  for (const testCase of reference.schedules) {
    it(`${testCase.options.name} (${testCase.torch}) gives the same rate at every step`, () => {
      const schedule = createSchedule(testCase.options);
      const rates = testCase.rates.map((_, step) => schedule(step));
      // SequentialLR's warmup starts at 1e-9 × lr where ours starts at exactly 0.
      expectClose(rates, testCase.rates, 1e-9);
    });
  }
});

describe("layers and losses match torch.nn autograd", () => {
  const network = reference.network;
  const build = (activation: "gelu" | "relu") => {
    const first = createLinear({ inputs: 4, outputs: 3, name: "0." });
    const second = createLinear({ inputs: 3, outputs: 3, name: "2." });
    const [w1, b1] = first.parameters();
    const [w2, b2] = second.parameters();
    w1?.value.set(network.w1);
    b1?.value.set(network.b1);
    w2?.value.set(network.w2);
    b2?.value.set(network.b2);
    const model = createSequential([first, activation === "gelu" ? createGelu() : createRelu(), second]);
    return { model, w1, b1, w2, b2 };
  };

  it("a GELU MLP with class-weighted cross-entropy has PyTorch's loss and gradients", () => {
    const { model, w1, b1, w2, b2 } = build("gelu");
    const logits = model.forward(createTensor([5, 4], Float32Array.from(network.x)), { training: false });
    const { loss, grad } = softmaxCrossEntropy(logits, network.targets, {
      classWeights: network.classWeights,
    });
    expect(Math.abs(loss - network.gelu.loss)).toBeLessThan(1e-6);
    const gradX = model.backward(grad);
    expectClose(gradX.data, network.gelu.gradX);
    expectClose(w1?.grad ?? [], network.gelu.gradW1);
    expectClose(b1?.grad ?? [], network.gelu.gradB1);
    expectClose(w2?.grad ?? [], network.gelu.gradW2);
    expectClose(b2?.grad ?? [], network.gelu.gradB2);
  });

  it("a ReLU MLP with unweighted cross-entropy has PyTorch's loss and input gradient", () => {
    const { model } = build("relu");
    const logits = model.forward(createTensor([5, 4], Float32Array.from(network.x)), { training: false });
    const { loss, grad } = softmaxCrossEntropy(logits, network.targets);
    expect(Math.abs(loss - network.relu.loss)).toBeLessThan(1e-6);
    expectClose(model.backward(grad).data, network.relu.gradX);
  });

  it("binary cross-entropy with logits, weights and pos_weight matches PyTorch (stable at a logit of 30)", () => {
    const bce = network.bce;
    const { loss, grad } = binaryCrossEntropy(
      createTensor([bce.logits.length], Float32Array.from(bce.logits)),
      bce.targets,
      { weights: bce.weights, positiveWeight: bce.positiveWeight },
    );
    expect(Math.abs(loss - bce.loss)).toBeLessThan(1e-6);
    expectClose(grad.data, bce.grad);
  });

  it("exact GELU matches PyTorch's float64 values from −6 to 7.5", () => {
    const gelu = createGelu();
    const out = gelu.forward(
      createTensor([1, network.geluValues.x.length], Float32Array.from(network.geluValues.x)),
      {
        training: false,
      },
    );
    expectClose(out.data, network.geluValues.y, 1e-6);
  });
});
