/**
 * Topic discovery on small real corpora with planted topics, embedded by real
 * models (all-MiniLM-L6-v2 quantized for English, bge-small-zh-v1.5 for
 * Chinese): the planted split is found, keywords hold the planted words and are
 * real Chinese words, runs repeat exactly per seed, `topics: N` merges, and bad
 * input fails before any work.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  classTfIdf,
  diverseTopWords,
  mergeTopics,
  topWords,
} from "../../../src/apps/social/topics/class-tfidf.js";
import { hdbscan } from "../../../src/apps/social/topics/hdbscan.js";
import { discoverTopics, reduceForTopics, tokenizeForTopics } from "../../../src/apps/social/topics.js";
import { createEmbedder } from "../../../src/embed/create-embedder.js";
import type { Embedder } from "../../../src/embed/embedder.js";
import { EmbedkitError } from "../../../src/errors.js";
import { vMeasure } from "../../../src/eval/classification-metrics.js";
import { chineseCorpus, englishCorpus, type PlantedCorpus, threeTopicCorpus } from "./planted-corpus.js";

let english: Embedder;
let chinese: Embedder;
const english2 = englishCorpus();
const chinese2 = chineseCorpus();
const three = threeTopicCorpus();
let englishVectors: Float32Array[];
let chineseVectors: Float32Array[];
let threeVectors: Float32Array[];

beforeAll(async () => {
  english = await createEmbedder({ model: "all-minilm-l6-v2-q" });
  chinese = await createEmbedder({ model: "bge-small-zh-v1.5" });
  englishVectors = (await english.embed(english2.texts)).vectors;
  chineseVectors = (await chinese.embed(chinese2.texts)).vectors;
  threeVectors = (await english.embed(three.texts)).vectors;
});
afterAll(async () => {
  await english?.close();
  await chinese?.close();
});

/** The planted topic most texts of each found topic carry. */
function majority(corpus: PlantedCorpus, assignments: Int32Array, topic: number): number {
  const votes = new Map<number, number>();
  assignments.forEach((assigned, index) => {
    if (assigned === topic)
      votes.set(corpus.truth[index] as number, (votes.get(corpus.truth[index] as number) ?? 0) + 1);
  });
  return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? -1;
}

function keywordsOf(result: Awaited<ReturnType<typeof discoverTopics>>, id: number): string[] {
  return result.topics.find((topic) => topic.id === id)?.keywords.map((keyword) => keyword.word) ?? [];
}

describe("tokenizeForTopics", () => {
  it("drops English stop words, URLs, numbers, contractions and possessives", () => {
    expect(
      tokenizeForTopics("I don't think the airline's 2 agents at https://t.co/xyz were helpful!!", "en"),
    ).toEqual(["airline", "agents", "helpful"]);
  });

  it("segments Chinese with jieba into words, without stop words or single characters", () => {
    const words = tokenizeForTopics("我的行李在北京机场丢了，客服电话一直打不通", "zh");
    expect(words).toContain("行李");
    expect(words).toContain("客服");
    expect(words).not.toContain("的");
    expect(words.every((word) => [...word].length >= 2)).toBe(true);
  });

  it("decides per text with auto, and keeps English words inside Chinese text", () => {
    expect(tokenizeForTopics("Coffee prices are rising", "auto")).toEqual(["coffee", "prices", "rising"]);
    expect(tokenizeForTopics("星巴克的 latte 咖啡太贵了", "auto")).toEqual(
      expect.arrayContaining(["星巴克", "latte", "咖啡"]),
    );
  });

  it("rejects an unknown language", () => {
    expect(() => tokenizeForTopics("x", "fr" as "en")).toThrow(/lang must be one of en, zh, auto/);
  });
});

