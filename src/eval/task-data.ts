/**
 * @module eval/task-data
 * Readers for labelled-text and retrieval data, and the frozen table
 * {@link TASK_SETS} of shared sets for classification, clustering and retrieval
 * (paths relative to a data directory; see each folder's SOURCE.md).
 *
 * {@link readLabeledTexts} reads CSV (RFC-4180 quoting), TSV (no quoting), JSONL
 * and the "label, space, text" lines of SST-2 and TREC, with a column mapping
 * (index or header name; several text columns are joined with a space, as AG
 * News' title + description). {@link readRetrievalSet} reads the BEIR layout
 * (corpus JSONL, possibly in parts; queries JSONL; qrels TSV). Every problem is a
 * MALFORMED_FILE error naming the file and 1-based line, saying what was
 * expected and received and how to fix it.
 */
import { join } from "node:path";
import { describeType, EmbedkitError } from "../errors.js";
import { checkInteger } from "../internal/options.js";
import { readFileText } from "../internal/read-file.js";
import { resolveDataDir } from "./data-dir.js";
import { createRandom } from "./random.js";
import type { RelevanceJudgements } from "./retrieval-metrics.js";
import { type ColumnReference, csvRows, malformed, type Row, tsvRows } from "./sts-data.js";

/** One text with its class label. */
export interface LabeledText {
  readonly text: string;
  readonly label: string;
}

/** File layouts {@link readLabeledTexts} understands. */
export type LabeledFileFormat = "csv" | "tsv" | "jsonl" | "label-space-text";

/** Options of {@link readLabeledTexts}. */
export interface ReadLabeledTextsOptions {
  /**
   * `csv`/`tsv` as in {@link readPairs}; `jsonl`: one JSON object per line, columns
   * are field names; `label-space-text`: the label, one space, then the text (SST-2, TREC).
   */
  readonly format: LabeledFileFormat;
  /** Column(s) holding the text; several are joined with one space. Ignored for label-space-text. */
  readonly text?: ColumnReference | readonly ColumnReference[];
  /** Column holding the label. Ignored for label-space-text. */
  readonly label?: ColumnReference;
  /** Whether a csv/tsv file starts with a header line (needed for names). @default false */
  readonly header?: boolean;
  /** @default "utf8" (TREC's train file is latin1) */
  readonly encoding?: "utf8" | "latin1";
  /** Turn a raw label into the label used (e.g. TREC fine → coarse, ids → names). */
  readonly mapLabel?: (raw: string) => string;
  /** Keep only the first `limit` rows. @default all */
  readonly limit?: number;
}

function readText(path: string, encoding: "utf8" | "latin1", what: string): Promise<string> {
  return readFileText(path, { what, encoding, hint: "Check the path (and the --data-dir directory)." });
}

function jsonlRecords(text: string, path: string): { record: Record<string, unknown>; line: number }[] {
  const records: { record: Record<string, unknown>; line: number }[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw malformed(
        path,
        index + 1,
        `not valid JSON: ${(error as Error).message}.`,
        "Each line of a .jsonl file must be one complete JSON object.",
      );
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw malformed(
        path,
        index + 1,
        `expected a JSON object, received ${describeType(value)}.`,
        "Write one object per line.",
      );
    }
    records.push({ record: value as Record<string, unknown>, line: index + 1 });
  });
  return records;
}

function jsonField(
  record: Record<string, unknown>,
  field: ColumnReference,
  path: string,
  line: number,
): string {
  const value = record[String(field)];
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw malformed(
    path,
    line,
    `the field ${JSON.stringify(String(field))} is ${value === undefined ? "missing" : `a ${describeType(value)}, not a string`}; fields present: ${Object.keys(
      record,
    )
      .map((key) => JSON.stringify(key))
      .join(", ")}.`,
    "Map the text and label options to fields that exist in every line.",
  );
}

