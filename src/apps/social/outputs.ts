/**
 * @module apps/social/outputs
 * The files of a social analysis: `posts.jsonl` and `posts.csv` (every input
 * field passed through, plus `sentiment`, `sentiment_score`, `topic`),
 * `topics.json`, `summary.json` and the self-contained `report.html`. All five
 * are rendered in memory before the first is written, and each replaces its
 * previous version atomically (`internal/atomic-write`), so a failure never
 * leaves a half-written file or a mix of two runs' rendering errors.
 */
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { EmbedkitError } from "../../errors.js";
import { writeFileAtomic } from "../../internal/atomic-write.js";
import type { AnalyzedPost, SocialAnalysis, SocialTopic } from "./analyze.js";
import type { FieldValue } from "./social-input.js";
import { renderSocialReport } from "./social-report.js";

/** Names of the files {@link writeSocialOutputs} writes. */
export const SOCIAL_OUTPUT_FILES = Object.freeze([
  "posts.jsonl",
  "posts.csv",
  "topics.json",
  "summary.json",
  "report.html",
] as const);

/** A post as shown in examples and spikes. */
export interface ExamplePost {
  readonly row: number;
  readonly id?: string;
  readonly text: string;
  readonly sentiment: string;
  readonly sentiment_score: number;
  readonly topic: number;
  readonly group?: string;
  readonly time?: string;
}

/** A post of `posts` as an {@link ExamplePost}. */
export function examplePost(post: AnalyzedPost): ExamplePost {
  return {
    row: post.row,
    ...(post.id === undefined ? {} : { id: post.id }),
    text: post.text,
    sentiment: post.sentiment,
    sentiment_score: round(post.sentimentScore),
    topic: post.topic,
    ...(post.group === undefined ? {} : { group: post.group }),
    ...(post.time === undefined ? {} : { time: new Date(post.time).toISOString() }),
  };
}

function round(value: number, digits = 4): number {
  return Number(value.toFixed(digits));
}

function csvCell(value: FieldValue | undefined): string {
  if (value === undefined || value === null) return "";
  const text =
    typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** topics.json: the shape, plus keyword scores and sentiment over time. */
export function topicsJson(analysis: SocialAnalysis): unknown {
  const trends = analysis.trends;
  const labels = analysis.sentimentLabels;
  return {
    topics: analysis.topics.map((topic: SocialTopic) => {
      const series = trends?.topics.find((entry) => entry.topic === topic.id);
      return {
        id: topic.id,
        size: topic.size,
        keywords: topic.keywords,
        keyword_scores: topic.keywordScores.map((score) => round(score)),
        label: topic.label,
        language: topic.language,
        examples: topic.examples.map((index) => examplePost(analysis.posts[index] as AnalyzedPost)),
        sentiment: { ...topic.sentiment.counts, mean_score: round(topic.sentiment.meanScore) },
        over_time:
          trends === undefined || series === undefined
            ? []
            : trends.buckets.map((bucket, b) => ({
                bucket,
                posts: series.overall.posts[b],
                ...Object.fromEntries(
                  labels.map((label) => [label, series.overall.sentiment[label]?.[b] ?? 0]),
                ),
                mean_score:
                  series.overall.meanScore[b] === null ? null : round(series.overall.meanScore[b] as number),
              })),
        ...(series === undefined || Object.keys(series.groups).length === 0
          ? {}
          : { over_time_by_group: series.groups }),
      };
    }),
  };
}

/** Per group: posts, negative share and its three biggest topics (for the summary). */
export function groupOverview(analysis: SocialAnalysis): {
  group: string;
  posts: number;
  negative_share: number;
  top_topics: { id: number; label: string; posts: number }[];
}[] {
  const groups = new Map<string, AnalyzedPost[]>();
  for (const post of analysis.posts) {
    if (post.group === undefined) continue;
    const list = groups.get(post.group) ?? [];
    list.push(post);
    groups.set(post.group, list);
  }
  const labelOf = new Map(analysis.topics.map((topic) => [topic.id, topic.label]));
  return [...groups.entries()]
    .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))
    .map(([group, posts]) => {
      const counts = new Map<number, number>();
      for (const post of posts)
        if (post.topic >= 0) counts.set(post.topic, (counts.get(post.topic) ?? 0) + 1);
      return {
        group,
        posts: posts.length,
        negative_share: round(posts.filter((post) => post.sentiment === "negative").length / posts.length),
        top_topics: [...counts.entries()]
          .sort((a, b) => b[1] - a[1] || a[0] - b[0])
          .slice(0, 3)
          .map(([id, count]) => ({ id, label: labelOf.get(id) ?? "", posts: count })),
      };
    });
}

