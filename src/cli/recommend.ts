/**
 * @module cli/recommend
 * `embedkit recommend index|user|users|item|query|new-user`: content-based and
 * hybrid recommendation on a vector store. Thin: parse → src/apps/recommend → print.
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { readFile, rename, rm } from "node:fs/promises";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  indexRecommender,
  openRecommender,
  parseDuration,
  type Recommendation,
  type Recommender,
  type RecommendUserOptions,
  readRecommenderState,
  recommenderStatePath,
} from "../apps/recommend/index.js";
import type { Embedder } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import type { VectorStore } from "../store/vector-store.js";
import { openEmbedder } from "./context.js";
import { createProgressBar, parsePositiveInteger, printJson, printLine } from "./io.js";
import { addMetadataOptions, metadataReading } from "./metadata-options.js";
import { addStoreOptions, type StoreCommandOptions, withVectorStore } from "./store-option.js";

interface CommonOptions extends StoreCommandOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
}

interface ListOptions extends CommonOptions {
  readonly k: number;
  readonly diversity?: number;
  readonly filter?: string;
}

interface IndexOptions extends CommonOptions {
  readonly items?: string;
  readonly idField: string;
  readonly textFields: string;
  readonly metadataFields?: string;
  readonly metadataTypes?: string;
  readonly interactions?: string;
  readonly userField: string;
  readonly itemField: string;
  readonly ratingField?: string;
  readonly timeField?: string;
  readonly ratingRange?: readonly [number, number];
  readonly halfLife?: number;
  readonly relevantRating?: number;
  readonly neighbors?: number;
  readonly blendWeight?: number;
  readonly replaceInteractions?: boolean;
  readonly model?: string;
  readonly batchSize: number;
}

interface UserOptions extends ListOptions {
  readonly excludeSeen: boolean;
  readonly fallback: "none" | "popular";
}

interface UsersOptions extends UserOptions {
  readonly all?: boolean;
  readonly usersFile?: string;
  readonly out?: string;
}

function parseUnit(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !(parsed >= 0 && parsed <= 1))
    throw new InvalidArgumentError("must be a number from 0 to 1.");
  return parsed;
}

function parseNumber(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed)) throw new InvalidArgumentError("must be a number.");
  return parsed;
}

function parseRange(value: string): readonly [number, number] {
  const match = /^\s*(-?[\d.]+)\s*(?:\.\.|:|,)\s*(-?[\d.]+)\s*$/.exec(value);
  const low = Number(match?.[1]);
  const high = Number(match?.[2]);
  if (match === null || !Number.isFinite(low) || !Number.isFinite(high) || low >= high) {
    throw new InvalidArgumentError("must be min..max with min < max (e.g. 0.5..5).");
  }
  return [low, high];
}

function parseHalfLife(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function fields(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((field) => field.trim())
    .filter((field) => field !== "");
}

/** Open the recommender's store and its model (the model saved with it), run `work`, close both. */
async function withRecommender<T>(
  name: string,
  options: CommonOptions,
  work: (recommender: Recommender, store: VectorStore) => Promise<T>,
): Promise<T> {
  return withVectorStore(options, async (store) => {
    const home = options.home === undefined ? {} : { home: options.home };
    const state = await readRecommenderState(await recommenderStatePath(store, name, home));
    const embedder = await openEmbedder({
      ...(state === undefined ? {} : { model: state.model }),
      ...home,
      quiet: options.quiet ?? false,
    });
    try {
      return await work(await openRecommender(store, name, embedder, home), store);
    } finally {
      await embedder.close();
    }
  });
}

function listOptions(options: ListOptions): { k: number; diversity?: number; filter?: string } {
  return {
    k: options.k,
    ...(options.diversity === undefined ? {} : { diversity: options.diversity }),
    ...(options.filter === undefined ? {} : { filter: options.filter }),
  };
}

function userOptions(options: UserOptions): RecommendUserOptions {
  return { ...listOptions(options), excludeSeen: options.excludeSeen, fallback: options.fallback };
}

