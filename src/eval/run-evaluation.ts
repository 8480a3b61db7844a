/**
 * @module eval/run-evaluation
 * The orchestration behind `embedkit eval`: resolve data sources (a set id from
 * {@link STS_SETS} / {@link TASK_SETS}, a labelled or pair file with a column
 * mapping, or a BEIR-layout folder), run each (model, task, data) combination
 * through the task runners with the embedding cache, and collect one
 * {@link EvalReport}. Data is read once and shared across models, and checked
 * before any model is opened, so a malformed file fails in seconds.
 */
import { readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Embedder } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import { resolveDataDir } from "./data-dir.js";
import { createCachingEmbedder, type EmbedTextsProgress } from "./embedding-cache.js";
import { createRandom } from "./random.js";
import type { EvalReport, EvalReportEntry, EvalTaskName } from "./report.js";
import { evaluateSts } from "./sts.js";
import { readPairs, readStsSet, STS_SETS, type StsPair, type StsSetSpec } from "./sts-data.js";
import {
  getTaskSet,
  type LabeledFileFormat,
  type LabeledSplit,
  loadLabeledSet,
  loadRetrievalSet,
  type RetrievalSet,
  readLabeledTexts,
  readRetrievalSet,
  splitLabeled,
  TASK_SETS,
} from "./task-data.js";
import {
  evaluateClassification,
  evaluateClustering,
  evaluatePairClassification,
  evaluateRetrieval,
  symmetricInputType,
  type TaskRunOptions,
} from "./tasks.js";

/** Tasks `embedkit eval` runs; `suite` = every task each data source supports. */
export const EVAL_TASKS = Object.freeze([
  "sts",
  "pair-classification",
  "retrieval",
  "classification",
  "clustering",
  "suite",
] as const);

/** One of {@link EVAL_TASKS}. */
export type EvalTaskChoice = (typeof EVAL_TASKS)[number];

/** The sets a suite runs when no data is given (English, quick). */
export const DEFAULT_SUITE_SETS = Object.freeze([
  "stsb-en-dev",
  "sick-r-trial",
  "sst-2",
  "trec-qc",
  "ag-news",
  "scifact-subsample",
]);

/** How to read a data file given by path. */
export interface FileMapping {
  /** @default from the extension: .csv, .tsv/.txt, .jsonl */
  readonly format?: LabeledFileFormat;
  readonly header?: boolean;
  /** Text column (labelled files). @default "text" */
  readonly textField?: string;
  /** Label column (labelled files). @default "label" */
  readonly labelField?: string;
  /** Pair columns (STS / pair-classification files). @default "sentence1", "sentence2", "score" */
  readonly aField?: string;
  readonly bField?: string;
  readonly scoreField?: string;
}

/** Options of {@link runEvaluation}. */
export interface RunEvaluationOptions {
  readonly task: EvalTaskChoice;
  /** Set ids, file paths or BEIR folders. @default {@link DEFAULT_SUITE_SETS} for `suite` */
  readonly data: readonly string[];
  /** Folder holding the named sets (only read for set ids, not for file paths). @default process.env.EMBEDKIT_DATA */
  readonly dataDir?: string;
  /** Model ids; each is opened with `openModel` and closed after its tasks. */
  readonly models: readonly string[];
  readonly openModel: (id: string) => Promise<Embedder>;
  /** Cap on pairs / texts per split / queries. @default none */
  readonly limit?: number;
  /** @default 42 */
  readonly seed?: number;
  readonly mapping?: FileMapping;
  /** Cache folder; `false` disables the cache. @default $EMBEDKIT_HOME/eval-cache */
  readonly cacheDir?: string | false;
  readonly onProgress?: (
    progress: EmbedTextsProgress & { readonly phase: string; readonly model: string },
  ) => void;
  /** Called when a (model, task, data) run starts. */
  readonly onStart?: (what: {
    readonly model: string;
    readonly task: EvalTaskName;
    readonly data: string;
  }) => void;
}

type Source =
  | {
      readonly kind: "pairs";
      readonly id: string;
      readonly name: string;
      readonly split: string;
      readonly pairs: StsPair[];
      readonly binary: boolean;
      readonly tasks: EvalTaskName[];
    }
  | {
      readonly kind: "labeled";
      readonly id: string;
      readonly name: string;
      readonly split: string;
      readonly data: LabeledSplit;
      readonly tasks: EvalTaskName[];
    }
  | {
      readonly kind: "retrieval";
      readonly id: string;
      readonly name: string;
      readonly split: string;
      readonly set: RetrievalSet;
      readonly tasks: EvalTaskName[];
    };

