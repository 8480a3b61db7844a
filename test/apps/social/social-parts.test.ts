/**
 * The model-free parts of `social analyze`: timestamp forms and buckets, the
 * streamed reader's bad-input cases (empty file, missing column, empty texts,
 * non-UTF-8, bad JSON), per-post language, trends (movers, a planted spike),
 * the neutral band and the output rendering of CSV cells.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { textForKeywords } from "../../../src/apps/social/analyze.js";
import { detectPostLanguage } from "../../../src/apps/social/language.js";
import { calibrateNeutralBand, sentimentFromProbabilities } from "../../../src/apps/social/sentiment.js";
import { isHeldOut } from "../../../src/apps/social/sentiment-sets.js";
import { readSocialPosts } from "../../../src/apps/social/social-input.js";
import {
  autoBucket,
  createBucketClock,
  dominantOffset,
  parseTimestamp,
} from "../../../src/apps/social/timestamps.js";
import { computeTrends, type TrendPost } from "../../../src/apps/social/trends.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-social-parts-"));
});

async function file(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe("timestamps", () => {
  it("reads ISO 8601, Twitter's '2015-02-24 11:35:52 -0800' and epoch seconds/milliseconds, keeping the offset", () => {
    const twitter = parseTimestamp("2015-02-24 11:35:52 -0800");
    expect(twitter).toEqual({ epochMs: Date.UTC(2015, 1, 24, 19, 35, 52), offsetMinutes: -480 });
    expect(parseTimestamp("2015-02-24T11:35:52-08:00")).toEqual(twitter);
    expect(parseTimestamp("2015-02-24T19:35:52.250Z")).toEqual({
      epochMs: Date.UTC(2015, 1, 24, 19, 35, 52, 250),
      offsetMinutes: 0,
    });
    expect(parseTimestamp("2015-02-24")).toEqual({ epochMs: Date.UTC(2015, 1, 24), offsetMinutes: null });
    expect(parseTimestamp(1424806552)).toEqual({ epochMs: 1424806552000, offsetMinutes: null });
    expect(parseTimestamp("1424806552000")).toEqual({ epochMs: 1424806552000, offsetMinutes: null });
    expect(parseTimestamp("2015-02-24 08:00:00 +0530")?.epochMs).toBe(Date.UTC(2015, 1, 24, 2, 30));
  });

  it("refuses what is not a time, including impossible dates", () => {
    for (const bad of [
      "yesterday",
      "",
      "2015-02-30 10:00:00",
      "2015-13-01",
      "24/02/2015",
      "2015-02-24 25:00",
      null,
      {},
    ]) {
      expect(parseTimestamp(bad)).toBeUndefined();
    }
  });

  it("cuts days and weeks on the wall clock of the posts' zone", () => {
    const times = ["2015-02-24 23:59:00 -0800", "2015-02-25 00:01:00 -0800", "2015-02-24 12:00:00Z"].map(
      (text) => parseTimestamp(text) as NonNullable<ReturnType<typeof parseTimestamp>>,
    );
    expect(dominantOffset(times)).toBe(-480);
    const day = createBucketClock("day", -480);
    const [late, early] = times;
    expect(day.label(day.startOf(late?.epochMs as number))).toBe("2015-02-24");
    expect(day.label(day.startOf(early?.epochMs as number))).toBe("2015-02-25");
    const hour = createBucketClock("hour", -480);
    expect(hour.label(hour.startOf(late?.epochMs as number))).toBe("2015-02-24T23:00-08:00");
    // 2015-02-24 was a Tuesday: its week starts on Monday the 23rd.
    const week = createBucketClock("week", -480);
    expect(week.label(week.startOf(late?.epochMs as number))).toBe("2015-02-23");
    expect(autoBucket(2 * 86_400_000)).toBe("hour");
    expect(autoBucket(8 * 86_400_000)).toBe("day");
    expect(autoBucket(400 * 86_400_000)).toBe("week");
  });
});

describe("readSocialPosts", () => {
  it("passes every column through, keeps quoted newlines and counts empty texts", async () => {
    const path = await file(
      "posts.csv",
      'id,text,airline\n1,"first line\nsecond line",United\n2,   ,Delta\n3,"say ""hi""",Delta\n',
    );
    const input = await readSocialPosts(path, { requiredFields: { "--group-field": "airline" } });
    expect(input.columns).toEqual(["id", "text", "airline"]);
    expect(input.emptyTexts).toBe(1);
    expect(input.posts.map((post) => [post.row, post.text])).toEqual([
      [1, "first line\nsecond line"],
      [3, 'say "hi"'],
    ]);
    expect(input.posts[1]?.fields).toEqual({ id: "3", text: 'say "hi"', airline: "Delta" });
  });

  it("refuses an empty file, and a file with only empty texts", async () => {
    await expect(readSocialPosts(await file("empty.csv", ""))).rejects.toThrow(/is empty/);
    await expect(readSocialPosts(await file("blank.csv", "text,a\n ,1\n,2\n"))).rejects.toThrow(
      /no posts with a non-empty "text" \(2 empty\)/,
    );
  });

  it("names the available columns when one is missing", async () => {
    const path = await file("cols.csv", "body,when\nhello,2015-02-24\n");
    await expect(readSocialPosts(path)).rejects.toThrow(
      /no field "text" for --text-field\. Available: body, when/,
    );
    await expect(
      readSocialPosts(path, { textField: "body", requiredFields: { "--time-field": "created" } }),
    ).rejects.toThrow(/no field "created" for --time-field\. Available: body, when/);
    const jsonl = await file("cols.jsonl", '{"body":"hi","when":1}\n');
    await expect(readSocialPosts(jsonl)).rejects.toThrow(/no field "text".*Available: body, when/);
  });

  it("fails clearly on non-UTF-8 bytes (a GBK export)", async () => {
    // "你好" in GBK: C4 E3 BA C3 — not valid UTF-8.
    const bytes = Buffer.concat([
      Buffer.from("text\n"),
      Buffer.from([0xc4, 0xe3, 0xba, 0xc3]),
      Buffer.from("\n"),
    ]);
    await expect(readSocialPosts(await file("gbk.csv", bytes))).rejects.toThrow(
      /not valid UTF-8.*iconv -f GBK/,
    );
  });

  it("reads JSONL with a line number on bad JSON, and refuses unknown extensions", async () => {
    const good = await file("ok.jsonl", '{"text":"a","n":1}\n\n{"text":"b","extra":[1]}\n');
    const input = await readSocialPosts(good);
    expect(input.columns).toEqual(["text", "n", "extra"]);
    expect(input.posts.map((post) => post.row)).toEqual([1, 3]);
    await expect(readSocialPosts(await file("bad.jsonl", '{"text":"a"}\n{"text":\n'))).rejects.toThrow(
      /bad\.jsonl:2: invalid JSON/,
    );
    await expect(readSocialPosts(await file("posts.txt", "hello\n"))).rejects.toThrow(
      /\.csv, \.tsv or \.jsonl/,
    );
  });
});

describe("language, sentiment labels and the neutral band", () => {
  it("decides Chinese by the share of Han characters", () => {
    expect(detectPostLanguage("The flight was late again")).toBe("en");
    expect(detectPostLanguage("今天的航班又晚点了，太失望")).toBe("zh");
    expect(detectPostLanguage("@united 航班取消了 #fail")).toBe("zh");
    expect(detectPostLanguage("Loved the 北京 trip with the whole family")).toBe("en");
  });

  it("drops @handles and links from the text topic keywords are taken from", () => {
    expect(
      textForKeywords("@united my bag is lost http://t.co/abc mail a@b.com @JetBlue")
        .split(/\s+/)
        .filter(Boolean),
    ).toEqual(["my", "bag", "is", "lost", "mail", "a@b.com"]);
  });

  it("scores P(positive) − P(negative) and reads the band as neutral", () => {
    const rows = [Float32Array.of(0.9, 0.1), Float32Array.of(0.45, 0.55), Float32Array.of(0.1, 0.9)];
    const labels = sentimentFromProbabilities(["negative", "positive"], rows, { low: 0.4, high: 0.6 });
    expect(labels.map((item) => item.label)).toEqual(["negative", "neutral", "positive"]);
    expect(labels[0]?.score).toBeCloseTo(-0.8, 5);
    const other = sentimentFromProbabilities(["spam", "ham"], [Float32Array.of(0.3, 0.7)]);
    expect(other[0]).toEqual({ label: "ham", score: expect.closeTo(0.7, 5) });
  });

  it("calibrates the band where the head is no better than the allowed accuracy", () => {
    // Confident rows are right; rows within 0.1 of 0.5 are right only half the time.
    const p: number[] = [];
    const truth: boolean[] = [];
    for (let i = 0; i < 100; i++) {
      p.push(0.95, 0.05, 0.45 + (i % 10) / 100, 0.46 + (i % 9) / 100);
      truth.push(true, false, i % 2 === 0, i % 2 === 1);
    }
    const band = calibrateNeutralBand(p, truth);
    expect(band.low).toBeLessThanOrEqual(0.45);
    expect(band.high).toBeGreaterThanOrEqual(0.55);
    expect(band.high).toBeLessThan(0.95);
    expect(band.accuracyInside).toBeLessThanOrEqual(0.7);
  });

  it("holds out the same ~20 % of texts however they are spelled in case and spacing", () => {
    const texts = Array.from({ length: 2000 }, (_, i) => `tweet number ${i}`);
    const share = texts.filter(isHeldOut).length / texts.length;
    expect(share).toBeGreaterThan(0.17);
    expect(share).toBeLessThan(0.23);
    for (const text of texts.slice(0, 50))
      expect(isHeldOut(`  ${text.toUpperCase()} `)).toBe(isHeldOut(text));
  });
});

describe("computeTrends", () => {
  const buckets = ["d1", "d2", "d3", "d4", "d5", "d6"];
  /** 30 posts a day, 20 % negative, topic 0 or 1; day 5 (index 4) is 80 % negative; topic 2 appears on the last day. */
  function planted(): TrendPost[] {
    const posts: TrendPost[] = [];
    buckets.forEach((_, bucket) => {
      for (let i = 0; i < 30; i++) {
        const negative = bucket === 4 ? i < 24 : i < 6;
        const topic = bucket === 5 && i >= 15 ? 2 : i % 2;
        posts.push({
          bucket,
          topic,
          group: i % 3 === 0 ? "A" : "B",
          sentiment: negative ? "negative" : "positive",
          score: negative ? -0.5 - i / 100 : 0.6,
        });
      }
    });
    return posts;
  }

  it("finds the planted negative spike on the right bucket, with its most negative posts", () => {
    const posts = planted();
    const trends = computeTrends({ buckets, posts, labels: ["negative", "neutral", "positive"] });
    expect(trends.overall.posts).toEqual([30, 30, 30, 30, 30, 30]);
    expect(trends.overall.negativeShare[4]).toBeCloseTo(0.8, 6);
    const overall = trends.spikes.filter((spike) => spike.group === null);
    expect(overall.map((spike) => spike.bucket)).toEqual(["d5"]);
    expect(overall[0]?.negative).toBe(24);
    expect(overall[0]?.examples).toHaveLength(5);
    for (const index of overall[0]?.examples ?? []) {
      expect(posts[index]?.bucket).toBe(4);
      expect(posts[index]?.sentiment).toBe("negative");
    }
    // The most negative first: i = 23 has the lowest score on that day.
    expect(posts[overall[0]?.examples[0] as number]?.score).toBeCloseTo(-0.73, 6);
    expect(trends.peaks[0]).toMatchObject({ group: null, bucket: "d5" });
    expect(trends.groups.map((group) => group.name)).toEqual(["A", "B"]);
  });

  it("reports the topic that appears in the latest bucket as emerging and the ones it displaced as fading", () => {
    const trends = computeTrends({ buckets, posts: planted(), labels: ["negative", "neutral", "positive"] });
    const emerging = trends.movers.filter((mover) => mover.direction === "emerging");
    expect(emerging.map((mover) => mover.topic)).toEqual([2]);
    expect(emerging[0]?.share).toBeCloseTo(0.5, 6);
    expect(emerging[0]?.trailingShare).toBe(0);
    expect(emerging[0]?.z).toBeGreaterThan(5);
    expect(
      trends.movers
        .filter((mover) => mover.direction === "fading")
        .map((mover) => mover.topic)
        .sort(),
    ).toEqual([0, 1]);
  });

  it("gives no movers or spikes when every post falls in one bucket", () => {
    const posts = planted().map((post) => ({ ...post, bucket: 0 }));
    const trends = computeTrends({ buckets: ["d1"], posts, labels: ["negative", "neutral", "positive"] });
    expect(trends.overall.posts).toEqual([180]);
    expect(trends.movers).toEqual([]);
    expect(trends.spikes).toEqual([]);
    expect(trends.peaks[0]).toMatchObject({ bucket: "d1", posts: 180 });
  });
});
