/**
 * @module cli/search
 * `embedkit search <collection> "query"`: embed the query with the
 * collection's own model and print the nearest documents, optionally
 * restricted by a metadata filter.
 */
import { Command } from "commander";
import type { Embedder } from "../embed/embedder.js";
import { withoutThumbnail } from "../embed/media/image/thumbnail.js";
import { sniffFileModality } from "../embed/media/media-input.js";
import { mediaPathEmbedder } from "../embed/media/media-path-embedder.js";
import { EmbedkitError } from "../errors.js";
import { searchText } from "../store/documents.js";
import type { Hit } from "../store/vector-store.js";
import { openEmbedder } from "./context.js";
import { parsePositiveInteger, printJson, printLine } from "./io.js";
import { openMediaEmbedder } from "./media-embed.js";
import { addStoreOptions, type StoreCommandOptions, withVectorStore } from "./store-option.js";

interface SearchCommandOptions extends StoreCommandOptions {
  readonly example?: string;
  readonly k: number;
  readonly filter?: string;
  readonly exact?: boolean;
  readonly model?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

function shorten(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}

function render(hits: readonly Hit[]): string[] {
  if (hits.length === 0) return ["No matches."];
  return hits.map((hit, rank) => {
    // An image's thumbnail (a data URL of a few KB) is for viewers, not for the terminal (--json keeps it).
    const shown = withoutThumbnail(hit.metadata);
    const metadata = Object.keys(shown).length > 0 ? `  ${JSON.stringify(shown)}` : "";
    const text = hit.text === undefined ? "" : `  ${shorten(hit.text, 80)}`;
    return `${String(rank + 1).padStart(3)}. ${hit.score.toFixed(4)}  ${hit.id}${text}${metadata}`;
  });
}

/** Build the `search` command. */
export function searchCommand(): Command {
  return addStoreOptions(
    new Command("search")
      .description(
        "Semantic search in a vector collection: the query is embedded with the collection's model.",
      )
      .argument("<collection>", "collection name")
      .argument("[query]", "the text to search for (omit with --example)")
      .option(
        "--example <file>",
        "search by example: an image, video or audio file embedded with the collection's model",
      )
      .option("-k, --k <n>", "number of results (1-1000)", parsePositiveInteger, 10)
      .option(
        "--filter <filter>",
        "metadata filter, e.g. 'lang=zh', 'year>=2020,tier!=free', 'lang in (zh, en)'",
      )
      .option("--exact", "exhaustive search instead of the HNSW index")
      .option(
        "--ef-search <n>",
        "HNSW search breadth: higher finds more of the true nearest neighbours, slower (default 64 embedded, 100 pgvector; ~256 at a million vectors)",
        parsePositiveInteger,
      )
      .option(
        "-m, --model <id>",
        "expected model (refused with MODEL_MISMATCH if the collection uses another)",
      )
      .option("--json", "print the hits as JSON")
      .option("-q, --quiet", "no progress bars"),
  )
    .addHelpText(
      "after",
      `
Filter syntax: field=value, field!=value, field<n, field<=n, field>n, field>=n,
field in (a, b), field not in (a, b); join conditions with commas (all must hold).
Quote values with spaces or , ( ) = ! < > as "..." or '...'. A bare number, true,
false or null also matches the same text stored as a string.

Examples:
  embedkit search docs "how do I reset my password?" -k 5
  embedkit search faq-zh "怎么修改密码" --filter 'category=account' --json
  embedkit search photos --example query.jpg -k 5       # a collection made with index --modality image
  embedkit search sounds "a dog barking" -k 5           # an audio collection indexed with a clap: model
  embedkit search big "query" --ef-search 256           # more recall on a large collection (no rebuild)`,
    )
    .action(async (collectionName: string, text: string | undefined, options: SearchCommandOptions) => {
      if ((text === undefined) === (options.example === undefined)) {
        throw new EmbedkitError(
          "INVALID_OPTION",
          "Give either a text query or --example <file> (an image, video or audio file), not both or neither.",
        );
      }
      const query = (text ?? options.example) as string;
      await withVectorStore(options, async (store) => {
        const collection = await store.getCollection(collectionName);
        const common = {
          model: options.model ?? collection.info.model,
          ...(options.home === undefined ? {} : { home: options.home }),
          quiet: options.quiet ?? false,
        };
        let embedder: Embedder;
        if (options.example === undefined) {
          embedder = await openEmbedder(common);
        } else {
          // The example's own bytes say which media embedder reads it.
          const modality = await sniffFileModality(options.example);
          embedder = mediaPathEmbedder(await openMediaEmbedder(modality, common));
        }
        try {
          const hits = await searchText(collection, embedder, query, {
            k: options.k,
            ...(options.filter === undefined ? {} : { filter: options.filter }),
            ...(options.exact ? { exact: true } : {}),
          });
          if (options.json) {
            printJson({ collection: collectionName, model: embedder.model.id, query, hits });
          } else {
            for (const line of render(hits)) printLine(line);
          }
        } finally {
          await embedder.close();
        }
      });
    });
}