function print(
  recommendation: Recommendation,
  header: Record<string, unknown>,
  options: CommonOptions,
): void {
  if (options.json) {
    printJson({ ...header, source: recommendation.source, items: recommendation.items });
    return;
  }
  const label = Object.entries(header)
    .map(([key, value]) => `${key} ${Array.isArray(value) ? value.join(",") : String(value)}`)
    .join(", ");
  printLine(`${label} (${recommendation.source}):`);
  recommendation.items.forEach((item, rank) => {
    const text = (item.text ?? "").replace(/\s+/g, " ");
    printLine(
      `${String(rank + 1).padStart(3)}. ${item.score.toFixed(4)}  ${item.id}  ${text.length > 90 ? `${text.slice(0, 89)}…` : text}`,
    );
  });
}

/** The common list options (k, diversity, filter, json, store). */
function addListOptions(command: Command): Command {
  return addStoreOptions(
    command
      .option("-k, --k <n>", "how many items", parsePositiveInteger, 10)
      .option(
        "--diversity <0..1>",
        "maximal marginal relevance: 0 = pure relevance, 1 = most diverse",
        parseUnit,
      )
      .option("--filter <expression>", "metadata filter, store syntax (e.g. year>=2000,lang=en)")
      .option("--json", "print JSON")
      .option("-q, --quiet", "no progress bars"),
  );
}

function addUserOptions(command: Command): Command {
  return addListOptions(command)
    .option("--no-exclude-seen", "also recommend items the user already interacted with")
    .addOption(
      new Option(
        "--fallback <kind>",
        "answer unknown users (or users without a usable profile) with popular items",
      )
        .choices(["none", "popular"])
        .default("none"),
    );
}

