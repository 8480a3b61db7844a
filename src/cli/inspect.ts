/**
 * @module cli/inspect
 * `embedkit inspect <file>`: embed a file of texts with one model and report
 * the label-free quality measures (information density, robustness) and a 2-D
 * projection (PCA, or UMAP) coloured by label, as HTML and JSON.
 */
import { join } from "node:path";
import { Command, Option } from "commander";
import { EmbedkitError } from "../errors.js";
import { defaultEvalCacheDir, embedTexts, openEmbeddingCache } from "../eval/embedding-cache.js";
import { projectPca, projectUmap } from "../eval/projection.js";
import { informationDensity, measureRobustness } from "../eval/quality.js";
import { createRandom } from "../eval/random.js";
import { type InspectReport, renderInspectHtml } from "../eval/report.js";
import { readLabeledTexts } from "../eval/task-data.js";
import { openEmbedder } from "./context.js";
import { writeReportFiles } from "./eval.js";
import { createProgressBar, parsePositiveInteger, printJson, printLine } from "./io.js";
import { readTextFile } from "./text-input.js";

interface InspectCommandOptions {
  readonly model?: string;
  readonly home?: string;
  readonly textField: string;
  readonly labelsField?: string;
  readonly projection: "pca" | "umap";
  readonly out?: string;
  readonly limit: number;
  readonly robustness: boolean;
  readonly robustnessTexts: number;
  readonly seed: number;
  readonly cache: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

async function readRecords(
  path: string,
  options: InspectCommandOptions,
): Promise<{ text: string; label?: string }[]> {
  if (options.labelsField === undefined) {
    return (await readTextFile(path, { textField: options.textField })).map((record) => ({
      text: record.text,
    }));
  }
  const lower = path.toLowerCase();
  const format = lower.endsWith(".csv")
    ? "csv"
    : lower.endsWith(".jsonl")
      ? "jsonl"
      : lower.endsWith(".tsv")
        ? "tsv"
        : undefined;
  if (format === undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `--labels-field needs a .csv, .tsv or .jsonl file with text and label columns; received ${path}.`,
    );
  }
  return readLabeledTexts(path, {
    format,
    header: format !== "jsonl",
    text: options.textField,
    label: options.labelsField,
  });
}