function resolveColumns(
  references: readonly ColumnReference[],
  header: Row | undefined,
  path: string,
): number[] {
  return references.map((reference) => {
    if (typeof reference === "number") return reference;
    if (header === undefined) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `The column ${JSON.stringify(reference)} is a header name, but header is not true. Set header: true or use a 0-based index.`,
      );
    }
    const names = header.fields.map((name) => name.trim());
    const index = names.indexOf(reference);
    if (index === -1) {
      throw malformed(
        path,
        header.line,
        `the header has no column named ${JSON.stringify(reference)}; it has ${names.map((name) => JSON.stringify(name)).join(", ")}.`,
        "Use one of those names or a 0-based column index.",
      );
    }
    return index;
  });
}

/**
 * Read texts with labels from a file. Rows need a non-blank text and a non-blank
 * label; texts are kept as stored, labels are trimmed.
 *
 * @throws EmbedkitError FILE_NOT_FOUND when unreadable; MALFORMED_FILE naming the
 *   file and line for invalid CSV/JSON, missing columns or fields, a blank text or
 *   label, an unknown header name, or a file without rows; INVALID_OPTION for
 *   missing column options.
 * @example
 * ```ts
 * const rows = await readLabeledTexts("reviews.csv", { format: "csv", header: true, text: "review", label: "stars" });
 * ```
 */
