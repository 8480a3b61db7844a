/**
 * @module bench/recommend
 * Recommendation benchmark on MovieLens ml-latest-small (`$EMBEDKIT_DATA/movielens-latest-small`).
 *
 * Protocol (docs/RECOMMEND.md): each user's ratings sorted by time; the last
 * 20 % (rounded, at least one) are the test, the rest is training; relevant =
 * test rating ≥ 4. Every method ranks all items the user did not rate in
 * training, k = 10; NDCG@10, HR@10 and MAP@10 are averaged over users with at
 * least one relevant test item, catalog coverage = distinct recommended items /
 * catalog. Methods, all in one run: random (seeded), popularity (training
 * interaction counts), item-kNN CF, content-only (profile of all-minilm-l6-v2
 * vectors of title + genres + tags), hybrid (blend chosen on a validation split
 * of the training interactions).
 *
 * Cold start: 10 % of the rated items (seeded) lose all their training ratings;
 * the recommender is rebuilt on that training set (the items' vectors stay) and
 * each method ranks only those cold items; NDCG@10 over users with a relevant
 * cold test item.
 *
 * Speed: build time (embedding + neighbours + blend validation), users/s of
 * recommending for every user (`recommend users --all`), peak RSS.
 * `--scale` adds a synthetic run: 100k items (random unit vectors written to the
 * collection directly, so embedding time is excluded), 1M interactions; build
 * time, users/s and peak RSS.
 *
 * Run: `EMBEDKIT_DATA=… npx tsx bench/recommend.ts [--scale] [--out bench/out/recommend.json] [--store dir]`
 * (the MovieLens store is kept in `--store`, so only the first run embeds the items).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { parse } from "csv-parse/sync";
import {
  type InteractionInput,
  indexRecommender,
  openRecommender,
  type Recommender,
} from "../src/apps/recommend/index.js";
import { rankingQuality } from "../src/apps/recommend/recommend-math.js";
import { createEmbedder } from "../src/embed/create-embedder.js";
import type { Document } from "../src/store/documents.js";
import { openEmbeddedStore } from "../src/store/embedded-store.js";
import type { VectorStore } from "../src/store/vector-store.js";
import { createRandom } from "../src/vectors/random.js";

const { values } = parseArgs({
  options: {
    scale: { type: "boolean", default: false },
    "scale-items": { type: "string", default: "100000" },
    "scale-interactions": { type: "string", default: "1000000" },
    out: { type: "string", default: "bench/out/recommend.json" },
    seed: { type: "string", default: "42" },
    /** Kept between runs so re-runs skip embedding (the build then measures neighbours + blend only). */
    store: { type: "string", default: join(tmpdir(), "embedkit-bench-recommend-store") },
  },
});
const seed = Number(values.seed);

const dataRoot = process.env.EMBEDKIT_DATA;
if (dataRoot === undefined || dataRoot === "") {
  throw new Error("EMBEDKIT_DATA must point at the shared data folder (holding movielens-latest-small).");
}
const dataDir = join(dataRoot, "movielens-latest-small");

function readCsv(path: string): Promise<Record<string, string>[]> {
  return readFile(path, "utf8").then(
    (text) => parse(text, { columns: true, bom: true }) as Record<string, string>[],
  );
}

