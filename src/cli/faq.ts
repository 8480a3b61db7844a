/**
 * @module cli/faq
 * `embedkit faq index|ask|calibrate|settings`: FAQ answering on a vector store
 * collection. Thin: parse → src/apps/faq → print.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { ANSWER_AGGREGATIONS, type AnswerAggregation } from "../apps/faq/answer-ranking.js";
import type { CalibrationObjective, ThresholdPoint } from "../apps/faq/answer-threshold.js";
import { createFaq, type Faq, type FaqReply, indexFaq } from "../apps/faq/faq.js";
import { readFaqFile, readLabelledQueries } from "../apps/faq/faq-entries.js";
import { DEFAULT_FAQ_MODELS } from "../apps/faq/faq-language.js";
import { EmbedkitError } from "../errors.js";
import { plural } from "../internal/english.js";
import { openEmbedder } from "./context.js";
import { createProgressBar, parsePositiveInteger, printJson, printLine } from "./io.js";
import {
  addKeepFieldOptions,
  joinRow,
  keptFieldsOf,
  type RowFormat,
  rowFormatOf,
  writeRows,
} from "./row-output.js";
import { addStoreOptions, type StoreCommandOptions, withVectorStore } from "./store-option.js";
import { readTextFile, type TextRecord } from "./text-input.js";

/** A parsed --threshold as the library takes it. */
function thresholdOf(value: number | "none"): number | null {
  return value === "none" ? null : value;
}

/** Options every faq subcommand accepts. */
interface FaqCommonOptions extends StoreCommandOptions {
  readonly collection: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

interface IndexOptions extends FaqCommonOptions {
  readonly model?: string;
  readonly aggregation?: AnswerAggregation;
  readonly threshold?: number | "none";
  readonly fallback?: string;
  readonly replace?: boolean;
  readonly questionColumn: string;
  readonly answerColumn: string;
  readonly categoryColumn: string;
}

interface AskOptions extends FaqCommonOptions {
  readonly k: number;
  readonly threshold?: number | "none";
  readonly fallback?: string;
  readonly filter?: string;
  readonly file?: string;
  readonly questionColumn: string;
  readonly out?: string;
  readonly format?: RowFormat;
  readonly keepFields?: string;
  readonly keepAll?: boolean;
}

interface EvaluateOptions extends FaqCommonOptions {
  readonly threshold?: number | "none";
}

/** Questions per `askMany` call in a batch, so the progress bar moves. */
const ASK_CHUNK = 128;

/** The questions of `faq ask`: arguments, or the rows of --file. */
async function askedQuestions(questions: readonly string[], options: AskOptions): Promise<TextRecord[]> {
  const keepFields = keptFieldsOf(options);
  if (options.file !== undefined) {
    if (questions.length > 0) {
      throw new EmbedkitError("INVALID_OPTION", "Give questions as arguments or in --file, not both.");
    }
    return readTextFile(options.file, {
      textField: options.questionColumn,
      ...(keepFields === undefined ? {} : { keepFields }),
    });
  }
  if (questions.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      'No questions. Ask one or more as arguments (embedkit faq ask "how do I reset my PIN?"), or use --file questions.csv.',
    );
  }
  return questions.map((text) => ({ text }));
}

/** One output row of `faq ask` with --file/--out/--format. */
function replyRow(reply: FaqReply, format: RowFormat): Record<string, unknown> {
  return {
    question: reply.question,
    answered: reply.answered,
    reply: reply.reply,
    confidence: reply.confidence,
    threshold: reply.threshold,
    answer_id: reply.best?.answerId ?? null,
    matched_question: reply.best?.matchedQuestion ?? null,
    category: reply.best?.category ?? null,
    ...(format === "csv" ? {} : { alternatives: reply.alternatives }),
  };
}

interface CalibrateOptions extends FaqCommonOptions {
  readonly objective: CalibrationObjective["kind"];
  readonly target?: number;
  readonly save: boolean;
}

