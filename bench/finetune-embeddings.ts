/**
 * Contrastive fine-tuning of the encoder vs the linear query adapter on SciFact
 * (issue #22), same split as bench/train.ts's adapter bench
 * (bench/lib/scifact-folds.ts: the 300 BEIR test claims in two seeded halves,
 * train on one half's (claim, cited abstract) pairs, score nDCG@10 on the other
 * half against the 1,263-document subsampled corpus, then swap), all three in
 * the same run: the base bge-small-en-v1.5 (with its query instruction), the
 * adapter (bench/train.ts's settings), and `finetuneEmbeddings` (in-batch
 * negatives) whose export is opened with `createEmbedder` and re-embeds the
 * corpus. To fit a shared 2-core machine, training truncates texts to
 * `--max-tokens` (default 128), runs `--epochs` (default 1), and `--doc-words N`
 * cuts every document to its first N words for all three models (training and
 * scoring alike; 0 = whole documents, the adapter bench's setting). Reports tokens/s, s/epoch and
 * peak RSS of Node and of the engine process.
 *
 *   EMBEDKIT_HOME=<cache> EMBEDKIT_DATA=<data> npx tsx bench/finetune-embeddings.ts \
 *     [--folds 0,1] [--epochs 1] [--batch-size 16] [--lr 2e-5] [--max-tokens 128] [--doc-words 0]
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createEmbedder } from "../src/embed/create-embedder.js";
import { embedTexts, openEmbeddingCache } from "../src/eval/embedding-cache.js";
import { loadRetrievalSet } from "../src/eval/task-data.js";
import { scoreVectorRetrieval } from "../src/eval/vector-retrieval.js";
import { createModelStore } from "../src/models/index.js";
import { trainAdapter } from "../src/train/adapter.js";
import { finetuneEmbeddings } from "../src/train/encoder/finetune-embeddings.js";
import { exportFinetunedEncoder } from "../src/train/finetune/export.js";
import { benchDataPath } from "./lib/data.js";
import { relevantPairs, scifactFolds } from "./lib/scifact-folds.js";

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] as string) : fallback;
}
const folds = argument("folds", "0,1").split(",").map(Number);
const epochs = Number(argument("epochs", "1"));
const batchSize = Number(argument("batch-size", "16"));
const learningRate = Number(argument("lr", "2e-5"));
const maxTokens = Number(argument("max-tokens", "128"));
/** Documents cut to their first N words for every model (0 = whole documents), to fit the machine. */
const documentWords = Number(argument("doc-words", "0"));
const MODEL = "bge-small-en-v1.5";
const store = createModelStore();

// Peak RSS of this process and of its children (the JAX engine), sampled every second.
let peakNode = 0;
let peakEngine = 0;
const rssTimer = setInterval(() => {
  peakNode = Math.max(peakNode, process.memoryUsage().rss);
  try {
    const out = execFileSync("ps", ["-o", "rss=", "--ppid", String(process.pid)], { encoding: "utf8" });
    const kb = out
      .split("\n")
      .map(Number)
      .filter((value) => value > 0);
    peakEngine = Math.max(peakEngine, ...kb.map((value) => value * 1024));
  } catch {
    // no child right now
  }
}, 1000);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
console.log(`# ${new Date().toISOString()} cpus ${cpus().length} × ${cpus()[0]?.model}; load ${load()}`);

const set = await loadRetrievalSet("scifact-subsample", { dataDir: benchDataPath(undefined) });
const documentTexts = set.corpus.map((document) => {
  const text = document.title === "" ? document.text : `${document.title} ${document.text}`;
  return documentWords > 0 ? text.split(/\s+/).slice(0, documentWords).join(" ") : text;
});
const documentIds = set.corpus.map((document) => document.id);
const queryTexts = set.queries.map((query) => query.text);
const base = await createEmbedder({ model: MODEL, store });
const cacheOf = (inputType: "query" | "passage") =>
  openEmbeddingCache({ modelId: base.model.id, inputType, dims: base.model.dims });
const baseDocuments = await embedTexts({
  embedder: base,
  texts: documentTexts,
  inputType: "passage",
  cache: cacheOf("passage"),
});
const baseQueries = await embedTexts({
  embedder: base,
  texts: queryTexts,
  inputType: "query",
  cache: cacheOf("query"),
});
await base.close();

const score = (
  queries: readonly number[],
  queryVectors: readonly Float32Array[],
  documents: readonly Float32Array[],
) =>
  scoreVectorRetrieval({
    queryVectors,
    relevance: queries.map((index) => set.qrels.get((set.queries[index] as { id: string }).id) ?? new Map()),
    documentIds,
    documentVectors: documents,
  });
