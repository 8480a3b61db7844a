/**
 * @module bench/multilingual
 * Multilingual and cross-lingual quality of `use-multilingual` next to the
 * bilingual bge-small-zh-v1.5 and the English all-MiniLM-L6-v2, in one run,
 * through the real path (`createEmbedder`, pinned and verified files):
 *
 * - STS on the STS Benchmark dev split machine-translated into 10 languages
 *   (`stsb-multi-mt/stsb-<lang>-dev.csv`, 1,500 pairs; English is
 *   `stsb/stsb-en-dev.csv`): monolingual Spearman ×100 per language, and
 *   cross-lingual (sentence 1 in English, sentence 2 in language X, same pair
 *   ids and gold scores);
 * - cross-lingual retrieval: each language's sentence 1 looks for its English
 *   original among all 1,500 English sentence-1s, accuracy@1 (a hit is the
 *   English text of the same row; repeated texts count as the same);
 * - cross-lingual classification: a logistic probe trained on English SST-2
 *   sentences, evaluated on Chinese ChnSentiCorp reviews (accuracy);
 * - speed: sentences/s of `embed()` on English STS sentences, each model in
 *   alternating rounds in the same run (best round kept), with the machine's
 *   other load sampled next to it.
 *
 * Run: `npx tsx bench/multilingual.ts [--data <folder>, default $EMBEDKIT_DATA]
 *   [--models use-multilingual,bge-small-zh-v1.5,all-minilm-l6-v2] [--train 2000] [--test 600]
 *   [--use-batch 32] [--speed 400] [--speed-only true] [--pairs 1500] [--seed 42] [--out bench/out]`
 * `--pairs`: a seeded subset of N STS rows (the same rows in every language; retrieval then
 * searches among those N English sentences), for a loaded machine; default all 1,500.
 * `--train`: SST-2 training sentences; `--test`: ChnSentiCorp dev reviews (first N);
 * `--use-batch`: use-multilingual's maxBatchSize for the quality runs.
 * Writes bench/out/multilingual.json and prints Markdown tables.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { createEmbedder } from "../src/embed/create-embedder.js";
import type { Embedder } from "../src/embed/embedder.js";
import { accuracy } from "../src/eval/classification-metrics.js";
import { trainLogisticProbe } from "../src/eval/logistic-probe.js";
import { spearman } from "../src/eval/metrics.js";
import { readPairs, type StsPair } from "../src/eval/sts-data.js";
import { cosineSimilarity, dot } from "../src/vectors/math.js";
import { createRandom } from "../src/vectors/random.js";
import { benchDataPath } from "./lib/data.js";
import { busyCores } from "./lib/machine-load.js";

const LANGUAGES = ["de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh"] as const;
const DEFAULT_MODELS = ["use-multilingual", "bge-small-zh-v1.5", "all-minilm-l6-v2"];
const TARGET = 70;

interface Arguments {
  readonly dataDir: string;
  readonly models: readonly string[];
  readonly train: number;
  readonly test: number;
  readonly useBatch: number;
  readonly speed: number;
  /** Skip the quality runs (only the speed rounds). */
  readonly speedOnly: boolean;
  /** STS rows kept (seeded subset, same rows in every language); undefined = all. */
  readonly pairs: number | undefined;
  readonly seed: number;
  readonly outDir: string;
}

function parseArguments(argv: readonly string[]): Arguments {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] as string;
    const value = argv[i + 1];
    if (!flag.startsWith("--") || value === undefined)
      throw new Error(`Expected --flag value pairs, got ${flag}.`);
    values.set(flag.slice(2), value);
  }
  for (const key of values.keys()) {
    if (
      ![
        "data",
        "models",
        "train",
        "test",
        "use-batch",
        "speed",
        "speed-only",
        "pairs",
        "seed",
        "out",
      ].includes(key)
    ) {
      throw new Error(`Unknown flag --${key}.`);
    }
  }
  return {
    dataDir: benchDataPath(values.get("data")),
    models: (values.get("models") ?? DEFAULT_MODELS.join(",")).split(",").map((model) => model.trim()),
    train: Number(values.get("train") ?? 2000),
    test: Number(values.get("test") ?? 600),
    useBatch: Number(values.get("use-batch") ?? 32),
    speed: Number(values.get("speed") ?? 400),
    speedOnly: values.get("speed-only") === "true",
    pairs: values.has("pairs") ? Number(values.get("pairs")) : undefined,
    seed: Number(values.get("seed") ?? 42),
    outDir: resolve(values.get("out") ?? "bench/out"),
  };
}

