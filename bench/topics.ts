/**
 * @module bench/topics
 * Topic discovery (src/apps/social/topics.ts) against LDA and NMF in the same run.
 *
 * Quality: on the OCTIS-preprocessed corpora octis-m10 and octis-dblp (every
 * document, embedded with all-MiniLM-L6-v2 — BERTopic's default model — through
 * the eval embedding cache), for 10..50 topics × 3 seeds: embedkit with
 * `topics: N` (k-means on the 5-D UMAP space) and with `clustering: "hdbscan"`
 * (HDBSCAN with minTopicSize 10 — BERTopic's min_cluster_size — merged down to N by
 * c-TF-IDF similarity, outliers not scored),
 * keywords restricted to the OCTIS vocabulary, with the default cross-topic
 * keyword diversity and (same clusters) plain c-TF-IDF (`keywordDiversity: 0`); LDA (gensim) and NMF on TF-IDF
 * (scikit-learn) from bench/python/topics_baselines.py. Scores: NPMI of the
 * top-10 words (gensim c_npmi as OCTIS computes it, and document
 * co-occurrence) and topic diversity of the top-25.
 *
 * Labels: AG News (test-even, 4 classes), THUCNews titles (dev, 10 classes) and
 * the negative airline tweets vs `negativereason` (10 classes), embedkit with
 * `topics: <classes>` and `auto` (bge-small-en-v1.5 / bge-small-zh-v1.5, the
 * models `embedkit social` uses) vs k-means on TF-IDF and LDA over the same
 * tokens (tokenizeForTopics), NMI and ARI, 3 seeds.
 *
 * Run: `npx tsx bench/topics.ts [--data <folder>, default $EMBEDKIT_DATA]
 *   [--quality octis-m10,octis-dblp] [--labels ag-news,thucnews-titles,airline-negative]
 *   [--topics 10,20,30,40,50] [--seeds 1,2,3] [--out bench/out]`
 * Writes bench/out/topics.json (raw) and bench/out/topics.md (tables); bench/notes/topics.md keeps a checked run.
 * `npx tsx bench/topics.ts --scale 100000` instead times one `discoverTopics` call (topics auto, map on)
 * per stage with peak RSS on octis-m10's documents and vectors repeated (each copy's vectors with seeded
 * Gaussian noise, σ = 0.01 per dimension) up to that many texts, against the 8,355 originals in the same run.
 * Needs python3; creates bench/.venv with the pins of bench/python/topics-requirements.txt.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse } from "csv-parse/sync";
import { discoverTopics, reduceForTopics, tokenizeForTopics } from "../src/apps/social/topics.js";
import { createEmbedder } from "../src/embed/create-embedder.js";
import { embedTexts } from "../src/eval/embedding-cache.js";
import { getTaskSet, readLabeledTexts } from "../src/eval/task-data.js";
import { benchDataPath } from "./lib/data.js";

const ROOT = join(import.meta.dirname, "..");
const VENV = join(ROOT, "bench", ".venv");
const PYTHON = join(VENV, "bin", "python");

interface QualityRun {
  readonly method: string;
  readonly seed: number;
  readonly topics: number;
  readonly words: string[][];
  readonly seconds: number;
}
interface LabelRun {
  readonly method: string;
  readonly seed: number;
  readonly assignments: number[];
  readonly seconds: number;
}

const { values } = parseArgs({
  options: {
    data: { type: "string" },
    quality: { type: "string", default: "octis-m10,octis-dblp" },
    labels: { type: "string", default: "ag-news,thucnews-titles,airline-negative" },
    topics: { type: "string", default: "10,20,30,40,50" },
    seeds: { type: "string", default: "1,2,3" },
    scale: { type: "string" },
    out: { type: "string", default: join(ROOT, "bench", "out") },
  },
});
const dataDir = benchDataPath(values.data);
const list = (text: string | undefined): string[] =>
  (text ?? "").split(",").filter((item) => item.trim() !== "");
const topicCounts = list(values.topics).map(Number);
const seeds = list(values.seeds).map(Number);
const outDir = values.out as string;

function log(message: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
}

function ensureVenv(): void {
  const requirements = join(ROOT, "bench", "python", "topics-requirements.txt");
  if (!existsSync(PYTHON)) execFileSync("python3", ["-m", "venv", VENV], { stdio: "inherit" });
  const probe = spawnSync(PYTHON, ["-c", "import gensim, sklearn, scipy"], { stdio: "ignore" });
  if (probe.status !== 0) {
    log("installing the Python baselines into bench/.venv ...");
    execFileSync(PYTHON, ["-m", "pip", "install", "--quiet", "-r", requirements], { stdio: "inherit" });
  }
}

async function embedAll(model: string, texts: readonly string[]): Promise<Float32Array[]> {
  const embedder = await createEmbedder({ model });
  try {
    let last = 0;
    const result = await embedTexts({
      embedder,
      texts,
      onProgress: ({ done, total }) => {
        if (done - last >= 5000 || done === total) {
          last = done;
          log(`  ${model}: ${done}/${total} texts`);
        }
      },
    });
    log(`  ${model}: ${result.embedded} embedded, ${result.cached} from the cache`);
    return result.vectors;
  } finally {
    await embedder.close();
  }
}

async function writeTokens(name: string, docs: readonly (readonly string[])[]): Promise<string> {
  const path = join(outDir, `topics-${name}.tokens.txt`);
  await writeFile(path, docs.map((doc) => `${doc.join(" ")}\n`).join(""));
  return path;
}

async function qualityJob(set: string): Promise<Record<string, unknown>> {
  const corpus = (await readFile(join(dataDir, set, "corpus.tsv"), "utf8"))
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.split("\t")[0] as string);
  const vocabulary = (await readFile(join(dataDir, set, "vocabulary.txt"), "utf8"))
    .split("\n")
    .map((word) => word.trim())
    .filter((word) => word !== "");
  log(`${set}: ${corpus.length} documents, vocabulary ${vocabulary.length}`);
  const vectors = await embedAll("all-minilm-l6-v2", corpus);
  const runs: QualityRun[] = [];
  for (const seed of seeds) {
    let started = performance.now();
    const reduction = await reduceForTopics(vectors, { seed });
    const reduceSeconds = (performance.now() - started) / 1000;
    log(`  seed ${seed}: reduction ${reduceSeconds.toFixed(1)} s`);
    for (const topics of topicCounts) {
      for (const clustering of ["kmeans", "hdbscan"] as const) {
        // Default keywords (cross-topic diversity) and, on the same clusters, plain c-TF-IDF.
        for (const keywordDiversity of [undefined, 0] as const) {
          started = performance.now();
          const result = await discoverTopics(corpus, vectors, {
            topics,
            clustering,
            // BERTopic's min_cluster_size for HDBSCAN before merging down to N.
            ...(clustering === "hdbscan" ? { minTopicSize: 10 } : {}),
            ...(keywordDiversity === undefined ? {} : { keywordDiversity }),
            seed,
            reduction,
            lang: "en",
            keywords: 25,
            examples: 1,
            vocabulary,
            map: false,
          });
          const words = result.topics
            .filter((topic) => topic.id >= 0)
            .map((topic) => topic.keywords.map((k) => k.word));
          const name = clustering === "kmeans" ? "embedkit (k-means" : "embedkit (HDBSCAN + merge";
          runs.push({
            method: `${name}${keywordDiversity === 0 ? ", plain c-TF-IDF" : ""})`,
            seed,
            topics,
            words,
            // The shared reduction is counted once per topic count (it is what one call costs).
            seconds: (performance.now() - started) / 1000 + reduceSeconds,
          });
        }
      }
    }
  }
  return {
    set,
    corpus: await writeTokens(
      set,
      corpus.map((doc) => doc.split(" ")),
    ),
    vocabulary,
    seeds,
    topicCounts,
    runs,
  };
}

interface LabelledSet {
  readonly texts: string[];
  readonly labels: string[];
  readonly model: string;
  readonly lang: "en" | "zh";
}

async function loadLabelled(set: string): Promise<LabelledSet> {
  if (set === "airline-negative") {
    const rows = parse(await readFile(join(dataDir, "twitter-us-airline-sentiment", "Tweets.csv"), "utf8"), {
      columns: true,
      skip_empty_lines: true,
    }) as Record<string, string>[];
    const negative = rows.filter(
      (row) => row.airline_sentiment === "negative" && (row.negativereason ?? "") !== "",
    );
    return {
      texts: negative.map((row) => row.text as string),
      labels: negative.map((row) => row.negativereason as string),
      model: "bge-small-en-v1.5",
      lang: "en",
    };
  }
  const spec = getTaskSet(set);
  if (spec.kind !== "labeled") throw new Error(`${set} is not a labelled set`);
  const rows = await readLabeledTexts(join(dataDir, spec.test.path), spec.test.read);
  return {
    texts: rows.map((row) => row.text),
    labels: rows.map((row) => row.label),
    model: spec.language === "zh" ? "bge-small-zh-v1.5" : "bge-small-en-v1.5",
    lang: spec.language === "zh" ? "zh" : "en",
  };
}

async function labelJob(set: string): Promise<Record<string, unknown>> {
  const data = await loadLabelled(set);
  const classes = new Set(data.labels).size;
  log(`${set}: ${data.texts.length} texts, ${classes} classes`);
  const vectors = await embedAll(data.model, data.texts);
  const runs: LabelRun[] = [];
  for (const seed of seeds) {
    let started = performance.now();
    const reduction = await reduceForTopics(vectors, { seed });
    const reduceSeconds = (performance.now() - started) / 1000;
    for (const topics of [classes, "auto"] as const) {
      started = performance.now();
      const result = await discoverTopics(data.texts, vectors, {
        topics,
        seed,
        reduction,
        lang: data.lang,
        map: false,
      });
      runs.push({
        method: topics === "auto" ? "embedkit auto (HDBSCAN)" : "embedkit topics=classes (k-means)",
        seed,
        assignments: [...result.assignments],
        seconds: (performance.now() - started) / 1000 + reduceSeconds,
      });
    }
    log(`  seed ${seed} done`);
  }
  const docs = data.texts.map((text) => tokenizeForTopics(text, data.lang));
  return { set, docs: await writeTokens(set, docs), labels: data.labels, k: classes, seeds, runs };
}

function mean(numbers: readonly number[]): number {
  return numbers.reduce((sum, value) => sum + value, 0) / Math.max(1, numbers.length);
}

function std(numbers: readonly number[]): number {
  const average = mean(numbers);
  return Math.sqrt(mean(numbers.map((value) => (value - average) ** 2)));
}

interface QualityResult {
  method: string;
  seed: number;
  topics: number;
  found: number;
  npmi: number;
  npmiDocument: number;
  diversity: number;
  seconds: number;
}
interface LabelResult {
  method: string;
  seed: number;
  clusters: number;
  outliers: number;
  nmi: number;
  ari: number;
  seconds: number;
}

function render(
  output: {
    quality: { set: string; documents: number; results: QualityResult[] }[];
    labels: { set: string; documents: number; classes: number; results: LabelResult[] }[];
  },
  header: string,
): string {
  const lines: string[] = [header];
  for (const entry of output.quality) {
    lines.push(
      "",
      `### Topic quality: ${entry.set} (${entry.documents} documents), mean ± std over seeds ${seeds.join(", ")}`,
      "",
      "| method | topics | found | NPMI (c_npmi) | NPMI (doc) | TD (top-25) | s / run |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    const methods = [...new Set(entry.results.map((result) => result.method))];
    for (const topics of topicCounts) {
      for (const method of methods) {
        const rows = entry.results.filter((result) => result.method === method && result.topics === topics);
        lines.push(
          `| ${method} | ${topics} | ${mean(rows.map((row) => row.found)).toFixed(1)} | ${mean(rows.map((row) => row.npmi)).toFixed(3)} ± ${std(rows.map((row) => row.npmi)).toFixed(3)} | ${mean(rows.map((row) => row.npmiDocument)).toFixed(3)} | ${mean(rows.map((row) => row.diversity)).toFixed(3)} | ${mean(rows.map((row) => row.seconds)).toFixed(1)} |`,
        );
      }
    }
    lines.push(
      "",
      "Average over all topic counts:",
      "",
      "| method | NPMI (c_npmi) | NPMI (doc) | TD |",
      "| --- | ---: | ---: | ---: |",
    );
    for (const method of methods) {
      const rows = entry.results.filter((result) => result.method === method);
      lines.push(
        `| ${method} | ${mean(rows.map((row) => row.npmi)).toFixed(3)} | ${mean(rows.map((row) => row.npmiDocument)).toFixed(3)} | ${mean(rows.map((row) => row.diversity)).toFixed(3)} |`,
      );
    }
  }
  for (const entry of output.labels) {
    lines.push(
      "",
      `### Topics vs labels: ${entry.set} (${entry.documents} texts, ${entry.classes} classes), mean ± std over seeds ${seeds.join(", ")}`,
      "",
      "| method | clusters | outliers | NMI | ARI | s / run |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const method of [...new Set(entry.results.map((result) => result.method))]) {
      const rows = entry.results.filter((result) => result.method === method);
      lines.push(
        `| ${method} | ${mean(rows.map((row) => row.clusters)).toFixed(1)} | ${mean(rows.map((row) => row.outliers)).toFixed(0)} | ${mean(rows.map((row) => row.nmi)).toFixed(3)} ± ${std(rows.map((row) => row.nmi)).toFixed(3)} | ${mean(rows.map((row) => row.ari)).toFixed(3)} ± ${std(rows.map((row) => row.ari)).toFixed(3)} | ${mean(rows.map((row) => row.seconds)).toFixed(1)} |`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** One timed discoverTopics call: seconds per stage and the process's peak RSS after it. */
