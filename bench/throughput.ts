/**
 * @module bench/throughput
 * Text embedding throughput on CPU: our ONNX embedder end to end against the
 * ceiling (raw onnxruntime-node `session.run` on the very same padded batches),
 * the Python stack fastembed uses (onnxruntime + tokenizers from PyPI) and,
 * when installed in bench/peers, transformers.js `pipeline("feature-extraction")`.
 * Same ONNX file (from the model store), same sentences (unique STS-B English
 * dev sentences, file order), same thread count, batch sizes 1/8/32/128 in one run.
 *
 * Run: `npx tsx bench/throughput.ts [--model all-minilm-l6-v2[,other,...]] [--sentences 2000]
 *   [--batch-sizes 1,8,32,128] [--repeats 3] [--threads 2] [--engines ours,raw,python,transformersjs]
 *   [--data <sts csv>, default $EMBEDKIT_DATA/stsb/stsb-en-dev.csv] [--out bench/out] [--results bench/out/RESULTS.md]
 *   [--max-batch-tokens 8192] [--wait-idle 0]`
 * `--render` re-renders bench/out/throughput.json into bench/out/RESULTS.md without running anything.
 * `--wait-idle SECONDS` waits (at most that long) before each batch size until other processes use
 * < 0.15 core: on 2 cores a colleague's benchmark halves every number. The load seen is recorded.
 * Phase breakdown of our embed() (tokenize / tensors / run / pool): `npx tsx bench/lib/profile-embed.ts`.
 *
 * Method. Each engine is its own child process (so its peak RSS, from getrusage
 * maxrss, is its own), all loaded up front and kept alive; only one computes at
 * a time. Per batch size: every engine prepares (ours: a new embedder with
 * maxBatchSize = bs; raw: tensors built from our tokenizer and batch planner)
 * and warms up, then the repeats interleave engines (rep 1: ours, raw, python,
 * tjs; rep 2: ...) so machine drift hits all alike; we report the median.
 * A repeat embeds all sentences in consecutive groups of bs, one call per group.
 * Tokens count [CLS]/[SEP] and exclude padding. The Python stack is installed
 * by this script into bench/.venv (pins in bench/python/requirements.txt).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, release, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import { getModel } from "../src/models/catalog.js";
import { createModelStore } from "../src/models/store-impl.js";
import {
  type RunResult,
  startWorker,
  type WorkerConfig,
  type WorkerHandle,
  type WorkerReady,
} from "./lib/bench-worker.js";
import { benchDataPath } from "./lib/data.js";
import { busyCores, waitForQuiet } from "./lib/machine-load.js";
import { FULL_RESULTS, spliceSection } from "./lib/results-section.js";

const SECTION_TITLE = "## Throughput (text, CPU, 2 threads)";
const ROOT = resolve(import.meta.dirname, "..");
const VENV = join(ROOT, "bench", ".venv");
const VENV_PYTHON = join(VENV, "bin", "python");
const ENGINES = ["ours", "raw", "python", "transformersjs"] as const;
type Engine = (typeof ENGINES)[number];
const ENGINE_LABELS: Readonly<Record<Engine, string>> = {
  ours: "ours (embed)",
  raw: "raw ORT run",
  python: "python ORT+tokenizers",
  transformersjs: "transformers.js",
};
/** Our embedder's default token budget per inference call, passed explicitly to ours and raw. */
const DEFAULT_MAX_BATCH_TOKENS = 8192;
const CHECK_SENTENCES = 16;

interface Arguments {
  readonly models: readonly string[];
  readonly sentences: number;
  readonly batchSizes: readonly number[];
  readonly repeats: number;
  readonly threads: number;
  readonly engines: readonly Engine[];
  readonly dataPath: string;
  readonly outDir: string;
  readonly resultsPath: string;
  readonly render: boolean;
  /** Wait up to this many seconds for other processes to go quiet before each batch size. */
  readonly waitIdle: number;
  /** Token budget per inference call for ours (and the raw batches mirroring it). */
  readonly maxBatchTokens: number;
}

