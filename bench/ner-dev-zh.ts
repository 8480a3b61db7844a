/**
 * @module bench/ner-dev-zh
 * Choose the zh tagger's settings on a dev split carved out of the MSRA
 * training pool (never the validation slice): the pool is shuffled (seed 42,
 * the order `bench/ner-encode-zh.ts` fills the cache in); dev = its first
 * 1,024 sentences, train = the next `--train` sentences. With `--dev block`,
 * dev = the last 2,048 pool sentences of part 3 (whole documents never trained
 * on, like the validation slice's) and train = the first `--train` other pool
 * sentences in shuffled order. Prints dev F1 per epoch.
 * Run: `npx tsx bench/ner-dev-zh.ts --train 4096 [--ngrams 0|1] [--hidden 256]
 *   [--lr 0.003] [--epochs 8] [--scheme bio|bioes] [--buckets 262144] [--batch 64] [--dropout 0]
 *   [--dev random|block] [--weighting sqrt|balanced|none] [--transitions 1] [--outside 0|tune]`
 */
import { createEmbedder } from "../src/embed/create-embedder.js";
import type { OnnxEmbedder } from "../src/embed/onnx/onnx-embedder.js";
import { type ClassWeighting, trainTagger } from "../src/ner/tagger.js";
import { benchDataPath } from "./lib/data.js";
import { loadMsra, msraBlockSplit } from "./lib/msra.js";

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index < 0 ? fallback : (process.argv[index + 1] as string);
}

const DEV = 1024;
const dataDir = benchDataPath(argument("--data", ""));
const splits = await loadMsra(dataDir);
const size = Number(argument("--train", "4096"));
const devKind = argument("--dev", "random");
const hidden = Number(argument("--hidden", "0"));
const config = {
  train: size,
  ngrams: argument("--ngrams", "1") === "1",
  hidden,
  learningRate: Number(argument("--lr", "0.003")),
  epochs: Number(argument("--epochs", "8")),
  scheme: argument("--scheme", "bio") as "bio" | "bioes",
  ngramBuckets: Number(argument("--buckets", String(2 ** 18))),
  batchSize: Number(argument("--batch", "64")),
  dropout: Number(argument("--dropout", "0")),
  lexicon: argument("--lexicon", "1") === "1",
  dictionary: argument("--dictionary", "1") === "1",
  weightDecay: Number(argument("--wd", "0.01")),
  classWeighting: argument("--weighting", "sqrt") as ClassWeighting,
  transitionWeight: Number(argument("--transitions", "1")),
  dev: devKind,
  outsidePenalty: argument("--outside", "0"),
};
console.log(JSON.stringify(config));
const encoder = (await createEmbedder({ model: "bge-small-zh-v1.5" })) as OnnxEmbedder;
try {
  const block = devKind === "block" ? await msraBlockSplit(splits, encoder, size) : undefined;
  const dev = block?.dev ?? splits.shuffled(0, DEV);
  const train = block?.train ?? splits.shuffled(DEV, DEV + size);
  const result = await trainTagger({
    embedder: encoder,
    train,
    validation: dev,
    unit: "character",
    scheme: config.scheme,
    hidden: hidden > 0 ? [hidden] : [],
    epochs: config.epochs,
    patience: 3,
    learningRate: config.learningRate,
    batchSize: config.batchSize,
    dropout: config.dropout,
    weightDecay: config.weightDecay,
    lexicon: config.lexicon,
    dictionary: config.dictionary,
    ngrams: config.ngrams,
    ngramBuckets: config.ngramBuckets,
    classWeighting: config.classWeighting,
    transitionWeight: config.transitionWeight,
    outsidePenalty: config.outsidePenalty === "tune" ? ("tune" as const) : Number(config.outsidePenalty),
    ...(block === undefined ? {} : { vectors: block.vectors }),
    onEpoch(report) {
      console.log(
        `epoch ${report.epoch} loss ${report.trainLoss.toFixed(4)} dev F1 ${((report.validationMetric ?? 0) * 100).toFixed(2)} (${(report.milliseconds / 1000).toFixed(0)} s)`,
      );
    },
  });
  const perType = Object.entries(result.validation?.perType ?? {})
    .map(([type, scores]) => `${type} ${(scores.f1 * 100).toFixed(1)}`)
    .join(", ");
  console.log(
    `RESULT ${JSON.stringify(config)} best epoch ${result.bestEpoch} outside penalty ${result.tagger.settings.outsidePenalty} dev F1 ${((result.validation?.micro.f1 ?? 0) * 100).toFixed(2)} P/R ${((result.validation?.micro.precision ?? 0) * 100).toFixed(1)}/${((result.validation?.micro.recall ?? 0) * 100).toFixed(1)} (${perType}); embed ${result.seconds.embedding.toFixed(0)} s, head ${result.seconds.training.toFixed(0)} s`,
  );
} finally {
  await encoder.close();
}