interface SettingsOptions extends FaqCommonOptions {
  readonly threshold?: number | "none";
  readonly fallback?: string;
}

/** Parse a threshold: a cosine in [-1, 1], or "none" to always answer (commander turns null into "", hence the word). */
function parseThreshold(value: string): number | "none" {
  if (value.trim().toLowerCase() === "none") return "none";
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed < -1 || parsed > 1) {
    throw new InvalidArgumentError('must be a number from -1 to 1 (a cosine similarity), or "none".');
  }
  return parsed;
}

function parseTarget(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0 || parsed > 1) {
    throw new InvalidArgumentError("must be a number in (0, 1], e.g. 0.9.");
  }
  return parsed;
}

function commonOptions(command: Command): Command {
  return addStoreOptions(command.option("-c, --collection <name>", "collection holding the FAQ", "faq"))
    .option("--json", "print JSON")
    .option("-q, --quiet", "no progress bars");
}

/** Open the FAQ with an embedder of its collection's model, run `work`, close everything. */
async function withFaq<T>(options: FaqCommonOptions, work: (faq: Faq) => Promise<T>): Promise<T> {
  return withVectorStore(options, async (store) => {
    const collection = await store.getCollection(options.collection);
    const embedder = await openEmbedder({
      model: collection.info.model,
      ...(options.home === undefined ? {} : { home: options.home }),
      quiet: options.quiet ?? false,
    });
    try {
      return await work(await createFaq({ store, collection: options.collection, embedder }));
    } finally {
      await embedder.close();
    }
  });
}

function formatScore(value: number): string {
  return value.toFixed(3);
}

function printReply(reply: FaqReply): void {
  const threshold = reply.threshold === null ? "no threshold" : `threshold ${formatScore(reply.threshold)}`;
  if (reply.answered && reply.best !== null) {
    printLine(`${reply.best.answer}`);
    printLine(
      `  (confidence ${formatScore(reply.confidence)} ≥ ${threshold}; matched "${reply.best.matchedQuestion}"` +
        `${reply.best.category === undefined ? "" : `, category ${reply.best.category}`})`,
    );
  } else {
    printLine(reply.reply);
    printLine(`  (fallback: confidence ${formatScore(reply.confidence)} < ${threshold})`);
  }
  if (reply.alternatives.length > 1 || !reply.answered) {
    printLine("Top answers:");
    reply.alternatives.forEach((candidate, index) => {
      const answer = candidate.answer.length > 70 ? `${candidate.answer.slice(0, 69)}…` : candidate.answer;
      printLine(
        `  ${index + 1}. ${formatScore(candidate.score)}  ${answer}  ← "${candidate.matchedQuestion}"`,
      );
    });
  }
}

function formatPoint(point: ThresholdPoint): string {
  const percent = (value: number | null): string => (value === null ? "–" : `${(value * 100).toFixed(1)} %`);
  return (
    `coverage ${percent(point.coverage)}, precision ${percent(point.precision)}, ` +
    `in-scope accuracy ${percent(point.inScopeAccuracy)}, out-of-scope recall ${percent(point.outOfScopeRecall)}`
  );
}