function indexSubcommand(): Command {
  return addStoreOptions(
    addMetadataOptions(new Command("index"), "comma-separated columns stored as filterable metadata")
      .description(
        "Build or update a recommender: embed the item catalog into a collection (unchanged items are skipped), merge interactions, build item-kNN and choose the content/CF blend on a validation split.",
      )
      .argument("<name>", "recommender (and collection) name")
      .option("--items <file>", "item catalog, CSV or TSV with a header row (needed on the first run)")
      .option("--id-field <column>", "item id column", "id")
      .option("--text-fields <columns>", "comma-separated columns joined into the embedded text", "title")
      .option("--interactions <file>", "interactions, CSV or TSV with a header row")
      .option("--user-field <column>", "user id column of the interactions", "userId")
      .option("--item-field <column>", "item id column of the interactions", "itemId")
      .option(
        "--rating-field <column>",
        "rating column (omit for implicit feedback: every interaction is positive)",
      )
      .option("--time-field <column>", "time column: Unix seconds or ISO-8601 dates")
      .option(
        "--rating-range <min..max>",
        "declared rating range; a rating outside it is refused",
        parseRange,
      )
      .option("--half-life <duration>", "recency decay of profile weights (e.g. 30d, 12h, 2w)", parseHalfLife)
      .option(
        "--relevant-rating <r>",
        "in the blend validation, relevant = rating ≥ r (default: ≥ the user's mean)",
        parseNumber,
      )
      .option("--neighbors <n>", "item-kNN neighbours kept per item (default 50)", parsePositiveInteger)
      .option(
        "--blend-weight <0..1>",
        "fix the content weight of the blend instead of validating it",
        parseUnit,
      )
      .option(
        "--replace-interactions",
        "drop the saved interactions and keep only this file's (default: merge)",
      )
      .option("-m, --model <id>", "embedding model of a new recommender (default: all-minilm-l6-v2)")
      .option("--batch-size <n>", "items embedded per step", parsePositiveInteger, 64)
      .option("--json", "print a JSON report")
      .option("-q, --quiet", "no progress bars"),
  )
    .addHelpText(
      "after",
      `
Examples:
  embedkit recommend index movies --items movies.csv --id-field movieId --text-fields title,genres \\
      --interactions ratings.csv --user-field userId --item-field movieId --rating-field rating \\
      --time-field timestamp --rating-range 0.5..5 --half-life 365d
  embedkit recommend index books --items books.csv --id-field book_id --text-fields title,authors \\
      --metadata-fields original_publication_year,language_code      # item-only catalog
  embedkit recommend index movies --interactions new-ratings.csv --user-field userId --item-field movieId \\
      --rating-field rating                                            # incremental update`,
    )
    .action(async (name: string, options: IndexOptions) => {
      if (options.items === undefined && options.interactions === undefined) {
        throw new EmbedkitError("INVALID_OPTION", "Give --items (the catalog) and/or --interactions.");
      }
      await withVectorStore(options, async (store) => {
        const home = options.home === undefined ? {} : { home: options.home };
        const state = await readRecommenderState(await recommenderStatePath(store, name, home));
        const embedder: Embedder = await openEmbedder({
          ...(options.model !== undefined
            ? { model: options.model }
            : state === undefined
              ? {}
              : { model: state.model }),
          ...home,
          quiet: options.quiet ?? false,
        });
        const bar = createProgressBar({ unit: "steps", quiet: options.quiet ?? false });
        let phase = "";
        const started = performance.now();
        try {
          const report = await indexRecommender(store, name, embedder, {
            ...home,
            ...(options.items === undefined
              ? {}
              : {
                  itemsFile: {
                    path: options.items,
                    columns: {
                      idField: options.idField,
                      textFields: fields(options.textFields),
                      ...metadataReading(options),
                    },
                  },
                }),
            ...(options.interactions === undefined
              ? {}
              : {
                  interactionsFile: {
                    path: options.interactions,
                    columns: {
                      userField: options.userField,
                      itemField: options.itemField,
                      ...(options.ratingField === undefined ? {} : { ratingField: options.ratingField }),
                      ...(options.timeField === undefined ? {} : { timeField: options.timeField }),
                    },
                  },
                }),
            ...(options.ratingRange === undefined ? {} : { ratingRange: options.ratingRange }),
            ...(options.halfLife === undefined ? {} : { halfLifeSeconds: options.halfLife }),
            ...(options.relevantRating === undefined ? {} : { relevantRating: options.relevantRating }),
            ...(options.neighbors === undefined ? {} : { neighbors: options.neighbors }),
            ...(options.blendWeight === undefined ? {} : { blendWeight: options.blendWeight }),
            ...(options.replaceInteractions ? { replaceInteractions: true } : {}),
            batchSize: options.batchSize,
            onProgress: (progress) => {
              if (progress.phase !== phase) {
                bar.stop();
                phase = progress.phase;
                if (progress.total > 0) bar.start(progress.total, `${progress.phase} ${name}`);
              }
              bar.update(progress.done);
            },
          });
          bar.stop();
          const seconds = (performance.now() - started) / 1000;
          if (options.json) {
            printJson({ ...report, store: store.location, seconds });
            return;
          }
          printLine(
            `Recommender "${name}" (${report.model}): ${report.items} items (${report.embedded} embedded, ${report.unchanged} unchanged), ` +
              `${report.users} users, ${report.interactions} interactions (${seconds.toFixed(1)} s).`,
          );
          if (report.emptyText.length > 0) {
            printLine(
              `  ${report.emptyText.length} items with empty text were not indexed (e.g. ${report.emptyText.slice(0, 5).join(", ")}).`,
            );
          }
          if (report.unknownItems > 0) {
            printLine(
              `  ${report.unknownItems} interactions named items not in the catalog and were skipped (e.g. ${report.unknownItemExamples.join(", ")}).`,
            );
          }
          if (report.duplicates > 0)
            printLine(`  ${report.duplicates} duplicate user-item interactions: the latest kept.`);
          if (report.updated > 0)
            printLine(`  ${report.updated} saved interactions were replaced by newer ones.`);
          printLine(
            `  blend: content weight ${report.blendWeight} (${report.blendSource}${
              report.blendCurve.length > 0
                ? `; validation NDCG@10 ${report.blendCurve.map((p) => `${p.weight}:${p.ndcg.toFixed(3)}`).join(" ")}`
                : ""
            }).`,
          );
        } finally {
          bar.stop();
          await embedder.close();
        }
      });
    });
}

