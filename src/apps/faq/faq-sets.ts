/**
 * @module apps/faq/faq-sets
 * FAQ benchmark sets built from real customer-service data (the shared data
 * folder; see each set's SOURCE.md). Each set becomes a FAQ (answers with one
 * or more question phrasings), a calibration split and a test split of user
 * questions labelled with their answer, or with `null` when the FAQ cannot
 * answer them (those must get the fallback).
 *
 * - **BQ, ATEC** (Chinese question pairs, label 1 = same meaning). Matching
 *   pairs are linked into groups (connected components of the label-1 graph:
 *   if A≡B and B≡C, all three ask the same thing; no label-0 pair falls inside
 *   a group in either file). A group is one FAQ item whose questions are the
 *   distinct left-side sentences; the right-side sentences that are not
 *   themselves FAQ questions are the user questions. Exact duplicates are
 *   thereby merged, and a user question identical to a FAQ question (a trivial
 *   exact match) is never asked.
 * - **BANKING77, CLINC150** (English intents). Per intent, a seeded shuffle
 *   picks `questionsPerAnswer` utterances (default 5) as the FAQ's questions;
 *   the other utterances are user questions. Utterances identical to a FAQ
 *   question are dropped.
 * - **Unanswerable questions.** CLINC150 has real out-of-scope queries
 *   (`oos_train` → calibration, `oos_val` → test). The other sets have none, so
 *   a seeded share of their FAQ items (`heldOutAnswers`, default 20 %) is
 *   removed from the FAQ and the questions that belonged to them must get the
 *   fallback.
 * - **Splits.** CLINC150: calibration from `train` (what is left after the FAQ
 *   questions) + `oos_train`, test = `val` + `oos_val`. The others: a seeded
 *   50/50 split of the user questions. Splits are capped (`maxCalibration`,
 *   `maxTest` answerable questions, seeded sample) to bound embedding time.
 */
import { join } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { EmbedkitError } from "../../errors.js";
import { resolveDataDir } from "../../eval/data-dir.js";
import { checkInteger } from "../../internal/options.js";
import { readFileText } from "../../internal/read-file.js";
import { createRandom, type Random } from "../../vectors/random.js";
import type { FaqAnswer } from "./faq-entries.js";
import type { FaqLanguage } from "./faq-language.js";

/** A user question of a benchmark split. */
export interface FaqEvalQuery {
  readonly text: string;
  /** Id of the right answer; `null` when the FAQ cannot answer it. */
  readonly answer: string | null;
}

/** A FAQ with labelled calibration and test questions. */
export interface FaqBenchmarkSet {
  readonly id: FaqBenchmarkSetId;
  readonly language: FaqLanguage;
  /** The FAQ (answer text = the label: an intent name or a group number). */
  readonly answers: readonly FaqAnswer[];
  readonly calibration: readonly FaqEvalQuery[];
  readonly test: readonly FaqEvalQuery[];
  /** How the set was built (splits, sizes, held-out share), for reports. */
  readonly description: string;
}

/** The benchmark sets and where their files are (relative to the data folder). */
export const FAQ_BENCHMARK_SETS = Object.freeze({
  bq: { language: "zh", files: ["chinese-senteval-cn/BQ.test.tsv"], title: "BQ (bank, zh)" },
  atec: { language: "zh", files: ["chinese-senteval-cn/ATEC.test.tsv"], title: "ATEC (fintech, zh)" },
  banking77: { language: "en", files: ["banking77/train.csv"], title: "BANKING77 (en)" },
  clinc150: { language: "en", files: ["clinc150/data_train_val.json"], title: "CLINC150 (en)" },
} as const);

/** Name of a benchmark set. */
export type FaqBenchmarkSetId = keyof typeof FAQ_BENCHMARK_SETS;

/** Options of {@link loadFaqBenchmarkSet}. */
export interface LoadFaqBenchmarkSetOptions {
  /** Folder holding the set folders (`chinese-senteval-cn/`, `banking77/`, `clinc150/`). @default process.env.EMBEDKIT_DATA */
  readonly dataDir?: string;
  /** Seed of every shuffle. @default 42 */
  readonly seed?: number;
  /** Share of FAQ items removed to create unanswerable questions (not CLINC150). @default 0.2 */
  readonly heldOutAnswers?: number;
  /** FAQ questions per intent (BANKING77, CLINC150). @default 5 */
  readonly questionsPerAnswer?: number;
  /** Most answerable calibration questions (seeded sample). @default 2000 */
  readonly maxCalibration?: number;
  /** Most answerable test questions (seeded sample). @default 4000 */
  readonly maxTest?: number;
}