const readSts = (path: string): Promise<StsPair[]> =>
  readPairs(path, { format: "csv", columns: { a: 0, b: 1, score: 2 }, scoreScale: { min: 0, max: 5 } });

/** Embed distinct texts once; returns text → vector. */
async function embedAll(embedder: Embedder, texts: readonly string[]): Promise<Map<string, Float32Array>> {
  const distinct = [...new Set(texts)];
  const out = new Map<string, Float32Array>();
  const step = 512;
  for (let start = 0; start < distinct.length; start += step) {
    const chunk = distinct.slice(start, start + step);
    const { vectors } = await embedder.embed(chunk);
    chunk.forEach((text, index) => {
      out.set(text, vectors[index] as Float32Array);
    });
  }
  return out;
}

function stsSpearman(
  pairs: readonly { readonly a: string; readonly b: string; readonly score: number }[],
  vectors: ReadonlyMap<string, Float32Array>,
): number {
  const predicted = pairs.map((pair) =>
    cosineSimilarity(vectors.get(pair.a) as Float32Array, vectors.get(pair.b) as Float32Array),
  );
  return (
    100 *
    spearman(
      predicted,
      pairs.map((pair) => pair.score),
    )
  );
}

/** Share of queries whose nearest English sentence is the English text of the same row. */
function accuracyAt1(
  queries: readonly string[],
  english: readonly string[],
  vectors: ReadonlyMap<string, Float32Array>,
): number {
  const candidates = english.map((text) => vectors.get(text) as Float32Array);
  let hits = 0;
  queries.forEach((query, row) => {
    const vector = vectors.get(query) as Float32Array;
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    candidates.forEach((candidate, index) => {
      const score = dot(vector, candidate);
      if (score > bestScore) {
        bestScore = score;
        best = index;
      }
    });
    if (english[best] === english[row]) hits++;
  });
  return hits / queries.length;
}

async function readClassification(
  dataDir: string,
  train: number,
  test: number,
): Promise<{ trainTexts: string[]; trainLabels: number[]; testTexts: string[]; testLabels: number[] }> {
  const sst = (await readFile(join(dataDir, "sst-2", "stsa.binary.train.txt"), "utf8"))
    .split("\n")
    .filter((line) => /^[01] /.test(line))
    .slice(0, train);
  const chn = (await readFile(join(dataDir, "chnsenticorp", "dev.tsv"), "utf8"))
    .split("\n")
    .slice(1)
    .filter((line) => /^[01]\t/.test(line))
    .slice(0, test);
  return {
    trainTexts: sst.map((line) => line.slice(2)),
    trainLabels: sst.map((line) => Number(line[0])),
    testTexts: chn.map((line) => line.slice(2)),
    testLabels: chn.map((line) => Number(line[0])),
  };
}