function userSubcommand(): Command {
  return addUserOptions(
    new Command("user")
      .description("Recommend items for a known user (items they interacted with are excluded by default).")
      .argument("<name>", "recommender name")
      .argument("<userId>", "user id as in the interactions file"),
  )
    .addHelpText(
      "after",
      `
Examples:
  embedkit recommend user movies 42 -k 10
  embedkit recommend user movies 42 --diversity 0.3 --filter "year>=2000" --json
  embedkit recommend user movies someone-new --fallback popular`,
    )
    .action(async (name: string, user: string, options: UserOptions) => {
      await withRecommender(name, options, async (recommender) => {
        print(recommender.recommendForUser(user, userOptions(options)), { user }, options);
      });
    });
}

async function readUsersFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new EmbedkitError("FILE_NOT_FOUND", `The users file ${path} cannot be read.`, { cause: error });
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

function usersSubcommand(): Command {
  return addUserOptions(
    new Command("users")
      .description(
        'Recommend for many users in one run: one JSON line per user, {"user", "items": [{"id", "score"}]}.',
      )
      .argument("<name>", "recommender name")
      .option("--all", "every user with interactions")
      .option("--users-file <file>", "user ids, one per line")
      .option("-o, --out <file>", "write the JSON lines here (atomically) instead of stdout"),
  )
    .addHelpText(
      "after",
      `
Examples:
  embedkit recommend users movies --all -k 10 --out recs.jsonl
  embedkit recommend users movies --users-file ids.txt --fallback popular`,
    )
    .action(async (name: string, options: UsersOptions) => {
      if ((options.all === true) === (options.usersFile !== undefined)) {
        throw new EmbedkitError("INVALID_OPTION", "Give exactly one of --all or --users-file <file>.");
      }
      const listed = options.usersFile === undefined ? undefined : await readUsersFile(options.usersFile);
      await withRecommender(name, options, async (recommender) => {
        const users = listed ?? recommender.userIds();
        const recommendOptions = userOptions(options);
        // Validate every listed user before writing anything.
        if (recommendOptions.fallback !== "popular") {
          const unknown = users.filter((user) => !recommender.hasUser(user));
          if (unknown.length > 0) {
            throw new EmbedkitError(
              "INVALID_INPUT",
              `Unknown user ${JSON.stringify(unknown[0])}${unknown.length > 1 ? ` (and ${unknown.length - 1} more)` : ""} in ${options.usersFile}; remove them or use --fallback popular.`,
              { details: { param: "user", user: unknown[0] } },
            );
          }
        }
        const temporary = options.out === undefined ? undefined : `${options.out}.${process.pid}.tmp`;
        const stream = temporary === undefined ? process.stdout : createWriteStream(temporary);
        const bar = createProgressBar({ unit: "users", quiet: options.quiet ?? false });
        bar.start(users.length, `recommend ${name}`);
        try {
          for (let index = 0; index < users.length; index++) {
            const user = users[index] as string;
            const result = recommender.recommendForUser(user, recommendOptions);
            const line = JSON.stringify({
              user,
              ...(result.source === "popular" ? { source: "popular" } : {}),
              items: result.items.map((item) => ({ id: item.id, score: item.score })),
            });
            if (!stream.write(`${line}\n`)) await once(stream, "drain");
            if (index % 100 === 0) bar.update(index + 1);
          }
          bar.update(users.length);
          if (temporary !== undefined && options.out !== undefined) {
            await new Promise<void>((resolve, reject) =>
              (stream as ReturnType<typeof createWriteStream>).end((error?: Error | null) =>
                error ? reject(error) : resolve(),
              ),
            );
            await rename(temporary, options.out);
          }
        } catch (error) {
          if (temporary !== undefined) {
            (stream as ReturnType<typeof createWriteStream>).destroy();
            await rm(temporary, { force: true });
          }
          throw error;
        } finally {
          bar.stop();
        }
        if (options.out !== undefined && !options.json)
          process.stderr.write(`Wrote recommendations for ${users.length} users to ${options.out}.\n`);
      });
    });
}

