/**
 * @module cli/eval
 * `embedkit eval <task|suite>`: score one or more models on shared sets or
 * your own files, and write a JSON + Markdown + self-contained HTML report.
 * Thin: parse → {@link runEvaluation} → render → write atomically.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Command, Option } from "commander";
import { EmbedkitError } from "../errors.js";
import { defaultEvalCacheDir } from "../eval/embedding-cache.js";
import { renderHtml, renderMarkdown } from "../eval/report.js";
import {
  DEFAULT_SUITE_SETS,
  EVAL_TASKS,
  type EvalTaskChoice,
  runEvaluation,
} from "../eval/run-evaluation.js";
import { STS_SETS } from "../eval/sts-data.js";
import { TASK_SETS } from "../eval/task-data.js";
import { writeFileAtomic } from "../internal/atomic-write.js";
import { openEmbedder } from "./context.js";
import { createProgressBar, parsePositiveInteger, printJson } from "./io.js";

interface EvalCommandOptions {
  readonly model: string;
  readonly data?: string;
  readonly dataDir?: string;
  readonly out?: string;
  readonly limit?: number;
  readonly seed: number;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly home?: string;
  readonly cache: boolean;
  readonly format?: "csv" | "tsv" | "jsonl" | "label-space-text";
  readonly header?: boolean;
  readonly textField?: string;
  readonly labelField?: string;
  readonly aField?: string;
  readonly bField?: string;
  readonly scoreField?: string;
}

/** Write files into `dir` atomically (temp file + rename each). */
export async function writeReportFiles(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Cannot create the report folder ${dir}: ${(error as Error).message}.`,
      {
        cause: error,
      },
    );
  }
  for (const [name, body] of Object.entries(files)) await writeFileAtomic(join(dir, name), body);
}

async function run(task: string, options: EvalCommandOptions): Promise<void> {
  if (!(EVAL_TASKS as readonly string[]).includes(task)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Unknown task ${JSON.stringify(task)}. Expected one of: ${EVAL_TASKS.join(", ")}.`,
    );
  }
  const models = options.model
    .split(",")
    .map((model) => model.trim())
    .filter((model) => model !== "");
  const bar = createProgressBar({ unit: "texts", quiet: options.quiet ?? false });
  let current = "";
  let currentLabel = "";
  const report = await runEvaluation({
    task: task as EvalTaskChoice,
    data: (options.data ?? "").split(",").filter((reference) => reference.trim() !== ""),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    models,
    seed: options.seed,
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    cacheDir: options.cache
      ? options.home === undefined
        ? defaultEvalCacheDir()
        : join(options.home, "eval-cache")
      : false,
    mapping: {
      ...(options.format === undefined ? {} : { format: options.format }),
      ...(options.header === undefined ? {} : { header: options.header }),
      ...(options.textField === undefined ? {} : { textField: options.textField }),
      ...(options.labelField === undefined ? {} : { labelField: options.labelField }),
      ...(options.aField === undefined ? {} : { aField: options.aField }),
      ...(options.bField === undefined ? {} : { bField: options.bField }),
      ...(options.scoreField === undefined ? {} : { scoreField: options.scoreField }),
    },
    openModel: (model) =>
      openEmbedder({
        model,
        ...(options.home === undefined ? {} : { home: options.home }),
        quiet: options.quiet ?? false,
      }),
    onStart: ({ model, task: name, data }) => {
      bar.stop();
      current = `${model} ${name} ${data}`;
    },
    onProgress: (progress) => {
      const label = `${current} (${progress.phase})`;
      if (label !== currentLabel) {
        bar.stop();
        bar.start(progress.total, label);
        currentLabel = label;
      }
      bar.update(progress.done, progress.total);
    },
  });
  bar.stop();
  const markdown = renderMarkdown(report);
  if (options.out !== undefined) {
    await writeReportFiles(options.out, {
      "report.json": `${JSON.stringify(report, null, 2)}\n`,
      "report.md": markdown,
      "report.html": renderHtml(report),
    });
  }
  if (options.json) printJson(report);
  else
    process.stdout.write(
      `${markdown}${options.out === undefined ? "" : `\nReport written to ${join(options.out, "report.html")} (and report.json, report.md).\n`}`,
    );
}
/** Build the `eval` command. */
export function evalCommand(): Command {
  return new Command("eval")
    .description(
      "Evaluate models on STS, pair classification, retrieval, classification and clustering; write JSON/Markdown/HTML reports.",
    )
    .argument("<task>", `one of: ${EVAL_TASKS.join(", ")}`)
    .option("-m, --model <ids>", "comma-separated model ids", "all-minilm-l6-v2")
    .option(
      "-d, --data <sets or files>",
      `comma-separated set ids (${[...Object.keys(STS_SETS), ...Object.keys(TASK_SETS)].join(", ")}), files (.csv/.tsv/.jsonl) or BEIR folders; suite default: ${DEFAULT_SUITE_SETS.join(",")}`,
    )
    .option(
      "--data-dir <dir>",
      "folder holding the named sets (stsb/, banking77/, ...); default: $EMBEDKIT_DATA. Not needed for file paths",
    )
    .option("-o, --out <dir>", "write report.json, report.md and report.html into this folder")
    .option(
      "--limit <n>",
      "at most n pairs / texts per split (random samples drawn with --seed) / queries per data set (the first n)",
      parsePositiveInteger,
    )
    .option(
      "--seed <n>",
      "seed for splits, k-means and sampling",
      (value: string) => Number.parseInt(value, 10),
      42,
    )
    .addOption(
      new Option("--format <format>", "file format (default: from the extension)").choices([
        "csv",
        "tsv",
        "jsonl",
        "label-space-text",
      ]),
    )
    .option("--header", "the csv/tsv file has a header line (default for labelled and pair files)")
    .option("--no-header", "the csv/tsv file has no header line (then fields are 0-based column indices)")
    .option("--text-field <name>", "text column/field of a labelled file (default: text)")
    .option("--label-field <name>", "label column/field of a labelled file (default: label)")
    .option("--a-field <name>", "first-sentence column of a pair file (default: sentence1)")
    .option("--b-field <name>", "second-sentence column of a pair file (default: sentence2)")
    .option("--score-field <name>", "score/label column of a pair file (default: score)")
    .option("--no-cache", "do not read or write the embedding cache ($EMBEDKIT_HOME/eval-cache)")
    .option("--json", "print the full report as JSON")
    .option("-q, --quiet", "no progress bars")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .addHelpText(
      "after",
      `
Named sets are read from --data-dir or $EMBEDKIT_DATA (the folder holding stsb/, banking77/, ...).

Examples:
  EMBEDKIT_DATA=/path/to/data embedkit eval sts --data stsb-en-dev --model all-minilm-l6-v2,bge-small-en-v1.5
  embedkit eval retrieval --data scifact --model e5-small-v2 --out reports/scifact
  embedkit eval classification --data reviews.csv --text-field review --label-field stars
  embedkit eval suite --model all-minilm-l6-v2,all-minilm-l6-v2-q --limit 1000 --out reports/suite`,
    )
    .action(async (task: string, options: EvalCommandOptions) => {
      await run(task, options);
    });
}
