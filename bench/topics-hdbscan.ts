/**
 * @module bench/topics-hdbscan
 * Why topic discovery has its own HDBSCAN: src/apps/social/topics/hdbscan.ts against
 * the npm package hdbscan-ts 1.0.17 on the same seeded data (5 Gaussian blobs in
 * 5-D, σ = 1, centres uniform in [0, 20]⁵; minClusterSize 10), timed in the same
 * run, with NMI against the blobs and the share labelled noise.
 *
 * hdbscan-ts is not an embedkit dependency: install it anywhere
 * (`npm install --prefix /tmp/hdbscan-peer hdbscan-ts@1.0.17`) and pass that folder.
 * Run: `npx tsx bench/topics-hdbscan.ts --peer /tmp/hdbscan-peer [--sizes 250,500,1000]`
 */
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { hdbscan } from "../src/apps/social/topics/hdbscan.js";
import { vMeasure } from "../src/eval/classification-metrics.js";
import { createRandom } from "../src/vectors/random.js";

const { values } = parseArgs({
  options: { peer: { type: "string" }, sizes: { type: "string", default: "250,500,1000" } },
});
if (values.peer === undefined) throw new Error("Pass --peer <folder where hdbscan-ts@1.0.17 is installed>.");
const require = createRequire(join(resolve(values.peer), "package.json"));
const { HDBSCAN } = require("hdbscan-ts") as {
  HDBSCAN: new (options: { minClusterSize: number }) => { fit(points: number[][]): number[] };
};

for (const n of (values.sizes as string).split(",").map(Number)) {
  const random = createRandom(n);
  const centres = Array.from({ length: 5 }, () => Array.from({ length: 5 }, () => random.next() * 20));
  const points: number[][] = [];
  const truth: number[] = [];
  for (let i = 0; i < n; i++) {
    truth.push(i % 5);
    points.push((centres[i % 5] as number[]).map((value) => value + random.gaussian()));
  }
  let started = performance.now();
  const ours = hdbscan(Float64Array.from(points.flat()), 5, { minClusterSize: 10 });
  const oursSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const theirs = new HDBSCAN({ minClusterSize: 10 }).fit(points);
  const theirSeconds = (performance.now() - started) / 1000;
  const summary = (labels: readonly number[], seconds: number) => ({
    seconds: Number(seconds.toFixed(3)),
    clusters: new Set(labels.filter((label) => label >= 0)).size,
    nmi: Number(vMeasure(truth, [...labels]).vMeasure.toFixed(3)),
    noiseShare: Number((labels.filter((label) => label < 0).length / n).toFixed(3)),
  });
  console.log(
    JSON.stringify({
      points: n,
      embedkit: summary([...ours.labels], oursSeconds),
      hdbscanTs: summary(theirs, theirSeconds),
      timeRatio: Number((theirSeconds / oursSeconds).toFixed(1)),
    }),
  );
}