function itemSubcommand(): Command {
  return addListOptions(
    new Command("item")
      .description(
        "More like this item: content similarity blended with item-kNN neighbours (content only for items without interactions).",
      )
      .argument("<name>", "recommender name")
      .argument("<itemId>", "item id as in the catalog"),
  )
    .addHelpText(
      "after",
      `
Examples:
  embedkit recommend item books 1 -k 5
  embedkit recommend item movies 260 --diversity 0.5 --filter "year<2000"`,
    )
    .action(async (name: string, item: string, options: ListOptions) => {
      await withRecommender(name, options, async (recommender) => {
        print(recommender.similarItems(item, listOptions(options)), { item }, options);
      });
    });
}

function querySubcommand(): Command {
  return addListOptions(
    new Command("query")
      .description(
        "Items for a text intent, optionally blended with a user's profile (their seen items excluded).",
      )
      .argument("<name>", "recommender name")
      .argument("<text>", "what the user is looking for")
      .option("--user <id>", "blend with this user's profile")
      .option(
        "--query-weight <0..1>",
        "weight of the text against the profile (with --user)",
        parseUnit,
        0.5,
      ),
  )
    .addHelpText(
      "after",
      `
Examples:
  embedkit recommend query books "space opera with a rebellious AI" -k 5
  embedkit recommend query movies "space opera" --user 42 --json`,
    )
    .action(
      async (name: string, text: string, options: ListOptions & { user?: string; queryWeight: number }) => {
        await withRecommender(name, options, async (recommender) => {
          const result = await recommender.recommendForQuery(text, {
            ...listOptions(options),
            queryWeight: options.queryWeight,
            ...(options.user === undefined ? {} : { user: options.user }),
          });
          print(
            result,
            { query: text, ...(options.user === undefined ? {} : { user: options.user }) },
            options,
          );
        });
      },
    );
}

function newUserSubcommand(): Command {
  return addListOptions(
    new Command("new-user")
      .description("Cold start: recommend for someone without history from a few items they like.")
      .argument("<name>", "recommender name")
      .requiredOption("--liked <ids>", "comma-separated item ids the user likes"),
  )
    .addHelpText(
      "after",
      `
Examples:
  embedkit recommend new-user movies --liked 1,260,1196 -k 10`,
    )
    .action(async (name: string, options: ListOptions & { liked: string }) => {
      const liked = fields(options.liked);
      await withRecommender(name, options, async (recommender) => {
        print(recommender.recommendForNewUser(liked, listOptions(options)), { liked }, options);
      });
    });
}

/** Build the `recommend` command. */
export function recommendCommand(): Command {
  return new Command("recommend")
    .description(
      "Content-based and hybrid recommendations: index a catalog and interactions, then recommend for users, items, queries and new users.",
    )
    .addCommand(indexSubcommand())
    .addCommand(userSubcommand())
    .addCommand(usersSubcommand())
    .addCommand(itemSubcommand())
    .addCommand(querySubcommand())
    .addCommand(newUserSubcommand())
    .addHelpText(
      "after",
      `
Examples:
  embedkit recommend index movies --items movies.csv --id-field movieId --text-fields title,genres \\
      --interactions ratings.csv --user-field userId --item-field movieId --rating-field rating --time-field timestamp
  embedkit recommend user movies 42 -k 10
  embedkit recommend users movies --all --out recs.jsonl
  embedkit recommend item movies 260
  embedkit recommend query movies "space opera" --user 42
  embedkit recommend new-user movies --liked 1,260,1196
See docs/RECOMMEND.md.`,
    );
}