function indexCommand(): Command {
  return commonOptions(
    new Command("index")
      .description("Index a FAQ file (CSV/TSV with question, answer[, category]) into a collection.")
      .argument(
        "<file>",
        "FAQ file: header row question,answer[,category]; rows sharing an answer are one FAQ item",
      ),
  )
    .option(
      "-m, --model <id>",
      `embedding model (default: by the questions' script: ${DEFAULT_FAQ_MODELS.zh} for Chinese, ${DEFAULT_FAQ_MODELS.en} otherwise)`,
    )
    .addOption(
      new Option(
        "--aggregation <how>",
        "answer score from its questions' scores (default: centroid)",
      ).choices([...ANSWER_AGGREGATIONS]),
    )
    .option(
      "--threshold <cosine>",
      'answer only at confidence ≥ this (or "none"); default: the model\'s calibrated default',
      parseThreshold,
    )
    .option(
      "--fallback <text>",
      "reply below the threshold (default: a polite hand-over in the FAQ's language)",
    )
    .option("--replace", "drop the collection first (otherwise rows are upserted; ids are stable)")
    .option("--question-column <name>", "column holding questions", "question")
    .option("--answer-column <name>", "column holding answers", "answer")
    .option("--category-column <name>", "optional column holding categories", "category")
    .addHelpText(
      "after",
      `
Examples:
  embedkit faq index faq.csv --collection support
  embedkit faq index faq-zh.csv --collection support-zh --fallback "请稍候，正在为您转接人工客服"`,
    )
    .action(async (file: string, options: IndexOptions) => {
      const entries = await readFaqFile(file, {
        question: options.questionColumn,
        answer: options.answerColumn,
        category: options.categoryColumn,
      });
      const bar = createProgressBar({ unit: "questions", quiet: options.quiet ?? false });
      const report = await withVectorStore(options, (store) =>
        indexFaq({
          store,
          collection: options.collection,
          entries,
          openEmbedder: (model) =>
            openEmbedder({
              model,
              ...(options.home === undefined ? {} : { home: options.home }),
              quiet: options.quiet ?? false,
            }),
          ...(options.model === undefined ? {} : { model: options.model }),
          ...(options.aggregation === undefined ? {} : { aggregation: options.aggregation }),
          ...(options.threshold === undefined ? {} : { threshold: thresholdOf(options.threshold) }),
          ...(options.fallback === undefined ? {} : { fallback: options.fallback }),
          replace: options.replace ?? false,
          onProgress: (done, total) => {
            if (done === 0) bar.start(total, "embedding questions");
            else bar.update(done, total);
          },
        }),
      ).finally(() => bar.stop());
      if (options.json) {
        printJson(report);
        return;
      }
      printLine(
        `Indexed ${plural(report.questions, "question")} (${plural(report.answers, "answer")}) into "${report.collection}" ` +
          `with ${report.model} (${report.modelChoice === "detected" ? `detected language: ${report.language}` : "model given"}).`,
      );
      const threshold = report.settings.threshold;
      printLine(
        `Threshold: ${threshold === null ? "none (always answers)" : `${formatScore(threshold)} (${report.settings.thresholdSource})`}; ` +
          "calibrate it with `embedkit faq calibrate labelled.csv`.",
      );
    });
}

