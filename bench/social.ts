/**
 * @module bench/social
 * Benchmark of `embedkit social analyze` (issue 14), two parts:
 *
 * 1. **Sentiment** of the shipped heads (models/social/, trained by
 *    scripts/train-social-heads.ts) on rows they were never trained on —
 *    Tweets.csv held-out 20 % (3 classes), weibo-senti sample-even and
 *    ChnSentiCorp dev (2 classes; the head's two-class decision, and separately
 *    coverage and accuracy outside its neutral band) — against, in the same run,
 *    (a) zero-shot with the same embedding model (cosine to one prompt per label,
 *    as `embedkit classify --labels`; English prompts "This text is about
 *    {label}." with negative/neutral/positive, Chinese "这段话的情感是{label}。" with
 *    负面/正面) and (b) TF-IDF + logistic regression (bench/lib/tfidf-classifier.ts)
 *    trained on exactly the head's training rows.
 *    `--max-test N` scores a seeded sample of N rows of each set (all by default).
 * 2. **End to end** (`--e2e`): the built CLI (`node bin/embedkit.js social analyze`,
 *    wall time, peak RSS from `/usr/bin/time -f %M`): the first `--cold-rows`
 *    tweets with an empty embedding cache (cold) and the same again (cached); then
 *    all 14,640 tweets on the usual cache (warm once scripts/train-social-heads.ts
 *    has run) with the README example's summary; `--scale N` repeats the tweets to
 *    N posts (each copy shifted by whole weeks) and runs that once, progress bars
 *    on, with summary.json's seconds per stage (alone, without `--e2e`, only that).
 *
 * Embeddings of part 1 go through the eval cache. Writes `bench/out/social.json`.
 *
 * Run: `npm run build && EMBEDKIT_DATA=<data> npx tsx bench/social.ts [--sentiment] [--languages en,zh] [--max-test 1000]
 *   [--e2e] [--cold-rows 1000] [--scale 100000] [--out bench/out]`
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import {
  loadSentimentHead,
  scoreSentiment,
  sentimentFromProbabilities,
} from "../src/apps/social/sentiment.js";
import {
  HEAD_DATA,
  loadSentimentSplit,
  type SentimentExample,
  type SentimentSplit,
  sampleExamples,
} from "../src/apps/social/sentiment-sets.js";
import { createEmbedder } from "../src/embed/create-embedder.js";
import { accuracy, macroF1 } from "../src/eval/classification-metrics.js";
import { embedTexts } from "../src/eval/embedding-cache.js";
import { cosineSimilarity } from "../src/vectors/math.js";
import { benchDataPath } from "./lib/data.js";
import { busyCores, machineInfo } from "./lib/machine-load.js";
import { fitTfidf, trainSparseLogisticRegression } from "./lib/tfidf-classifier.js";

const { values } = parseArgs({
  options: {
    sentiment: { type: "boolean", default: false },
    e2e: { type: "boolean", default: false },
    scale: { type: "string" },
    "cold-rows": { type: "string", default: "1000" },
    "max-test": { type: "string" },
    languages: { type: "string", default: "en,zh" },
    out: { type: "string", default: "bench/out" },
    data: { type: "string" },
  },
});

interface Scores {
  readonly accuracy: number;
  readonly macroF1: number;
}

function score(truth: readonly string[], predicted: readonly string[]): Scores {
  return { accuracy: accuracy(truth, predicted), macroF1: macroF1(truth, predicted) };
}

async function vectorsOf(model: string, examples: readonly SentimentExample[]): Promise<Float32Array[]> {
  const embedder = await createEmbedder({ model });
  try {
    return (await embedTexts({ embedder, texts: examples.map((example) => example.text), batchSize: 1024 }))
      .vectors;
  } finally {
    await embedder.close();
  }
}

async function zeroShot(
  model: string,
  vectors: readonly Float32Array[],
  prompts: readonly { label: string; prompt: string }[],
): Promise<string[]> {
  const embedder = await createEmbedder({ model });
  try {
    const labelVectors = (await embedder.embed(prompts.map((item) => item.prompt))).vectors;
    return vectors.map((vector) => {
      let best = 0;
      let bestScore = Number.NEGATIVE_INFINITY;
      labelVectors.forEach((labelVector, index) => {
        const similarity = cosineSimilarity(vector, labelVector);
        if (similarity > bestScore) {
          bestScore = similarity;
          best = index;
        }
      });
      return (prompts[best] as { label: string }).label;
    });
  } finally {
    await embedder.close();
  }
}

function tfidfBaseline(
  train: readonly SentimentExample[],
  test: readonly SentimentExample[],
  language: "en" | "zh",
): string[] {
  const classes = [...new Set(train.map((example) => example.label))].sort();
  const classIndex = new Map(classes.map((label, index) => [label, index]));
  const vectorizer = fitTfidf(
    train.map((example) => example.text),
    language,
  );
  const predict = trainSparseLogisticRegression({
    rows: vectorizer.transform(train.map((example) => example.text)),
    targets: Int32Array.from(train, (example) => classIndex.get(example.label) as number),
    classes: classes.length,
    features: vectorizer.features,
  });
  return predict(vectorizer.transform(test.map((example) => example.text))).map(
    (index) => classes[index] as string,
  );
}

const EN_PROMPTS = ["negative", "neutral", "positive"].map((label) => ({
  label,
  prompt: `This text is about ${label}.`,
}));
const ZH_PROMPTS = [
  { label: "negative", prompt: "这段话的情感是负面。" },
  { label: "positive", prompt: "这段话的情感是正面。" },
];

const maxTest = values["max-test"] === undefined ? Number.POSITIVE_INFINITY : Number(values["max-test"]);

async function sentimentBench(): Promise<unknown> {
  const results: Record<string, unknown> = {};
  // Baselines train on exactly the head's training rows (HEAD_DATA).
  const sets: { name: string; language: "en" | "zh"; test: SentimentSplit }[] = [
    { name: "Tweets.csv held-out (3 classes)", language: "en", test: "tweets-held-out" },
    { name: "weibo-senti sample-even", language: "zh", test: "weibo-sample-even" },
    { name: "ChnSentiCorp dev", language: "zh", test: "chnsenticorp-dev" },
  ];
  const languages = (values.languages as string).split(",");
  for (const set of sets.filter((item) => languages.includes(item.language))) {
    const head = await loadSentimentHead({ language: set.language });
    const model = head.classifier.embedding.modelId;
    const train = sampleExamples(
      await loadSentimentSplit(HEAD_DATA[set.language].train),
      HEAD_DATA[set.language].maxTrain,
    );
    const test = sampleExamples(await loadSentimentSplit(set.test), maxTest);
    const truth = test.map((example) => example.label);
    const vectors = await vectorsOf(model, test);
    const probabilities = head.classifier.probabilities(vectors);
    const twoClass = sentimentFromProbabilities(head.classifier.classes, probabilities).map(
      (item) => item.label,
    );
    const withBand = scoreSentiment(head, vectors);
    const decided = withBand.flatMap((item, index) =>
      item.label === "neutral" && set.language === "zh" ? [] : [index],
    );
    const zero = await zeroShot(model, vectors, set.language === "en" ? EN_PROMPTS : ZH_PROMPTS);
    const started = performance.now();
    const tfidf = tfidfBaseline(train, test, set.language);
    results[set.name] = {
      rows: test.length,
      trainRows: train.length,
      model,
      head: score(truth, twoClass),
      ...(set.language === "zh"
        ? {
            headOutsideNeutralBand: {
              coverage: decided.length / test.length,
              ...score(
                decided.map((index) => truth[index] as string),
                decided.map((index) => withBand[index]?.label as string),
              ),
            },
          }
        : {}),
      zeroShot: score(truth, zero),
      tfidfLogisticRegression: { ...score(truth, tfidf), seconds: (performance.now() - started) / 1000 },
    };
    console.log(set.name, JSON.stringify(results[set.name]));
  }
  return results;
}

/** Run the CLI as a child, sampling its peak RSS from /proc (VmHWM at exit is read before it is reaped). */
async function runCli(
  args: readonly string[],
  home: string,
): Promise<{ seconds: number; peakRssMb: number; stdout: string }> {
  const started = performance.now();
  const child = spawn("/usr/bin/time", ["-f", "%M", process.execPath, "bin/embedkit.js", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    // The eval cache lives under EMBEDKIT_HOME: a fresh folder makes the first run cold.
    env: { ...process.env, EMBEDKIT_PROGRESS: "1", EMBEDKIT_HOME: home },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    process.stderr.write(chunk);
  });
  const code = await new Promise<number>((resolve) => child.on("close", (value) => resolve(value ?? 1)));
  if (code !== 0) throw new Error(`embedkit ${args.join(" ")} exited with ${code}: ${stderr.slice(-2000)}`);
  // /usr/bin/time -f %M prints the child's maximum resident set size in KiB as the last stderr line.
  const lines = stderr.trim().split("\n");
  const peakKb = Number(lines[lines.length - 1]);
  return { seconds: (performance.now() - started) / 1000, peakRssMb: peakKb / 1024, stdout };
}

