/**
 * `social analyze` end to end with the real bge-small-en/zh models and the
 * shipped sentiment heads: a planted corpus (two topics, six days, one day of
 * mostly negative posts) through the CLI, its outputs and report.html in
 * headless Chromium (Debian's chromium via playwright-core, as the eval
 * reports); the bad-input cases on the library; the shipped heads scored on
 * rows of the shared sets they were never trained on.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseCsv } from "csv-parse/sync";
import { beforeAll, describe, expect, it } from "vitest";
import { analyzeSocialPosts } from "../../../src/apps/social/analyze.js";
import { writeSocialOutputs } from "../../../src/apps/social/outputs.js";
import { loadSentimentHead, scoreSentiment } from "../../../src/apps/social/sentiment.js";
import { loadSentimentSplit } from "../../../src/apps/social/sentiment-sets.js";
import { createEmbedder } from "../../../src/embed/create-embedder.js";
import { accuracy } from "../../../src/eval/classification-metrics.js";
import { embedTexts } from "../../../src/eval/embedding-cache.js";
import { saveClassifier, trainClassifier } from "../../../src/train/classifier.js";
import { createRandom } from "../../../src/vectors/random.js";
import { runCli } from "../../cli/run-cli.js";
import { sharedData } from "../../helpers/data.js";

const CHROMIUM = "/usr/bin/chromium";
let dir: string;

const CITIES = ["Boston", "Denver", "Chicago", "Seattle", "Austin", "Miami", "Dallas", "Phoenix"];
const BAGGAGE_GOOD = [
  "Thank you for finding my lost suitcase so quickly after landing in {city}, great baggage service",
  "The baggage claim in {city} was fast today and my luggage arrived first, wonderful",
  "Kind agent tracked down my missing bag in {city} and delivered the suitcase to my hotel, thanks",
  "Checked luggage came off the carousel in {city} in minutes, happy with the baggage team",
];
const BAGGAGE_BAD = [
  "My suitcase is lost again in {city} and nobody at baggage claim helps, awful",
  "Waited two hours at the {city} carousel and my luggage never showed up, terrible service",
  "You broke the wheel of my suitcase and lost my other bag in {city}, furious",
  "Still no news about my missing luggage from {city} after three days, disgusting",
];
const WIFI_GOOD = [
  "Loved the fast onboard wifi on my flight to {city}, streaming worked perfectly, thanks",
  "The inflight internet to {city} was quick and free, great for working on the plane",
  "Wifi on board the {city} flight was reliable the whole time, excellent connection",
  "Happy that the plane to {city} had working wifi and movies on my laptop, nice",
];
const WIFI_BAD = [
  "The onboard wifi was broken the whole flight to {city}, useless and overpriced",
  "Paid for inflight internet to {city} and it never connected, total waste of money",
  "Wifi on the plane to {city} kept dropping every minute, horrible connection",
  "No working internet on the {city} flight again, awful for anyone who needs to work",
];
/** Day of the planted spike (0-based from 2015-02-17). */
const SPIKE_DAY = 3;

/** Six days × 16 posts (8 baggage, 8 wifi); 2 negative a day, 13 on the spike day. */
function plantedRows(): { id: string; text: string; created: string; airline: string; theme: string }[] {
  const rows: { id: string; text: string; created: string; airline: string; theme: string }[] = [];
  const random = createRandom(7);
  for (let day = 0; day < 6; day++) {
    for (let i = 0; i < 16; i++) {
      const negative = day === SPIKE_DAY ? i < 13 : i < 2;
      const baggage = i % 2 === 0;
      const templates = baggage ? (negative ? BAGGAGE_BAD : BAGGAGE_GOOD) : negative ? WIFI_BAD : WIFI_GOOD;
      const template = templates[random.integer(templates.length)] as string;
      const city = CITIES[(day * 16 + i) % CITIES.length] as string;
      const hour = String(6 + (i % 14)).padStart(2, "0");
      rows.push({
        id: String(1000 + day * 16 + i),
        text: `${template.replace("{city}", city)} #${day * 16 + i}`,
        created: `2015-02-${17 + day} ${hour}:15:00 -0800`,
        airline: i % 3 === 0 ? "United" : "Delta",
        theme: baggage ? "baggage" : "wifi",
      });
    }
  }
  return rows;
}