const rounded = (value: number) => Math.round(value * 10_000) / 100;
const outDir = await mkdtemp(join(tmpdir(), "embedkit-bench-ft-emb-"));
try {
  for (const fold of scifactFolds(set).filter((item) => folds.includes(item.fold))) {
    const pairs = relevantPairs(set, fold.fitting);
    const testVectors = fold.test.map((index) => baseQueries.vectors[index] as Float32Array);
    const before = score(fold.test, testVectors, baseDocuments.vectors);

    // The adapter, bench/train.ts's settings (lr 1e-4, ≤ 30 epochs, early stopping on the validation quarter).
    const adapter = trainAdapter({
      queries: pairs.map((pair) => baseQueries.vectors[pair.query] as Float32Array),
      positives: pairs.map((pair) => baseDocuments.vectors[pair.document] as Float32Array),
      positiveIds: pairs.map((pair) => pair.documentId),
      embedding: { modelId: base.model.id, dims: base.model.dims },
      optimizer: { name: "adamw", learningRate: 1e-4, weightDecay: 0 },
      epochs: 30,
      batchSize: 32,
      validate: (trained) =>
        score(
          fold.validation,
          trained.apply(fold.validation.map((index) => baseQueries.vectors[index] as Float32Array)),
          baseDocuments.vectors,
        ).ndcg,
      earlyStopping: { patience: 5 },
    });
    const adapted = score(fold.test, adapter.adapter.apply(testVectors), baseDocuments.vectors);

    // Fine-tuning: (claim, cited abstract) pairs; validation = the quarter's pairs (held-out MRR).
    const toPairs = (items: ReturnType<typeof relevantPairs>) =>
      items.map((pair, index) => ({
        anchor: queryTexts[pair.query] as string,
        positive: documentTexts[pair.document] as string,
        line: index + 1,
      }));
    const started = performance.now();
    const result = await finetuneEmbeddings({
      store,
      model: MODEL,
      data: { kind: "pairs", pairs: toPairs(pairs), path: `scifact fold ${fold.fold}` },
      validation: { kind: "pairs", pairs: toPairs(relevantPairs(set, fold.validation)), path: "validation" },
      maxTokens,
      epochs,
      batchSize,
      optimizer: { name: "adamw", learningRate, weightDecay: 0.01 },
      schedule: { name: "linear", warmup: 0.1 },
      seed: 42,
      onLog: (line) => console.error(`  ${line}`),
      onBatch: (done, total, loss) =>
        console.error(`  fold ${fold.fold} batch ${done}/${total} loss ${loss.toFixed(4)}`),
      onEpoch: (report) =>
        console.error(
          `  fold ${fold.fold} epoch ${report.epoch}: loss ${report.trainLoss.toFixed(4)} val mrr ${report.validationMetric?.toFixed(4)} ${(report.milliseconds / 1000).toFixed(0)} s`,
        ),
    });
    const trainSeconds = (performance.now() - started) / 1000;
    const exported = await exportFinetunedEncoder({
      base: MODEL,
      weights: result.encoderWeights,
      task: "embeddings",
      dataSha256: "0".repeat(64),
      outDir: join(outDir, `fold-${fold.fold}`),
    });
    const tuned = await createEmbedder({ model: exported.reference, store });
    const embedStarted = performance.now();
    const tunedDocuments = await embedTexts({ embedder: tuned, texts: documentTexts, inputType: "passage" });
    const tunedQueries = await embedTexts({
      embedder: tuned,
      texts: fold.test.map((index) => queryTexts[index] as string),
      inputType: "query",
    });
    const embedSeconds = (performance.now() - embedStarted) / 1000;
    await tuned.close();
    const after = score(fold.test, tunedQueries.vectors, tunedDocuments.vectors);
    console.log(
      JSON.stringify({
        fold: fold.fold,
        model: MODEL,
        trainQueries: fold.fitting.length,
        trainPairs: pairs.length,
        testQueries: fold.test.length,
        ndcg10: {
          base: rounded(before.ndcg),
          adapter: rounded(adapted.ndcg),
          finetuned: rounded(after.ndcg),
        },
        recall10: {
          base: rounded(before.recall),
          adapter: rounded(adapted.recall),
          finetuned: rounded(after.recall),
        },
        validationMrr: { base: result.baseValidationMetric, best: result.validationMetric },
        adapterBestEpoch: adapter.bestEpoch,
        epochs: result.history.length,
        bestEpoch: result.bestEpoch,
        maxTokens,
        documentWords,
        batchSize,
        learningRate,
        truncatedTexts: result.truncated,
        tokensPerSecond: Math.round(result.tokensPerSecond),
        epochSeconds: result.epochSeconds.map((s) => Math.round(s)),
        trainSeconds: Math.round(trainSeconds),
        reembedSeconds: Math.round(embedSeconds),
        peakRssMB: { node: Math.round(peakNode / 2 ** 20), engine: Math.round(peakEngine / 2 ** 20) },
        load: load(),
      }),
    );
  }
} finally {
  clearInterval(rssTimer);
  await rm(outDir, { recursive: true, force: true });
}