/** Control characters (BQ has stray U+0008 at some sentence starts) are removed; whitespace trimmed. */
function clean(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
  return text.replace(/[\u0000-\u001f\u007f]/g, "").trim();
}

function readData(path: string): Promise<string> {
  return readFileText(path, {
    what: "benchmark file",
    hint: `Point --data (or EMBEDKIT_DATA) at the data folder (it holds ${path.split("/").slice(-2).join("/")}).`,
  });
}

/** Keep every unanswerable question and at most `limit` answerable ones (seeded sample, order kept). */
function capAnswerable(queries: readonly FaqEvalQuery[], limit: number, random: Random): FaqEvalQuery[] {
  const answerable = queries.filter((query) => query.answer !== null);
  if (answerable.length <= limit) return [...queries];
  const keep = new Set(random.shuffle(answerable).slice(0, limit));
  return queries.filter((query) => query.answer === null || keep.has(query));
}

function splitHalves(queries: readonly FaqEvalQuery[], random: Random): [FaqEvalQuery[], FaqEvalQuery[]] {
  const shuffled = random.shuffle(queries);
  const half = Math.floor(shuffled.length / 2);
  return [shuffled.slice(0, half), shuffled.slice(half)];
}

function answerOf(label: string, questions: readonly string[]): FaqAnswer {
  return { id: label, answer: label, questions };
}

function summarize(queries: readonly FaqEvalQuery[]): string {
  const unanswerable = queries.filter((query) => query.answer === null).length;
  return `${queries.length - unanswerable} answerable + ${unanswerable} unanswerable`;
}

async function loadPairSet(
  id: "bq" | "atec",
  options: Required<LoadFaqBenchmarkSetOptions>,
): Promise<FaqBenchmarkSet> {
  const spec = FAQ_BENCHMARK_SETS[id];
  const path = join(options.dataDir, spec.files[0]);
  const content = await readData(path);
  const parent = new Map<string, string>();
  const find = (text: string): string => {
    let root = text;
    for (;;) {
      const up = parent.get(root) ?? root;
      if (up === root) break;
      root = up;
    }
    parent.set(text, root);
    return root;
  };
  const positives: [string, string][] = [];
  content.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    const columns = line.split("\t");
    if (columns.length !== 3) {
      throw new EmbedkitError(
        "MALFORMED_FILE",
        `${path}:${index + 1}: expected 3 tab-separated columns (sentence1, sentence2, label), found ${columns.length}.`,
      );
    }
    const [left, right, label] = columns.map(clean) as [string, string, string];
    if (label !== "1" || left === "" || right === "") return;
    positives.push([left, right]);
    const a = find(left);
    const b = find(right);
    if (a !== b) parent.set(a, b);
  });
  // Groups in first-seen order; FAQ questions = distinct left sentences of the group.
  const groupQuestions = new Map<string, string[]>();
  const faqQuestions = new Set<string>();
  for (const [left] of positives) {
    const root = find(left);
    let questions = groupQuestions.get(root);
    if (questions === undefined) {
      questions = [];
      groupQuestions.set(root, questions);
    }
    if (!faqQuestions.has(left)) {
      faqQuestions.add(left);
      questions.push(left);
    }
  }
  const labelOf = new Map<string, string>();
  const allAnswers = [...groupQuestions.entries()].map(([root, questions], index) => {
    const label = `${id}-${String(index + 1).padStart(4, "0")}`;
    labelOf.set(root, label);
    return answerOf(label, questions);
  });
  const random = createRandom(options.seed);
  const heldOutCount = Math.round(allAnswers.length * options.heldOutAnswers);
  const heldOut = new Set(
    random
      .shuffle(allAnswers)
      .slice(0, heldOutCount)
      .map((answer) => answer.id),
  );
  const answers = allAnswers.filter((answer) => !heldOut.has(answer.id));
  const seen = new Set<string>();
  const queries: FaqEvalQuery[] = [];
  for (const [, right] of positives) {
    if (faqQuestions.has(right) || seen.has(right)) continue;
    seen.add(right);
    const label = labelOf.get(find(right)) as string;
    queries.push({ text: right, answer: heldOut.has(label) ? null : label });
  }
  const [calibrationAll, testAll] = splitHalves(queries, random);
  const calibration = capAnswerable(calibrationAll, options.maxCalibration, random);
  const test = capAnswerable(testAll, options.maxTest, random);
  const questionCount = answers.reduce((sum, answer) => sum + answer.questions.length, 0);
  return {
    id,
    language: spec.language,
    answers,
    calibration,
    test,
    description:
      `${spec.files[0]}: ${positives.length} label-1 pairs linked into ${allAnswers.length} groups; ` +
      `${heldOutCount} groups (${Math.round(options.heldOutAnswers * 100)} %) held out, leaving a FAQ of ` +
      `${answers.length} answers / ${questionCount} questions; user questions split 50/50 (seed ${options.seed}): ` +
      `calibration ${summarize(calibration)}, test ${summarize(test)}`,
  };
}

