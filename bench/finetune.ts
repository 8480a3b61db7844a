/**
 * Fine-tuned encoder vs frozen-embedding head (issue #22), same sets, splits and
 * subsampling as bench/train.ts (loadLabeledSet seed 42; ≤ --max-train rows,
 * seed 7; ≤ --max-test rows, seed 8): SST-2 with bge-small-en-v1.5,
 * ChnSentiCorp with bge-small-zh-v1.5. The baseline (a linear head on frozen
 * vectors, bench/train.ts's settings) is measured in the same run. Reports
 * accuracy, training tokens/s, wall time per epoch and peak RSS.
 *
 *   EMBEDKIT_HOME=<cache> EMBEDKIT_DATA=<data> npx tsx bench/finetune.ts \
 *     [--sets sst-2,chnsenticorp] [--max-train 2000] [--max-test 800] [--epochs 2] [--batch-size 16] [--lr 5e-5]
 *     [--exchange]    (optimizer in TypeScript, weights and gradients exchanged every step)
 *     [--no-frozen]   (skip the frozen-head baseline)
 *
 * Besides accuracy: tokens/s, s/epoch, where the time went (the loop's timings and the engine's
 * seconds per operation) and the peak RSS of Node and of the engine process.
 */
import { cpus, loadavg } from "node:os";
import { createEmbedder } from "../src/embed/create-embedder.js";
import { accuracy } from "../src/eval/classification-metrics.js";
import { embedTexts, openEmbeddingCache } from "../src/eval/embedding-cache.js";
import { loadLabeledSet } from "../src/eval/task-data.js";
import { createModelStore } from "../src/models/index.js";
import { trainClassifier } from "../src/train/classifier.js";
import { finetuneClassifier } from "../src/train/encoder/finetune-classifier.js";
import { createRandom } from "../src/vectors/random.js";
import { benchDataPath } from "./lib/data.js";

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] as string) : fallback;
}
const dataDir = benchDataPath(undefined);
const sets = argument("sets", "sst-2,chnsenticorp").split(",");
const maxTrain = Number(argument("max-train", "2000"));
const maxTest = Number(argument("max-test", "800"));
const epochs = Number(argument("epochs", "2"));
const batchSize = Number(argument("batch-size", "16"));
const learningRate = Number(argument("lr", "5e-5"));
const exchange = process.argv.includes("--exchange");
const frozenBaseline = !process.argv.includes("--no-frozen");
const MODELS: Record<string, string> = { "sst-2": "bge-small-en-v1.5", chnsenticorp: "bge-small-zh-v1.5" };
const store = createModelStore();
let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 500);

console.log(
  `# ${new Date().toISOString()} cpus ${cpus().length} × ${cpus()[0]?.model}; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
for (const set of sets) {
  const model = MODELS[set] as string;
  const split = await loadLabeledSet(set, { dataDir, seed: 42 });
  let train = [...split.train];
  let test = [...split.test];
  if (train.length > maxTrain) train = createRandom(7).shuffle(train).slice(0, maxTrain);
  if (test.length > maxTest) test = createRandom(8).shuffle(test).slice(0, maxTest);

  // Baseline: frozen vectors + the heads bench's linear head.
  let frozenAccuracy = Number.NaN;
  if (frozenBaseline) {
    const embedder = await createEmbedder({ model, store });
    const vectors = await embedTexts({
      embedder,
      texts: [...train, ...test].map((row) => row.text),
      inputType: "none",
      cache: openEmbeddingCache({ modelId: embedder.model.id, inputType: "none", dims: embedder.model.dims }),
    });
    await embedder.close();
    const frozen = trainClassifier({
      vectors: vectors.vectors.slice(0, train.length),
      labels: train.map((row) => row.label),
      embedding: { modelId: model, dims: embedder.model.dims },
      hidden: [],
      optimizer: { name: "adamw", learningRate: 1e-2, weightDecay: 1e-4 },
      schedule: { name: "cosine", warmup: 0.05 },
      epochs: 30,
      batchSize: 32,
      validationSplit: 0.1,
      earlyStopping: { patience: 5 },
      seed: 42,
    });
    const frozenPredicted = frozen.classifier
      .predict(vectors.vectors.slice(train.length))
      .map((p) => p.label);
    frozenAccuracy = accuracy(
      test.map((row) => row.label),
      frozenPredicted,
    );
  }

  const started = performance.now();
  const result = await finetuneClassifier({
    store,
    model,
    texts: train.map((row) => row.text),
    labels: train.map((row) => row.label),
    validationSplit: 0.1,
    epochs,
    batchSize,
    optimizer: { name: "adamw", learningRate, weightDecay: 0.01 },
    maxTokens: 128,
    seed: 42,
    earlyStopping: { patience: 1 },
    probes: test.map((row) => row.text),
    optimizerInEngine: !exchange,
    onEpoch: (report) =>
      console.log(
        `  ${set} epoch ${report.epoch}: loss ${report.trainLoss.toFixed(4)} val ${(100 * (report.validationMetric ?? 0)).toFixed(2)} ${(report.milliseconds / 1000).toFixed(0)} s load ${loadavg()[0]?.toFixed(1)}`,
      ),
    onBatch: (done, total, loss) => {
      if (done % 10 === 0) console.log(`    batch ${done}/${total} loss ${loss.toFixed(4)}`);
    },
  });
  const finetunedAccuracy = accuracy(
    test.map((row) => row.label),
    (result.probes?.after ?? []).map((p) => p.label),
  );
  console.log(
    JSON.stringify({
      set,
      model,
      train: train.length,
      test: test.length,
      frozenHead: +(100 * frozenAccuracy).toFixed(2),
      finetuned: +(100 * finetunedAccuracy).toFixed(2),
      epochsRun: result.history.length,
      bestEpoch: result.bestEpoch,
      tokensPerSecond: Math.round(result.tokensPerSecond),
      epochSeconds: result.epochSeconds.map((s) => Math.round(s)),
      totalSeconds: Math.round((performance.now() - started) / 1000),
      peakRssMB: Math.round(peakRss / 2 ** 20),
      nodeMaxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      engineMaxRssMB: Math.round(result.engine.peakRss / 2 ** 20),
      nodeCpuSeconds: Math.round(process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6),
      engineCpuSeconds: Math.round(result.engine.cpuSeconds),
      optimizerInEngine: result.optimizerInEngine,
      timingsSeconds: Object.fromEntries(
        Object.entries(result.timings).map(([phase, ms]) => [phase, +(ms / 1000).toFixed(1)]),
      ),
      engineSeconds: Object.fromEntries(
        Object.entries(result.engine.ops).map(([op, { count, seconds }]) => [
          op,
          { count, seconds: +seconds.toFixed(1) },
        ]),
      ),
      load: loadavg()[0]?.toFixed(1),
    }),
  );
}
clearInterval(rssTimer);
