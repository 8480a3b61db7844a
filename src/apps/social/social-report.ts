/**
 * @module apps/social/social-report
 * `report.html` of a social analysis: one self-contained page (inline SVG and
 * style, no script, no network) with the overview, topics over time as a
 * stacked area chart, sentiment over time per group, the 2-D topic map,
 * keyword bars per topic, movers, negative spikes with their posts, and example
 * posts. The bar chart, scatter plot, palette and page shell are the eval
 * reports' (`eval/report.ts`), so every embedkit report looks the same.
 */
import { barChart, escapeHtml, PALETTE, reportPage, scatterPlot } from "../../eval/report.js";
import type { AnalyzedPost, SocialAnalysis } from "./analyze.js";

/** Topics drawn as their own band/colour; the rest are summed as "other topics". */
const SHOWN_TOPICS = 8;
/** Most points drawn on the topic map (an even sample of the posts beyond that). */
const MAP_POINTS = 4000;
const OUTLIER_COLOUR = "#9ca3af";

function topicColour(rank: number): string {
  return rank < 0 ? OUTLIER_COLOUR : (PALETTE[rank % PALETTE.length] as string);
}

function percent(value: number | null): string {
  return value === null ? "–" : `${(100 * value).toFixed(1)} %`;
}

/** x positions and tick labels shared by the time charts. */
function timeAxis(buckets: readonly string[], left: number, width: number) {
  const n = buckets.length;
  const x = (b: number): number => (n === 1 ? left + width / 2 : left + (b * width) / (n - 1));
  const step = Math.max(1, Math.ceil(n / 8));
  const ticks = buckets
    .map((bucket, b) => (b % step === 0 || b === n - 1 ? { b, bucket } : undefined))
    .filter((tick): tick is { b: number; bucket: string } => tick !== undefined)
    .map(
      ({ b, bucket }) =>
        `<text x="${x(b).toFixed(1)}" y="0" class="axis" text-anchor="middle">${escapeHtml(bucket.length > 13 ? bucket.slice(5, 16) : bucket)}</text>`,
    );
  return { x, ticks };
}

/** Stacked areas of `series` (values per bucket) over `buckets`. */
/** The SVG around a time chart both charts share: title, frame, y-axis ends, x ticks and the series legend. */
function chartFrame(
  frame: {
    readonly title: string;
    readonly series: readonly { readonly label: string; readonly colour: string }[];
    readonly width: number;
    readonly height: number;
    readonly left: number;
    readonly top: number;
    readonly plotWidth: number;
    readonly plotHeight: number;
  },
  [yTop, yBottom]: readonly [string, string],
  body: readonly string[],
  ticks: readonly string[],
): string {
  const { title, series, width, height, left, top, plotWidth, plotHeight } = frame;
  const legend = series
    .map(
      (item, index) =>
        `<rect x="${left + plotWidth + 20}" y="${top + index * 18}" width="10" height="10" fill="${item.colour}"/><text x="${left + plotWidth + 36}" y="${top + 9 + index * 18}" class="label-left">${escapeHtml(item.label.slice(0, 32))}</text>`,
    )
    .join("");
  return (
    `<svg class="chart" role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<text x="0" y="16" class="title">${escapeHtml(title)}</text>` +
    `<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" class="frame"/>` +
    `<text x="${left - 6}" y="${top + 10}" class="axis" text-anchor="end">${yTop}</text><text x="${left - 6}" y="${top + plotHeight}" class="axis" text-anchor="end">${yBottom}</text>` +
    `${body.join("")}<g transform="translate(0 ${top + plotHeight + 16})">${ticks.join("")}</g>${legend}</svg>`
  );
}