describe("discoverTopics on planted English topics", () => {
  it("finds the two planted topics with auto (HDBSCAN) and names them by their planted words", async () => {
    const stages: string[] = [];
    const result = await discoverTopics(english2.texts, englishVectors, {
      onProgress: (stage) => {
        if (stages.at(-1) !== stage) stages.push(stage);
      },
    });
    expect(stages).toEqual(["reduce", "cluster", "keywords", "map"]);
    expect(vMeasure(english2.truth, [...result.assignments]).vMeasure).toBeGreaterThanOrEqual(0.9);
    const real = result.topics.filter((topic) => topic.id >= 0);
    expect(real).toHaveLength(2);
    for (const topic of real) {
      const planted = english2.words[majority(english2, result.assignments, topic.id)] as string;
      expect(topic.keywords.slice(0, 3).map((keyword) => keyword.word)).toContain(planted);
      expect(topic.keywords).toHaveLength(10);
      expect(topic.label.split(" · ")).toHaveLength(4);
      expect(topic.examples).toHaveLength(3);
      for (const example of topic.examples) expect(result.assignments[example]).toBe(topic.id);
      expect(topic.keywords[0]?.score).toBeGreaterThan(topic.keywords[9]?.score ?? 0);
    }
    expect(result.topics.reduce((sum, topic) => sum + topic.size, 0)).toBe(english2.texts.length);
    expect(result.map).toHaveLength(english2.texts.length * 2);
    expect(result.map.every((value) => Number.isFinite(value))).toBe(true);
  });

  it("gives the same result for the same seed, and the same split for another seed", async () => {
    const first = await discoverTopics(english2.texts, englishVectors, { topics: 2, seed: 7 });
    const again = await discoverTopics(english2.texts, englishVectors, { topics: 2, seed: 7 });
    expect([...again.assignments]).toEqual([...first.assignments]);
    expect([...again.map]).toEqual([...first.map]);
    expect(again.topics).toEqual(first.topics);
    const other = await discoverTopics(english2.texts, englishVectors, { topics: 2, seed: 8 });
    expect(vMeasure([...first.assignments], [...other.assignments]).vMeasure).toBe(1);
    expect(vMeasure(english2.truth, [...first.assignments]).vMeasure).toBe(1);
  });

  it("merges HDBSCAN's topics down to topics: N without splitting a planted topic", async () => {
    const reduction = await reduceForTopics(threeVectors, { seed: 3 });
    const found = await discoverTopics(three.texts, threeVectors, { seed: 3, reduction, minTopicSize: 5 });
    expect(found.topics.filter((topic) => topic.id >= 0)).toHaveLength(3);
    expect(vMeasure(three.truth, [...found.assignments]).vMeasure).toBeGreaterThanOrEqual(0.9);
    const merged = await discoverTopics(three.texts, threeVectors, {
      seed: 3,
      reduction,
      minTopicSize: 5,
      topics: 2,
      clustering: "hdbscan",
    });
    expect(merged.topics.filter((topic) => topic.id >= 0)).toHaveLength(2);
    // Completeness 1: each planted topic ends in a single merged topic.
    expect(vMeasure(three.truth, [...merged.assignments]).completeness).toBeGreaterThanOrEqual(0.9);
    const keywords = merged.topics.flatMap((topic) =>
      topic.keywords.slice(0, 5).map((keyword) => keyword.word),
    );
    for (const word of [...three.words, three.third]) expect(keywords).toContain(word);
  });

  it("splits into exactly N topics with k-means and no outliers", async () => {
    const result = await discoverTopics(three.texts, threeVectors, {
      topics: 3,
      seed: 1,
      keywords: 12,
      examples: 2,
    });
    expect(result.topics.map((topic) => topic.id)).toEqual([0, 1, 2]);
    expect(result.topics.every((topic) => topic.keywords.length === 12 && topic.examples.length === 2)).toBe(
      true,
    );
    expect(vMeasure(three.truth, [...result.assignments]).vMeasure).toBeGreaterThanOrEqual(0.9);
  });
});