/** Write the first `count` tweets (all columns) to a CSV, shifting every further copy by whole weeks. */
async function tweetsFile(source: string, target: string, count: number): Promise<void> {
  const rows = parseCsv(await readFile(source, "utf8"), { columns: true }) as Record<string, string>[];
  const columns = Object.keys(rows[0] as object);
  const cell = (value: string) => (/[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
  const lines = [columns.join(",")];
  for (let copy = 0; lines.length - 1 < count; copy++) {
    for (const row of rows) {
      if (lines.length - 1 >= count) break;
      const shifted =
        Date.parse(String(row.tweet_created).replace(" -0800", "-08:00")) + copy * 7 * 86_400_000;
      const local = new Date(shifted - 8 * 3_600_000).toISOString();
      const created = `${local.slice(0, 10)} ${local.slice(11, 19)} -0800`;
      lines.push(
        columns.map((column) => cell(column === "tweet_created" ? created : (row[column] ?? ""))).join(","),
      );
    }
  }
  await writeFile(target, `${lines.join("\n")}\n`);
}

/**
 * End to end through the built CLI. `coldRows`: that many tweets with an empty cache
 * (cold), then again (cached). The full file then runs on the usual cache
 * (`$EMBEDKIT_HOME`, warm after scripts/train-social-heads.ts): wall time, peak RSS and
 * the README example's summary. `scale`: the tweets repeated to that many posts.
 */
async function endToEnd(coldRows: number, scale: number | undefined): Promise<unknown> {
  const tweets = benchDataPath(values.data, "twitter-us-airline-sentiment/Tweets.csv");
  const work = await mkdtemp(join(tmpdir(), "embedkit-social-bench-"));
  const freshHome = join(work, "home");
  // Models from the usual store (--home); the eval cache follows EMBEDKIT_HOME.
  const modelHome = process.env.EMBEDKIT_HOME ?? join(process.env.HOME ?? "", ".cache", "embedkit");
  const common = [
    "--time-field",
    "tweet_created",
    "--group-field",
    "airline",
    "--id-field",
    "tweet_id",
    "--home",
    modelHome,
    "--quiet",
  ];
  const results: Record<string, unknown> = {};
  try {
    if (values.e2e) {
      const slice = join(work, `tweets-${coldRows}.csv`);
      await tweetsFile(tweets, slice, coldRows);
      const cold = await runCli(
        ["social", "analyze", slice, ...common, "--out", join(work, "cold")],
        freshHome,
      );
      const again = await runCli(
        ["social", "analyze", slice, ...common, "--out", join(work, "again")],
        freshHome,
      );
      results.slice = {
        posts: coldRows,
        cold: { seconds: cold.seconds, peakRssMb: cold.peakRssMb },
        cached: { seconds: again.seconds, peakRssMb: again.peakRssMb },
        coldOverCached: cold.seconds / again.seconds,
      };
      console.log("slice", results.slice);
      const full = await runCli(
        ["social", "analyze", tweets, ...common, "--out", join(work, "full")],
        modelHome,
      );
      const summary = JSON.parse(await readFile(join(work, "full", "summary.json"), "utf8")) as {
        embedding: unknown;
      };
      results.full = {
        posts: 14640,
        seconds: full.seconds,
        peakRssMb: full.peakRssMb,
        embedding: summary.embedding,
      };
      results.summaryText = full.stdout;
      results.summary = summary;
      console.log("full", results.full);
      console.log(full.stdout);
    }
    if (scale !== undefined) {
      const big = join(work, "scale.csv");
      await tweetsFile(tweets, big, scale);
      // Progress bars on (no --quiet): they go to stderr, which is passed through.
      const run = await runCli(
        [
          "social",
          "analyze",
          big,
          ...common.filter((arg) => arg !== "--quiet"),
          "--out",
          join(work, "scale"),
        ],
        modelHome,
      );
      const summary = JSON.parse(await readFile(join(work, "scale", "summary.json"), "utf8")) as {
        embedding: unknown;
        stageSeconds: Record<string, number>;
      };
      const staged = Object.values(summary.stageSeconds).reduce((sum, value) => sum + value, 0);
      results.scale = {
        posts: scale,
        seconds: run.seconds,
        peakRssMb: run.peakRssMb,
        embedding: summary.embedding,
        stageSeconds: summary.stageSeconds,
        // Process start, imports, model loading and writing the outputs.
        otherSeconds: run.seconds - staged,
        summaryText: run.stdout,
      };
      console.log("scale", results.scale);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return results;
}

const load = await busyCores(2000);
const report: Record<string, unknown> = { machine: machineInfo(load), date: new Date().toISOString() };
if (values.sentiment) report.sentiment = await sentimentBench();
if (values.e2e || values.scale !== undefined) {
  report.endToEnd = await endToEnd(
    Number(values["cold-rows"]),
    values.scale === undefined ? undefined : Number(values.scale),
  );
}
await mkdir(values.out as string, { recursive: true });
await writeFile(join(values.out as string, "social.json"), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
