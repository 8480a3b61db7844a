/**
 * @module apps/social/trends
 * Trends over time from labelled, bucketed posts: counts and sentiment per
 * bucket overall, per group and per topic; emerging and fading topics (a
 * topic's share of the latest bucket against its share over a trailing window
 * of buckets, as a z-score with the binomial standard error of the latest
 * bucket); and spikes in negative share (a bucket's share of negative posts
 * against the share in all other buckets of the same series, z-score again),
 * each with the posts behind it. Pure computation on indices; no I/O.
 */

/** What trends need to know about one post. */
export interface TrendPost {
  /** Index of the post's bucket in {@link ComputeTrendsOptions.buckets}. */
  readonly bucket: number;
  readonly topic: number;
  /** Group value (`--group-field`), when grouping. */
  readonly group?: string;
  readonly sentiment: string;
  /** Sentiment score in [-1, 1] (lower = more negative). */
  readonly score: number;
}

/** Counts and sentiment of one series, one value per bucket. */
export interface SeriesCounts {
  readonly posts: number[];
  /** Posts per sentiment label, per bucket. */
  readonly sentiment: Record<string, number[]>;
  /** Mean sentiment score per bucket (`null` for an empty bucket). */
  readonly meanScore: (number | null)[];
  /** Negative posts / posts per bucket (`null` for an empty bucket). */
  readonly negativeShare: (number | null)[];
}

/** A topic whose share of the latest bucket moved against the trailing window. */
export interface TopicMovement {
  readonly topic: number;
  readonly direction: "emerging" | "fading";
  /** Label of the latest bucket. */
  readonly bucket: string;
  /** Share of the latest bucket's posts. */
  readonly share: number;
  /** Share over the trailing window. */
  readonly trailingShare: number;
  /** share / trailingShare. */
  readonly growth: number;
  readonly z: number;
}

/** A bucket whose negative share stands out from the rest of its series. */
export interface NegativeSpike {
  /** The group (`null` = all posts). */
  readonly group: string | null;
  readonly bucket: string;
  readonly posts: number;
  readonly negative: number;
  readonly negativeShare: number;
  /** Negative share of the other buckets of the series. */
  readonly baselineShare: number;
  readonly z: number;
  /** The most negative posts of the bucket (post indices), most negative first. */
  readonly examples: number[];
  /** Topics of the bucket's negative posts, most frequent first. */
  readonly topics: { readonly topic: number; readonly negative: number }[];
}

/** The bucket with the highest negative share of a series. */
export interface NegativePeak {
  readonly group: string | null;
  readonly bucket: string;
  readonly negativeShare: number;
  readonly posts: number;
}

/** Everything {@link computeTrends} returns. */
export interface Trends {
  readonly buckets: readonly string[];
  readonly overall: SeriesCounts;
  readonly groups: readonly ({ readonly name: string } & SeriesCounts)[];
  /** Per topic: counts overall and per group. */
  readonly topics: readonly {
    readonly topic: number;
    readonly overall: SeriesCounts;
    readonly groups: Readonly<Record<string, number[]>>;
  }[];
  readonly movers: readonly TopicMovement[];
  readonly spikes: readonly NegativeSpike[];
  /** Overall first, then each group. */
  readonly peaks: readonly NegativePeak[];
}

/** Options of {@link computeTrends}. */
export interface ComputeTrendsOptions {
  /** Bucket labels, in time order. */
  readonly buckets: readonly string[];
  readonly posts: readonly TrendPost[];
  /** Sentiment labels to count (others are counted under their own name too). */
  readonly labels: readonly string[];
  /** Buckets before the latest one that form the trailing window. @default 3 */
  readonly trailingBuckets?: number;
  /** |z| from which a topic is a mover. @default 2 */
  readonly moverZ?: number;
  /** z from which a negative share is a spike. @default 3 */
  readonly spikeZ?: number;
  /** Fewest posts a bucket needs to be a spike or a peak. @default 10 */
  readonly minBucketPosts?: number;
  /** Example posts per spike. @default 5 */
  readonly spikeExamples?: number;
}

function emptySeries(buckets: number, labels: readonly string[]): SeriesCounts {
  return {
    posts: new Array(buckets).fill(0),
    sentiment: Object.fromEntries(labels.map((label) => [label, new Array(buckets).fill(0)])),
    meanScore: new Array(buckets).fill(null),
    negativeShare: new Array(buckets).fill(null),
  };
}

function addTo(series: SeriesCounts, post: TrendPost, sums: number[]): void {
  const b = post.bucket;
  series.posts[b] = (series.posts[b] as number) + 1;
  let counts = series.sentiment[post.sentiment];
  if (counts === undefined) {
    counts = new Array(series.posts.length).fill(0);
    series.sentiment[post.sentiment] = counts;
  }
  counts[b] = (counts[b] as number) + 1;
  sums[b] = (sums[b] as number) + post.score;
}

function finish(series: SeriesCounts, sums: number[]): void {
  const negative = series.sentiment.negative;
  series.posts.forEach((count, b) => {
    if (count === 0) return;
    series.meanScore[b] = (sums[b] as number) / count;
    series.negativeShare[b] = negative === undefined ? 0 : (negative[b] as number) / count;
  });
}

/** z of an observed share against a reference share, binomial standard error of n draws. */
function shareZ(observed: number, reference: number, n: number, referenceCount: number): number {
  // Keep the reference off 0 and 1 so a share that was never seen still has a finite z.
  const floor = 0.5 / Math.max(1, referenceCount);
  const p = Math.min(1 - floor, Math.max(floor, reference));
  return (observed - p) / Math.sqrt((p * (1 - p)) / n);
}