function askCommand(): Command {
  return addKeepFieldOptions(
    commonOptions(
      new Command("ask")
        .description(
          "Answer questions from a FAQ: best answer, confidence, alternatives; the fallback below the threshold.",
        )
        .argument("[questions...]", "one or more questions (or --file)"),
    ),
  )
    .option("-k <n>", "answers to list (best first)", parsePositiveInteger, 3)
    .option(
      "--threshold <cosine>",
      'override the stored threshold (or "none" to always answer)',
      parseThreshold,
    )
    .option("--fallback <text>", "override the stored fallback reply")
    .option("--filter <filter>", "only answers whose metadata match, e.g. category=cards")
    .option("-f, --file <path>", "questions file: .txt (one per line), .csv/.tsv or .jsonl (progress bar)")
    .option("--question-column <name>", "column/field holding the questions in .csv/.jsonl", "question")
    .option("-o, --out <path>", "write one row per question to a file (.json, .jsonl or .csv)")
    .addOption(
      new Option("--format <format>", "row format (default: from --out; JSONL with --file)").choices([
        "json",
        "jsonl",
        "csv",
      ]),
    )
    .addHelpText(
      "after",
      `
Exit code 0 also when the fallback is given; --json shows "answered": false.
With --file, each row holds index, kept columns, question, answered, reply, confidence,
threshold, answer_id, matched_question, category (and the alternatives in JSON/JSONL).
Examples:
  embedkit faq ask "How do I reset my PIN?" --collection support
  embedkit faq ask "花呗怎么还款" --collection support-zh --json -k 5
  embedkit faq ask --file questions.csv --question-column text --keep-fields ticket_id --out replies.csv`,
    )
    .action(async (questions: string[], options: AskOptions) => {
      const records = await askedQuestions(questions, options);
      const format = rowFormatOf(options, options.file === undefined ? undefined : "jsonl");
      const bar = createProgressBar({
        unit: "questions",
        quiet: options.quiet ?? options.file === undefined,
      });
      const askOptions = {
        k: options.k,
        ...(options.threshold === undefined ? {} : { threshold: thresholdOf(options.threshold) }),
        ...(options.fallback === undefined ? {} : { fallback: options.fallback }),
        ...(options.filter === undefined ? {} : { filter: options.filter }),
      };
      const replies = await withFaq(options, async (faq) => {
        const all: FaqReply[] = [];
        bar.start(records.length, `ask ${options.collection}`);
        try {
          for (let start = 0; start < records.length; start += ASK_CHUNK) {
            const chunk = records.slice(start, start + ASK_CHUNK).map((record) => record.text);
            all.push(...(await faq.askMany(chunk, askOptions)));
            bar.update(all.length);
          }
        } finally {
          bar.stop();
        }
        return all;
      });
      if (format !== undefined) {
        await writeRows(
          replies.map((reply, index) => joinRow(index, records[index]?.fields, replyRow(reply, format))),
          format,
          options.out,
        );
        return;
      }
      if (options.json) {
        printJson(replies.length === 1 ? replies[0] : replies);
        return;
      }
      replies.forEach((reply, index) => {
        if (replies.length > 1) printLine(`${index === 0 ? "" : "\n"}Q: ${reply.question}`);
        printReply(reply);
      });
    });
}

function calibrateCommand(): Command {
  return commonOptions(
    new Command("calibrate")
      .description("Choose the FAQ's confidence threshold from labelled questions and store it.")
      .argument("<file>", 'CSV/TSV with header query,expected (expected = the right answer text, or "none")'),
  )
    .addOption(
      new Option("--objective <kind>", "what the threshold optimizes")
        .choices(["accuracy", "precision", "in-scope-accuracy"])
        .default("accuracy"),
    )
    .option("--target <ratio>", "target for precision / in-scope-accuracy, e.g. 0.9", parseTarget)
    .option("--no-save", "only report; keep the stored threshold")
    .addHelpText(
      "after",
      `
Objectives:
  accuracy           most right decisions (right answer, or fallback for "none" questions)
  precision          answer as often as possible while ≥ target of the answers given are right
  in-scope-accuracy  fall back as often as possible while ≥ target of answerable questions are answered right
Example:
  embedkit faq calibrate labelled.csv --collection support --objective precision --target 0.9`,
    )
    .action(async (file: string, options: CalibrateOptions) => {
      if (options.objective !== "accuracy" && options.target === undefined) {
        throw new EmbedkitError(
          "INVALID_OPTION",
          `--objective ${options.objective} needs --target (a ratio in (0, 1]), e.g. --target 0.9.`,
        );
      }
      const objective: CalibrationObjective =
        options.objective === "accuracy"
          ? { kind: "accuracy" }
          : { kind: options.objective, target: options.target as number };
      const labelled = await readLabelledQueries(file);
      const result = await withFaq(options, (faq) =>
        faq.calibrate(labelled, { objective, save: options.save }),
      );
      if (options.json) {
        printJson(result);
        return;
      }
      printLine(
        `Threshold ${formatScore(result.threshold)} from ${result.questions} labelled questions ` +
          `(${result.unanswerable} without an answer)${result.saved ? `, saved to "${options.collection}"` : " (not saved)"}.`,
      );
      printLine(`On those questions: ${formatPoint(result.point)}.`);
      if (!result.targetMet) printLine("Warning: no threshold reaches the target; this is the closest.");
    });
}