/** summary.json: the run's numbers, groups, movers, spikes (with their posts) and peaks. */
export function summaryJson(analysis: SocialAnalysis): unknown {
  const labelOf = new Map(analysis.topics.map((topic) => [topic.id, topic.label]));
  const trends = analysis.trends;
  return {
    ...analysis.summary,
    options: analysis.options,
    top_topics: analysis.topics
      .filter((topic) => topic.id >= 0)
      .slice(0, 10)
      .map((topic) => ({
        id: topic.id,
        size: topic.size,
        label: topic.label,
        keywords: topic.keywords.slice(0, 10),
      })),
    groups: groupOverview(analysis),
    ...(trends === undefined
      ? {}
      : {
          movers: trends.movers.map((mover) => ({
            ...mover,
            label: labelOf.get(mover.topic) ?? "",
            share: round(mover.share),
            trailingShare: round(mover.trailingShare),
            growth: round(mover.growth),
            z: round(mover.z, 2),
          })),
          negative_spikes: trends.spikes.map((spike) => ({
            ...spike,
            negativeShare: round(spike.negativeShare),
            baselineShare: round(spike.baselineShare),
            z: round(spike.z, 2),
            examples: spike.examples.map((index) => examplePost(analysis.posts[index] as AnalyzedPost)),
            topics: spike.topics
              .slice(0, 5)
              .map((entry) => ({ ...entry, label: labelOf.get(entry.topic) ?? "" })),
          })),
          negative_peaks: trends.peaks.map((peak) => ({ ...peak, negativeShare: round(peak.negativeShare) })),
        }),
  };
}

/** The rendered content of every output file (nothing written). */
export function renderSocialOutputs(
  analysis: SocialAnalysis,
): Record<(typeof SOCIAL_OUTPUT_FILES)[number], string> {
  const added = (post: AnalyzedPost) => ({
    sentiment: post.sentiment,
    sentiment_score: round(post.sentimentScore),
    topic: post.topic,
  });
  const jsonl = analysis.posts.map((post) => JSON.stringify({ ...post.fields, ...added(post) })).join("\n");
  const header = [...analysis.columns, "sentiment", "sentiment_score", "topic"];
  const csvRows = [header.map((name) => csvCell(name)).join(",")];
  for (const post of analysis.posts) {
    const extra = added(post);
    csvRows.push(
      [
        ...analysis.columns.map((column) => csvCell(post.fields[column])),
        csvCell(extra.sentiment),
        String(extra.sentiment_score),
        String(extra.topic),
      ].join(","),
    );
  }
  return {
    "posts.jsonl": `${jsonl}\n`,
    "posts.csv": `${csvRows.join("\r\n")}\r\n`,
    "topics.json": `${JSON.stringify(topicsJson(analysis), null, 2)}\n`,
    "summary.json": `${JSON.stringify(summaryJson(analysis), null, 2)}\n`,
    "report.html": renderSocialReport(analysis),
  };
}

/**
 * Write the outputs of an analysis into folder `out` (created when missing).
 *
 * @throws EmbedkitError INVALID_OPTION when `out` is a file; FILE_NOT_FOUND-style
 *   write errors from the atomic writer (nothing half-written)
 * @example
 * ```ts
 * await writeSocialOutputs(await analyzeSocialPosts("Tweets.csv", { timeField: "tweet_created" }), "out/");
 * ```
 */
export async function writeSocialOutputs(analysis: SocialAnalysis, out: string): Promise<string[]> {
  const existing = await stat(out).catch(() => undefined);
  if (existing !== undefined && !existing.isDirectory()) {
    throw new EmbedkitError("INVALID_OPTION", `--out ${out} is a file; give a folder for the outputs.`, {
      details: { param: "out", path: out },
    });
  }
  const contents = renderSocialOutputs(analysis);
  await mkdir(out, { recursive: true });
  const written: string[] = [];
  for (const name of SOCIAL_OUTPUT_FILES) {
    const path = join(out, name);
    await writeFileAtomic(path, contents[name], { hint: `Check that ${out} is writable.` });
    written.push(path);
  }
  return written;
}
