/**
 * @module cli/classify
 * `embedkit classify`: label texts (arguments, stdin lines or --file) with a
 * classifier trained by `embedkit train classifier`, or zero-shot from label
 * names (`embed/zero-shot`: each label in the model's prompt template, the
 * closest prompt wins). Without --model, zero-shot picks bge-small-en-v1.5, or
 * bge-small-zh-v1.5 for Chinese texts. Results print as lines, or as JSON /
 * JSONL / CSV rows that can carry the input's own columns (--keep-fields).
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { CJK_THRESHOLD, cjkRatio } from "../apps/faq/faq-language.js";
import type { Embedder } from "../embed/embedder.js";
import {
  createZeroShotClassifier,
  DEFAULT_ZERO_SHOT_MODELS,
  DEFAULT_ZERO_SHOT_TEMPERATURE,
} from "../embed/zero-shot.js";
import { EmbedkitError } from "../errors.js";
import { headEncoderReference } from "../models/finetuned-folder.js";
import { loadClassifier } from "../train/classifier.js";
import { openEmbedder } from "./context.js";
import { createProgressBar, printLine } from "./io.js";
import {
  addKeepFieldOptions,
  joinRow,
  keptFieldsOf,
  type RowFormat,
  rowFormatOf,
  writeRows,
} from "./row-output.js";
import { readStdinTexts, readTextFile, type TextRecord } from "./text-input.js";

interface ClassifyCommandOptions {
  readonly classifier?: string;
  readonly labels?: string;
  readonly template?: string;
  readonly temperature?: number;
  readonly model?: string;
  readonly home?: string;
  readonly file?: string;
  readonly textField: string;
  readonly json?: boolean;
  readonly out?: string;
  readonly format?: RowFormat;
  readonly keepFields?: string;
  readonly keepAll?: boolean;
  readonly quiet?: boolean;
}

/** One labelled text. */
interface Labelled {
  readonly text: string;
  readonly label: string;
  readonly score: number;
  readonly probabilities: Readonly<Record<string, number>>;
}

const CHUNK = 256;

async function embedAll(
  embedder: Embedder,
  texts: readonly string[],
  quiet: boolean,
): Promise<Float32Array[]> {
  const bar = createProgressBar({ unit: "texts", quiet });
  bar.start(texts.length, `embed ${embedder.model.id}`);
  const vectors: Float32Array[] = [];
  try {
    for (let start = 0; start < texts.length; start += CHUNK) {
      const result = await embedder.embed(texts.slice(start, start + CHUNK));
      vectors.push(...result.vectors);
      bar.update(vectors.length);
    }
  } finally {
    bar.stop();
  }
  return vectors;
}

async function readRecords(texts: readonly string[], options: ClassifyCommandOptions): Promise<TextRecord[]> {
  const keepFields = keptFieldsOf(options);
  let records: TextRecord[] = [];
  if (options.file) {
    records = await readTextFile(options.file, {
      textField: options.textField,
      ...(keepFields === undefined ? {} : { keepFields }),
    });
  } else if (texts.length > 0) records = texts.map((text) => ({ text }));
  else if (!process.stdin.isTTY) records = await readStdinTexts();
  if (records.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      "No texts to classify. Pass texts as arguments, pipe them on stdin (one per line), or use --file.",
    );
  }
  return records;
}