async function timedRun(
  texts: readonly string[],
  vectors: readonly Float32Array[],
): Promise<Record<string, number>> {
  const stages = new Map<string, number>();
  let stage = "";
  let stageStarted = performance.now();
  const started = performance.now();
  await discoverTopics(texts, vectors, {
    seed: 1,
    onProgress: (next) => {
      if (next === stage) return;
      if (stage !== "") stages.set(stage, (performance.now() - stageStarted) / 1000);
      stage = next;
      stageStarted = performance.now();
    },
  });
  stages.set(stage, (performance.now() - stageStarted) / 1000);
  return {
    texts: texts.length,
    ...Object.fromEntries(stages),
    total: (performance.now() - started) / 1000,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

async function scaleRun(target: number): Promise<void> {
  const corpus = (await readFile(join(dataDir, "octis-m10", "corpus.tsv"), "utf8"))
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.split("\t")[0] as string);
  const vectors = await embedAll("all-minilm-l6-v2", corpus);
  const { createRandom } = await import("../src/vectors/random.js");
  const random = createRandom(7);
  const texts: string[] = [];
  const big: Float32Array[] = [];
  for (let index = 0; texts.length < target; index++) {
    const position = index % corpus.length;
    texts.push(corpus[position] as string);
    const source = vectors[position] as Float32Array;
    big.push(index < corpus.length ? source : source.map((value) => value + 0.01 * random.gaussian()));
  }
  const loadBefore = loadavg()
    .map((value) => value.toFixed(2))
    .join(", ");
  const baseline = await timedRun(corpus, vectors);
  log(`baseline ${JSON.stringify(baseline)}`);
  const scaled = await timedRun(texts, big);
  log(`scaled ${JSON.stringify(scaled)}`);
  const loadAfter = loadavg()
    .map((value) => value.toFixed(2))
    .join(", ");
  const rows = [baseline, scaled].map(
    (run) =>
      `| ${run.texts} | ${["reduce", "cluster", "keywords", "map", "total"].map((key) => (run[key] ?? 0).toFixed(1)).join(" | ")} | ${(run.peakRssMiB ?? 0).toFixed(0)} |`,
  );
  const markdown = [
    `### Scale: octis-m10 repeated to ${target} texts (generated by bench/topics.ts)`,
    "",
    `- command: \`npx tsx bench/topics.ts --scale ${target}\`; machine: ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores; ${new Date().toISOString()}; load average ${loadBefore} before, ${loadAfter} after`,
    "- peak RSS is the process's maximum so far (the scaled run comes second, so it includes the baseline's)",
    "",
    "| texts | reduce s | cluster s | keywords s | map s | total s | peak RSS MiB |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    `Ratio scaled / baseline: ${((scaled.total ?? 0) / (baseline.total ?? 1)).toFixed(2)}× the time for ${(target / corpus.length).toFixed(1)}× the texts.`,
  ].join("\n");
  await writeFile(join(outDir, "topics-scale.md"), `${markdown}\n`);
  console.log(markdown);
}

async function main(): Promise<void> {
  await mkdir(outDir, { recursive: true });
  if (values.scale !== undefined) {
    await scaleRun(Number(values.scale));
    return;
  }
  ensureVenv();
  const started = new Date();
  const loadBefore = loadavg()
    .map((value) => value.toFixed(2))
    .join(", ");
  const quality = [];
  for (const set of list(values.quality)) quality.push(await qualityJob(set));
  const labels = [];
  for (const set of list(values.labels)) labels.push(await labelJob(set));
  const jobPath = join(outDir, "topics-job.json");
  await writeFile(jobPath, JSON.stringify({ quality, labels }));
  log("running the Python baselines and scoring ...");
  const python = spawnSync(PYTHON, [join(ROOT, "bench", "python", "topics_baselines.py"), jobPath], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (python.status !== 0) throw new Error(`topics_baselines.py failed with status ${python.status}`);
  const output = JSON.parse(python.stdout);
  await writeFile(join(outDir, "topics.json"), JSON.stringify(output, null, 2));
  const loadAfter = loadavg()
    .map((value) => value.toFixed(2))
    .join(", ");
  const command = `npx tsx bench/topics.ts --quality ${values.quality} --labels ${values.labels} --topics ${values.topics} --seeds ${values.seeds}`;
  const header = [
    "## Topic discovery (generated by bench/topics.ts)",
    "",
    `- command: \`${command}\` (EMBEDKIT_DATA = the shared data folder)`,
    `- machine: ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, Node ${process.version}; started ${started.toISOString()}, finished ${new Date().toISOString()}`,
    `- load average (1, 5, 15 min): ${loadBefore} before, ${loadAfter} after (a shared 2-core machine; seconds are indicative only)`,
    "- NPMI (c_npmi): gensim CoherenceModel coherence=\"c_npmi\", top-10 words, boolean sliding window of 10 over the corpus documents (OCTIS's metric); NPMI (doc): document co-occurrence; TD: unique words among all topics' top-25 / (25 × topics).",
    '- embedkit: default options besides the ones named (UMAP 5-D on a 5000-text sample, 200 epochs; keywords limited to the OCTIS vocabulary; keyword diversity 0.1, or 0 in the "plain c-TF-IDF" rows, same clusters); seconds per run include the shared UMAP reduction once.',
  ].join("\n");
  const markdown = render(output, header);
  await writeFile(join(outDir, "topics.md"), markdown);
  console.log(markdown);
}

await main();