/**
 * Compute trends (see the module comment for the method).
 *
 * @example
 * ```ts
 * const trends = computeTrends({ buckets: ["2015-02-23", "2015-02-24"], labels: ["negative", "neutral", "positive"],
 *   posts: [{ bucket: 0, topic: 2, sentiment: "negative", score: -0.8 }, …] });
 * ```
 */
export function computeTrends(options: ComputeTrendsOptions): Trends {
  const { buckets, posts, labels } = options;
  const n = buckets.length;
  const trailing = options.trailingBuckets ?? 3;
  const moverZ = options.moverZ ?? 2;
  const spikeZ = options.spikeZ ?? 3;
  const minPosts = options.minBucketPosts ?? 10;
  const exampleCount = options.spikeExamples ?? 5;
  const overall = emptySeries(n, labels);
  const overallSums = new Array(n).fill(0);
  const groups = new Map<string, { series: SeriesCounts; sums: number[] }>();
  const topics = new Map<
    number,
    { series: SeriesCounts; sums: number[]; groups: Record<string, number[]> }
  >();
  for (const post of posts) {
    addTo(overall, post, overallSums);
    let topic = topics.get(post.topic);
    if (topic === undefined) {
      topic = { series: emptySeries(n, labels), sums: new Array(n).fill(0), groups: {} };
      topics.set(post.topic, topic);
    }
    addTo(topic.series, post, topic.sums);
    if (post.group !== undefined) {
      let group = groups.get(post.group);
      if (group === undefined) {
        group = { series: emptySeries(n, labels), sums: new Array(n).fill(0) };
        groups.set(post.group, group);
      }
      addTo(group.series, post, group.sums);
      let counts = topic.groups[post.group];
      if (counts === undefined) {
        counts = new Array(n).fill(0);
        topic.groups[post.group] = counts;
      }
      counts[post.bucket] = (counts[post.bucket] as number) + 1;
    }
  }
  finish(overall, overallSums);
  for (const group of groups.values()) finish(group.series, group.sums);
  for (const topic of topics.values()) finish(topic.series, topic.sums);

  // Movers: the latest bucket against the trailing window before it.
  const movers: TopicMovement[] = [];
  const last = n - 1;
  const windowStart = Math.max(0, last - trailing);
  const latestTotal = overall.posts[last] ?? 0;
  let windowTotal = 0;
  for (let b = windowStart; b < last; b++) windowTotal += overall.posts[b] as number;
  if (n >= 2 && latestTotal > 0 && windowTotal > 0) {
    for (const [id, topic] of topics) {
      if (id < 0) continue; // outliers are not a topic that can trend
      let windowCount = 0;
      for (let b = windowStart; b < last; b++) windowCount += topic.series.posts[b] as number;
      const share = (topic.series.posts[last] as number) / latestTotal;
      const trailingShare = windowCount / windowTotal;
      const z = shareZ(share, trailingShare, latestTotal, windowTotal);
      if (Math.abs(z) < moverZ) continue;
      const reference = Math.max(trailingShare, 0.5 / windowTotal);
      movers.push({
        topic: id,
        direction: z > 0 ? "emerging" : "fading",
        bucket: buckets[last] as string,
        share,
        trailingShare,
        growth: share / reference,
        z,
      });
    }
  }
  movers.sort((a, b) => Math.abs(b.z) - Math.abs(a.z));

  // Spikes and peaks of negative share, overall and per group.
  const spikes: NegativeSpike[] = [];
  const peaks: NegativePeak[] = [];
  const seriesList: { name: string | null; series: SeriesCounts }[] = [
    { name: null, series: overall },
    ...[...groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, group]) => ({ name, series: group.series })),
  ];
  for (const { name, series } of seriesList) {
    const negative = series.sentiment.negative ?? new Array(n).fill(0);
    const totalPosts = series.posts.reduce((a, b) => a + b, 0);
    const totalNegative = negative.reduce((a, b) => a + b, 0);
    let peak: NegativePeak | undefined;
    series.posts.forEach((count, b) => {
      if (count < minPosts) return;
      const share = (negative[b] as number) / count;
      if (peak === undefined || share > peak.negativeShare) {
        peak = { group: name, bucket: buckets[b] as string, negativeShare: share, posts: count };
      }
      const otherPosts = totalPosts - count;
      if (otherPosts < minPosts) return;
      const baseline = (totalNegative - (negative[b] as number)) / otherPosts;
      const z = shareZ(share, baseline, count, otherPosts);
      if (z < spikeZ) return;
      const behind = posts
        .map((post, index) => ({ post, index }))
        .filter(
          ({ post }) =>
            post.bucket === b && post.sentiment === "negative" && (name === null || post.group === name),
        );
      const topicCounts = new Map<number, number>();
      for (const { post } of behind) topicCounts.set(post.topic, (topicCounts.get(post.topic) ?? 0) + 1);
      spikes.push({
        group: name,
        bucket: buckets[b] as string,
        posts: count,
        negative: negative[b] as number,
        negativeShare: share,
        baselineShare: baseline,
        z,
        examples: behind
          .sort((x, y) => x.post.score - y.post.score || x.index - y.index)
          .slice(0, exampleCount)
          .map(({ index }) => index),
        topics: [...topicCounts.entries()]
          .sort((x, y) => y[1] - x[1] || x[0] - y[0])
          .map(([topic, count]) => ({ topic, negative: count })),
      });
    });
    if (peak !== undefined) peaks.push(peak);
  }
  spikes.sort((a, b) => b.z - a.z);

  return {
    buckets,
    overall,
    groups: seriesList.slice(1).map(({ name, series }) => ({ name: name as string, ...series })),
    topics: [...topics.entries()]
      .sort(([a], [b]) => a - b)
      .map(([topic, value]) => ({ topic, overall: value.series, groups: value.groups })),
    movers,
    spikes,
    peaks,
  };
}