interface ModelResult {
  readonly model: string;
  readonly monolingual: Record<string, number>;
  readonly crossLingual: Record<string, number>;
  readonly retrievalAt1: Record<string, number>;
  readonly classificationEnToZh: number;
  readonly seconds: number;
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const allEnglish = await readSts(join(args.dataDir, "stsb", "stsb-en-dev.csv"));
  // --pairs: the same seeded rows in every language (kept in file order).
  const rows =
    args.pairs === undefined || args.pairs >= allEnglish.length
      ? allEnglish.map((_, row) => row)
      : createRandom(args.seed)
          .shuffle(allEnglish.map((_, row) => row))
          .slice(0, args.pairs)
          .sort((x, y) => x - y);
  const english = rows.map((row) => allEnglish[row] as StsPair);
  const byLanguage = new Map<string, StsPair[]>();
  for (const language of LANGUAGES) {
    const allPairs = await readSts(join(args.dataDir, "stsb-multi-mt", `stsb-${language}-dev.csv`));
    if (allPairs.length !== allEnglish.length) {
      throw new Error(
        `stsb-${language}-dev.csv has ${allPairs.length} pairs, English has ${allEnglish.length}.`,
      );
    }
    const pairs = rows.map((row) => allPairs[row] as StsPair);
    const differing = pairs.filter((pair, row) => pair.score !== english[row]?.score).length;
    if (differing > 0)
      console.warn(`${language}: ${differing} gold scores differ from English (English gold used).`);
    byLanguage.set(language, pairs);
  }
  const classification = await readClassification(args.dataDir, args.train, args.test);
  const allTexts = [
    ...english.flatMap((pair) => [pair.a, pair.b]),
    ...[...byLanguage.values()].flatMap((pairs) => pairs.flatMap((pair) => [pair.a, pair.b])),
  ];
  const results: ModelResult[] = [];
  for (const model of args.speedOnly ? [] : args.models) {
    const started = performance.now();
    // Quality runs use-multilingual in batches of 32 (cosine >= 0.998 to its one-text default,
    // docs/MODELS.md) so the run fits a shared machine; the speed rounds below measure both.
    const embedder = await createEmbedder({
      model,
      ...(model === "use-multilingual" ? { maxBatchSize: args.useBatch } : {}),
    });
    console.log(`${model}: embedding ${new Set(allTexts).size} distinct STS sentences ...`);
    const vectors = await embedAll(embedder, allTexts);
    const monolingual: Record<string, number> = { en: stsSpearman(english, vectors) };
    const crossLingual: Record<string, number> = {};
    const retrievalAt1: Record<string, number> = {};
    for (const [language, pairs] of byLanguage) {
      monolingual[language] = stsSpearman(pairs, vectors);
      crossLingual[language] = stsSpearman(
        pairs.map((pair, row) => ({
          a: (english[row] as StsPair).a,
          b: pair.b,
          score: (english[row] as StsPair).score,
        })),
        vectors,
      );
      retrievalAt1[language] = accuracyAt1(
        pairs.map((pair) => pair.a),
        english.map((pair) => pair.a),
        vectors,
      );
    }
    console.log(
      `${model}: STS done (${((performance.now() - started) / 1000).toFixed(0)} s); classification ...`,
    );
    const train = await embedAll(embedder, classification.trainTexts);
    const test = await embedAll(embedder, classification.testTexts);
    const probe = trainLogisticProbe({
      vectors: classification.trainTexts.map((text) => train.get(text) as Float32Array),
      labels: classification.trainLabels,
    });
    const predicted = probe.predict(classification.testTexts.map((text) => test.get(text) as Float32Array));
    const classificationEnToZh = 100 * accuracy(classification.testLabels, predicted);
    await embedder.close();
    const seconds = (performance.now() - started) / 1000;
    results.push({ model, monolingual, crossLingual, retrievalAt1, classificationEnToZh, seconds });
    console.log(
      `${model}: cross-lingual ${LANGUAGES.map((l) => `${l} ${crossLingual[l]?.toFixed(1)}`).join(", ")}; ` +
        `EN→ZH classification ${classificationEnToZh.toFixed(1)} (${seconds.toFixed(0)} s)`,
    );
  }

  // Speed: alternating rounds over the same English sentences, best round per configuration.
  // --speed 0 skips the speed rounds (e.g. to run the quality part of some models in another process).
  const speedTexts = english.slice(0, args.speed).map((pair) => pair.a);
  const configurations = [
    {
      label: "use-multilingual (1 text per call, default)",
      model: "use-multilingual",
      maxBatchSize: undefined,
    },
    { label: "use-multilingual (maxBatchSize 32)", model: "use-multilingual", maxBatchSize: 32 },
    { label: "all-minilm-l6-v2 (default)", model: "all-minilm-l6-v2", maxBatchSize: undefined },
    { label: "bge-small-zh-v1.5 (default)", model: "bge-small-zh-v1.5", maxBatchSize: undefined },
  ].filter((configuration) => args.speed > 0 && args.models.includes(configuration.model));
  const embedders = await Promise.all(
    configurations.map((configuration) =>
      createEmbedder({
        model: configuration.model,
        ...(configuration.maxBatchSize === undefined ? {} : { maxBatchSize: configuration.maxBatchSize }),
      }),
    ),
  );
  const busyBefore = await busyCores(2000, cpus().length);
  const best = configurations.map(() => 0);
  for (let round = 0; round < 3; round++) {
    for (const [index, embedder] of embedders.entries()) {
      const started = performance.now();
      await embedder.embed(speedTexts);
      const rate = speedTexts.length / ((performance.now() - started) / 1000);
      best[index] = Math.max(best[index] as number, rate);
    }
  }
  const busyAfter = await busyCores(2000, cpus().length);
  for (const embedder of embedders) await embedder.close();
  const minilmIndex = configurations.findIndex((configuration) => configuration.model === "all-minilm-l6-v2");
  const speed = configurations.map((configuration, index) => ({
    configuration: configuration.label,
    sentencesPerSecond: best[index] as number,
    ratioToMiniLM: minilmIndex < 0 ? null : (best[index] as number) / (best[minilmIndex] as number),
  }));