function parseArguments(): Arguments {
  const { values } = parseArgs({
    options: {
      model: { type: "string", default: "all-minilm-l6-v2" },
      sentences: { type: "string", default: "2000" },
      "batch-sizes": { type: "string", default: "1,8,32,128" },
      repeats: { type: "string", default: "3" },
      threads: { type: "string", default: "2" },
      engines: { type: "string", default: ENGINES.join(",") },
      data: { type: "string" },
      out: { type: "string", default: join(ROOT, "bench", "out") },
      results: { type: "string", default: join(ROOT, FULL_RESULTS) },
      render: { type: "boolean", default: false },
      "wait-idle": { type: "string", default: "0" },
      "max-batch-tokens": { type: "string", default: String(DEFAULT_MAX_BATCH_TOKENS) },
    },
  });
  const integer = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`--${name} must be a positive integer, got ${text}`);
    return value;
  };
  const engines = values.engines.split(",").map((name) => {
    if (!(ENGINES as readonly string[]).includes(name)) {
      throw new Error(`--engines: unknown engine "${name}"; known: ${ENGINES.join(", ")}`);
    }
    return name as Engine;
  });
  return {
    models: values.model.split(",").map((id) => getModel(id).id),
    sentences: integer("sentences", values.sentences),
    batchSizes: values["batch-sizes"].split(",").map((size) => integer("batch-sizes", size)),
    repeats: integer("repeats", values.repeats),
    threads: integer("threads", values.threads),
    engines,
    dataPath: benchDataPath(values.data, "stsb/stsb-en-dev.csv"),
    outDir: resolve(values.out),
    resultsPath: resolve(values.results),
    render: values.render,
    waitIdle: Number(values["wait-idle"]),
    maxBatchTokens: integer("max-batch-tokens", values["max-batch-tokens"]),
  };
}

/** Unique sentences of an STS CSV (a,b,score; no header), in order of first appearance. */
async function readUniqueSentences(path: string, limit: number): Promise<string[]> {
  const rows = parseCsv(await readFile(path, "utf8"), { relax_column_count: true }) as string[][];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const text of row.slice(0, 2)) if (text.trim() !== "") seen.add(text);
  }
  return [...seen].slice(0, limit);
}

