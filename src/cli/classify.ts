/**
 * @module cli/classify
 * `embedkit classify`: label texts (arguments, stdin lines or --file) with a
 * classifier trained by `embedkit train classifier`, or zero-shot from label
 * names: each label is put in a prompt template ("This text is about {label}."),
 * embedded, and a text gets the label whose prompt is most similar (cosine),
 * with probabilities from a softmax over the similarities / temperature.
 */
import { Command, InvalidArgumentError } from "commander";
import type { Embedder } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import { loadClassifier } from "../train/classifier.js";
import { cosineSimilarity } from "../vectors/math.js";
import { openEmbedder } from "./context.js";
import { createProgressBar, printJson, printLine } from "./io.js";
import { readStdinTexts, readTextFile, type TextRecord } from "./text-input.js";

interface ClassifyCommandOptions {
  readonly classifier?: string;
  readonly labels?: string;
  readonly template: string;
  readonly temperature: number;
  readonly model?: string;
  readonly home?: string;
  readonly file?: string;
  readonly textField: string;
  readonly json?: boolean;
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
  let records: TextRecord[] = [];
  if (options.file) records = await readTextFile(options.file, { textField: options.textField });
  else if (texts.length > 0) records = texts.map((text) => ({ text }));
  else if (!process.stdin.isTTY) records = await readStdinTexts();
  if (records.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      "No texts to classify. Pass texts as arguments, pipe them on stdin (one per line), or use --file.",
    );
  }
  return records;
}

/** Softmax of `scores / temperature`. */
function softmax(scores: readonly number[], temperature: number): number[] {
  const max = Math.max(...scores);
  const exps = scores.map((score) => Math.exp((score - max) / temperature));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
}

async function run(texts: readonly string[], options: ClassifyCommandOptions): Promise<void> {
  if ((options.classifier === undefined) === (options.labels === undefined)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "Give either --classifier <dir> (a trained classifier) or --labels <a,b,...> (zero-shot), not both or neither.",
    );
  }
  const records = await readRecords(texts, options);
  const inputs = records.map((record) => record.text);
  const quiet = options.quiet ?? false;
  let results: Labelled[];
  if (options.classifier !== undefined) {
    const classifier = await loadClassifier(options.classifier);
    const embedder = await openEmbedder({ ...options, model: options.model ?? classifier.embedding.modelId });
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
    if (!options.template.includes("{label}")) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `--template must contain {label} where the label goes, received ${JSON.stringify(options.template)}.`,
      );
    }
    const embedder = await openEmbedder(options);
    try {
      const prompts = labels.map((label) => options.template.replaceAll("{label}", label));
      const labelVectors = (await embedder.embed(prompts)).vectors;
      const vectors = await embedAll(embedder, inputs, quiet);
      results = vectors.map((vector, index) => {
        const similarities = labelVectors.map((labelVector) => cosineSimilarity(vector, labelVector));
        const probabilities = softmax(similarities, options.temperature);
        let best = 0;
        for (let c = 1; c < labels.length; c++)
          if ((probabilities[c] as number) > (probabilities[best] as number)) best = c;
        return {
          text: inputs[index] as string,
          label: labels[best] as string,
          score: probabilities[best] as number,
          probabilities: Object.fromEntries(labels.map((label, c) => [label, probabilities[c] as number])),
        };
      });
    } finally {
      await embedder.close();
    }
  }
  if (options.json) {
    printJson(results);
    return;
  }
  for (const result of results) printLine(`${result.label}\t${result.score.toFixed(4)}\t${result.text}`);
}

/** Build the `classify` command. */
export function classifyCommand(): Command {
  return new Command("classify")
    .description(
      "Label texts with a trained classifier (--classifier) or zero-shot from label names (--labels); prints label, probability and text per line, or JSON with all probabilities.",
    )
    .argument("[texts...]", "texts to classify (omit to read --file or stdin)")
    .option("-c, --classifier <dir>", "folder written by `embedkit train classifier`")
    .option("-l, --labels <labels>", "zero-shot: comma-separated label names or short descriptions")
    .option(
      "--template <text>",
      "zero-shot prompt; {label} is replaced by each label",
      "This text is about {label}.",
    )
    .option(
      "--temperature <t>",
      "zero-shot softmax temperature over cosine similarities",
      (value) => {
        const parsed = Number(value);
        if (!(parsed > 0 && Number.isFinite(parsed))) throw new InvalidArgumentError("must be a number > 0.");
        return parsed;
      },
      0.02,
    )
    .option(
      "-m, --model <id>",
      "embedding model (default: the classifier's model; zero-shot: the default model)",
    )
    .option("-f, --file <path>", "input file: .txt (one text per line), .jsonl or .csv/.tsv")
    .option("--text-field <name>", "text field/column in .jsonl/.csv input", "text")
    .option("--json", "print JSON: text, label, score and every class probability")
    .option("-q, --quiet", "no progress bars")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .addHelpText(
      "after",
      `
Examples:
  embedkit classify --classifier clf/ "the battery died after a day"
  embedkit classify --classifier clf/ --file reviews.csv --text-field review --json
  embedkit classify --labels "positive,negative" -m bge-small-en-v1.5 "what a wonderful film"
  embedkit classify --labels "sports,politics,technology" --template "A news story about {label}." --file titles.txt`,
    )
    .action(async (texts: string[], options: ClassifyCommandOptions) => {
      await run(texts, options);
    });
}
