/**
 * @module bench/sts
 * STS quality benchmark: every catalog ONNX text model (fp32 and int8 side by
 * side) on every shared STS set in its languages, through the real path
 * (`createEmbedder({ model })`, i.e. the model store and its pinned, verified
 * files). English models run on the English sets; bge-small-zh-v1.5 is bilingual
 * and runs on all sets. Reports Spearman ×100 per model and set, sentences per
 * second, and the mean Spearman lost by each int8 model against its fp32 twin.
 *
 * Run: `npx tsx bench/sts.ts [--data <folder>, default $EMBEDKIT_DATA] [--models a,b] [--sets x,y]
 *   [--limit-zh-test N] [--out bench/out] [--results bench/out/RESULTS.md]`
 * `npx tsx bench/sts.ts --render bench/out/sts.json [--results bench/out/RESULTS.md]` re-renders a
 * saved run without running any model.
 * `--limit-zh-test` keeps the first N pairs of the Chinese test-file sets (ATEC,
 * BQ, LCQMC); `--results` splices the table into that file's
 * "## STS (Spearman ×100)" section, leaving other sections untouched.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { createEmbedder } from "../src/embed/create-embedder.js";
import type { InputType } from "../src/embed/embedder.js";
import { evaluateSts } from "../src/eval/sts.js";
import { getStsSet, readStsSet, STS_SETS, type StsPair, type StsSetSpec } from "../src/eval/sts-data.js";
import { getModel, listModels } from "../src/models/index.js";
import type { ModelSpec } from "../src/models/model-spec.js";
import { benchDataPath } from "./lib/data.js";

const SECTION_TITLE = "## STS (Spearman ×100)";

/**
 * Published STSBenchmark *test* numbers (MTEB, cosine Spearman ×100) we are sure of.
 * Only these two; e5-small-v2 and the C-MTEB numbers of bge-small-zh-v1.5 are not cited
 * because we could not check them here.
 */
const PUBLISHED: Readonly<
  Record<string, { readonly set: string; readonly value: string; readonly source: string }>
> = {
  "all-minilm-l6-v2": {
    set: "STSBenchmark test",
    value: "≈82.0",
    source: "MTEB leaderboard (82.03)",
  },
  "bge-small-en-v1.5": {
    set: "STSBenchmark test",
    value: "85.86",
    source: "MTEB results in the BAAI/bge-small-en-v1.5 model card (cos_sim_spearman 85.8647)",
  },
};

interface Arguments {
  readonly dataDir: string;
  readonly models: readonly ModelSpec[];
  readonly sets: readonly StsSetSpec[];
  readonly limitChineseTest: number | undefined;
  readonly outDir: string;
  readonly resultsPath: string | undefined;
  /** Re-render Markdown (and splice it into resultsPath) from a saved sts.json; runs nothing. */
  readonly renderPath: string | undefined;
  /** Free-text remark about the run (e.g. other load on the machine), printed under the table. */
  readonly note: string | undefined;
}