export async function readLabeledTexts(
  path: string,
  options: ReadLabeledTextsOptions,
): Promise<LabeledText[]> {
  if (options.limit !== undefined) checkInteger("limit", options.limit, { min: 1 });
  if (options.format !== "label-space-text" && (options.text === undefined || options.label === undefined)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Reading ${options.format} needs the text and label columns (e.g. --text-field text --label-field label).`,
    );
  }
  const raw = await readText(path, options.encoding ?? "utf8", "labelled-text file");
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const items: LabeledText[] = [];
  const push = (text: string, label: string, line: number): void => {
    if (text.trim() === "") {
      throw malformed(
        path,
        line,
        "the text is empty.",
        "Remove the row or fill in the text; an empty text cannot be embedded.",
      );
    }
    if (label.trim() === "") {
      throw malformed(
        path,
        line,
        "the label is empty.",
        "Every row needs a label; check the label column mapping.",
      );
    }
    const mapped = options.mapLabel ? options.mapLabel(label.trim()) : label.trim();
    items.push({ text, label: mapped });
  };
  const textColumns = Array.isArray(options.text)
    ? (options.text as ColumnReference[])
    : [options.text as ColumnReference];
  if (options.format === "label-space-text") {
    const lines = raw.split("\n");
    for (let index = 0; index < lines.length && items.length < limit; index++) {
      const line = (lines[index] as string).replace(/\r$/, "");
      if (line.trim() === "") continue;
      const space = line.indexOf(" ");
      if (space <= 0) {
        throw malformed(
          path,
          index + 1,
          `expected "<label> <text>", received ${JSON.stringify(line.slice(0, 60))}.`,
          "Each line must start with the label, then one space, then the text.",
        );
      }
      push(line.slice(space + 1), line.slice(0, space), index + 1);
    }
  } else if (options.format === "jsonl") {
    for (const { record, line } of jsonlRecords(raw, path)) {
      if (items.length >= limit) break;
      const text = textColumns.map((column) => jsonField(record, column, path, line)).join(" ");
      push(text, jsonField(record, options.label as ColumnReference, path, line), line);
    }
  } else {
    const rows = options.format === "csv" ? csvRows(raw, path) : tsvRows(raw);
    const header = options.header === true ? rows.shift() : undefined;
    if (options.header === true && header === undefined) {
      throw malformed(
        path,
        undefined,
        "the file is empty, but a header line was expected.",
        "Check the path.",
      );
    }
    const textIndices = resolveColumns(textColumns, header, path);
    const [labelIndex] = resolveColumns([options.label as ColumnReference], header, path) as [number];
    const needed = Math.max(labelIndex, ...textIndices) + 1;
    for (const row of rows) {
      if (items.length >= limit) break;
      if (row.fields.length < needed) {
        throw malformed(
          path,
          row.line,
          `expected at least ${needed} ${options.format === "csv" ? "comma" : "tab"}-separated columns, received ${row.fields.length}.`,
          "Check the delimiter (format), the column mapping and that no field was split or joined.",
        );
      }
      push(
        textIndices.map((index) => row.fields[index] as string).join(" "),
        row.fields[labelIndex] as string,
        row.line,
      );
    }
  }
  if (items.length === 0) {
    throw malformed(
      path,
      undefined,
      "the file holds no rows.",
      "Check the path and that the file is not empty.",
    );
  }
  return items;
}

/** A retrieval document (BEIR: title and text). */
export interface RetrievalDocument {
  readonly id: string;
  readonly title: string;
  readonly text: string;
}

/** A retrieval query. */
export interface RetrievalQuery {
  readonly id: string;
  readonly text: string;
}

/** A retrieval set: corpus, queries and relevance judgements per query id. */
export interface RetrievalSet {
  readonly corpus: readonly RetrievalDocument[];
  readonly queries: readonly RetrievalQuery[];
  readonly qrels: ReadonlyMap<string, RelevanceJudgements>;
}

/** Where the files of a BEIR-layout set are. */
export interface ReadRetrievalSetOptions {
  /** Corpus JSONL file(s) `{ _id, title?, text }`, concatenated in order. */
  readonly corpus: readonly string[];
  /** Queries JSONL `{ _id, text }`. */
  readonly queries: string;
  /** Qrels TSV with header `query-id corpus-id score`. */
  readonly qrels: string;
  /** Keep only the first `limit` queries that have judgements. @default all */
  readonly limitQueries?: number;
}

/**
 * Read a retrieval set in the BEIR layout. Only queries with at least one
 * relevant judgement are kept (BEIR/pytrec_eval only score those).
 *
 * @throws EmbedkitError FILE_NOT_FOUND; MALFORMED_FILE for invalid JSON lines,
 *   missing `_id`/`text`, duplicate document ids, a qrels row with too few
 *   columns or a non-numeric score, or a qrels document missing from the corpus.
 */
export async function readRetrievalSet(options: ReadRetrievalSetOptions): Promise<RetrievalSet> {
  const corpus: RetrievalDocument[] = [];
  const seen = new Set<string>();
  for (const path of options.corpus) {
    for (const { record, line } of jsonlRecords(await readText(path, "utf8", "corpus file"), path)) {
      const id = jsonField(record, "_id", path, line);
      if (seen.has(id)) {
        throw malformed(
          path,
          line,
          `the document id ${JSON.stringify(id)} appears twice.`,
          "Document ids must be unique across the corpus files.",
        );
      }
      seen.add(id);
      const title = record.title === undefined ? "" : jsonField(record, "title", path, line);
      corpus.push({ id, title, text: jsonField(record, "text", path, line) });
    }
  }
  const qrels = new Map<string, Map<string, number>>();
  const qrelRows = tsvRows(await readText(options.qrels, "utf8", "qrels file"));
  if (qrelRows[0] !== undefined && Number.isNaN(Number(qrelRows[0].fields[2]))) qrelRows.shift();
  for (const row of qrelRows) {
    if (row.fields.length < 3) {
      throw malformed(
        options.qrels,
        row.line,
        `expected 3 tab-separated columns (query-id, corpus-id, score), received ${row.fields.length}.`,
        "Fix the row.",
      );
    }
    const [queryId, documentId, rawScore] = row.fields as [string, string, string];
    const score = Number(rawScore);
    if (rawScore.trim() === "" || !Number.isFinite(score)) {
      throw malformed(
        options.qrels,
        row.line,
        `the relevance score must be a number, received ${JSON.stringify(rawScore)}.`,
        "Use integers such as 0, 1, 2.",
      );
    }
    if (!seen.has(documentId)) {
      throw malformed(
        options.qrels,
        row.line,
        `the document ${JSON.stringify(documentId)} is not in the corpus.`,
        "Check that all corpus parts were given.",
      );
    }
    let judgements = qrels.get(queryId);
    if (judgements === undefined) {
      judgements = new Map();
      qrels.set(queryId, judgements);
    }
    judgements.set(documentId, score);
  }
  const queries: RetrievalQuery[] = [];
  for (const { record, line } of jsonlRecords(
    await readText(options.queries, "utf8", "queries file"),
    options.queries,
  )) {
    const id = jsonField(record, "_id", options.queries, line);
    const judged = qrels.get(id);
    if (judged === undefined || ![...judged.values()].some((score) => score > 0)) continue;
    if (options.limitQueries !== undefined && queries.length >= options.limitQueries) break;
    queries.push({ id, text: jsonField(record, "text", options.queries, line) });
  }
  if (queries.length === 0) {
    throw malformed(
      options.queries,
      undefined,
      "no query has a relevance judgement in the qrels file.",
      "Check that the query ids match the qrels' query-id column.",
    );
  }
  return { corpus, queries, qrels };
}

/** Kinds of task a set in {@link TASK_SETS} serves. */
export type TaskKind = "classification" | "clustering" | "retrieval";

/** A labelled-text file of a task set. */
export interface LabeledFileSpec {
  readonly path: string;
  readonly read: Omit<ReadLabeledTextsOptions, "limit">;
}

/** A classification / clustering set. */
export interface LabeledSetSpec {
  readonly id: string;
  readonly name: string;
  readonly kind: "labeled";
  readonly tasks: readonly ("classification" | "clustering")[];
  readonly language: "en" | "zh";
  /** Training file; when absent, {@link loadLabeledSet} makes a seeded split of `test`. */
  readonly train?: LabeledFileSpec;
  readonly test: LabeledFileSpec;
  /** Which split of the source the evaluation uses (reported). */
  readonly split: string;
  readonly description: string;
}

/** A retrieval set in the BEIR layout. */
export interface RetrievalSetSpec {
  readonly id: string;
  readonly name: string;
  readonly kind: "retrieval";
  readonly tasks: readonly ["retrieval"];
  readonly language: "en" | "zh";
  readonly corpus: readonly string[];
  readonly queries: string;
  readonly qrels: string;
  readonly split: string;
  readonly description: string;
}

/** Any set in {@link TASK_SETS}. */
export type TaskSetSpec = LabeledSetSpec | RetrievalSetSpec;

const AG_NEWS_CLASSES = ["World", "Sports", "Business", "Sci/Tech"] as const;
const THUCNEWS_CLASSES = [
  "finance",
  "realty",
  "stocks",
  "education",
  "science",
  "society",
  "politics",
  "sports",
  "game",
  "entertainment",
] as const;

/**
 * The shared classification, clustering and retrieval sets by id. Only
 * development splits are staged (see the data README): where there is no
 * training file, a seeded 80/20 split of the one file is used, and the split
 * name says so.
 */
export const TASK_SETS = Object.freeze({
  "sst-2": {
    id: "sst-2",
    name: "SST-2",
    kind: "labeled",
    tasks: ["classification"],
    language: "en",
    train: { path: "sst-2/stsa.binary.train.txt", read: { format: "label-space-text" } },
    test: { path: "sst-2/stsa.binary.dev.txt", read: { format: "label-space-text" } },
    split: "train → dev",
    description: "English movie-review sentences, negative/positive (train 6,920, dev 872).",
  },
  chnsenticorp: {
    id: "chnsenticorp",
    name: "ChnSentiCorp",
    kind: "labeled",
    tasks: ["classification"],
    language: "zh",
    train: {
      path: "chnsenticorp/train.tsv",
      read: { format: "tsv", header: true, text: "text_a", label: "label" },
    },
    test: {
      path: "chnsenticorp/dev.tsv",
      read: { format: "tsv", header: true, text: "text_a", label: "label" },
    },
    split: "train → dev",
    description: "Chinese reviews, negative/positive (train 9,600, dev 1,200).",
  },
  "ag-news": {
    id: "ag-news",
    name: "AG News",
    kind: "labeled",
    tasks: ["classification", "clustering"],
    language: "en",
    test: {
      path: "ag-news/test-even.csv",
      read: {
        format: "csv",
        text: [1, 2],
        label: 0,
        mapLabel: (raw: string) => AG_NEWS_CLASSES[Number(raw) - 1] ?? raw,
      },
    },
    split: "seeded 80/20 split of test-even (3,800 rows)",
    description: "English news, title + description, 4 topics (even rows of the test set).",
  },
  "thucnews-titles": {
    id: "thucnews-titles",
    name: "THUCNews titles",
    kind: "labeled",
    tasks: ["classification", "clustering"],
    language: "zh",
    test: {
      path: "thucnews-titles/dev.txt",
      read: {
        format: "tsv",
        text: 0,
        label: 1,
        mapLabel: (raw: string) => THUCNEWS_CLASSES[Number(raw)] ?? raw,
      },
    },
    split: "seeded 80/20 split of dev (10,000 titles)",
    description: "Chinese news headlines, 10 topics.",
  },
  "trec-qc": {
    id: "trec-qc",
    name: "TREC (coarse)",
    kind: "labeled",
    tasks: ["classification"],
    language: "en",
    test: {
      path: "trec-qc/TREC.train.txt",
      read: {
        format: "label-space-text",
        encoding: "latin1",
        mapLabel: (raw: string) => raw.split(":")[0] ?? raw,
      },
    },
    split: "seeded 80/20 split of train (5,452 questions)",
    description: "English questions, 6 coarse answer types.",
  },
  banking77: {
    id: "banking77",
    name: "BANKING77",
    kind: "labeled",
    tasks: ["classification"],
    language: "en",
    test: {
      path: "banking77/train.csv",
      read: { format: "csv", header: true, text: "text", label: "category" },
    },
    split: "seeded 80/20 split of train (10,003 queries; the test file is not staged)",
    description: "English online-banking customer queries, 77 intents.",
  },
  "smp2017-ecdt": {
    id: "smp2017-ecdt",
    name: "SMP2017-ECDT task 1",
    kind: "labeled",
    tasks: ["classification"],
    language: "zh",
    train: {
      path: "smp2017-ecdt-task1/train.tsv",
      read: { format: "tsv", header: true, text: "text", label: "label" },
    },
    test: {
      path: "smp2017-ecdt-task1/dev.tsv",
      read: { format: "tsv", header: true, text: "text", label: "label" },
    },
    split: "train → dev",
    description: "Chinese dialogue-assistant queries, 31 domains (train 2,299, dev 770).",
  },
  scifact: {
    id: "scifact",
    name: "SciFact (BEIR)",
    kind: "retrieval",
    tasks: ["retrieval"],
    language: "en",
    corpus: [
      "scifact-beir/corpus.part1.jsonl",
      "scifact-beir/corpus.part2.jsonl",
      "scifact-beir/corpus.part3.jsonl",
    ],
    queries: "scifact-beir/queries.jsonl",
    qrels: "scifact-beir/qrels/test.tsv",
    split: "test (300 claims, full 5,183-document corpus)",
    description: "Scientific claims against biomedical abstracts; nDCG@10.",
  },
  "scifact-subsample": {
    id: "scifact-subsample",
    name: "SciFact (subsampled corpus)",
    kind: "retrieval",
    tasks: ["retrieval"],
    language: "en",
    corpus: ["scifact-beir/corpus_subsample.jsonl"],
    queries: "scifact-beir/queries.jsonl",
    qrels: "scifact-beir/qrels/test.tsv",
    split: "test queries, 1,263-document subsample (inflated; not comparable to BEIR)",
    description: "SciFact with all 283 relevant abstracts plus every 5th other one: a quick check only.",
  },
} as const satisfies Record<string, TaskSetSpec>) as Readonly<Record<string, TaskSetSpec>>;

/**
 * Look up a set by id.
 * @throws EmbedkitError INVALID_OPTION listing the known ids.
 */
export function getTaskSet(id: string): TaskSetSpec {
  if (!Object.hasOwn(TASK_SETS, id)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Unknown evaluation set ${JSON.stringify(id)}. Known sets: ${Object.keys(TASK_SETS).join(", ")}.`,
      { details: { received: id } },
    );
  }
  return TASK_SETS[id] as TaskSetSpec;
}

