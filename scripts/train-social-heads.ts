/**
 * Train the sentiment heads shipped in `models/social/` (used by
 * `embedkit social analyze` when no `--classifier` is given), reproducibly from
 * the shared data folder (`EMBEDKIT_DATA`; splits in src/apps/social/sentiment-sets.ts):
 *
 * - `sentiment-en`: linear head (multinomial logistic regression) over
 *   bge-small-en-v1.5 vectors, 3 classes, trained on the `tweets-train` 80 % of
 *   Tweets.csv (10 % of it, stratified and seeded, for early stopping on macro-F1);
 * - `sentiment-zh`: linear head over bge-small-zh-v1.5 vectors, 2 classes, trained
 *   on the `chnsenticorp-train` 80 % of ChnSentiCorp train.tsv; its neutral band
 *   is calibrated on the other 20 % (`chnsenticorp-calibration`).
 *
 * The held-out rows' scores are written into each head's metadata; bench/social.ts
 * scores them again against the baselines. Embeddings go through the eval cache.
 *
 * The rows are `HEAD_DATA` of sentiment-sets.ts (the Chinese head: a seeded 3,000 of
 * ChnSentiCorp's 80 %, calibrated on 1,000 of its 20 %).
 *
 * Run: `EMBEDKIT_DATA=<data folder> npx tsx scripts/train-social-heads.ts [--out models/social] [--seed 42]`
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  HEAD_DATA,
  loadSentimentSplit,
  type SentimentExample,
  sampleExamples,
} from "../src/apps/social/sentiment-sets.js";
import {
  calibrateNeutralBand,
  SHIPPED_SENTIMENT_HEADS,
  sentimentFromProbabilities,
} from "../src/apps/social/sentiment.js";
import { createEmbedder } from "../src/embed/create-embedder.js";
import { accuracy, macroF1 } from "../src/eval/classification-metrics.js";
import { embedTexts } from "../src/eval/embedding-cache.js";
import { saveClassifier, trainClassifier } from "../src/train/classifier.js";

const { values } = parseArgs({
  options: {
    out: { type: "string", default: "models/social" },
    seed: { type: "string", default: "42" },
  },
});
const seed = Number(values.seed);

async function embed(model: string, examples: readonly SentimentExample[]): Promise<Float32Array[]> {
  const embedder = await createEmbedder({ model });
  try {
    const result = await embedTexts({
      embedder,
      texts: examples.map((example) => example.text),
      batchSize: 1024,
      onProgress: ({ done, total }) => process.stderr.write(`\r${model}: ${done}/${total}`),
    });
    process.stderr.write("\n");
    return result.vectors;
  } finally {
    await embedder.close();
  }
}

function scores(truth: readonly string[], predicted: readonly string[]): { accuracy: number; macroF1: number } {
  return { accuracy: accuracy(truth, predicted), macroF1: macroF1(truth, predicted) };
}

async function trainHead(language: "en" | "zh"): Promise<void> {
  const { model, folder } = SHIPPED_SENTIMENT_HEADS[language];
  const options = HEAD_DATA[language];
  const train = sampleExamples(await loadSentimentSplit(options.train), options.maxTrain);
  const heldOut = sampleExamples(await loadSentimentSplit(options.heldOut), options.maxHeldOut);
  const trainVectors = await embed(model, train);
  const heldOutVectors = await embed(model, heldOut);
  const settings = {
    hidden: [],
    optimizer: { name: "adamw", learningRate: 1e-2, weightDecay: 1e-4 },
    schedule: { name: "cosine", warmup: 0.05 },
    epochs: 40,
    batchSize: 64,
    validationSplit: 0.1,
    earlyStopping: { patience: 5 },
    seed,
  } as const;
  const result = trainClassifier({
    vectors: trainVectors,
    labels: train.map((example) => example.label),
    embedding: { modelId: model, dims: trainVectors[0]?.length ?? 0 },
    ...settings,
    metric: { name: "macro-F1", compute: (truth, predicted) => macroF1(truth, predicted) },
  });
  const { classifier } = result;
  const rows = classifier.probabilities(heldOutVectors);
  const truth = heldOut.map((example) => example.label);
  const metadata: Record<string, unknown> = {
    trainedBy: "scripts/train-social-heads.ts",
    data: { train: options.train, heldOut: options.heldOut, trainRows: train.length, heldOutRows: heldOut.length },
    settings,
    bestEpoch: result.bestEpoch,
    epochsRun: result.history.length,
  };
  if (language === "zh") {
    const positive = classifier.classes.indexOf("positive");
    const band = calibrateNeutralBand(
      rows.map((row) => row[positive] as number),
      truth.map((label) => label === "positive"),
    );
    metadata.neutralBand = { low: band.low, high: band.high };
    metadata.neutralCalibration = { inside: band.inside, accuracyInside: band.accuracyInside };
    const twoClass = sentimentFromProbabilities(classifier.classes, rows).map((item) => item.label);
    metadata.heldOutScores = scores(truth, twoClass);
  } else {
    const predicted = sentimentFromProbabilities(classifier.classes, rows).map((item) => item.label);
    metadata.heldOutScores = scores(truth, predicted);
  }
  const dir = join(values.out as string, folder);
  await saveClassifier(dir, classifier, metadata);
  console.log(`${dir}: ${JSON.stringify({ ...metadata, settings: undefined })}`);
}

await trainHead("en");
await trainHead("zh");
