/**
 * @module cli/ner
 * `embedkit ner`: find named entities in texts (arguments, stdin lines or a
 * file) with a tagger folder from `embedkit train ner`. Prints one line per
 * entity (`type  start-end  text  score`) or, with `--json`, one object per
 * text with its entities. Offsets are UTF-16 code units (JavaScript string
 * indices) into each text.
 */
import { Command, Option } from "commander";
import { EmbedkitError } from "../errors.js";
import { type Entity, openTagger, recognizeEntitiesMany } from "../ner/recognize.js";
import { openStore } from "./context.js";
import { createProgressBar, printJson, printLine } from "./io.js";
import {
  addKeepFieldOptions,
  joinRow,
  keptFieldsOf,
  type RowFormat,
  rowFormatOf,
  writeRows,
} from "./row-output.js";
import { readTextRecords, type TextRecord } from "./text-input.js";

interface NerCommandOptions {
  readonly tagger: string;
  readonly file?: string;
  readonly textField: string;
  readonly idField?: string;
  readonly json?: boolean;
  readonly out?: string;
  readonly format?: RowFormat;
  readonly keepFields?: string;
  readonly keepAll?: boolean;
  readonly quiet?: boolean;
  readonly home?: string;
}

/**
 * Rows for --format/--out/--keep-fields: JSON/JSONL one row per text with its entities;
 * CSV one row per entity (a text without entities still gets one row, with empty entity cells).
 */
function entityRows(
  records: readonly TextRecord[],
  results: readonly Entity[][],
  format: RowFormat,
  withText: boolean,
): Record<string, unknown>[] {
  return records.flatMap((record, index) => {
    const base = {
      ...(record.id === undefined ? {} : { id: record.id }),
      ...(withText ? { text: record.text } : {}),
    };
    const entities = results[index] ?? [];
    if (format !== "csv") return [joinRow(index, record.fields, { ...base, entities })];
    const cells = entities.map((entity) => ({
      ...base,
      type: entity.type,
      start: entity.start,
      end: entity.end,
      entity: entity.text,
      score: entity.score,
    }));
    const empty = { ...base, type: null, start: null, end: null, entity: null, score: null };
    return (cells.length === 0 ? [empty] : cells).map((cell) => joinRow(index, record.fields, cell));
  });
}

/** Texts per library call, so the progress bar moves on big files. */
const CHUNK = 64;

async function run(texts: readonly string[], options: NerCommandOptions): Promise<void> {
  // A .txt file keeps its blank lines (empty entities) so every output maps back to its line.
  const keepFields = keptFieldsOf(options);
  const format = rowFormatOf(options, keepFields === undefined ? undefined : "jsonl");
  const records = await readTextRecords(texts, { ...options, keepBlankLines: true, keepFields });
  if (records.every((record) => record.text.trim() === "")) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      'No texts to tag. Pass texts as arguments (embedkit ner --tagger ner/ "text"), pipe them on stdin, or use --file.',
    );
  }
  const tagger = await openTagger(options.tagger, { store: openStore(options) });
  const bar = createProgressBar({ unit: "texts", quiet: options.quiet ?? options.file === undefined });
  const results: Entity[][] = [];
  const started = performance.now();
  try {
    bar.start(records.length, `ner ${tagger.settings.modelId}`);
    for (let start = 0; start < records.length; start += CHUNK) {
      const chunk = records.slice(start, start + CHUNK).map((record) => record.text);
      const tagged = chunk.filter((text) => text.trim() !== "");
      const found = tagged.length === 0 ? [] : await recognizeEntitiesMany(tagger, tagged);
      let next = 0;
      for (const text of chunk) results.push(text.trim() === "" ? [] : (found[next++] ?? []));
      bar.update(Math.min(start + CHUNK, records.length));
    }
  } finally {
    bar.stop();
    await tagger.close();
  }
  if (format !== undefined) {
    await writeRows(entityRows(records, results, format, keepFields === undefined), format, options.out);
    return;
  }
  if (options.json) {
    printJson(
      records.map((record, index) => ({
        index,
        ...(record.line === undefined ? {} : { line: record.line }),
        ...(record.id === undefined ? {} : { id: record.id }),
        ...(options.file === undefined ? { text: record.text } : {}),
        entities: results[index],
      })),
    );
    return;
  }
  records.forEach((record, index) => {
    const entities = results[index] ?? [];
    if (records.length > 1) printLine(`[${record.id ?? index}] ${entities.length} entities`);
    for (const entity of entities) {
      printLine(
        `${entity.type.padEnd(5)} ${`${entity.start}-${entity.end}`.padEnd(11)} ${entity.text}  ${entity.score.toFixed(3)}`,
      );
    }
  });
  if (options.file && !options.quiet) {
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(`Tagged ${records.length} texts in ${seconds.toFixed(1)} s.\n`);
  }
}

/** Build the `ner` command. */
export function nerCommand(): Command {
  return addKeepFieldOptions(new Command("ner"))
    .description(
      "Find named entities (type, text, start, end, score) with a tagger from `embedkit train ner` or `embedkit finetune ner`.",
    )
    .argument("[texts...]", "texts to tag (omit to read --file or stdin)")
    .requiredOption(
      "-t, --tagger <dir>",
      "tagger folder written by `embedkit train ner --out` or `embedkit finetune ner --out`",
    )
    .option("-f, --file <path>", "input file: .txt (one text per line), .jsonl or .csv/.tsv (progress bar)")
    .option("--text-field <name>", "text field/column in .jsonl/.csv input", "text")
    .option("--id-field <name>", "id field/column copied to the output")
    .option(
      "--json",
      "print JSON: one object per text with its entities (with --file: its line; a .txt file's blank lines give empty entities)",
    )
    .option(
      "-o, --out <path>",
      "write rows to a file (.json, .jsonl: one row per text; .csv: one row per entity)",
    )
    .addOption(
      new Option("--format <format>", "row format (default: from --out, else lines)").choices([
        "json",
        "jsonl",
        "csv",
      ]),
    )
    .option("-q, --quiet", "no progress bar")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .addHelpText(
      "after",
      `
Output: one line per entity, "TYPE start-end text score"; start/end are UTF-16 code unit
offsets into the text (JavaScript string indices), end exclusive; score is the mean
probability of the entity's tags.

Examples:
  embedkit ner --tagger ner-en/ "EU rejects German call to boycott British lamb."
  embedkit ner --tagger ner-zh/ --json "我在北京见到了王小明。"
  embedkit ner --tagger ner-en/ --file news.txt --json > entities.json
  embedkit ner --tagger ner-en/ --file articles.csv --keep-fields article_id --out entities.csv

With --keep-fields/--keep-all every row carries those input columns (a kept column named like
an output column becomes input_<name>), so entities join back to the input rows.`,
    )
    .action(async (texts: string[], options: NerCommandOptions) => {
      await run(texts, options);
    });
}
