/**
 * @module bench/lib/train-speed
 * Training throughput of an embedkit head vs the same model in TensorFlow.js
 * (wasm backend, which is what installs offline; tfjs-node needs a download),
 * on the same seeded synthetic data: `examples` vectors of `dims` dimensions
 * in `classes` Gaussian blobs, softmax cross-entropy, Adam, batch 256.
 */
import {
  createMlp,
  createRandom,
  softmaxCrossEntropy,
  stackRows,
  trainModel,
} from "../../src/train/index.js";

/** What one measurement reports. */
export interface TrainingSpeed {
  model: string;
  examples: number;
  epochs: number;
  oursPerSecond: number;
  tfjsPerSecond: number | null;
  tfjsBackend: string | null;
  secondsToTrain: number;
}

/** Measure examples/s for a linear (hidden `[]`) or MLP head. */
export async function measureTrainingSpeed(options: {
  readonly examples: number;
  readonly dims: number;
  readonly classes: number;
  readonly hidden: readonly number[];
  readonly epochs: number;
}): Promise<TrainingSpeed> {
  const { examples, dims, classes, hidden, epochs } = options;
  const random = createRandom(5);
  const centres = Array.from({ length: classes }, () =>
    Float32Array.from({ length: dims }, () => random.gaussian() * 0.1),
  );
  const targets = new Int32Array(examples);
  const vectors = Array.from({ length: examples }, (_, index) => {
    const target = index % classes;
    targets[index] = target;
    const centre = centres[target] as Float32Array;
    return Float32Array.from(centre, (value) => value + random.gaussian() * 0.05);
  });
  const batchSize = 256;
  const model = createMlp({ inputs: dims, hidden, outputs: classes, activation: "relu", random });
  const result = trainModel({
    model,
    inputs: vectors,
    loss: (output, rows) =>
      softmaxCrossEntropy(
        output,
        Int32Array.from(rows, (row) => targets[row] as number),
      ),
    optimizer: { name: "adam", learningRate: 1e-3 },
    epochs,
    batchSize,
  });
  const oursPerSecond = result.examplesPerSecond;

  let tfjsPerSecond: number | null = null;
  let tfjsBackend: string | null = null;
  try {
    const tf = (await import("@tensorflow/tfjs")) as typeof import("@tensorflow/tfjs");
    await import("@tensorflow/tfjs-backend-wasm");
    if (await tf.setBackend("wasm")) {
      await tf.ready();
      tfjsBackend = tf.getBackend();
      const flat = stackRows(vectors).data;
      const x = tf.tensor2d(flat, [examples, dims]);
      const y = tf.oneHot(tf.tensor1d(targets, "int32"), classes);
      const layers = [
        ...hidden.map((units, index) =>
          tf.layers.dense({ units, activation: "relu", ...(index === 0 ? { inputShape: [dims] } : {}) }),
        ),
        tf.layers.dense({ units: classes, ...(hidden.length === 0 ? { inputShape: [dims] } : {}) }),
      ];
      const network = tf.sequential({ layers });
      network.compile({
        optimizer: tf.train.adam(1e-3),
        loss: (labels: import("@tensorflow/tfjs").Tensor, logits: import("@tensorflow/tfjs").Tensor) =>
          tf.losses.softmaxCrossEntropy(labels, logits),
      });
      const started = performance.now();
      await network.fit(x, y, { epochs, batchSize, shuffle: true, verbose: 0 });
      tfjsPerSecond = (examples * epochs) / ((performance.now() - started) / 1000);
      x.dispose();
      y.dispose();
      network.dispose();
    }
  } catch (error) {
    console.error(`tfjs baseline failed: ${(error as Error).message}`);
  }
  return {
    model:
      hidden.length === 0 ? `linear ${dims}→${classes}` : `MLP ${dims}→${hidden.join("→")}→${classes} (ReLU)`,
    examples,
    epochs,
    oursPerSecond,
    tfjsPerSecond,
    tfjsBackend,
    secondsToTrain: 100_000 / oursPerSecond,
  };
}