function parseArguments(argv: readonly string[]): Arguments {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (!flag.startsWith("--")) throw new Error(`Unexpected argument ${flag}; flags look like --data <dir>.`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs a value.`);
    values.set(flag.slice(2), value);
    i++;
  }
  const known = new Set(["data", "models", "sets", "limit-zh-test", "out", "results", "render", "note"]);
  for (const key of values.keys()) {
    if (!known.has(key))
      throw new Error(`Unknown flag --${key}; known: ${[...known].map((k) => `--${k}`).join(", ")}.`);
  }
  const onnxModels = listModels().filter((model) => model.format === "onnx-transformer");
  const models = values.has("models")
    ? (values.get("models") as string).split(",").map((name) => getModel(name.trim()))
    : onnxModels;
  const sets = values.has("sets")
    ? (values.get("sets") as string).split(",").map((id) => getStsSet(id.trim()))
    : Object.values(STS_SETS);
  const limitText = values.get("limit-zh-test");
  const limitChineseTest = limitText === undefined ? undefined : Number(limitText);
  if (limitChineseTest !== undefined && (!Number.isInteger(limitChineseTest) || limitChineseTest < 2)) {
    throw new Error(`--limit-zh-test must be an integer >= 2, received ${limitText}.`);
  }
  return {
    dataDir: benchDataPath(values.get("data")),
    models,
    sets,
    limitChineseTest,
    outDir: resolve(values.get("out") ?? "bench/out"),
    resultsPath: values.has("results") ? resolve(values.get("results") as string) : undefined,
    renderPath: values.has("render") ? resolve(values.get("render") as string) : undefined,
    note: values.get("note"),
  };
}

/** e5 expects "query: " on both sides of a symmetric task (MTEB does this); bge takes no instruction for STS. */
function inputTypeFor(model: ModelSpec): InputType {
  return model.prefixes.passage !== undefined ? "query" : "none";
}

function isCapped(set: StsSetSpec, limit: number | undefined): boolean {
  return limit !== undefined && set.language === "zh" && set.split === "test" && set.pairs > limit;
}

interface Row {
  readonly model: string;
  readonly set: string;
  readonly spearman: number;
  readonly pearson: number;
  readonly pairs: number;
  readonly sentences: number;
  readonly seconds: number;
  readonly sentencesPerSecond: number;
  readonly inputType: InputType;
}

interface QuantizationLoss {
  readonly fp32: string;
  readonly quantized: string;
  readonly sets: readonly string[];
  /** Mean of (fp32 − int8) Spearman ×100 over the sets both ran. */
  readonly meanLoss: number;
  readonly maxLoss: number;
}

function quantizationLosses(models: readonly ModelSpec[], rows: readonly Row[]): QuantizationLoss[] {
  const losses: QuantizationLoss[] = [];
  for (const quantized of models.filter((model) => model.quantized)) {
    const fp32 = models.find(
      (model) => !model.quantized && model.upstream === quantized.upstream && model.dims === quantized.dims,
    );
    if (fp32 === undefined) continue;
    const differences: { set: string; loss: number }[] = [];
    for (const row of rows.filter((r) => r.model === fp32.id)) {
      const twin = rows.find((r) => r.model === quantized.id && r.set === row.set);
      if (twin !== undefined) differences.push({ set: row.set, loss: row.spearman - twin.spearman });
    }
    if (differences.length === 0) continue;
    losses.push({
      fp32: fp32.id,
      quantized: quantized.id,
      sets: differences.map((d) => d.set),
      meanLoss: differences.reduce((sum, d) => sum + d.loss, 0) / differences.length,
      maxLoss: Math.max(...differences.map((d) => d.loss)),
    });
  }
  return losses;
}

function machine(): string {
  const cores = cpus();
  return `${cores.length} cores (${cores[0]?.model.trim() ?? "unknown CPU"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`;
}

interface Report {
  readonly date: string;
  readonly command: string;
  readonly machine: string;
  readonly limitChineseTest: number | undefined;
  readonly complete: boolean;
  readonly note?: string | undefined;
  readonly sets: readonly StsSetSpec[];
  readonly results: readonly Row[];
  readonly quantizationLoss: readonly QuantizationLoss[];
}

function markdown(report: Report, models: readonly ModelSpec[]): string {
  const sets = report.sets;
  const lines: string[] = [];
  const caption = report.limitChineseTest
    ? ` Chinese test-file sets capped at their first ${report.limitChineseTest.toLocaleString("en")} pairs ` +
      "(marked *); full files otherwise."
    : " Every set is read in full.";
  lines.push(
    `Spearman ×100 between pair cosine and gold score (higher is better).${caption} ` +
      `Run ${report.date} on ${report.machine}.${report.complete ? "" : " **Partial run: some cells are missing.**"}`,
    "",
  );
  if (report.note) lines.push(`Note: ${report.note}`, "");
  const header = sets.map((set) => `${set.id}${isCapped(set, report.limitChineseTest) ? "*" : ""}`);
  lines.push(`| model | ${header.join(" | ")} | sentences/s |`);
  lines.push(`|---|${sets.map(() => "---:").join("|")}|---:|`);
  for (const model of models) {
    const rows = report.results.filter((row) => row.model === model.id);
    if (rows.length === 0) continue;
    const cells = sets.map((set) => {
      const row = rows.find((r) => r.set === set.id);
      return row === undefined ? "—" : row.spearman.toFixed(2);
    });
    const sentences = rows.reduce((sum, row) => sum + row.sentences, 0);
    const seconds = rows.reduce((sum, row) => sum + row.seconds, 0);
    const prefix = inputTypeFor(model) === "query" ? ' ("query: " prefix)' : "";
    lines.push(`| ${model.id}${prefix} | ${cells.join(" | ")} | ${(sentences / seconds).toFixed(0)} |`);
  }
  lines.push(
    "",
    "Sets (split used; our numbers are on these splits, not on the test splits published tables use):",
    "",
  );
  lines.push("| set | file | language | split | pairs | gold score |");
  lines.push("|---|---|---|---|---:|---|");
  for (const set of sets) {
    const scale = set.read.scoreScale;
    const pairs = isCapped(set, report.limitChineseTest)
      ? `${report.limitChineseTest} of ${set.pairs}`
      : String(set.pairs);
    lines.push(
      `| ${set.id} | ${set.path} | ${set.language} | ${set.split} | ${pairs} | ${set.scoreKind}` +
        `${scale ? ` (${scale.min}–${scale.max})` : ""} |`,
    );
  }
  if (report.quantizationLoss.length > 0) {
    lines.push(
      "",
      "int8 vs fp32 (Spearman ×100 points lost by the quantized model; negative = int8 better):",
      "",
    );
    lines.push("| fp32 | int8 | sets | mean loss | worst set loss |");
    lines.push("|---|---|---:|---:|---:|");
    for (const loss of report.quantizationLoss) {
      lines.push(
        `| ${loss.fp32} | ${loss.quantized} | ${loss.sets.length} | ${loss.meanLoss.toFixed(2)} | ${loss.maxLoss.toFixed(2)} |`,
      );
    }
  }
  const published = models.filter((model) => PUBLISHED[model.id] !== undefined);
  if (published.length > 0) {
    lines.push(
      "",
      "Published reference numbers (test split, published; not directly comparable to our dev split):",
      "",
    );
    for (const model of published) {
      const reference = PUBLISHED[model.id] as (typeof PUBLISHED)[string];
      lines.push(`- ${model.id}: ${reference.set} ${reference.value} — ${reference.source}.`);
    }
  }
  lines.push(
    "",
    "Method: each distinct sentence of a set is embedded once (`evaluateSts`), cosine per pair, Spearman " +
      "with average ranks for ties. e5 models get the `query: ` prefix on both sides (as MTEB evaluates them); " +
      "bge models get no instruction (the bge authors' advice for similarity tasks). sentences/s is distinct " +
      "sentences embedded per wall-clock second over all sets of the row, batch size 1024 per embed call, " +
      "default threads (all cores).",
    "",
    `Command: \`${report.command}\``,
  );
  return lines.join("\n");
}

/** Replace (or append) the STS section of a results file, keeping every other section. */
async function spliceResults(path: string, body: string): Promise<void> {
  let existing = "";
  try {
    existing = await readFile(path, "utf8");
  } catch {
    existing = "# Benchmark results\n";
  }
  const section = `${SECTION_TITLE}\n\n${body}\n`;
  const start = existing.indexOf(`${SECTION_TITLE}\n`);
  let next: string;
  if (start === -1) {
    next = `${existing.trimEnd()}\n\n${section}`;
  } else {
    const after = existing.indexOf("\n## ", start + SECTION_TITLE.length);
    next = existing.slice(0, start) + section + (after === -1 ? "" : `\n${existing.slice(after + 1)}`);
  }
  await writeFile(path, next.endsWith("\n") ? next : `${next}\n`);
}

/** Re-render a saved report (e.g. after editing the notes above) without re-running the models. */
async function render(args: Arguments): Promise<void> {
  const saved = JSON.parse(await readFile(args.renderPath as string, "utf8")) as Report;
  const report: Report = args.note === undefined ? saved : { ...saved, note: args.note };
  const ran = new Set(report.results.map((row) => row.model));
  const models = listModels().filter((model) => ran.has(model.id));
  const body = markdown(report, models);
  await writeFile(join(args.outDir, "sts.md"), `${SECTION_TITLE}\n\n${body}\n`);
  console.log(`Wrote ${join(args.outDir, "sts.md")}`);
  if (args.resultsPath !== undefined) {
    await spliceResults(args.resultsPath, body);
    console.log(`Updated the "${SECTION_TITLE}" section of ${args.resultsPath}`);
  }
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  if (args.renderPath !== undefined) return render(args);
  const command = `npx tsx bench/sts.ts ${process.argv.slice(2).join(" ")}`.trim();
  const date = new Date().toISOString().slice(0, 10);
  await mkdir(args.outDir, { recursive: true });

  const pairsBySet = new Map<string, StsPair[]>();
  for (const set of args.sets) {
    const limit = isCapped(set, args.limitChineseTest) ? args.limitChineseTest : undefined;
    const pairs = await readStsSet(set.id, {
      dataDir: args.dataDir,
      ...(limit === undefined ? {} : { limit }),
    });
    if (limit === undefined && pairs.length !== set.pairs) {
      throw new Error(
        `${set.id}: expected ${set.pairs} pairs, read ${pairs.length}. Is ${args.dataDir} the right data dir?`,
      );
    }
    pairsBySet.set(set.id, pairs);
  }

  const plan = args.models.flatMap((model) =>
    args.sets.filter((set) => model.languages.includes(set.language)).map((set) => ({ model, set })),
  );
  console.log(
    `STS benchmark: ${plan.length} runs, ${args.models.length} models, ${args.sets.length} sets; ${machine()}`,
  );
  const rows: Row[] = [];
  const write = async (complete: boolean): Promise<Report> => {
    const report: Report = {
      date,
      command,
      machine: machine(),
      limitChineseTest: args.limitChineseTest,
      complete,
      note: args.note,
      sets: args.sets,
      results: rows,
      quantizationLoss: quantizationLosses(args.models, rows),
    };
    await writeFile(join(args.outDir, "sts.json"), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(args.outDir, "sts.md"), `${SECTION_TITLE}\n\n${markdown(report, args.models)}\n`);
    return report;
  };

  let runIndex = 0;
  for (const model of args.models) {
    const sets = args.sets.filter((set) => model.languages.includes(set.language));
    if (sets.length === 0) continue;
    const loadStart = performance.now();
    const embedder = await createEmbedder({ model: model.id });
    console.log(`${model.id}: ready in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
    try {
      for (const set of sets) {
        runIndex++;
        const pairs = pairsBySet.get(set.id) as StsPair[];
        const inputType = inputTypeFor(model);
        let lastPrinted = performance.now();
        const result = await evaluateSts({
          embedder,
          pairs,
          inputType,
          onProgress: ({ done, total }) => {
            if (performance.now() - lastPrinted > 30_000 && done < total) {
              lastPrinted = performance.now();
              console.log(`  … ${model.id} × ${set.id}: ${done}/${total} sentences`);
            }
          },
        });
        const row: Row = {
          model: model.id,
          set: set.id,
          spearman: result.spearman,
          pearson: result.pearson,
          pairs: result.pairs,
          sentences: result.sentences,
          seconds: result.seconds,
          sentencesPerSecond: result.sentences / result.seconds,
          inputType,
        };
        rows.push(row);
        console.log(
          `[${runIndex}/${plan.length}] ${model.id} × ${set.id}: Spearman ${row.spearman.toFixed(2)}, ` +
            `Pearson ${row.pearson.toFixed(2)} (${row.pairs} pairs, ${row.sentences} sentences, ` +
            `${row.seconds.toFixed(1)} s, ${row.sentencesPerSecond.toFixed(0)} sentences/s)`,
        );
        await write(false);
      }
    } finally {
      await embedder.close();
    }
  }
  const report = await write(true);
  for (const loss of report.quantizationLoss) {
    console.log(
      `int8 loss ${loss.quantized} vs ${loss.fp32}: mean ${loss.meanLoss.toFixed(2)} over ${loss.sets.length} sets`,
    );
  }
  console.log(`Wrote ${join(args.outDir, "sts.md")} and sts.json`);
  if (args.resultsPath !== undefined) {
    // Re-read right before writing: other benchmarks may have added their sections meanwhile.
    await spliceResults(args.resultsPath, markdown(report, args.models));
    console.log(`Updated the "${SECTION_TITLE}" section of ${args.resultsPath}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