let lastLog = 0;
/** Progress on stderr, at most every 5 s. */
function log(message: string): void {
  const now = performance.now();
  if (now - lastLog < 5000) return;
  lastLog = now;
  process.stderr.write(`[recommend bench] ${message}\n`);
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

interface Rating {
  readonly user: string;
  readonly item: string;
  readonly rating: number;
  readonly time: number;
}

interface MethodResult {
  readonly method: string;
  readonly ndcg: number;
  readonly hit: number;
  readonly map: number;
  readonly coverage: number;
  readonly users: number;
}

type Ranker = (user: string, candidates?: readonly string[]) => string[];

function evaluate(
  method: string,
  rank: Ranker,
  relevantByUser: Map<string, Set<string>>,
  catalogSize: number,
  candidates?: readonly string[],
): MethodResult {
  let ndcg = 0;
  let hit = 0;
  let map = 0;
  const recommended = new Set<string>();
  for (const [user, relevant] of relevantByUser) {
    const ranked = rank(user, candidates);
    for (const id of ranked) recommended.add(id);
    const quality = rankingQuality(ranked, relevant, 10);
    ndcg += quality.ndcg;
    hit += quality.hit;
    map += quality.averagePrecision;
  }
  const n = relevantByUser.size;
  return {
    method,
    ndcg: ndcg / n,
    hit: hit / n,
    map: map / n,
    coverage: recommended.size / catalogSize,
    users: n,
  };
}

function rankers(
  recommender: Recommender,
  items: readonly string[],
  seen: Map<string, Set<string>>,
): Record<string, Ranker> {
  const random = createRandom(seed);
  const ids = (list: { items: readonly { id: string }[] }) => list.items.map((item) => item.id);
  const opts = (candidates?: readonly string[]) => ({
    k: 10,
    ...(candidates === undefined ? {} : { candidates }),
  });
  return {
    random: (user, candidates) => {
      const pool = (candidates ?? items).filter((id) => !seen.get(user)?.has(id));
      return random.shuffle([...pool]).slice(0, 10);
    },
    popularity: (user, candidates) =>
      ids(recommender.recommendForUser(user, { ...opts(candidates), mode: "popular" })),
    "item-kNN": (user, candidates) =>
      ids(recommender.recommendForUser(user, { ...opts(candidates), mode: "collaborative" })),
    content: (user, candidates) =>
      ids(recommender.recommendForUser(user, { ...opts(candidates), mode: "content" })),
    hybrid: (user, candidates) => ids(recommender.recommendForUser(user, opts(candidates))),
  };
}

async function movieLens(store: VectorStore): Promise<Record<string, unknown>> {
  const [movies, tags, ratingRows] = await Promise.all([
    readCsv(join(dataDir, "movies.csv")),
    readCsv(join(dataDir, "tags.csv")),
    readCsv(join(dataDir, "ratings.csv")),
  ]);
  const tagsByMovie = new Map<string, Set<string>>();
  for (const row of tags) {
    const set = tagsByMovie.get(row.movieId as string) ?? new Set<string>();
    set.add((row.tag as string).trim());
    tagsByMovie.set(row.movieId as string, set);
  }
  const documents: Document[] = movies.map((row) => {
    const genres =
      (row.genres as string) === "(no genres listed)" ? "" : (row.genres as string).split("|").join(", ");
    const movieTags = [...(tagsByMovie.get(row.movieId as string) ?? [])].join(", ");
    const text = [row.title, genres, movieTags]
      .filter((part) => part !== undefined && part !== "")
      .join(". ");
    const year = /\((\d{4})\)\s*$/.exec(row.title as string)?.[1];
    const metadata: Record<string, number> = year === undefined ? {} : { year: Number(year) };
    return { id: row.movieId as string, text, metadata };
  });
  const itemIds = documents.map((d) => d.id);
  // Per-user temporal split.
  const byUser = new Map<string, Rating[]>();
  for (const row of ratingRows) {
    const rating: Rating = {
      user: row.userId as string,
      item: row.movieId as string,
      rating: Number(row.rating),
      time: Number(row.timestamp),
    };
    const list = byUser.get(rating.user) ?? [];
    list.push(rating);
    byUser.set(rating.user, list);
  }
  const train: Rating[] = [];
  const test: Rating[] = [];
  for (const list of byUser.values()) {
    list.sort((a, b) => a.time - b.time || Number(a.item) - Number(b.item));
    const held = Math.max(1, Math.round(list.length * 0.2));
    train.push(...list.slice(0, list.length - held));
    test.push(...list.slice(list.length - held));
  }
  const seen = new Map<string, Set<string>>();
  for (const r of train) {
    const set = seen.get(r.user) ?? new Set<string>();
    set.add(r.item);
    seen.set(r.user, set);
  }
  const relevantByUser = new Map<string, Set<string>>();
  for (const r of test) {
    if (r.rating < 4 || seen.get(r.user)?.has(r.item)) continue;
    const set = relevantByUser.get(r.user) ?? new Set<string>();
    set.add(r.item);
    relevantByUser.set(r.user, set);
  }
  const toInput = (list: readonly Rating[]): InteractionInput[] =>
    list.map((r) => ({ user: r.user, item: r.item, rating: r.rating, time: r.time }));

  const embedder = await createEmbedder({ model: "all-minilm-l6-v2" });
  try {
    // Full build: embedding + neighbours + blend validation.
    const started = performance.now();
    const report = await indexRecommender(store, "movielens", embedder, {
      items: documents,
      interactions: toInput(train),
      replaceInteractions: true,
      ratingRange: [0.5, 5],
      relevantRating: 4,
      onProgress: (progress) => {
        if (progress.phase !== "interactions") log(`${progress.phase} ${progress.done}/${progress.total}`);
      },
    });
    const buildSeconds = (performance.now() - started) / 1000;
    const rebuildStarted = performance.now();
    const rebuild = await indexRecommender(store, "movielens", embedder, {
      items: documents,
      interactions: toInput(train),
      replaceInteractions: true,
      ratingRange: [0.5, 5],
      relevantRating: 4,
    });
    const rebuildSeconds = (performance.now() - rebuildStarted) / 1000;
    const recommender = await openRecommender(store, "movielens", embedder);
    const methods = rankers(recommender, itemIds, seen);
    const results = Object.entries(methods).map(([name, rank]) =>
      evaluate(name, rank, relevantByUser, itemIds.length),
    );
    // Speed of `users --all`.
    const usersStarted = performance.now();
    const users = recommender.userIds();
    for (const user of users) recommender.recommendForUser(user, { k: 10 });
    const usersPerSecond = users.length / ((performance.now() - usersStarted) / 1000);

    // Cold start: 10 % of the rated items lose all training ratings.
    const rated = [...new Set(ratingRows.map((row) => row.movieId as string))].sort(
      (a, b) => Number(a) - Number(b),
    );
    const cold = createRandom(seed + 1)
      .shuffle([...rated])
      .slice(0, Math.round(rated.length * 0.1));
    const coldSet = new Set(cold);
    const coldTrain = train.filter((r) => !coldSet.has(r.item));
    const coldReport = await indexRecommender(store, "movielens", embedder, {
      items: documents,
      interactions: toInput(coldTrain),
      replaceInteractions: true,
      ratingRange: [0.5, 5],
      relevantRating: 4,
    });
    const coldRecommender = await openRecommender(store, "movielens", embedder);
    const coldRelevant = new Map<string, Set<string>>();
    for (const [user, relevant] of relevantByUser) {
      const set = new Set([...relevant].filter((id) => coldSet.has(id)));
      if (set.size > 0) coldRelevant.set(user, set);
    }
    const coldSeen = new Map<string, Set<string>>();
    for (const r of coldTrain) {
      const set = coldSeen.get(r.user) ?? new Set<string>();
      set.add(r.item);
      coldSeen.set(r.user, set);
    }
    const coldMethods = rankers(coldRecommender, itemIds, coldSeen);
    const coldResults = Object.entries(coldMethods).map(([name, rank]) =>
      evaluate(name, rank, coldRelevant, cold.length, cold),
    );
    return {
      items: documents.length,
      trainInteractions: train.length,
      testInteractions: test.length,
      evaluatedUsers: relevantByUser.size,
      build: {
        seconds: buildSeconds,
        embedded: report.embedded,
        blendWeight: report.blendWeight,
        blendCurve: report.blendCurve,
      },
      rebuildWithoutEmbedding: { seconds: rebuildSeconds, embedded: rebuild.embedded },
      results,
      usersPerSecond,
      users: users.length,
      coldStart: {
        items: cold.length,
        users: coldRelevant.size,
        blendWeight: coldReport.blendWeight,
        results: coldResults,
      },
      peakRssMb: peakRssMb(),
    };
  } finally {
    await embedder.close();
  }
}

/** Synthetic scale run: random unit item vectors stored directly (no embedding), Zipf-like popularity. */
async function scaleRun(
  store: VectorStore,
  itemCount: number,
  interactionCount: number,
): Promise<Record<string, unknown>> {
  const embedder = await createEmbedder({ model: "all-minilm-l6-v2" });
  try {
    const dims = embedder.model.dims;
    const random = createRandom(seed + 7);
    const collection = await store.createCollection("scale", {
      model: embedder.model.id,
      dims,
      metric: "cosine",
    });
    const documents: Document[] = [];
    // Clustered vectors (200 topics) so profiles mean something.
    const topics = Array.from({ length: 200 }, () =>
      Float32Array.from({ length: dims }, () => random.gaussian()),
    );
    const writeStarted = performance.now();
    for (let start = 0; start < itemCount; start += 5000) {
      const batch = [];
      for (let i = start; i < Math.min(itemCount, start + 5000); i++) {
        const topic = topics[i % topics.length] as Float32Array;
        const vector = Float32Array.from(
          { length: dims },
          (_, d) => (topic[d] as number) + 0.7 * random.gaussian(),
        );
        let norm = 0;
        for (const x of vector) norm += x * x;
        for (let d = 0; d < dims; d++) vector[d] = (vector[d] as number) / Math.sqrt(norm);
        const document = { id: `i${i}`, text: `item ${i}`, metadata: { topic: i % topics.length } };
        documents.push(document);
        batch.push({ ...document, vector });
      }
      await collection.upsert(batch, { model: embedder.model.id });
    }
    const writeSeconds = (performance.now() - writeStarted) / 1000;
    const users = Math.round(interactionCount / 100);
    const interactions: InteractionInput[] = [];
    for (let n = 0; n < interactionCount; n++) {
      const user = random.integer(users);
      // Each user prefers a few topics; items skewed towards low ids (popular).
      const topic = (user * 7 + random.integer(3)) % topics.length;
      const rank = Math.floor((itemCount / topics.length) * random.next() ** 2);
      const item = Math.min(itemCount - 1, rank * topics.length + topic);
      interactions.push({ user: `u${user}`, item: `i${item}`, rating: 1 + random.integer(5), time: n });
    }
    const started = performance.now();
    const report = await indexRecommender(store, "scale", embedder, {
      items: documents,
      interactions,
      ratingRange: [1, 5],
    });
    const buildSeconds = (performance.now() - started) / 1000;
    const openStarted = performance.now();
    const recommender = await openRecommender(store, "scale", embedder);
    const openSeconds = (performance.now() - openStarted) / 1000;
    const sample = recommender.userIds().slice(0, 500);
    const usersStarted = performance.now();
    for (const user of sample) recommender.recommendForUser(user, { k: 10 });
    const usersPerSecond = sample.length / ((performance.now() - usersStarted) / 1000);
    return {
      items: itemCount,
      interactions: report.interactions,
      users: report.users,
      vectorWriteSeconds: writeSeconds,
      buildSeconds,
      embeddedDuringBuild: report.embedded,
      blendWeight: report.blendWeight,
      openSeconds,
      usersPerSecond,
      usersSampled: sample.length,
      peakRssMb: peakRssMb(),
    };
  } finally {
    await embedder.close();
  }
}

function table(results: readonly MethodResult[]): string {
  const lines = ["| method | NDCG@10 | HR@10 | MAP@10 | coverage |", "| --- | ---: | ---: | ---: | ---: |"];
  for (const r of results) {
    lines.push(
      `| ${r.method} | ${r.ndcg.toFixed(4)} | ${r.hit.toFixed(4)} | ${r.map.toFixed(4)} | ${r.coverage.toFixed(4)} |`,
    );
  }
  return lines.join("\n");
}

const dir = await mkdtemp(join(tmpdir(), "embedkit-bench-recommend-"));
try {
  const output: Record<string, unknown> = {
    started: new Date().toISOString(),
    machine: cpus()[0]?.model ?? "unknown",
  };
  const store = await openEmbeddedStore({ path: values.store as string });
  try {
    output.movielens = await movieLens(store);
  } finally {
    await store.close();
  }
  const movielens = output.movielens as { results: MethodResult[]; coldStart: { results: MethodResult[] } };
  process.stdout.write(
    `MovieLens temporal split\n${table(movielens.results)}\n\nCold-start items\n${table(movielens.coldStart.results)}\n`,
  );
  const byName = new Map(movielens.results.map((r) => [r.method, r]));
  const hybrid = byName.get("hybrid") as MethodResult;
  process.stdout.write(
    `hybrid / popularity NDCG@10 = ${(hybrid.ndcg / (byName.get("popularity") as MethodResult).ndcg).toFixed(3)}×; ` +
      `hybrid / item-kNN = ${(hybrid.ndcg / (byName.get("item-kNN") as MethodResult).ndcg).toFixed(3)}×\n`,
  );
  if (values.scale) {
    const scaleStore = await openEmbeddedStore({ path: join(dir, "scale") });
    try {
      output.scale = await scaleRun(
        scaleStore,
        Number(values["scale-items"]),
        Number(values["scale-interactions"]),
      );
    } finally {
      await scaleStore.close();
    }
  }
  output.finished = new Date().toISOString();
  await mkdir(dirname(values.out as string), { recursive: true });
  await writeFile(values.out as string, `${JSON.stringify(output, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