function extensionFormat(path: string): LabeledFileFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  return "tsv";
}

/**
 * At most `limit` items drawn at random with the seed (all items, in file order, without a limit):
 * `--limit` must give a representative subset, not the file's head (often sorted or easiest first).
 */
function seededSample<T>(items: T[], limit: number | undefined, seed: number): T[] {
  if (limit === undefined) return items;
  return createRandom(seed + 7)
    .shuffle(items)
    .slice(0, limit);
}

async function loadSource(
  reference: string,
  task: EvalTaskChoice,
  options: RunEvaluationOptions,
): Promise<Source> {
  const limit = options.limit;
  const seed = options.seed ?? 42;
  if (Object.hasOwn(STS_SETS, reference)) {
    const spec = (STS_SETS as Readonly<Record<string, StsSetSpec>>)[reference] as StsSetSpec;
    // --limit samples with the seed: a set's first pairs are not typical (STS-B opens with easy captions).
    const pairs = seededSample(
      await readStsSet(reference, { dataDir: resolveDataDir(options.dataDir, "dataDir (CLI: --data-dir)") }),
      limit,
      seed,
    );
    const binary = spec.scoreKind === "paraphrase-label";
    return {
      kind: "pairs",
      id: reference,
      name: spec.name,
      split: spec.split,
      pairs,
      binary,
      tasks: binary ? ["sts", "pair-classification"] : ["sts"],
    };
  }
  if (Object.hasOwn(TASK_SETS, reference)) {
    const spec = getTaskSet(reference);
    if (spec.kind === "retrieval") {
      const set = await loadRetrievalSet(reference, {
        dataDir: resolveDataDir(options.dataDir, "dataDir (CLI: --data-dir)"),
        ...(limit === undefined ? {} : { limitQueries: limit }),
      });
      return {
        kind: "retrieval",
        id: reference,
        name: spec.name,
        split: spec.split,
        set,
        tasks: ["retrieval"],
      };
    }
    const data = await loadLabeledSet(reference, {
      dataDir: resolveDataDir(options.dataDir, "dataDir (CLI: --data-dir)"),
      seed,
      ...(limit === undefined ? {} : { limit }),
    });
    return {
      kind: "labeled",
      id: reference,
      name: spec.name,
      split: spec.split,
      data,
      tasks: [...spec.tasks],
    };
  }
  // A path: a BEIR folder, a pair file or a labelled file.
  let isDirectory = false;
  try {
    isDirectory = (await stat(reference)).isDirectory();
  } catch (error) {
    throw new EmbedkitError(
      "FILE_NOT_FOUND",
      `--data ${JSON.stringify(reference)} is neither a known set (${[...Object.keys(STS_SETS), ...Object.keys(TASK_SETS)].join(", ")}) nor a readable file or folder.`,
      { cause: error },
    );
  }
  const mapping = options.mapping ?? {};
  if (isDirectory) {
    const set = await readRetrievalSet({
      corpus: [join(reference, "corpus.jsonl")],
      queries: join(reference, "queries.jsonl"),
      qrels: join(reference, "qrels", "test.tsv"),
      ...(limit === undefined ? {} : { limitQueries: limit }),
    });
    return {
      kind: "retrieval",
      id: reference,
      name: basename(reference),
      split: "qrels/test.tsv",
      set,
      tasks: ["retrieval"],
    };
  }
  const format = mapping.format ?? extensionFormat(reference);
  if (
    task === "sts" ||
    task === "pair-classification" ||
    (task === "suite" && (await looksLikePairFile(reference, format, mapping)))
  ) {
    if (format === "jsonl" || format === "label-space-text") {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `Pair files must be CSV or TSV for ${task}; received format ${format}.`,
      );
    }
    const header = mapping.header ?? true;
    const column = (
      value: string | undefined,
      fallbackName: string,
      fallbackIndex: number,
    ): string | number =>
      value === undefined
        ? header
          ? fallbackName
          : fallbackIndex
        : /^\d+$/.test(value)
          ? Number(value)
          : value;
    const pairs = seededSample(
      await readPairs(reference, {
        format,
        header,
        columns: {
          a: column(mapping.aField, "sentence1", 0),
          b: column(mapping.bField, "sentence2", 1),
          score: column(mapping.scoreField, "score", 2),
        },
      }),
      limit,
      seed,
    );
    const binary = pairs.every((pair) => pair.score === 0 || pair.score === 1);
    return {
      kind: "pairs",
      id: reference,
      name: basename(reference),
      split: "whole file",
      pairs,
      binary,
      tasks: binary ? ["sts", "pair-classification"] : ["sts"],
    };
  }
  const header = mapping.header ?? (format === "csv" || format === "tsv");
  const field = (value: string | undefined, fallback: string): string | number =>
    value !== undefined && /^\d+$/.test(value) ? Number(value) : (value ?? fallback);
  const items = await readLabeledTexts(reference, {
    format,
    header,
    text: field(mapping.textField, "text"),
    label: field(mapping.labelField, "label"),
  });
  // A seeded sample, not the file's head (files are often sorted by label).
  const shuffledCap = seededSample(items, limit, seed);
  return {
    kind: "labeled",
    id: reference,
    name: basename(reference),
    split: "seeded 80/20 split of the file",
    data: splitLabeled(shuffledCap, { seed }),
    tasks: ["classification", "clustering"],
  };
}