function toCsv(rows: readonly Record<string, string>[]): string {
  const columns = Object.keys(rows[0] as Record<string, string>);
  const cell = (value: string) => (/[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
  return `${columns.join(",")}\n${rows.map((row) => columns.map((column) => cell(row[column] as string)).join(",")).join("\n")}\n`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-social-"));
});

describe("embedkit social analyze on a planted corpus", () => {
  const rows = plantedRows();
  let input: string;
  let out: string;

  beforeAll(async () => {
    input = join(dir, "planted.csv");
    out = join(dir, "planted-out");
    await writeFile(input, toCsv(rows));
  });

  it("documents every option with examples in --help", async () => {
    const run = await runCli(["social", "analyze", "--help"]);
    expect(run.code).toBe(0);
    for (const option of [
      "--text-field",
      "--time-field",
      "--group-field",
      "--id-field",
      "--lang",
      "--topics",
      "--bucket",
      "--seed",
      "--classifier",
      "--skip-invalid",
      "--out",
    ]) {
      expect(run.stdout).toContain(option);
    }
    expect(run.stdout).toMatch(/Examples:\n {2}embedkit social analyze Tweets\.csv/);
  });

  it("splits the two planted topics, finds the spike day and writes every output", async () => {
    const run = await runCli([
      "social",
      "analyze",
      input,
      "--time-field",
      "created",
      "--group-field",
      "airline",
      "--id-field",
      "id",
      "--topics",
      "2",
      "--out",
      out,
      "--quiet",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^96 posts \(0 empty skipped\)/);
    expect(run.stdout).toContain("Negative share peaked on 2015-02-20");

    const posts = parseCsv(await readFile(join(out, "posts.csv"), "utf8"), { columns: true }) as Record<
      string,
      string
    >[];
    expect(Object.keys(posts[0] as object)).toEqual([
      "id",
      "text",
      "created",
      "airline",
      "theme",
      "sentiment",
      "sentiment_score",
      "topic",
    ]);
    expect(posts.map((post) => post.text)).toEqual(rows.map((row) => row.text));
    // Each planted theme lands (almost) entirely in one topic, and the two themes in different topics.
    const majority = (theme: string): { topic: string; share: number } => {
      const counts = new Map<string, number>();
      const ofTheme = posts.filter((post) => post.theme === theme);
      for (const post of ofTheme)
        counts.set(post.topic as string, (counts.get(post.topic as string) ?? 0) + 1);
      const [topic, count] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] as [string, number];
      return { topic, share: count / ofTheme.length };
    };
    const baggage = majority("baggage");
    const wifi = majority("wifi");
    expect(baggage.share).toBeGreaterThanOrEqual(0.9);
    expect(wifi.share).toBeGreaterThanOrEqual(0.9);
    expect(baggage.topic).not.toBe(wifi.topic);
    // Sentiment: the shipped English head gets the planted polarity right on (nearly) every post.
    const planted = rows.map((_, index) => {
      const day = Math.floor(index / 16);
      const i = index % 16;
      return (day === SPIKE_DAY ? i < 13 : i < 2) ? "negative" : "positive";
    });
    expect(
      accuracy(
        planted,
        posts.map((post) => post.sentiment as string),
      ),
    ).toBeGreaterThanOrEqual(0.9);

    const topics = JSON.parse(await readFile(join(out, "topics.json"), "utf8")) as {
      topics: {
        id: number;
        size: number;
        keywords: string[];
        label: string;
        examples: { text: string }[];
        sentiment: Record<string, number>;
        over_time: { bucket: string; posts: number }[];
      }[];
    };
    expect(topics.topics.map((topic) => topic.id).sort()).toEqual([-1, 0, 1]);
    const baggageTopic = topics.topics.find((topic) => String(topic.id) === baggage.topic);
    const wifiTopic = topics.topics.find((topic) => String(topic.id) === wifi.topic);
    expect(baggageTopic?.keywords.length).toBeGreaterThanOrEqual(10);
    expect(baggageTopic?.keywords.slice(0, 10).join(" ")).toMatch(/baggage|luggage|suitcase|bag/);
    expect(wifiTopic?.keywords.slice(0, 10).join(" ")).toMatch(/wifi|internet|connection/);
    expect(baggageTopic?.over_time.map((point) => point.bucket)).toEqual([
      "2015-02-17",
      "2015-02-18",
      "2015-02-19",
      "2015-02-20",
      "2015-02-21",
      "2015-02-22",
    ]);
    expect(baggageTopic?.examples.length).toBeGreaterThan(0);

    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as {
      posts: number;
      time: { bucket: string; timeZone: string; buckets: number };
      negative_spikes: {
        group: string | null;
        bucket: string;
        examples: { row: number; id: string; sentiment: string }[];
      }[];
      groups: { group: string; posts: number }[];
      stageSeconds: Record<string, number>;
    };
    expect(summary.posts).toBe(96);
    // Wall time of every stage that ran, in stage order (values depend on the machine).
    expect(Object.keys(summary.stageSeconds)).toEqual([
      "read",
      "embed",
      "sentiment",
      "reduce",
      "cluster",
      "keywords",
      "map",
      "trends",
    ]);
    for (const seconds of Object.values(summary.stageSeconds)) expect(seconds).toBeGreaterThanOrEqual(0);
    expect(summary.time).toMatchObject({ bucket: "day", timeZone: "UTC-08:00", buckets: 6 });
    const overallSpikes = summary.negative_spikes.filter((spike) => spike.group === null);
    expect(overallSpikes.map((spike) => spike.bucket)).toEqual(["2015-02-20"]);
    for (const example of overallSpikes[0]?.examples ?? []) {
      expect(example.sentiment).toBe("negative");
      expect(rows[example.row - 1]?.created.startsWith("2015-02-20")).toBe(true);
      expect(example.id).toBe(rows[example.row - 1]?.id);
    }
    expect(summary.groups.map((group) => [group.group, group.posts])).toEqual([
      ["Delta", 60],
      ["United", 36],
    ]);
    const jsonl = (await readFile(join(out, "posts.jsonl"), "utf8")).trim().split("\n");
    expect(jsonl).toHaveLength(96);
    expect(JSON.parse(jsonl[0] as string)).toMatchObject({ id: rows[0]?.id, theme: rows[0]?.theme });
  });

  it("re-runs from the embedding cache and gives the same topics for the same seed", async () => {
    const first = JSON.parse(
      await readFile(join(out, "posts.jsonl"), "utf8").then(
        (text) => `[${text.trim().split("\n").join(",")}]`,
      ),
    ) as { topic: number }[];
    const again = join(dir, "planted-again");
    const run = await runCli([
      "social",
      "analyze",
      input,
      "--time-field",
      "created",
      "--topics",
      "2",
      "--out",
      again,
      "--json",
      "--quiet",
    ]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as { embedding: { embedded: number; cached: number } };
    expect(summary.embedding.embedded).toBe(0);
    expect(summary.embedding.cached).toBe(96);
    const second = JSON.parse(
      await readFile(join(again, "posts.jsonl"), "utf8").then(
        (text) => `[${text.trim().split("\n").join(",")}]`,
      ),
    ) as { topic: number }[];
    expect(second.map((post) => post.topic)).toEqual(first.map((post) => post.topic));
  });

  it("renders report.html in headless Chromium without console errors or network", async () => {
    const { chromium } = await import("playwright-core");
    const profile = await mkdtemp(join(tmpdir(), "embedkit-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
      viewport: { width: 1200, height: 900 },
    });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("request", (request) => {
        if (!request.url().startsWith("file:")) problems.push(`external request ${request.url()}`);
      });
      await page.goto(pathToFileURL(join(out, "report.html")).href);
      const charts = await page.$$eval("svg.chart", (svgs) =>
        svgs.map((svg) => {
          const marks = [...svg.querySelectorAll("path.area, circle.dot, rect.bar")];
          const drawn = marks.filter((mark) => {
            const box = mark.getBoundingClientRect();
            return box.width > 0 && box.height > 0;
          });
          return { label: svg.getAttribute("aria-label") ?? "", marks: marks.length, drawn: drawn.length };
        }),
      );
      const labels = charts.map((chart) => chart.label);
      expect(labels.some((label) => label.startsWith("Posts per day by topic"))).toBe(true);
      expect(labels).toContain("Share of negative posts per bucket");
      expect(labels.some((label) => label.startsWith("Posts in 2-D"))).toBe(true);
      expect(charts.length).toBeGreaterThanOrEqual(5);
      for (const chart of charts) {
        expect(chart.marks).toBeGreaterThan(0);
        expect(chart.drawn).toBe(chart.marks);
      }
      expect(await page.locator("details").count()).toBeGreaterThan(2);
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await context.close();
    }
  });
});

describe("analyzeSocialPosts on bad and odd input", () => {
  it("handles one post: one topic, sentiment, a single bucket and no trends to speak of", async () => {
    const path = join(dir, "one.jsonl");
    await writeFile(
      path,
      `${JSON.stringify({ text: "The crew was wonderful, best flight ever", t: 1424806552 })}\n`,
    );
    const analysis = await analyzeSocialPosts(path, { timeField: "t" });
    expect(analysis.posts).toHaveLength(1);
    expect(analysis.posts[0]).toMatchObject({ sentiment: "positive", topic: 0, bucket: 0 });
    expect(analysis.trends?.buckets).toHaveLength(1);
    expect(analysis.trends?.movers).toEqual([]);
    expect(analysis.trends?.spikes).toEqual([]);
    expect(analysis.summary.time?.bucket).toBe("hour");
  });

  it("puts every post in one bucket when they share an hour", async () => {
    const rows = plantedRows()
      .slice(0, 20)
      .map((row, i) => ({ ...row, created: `2015-02-24T11:${String(i).padStart(2, "0")}:00Z` }));
    const path = join(dir, "one-bucket.csv");
    await writeFile(path, toCsv(rows));
    const analysis = await analyzeSocialPosts(path, { timeField: "created", bucket: "day", topics: 2 });
    expect(analysis.trends?.buckets).toEqual(["2015-02-24"]);
    expect(analysis.trends?.overall.posts).toEqual([20]);
    expect(analysis.summary.time?.timeZone).toBe("UTC");
  });

  it("names the row of an unreadable timestamp, or skips and counts it with skipInvalid", async () => {
    const rows = plantedRows().slice(0, 12);
    (rows[2] as { created: string }).created = "last Tuesday";
    (rows[7] as { created: string }).created = "";
    const path = join(dir, "bad-time.csv");
    await writeFile(path, toCsv(rows));
    await expect(analyzeSocialPosts(path, { timeField: "created" })).rejects.toThrow(
      /Row 3: cannot read "last Tuesday" in "created" as a time.*--skip-invalid/,
    );
    const analysis = await analyzeSocialPosts(path, { timeField: "created", skipInvalid: true, topics: 2 });
    expect(analysis.summary.invalidTimestamps).toBe(2);
    expect(analysis.summary.invalidTimestampRows).toEqual([3, 8]);
    expect(analysis.posts).toHaveLength(10);
  });

  it("counts empty texts and refuses a missing column before any embedding", async () => {
    const path = join(dir, "gaps.csv");
    await writeFile(
      path,
      "text,brand\nGreat service today,A\n,B\n   ,A\nThe flight was cancelled and nobody helped,B\n",
    );
    const analysis = await analyzeSocialPosts(path, { groupField: "brand" });
    expect(analysis.summary.emptyTexts).toBe(2);
    expect(analysis.posts.map((post) => [post.row, post.sentiment])).toEqual([
      [1, "positive"],
      [4, "negative"],
    ]);
    expect(analysis.trends).toBeUndefined();
    await expect(analyzeSocialPosts(path, { groupField: "airline" })).rejects.toThrow(
      /no field "airline" for --group-field\. Available: text, brand/,
    );
  });

  it("decides the language per post in a mixed file and labels each with its own model", async () => {
    const path = join(dir, "mixed.jsonl");
    const lines = [
      { text: "Worst airline ever, they cancelled my flight and lost my bag", id: 1 },
      { text: "Fantastic crew and a smooth landing, thank you", id: 2 },
      { text: "航班延误了五个小时，服务态度极差，再也不坐了", id: 3 },
      { text: "空姐非常热情，座位舒服，这次飞行体验太棒了", id: 4 },
    ];
    await writeFile(path, `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`);
    const analysis = await analyzeSocialPosts(path, { idField: "id" });
    expect(analysis.summary.languages).toEqual({ en: 2, zh: 2 });
    expect(analysis.summary.models).toEqual({ en: "bge-small-en-v1.5", zh: "bge-small-zh-v1.5" });
    expect(analysis.posts.map((post) => [post.id, post.language, post.sentiment])).toEqual([
      ["1", "en", "negative"],
      ["2", "en", "positive"],
      ["3", "zh", "negative"],
      ["4", "zh", "positive"],
    ]);
    // Two languages, two topics (one per language: too few posts to cluster), never mixed.
    const topicOf = analysis.posts.map((post) => post.topic);
    expect(topicOf[0]).toBe(topicOf[1]);
    expect(topicOf[2]).toBe(topicOf[3]);
    expect(topicOf[0]).not.toBe(topicOf[2]);
  });

  it("uses a head from train classifier with --classifier (its own labels and model)", async () => {
    const rows = plantedRows();
    const embedder = await createEmbedder({ model: "bge-small-en-v1.5" });
    const { vectors } = await embedTexts({ embedder, texts: rows.map((row) => row.text) });
    await embedder.close();
    const { classifier } = trainClassifier({
      vectors,
      labels: rows.map((row) => row.theme),
      embedding: { modelId: "bge-small-en-v1.5", dims: 384 },
      epochs: 30,
      optimizer: { name: "adamw", learningRate: 1e-2 },
    });
    const head = join(dir, "theme-head");
    await saveClassifier(head, classifier);
    const path = join(dir, "themes.csv");
    await writeFile(path, toCsv(rows.slice(0, 24)));
    const analysis = await analyzeSocialPosts(path, { classifier: head, topics: 2 });
    expect(analysis.sentimentLabels).toEqual(["baggage", "wifi"]);
    expect(
      accuracy(
        rows.slice(0, 24).map((row) => row.theme),
        analysis.posts.map((post) => post.sentiment),
      ),
    ).toBe(1);
    expect(analysis.summary.sentimentHeads).toEqual({ en: head });
    await expect(analyzeSocialPosts(path, { classifier: join(dir, "no-such-head") })).rejects.toThrow(
      /no-such-head/,
    );
  });

  it("refuses a non-UTF-8 file and an input column the outputs would overwrite; writes nothing", async () => {
    const gbk = join(dir, "gbk.csv");
    await writeFile(gbk, Buffer.concat([Buffer.from("text\n"), Buffer.from([0xc4, 0xe3, 0xba, 0xc3, 0x0a])]));
    await expect(analyzeSocialPosts(gbk)).rejects.toThrow(/not valid UTF-8/);
    const clash = join(dir, "clash.csv");
    await writeFile(clash, "text,sentiment\nhello there,positive\n");
    await expect(analyzeSocialPosts(clash)).rejects.toThrow(/already has a column "sentiment"/);
    const blocked = join(dir, "blocked");
    await writeFile(blocked, "a file where the output folder should be");
    const one = join(dir, "one.jsonl");
    const analysis = await analyzeSocialPosts(one);
    await expect(writeSocialOutputs(analysis, blocked)).rejects.toThrow(/is a file/);
    await expect(analyzeSocialPosts(join(dir, "missing.csv"))).rejects.toThrow(/not found/);
  });
});

describe("shipped sentiment heads on rows they were never trained on", () => {
  it("English: 3 classes on a sample of the held-out airline tweets", async () => {
    sharedData("twitter-us-airline-sentiment/Tweets.csv");
    const heldOut = (await loadSentimentSplit("tweets-held-out")).slice(0, 300);
    const head = await loadSentimentHead({ language: "en" });
    expect(head.classifier.classes).toEqual(["negative", "neutral", "positive"]);
    const embedder = await createEmbedder({ model: "bge-small-en-v1.5" });
    const { vectors } = await embedTexts({ embedder, texts: heldOut.map((example) => example.text) });
    await embedder.close();
    const predicted = scoreSentiment(head, vectors).map((item) => item.label);
    expect(
      accuracy(
        heldOut.map((example) => example.label),
        predicted,
      ),
    ).toBeGreaterThan(0.75);
  });

  it("Chinese: 2 classes + the neutral band on ChnSentiCorp dev", async () => {
    sharedData("chnsenticorp/dev.tsv");
    const dev = (await loadSentimentSplit("chnsenticorp-dev")).slice(0, 200);
    const head = await loadSentimentHead({ language: "zh" });
    expect(head.classifier.classes).toEqual(["negative", "positive"]);
    expect(head.neutralBand?.low).toBeLessThan(0.5);
    expect(head.neutralBand?.high).toBeGreaterThan(0.5);
    const embedder = await createEmbedder({ model: "bge-small-zh-v1.5" });
    const { vectors } = await embedTexts({ embedder, texts: dev.map((example) => example.text) });
    await embedder.close();
    const predicted = scoreSentiment(head, vectors);
    const decided = predicted.flatMap((item, index) =>
      item.label === "neutral" ? [] : [{ truth: dev[index]?.label as string, label: item.label }],
    );
    expect(decided.length).toBeGreaterThan(100);
    expect(
      accuracy(
        decided.map((item) => item.truth),
        decided.map((item) => item.label),
      ),
    ).toBeGreaterThan(0.85);
  });
});