function stackedAreaChart(options: {
  readonly title: string;
  readonly buckets: readonly string[];
  readonly series: readonly {
    readonly label: string;
    readonly colour: string;
    readonly values: readonly number[];
  }[];
}): string {
  const width = 980;
  const height = 320;
  const left = 50;
  const top = 28;
  const plotWidth = 700;
  const plotHeight = 240;
  const n = options.buckets.length;
  const totals = options.buckets.map((_, b) =>
    options.series.reduce((sum, item) => sum + (item.values[b] ?? 0), 0),
  );
  const max = Math.max(1, ...totals);
  const { x, ticks } = timeAxis(options.buckets, left, plotWidth);
  const y = (value: number): number => top + plotHeight - (value / max) * plotHeight;
  const below = new Array(n).fill(0);
  const areas = options.series.map((item) => {
    const lower = below.slice();
    const upper = lower.map((value, b) => value + (item.values[b] ?? 0));
    for (let b = 0; b < n; b++) below[b] = upper[b];
    // One bucket: draw a band of a few pixels' width so the area is visible.
    const xs = n === 1 ? [x(0) - 20, x(0) + 20] : options.buckets.map((_, b) => x(b));
    const up = n === 1 ? [upper[0], upper[0]] : upper;
    const down = n === 1 ? [lower[0], lower[0]] : lower;
    const points = [
      ...xs.map((px, i) => `${px.toFixed(1)},${y(up[i] as number).toFixed(1)}`),
      ...xs.map((px, i) => `${px.toFixed(1)},${y(down[i] as number).toFixed(1)}`).reverse(),
    ];
    return `<path class="area" d="M${points.join("L")}Z" fill="${item.colour}" fill-opacity="0.85"><title>${escapeHtml(item.label)}</title></path>`;
  });
  return chartFrame(
    { ...options, width, height, left, top, plotWidth, plotHeight },
    [String(max), "0"],
    areas,
    ticks,
  );
}

/** Lines of `series` (values in [0, 1] per bucket, gaps for null). */
function lineChart(options: {
  readonly title: string;
  readonly buckets: readonly string[];
  readonly series: readonly {
    readonly label: string;
    readonly colour: string;
    readonly values: readonly (number | null)[];
  }[];
}): string {
  const width = 980;
  const height = 300;
  const left = 50;
  const top = 28;
  const plotWidth = 700;
  const plotHeight = 220;
  const { x, ticks } = timeAxis(options.buckets, left, plotWidth);
  const y = (value: number): number => top + plotHeight - value * plotHeight;
  const lines = options.series.map((item) => {
    const dots: string[] = [];
    const segments: string[] = [];
    let current: string[] = [];
    item.values.forEach((value, b) => {
      if (value === null) {
        if (current.length > 1) segments.push(current.join(" "));
        current = [];
        return;
      }
      current.push(`${x(b).toFixed(1)},${y(value).toFixed(1)}`);
      dots.push(
        `<circle class="dot" cx="${x(b).toFixed(1)}" cy="${y(value).toFixed(1)}" r="3" fill="${item.colour}"><title>${escapeHtml(`${item.label} · ${options.buckets[b]}: ${percent(value)}`)}</title></circle>`,
      );
    });
    if (current.length > 1) segments.push(current.join(" "));
    return (
      segments
        .map(
          (points) =>
            `<polyline points="${points}" fill="none" stroke="${item.colour}" stroke-width="2" class="line"/>`,
        )
        .join("") + dots.join("")
    );
  });
  return chartFrame(
    { ...options, width, height, left, top, plotWidth, plotHeight },
    ["100 %", "0 %"],
    lines,
    ticks,
  );
}

function postRow(post: AnalyzedPost, topicLabel: (id: number) => string): string {
  return `<tr><td class="n">${post.row}</td><td>${escapeHtml(post.sentiment)}</td><td class="n">${post.sentimentScore.toFixed(2)}</td><td>${escapeHtml(topicLabel(post.topic))}</td>${post.group === undefined ? "" : `<td>${escapeHtml(post.group)}</td>`}<td>${escapeHtml(post.text)}</td></tr>`;
}

function postTable(posts: readonly AnalyzedPost[], topicLabel: (id: number) => string): string {
  const grouped = posts.some((post) => post.group !== undefined);
  return `<table><thead><tr><th>row</th><th>sentiment</th><th>score</th><th>topic</th>${grouped ? "<th>group</th>" : ""}<th>text</th></tr></thead><tbody>${posts
    .map((post) => postRow(post, topicLabel))
    .join("")}</tbody></table>`;
}

/**
 * Render `report.html` of an analysis.
 *
 * @example
 * ```ts
 * await writeFile("report.html", renderSocialReport(analysis));
 * ```
 */