/** For `suite` on a file: a csv/tsv whose header names both pair columns holds pairs. */
async function looksLikePairFile(
  path: string,
  format: LabeledFileFormat,
  mapping: FileMapping,
): Promise<boolean> {
  if (format !== "csv" && format !== "tsv") return false;
  if (mapping.aField !== undefined || mapping.bField !== undefined) return true;
  let firstLine: string;
  try {
    firstLine = ((await readFile(path, "utf8")).split("\n")[0] ?? "").replace(/^\uFEFF/, "");
  } catch {
    return false; // the reader reports the unreadable file with its own message
  }
  const names = firstLine
    .split(format === "csv" ? "," : "\t")
    .map((name) => name.trim().replace(/^"|"$/g, ""));
  return names.includes("sentence1") && names.includes("sentence2");
}

async function runOne(
  source: Source,
  task: EvalTaskName,
  embedder: Embedder,
  options: RunEvaluationOptions,
): Promise<EvalReportEntry> {
  const cacheDir = options.cacheDir;
  const base: TaskRunOptions = {
    embedder,
    ...(cacheDir === undefined ? {} : { cacheDir }),
    ...(options.onProgress === undefined
      ? {}
      : { onProgress: (progress) => options.onProgress?.({ ...progress, model: embedder.model.id }) }),
  };
  const common = {
    task,
    set: source.id,
    setName: source.name,
    split: source.split,
    model: embedder.model.id,
    dims: embedder.model.dims,
  };
  if (task === "sts" && source.kind === "pairs") {
    const caching =
      cacheDir === false
        ? undefined
        : createCachingEmbedder(embedder, cacheDir === undefined ? {} : { dir: cacheDir });
    const wrapped = caching ?? embedder;
    const result = await evaluateSts({
      embedder: wrapped,
      pairs: source.pairs,
      inputType: symmetricInputType(embedder),
      includeCosines: true,
      onProgress: (progress) =>
        options.onProgress?.({ ...progress, phase: "sentences", model: embedder.model.id }),
    });
    const stats = caching?.stats();
    const cosines = result.cosines ?? [];
    const step = Math.max(1, Math.ceil(cosines.length / 1500));
    return {
      ...common,
      metric: "Spearman",
      score: result.spearman,
      metrics: { spearman: result.spearman, pearson: result.pearson, pairs: result.pairs },
      // Speed counts only the sentences embedded now, not those served from the cache.
      embedded: stats?.embedded ?? result.sentences,
      textsPerSecond: stats === undefined ? result.sentences / result.seconds : stats.textsPerSecond,
      seconds: result.seconds,
      scatter: cosines
        .filter((_, index) => index % step === 0)
        .map((predicted, index) => ({ predicted, gold: (source.pairs[index * step] as StsPair).score })),
    };
  }
  if (task === "pair-classification" && source.kind === "pairs") {
    const result = await evaluatePairClassification({ ...base, pairs: source.pairs });
    return {
      ...common,
      metric: "AP",
      score: result.averagePrecision,
      metrics: { averagePrecision: result.averagePrecision, rocAuc: result.rocAuc, pairs: result.pairs },
      embedded: result.embedded,
      textsPerSecond: result.textsPerSecond,
      seconds: result.seconds,
      scatter: result.sample,
    };
  }
  if (task === "retrieval" && source.kind === "retrieval") {
    const result = await evaluateRetrieval({ ...base, set: source.set });
    return {
      ...common,
      metric: "nDCG@10",
      score: result.ndcgAt10,
      metrics: {
        ndcgAt10: result.ndcgAt10,
        mrrAt10: result.mrrAt10,
        recallAt1: result.recallAt1,
        recallAt10: result.recallAt10,
        recallAt100: result.recallAt100,
        mapAt100: result.mapAt100,
        queries: result.queries,
        documents: result.documents,
      },
      embedded: result.embedded,
      textsPerSecond: result.textsPerSecond,
      seconds: result.seconds,
      perQuery: result.perQuery,
    };
  }
  if (task === "classification" && source.kind === "labeled") {
    const result = await evaluateClassification({
      ...base,
      train: source.data.train,
      test: source.data.test,
    });
    return {
      ...common,
      split: `${source.split}; ${result.trainSize} train / ${result.testSize} test`,
      metric: "accuracy",
      score: result.accuracy,
      metrics: {
        accuracy: result.accuracy,
        macroF1: result.macroF1,
        rocAuc: result.rocAuc,
        train: result.trainSize,
        test: result.testSize,
      },
      embedded: result.embedded,
      textsPerSecond: result.textsPerSecond,
      seconds: result.seconds,
    };
  }
  if (task === "clustering" && source.kind === "labeled") {
    const items = [...source.data.train, ...source.data.test];
    const result = await evaluateClustering({ ...base, items, seed: options.seed ?? 42 });
    return {
      ...common,
      split: `${source.split}; all ${result.items} texts clustered`,
      metric: "V-measure",
      score: result.vMeasure,
      metrics: {
        vMeasure: result.vMeasure,
        homogeneity: result.homogeneity,
        completeness: result.completeness,
        k: result.k,
      },
      embedded: result.embedded,
      textsPerSecond: result.textsPerSecond,
      seconds: result.seconds,
    };
  }
  throw new EmbedkitError("INTERNAL", `No runner for task ${task} on a ${source.kind} source.`);
}

