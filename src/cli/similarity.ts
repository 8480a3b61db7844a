/**
 * @module cli/similarity
 * `embedkit similarity "a" "b" [...]`: the pairwise similarity matrix of a few
 * texts, as an aligned table or (`--json`) an object with a `matrix` field.
 */
import { Command, Option } from "commander";
import { EmbedkitError } from "../errors.js";
import { type SimilarityMetric, similarityMatrix } from "../vectors/math.js";
import { openEmbedder } from "./context.js";
import { printJson, printLine } from "./io.js";

interface SimilarityOptions {
  readonly model?: string;
  readonly home?: string;
  readonly metric: SimilarityMetric;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

function label(text: string, width: number): string {
  const short = text.length > width ? `${text.slice(0, width - 1)}…` : text;
  return short.padEnd(width);
}

/** Build the `similarity` command. */
export function similarityCommand(): Command {
  return new Command("similarity")
    .description("Print the pairwise similarity matrix of two or more texts.")
    .argument("<texts...>", "two or more texts")
    .option("-m, --model <id>", "model id or alias (see `embedkit models list`)")
    .addOption(
      new Option("--metric <metric>", "similarity measure")
        .choices(["cosine", "dot", "euclidean"])
        .default("cosine"),
    )
    .option("--json", "print {model, metric, texts, matrix} as JSON")
    .option("-q, --quiet", "no progress bars")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .addHelpText(
      "after",
      `
Example:
  embedkit similarity "The weather is lovely today." "It's so sunny outside!" "He drove to the stadium."`,
    )
    .action(async (texts: string[], options: SimilarityOptions) => {
      if (texts.length < 2) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `similarity needs at least two texts, received ${texts.length}.`,
        );
      }
      const embedder = await openEmbedder(options);
      try {
        const { vectors } = await embedder.embed(texts);
        const matrix = similarityMatrix(vectors, vectors, options.metric);
        if (options.json) {
          printJson({ model: embedder.model.id, metric: options.metric, texts, matrix });
          return;
        }
        const width = Math.min(48, 4 + Math.max(...texts.map((t) => t.length)));
        printLine(`model: ${embedder.model.id}  metric: ${options.metric}`);
        printLine(`${" ".repeat(width)}  ${texts.map((_, j) => `[${j}]`.padStart(8)).join("")}`);
        matrix.forEach((row, i) => {
          printLine(
            `${label(`[${i}] ${texts[i]}`, width)}  ${row.map((x) => x.toFixed(4).padStart(8)).join("")}`,
          );
        });
      } finally {
        await embedder.close();
      }
    });
}