describe("keyword diversity across topics", () => {
  /** Keywords that two topics share. */
  function shared(result: Awaited<ReturnType<typeof discoverTopics>>): string[] {
    const first = new Set(keywordsOf(result, 0));
    return keywordsOf(result, 1).filter((word) => first.has(word));
  }

  it("keeps the city names both planted topics use out of one of the two keyword lists", async () => {
    const options = { topics: 2, seed: 3, keywords: 25, map: false } as const;
    const plain = await discoverTopics(english2.texts, englishVectors, { ...options, keywordDiversity: 0 });
    const diverse = await discoverTopics(english2.texts, englishVectors, options);
    // Same clusters; only the keyword choice differs.
    expect([...diverse.assignments]).toEqual([...plain.assignments]);
    // Plain c-TF-IDF ranks the four shared city names in both topics' top 25.
    const cities = ["boston", "chicago", "denver", "seattle"];
    expect(shared(plain)).toEqual(expect.arrayContaining(cities));
    // With the default penalty each city is a keyword of one topic only, and the lists share nothing.
    expect(shared(diverse)).toEqual([]);
    for (const id of [0, 1]) {
      const planted = english2.words[majority(english2, diverse.assignments, id)] as string;
      expect(keywordsOf(diverse, id)[0]).toBe(planted);
      expect(keywordsOf(diverse, id)).toHaveLength(25);
    }
  });

  it("lets a topic reuse a word only when it beats the next unused word by the penalty", () => {
    const words = ["flight", "delay", "bag", "crew", "seat"];
    // Topic 0 chooses first. "flight" is topic 1's best word too; "delay" is close behind it.
    const weights = [
      new Map([
        [0, 1.0],
        [2, 0.5],
      ]),
      new Map([
        [0, 1.0],
        [1, 0.95],
        [3, 0.5],
        [4, 0.2],
      ]),
    ];
    const pick = (penalty: number) =>
      diverseTopWords(weights, words, 3, penalty).map((list) => list.map((entry) => entry.word));
    expect(pick(0)).toEqual([
      ["flight", "bag"],
      ["flight", "delay", "crew"],
    ]);
    // 1.0 - 0.1 = 0.9 < 0.95: topic 1 leads with "delay" and takes "flight" next (0.9 > 0.5).
    expect(pick(0.1)).toEqual([
      ["flight", "bag"],
      ["delay", "flight", "crew"],
    ]);
    // 1.0 - 0.6 = 0.4 < 0.5 ("crew") but > 0.2 ("seat"): "flight" comes third.
    expect(pick(0.6)).toEqual([
      ["flight", "bag"],
      ["delay", "crew", "flight"],
    ]);
    // 1.0 - 0.9 = 0.1 < 0.2: "flight" moves behind every unused word.
    expect(pick(0.9)).toEqual([
      ["flight", "bag"],
      ["delay", "crew", "seat"],
    ]);
    // Scores stay the c-TF-IDF weights.
    expect(diverseTopWords(weights, words, 1, 0.1)[1]).toEqual([{ word: "delay", score: 0.95 }]);
  });

  it("rejects a keywordDiversity outside 0..1", async () => {
    await expect(
      discoverTopics(english2.texts, englishVectors, { topics: 2, keywordDiversity: 1.5 }),
    ).rejects.toMatchObject({ code: "INVALID_OPTION", message: expect.stringContaining("keywordDiversity") });
  });
});

describe("discoverTopics on a sample", () => {
  it("places the texts outside the sample by their nearest sampled texts", async () => {
    const result = await discoverTopics(three.texts, threeVectors, { topics: 3, seed: 5, sampleSize: 50 });
    const reduction = await reduceForTopics(threeVectors, { seed: 5, sampleSize: 50 });
    expect(reduction.sample).toHaveLength(50);
    expect(new Set(reduction.sample).size).toBe(50);
    expect(vMeasure(three.truth, [...result.assignments]).vMeasure).toBeGreaterThanOrEqual(0.9);
    expect(result.map).toHaveLength(three.texts.length * 2);
    expect(result.map.every((value) => Number.isFinite(value))).toBe(true);
    // A text outside the sample sits among its own topic on the map: nearer its topic's mean than the others'.
    const inSample = new Set(reduction.sample);
    const means = [0, 1, 2].map((topic) => {
      const members = [...result.assignments.keys()].filter((index) => result.assignments[index] === topic);
      return [0, 1].map(
        (axis) =>
          members.reduce((sum, index) => sum + (result.map[index * 2 + axis] as number), 0) / members.length,
      );
    });
    let placedWell = 0;
    let outside = 0;
    result.assignments.forEach((topic, index) => {
      if (inSample.has(index)) return;
      outside++;
      const distances = means.map(([x, y]) =>
        Math.hypot(
          (result.map[index * 2] as number) - (x as number),
          (result.map[index * 2 + 1] as number) - (y as number),
        ),
      );
      if (distances.indexOf(Math.min(...distances)) === topic) placedWell++;
    });
    expect(outside).toBe(22);
    expect(placedWell / outside).toBeGreaterThanOrEqual(0.9);
  });
});

describe("discoverTopics on planted Chinese topics", () => {
  it("finds both topics and its keywords are jieba words, the planted ones first", async () => {
    const result = await discoverTopics(chinese2.texts, chineseVectors, { lang: "zh", topics: 2 });
    expect(vMeasure(chinese2.truth, [...result.assignments]).vMeasure).toBe(1);
    for (const topic of result.topics) {
      const planted = chinese2.words[majority(chinese2, result.assignments, topic.id)] as string;
      expect(keywordsOf(result, topic.id)[0]).toBe(planted);
      expect(topic.keywords.every(({ word }) => [...word].length >= 2)).toBe(true);
      // Every keyword is a word jieba cut from the topic's texts.
      const cut = new Set(
        chinese2.texts
          .filter((_, index) => result.assignments[index] === topic.id)
          .flatMap((text) => tokenizeForTopics(text, "zh")),
      );
      expect(topic.keywords.every(({ word }) => cut.has(word))).toBe(true);
    }
    const auto = await discoverTopics(chinese2.texts, chineseVectors);
    expect(vMeasure(chinese2.truth, [...auto.assignments]).vMeasure).toBeGreaterThanOrEqual(0.9);
  });
});