/** Build a FAQ from labelled utterances: `questionsPerAnswer` per intent, the rest as user questions. */
function intentFaq(
  utterances: readonly { text: string; intent: string }[],
  options: Required<LoadFaqBenchmarkSetOptions>,
  random: Random,
  heldOutShare: number,
): { answers: FaqAnswer[]; queries: FaqEvalQuery[]; heldOut: number; intents: number } {
  const byIntent = new Map<string, string[]>();
  for (const { text, intent } of utterances) {
    let texts = byIntent.get(intent);
    if (texts === undefined) {
      texts = [];
      byIntent.set(intent, texts);
    }
    if (!texts.includes(text)) texts.push(text);
  }
  const intents = [...byIntent.keys()].sort();
  const heldOutCount = Math.round(intents.length * heldOutShare);
  const heldOut = new Set(random.shuffle(intents).slice(0, heldOutCount));
  const answers: FaqAnswer[] = [];
  const queries: FaqEvalQuery[] = [];
  for (const intent of intents) {
    const texts = random.shuffle(byIntent.get(intent) as string[]);
    if (heldOut.has(intent)) {
      for (const text of texts) queries.push({ text, answer: null });
      continue;
    }
    answers.push(answerOf(intent, texts.slice(0, options.questionsPerAnswer)));
    for (const text of texts.slice(options.questionsPerAnswer)) queries.push({ text, answer: intent });
  }
  const faqQuestions = new Set(answers.flatMap((answer) => answer.questions));
  return {
    answers,
    queries: queries.filter((query) => !faqQuestions.has(query.text)),
    heldOut: heldOutCount,
    intents: intents.length,
  };
}

async function loadBanking77(options: Required<LoadFaqBenchmarkSetOptions>): Promise<FaqBenchmarkSet> {
  const path = join(options.dataDir, FAQ_BENCHMARK_SETS.banking77.files[0]);
  const rows = parseCsv(await readData(path), { columns: true, skip_empty_lines: true, bom: true }) as {
    text?: string;
    category?: string;
  }[];
  const utterances = rows.map((row, index) => {
    if (row.text === undefined || row.category === undefined) {
      throw new EmbedkitError("MALFORMED_FILE", `${path}:${index + 2}: expected columns text,category.`);
    }
    return { text: clean(row.text), intent: row.category.trim() };
  });
  const random = createRandom(options.seed);
  const built = intentFaq(utterances, options, random, options.heldOutAnswers);
  const [calibrationAll, testAll] = splitHalves(built.queries, random);
  const calibration = capAnswerable(calibrationAll, options.maxCalibration, random);
  const test = capAnswerable(testAll, options.maxTest, random);
  return {
    id: "banking77",
    language: "en",
    answers: built.answers,
    calibration,
    test,
    description:
      `banking77/train.csv (${utterances.length} utterances, ${built.intents} intents): ${options.questionsPerAnswer} ` +
      `seeded FAQ questions per intent; ${built.heldOut} intents (${Math.round(options.heldOutAnswers * 100)} %) held out ` +
      `as unanswerable; other utterances split 50/50 (seed ${options.seed}): calibration ${summarize(calibration)}, ` +
      `test ${summarize(test)}`,
  };
}