export function renderSocialReport(analysis: SocialAnalysis): string {
  const { summary, trends, posts } = analysis;
  const real = analysis.topics.filter((topic) => topic.id >= 0);
  const rankOf = new Map(real.map((topic, rank) => [topic.id, rank]));
  const labelOf = new Map(analysis.topics.map((topic) => [topic.id, topic.label]));
  const topicLabel = (id: number): string => (id < 0 ? "outliers" : `#${id} ${labelOf.get(id) ?? ""}`);
  const colourOf = (id: number): string => {
    const rank = rankOf.get(id);
    return rank === undefined || rank >= SHOWN_TOPICS ? OUTLIER_COLOUR : topicColour(rank);
  };
  const parts: string[] = [];
  parts.push(`<h1>Social analysis · ${escapeHtml(summary.file)}</h1>`);
  const sentimentLine = Object.entries(summary.sentiment)
    .map(([label, count]) => `${escapeHtml(label)} ${count} (${percent(count / Math.max(1, summary.posts))})`)
    .join(" · ");
  parts.push(
    `<table><tbody><tr><th>posts</th><td class="n">${summary.posts}</td></tr><tr><th>empty texts skipped</th><td class="n">${summary.emptyTexts}</td></tr><tr><th>unreadable timestamps skipped</th><td class="n">${summary.invalidTimestamps}</td></tr>` +
      `<tr><th>languages</th><td>${escapeHtml(JSON.stringify(summary.languages))}</td></tr><tr><th>models</th><td>${escapeHtml(Object.values(summary.models).join(", "))}</td></tr>` +
      `<tr><th>sentiment</th><td>${sentimentLine}</td></tr><tr><th>topics</th><td class="n">${summary.topics} (+ ${summary.outliers} outlier posts)</td></tr>` +
      (summary.time === undefined
        ? ""
        : `<tr><th>time</th><td>${escapeHtml(`${summary.time.from} – ${summary.time.to}, ${summary.time.buckets} ${summary.time.bucket} buckets (${summary.time.timeZone})`)}</td></tr>`) +
      `</tbody></table>`,
  );

  if (trends !== undefined) {
    parts.push("<h2>Topics over time</h2>");
    const shown = real.slice(0, SHOWN_TOPICS);
    const otherValues = trends.buckets.map(
      (_, b) =>
        (trends.overall.posts[b] as number) -
        shown.reduce(
          (sum, topic) =>
            sum + (trends.topics.find((entry) => entry.topic === topic.id)?.overall.posts[b] ?? 0),
          0,
        ),
    );
    parts.push(
      stackedAreaChart({
        title: `Posts per ${summary.time?.bucket ?? "bucket"} by topic`,
        buckets: trends.buckets,
        series: [
          ...shown.map((topic, rank) => ({
            label: `#${topic.id} ${topic.label}`,
            colour: topicColour(rank),
            values: trends.topics.find((entry) => entry.topic === topic.id)?.overall.posts ?? [],
          })),
          ...(otherValues.some((value) => value > 0)
            ? [{ label: "other topics + outliers", colour: OUTLIER_COLOUR, values: otherValues }]
            : []),
        ],
      }),
    );
    parts.push("<h2>Sentiment over time</h2>");
    parts.push(
      lineChart({
        title: "Share of negative posts per bucket",
        buckets: trends.buckets,
        series: [
          { label: "all posts", colour: "#111827", values: trends.overall.negativeShare },
          ...trends.groups.slice(0, PALETTE.length).map((group, index) => ({
            label: group.name,
            colour: PALETTE[index % PALETTE.length] as string,
            values: group.negativeShare,
          })),
        ],
      }),
    );
    if (trends.movers.length > 0) {
      parts.push(
        `<h3>Emerging and fading topics (latest bucket vs trailing window)</h3><table><thead><tr><th>topic</th><th>direction</th><th>share</th><th>trailing share</th><th>growth</th><th>z</th></tr></thead><tbody>${trends.movers
          .slice(0, 15)
          .map(
            (mover) =>
              `<tr><td>${escapeHtml(topicLabel(mover.topic))}</td><td>${mover.direction}</td><td class="n">${percent(mover.share)}</td><td class="n">${percent(mover.trailingShare)}</td><td class="n">${mover.growth.toFixed(2)}×</td><td class="n">${mover.z.toFixed(1)}</td></tr>`,
          )
          .join("")}</tbody></table>`,
      );
    }
    parts.push("<h3>Spikes in negative share</h3>");
    if (trends.spikes.length === 0) parts.push(`<p class="muted">No bucket stands out (z ≥ threshold).</p>`);
    for (const spike of trends.spikes.slice(0, 10)) {
      parts.push(
        `<details><summary>${escapeHtml(spike.group ?? "all posts")} · ${escapeHtml(spike.bucket)}: ${percent(spike.negativeShare)} negative vs ${percent(spike.baselineShare)} elsewhere (z ${spike.z.toFixed(1)}, ${spike.posts} posts)</summary>${postTable(
          spike.examples.map((index) => posts[index] as AnalyzedPost),
          topicLabel,
        )}</details>`,
      );
    }
    const peaks = trends.peaks
      .map(
        (peak) =>
          `<tr><td>${escapeHtml(peak.group ?? "all posts")}</td><td>${escapeHtml(peak.bucket)}</td><td class="n">${percent(peak.negativeShare)}</td><td class="n">${peak.posts}</td></tr>`,
      )
      .join("");
    parts.push(
      `<h3>Where negative share peaked</h3><table><thead><tr><th>series</th><th>bucket</th><th>negative</th><th>posts</th></tr></thead><tbody>${peaks}</tbody></table>`,
    );
  }

  parts.push("<h2>Topic map</h2>");
  const stride = Math.max(1, Math.ceil(posts.length / MAP_POINTS));
  const points: { x: number; y: number; colour: string; tip: string }[] = [];
  for (let index = 0; index < posts.length; index += stride) {
    const post = posts[index] as AnalyzedPost;
    points.push({
      x: analysis.map[2 * index] as number,
      y: analysis.map[2 * index + 1] as number,
      colour: colourOf(post.topic),
      tip: `${topicLabel(post.topic)} · ${post.text.slice(0, 120)}`,
    });
  }
  parts.push(
    scatterPlot({
      title: `Posts in 2-D (UMAP of the embeddings)${stride > 1 ? `, every ${stride}th post` : ""}`,
      xLabel: "x",
      yLabel: "y",
      points,
      size: 520,
      legend: [
        ...real.slice(0, SHOWN_TOPICS).map((topic, rank) => ({
          label: `#${topic.id} ${topic.label}`.slice(0, 26),
          colour: topicColour(rank),
        })),
        { label: "other / outliers", colour: OUTLIER_COLOUR },
      ],
    }),
  );

  parts.push("<h2>Topics</h2>");
  parts.push(
    `<table><thead><tr><th>topic</th><th>posts</th><th>negative</th><th>mean score</th><th>keywords</th></tr></thead><tbody>${analysis.topics
      .map(
        (topic) =>
          `<tr><td>${escapeHtml(topicLabel(topic.id))}</td><td class="n">${topic.size}</td><td class="n">${percent((topic.sentiment.counts.negative ?? 0) / Math.max(1, topic.size))}</td><td class="n">${topic.sentiment.meanScore.toFixed(2)}</td><td>${escapeHtml(topic.keywords.join(", "))}</td></tr>`,
      )
      .join("")}</tbody></table>`,
  );
  parts.push('<div class="grid">');
  for (const topic of real.slice(0, 12)) {
    if (topic.keywords.length === 0) continue;
    parts.push(
      barChart(
        `#${topic.id} ${topic.label} (${topic.size} posts)`,
        topic.keywords
          .slice(0, 10)
          .map((word, index) => ({ label: word, value: topic.keywordScores[index] ?? 0 })),
      ),
    );
  }
  parts.push("</div>");
  parts.push("<h2>Example posts</h2>");
  for (const topic of analysis.topics.slice(0, 20)) {
    if (topic.examples.length === 0) continue;
    parts.push(
      `<details${topic.id === real[0]?.id ? " open" : ""}><summary>${escapeHtml(topicLabel(topic.id))} · ${topic.size} posts</summary>${postTable(
        topic.examples.map((index) => posts[index] as AnalyzedPost),
        topicLabel,
      )}</details>`,
    );
  }
  return reportPage(`Social analysis · ${summary.file}`, parts.join(""));
}