/** Train and test items of a labelled set. */
export interface LabeledSplit {
  readonly train: readonly LabeledText[];
  readonly test: readonly LabeledText[];
}

/** Options of {@link loadLabeledSet} and {@link splitLabeled}. */
export interface LoadLabeledSetOptions {
  /** Folder holding the set folders. @default process.env.EMBEDKIT_DATA */
  readonly dataDir?: string;
  /** Keep at most this many items per split (after a seeded shuffle). @default all */
  readonly limit?: number;
  /** Seed of shuffles and splits. @default 42 */
  readonly seed?: number;
  /** Share of items for testing when a split is made. @default 0.2 */
  readonly testShare?: number;
}

/**
 * Seeded random (not stratified) split: shuffle with the seed, take the first
 * `testShare` as test and the rest as train.
 */
export function splitLabeled(
  items: readonly LabeledText[],
  options: { readonly seed?: number; readonly testShare?: number } = {},
): LabeledSplit {
  const shuffled = createRandom(options.seed ?? 42).shuffle(items);
  const testCount = Math.max(1, Math.round(shuffled.length * (options.testShare ?? 0.2)));
  return { test: shuffled.slice(0, testCount), train: shuffled.slice(testCount) };
}

/**
 * Read a labelled set from {@link TASK_SETS}: its train and test files, or a
 * seeded split of its single file; with `limit`, each split is capped after a
 * seeded shuffle (so the cap is a random sample, not the file's head).
 *
 * @throws EmbedkitError INVALID_OPTION for an unknown or non-labelled set, or when neither
 *   `dataDir` nor `EMBEDKIT_DATA` is set; errors of {@link readLabeledTexts}.
 */