  const machine = {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    loadavg: loadavg(),
    busyCoresBeforeSpeed: busyBefore,
    busyCoresAfterSpeed: busyAfter,
    date: new Date().toISOString(),
  };
  await mkdir(args.outDir, { recursive: true });
  await writeFile(
    join(args.outDir, "multilingual.json"),
    `${JSON.stringify({ machine, results, speed, speedSentences: speedTexts.length, train: args.train, stsRows: rows.length, seed: args.pairs === undefined ? null : args.seed }, null, 2)}\n`,
  );

  const header = `| model | ${["en", ...LANGUAGES].join(" | ")} |`;
  const rule = `|---|${["en", ...LANGUAGES].map(() => "---:").join("|")}|`;
  const row = (values: Record<string, number>, languages: readonly string[], scale = 1, digits = 1) =>
    languages.map((language) =>
      values[language] === undefined ? "-" : ((values[language] as number) * scale).toFixed(digits),
    );
  console.log(
    `\n### Monolingual STS (Spearman ×100, stsb-multi-mt dev, ${english.length} pairs each${args.pairs === undefined ? "" : `, seed ${args.seed}`})\n`,
  );
  console.log(header);
  console.log(rule);
  for (const result of results)
    console.log(`| ${result.model} | ${row(result.monolingual, ["en", ...LANGUAGES]).join(" | ")} |`);
  console.log(`\n### Cross-lingual STS EN–X (Spearman ×100; target ≥ ${TARGET} for ≥ 8 of 10)\n`);
  console.log(`| model | ${LANGUAGES.join(" | ")} | ≥ ${TARGET} |`);
  console.log(`|---|${LANGUAGES.map(() => "---:").join("|")}|---:|`);
  for (const result of results) {
    const passed = LANGUAGES.filter((language) => (result.crossLingual[language] ?? 0) >= TARGET).length;
    console.log(`| ${result.model} | ${row(result.crossLingual, LANGUAGES).join(" | ")} | ${passed}/10 |`);
  }
  console.log(`\n### Cross-lingual retrieval X→EN (accuracy@1 %, ${english.length} English candidates)\n`);
  console.log(`| model | ${LANGUAGES.join(" | ")} |`);
  console.log(`|---|${LANGUAGES.map(() => "---:").join("|")}|`);
  for (const result of results)
    console.log(`| ${result.model} | ${row(result.retrievalAt1, LANGUAGES, 100).join(" | ")} |`);
  console.log(
    `\n### Train on English (SST-2, ${args.train}), classify Chinese (ChnSentiCorp dev, first ${classification.testTexts.length}): accuracy %\n`,
  );
  console.log("| model | accuracy |\n|---|---:|");
  for (const result of results)
    console.log(`| ${result.model} | ${result.classificationEnToZh.toFixed(1)} |`);
  console.log(
    `\n### Speed (sentences/s, ${speedTexts.length} English STS sentences, best of 3 alternating rounds)\n`,
  );
  console.log("| configuration | sentences/s | × MiniLM |\n|---|---:|---:|");
  for (const entry of speed) {
    console.log(
      `| ${entry.configuration} | ${entry.sentencesPerSecond.toFixed(0)} | ${entry.ratioToMiniLM === null ? "-" : entry.ratioToMiniLM.toFixed(2)} |`,
    );
  }
  console.log(
    `\nMachine: ${machine.cpu} (${machine.cores} cores), load average ${machine.loadavg.map((v) => v.toFixed(2)).join(" ")}, ` +
      `other work ${busyBefore.toFixed(2)} / ${busyAfter.toFixed(2)} busy cores before/after the speed rounds, ${machine.date}.`,
  );
}

await main();
