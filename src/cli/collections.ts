/**
 * @module cli/collections
 * `embedkit collections list|info|drop`: inspect and remove vector collections. `info` on the
 * embedded store also says which hnswlib-node addon answers its HNSW queries (the portable build or
 * the one compiled for this CPU at install — see `scripts/native-hnswlib.mjs`).
 */
import { Command } from "commander";
import { EmbedkitError } from "../errors.js";
import { describeHnswlibBuild, formatHnswlibBuild } from "../internal/hnswlib-build.js";
import type { CollectionStats } from "../store/vector-store.js";
import { printJson, printLine } from "./io.js";
import { addStoreOptions, type StoreCommandOptions, withVectorStore } from "./store-option.js";

interface CollectionsOptions extends StoreCommandOptions {
  readonly json?: boolean;
  readonly yes?: boolean;
}

function describe(stats: CollectionStats): string[] {
  return [
    `name:       ${stats.name}`,
    `items:      ${stats.count}`,
    `model:      ${stats.model}`,
    `dims:       ${stats.dims}`,
    `pooling:    ${stats.pooling}`,
    `normalized: ${stats.normalized}`,
    `metric:     ${stats.metric}`,
    `created:    ${stats.createdAt}`,
  ];
}

/** Build the `collections` command and its subcommands. */
export function collectionsCommand(): Command {
  const command = new Command("collections").description("List, describe and drop vector collections.");
  command.addCommand(
    addStoreOptions(new Command("list").description("List collections with their item counts and models."))
      .option("--json", "print JSON")
      .action(async (options: CollectionsOptions) => {
        await withVectorStore(options, async (store) => {
          const collections = await store.listCollections();
          if (options.json) {
            printJson({ store: store.location, collections });
            return;
          }
          if (collections.length === 0) {
            printLine(
              `No collections in ${store.location}. Create one with \`embedkit index <name> --file docs.jsonl\`.`,
            );
            return;
          }
          const width = Math.max(4, ...collections.map((c) => c.name.length));
          printLine(`${"NAME".padEnd(width)}  ${"ITEMS".padStart(9)}  DIMS  METRIC     MODEL`);
          for (const c of collections) {
            printLine(
              `${c.name.padEnd(width)}  ${String(c.count).padStart(9)}  ${String(c.dims).padStart(4)}  ${c.metric.padEnd(9)}  ${c.model}`,
            );
          }
        });
      }),
  );
  command.addCommand(
    addStoreOptions(
      new Command("info").description(
        "Show a collection's model, dims, metric and size (and, on the embedded store, which hnswlib-node build serves it).",
      ),
    )
      .argument("<collection>", "collection name")
      .option("--json", "print JSON")
      .addHelpText(
        "after",
        [
          "",
          "Examples:",
          "  embedkit collections info docs",
          "  embedkit collections info docs --json",
          "",
          "On the embedded store the `hnswlib:` line says whether the HNSW index runs on the portable",
          "hnswlib-node build or on the one compiled for this CPU at install (AVX2/FMA, AVX-512 when present;",
          "opt out with EMBEDKIT_NATIVE_HNSWLIB=0 before `npm ci`).",
        ].join("\n"),
      )
      .action(async (name: string, options: CollectionsOptions) => {
        await withVectorStore(options, async (store) => {
          const stats = await (await store.getCollection(name)).stats();
          // hnswlib-node serves only the embedded backend; pgvector builds its own HNSW in PostgreSQL.
          const hnswlib = store.backend === "embedded" ? describeHnswlibBuild() : undefined;
          if (options.json) {
            printJson(hnswlib === undefined ? stats : { ...stats, hnswlib });
            return;
          }
          for (const line of describe(stats)) printLine(line);
          if (hnswlib !== undefined) printLine(`hnswlib:    ${formatHnswlibBuild(hnswlib)}`);
        });
      }),
  );
  command.addCommand(
    addStoreOptions(
      new Command("drop").description("Delete a collection and all its items (asks for --yes)."),
    )
      .argument("<collection>", "collection name")
      .option("-y, --yes", "confirm: really delete the collection")
      .option("--json", "print JSON")
      .action(async (name: string, options: CollectionsOptions) => {
        await withVectorStore(options, async (store) => {
          const stats = await (await store.getCollection(name)).stats();
          if (!options.yes) {
            throw new EmbedkitError(
              "INVALID_OPTION",
              `Refusing to drop "${name}" (${stats.count} items) without --yes. Run \`embedkit collections drop ${name} --yes\`.`,
            );
          }
          await store.dropCollection(name);
          if (options.json) printJson({ dropped: name, count: stats.count });
          else printLine(`Dropped "${name}" (${stats.count} items).`);
        });
      }),
  );
  return command;
}