async function run(texts: readonly string[], options: ClassifyCommandOptions): Promise<void> {
  if ((options.classifier === undefined) === (options.labels === undefined)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "Give either --classifier <dir> (a trained classifier) or --labels <a,b,...> (zero-shot), not both or neither.",
    );
  }
  const format = rowFormatOf(options, options.json ? "json" : keptFieldsOf(options) ? "jsonl" : undefined);
  const records = await readRecords(texts, options);
  const inputs = records.map((record) => record.text);
  const quiet = options.quiet ?? false;
  let results: Labelled[];
  if (options.classifier !== undefined) {
    const classifier = await loadClassifier(options.classifier);
    // A classifier trained with a fine-tuned encoder carries it in its encoder/ sub-folder.
    const model =
      options.model ?? (await headEncoderReference(options.classifier, classifier.embedding.modelId));
    const embedder = await openEmbedder({ ...options, model });
    try {
      classifier.assertEmbedding({ modelId: embedder.model.id, dims: embedder.model.dims });
      const vectors = await embedAll(embedder, inputs, quiet);
      results = classifier
        .predict(vectors)
        .map((prediction, index) => ({ text: inputs[index] as string, ...prediction }));
    } finally {
      await embedder.close();
    }
  } else {
    const labels = (options.labels as string)
      .split(",")
      .map((label) => label.trim())
      .filter(Boolean);
    if (new Set(labels).size < 2) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `--labels needs at least two distinct comma-separated labels, received ${JSON.stringify(options.labels)}.`,
      );
    }
    if (options.template !== undefined && !options.template.includes("{label}")) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `--template must contain {label} where the label goes, received ${JSON.stringify(options.template)}.`,
      );
    }
    // Without --model: the measured default for the texts' script (see docs/EVALUATION.md).
    const model =
      options.model ??
      DEFAULT_ZERO_SHOT_MODELS[
        cjkRatio([...labels, ...inputs.slice(0, 1000)]) >= CJK_THRESHOLD ? "zh" : "en"
      ];
    const embedder = await openEmbedder({ ...options, model });
    try {
      const classifier = await createZeroShotClassifier({
        embedder,
        labels,
        ...(options.template === undefined ? {} : { template: options.template }),
        ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      });
      const bar = createProgressBar({ unit: "texts", quiet });
      bar.start(inputs.length, `classify ${embedder.model.id}`);
      try {
        const predictions = await classifier.classify(inputs, { onProgress: (done) => bar.update(done) });
        results = predictions.map((prediction, index) => ({ text: inputs[index] as string, ...prediction }));
      } finally {
        bar.stop();
      }
    } finally {
      await embedder.close();
    }
  }
  if (format !== undefined) {
    const kept = records.some((record) => record.fields !== undefined);
    await writeRows(
      results.map((result, index) => {
        const { text, ...rest } = result;
        return joinRow(index, records[index]?.fields, kept ? { ...rest } : { text, ...rest });
      }),
      format,
      options.out,
    );
    return;
  }
  for (const result of results) printLine(`${result.label}\t${result.score.toFixed(4)}\t${result.text}`);
}

/** Build the `classify` command. */
export function classifyCommand(): Command {
  return addKeepFieldOptions(
    new Command("classify")
      .description(
        "Label texts with a trained classifier (--classifier) or zero-shot from label names (--labels); prints label, probability and text per line, or JSON with all probabilities.",
      )
      .argument("[texts...]", "texts to classify (omit to read --file or stdin)")
      .option("-c, --classifier <dir>", "folder written by `embedkit train classifier`")
      .option("-l, --labels <labels>", "zero-shot: comma-separated label names or short descriptions")
      .option(
        "--template <text>",
        'zero-shot prompt; {label} is replaced by each label (default: the model\'s measured template, e.g. "This text is about {label}.")',
      )
      .option(
        "--temperature <t>",
        "zero-shot softmax temperature over cosine similarities",
        (value) => {
          const parsed = Number(value);
          if (!(parsed > 0 && Number.isFinite(parsed)))
            throw new InvalidArgumentError("must be a number > 0.");
          return parsed;
        },
        DEFAULT_ZERO_SHOT_TEMPERATURE,
      )
      .option(
        "-m, --model <id>",
        `embedding model (default: the classifier's model; zero-shot: ${DEFAULT_ZERO_SHOT_MODELS.en}, ${DEFAULT_ZERO_SHOT_MODELS.zh} for Chinese)`,
      )
      .option("-f, --file <path>", "input file: .txt (one text per line), .jsonl or .csv/.tsv")
      .option("--text-field <name>", "text field/column in .jsonl/.csv input", "text")
      .option("--json", "print JSON: text, label, score and every class probability")
      .option("-o, --out <path>", "write the rows to a file (.json, .jsonl or .csv) instead of stdout")
      .addOption(
        new Option("--format <format>", "row format (default: from --out, else text lines)").choices([
          "json",
          "jsonl",
          "csv",
        ]),
      ),
  )
    .option("-q, --quiet", "no progress bars")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .addHelpText(
      "after",
      `
Examples:
  embedkit classify --classifier clf/ "the battery died after a day"
  embedkit classify --classifier clf/ --file reviews.csv --text-field review --json
  embedkit classify --labels "positive,negative" -m bge-small-en-v1.5 "what a wonderful film"
  embedkit classify --labels "sports,politics,technology" --template "A news story about {label}." --file titles.txt
  embedkit classify --labels "positive,negative,neutral" --file tweets.csv --keep-fields tweet_id --out labelled.csv

Zero-shot defaults per model (template, prefixes) were chosen on training splits of six shared
sets; see docs/EVALUATION.md. With --keep-fields/--keep-all a row holds index, the kept input
columns (a kept column named like an output column becomes input_<name>), label, score, probabilities.`,
    )
    .action(async (texts: string[], options: ClassifyCommandOptions) => {
      await run(texts, options);
    });
}
