/**
 * @module cli/words
 * `embedkit words`: the word-level side of static word vectors — nearest
 * neighbours of a word, analogies (`man : king :: woman : ?`) and raw vectors.
 * Thin: parse → call the word-vector embedder → print (text, or JSON with --json).
 */
import { Command } from "commander";
import {
  createWordVectorEmbedder,
  type WordNeighbor,
  type WordVectorEmbedder,
} from "../embed/word-vectors/index.js";
import { EmbedkitError } from "../errors.js";
import { createPullProgress, openStore } from "./context.js";
import { parsePositiveInteger, printJson, printLine } from "./io.js";

/** Options every `words` subcommand accepts. */
interface WordsCommandOptions {
  readonly model?: string;
  readonly home?: string;
  readonly quiet?: boolean;
  readonly json?: boolean;
}

/** Open the word vectors, with a download progress bar on the first pull. */
async function openWords(options: WordsCommandOptions): Promise<WordVectorEmbedder> {
  const progress = createPullProgress(options.quiet ?? false);
  try {
    return await createWordVectorEmbedder({
      store: openStore(options),
      ...(options.model === undefined ? {} : { model: options.model }),
      onPullProgress: progress.onProgress,
    });
  } finally {
    progress.stop();
  }
}

/** Run `action` with an open embedder and always release it. */
async function withWords<T>(
  options: WordsCommandOptions,
  action: (words: WordVectorEmbedder) => T,
): Promise<T> {
  const words = await openWords(options);
  try {
    return action(words);
  } finally {
    await words.close();
  }
}

function addCommonOptions(command: Command): Command {
  return command
    .option("-m, --model <id>", "word-vectors model (catalog id or alias)", "wink-glove-100d")
    .option("--home <dir>", "model cache folder (default: EMBEDKIT_HOME or ~/.cache/embedkit)")
    .option("-q, --quiet", "no progress bar")
    .option("--json", "print JSON instead of text");
}

function formatNeighbors(neighbors: readonly WordNeighbor[]): string[] {
  const width = Math.max(0, ...neighbors.map((neighbor) => neighbor.word.length));
  return neighbors.map(
    (neighbor, rank) =>
      `${String(rank + 1).padStart(3)}. ${neighbor.word.padEnd(width)}  ${neighbor.score.toFixed(4)}`,
  );
}

/**
 * The `words` command with its `neighbors`, `analogy` and `vector` subcommands.
 *
 * @example
 * ```sh
 * embedkit words neighbors king -k 5
 * embedkit words analogy man king woman      # man : king :: woman : queen (0.7699)
 * embedkit words vector cat --json
 * ```
 */
export function wordsCommand(): Command {
  const words = new Command("words").description(
    "Static word vectors (GloVe-derived, 100-d): nearest words, analogies and raw vectors.",
  );

  addCommonOptions(
    words
      .command("neighbors")
      .alias("nearest")
      .description("List the words closest to <word> by cosine similarity (the word itself excluded).")
      .argument("<word>", "an English word (looked up lower-case)")
      .option("-k, --k <count>", "how many neighbours", parsePositiveInteger, 10)
      .option(
        "--limit <count>",
        "search only the N most frequent words (filters rare noise)",
        parsePositiveInteger,
      ),
  ).action(async (word: string, options: WordsCommandOptions & { k: number; limit?: number }) => {
    const neighbors = await withWords(options, (table) =>
      table.nearestWords(
        word,
        options.k,
        options.limit === undefined ? {} : { vocabularyLimit: options.limit },
      ),
    );
    if (options.json) printJson({ word, neighbors });
    else for (const line of formatNeighbors(neighbors)) printLine(line);
  });

  addCommonOptions(
    words
      .command("analogy")
      .description(
        "Solve <a> : <b> :: <c> : ? — the words nearest to b − a + c (a, b and c excluded). " +
          'Example: "man king woman" → queen.',
      )
      .argument("<a>", "first word of the known pair (e.g. man)")
      .argument("<b>", "second word of the known pair (e.g. king)")
      .argument("<c>", "first word of the asked pair (e.g. woman)")
      .option("-k, --k <count>", "how many candidates", parsePositiveInteger, 5)
      .option(
        "--limit <count>",
        "search only the N most frequent words (filters rare noise)",
        parsePositiveInteger,
      ),
  ).action(
    async (a: string, b: string, c: string, options: WordsCommandOptions & { k: number; limit?: number }) => {
      const answers = await withWords(options, (table) =>
        table.analogy(
          a,
          b,
          c,
          options.k,
          options.limit === undefined ? {} : { vocabularyLimit: options.limit },
        ),
      );
      if (options.json) printJson({ a, b, c, answers });
      else
        for (const answer of answers)
          printLine(`${a} : ${b} :: ${c} : ${answer.word} (${answer.score.toFixed(4)})`);
    },
  );

  addCommonOptions(
    words
      .command("vector")
      .description("Print the raw (not normalized) vector of <word>.")
      .argument("<word>", "an English word (looked up lower-case)"),
  ).action(async (word: string, options: WordsCommandOptions) => {
    const vector = await withWords(options, (table) => {
      const found = table.wordVector(word);
      if (found === undefined) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `${JSON.stringify(word)} is not in the vocabulary of ${table.model.id} ` +
            `(${table.vocabularySize} lower-case English words). Check the spelling or try a more common form.`,
          { details: { word } },
        );
      }
      return found;
    });
    if (options.json) printJson({ word, dimensions: vector.length, vector: Array.from(vector) });
    else printLine(Array.from(vector, (value) => value.toPrecision(6)).join(" "));
  });

  return words;
}
