/**
 * Fine-tuned encoder vs frozen-feature tagger for NER (issue #22), same
 * validation splits as bench/ner.ts, both trained on the same training
 * sentences in the same run:
 * - en: all-MiniLM-L6-v2, CoNLL-2003 `train.txt` → `valid.txt` (all 3,250
 *   sentences); `--sample N` trains on N sentences drawn from train.txt (seed 42,
 *   kept in file order; default all 14,041).
 * - zh: bge-small-zh-v1.5, MSRA; validation = the last 1,258 sentences (bench/ner.ts'
 *   slice); training = the first N shuffled pool sentences outside the block dev split
 *   (bench/lib/msra.ts). The frozen tagger picks its epoch and O penalty on the dev block
 *   as bench/ner.ts does; the fine-tuned run trains a fixed number of epochs.
 * The frozen tagger uses bench/ner.ts' settings. The fine-tuned model is scored on
 * the validation split after each epoch (`finetuneNer`'s validation, which keeps the
 * best epoch — for en as bench/ner.ts' tagger, which also picks its epoch on valid).
 * `--max-valid N` (en) scores both on the first N validation sentences only (the
 * encoder's forward pass over all 3,250 costs more than a short training run here).
 * Reports entity micro-F1 of both, training tokens/s, seconds per epoch, peak RSS of
 * this process and the load average.
 *
 *   EMBEDKIT_HOME=<cache> EMBEDKIT_DATA=<data> npx tsx bench/finetune-ner.ts --lang en \
 *     [--sample 14041] [--max-valid 3250] [--epochs 3] [--batch-size 16] [--lr 5e-5] [--max-tokens 128]
 *     [--no-frozen] [--group-by-length]
 * `--no-frozen` skips the frozen tagger (its full-data F1 is deterministic and already in
 * bench/RESULTS.md: 87.56 en, 85.0 zh) so a long fine-tuning run starts at once.
 * `--group-by-length` batches sentences of similar length (training-loop `groupByLength`): about
 * half the padded tokens on MSRA, so about half the engine time per epoch.
 */
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { createEmbedder } from "../src/embed/create-embedder.js";
import type { OnnxEmbedder } from "../src/embed/onnx/onnx-embedder.js";
import { createModelStore } from "../src/models/index.js";
import { readTaggedFile, selectSentences, splitCorpus, type TaggedCorpus } from "../src/ner/readers.js";
import { evaluateTagger, trainTagger } from "../src/ner/tagger.js";
import { finetuneNer } from "../src/train/encoder/finetune-ner.js";
import { benchDataPath } from "./lib/data.js";
import { loadMsra, MSRA_DEV_BLOCK, msraBlockSplit } from "./lib/msra.js";

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] as string) : fallback;
}
const lang = argument("lang", "en");
const sample = argument("sample", "") === "" ? undefined : Number(argument("sample", ""));
const epochs = Number(argument("epochs", "3"));
const batchSize = Number(argument("batch-size", "16"));
const learningRate = Number(argument("lr", "5e-5"));
const maxTokens = Number(argument("max-tokens", "128"));
const maxValid = argument("max-valid", "") === "" ? undefined : Number(argument("max-valid", ""));
const runFrozen = !process.argv.includes("--no-frozen");
const groupByLength = process.argv.includes("--group-by-length");
const dataDir = benchDataPath(undefined);
const store = createModelStore();
let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 500);
const load = (): string => (loadavg()[0] as number).toFixed(1);
console.log(
  `# ${new Date().toISOString()} cpus ${cpus().length} × ${cpus()[0]?.model}; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);

const model = lang === "zh" ? "bge-small-zh-v1.5" : "all-minilm-l6-v2";
const encoder = (await createEmbedder({ model, store })) as OnnxEmbedder;
let train: TaggedCorpus;
let validation: TaggedCorpus;
let frozenF1 = Number.NaN;
const frozenStarted = performance.now();
if (lang === "zh") {
  const splits = await loadMsra(dataDir);
  // The block split embeds the whole shuffled pool once (cached); the sample is its first N training sentences.
  const block = await msraBlockSplit(
    splits,
    encoder,
    sample ?? splits.pool.sentences.length - MSRA_DEV_BLOCK,
  );
  train = block.train;
  validation = splits.validation;
  if (runFrozen) {
    const frozen = await trainTagger({
      embedder: encoder,
      train,
      validation: block.dev,
      vectors: block.vectors,
      unit: "character",
      scheme: "bioes",
      epochs: 6,
      patience: 3,
      learningRate: 0.003,
      lexicon: true,
      outsidePenalty: "tune",
    });
    frozenF1 = (await evaluateTagger(frozen.tagger, encoder, validation)).micro.f1;
  }
} else {
  const all = await readTaggedFile(join(dataDir, "conll2003-en/train.txt"), { format: "conll" });
  train = splitCorpus(all, { ...(sample === undefined ? {} : { sample }), seed: 42 }).train;
  const valid = await readTaggedFile(join(dataDir, "conll2003-en/valid.txt"), { format: "conll" });
  validation = maxValid === undefined ? valid : selectSentences(valid, valid.sentences.slice(0, maxValid));
  if (runFrozen) {
    const frozen = await trainTagger({
      embedder: encoder,
      train,
      validation,
      epochs: 10,
      patience: 3,
      learningRate: 0.001,
      lexicon: true,
      scheme: "bio",
      outsidePenalty: 0,
      cacheDir: false,
    });
    frozenF1 = frozen.validation?.micro.f1 ?? 0;
  }
}
const frozenSeconds = (performance.now() - frozenStarted) / 1000;
await encoder.close();
console.log(
  `frozen tagger: F1 ${(100 * frozenF1).toFixed(2)} on ${validation.sentences.length} validation sentences, ${frozenSeconds.toFixed(0)} s, load ${load()}`,
);

const started = performance.now();
const result = await finetuneNer({
  store,
  model,
  train,
  validation,
  unit: lang === "zh" ? "character" : "word",
  maxTokens,
  epochs,
  batchSize,
  optimizer: { name: "adamw", learningRate, weightDecay: 0.01 },
  seed: 42,
  groupByLength,
  onLog: (line) => console.log(`  ${line}`),
  onEpoch: (report) =>
    console.log(
      `  epoch ${report.epoch}: loss ${report.trainLoss.toFixed(4)} val F1 ${(100 * (report.validationMetric ?? 0)).toFixed(2)} ${(report.milliseconds / 1000).toFixed(0)} s load ${load()}`,
    ),
  onBatch: (done, total, loss) => {
    if (done % 10 === 0) console.log(`    batch ${done}/${total} loss ${loss.toFixed(4)}`);
  },
});
clearInterval(rssTimer);
console.log(
  JSON.stringify({
    lang,
    model,
    train: train.sentences.length,
    validation: validation.sentences.length,
    frozenTagger: +(100 * frozenF1).toFixed(2),
    finetuned: +(100 * (result.validation?.micro.f1 ?? 0)).toFixed(2),
    epochsRun: result.history.length,
    bestEpoch: result.bestEpoch,
    tokensPerSecond: Math.round(result.tokensPerSecond),
    epochSeconds: result.epochSeconds.map((s) => Math.round(s)),
    totalSeconds: Math.round((performance.now() - started) / 1000),
    truncated: result.truncated,
    groupByLength,
    peakRssMB: Math.round(peakRss / 2 ** 20),
    load: load(),
  }),
);