function evaluateCommand(): Command {
  return commonOptions(
    new Command("evaluate")
      .description(
        "Score the FAQ on labelled questions at its stored threshold (accuracy, coverage, precision, out-of-scope recall); changes nothing.",
      )
      .argument("<file>", 'CSV/TSV with header query,expected (expected = the right answer text, or "none")'),
  )
    .option(
      "--threshold <cosine>",
      'score at this threshold instead of the stored one (or "none"); nothing is saved',
      parseThreshold,
    )
    .addHelpText(
      "after",
      `
Measures:
  accuracy            right decisions: the right answer, or the fallback for a "none" question
  coverage            share of questions answered (not fallen back)
  precision           share of the answers given that are right
  in-scope accuracy   share of answerable questions answered right
  out-of-scope recall share of "none" questions that got the fallback
Examples:
  embedkit faq evaluate held-out.csv --collection support
  embedkit faq evaluate held-out.csv --collection support --threshold 0.8 --json`,
    )
    .action(async (file: string, options: EvaluateOptions) => {
      const labelled = await readLabelledQueries(file);
      const bar = createProgressBar({ unit: "questions", quiet: options.quiet ?? false });
      const result = await withFaq(options, (faq) => {
        bar.start(labelled.length, `evaluate ${options.collection}`);
        return faq
          .evaluate(labelled, {
            ...(options.threshold === undefined ? {} : { threshold: thresholdOf(options.threshold) }),
            onProgress: (done) => bar.update(done),
          })
          .finally(() => bar.stop());
      });
      if (options.json) {
        printJson(result);
        return;
      }
      const threshold =
        result.threshold === null
          ? "no threshold (always answers)"
          : `threshold ${formatScore(result.threshold)}`;
      printLine(
        `${result.questions} labelled questions (${result.unanswerable} without an answer) at ${threshold} ` +
          `(${result.thresholdSource}):`,
      );
      printLine(`accuracy ${(result.point.accuracy * 100).toFixed(1)} %, ${formatPoint(result.point)}.`);
    });
}

function settingsCommand(): Command {
  return commonOptions(
    new Command("settings").description("Show a FAQ's settings, or change its threshold and fallback."),
  )
    .option("--threshold <cosine>", 'set the threshold (or "none" to always answer)', parseThreshold)
    .option("--fallback <text>", "set the fallback reply")
    .action(async (options: SettingsOptions) => {
      const settings = await withFaq(options, async (faq) =>
        options.threshold === undefined && options.fallback === undefined
          ? faq.settings
          : faq.configure({
              ...(options.threshold === undefined ? {} : { threshold: thresholdOf(options.threshold) }),
              ...(options.fallback === undefined ? {} : { fallback: options.fallback }),
            }),
      );
      if (options.json) printJson(settings);
      else for (const [key, value] of Object.entries(settings)) printLine(`${key}: ${JSON.stringify(value)}`);
    });
}

/** Build the `faq` command. */
export function faqCommand(): Command {
  return new Command("faq")
    .description(
      "FAQ answering (customer service): index a question/answer file, ask, calibrate the threshold, evaluate.",
    )
    .addCommand(indexCommand())
    .addCommand(askCommand())
    .addCommand(calibrateCommand())
    .addCommand(evaluateCommand())
    .addCommand(settingsCommand())
    .addHelpText(
      "after",
      `
Quick start:
  embedkit faq index faq.csv --collection support
  embedkit faq ask "my card still hasn't arrived" --collection support
  embedkit faq calibrate labelled.csv --collection support
  embedkit faq evaluate held-out.csv --collection support
  embedkit faq ask --file questions.csv --collection support --out replies.csv`,
    );
}