export async function loadLabeledSet(id: string, options: LoadLabeledSetOptions = {}): Promise<LabeledSplit> {
  const spec = getTaskSet(id);
  if (spec.kind !== "labeled") {
    throw new EmbedkitError("INVALID_OPTION", `The set ${id} is a ${spec.kind} set, not a labelled one.`);
  }
  const dataDir = resolveDataDir(options.dataDir);
  const seed = options.seed ?? 42;
  const random = createRandom(seed + 7);
  const cap = (items: readonly LabeledText[]): LabeledText[] =>
    options.limit === undefined || items.length <= options.limit
      ? [...items]
      : random.shuffle(items).slice(0, options.limit);
  const test = await readLabeledTexts(join(dataDir, spec.test.path), spec.test.read);
  if (spec.train === undefined) {
    const capped = options.limit === undefined ? test : cap(test).slice(0, Math.round(options.limit));
    return splitLabeled(capped, {
      seed,
      ...(options.testShare === undefined ? {} : { testShare: options.testShare }),
    });
  }
  const train = await readLabeledTexts(join(dataDir, spec.train.path), spec.train.read);
  return { train: cap(train), test: cap(test) };
}

/**
 * Read a retrieval set from {@link TASK_SETS}.
 * @param options - `dataDir` defaults to `process.env.EMBEDKIT_DATA`
 * @throws EmbedkitError INVALID_OPTION for an unknown or non-retrieval set, or when neither
 *   `dataDir` nor `EMBEDKIT_DATA` is set; errors of {@link readRetrievalSet}.
 */
export async function loadRetrievalSet(
  id: string,
  options: { readonly dataDir?: string; readonly limitQueries?: number } = {},
): Promise<RetrievalSet> {
  const spec = getTaskSet(id);
  if (spec.kind !== "retrieval") {
    throw new EmbedkitError("INVALID_OPTION", `The set ${id} is a ${spec.kind} set, not a retrieval one.`);
  }
  const dataDir = resolveDataDir(options.dataDir);
  return readRetrievalSet({
    corpus: spec.corpus.map((path) => join(dataDir, path)),
    queries: join(dataDir, spec.queries),
    qrels: join(dataDir, spec.qrels),
    ...(options.limitQueries === undefined ? {} : { limitQueries: options.limitQueries }),
  });
}