describe("c-TF-IDF, merging and HDBSCAN parts", () => {
  it("ranks words frequent in one topic and rare elsewhere first", () => {
    const words = ["coffee", "milk", "latte", "baggage", "the"];
    const weights = classTfIdf([
      new Map([
        [0, 5],
        [1, 3],
        [4, 4],
      ]),
      new Map([
        [3, 6],
        [4, 4],
      ]),
    ]);
    expect(topWords(weights[0] as Map<number, number>, words, 3).map((entry) => entry.word)).toEqual([
      "coffee",
      "milk",
      "the",
    ]);
  });

  it("merges the smallest topic into its most similar one", () => {
    const into = mergeTopics(
      [
        new Map([
          [0, 5],
          [1, 3],
        ]),
        new Map([
          [0, 4],
          [2, 2],
        ]),
        new Map([[3, 5]]),
      ],
      [3, 2, 4],
      2,
    );
    expect([...into]).toEqual([0, 0, 1]);
  });

  it("finds two dense blobs and leaves a distant point as noise", () => {
    const points: number[] = [];
    for (let i = 0; i < 20; i++) points.push(0 + (i % 5) * 0.01, Math.floor(i / 5) * 0.01);
    for (let i = 0; i < 20; i++) points.push(10 + (i % 5) * 0.01, 10 + Math.floor(i / 5) * 0.01);
    // Far from both: it leaves the root before the blobs split, so it belongs to no cluster.
    points.push(60, -60);
    const { labels, clusters } = hdbscan(Float64Array.from(points), 2, { minClusterSize: 5 });
    expect(clusters).toBe(2);
    expect(new Set(labels.slice(0, 20))).toEqual(new Set([0]));
    expect(new Set(labels.slice(20, 40))).toEqual(new Set([1]));
    expect(labels[40]).toBe(-1);
  });
});

describe("discoverTopics bad input", () => {
  it("rejects an empty list, a count mismatch, mixed dimensions and bad options before any work", async () => {
    await expect(discoverTopics([], [])).rejects.toThrow(/at least one text/);
    await expect(discoverTopics(["a", "b"], [englishVectors[0] as Float32Array])).rejects.toThrow(
      /one vector per text: received 2 texts and 1 vectors/,
    );
    await expect(
      discoverTopics(["a", "b"], [englishVectors[0] as Float32Array, new Float32Array(3)]),
    ).rejects.toMatchObject({ code: "DIMENSION_MISMATCH" });
    await expect(
      discoverTopics(["a", "b"], [englishVectors[0] as Float32Array, new Float32Array(384).fill(Number.NaN)]),
    ).rejects.toThrow(/vectors\[1\] holds a non-finite value/);
    const texts = english2.texts.slice(0, 4);
    const vectors = englishVectors.slice(0, 4);
    await expect(discoverTopics(texts, vectors, { topics: 5 })).rejects.toThrow(/topics must be/);
    await expect(discoverTopics(texts, vectors, { lang: "de" as "en" })).rejects.toThrow(EmbedkitError);
    await expect(discoverTopics(texts, vectors, { keywords: 0 })).rejects.toMatchObject({
      code: "INVALID_OPTION",
    });
    const reduction = await reduceForTopics(englishVectors.slice(0, 3));
    await expect(discoverTopics(texts, vectors, { reduction })).rejects.toThrow(
      /reduction was made for 3 texts/,
    );
  });

  it("gives one text one topic", async () => {
    const result = await discoverTopics(
      ["The airline lost my baggage."],
      [englishVectors[0] as Float32Array],
    );
    expect([...result.assignments]).toEqual([0]);
    expect(result.topics).toHaveLength(1);
    expect(result.topics[0]).toMatchObject({ id: 0, size: 1, examples: [0] });
    expect(result.topics[0]?.keywords.map((keyword) => keyword.word)).toEqual(
      expect.arrayContaining(["airline", "lost", "baggage"]),
    );
    expect([...result.map]).toEqual([0, 0]);
  });

  it("stops when the signal aborts", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      discoverTopics(english2.texts, englishVectors, { signal: controller.signal }),
    ).rejects.toThrow(/cancelled/);
    const later = new AbortController();
    const run = discoverTopics(english2.texts, englishVectors, {
      signal: later.signal,
      onProgress: (stage) => {
        if (stage === "reduce") later.abort();
      },
    });
    await expect(run).rejects.toThrow(/Topic discovery was cancelled/);
  });
});