/** Make sure bench/.venv has the pinned Python stack; returns why not when it cannot. */
function ensurePythonVenv(): string | undefined {
  const run = (command: string, args: string[]): boolean => {
    const result = spawnSync(command, args, { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    return result.status === 0;
  };
  const probe = ["-c", "import onnxruntime, tokenizers, numpy"];
  if (existsSync(VENV_PYTHON) && run(VENV_PYTHON, probe)) return undefined;
  console.log("Creating bench/.venv with the pinned onnxruntime / tokenizers / numpy ...");
  if (!existsSync(VENV_PYTHON) && !run("python3", ["-m", "venv", VENV])) return "python3 -m venv failed";
  const requirements = join(ROOT, "bench", "python", "requirements.txt");
  if (!run(VENV_PYTHON, ["-m", "pip", "install", "--quiet", "-r", requirements])) return "pip install failed";
  return run(VENV_PYTHON, probe) ? undefined : "the venv cannot import onnxruntime/tokenizers/numpy";
}

function startEngine(engine: Engine, config: WorkerConfig): WorkerHandle {
  const json = JSON.stringify(config);
  if (engine === "python") {
    return startWorker({
      engine,
      command: VENV_PYTHON,
      args: [join(ROOT, "bench", "python", "throughput.py"), json],
      cwd: ROOT,
    });
  }
  const script =
    engine === "transformersjs"
      ? join(ROOT, "bench", "peers", "transformers-worker.ts")
      : join(ROOT, "bench", "lib", "throughput-node-worker.ts");
  return startWorker({
    engine,
    command: process.execPath,
    args: ["--import", "tsx", script, json],
    cwd: ROOT,
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  a.forEach((value, i) => {
    const other = b[i] as number;
    dot += value * other;
    normA += value * value;
    normB += other * other;
  });
  return dot / Math.sqrt(normA * normB);
}

interface EngineMeasure {
  readonly medianSeconds: number;
  readonly seconds: readonly number[];
  readonly sentencesPerSecond: number;
  readonly tokensPerSecond: number;
  readonly tokens: number;
  readonly paddedTokens: number | null;
  readonly calls: number;
  readonly maxRssKb: number;
}

interface ModelReport {
  readonly model: string;
  readonly date: string;
  readonly command: string;
  readonly sentences: number;
  readonly repeats: number;
  readonly threads: number;
  /** Absent in reports written before the option existed (then the default). */
  readonly maxBatchTokens?: number;
  readonly machine: string;
  readonly onnxPath: string;
  readonly engines: readonly Engine[];
  readonly skipped: Readonly<Partial<Record<Engine, string>>>;
  readonly versions: Readonly<Partial<Record<Engine, Readonly<Record<string, string>>>>>;
  readonly loaded: Readonly<Partial<Record<Engine, { readonly seconds: number; readonly rssKb: number }>>>;
  /** Lowest cosine, over the first sentences, between each engine's vectors and ours. */
  readonly agreement: Readonly<Partial<Record<Engine, number>>>;
  readonly batches: readonly {
    readonly batchSize: number;
    /** Cores kept busy by other processes, sampled (1 s) just before and after this batch size's runs. */
    readonly otherLoad: readonly [number, number];
    readonly results: Readonly<Partial<Record<Engine, EngineMeasure>>>;
  }[];
}

async function benchmarkModel(args: Arguments, modelId: string, sentencesPath: string): Promise<ModelReport> {
  const spec = getModel(modelId);
  const pulled = await createModelStore().ensure(modelId);
  const sentences = JSON.parse(await readFile(sentencesPath, "utf8")) as string[];
  const skipped: Partial<Record<Engine, string>> = {};
  const engines: Engine[] = [];
  for (const engine of args.engines) {
    if (engine === "python") {
      const why = ensurePythonVenv();
      if (why !== undefined) {
        skipped.python = why;
        continue;
      }
    }
    if (
      engine === "transformersjs" &&
      !existsSync(join(ROOT, "bench", "peers", "node_modules", "@huggingface", "transformers"))
    ) {
      skipped.transformersjs = "not installed: run `npm install` in bench/peers";
      continue;
    }
    engines.push(engine);
  }
  const config = (engine: Engine): WorkerConfig => ({
    engine,
    model: spec.id,
    onnxPath: pulled.path("onnx"),
    tokenizerPath: pulled.path("tokenizer"),
    sentencesPath,
    maxTokens: spec.maxTokens,
    pooling: spec.pooling === "cls" ? "cls" : "mean",
    dims: spec.dims,
    threads: args.threads,
    maxBatchTokens: args.maxBatchTokens,
    scratchDir: join(args.outDir, "peer-models"),
  });

  // Load one at a time so loads do not compete for the two cores.
  const workers = new Map<Engine, WorkerHandle>();
  const versions: Partial<Record<Engine, Record<string, string>>> = {};
  const loaded: Partial<Record<Engine, { seconds: number; rssKb: number }>> = {};
  try {
    for (const engine of engines) {
      const worker = startEngine(engine, config(engine));
      let ready: WorkerReady;
      try {
        ready = await worker.ready;
      } catch (error) {
        // Our own engines must work; a peer that cannot load is reported, not fatal.
        if (engine === "ours" || engine === "raw") throw error;
        skipped[engine] = `failed to load: ${(error as Error).message}`;
        continue;
      }
      workers.set(engine, worker);
      versions[engine] = { ...ready.versions };
      loaded[engine] = { seconds: ready.loadSeconds, rssKb: ready.rssKb };
      console.log(
        `${engine}: loaded in ${ready.loadSeconds.toFixed(2)} s, RSS ${(ready.rssKb / 1024).toFixed(0)} MiB`,
      );
    }

    // Same computation? Compare every engine's vectors with ours on the first sentences.
    const agreement: Partial<Record<Engine, number>> = {};
    const reference = workers.get("ours");
    if (reference !== undefined) {
      const ours = (await reference.send<{ vectors: number[][] }>({ op: "vectors", count: CHECK_SENTENCES }))
        .vectors;
      for (const [engine, worker] of workers) {
        const { vectors } = await worker.send<{ vectors: number[][] }>({
          op: "vectors",
          count: CHECK_SENTENCES,
        });
        agreement[engine] = Math.min(...vectors.map((vector, i) => cosine(vector, ours[i] as number[])));
      }
      console.log(`lowest cosine vs ours on ${CHECK_SENTENCES} sentences: ${JSON.stringify(agreement)}`);
    }

    const batches: ModelReport["batches"][number][] = [];
    for (const batchSize of args.batchSizes) {
      const loadBefore =
        args.waitIdle > 0
          ? await waitForQuiet({
              threshold: 0.15,
              timeoutSeconds: args.waitIdle,
              cores: cpus().length,
              log: console.log,
            })
          : await busyCores(1000, cpus().length);
      const runs = new Map<Engine, RunResult[]>();
      for (const [engine, worker] of workers) {
        await worker.send({ op: "prepare", batchSize });
        // Warm-up: enough groups for the arena and the JITs to settle.
        await worker.send({
          op: "run",
          batchSize,
          count: Math.min(sentences.length, Math.max(64, 4 * batchSize)),
        });
        runs.set(engine, []);
      }
      for (let repeat = 0; repeat < args.repeats; repeat++) {
        for (const [engine, worker] of workers) {
          await sleep(100); // let the previous engine's ORT spin-waiting threads park
          const result = await worker.send<RunResult>({ op: "run", batchSize });
          runs.get(engine)?.push(result);
        }
      }
      const results: Partial<Record<Engine, EngineMeasure>> = {};
      for (const [engine, list] of runs) {
        const seconds = list.map((run) => run.seconds);
        const medianSeconds = median(seconds);
        const first = list[0] as RunResult;
        results[engine] = {
          medianSeconds,
          seconds,
          sentencesPerSecond: first.sentences / medianSeconds,
          tokensPerSecond: first.tokens / medianSeconds,
          tokens: first.tokens,
          paddedTokens: first.paddedTokens,
          calls: first.calls,
          maxRssKb: Math.max(...list.map((run) => run.maxRssKb)),
        };
      }
      const loadAfter = await busyCores(1000, cpus().length);
      batches.push({ batchSize, otherLoad: [loadBefore, loadAfter], results });
      console.log(
        `bs=${batchSize} (other load ${loadBefore.toFixed(2)}/${loadAfter.toFixed(2)} cores): ${Object.entries(
          results,
        )
          .map(([engine, measure]) => `${engine} ${measure.sentencesPerSecond.toFixed(1)}/s`)
          .join(", ")}`,
      );
    }
    return {
      model: spec.id,
      date: new Date().toISOString(),
      command: `npx tsx bench/throughput.ts ${process.argv.slice(2).join(" ")}`.trim(),
      sentences: sentences.length,
      repeats: args.repeats,
      threads: args.threads,
      maxBatchTokens: args.maxBatchTokens,
      machine: `${cpus()[0]?.model ?? "?"} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}`,
      onnxPath: pulled.path("onnx"),
      engines: [...workers.keys()],
      skipped,
      versions,
      loaded,
      agreement,
      batches,
    };
  } finally {
    for (const worker of workers.values()) await worker.close().catch(() => undefined);
  }
}

const mib = (kb: number): string => (kb / 1024).toFixed(0);

function renderModel(report: ModelReport): string {
  const lines: string[] = [];
  const shown = report.engines;
  const budget = report.maxBatchTokens ?? DEFAULT_MAX_BATCH_TOKENS;
  lines.push(
    `### ${report.model}${budget === DEFAULT_MAX_BATCH_TOKENS ? "" : ` (maxBatchTokens ${budget})`}`,
    "",
  );
  lines.push(
    `\`${report.command}\` — ${report.date.slice(0, 16).replace("T", " ")} UTC, ${report.sentences} sentences, ` +
      `median of ${report.repeats} interleaved repeats after a warm-up, ${report.threads} intra-op threads, ` +
      `${report.machine}.`,
    "",
  );
  const header = ["batch", ...shown.map((engine) => `${ENGINE_LABELS[engine]} sent/s (tok/s)`)];
  const ratios: [Engine, string][] = [
    ["raw", "ours/raw"],
    ["python", "ours/python"],
    ["transformersjs", "ours/tjs"],
  ];
  const ratioColumns = ratios.filter(([engine]) => shown.includes(engine) && shown.includes("ours"));
  header.push(
    ...ratioColumns.map(([, label]) => label),
    "padding (padded/real tokens)",
    "other load (cores, before/after)",
  );
  lines.push(`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`);
  for (const batch of report.batches) {
    const { batchSize, results } = batch;
    const cells = [String(batchSize)];
    for (const engine of shown) {
      const measure = results[engine];
      cells.push(
        measure === undefined
          ? "-"
          : `${measure.sentencesPerSecond.toFixed(1)} (${measure.tokensPerSecond.toFixed(0)})`,
      );
    }
    const ours = results.ours;
    for (const [engine] of ratioColumns) {
      const other = results[engine];
      cells.push(
        ours === undefined || other === undefined
          ? "-"
          : `**${(ours.sentencesPerSecond / other.sentencesPerSecond).toFixed(2)}**`,
      );
    }
    const raw = results.raw ?? results.python;
    cells.push(raw?.paddedTokens == null ? "-" : (raw.paddedTokens / raw.tokens).toFixed(2));
    cells.push(batch.otherLoad.map((value) => value.toFixed(2)).join("/"));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  lines.push(
    "",
    "Peak RSS (MiB, getrusage maxrss of each engine's own process; cumulative, so each column ≥ the previous):",
    "",
  );
  const rssHeader = [
    "engine",
    "after load (current RSS)",
    ...report.batches.map((batch) => `peak through bs=${batch.batchSize}`),
  ];
  lines.push(`| ${rssHeader.join(" | ")} |`, `|${rssHeader.map(() => "---").join("|")}|`);
  for (const engine of shown) {
    const load = report.loaded[engine];
    lines.push(
      `| ${ENGINE_LABELS[engine]} | ${load === undefined ? "-" : mib(load.rssKb)} | ${report.batches
        .map((batch) => {
          const measure = batch.results[engine];
          return measure === undefined ? "-" : mib(measure.maxRssKb);
        })
        .join(" | ")} |`,
    );
  }
  lines.push("");
  const versionText = shown
    .map(
      (engine) =>
        `${engine}: ${Object.entries(report.versions[engine] ?? {})
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
    )
    .join("; ");
  lines.push(`Versions — ${versionText}.`);
  const agreement = Object.entries(report.agreement)
    .filter(([engine]) => engine !== "ours")
    .map(([engine, value]) => `${engine} ${value.toFixed(6)}`)
    .join(", ");
  if (agreement !== "") {
    lines.push(
      `Same computation check — lowest cosine to ours over the first ${CHECK_SENTENCES} sentences: ${agreement}.`,
    );
  }
  const skipped = Object.entries(report.skipped).map(([engine, why]) => `${engine} (${why})`);
  if (skipped.length > 0) lines.push(`Skipped: ${skipped.join("; ")}.`);
  return lines.join("\n");
}

function renderAll(reports: Readonly<Record<string, ModelReport>>): string {
  const intro = [
    "Texts: unique STS-B English dev sentences (file order), embedded in consecutive groups of `batch` per call.",
    "**ours** = `createEmbedder({ model, threads: 2, maxBatchSize: batch })` then `embed(group)` end to end",
    "(tokenize + pad + run + pool + normalize). **raw** = `session.run` alone, same session options, on the very",
    "same padded int64 batches (built before timing from our tokenizer and batch planner): the ceiling.",
    "**python** = onnxruntime + tokenizers from PyPI as fastembed uses them (`encode_batch` with padding,",
    'numpy mean/CLS pooling + normalize), end to end. **transformers.js** = `pipeline("feature-extraction")`',
    "offline on the same files. tok/s counts real tokens including [CLS]/[SEP], not padding. Each engine",
    "is its own process, loaded once; repeats interleave engines. Source: `bench/out/throughput.json`.",
  ].join("\n");
  return [intro, ...Object.values(reports).map(renderModel)].join("\n\n");
}

async function main(): Promise<void> {
  const args = parseArguments();
  await mkdir(args.outDir, { recursive: true });
  const jsonPath = join(args.outDir, "throughput.json");
  let stored: Record<string, ModelReport> = {};
  if (existsSync(jsonPath))
    stored = (JSON.parse(await readFile(jsonPath, "utf8")) as { models: typeof stored }).models;
  if (!args.render) {
    const sentences = await readUniqueSentences(args.dataPath, args.sentences);
    const sentencesPath = join(args.outDir, "throughput-sentences.json");
    await writeFile(sentencesPath, JSON.stringify(sentences));
    console.log(`${sentences.length} unique sentences from ${args.dataPath}`);
    for (const model of args.models) {
      const report = await benchmarkModel(args, model, sentencesPath);
      // Keep other models' earlier results; this model's entry is replaced.
      const key =
        args.maxBatchTokens === DEFAULT_MAX_BATCH_TOKENS
          ? model
          : `${model} (maxBatchTokens ${args.maxBatchTokens})`;
      stored = { ...stored, [key]: report };
      await writeFile(jsonPath, `${JSON.stringify({ models: stored }, null, 2)}\n`);
    }
  }
  const markdown = renderAll(stored);
  await spliceSection(args.resultsPath, SECTION_TITLE, markdown);
  console.log(`\n${markdown}\n\nWrote ${jsonPath} and the "${SECTION_TITLE}" section of ${args.resultsPath}`);
}

await main();
