/** Seeded k-means and the logistic probe: correctness on separable data and determinism. */
import { describe, expect, it } from "vitest";
import { accuracy, vMeasure } from "../../src/eval/classification-metrics.js";
import { kMeans } from "../../src/eval/kmeans.js";
import { trainLogisticProbe } from "../../src/eval/logistic-probe.js";
import { createRandom } from "../../src/eval/random.js";

/** Three Gaussian blobs in 5-D around distinct centres. */
function blobs(seed: number, perBlob: number): { vectors: Float32Array[]; labels: number[] } {
  const random = createRandom(seed);
  const centres = [
    [3, 0, 0, 0, 0],
    [0, 3, 0, 0, 0],
    [0, 0, 3, 0, 0],
  ];
  const vectors: Float32Array[] = [];
  const labels: number[] = [];
  centres.forEach((centre, label) => {
    for (let i = 0; i < perBlob; i++) {
      vectors.push(Float32Array.from(centre, (value) => value + 0.5 * random.gaussian()));
      labels.push(label);
    }
  });
  return { vectors, labels };
}

describe("createRandom", () => {
  it("repeats its sequence for a seed and differs across seeds", () => {
    const a = createRandom(7);
    const b = createRandom(7);
    const c = createRandom(8);
    const first = [a.next(), a.next(), a.gaussian()];
    expect([b.next(), b.next(), b.gaussian()]).toEqual(first);
    expect(c.next()).not.toBe(first[0]);
  });
});

describe("kMeans", () => {
  it("recovers well-separated blobs", () => {
    const { vectors, labels } = blobs(1, 30);
    const { assignments } = kMeans(vectors, { k: 3, seed: 3 });
    expect(vMeasure(labels, [...assignments]).vMeasure).toBe(1);
  });

  it("is deterministic for a seed", () => {
    const { vectors } = blobs(2, 20);
    const first = kMeans(vectors, { k: 4, seed: 11 });
    const second = kMeans(vectors, { k: 4, seed: 11 });
    expect([...second.assignments]).toEqual([...first.assignments]);
    expect(second.inertia).toBe(first.inertia);
  });

  it("rejects k larger than the number of vectors", () => {
    expect(() => kMeans([new Float32Array(2)], { k: 2 })).toThrow(
      /k must be an integer from 1 to 1, received 2/,
    );
  });
});

describe("trainLogisticProbe", () => {
  it("separates separable classes and gives probabilities that sum to 1", () => {
    const train = blobs(4, 40);
    const test = blobs(5, 20);
    const probe = trainLogisticProbe({ vectors: train.vectors, labels: train.labels });
    expect(accuracy(test.labels, probe.predict(test.vectors))).toBeGreaterThan(0.95);
    for (const row of probe.probabilities(test.vectors.slice(0, 5))) {
      expect(row.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 12);
    }
  });

  it("matches the closed-form optimum of a 1-D two-point problem", () => {
    // Points x=+1 (class 1) and x=-1 (class 0) with l2 = 1: by symmetry the biases are
    // equal and the class weights are ±v; the optimum satisfies the gradient condition below.
    const probe = trainLogisticProbe({
      vectors: [Float32Array.of(1), Float32Array.of(-1)],
      labels: [1, 0],
      l2: 1,
      tolerance: 1e-10,
    });
    const [row] = probe.probabilities([Float32Array.of(1)]);
    const p = (row as Float64Array)[1] as number;
    // Stationarity for class-1 weight v (class-0 weight -v): l2·v = (1 - p), and logit gap 2v = ln(p / (1-p)).
    const v = Math.log(p / (1 - p)) / 2;
    expect(v).toBeCloseTo(1 - p, 6);
  });

  it("is deterministic and refuses a single class", () => {
    const { vectors, labels } = blobs(6, 10);
    const a = trainLogisticProbe({ vectors, labels }).probabilities(vectors.slice(0, 3));
    const b = trainLogisticProbe({ vectors, labels }).probabilities(vectors.slice(0, 3));
    expect(b).toEqual(a);
    expect(() => trainLogisticProbe({ vectors, labels: labels.map(() => 0) })).toThrow(
      /at least two classes/,
    );
  });
});