async function run(path: string, options: InspectCommandOptions): Promise<void> {
  let records = await readRecords(path, options);
  if (records.length < 3) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `inspect needs at least 3 texts, ${path} holds ${records.length}.`,
    );
  }
  if (records.length > options.limit)
    records = createRandom(options.seed).shuffle(records).slice(0, options.limit);
  const embedder = await openEmbedder({
    ...(options.model === undefined ? {} : { model: options.model }),
    ...(options.home === undefined ? {} : { home: options.home }),
    quiet: options.quiet ?? false,
  });
  const bar = createProgressBar({ unit: "texts", quiet: options.quiet ?? false });
  const cacheDir = options.cache
    ? options.home === undefined
      ? defaultEvalCacheDir()
      : join(options.home, "eval-cache")
    : false;
  try {
    bar.start(records.length, `embed ${embedder.model.id}`);
    const { vectors } = await embedTexts({
      embedder,
      texts: records.map((record) => record.text),
      cache:
        cacheDir === false
          ? false
          : openEmbeddingCache({
              modelId: embedder.model.id,
              inputType: "none",
              dims: embedder.model.dims,
              dir: cacheDir,
            }),
      onProgress: ({ done, total }) => bar.update(done, total),
    });
    bar.stop();
    const density = informationDensity(vectors);
    let robustness: InspectReport["robustness"];
    if (options.robustness) {
      const sample = createRandom(options.seed + 1)
        .shuffle(records.map((record) => record.text))
        .slice(0, options.robustnessTexts);
      bar.start(sample.length, "robustness");
      robustness = await measureRobustness({
        embedder,
        texts: sample,
        seed: options.seed,
        cacheDir,
        onProgress: ({ done, total }) => bar.update(done, total),
      });
      bar.stop();
    }
    const projection =
      options.projection === "umap"
        ? await projectUmap(vectors, { seed: options.seed })
        : projectPca(vectors, { seed: options.seed });
    const report: InspectReport = {
      model: embedder.model.id,
      dims: embedder.model.dims,
      texts: records.length,
      createdAt: new Date().toISOString(),
      density,
      ...(robustness === undefined ? {} : { robustness }),
      projection: {
        method: projection.method,
        ...(projection.explainedVariance === undefined
          ? {}
          : { explainedVariance: projection.explainedVariance }),
        points: projection.points.map(([x, y], index) => {
          const record = records[index] as { text: string; label?: string };
          return { x, y, text: record.text, ...(record.label === undefined ? {} : { label: record.label }) };
        }),
      },
    };
    if (options.out !== undefined) {
      await writeReportFiles(options.out, {
        "inspect.json": `${JSON.stringify(report, null, 2)}\n`,
        "inspect.html": renderInspectHtml(report),
      });
    }
    if (options.json) {
      printJson(report);
      return;
    }
    printLine(`${report.model}: ${report.texts} texts, ${report.dims} dimensions`);
    printLine(
      `participation ratio ${density.participationRatio.participationRatio.toFixed(2)} (${(density.participationRatio.normalized * 100).toFixed(1)}% of dims)`,
    );
    printLine(
      `dimension entropy ${density.dimensionEntropy.meanNormalized.toFixed(3)} (normalized, ${density.dimensionEntropy.bins} bins)`,
    );
    printLine(
      `mean cosine to mean ${density.isotropy.meanCosineToMean.toFixed(3)}, mean pairwise cosine ${density.isotropy.meanPairwiseCosine.toFixed(3)}`,
    );
    printLine(
      `partition isotropy ${density.partitionIsotropy.isotropy.toFixed(3)} (Mu & Viswanath: 1 = isotropic)`,
    );
    if (robustness !== undefined) {
      for (const [name, result] of Object.entries(robustness.perturbations)) {
        if (result !== undefined) {
          printLine(
            `robustness ${name}: mean cosine ${result.cosine.mean.toFixed(3)} (p5 ${result.cosine.p5.toFixed(3)}), neighbour kept ${(result.neighbourKept * 100).toFixed(1)}%`,
          );
        }
      }
    }
    if (options.out !== undefined)
      printLine(`Report written to ${join(options.out, "inspect.html")} (and inspect.json).`);
  } finally {
    bar.stop();
    await embedder.close();
  }
}

/** Build the `inspect` command. */
export function inspectCommand(): Command {
  return new Command("inspect")
    .description(
      "Quality measures (information density, robustness) and a 2-D projection of one model's embeddings of a file of texts.",
    )
    .argument("<file>", "texts: .txt (one per line), .jsonl, .csv or .tsv")
    .option("-m, --model <id>", "model id or alias (see `embedkit models list`)")
    .option("--text-field <name>", "text field/column in .jsonl/.csv/.tsv input", "text")
    .option("--labels-field <name>", "label field/column: colours the projection by label")
    .addOption(new Option("--projection <method>", "2-D projection").choices(["pca", "umap"]).default("pca"))
    .option("-o, --out <dir>", "write inspect.html and inspect.json into this folder")
    .option("--limit <n>", "use at most n texts (a seeded sample)", parsePositiveInteger, 2000)
    .option("--no-robustness", "skip the robustness measures (they embed 5 perturbed copies of a sample)")
    .option("--robustness-texts <n>", "texts sampled for robustness", parsePositiveInteger, 200)
    .option(
      "--seed <n>",
      "seed for sampling, perturbations and projection",
      (value: string) => Number.parseInt(value, 10),
      42,
    )
    .option("--no-cache", "do not read or write the embedding cache")
    .option("--json", "print the report as JSON")
    .option("-q, --quiet", "no progress bars")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .addHelpText(
      "after",
      `
Examples:
  embedkit inspect texts.txt --out reports/inspect
  embedkit inspect news.csv --labels-field topic --projection umap -m bge-small-en-v1.5 --out reports/news`,
    )
    .action(async (file: string, options: InspectCommandOptions) => {
      await run(file, options);
    });
}
