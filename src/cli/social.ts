/**
 * @module cli/social
 * `embedkit social analyze <file>`: sentiment, topics and trends of a
 * social-media export, written to `--out` (posts.jsonl, posts.csv,
 * topics.json, summary.json, report.html) with a short summary on stdout.
 * Thin: parse → src/apps/social → print.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import {
  type AnalyzeSocialOptions,
  analyzeSocialPosts,
  type SocialAnalysis,
} from "../apps/social/analyze.js";
import { groupOverview, summaryJson, writeSocialOutputs } from "../apps/social/outputs.js";
import { BUCKETS, type Bucket } from "../apps/social/timestamps.js";
import { openEmbedder } from "./context.js";
import {
  createProgressBar,
  parseNonNegativeInteger,
  parsePositiveInteger,
  printJson,
  printLine,
} from "./io.js";

interface AnalyzeCommandOptions {
  readonly textField: string;
  readonly timeField?: string;
  readonly groupField?: string;
  readonly idField?: string;
  readonly lang: "auto" | "en" | "zh";
  readonly topics: number | "auto";
  readonly bucket: Bucket | "auto";
  readonly seed: number;
  readonly classifier?: string;
  readonly skipInvalid?: boolean;
  readonly window: number;
  readonly out: string;
  readonly cache: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly home?: string;
}

function parseTopics(value: string): number | "auto" {
  if (value.trim().toLowerCase() === "auto") return "auto";
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1 || parsed > 500) {
    throw new InvalidArgumentError('must be "auto" or an integer from 1 to 500.');
  }
  return parsed;
}

function percent(value: number): string {
  return `${(100 * value).toFixed(1)} %`;
}

/** The short human summary printed after a run. */
export function humanSummary(analysis: SocialAnalysis, out: string): string[] {
  const { summary, trends } = analysis;
  const lines: string[] = [];
  const sentiment = Object.entries(summary.sentiment)
    .map(([label, count]) => `${label} ${percent(count / summary.posts)}`)
    .join(", ");
  lines.push(
    `${summary.posts} posts (${summary.emptyTexts} empty skipped${summary.invalidTimestamps > 0 ? `, ${summary.invalidTimestamps} with unreadable time skipped` : ""}); ${summary.embedding.embedded} embedded, ${summary.embedding.cached} from cache.`,
  );
  lines.push(`Sentiment: ${sentiment}.`);
  lines.push(`Topics: ${summary.topics} (+ ${summary.outliers} outlier posts). Top:`);
  for (const topic of analysis.topics.filter((item) => item.id >= 0).slice(0, 5)) {
    lines.push(
      `  #${topic.id} ${topic.label} — ${topic.size} posts, ${percent((topic.sentiment.counts.negative ?? 0) / Math.max(1, topic.size))} negative: ${topic.keywords.slice(0, 8).join(", ")}`,
    );
  }
  const groups = groupOverview(analysis);
  if (groups.length > 0) {
    lines.push("By group:");
    for (const group of groups.slice(0, 10)) {
      lines.push(
        `  ${group.group}: ${group.posts} posts, ${percent(group.negative_share)} negative; ${group.top_topics.map((topic) => `#${topic.id} ${topic.label}`).join(" | ")}`,
      );
    }
  }
  if (trends !== undefined && summary.time !== undefined) {
    lines.push(
      `Time: ${summary.time.buckets} ${summary.time.bucket} buckets (${summary.time.timeZone}), ${summary.time.from} – ${summary.time.to}.`,
    );
    const labelOf = new Map(analysis.topics.map((topic) => [topic.id, topic.label]));
    const movers = trends.movers.slice(0, 5);
    if (movers.length > 0) {
      lines.push(`Movers in ${movers[0]?.bucket}:`);
      for (const mover of movers) {
        lines.push(
          `  ${mover.direction} #${mover.topic} ${labelOf.get(mover.topic) ?? ""}: ${percent(mover.share)} vs ${percent(mover.trailingShare)} (z ${mover.z.toFixed(1)})`,
        );
      }
    }
    const peak = trends.peaks.find((item) => item.group === null);
    if (peak !== undefined) {
      lines.push(
        `Negative share peaked on ${peak.bucket}: ${percent(peak.negativeShare)} of ${peak.posts} posts.`,
      );
    }
    for (const spike of trends.spikes.slice(0, 5)) {
      lines.push(
        `  spike: ${spike.group ?? "all posts"} ${spike.bucket} ${percent(spike.negativeShare)} negative vs ${percent(spike.baselineShare)} (z ${spike.z.toFixed(1)})`,
      );
    }
  }
  lines.push(`Wrote ${out}/posts.jsonl, posts.csv, topics.json, summary.json, report.html`);
  return lines;
}