/**
 * Run an evaluation and return the report (render it with `renderMarkdown` /
 * `renderHtml`).
 *
 * @throws EmbedkitError INVALID_OPTION for an unknown task, no models, or a data
 *   source that does not support the task; FILE_NOT_FOUND / MALFORMED_FILE from
 *   the readers (before any model is opened); errors of the embedders.
 * @example
 * ```ts
 * const report = await runEvaluation({
 *   task: "suite", data: ["stsb-en-dev", "sst-2"], models: ["all-minilm-l6-v2"],
 *   openModel: (model) => createEmbedder({ model }),
 * });
 * ```
 */
export async function runEvaluation(options: RunEvaluationOptions): Promise<EvalReport> {
  if (!(EVAL_TASKS as readonly string[]).includes(options.task)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Unknown task ${JSON.stringify(options.task)}. Expected one of: ${EVAL_TASKS.join(", ")}.`,
    );
  }
  if (options.models.length === 0) {
    throw new EmbedkitError("INVALID_OPTION", "No model given. Pass one or more with --model a,b,c.");
  }
  const references =
    options.data.length > 0 ? options.data : options.task === "suite" ? DEFAULT_SUITE_SETS : [];
  if (references.length === 0) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `The ${options.task} task needs --data <set id or file> (or run the suite).`,
    );
  }
  // Read (and validate) all data before opening any model.
  const sources: Source[] = [];
  for (const reference of references) {
    const source = await loadSource(reference, options.task, options);
    if (options.task !== "suite" && !source.tasks.includes(options.task)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `The data ${JSON.stringify(reference)} supports ${source.tasks.join(", ")}, not ${options.task}. Pick another task or data set.`,
      );
    }
    sources.push(source);
  }
  const entries: EvalReportEntry[] = [];
  const models: { id: string; dims: number }[] = [];
  for (const modelId of options.models) {
    const embedder = await options.openModel(modelId);
    try {
      models.push({ id: embedder.model.id, dims: embedder.model.dims });
      for (const source of sources) {
        const tasks = options.task === "suite" ? source.tasks : [options.task as EvalTaskName];
        for (const task of tasks) {
          options.onStart?.({ model: embedder.model.id, task, data: source.id });
          entries.push(await runOne(source, task, embedder, options));
        }
      }
    } finally {
      await embedder.close();
    }
  }
  return {
    title: `embedkit eval: ${options.task}`,
    createdAt: new Date().toISOString(),
    models,
    entries,
    notes: [
      `Seed ${options.seed ?? 42}${options.limit === undefined ? "" : `; --limit ${options.limit}: pairs (STS, pair classification) and labelled texts are a random sample of at most ${options.limit} drawn with the seed, retrieval keeps the first ${options.limit} queries of each data set`}.`,
      "Classification: logistic-regression probe (L-BFGS, L2 = 1/n). Clustering: seeded k-means++ with k = number of labels. Retrieval: cosine over the whole corpus with query/passage prefixes.",
    ],
  };
}