async function loadClinc150(options: Required<LoadFaqBenchmarkSetOptions>): Promise<FaqBenchmarkSet> {
  const path = join(options.dataDir, FAQ_BENCHMARK_SETS.clinc150.files[0]);
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(await readData(path)) as Record<string, unknown>;
  } catch (error) {
    if (EmbedkitError.isInstance(error)) throw error;
    throw new EmbedkitError("MALFORMED_FILE", `${path} is not valid JSON: ${(error as Error).message}.`);
  }
  const pairs = (key: string): { text: string; intent: string }[] => {
    const list = data[key];
    if (!Array.isArray(list)) {
      throw new EmbedkitError("MALFORMED_FILE", `${path}: expected a "${key}" list of [text, intent] pairs.`);
    }
    return list.map((pair) => {
      const [text, intent] = pair as [unknown, unknown];
      if (typeof text !== "string" || typeof intent !== "string") {
        throw new EmbedkitError(
          "MALFORMED_FILE",
          `${path}: "${key}" holds an item that is not [text, intent].`,
        );
      }
      return { text: clean(text), intent };
    });
  };
  const random = createRandom(options.seed);
  const built = intentFaq(pairs("train"), options, random, 0);
  const faqQuestions = new Set(built.answers.flatMap((answer) => answer.questions));
  const outOfScope = (key: string): FaqEvalQuery[] => pairs(key).map(({ text }) => ({ text, answer: null }));
  const calibration = capAnswerable(
    [...built.queries, ...outOfScope("oos_train")],
    options.maxCalibration,
    random,
  );
  const test = capAnswerable(
    [
      ...pairs("val")
        .filter(({ text }) => !faqQuestions.has(text))
        .map(({ text, intent }) => ({ text, answer: intent })),
      ...outOfScope("oos_val"),
    ],
    options.maxTest,
    random,
  );
  return {
    id: "clinc150",
    language: "en",
    answers: built.answers,
    calibration,
    test,
    description:
      `clinc150/data_train_val.json: ${options.questionsPerAnswer} seeded FAQ questions per intent from train ` +
      `(${built.intents} intents); calibration = rest of train (seeded sample) + oos_train: ${summarize(calibration)}; ` +
      `test = val + oos_val: ${summarize(test)}`,
  };
}

/**
 * Build one benchmark set from the shared data folder (deterministic for a seed).
 *
 * @throws EmbedkitError FILE_NOT_FOUND (data folder), MALFORMED_FILE, INVALID_OPTION (bad option, or
 *   neither `dataDir` nor `EMBEDKIT_DATA` set)
 * @example
 * ```ts
 * const set = await loadFaqBenchmarkSet("bq", { dataDir: "/path/to/data" });
 * ```
 */
export async function loadFaqBenchmarkSet(
  id: FaqBenchmarkSetId,
  options: LoadFaqBenchmarkSetOptions = {},
): Promise<FaqBenchmarkSet> {
  const resolved: Required<LoadFaqBenchmarkSetOptions> = {
    dataDir: resolveDataDir(options.dataDir),
    seed: options.seed ?? 42,
    heldOutAnswers: options.heldOutAnswers ?? 0.2,
    questionsPerAnswer: options.questionsPerAnswer ?? 5,
    maxCalibration: options.maxCalibration ?? 2000,
    maxTest: options.maxTest ?? 4000,
  };
  if (!(resolved.heldOutAnswers >= 0 && resolved.heldOutAnswers < 1)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `heldOutAnswers must be in [0, 1), received ${String(resolved.heldOutAnswers)}.`,
    );
  }
  for (const name of ["questionsPerAnswer", "maxCalibration", "maxTest"] as const)
    checkInteger(name, resolved[name], { min: 1 });
  if (id === "bq" || id === "atec") return loadPairSet(id, resolved);
  if (id === "banking77") return loadBanking77(resolved);
  if (id === "clinc150") return loadClinc150(resolved);
  throw new EmbedkitError(
    "INVALID_OPTION",
    `Unknown FAQ benchmark set ${JSON.stringify(id)}. Expected one of: ${Object.keys(FAQ_BENCHMARK_SETS).join(", ")}.`,
  );
}