async function runAnalyze(file: string, options: AnalyzeCommandOptions): Promise<void> {
  const quiet = options.quiet ?? false;
  const bar = createProgressBar({ unit: "items", quiet });
  let stage = "";
  const settings: AnalyzeSocialOptions = {
    textField: options.textField,
    lang: options.lang,
    topics: options.topics,
    bucket: options.bucket,
    seed: options.seed,
    trailingBuckets: options.window,
    skipInvalid: options.skipInvalid ?? false,
    ...(options.timeField === undefined ? {} : { timeField: options.timeField }),
    ...(options.groupField === undefined ? {} : { groupField: options.groupField }),
    ...(options.idField === undefined ? {} : { idField: options.idField }),
    ...(options.classifier === undefined ? {} : { classifier: options.classifier }),
    ...(options.cache ? {} : { cacheDir: false }),
    openEmbedder: (model) =>
      openEmbedder({ model, quiet, ...(options.home === undefined ? {} : { home: options.home }) }),
    onProgress: (next, done, total) => {
      if (next !== stage) {
        bar.stop();
        bar.start(total, next);
        stage = next;
      }
      bar.update(done, total);
    },
  };
  let analysis: SocialAnalysis;
  try {
    analysis = await analyzeSocialPosts(file, settings);
  } finally {
    bar.stop();
  }
  await writeSocialOutputs(analysis, options.out);
  if (options.json) {
    printJson(summaryJson(analysis));
    return;
  }
  for (const line of humanSummary(analysis, options.out)) printLine(line);
}

/** Build the `social` command. */
export function socialCommand(): Command {
  const command = new Command("social").description(
    "Social-media analysis: sentiment, topics and trends over time of a CSV/TSV/JSONL export, with an HTML report.",
  );
  command
    .command("analyze")
    .description(
      "Analyse the posts of a file: sentiment, topics (BERTopic-style), trends; write outputs to --out.",
    )
    .argument("<file>", "posts as .csv, .tsv or .jsonl (UTF-8)")
    .option("--text-field <name>", "field/column with the post text", "text")
    .option(
      "--time-field <name>",
      "field/column with the post time (ISO 8601, epoch s/ms, '2015-02-24 11:35:52 -0800'); enables trends",
    )
    .option("--group-field <name>", "field/column to compare groups by (brand, airline, product…)")
    .option("--id-field <name>", "field/column with the post id (shown with examples)")
    .addOption(
      new Option("--lang <lang>", "post language (auto decides per post)")
        .choices(["auto", "en", "zh"])
        .default("auto"),
    )
    .option(
      "--topics <n|auto>",
      "number of topics, or auto (density clustering decides)",
      parseTopics,
      "auto",
    )
    .addOption(
      new Option("--bucket <size>", "time bucket of trends").choices([...BUCKETS, "auto"]).default("auto"),
    )
    .option("--seed <n>", "seed of every random step (same seed, same result)", parseNonNegativeInteger, 42)
    .option(
      "--window <n>",
      "trailing buckets that emerging/fading topics are compared with",
      parsePositiveInteger,
      3,
    )
    .option(
      "--classifier <dir>",
      "sentiment head from `embedkit train classifier` instead of the shipped heads",
    )
    .option("--skip-invalid", "skip (and count) posts whose time cannot be read instead of failing")
    .option("-o, --out <dir>", "output folder", "social-out")
    .option("--no-cache", "do not read or write the embedding cache")
    .option("--json", "print summary.json instead of the human summary")
    .option("-q, --quiet", "no progress bars")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .addHelpText(
      "after",
      `
Outputs in --out: posts.jsonl and posts.csv (every input column + sentiment, sentiment_score, topic),
topics.json, summary.json, report.html (open it in a browser; no network needed).

Examples:
  embedkit social analyze Tweets.csv --time-field tweet_created --group-field airline --id-field tweet_id --out airline/
  embedkit social analyze weibo.jsonl --lang zh --topics 20 --out weibo/
  embedkit social analyze posts.csv --text-field body --classifier my-head/ --time-field created --bucket week
  embedkit social analyze export.csv --time-field date --skip-invalid --json`,
    )
    .action(async (file: string, options: AnalyzeCommandOptions) => {
      await runAnalyze(file, options);
    });
  return command;
}
