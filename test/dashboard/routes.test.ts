/**
 * The dashboard's server side over HTTP (inject): public static assets with a
 * strict Content-Security-Policy, the data routes behind the API key, item
 * pages, items by id, "more like this", deletion, collection maps (computed in
 * the worker, cached per collection version, recomputed after a change), the
 * reports list, and the attacks on report paths (traversal, absolute paths,
 * symbolic links leaving the folder). Real model (all-minilm-l6-v2) and store.
 */
import { mkdir, mkdtemp, open, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFaq, indexFaq } from "../../src/apps/faq/faq.js";
import { readFaqFile, readLabelledQueries } from "../../src/apps/faq/faq-entries.js";
import { indexRecommender } from "../../src/apps/recommend/index.js";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { imageThumbnail, THUMBNAIL_FIELD } from "../../src/embed/media/image/thumbnail.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { openEmbeddedStore } from "../../src/store/embedded-store.js";
import type { VectorStore } from "../../src/store/vector-store.js";
import { createRandom } from "../../src/vectors/random.js";
import { sampleImages } from "../embed/media/image-fixtures.js";
import { expectOpenAiError, sharedStore } from "../server/helpers.js";
import { plantedPostsCsv } from "./social-posts.js";

const KEY = "sk-dashboard-routes";
const MODEL = "all-minilm-l6-v2";
let dir: string;
let app: EmbedkitServer;
let vectorStore: VectorStore;

async function call(
  method: "GET" | "POST" | "DELETE",
  url: string,
  payload?: unknown,
  key: string | null = KEY,
) {
  return app.inject({
    method,
    url,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(payload === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
}

/** Poll a map until it is ready (the projection runs in a worker thread). */
async function readyMap(name: string, method = "pca") {
  for (let attempt = 0; attempt < 600; attempt++) {
    const response = await call("GET", `/v1/dashboard/collections/${name}/map?method=${method}`);
    if (response.statusCode !== 202) return response;
    expect(response.json()).toMatchObject({ status: "computing" });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the map never became ready");
}

function randomVectors(count: number, dims: number, seed: number): number[][] {
  const random = createRandom(seed);
  return Array.from({ length: count }, () => Array.from({ length: dims }, () => random.gaussian()));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-dashboard-routes-"));
  const assets = join(dir, "web");
  await mkdir(join(assets, "assets"), { recursive: true });
  await writeFile(
    join(assets, "index.html"),
    '<!doctype html><script type="module" src="/assets/app-1.js"></script>',
  );
  await writeFile(join(assets, "assets", "app-1.js"), "console.log('dashboard');\n");
  await writeFile(join(assets, "assets", "notes.txt"), "not an asset type");
  const reports = join(dir, "reports");
  await mkdir(join(reports, "run-1"), { recursive: true });
  await writeFile(join(reports, "run-1", "report.json"), JSON.stringify({ title: "t", entries: [] }));
  await writeFile(join(reports, "run-1", "report.html"), "<html><script>alert(1)</script></html>");
  await writeFile(join(reports, "run-1", "secret.json"), "{}");
  // Outside the reports folder: a report-named file and a symbolic link to it from inside.
  await mkdir(join(dir, "outside"), { recursive: true });
  await writeFile(join(dir, "outside", "report.json"), JSON.stringify({ secret: true }));
  await mkdir(join(reports, "linked"), { recursive: true });
  await symlink(join(dir, "outside", "report.json"), join(reports, "linked", "report.json"));
  await symlink(join(dir, "outside"), join(reports, "escape"));
  // Posts exports for the Social page's "a file on the server", and the files it must refuse.
  await mkdir(join(reports, "exports", "2026"), { recursive: true });
  await writeFile(join(reports, "exports", "2026", "posts.csv"), plantedPostsCsv().csv);
  await writeFile(join(reports, "exports", "notes.txt"), "not an export\n");
  await writeFile(join(reports, "binary.csv"), Buffer.from([0x74, 0x2c, 0x61, 0x0a, 0x00, 0x01, 0x02, 0x0a]));
  await writeFile(join(reports, "photo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  await mkdir(join(reports, "folder.csv"));
  // A huge (sparse) export: refused by its size before a byte of it is read.
  const huge = await open(join(reports, "huge.csv"), "w");
  await huge.truncate(3 * 1024 ** 3);
  await huge.close();
  await writeFile(join(dir, "outside", "secret.csv"), "text,secret\nTOPSECRET,1\n");
  await symlink(join(dir, "outside", "secret.csv"), join(reports, "exports", "leak.csv"));
  vectorStore = await openEmbeddedStore({ path: join(dir, "store") });
  app = createServer({
    models: [MODEL],
    store: sharedStore(),
    vectorStore,
    apiKeys: [KEY],
    dashboard: assets,
    reportsDir: reports,
    processMetrics: false,
  });
  expect((await call("POST", "/v1/collections", { name: "docs", model: MODEL })).statusCode).toBe(201);
  const texts = [
    ["a1", "The cat sleeps on the sofa", "pets"],
    ["a2", "My kitten chases a red ball", "pets"],
    ["b1", "Stock markets fell sharply today", "finance"],
    ["b2", "The central bank raised interest rates", "finance"],
    ["c1", "Fresh pasta with tomato sauce", "food"],
  ];
  const upsert = await call("POST", "/v1/collections/docs/documents", {
    documents: texts.map(([id, text, topic]) => ({ id, text, metadata: { topic } })),
  });
  expect(upsert.statusCode, upsert.body).toBe(200);
  expect((await call("POST", "/v1/collections", { name: "empty", model: MODEL })).statusCode).toBe(201);
});

afterAll(async () => {
  await app?.close();
  await vectorStore?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("dashboard assets", () => {
  it("serves the built files without a key, under a strict Content-Security-Policy", async () => {
    for (const url of ["/", "/assets/app-1.js"]) {
      const response = await call("GET", url, undefined, null);
      expect(response.statusCode, url).toBe(200);
      const csp = String(response.headers["content-security-policy"]);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(response.headers["x-content-type-options"]).toBe("nosniff");
    }
    expect((await call("GET", "/", undefined, null)).headers["content-type"]).toMatch(/^text\/html/);
    expect((await call("GET", "/assets/app-1.js", undefined, null)).headers["content-type"]).toMatch(
      /^text\/javascript/,
    );
  });

  it("serves nothing else: other names, other types and traversal attempts are not routes (401 without key, 404 with)", async () => {
    for (const url of [
      "/assets/notes.txt",
      "/assets/missing.js",
      "/assets/../index.html",
      "/assets/..%2f..%2fpackage.json",
      "/assets/%2e%2e/%2e%2e/package.json",
      "/index.html",
      "/favicon.ico",
    ]) {
      expectOpenAiError(await call("GET", url, undefined, null), 401);
      const withKey = await call("GET", url);
      expect([400, 404], `${url}: ${withKey.statusCode}`).toContain(withKey.statusCode);
    }
  });

  it("answers a clear 404 at / when the dashboard is not built", async () => {
    const bare = createServer({ models: [MODEL], store: sharedStore(), dashboard: join(dir, "nothing") });
    try {
      const response = await bare.inject({ method: "GET", url: "/" });
      expectOpenAiError(response, 404);
      expect(response.json().error.message).toMatch(/npm run build/);
    } finally {
      await bare.close();
    }
  });
});

describe("dashboard data routes", () => {
  it("need the API key", async () => {
    for (const [method, url] of [
      ["GET", "/v1/dashboard/overview"],
      ["GET", "/v1/dashboard/collections/docs/items"],
      ["POST", "/v1/dashboard/collections/docs/items/get"],
      ["POST", "/v1/dashboard/collections/docs/items/delete"],
      ["POST", "/v1/dashboard/collections/docs/similar"],
      ["GET", "/v1/dashboard/collections/docs/map"],
      ["GET", "/v1/dashboard/reports"],
      ["GET", "/v1/dashboard/report?path=run-1/report.json"],
      ["GET", "/v1/dashboard/recommenders"],
      ["POST", "/v1/dashboard/social/uploads"],
      ["POST", "/v1/dashboard/social/run"],
      ["GET", "/v1/dashboard/social/run"],
    ] as const) {
      expectOpenAiError(await call(method, url, method === "POST" ? { ids: ["a1"] } : undefined, null), 401);
      expectOpenAiError(
        await call(method, url, method === "POST" ? { ids: ["a1"] } : undefined, "sk-wrong"),
        401,
      );
    }
  });

  it("overview lists models with dims and languages, collections with counts, and live metrics", async () => {
    const response = await call("GET", "/v1/dashboard/overview");
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.models.find((model: { id: string }) => model.id === MODEL)).toMatchObject({
      dims: 384,
      languages: ["en"],
      alias: false,
    });
    expect(
      body.collections.map((entry: { name: string; count: number }) => [entry.name, entry.count]),
    ).toEqual([
      ["docs", 5],
      ["empty", 0],
    ]);
    expect(body.collections[0].faq).toBeNull();
    expect(body.collections[0].modality).toBe("text");
    expect(body.metrics.requests_total).toBeGreaterThan(0);
    expect(body.metrics.latency_p99_seconds).toBeGreaterThanOrEqual(body.metrics.latency_p50_seconds);
  });

  it("pages items in id order with a cursor, and refuses bad pages", async () => {
    const first = (await call("GET", "/v1/dashboard/collections/docs/items?limit=2")).json();
    expect(first).toMatchObject({ count: 5, next: "a2" });
    expect(first.data.map((item: { id: string }) => item.id)).toEqual(["a1", "a2"]);
    expect(first.data[0]).toEqual({
      id: "a1",
      text: "The cat sleeps on the sofa",
      metadata: { topic: "pets" },
    });
    const last = (await call("GET", "/v1/dashboard/collections/docs/items?limit=2&after=b2")).json();
    expect(last.data.map((item: { id: string }) => item.id)).toEqual(["c1"]);
    expect(last.next).toBeNull();
    expectOpenAiError(await call("GET", "/v1/dashboard/collections/docs/items?limit=0"), 400, "limit");
    expectOpenAiError(await call("GET", "/v1/dashboard/collections/docs/items?limit=201"), 400, "limit");
    expectOpenAiError(await call("GET", "/v1/dashboard/collections/docs/items?limit=abc"), 400, "limit");
    expectOpenAiError(await call("GET", "/v1/dashboard/collections/docs/items?sort=x"), 400);
    expectOpenAiError(await call("GET", "/v1/dashboard/collections/nope/items"), 404);
    const empty = (await call("GET", "/v1/dashboard/collections/empty/items")).json();
    expect(empty).toMatchObject({ count: 0, data: [], next: null });
  });

  it("finds more like an item (without the item itself) and reads items by id", async () => {
    const similar = await call("POST", "/v1/dashboard/collections/docs/similar", { id: "a1", k: 2 });
    expect(similar.statusCode, similar.body).toBe(200);
    const hits = similar.json().data;
    expect(hits.map((hit: { id: string }) => hit.id)[0]).toBe("a2");
    expect(hits).toHaveLength(2);
    expect(hits.some((hit: { id: string }) => hit.id === "a1")).toBe(false);
    expectOpenAiError(await call("POST", "/v1/dashboard/collections/docs/similar", { id: "zz" }), 400, "id");
    const got = (
      await call("POST", "/v1/dashboard/collections/docs/items/get", { ids: ["c1", "missing"] })
    ).json();
    expect(got.data).toEqual([
      { id: "c1", text: "Fresh pasta with tomato sauce", metadata: { topic: "food" } },
    ]);
    const tooMany = Array.from({ length: 1001 }, (_, index) => `id-${index}`);
    expectOpenAiError(await call("POST", "/v1/dashboard/collections/docs/items/get", { ids: tooMany }), 400);
    expectOpenAiError(await call("POST", "/v1/dashboard/collections/docs/items/get", { ids: [] }), 400);
  });

  it("gives an item's thumbnail only when it is an image data URL: hostile values never reach the page", async () => {
    const real = await imageThumbnail(sampleImages()[0] as string);
    const hostile = [
      "javascript:alert(1)",
      "https://evil.example/pixel.png",
      "//evil.example/pixel.png",
      "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
      "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
      'data:image/png;base64,AAAA" onerror="alert(1)',
      "data:image/png;base64,AAAA\njavascript:alert(1)",
      ` ${real}`,
      7,
    ];
    expect((await call("POST", "/v1/collections", { name: "pics", model: MODEL })).statusCode).toBe(201);
    const documents = [
      { id: "p0", text: "a photo with its thumbnail", metadata: { [THUMBNAIL_FIELD]: real, kind: "good" } },
      ...hostile.map((value, index) => ({
        id: `h${index}`,
        text: `a hostile thumbnail number ${index}`,
        metadata: { [THUMBNAIL_FIELD]: value, kind: "bad" },
      })),
    ];
    const upsert = await call("POST", "/v1/collections/pics/documents", { documents });
    expect(upsert.statusCode, upsert.body).toBe(200);
    const ids = documents.map((document) => document.id);
    const got = (await call("POST", "/v1/dashboard/collections/pics/items/get", { ids })).json().data;
    const page = (await call("GET", "/v1/dashboard/collections/pics/items?limit=20")).json().data;
    const similar = (await call("POST", "/v1/dashboard/collections/pics/similar", { id: "h0", k: 20 })).json()
      .data;
    for (const items of [got, page, similar]) {
      expect(items).toHaveLength(similar === items ? ids.length - 1 : ids.length);
      for (const item of items as { id: string; thumbnail?: string; metadata: Record<string, unknown> }[]) {
        // The reserved field never appears as metadata; only the real image comes back, as `thumbnail`.
        expect(item.metadata).toEqual({ kind: item.id === "p0" ? "good" : "bad" });
        if (item.id === "p0") expect(item.thumbnail).toBe(real);
        else expect(item).not.toHaveProperty("thumbnail");
      }
    }
    expect(JSON.stringify([got, page, similar])).not.toMatch(/javascript|evil|text\/html|svg|onerror/);
    // The map carries no thumbnail (fetched per item on hover), nor offers it as a colour.
    const map = (await readyMap("pics")).json();
    expect(map.colours.map((colour: { field: string }) => colour.field)).toEqual(["kind"]);
    expect(JSON.stringify(map)).not.toContain("data:image");
  });

  it("computes a map once per collection version: cached until the collection changes", async () => {
    const first = await readyMap("docs");
    expect(first.statusCode, first.body).toBe(200);
    const map = first.json();
    expect(map).toMatchObject({ status: "ready", method: "pca", count: 5, total: 5, sampled: false });
    expect(map.ids).toEqual(["a1", "a2", "b1", "b2", "c1"]);
    const bytes = Buffer.from(map.points, "base64");
    const points = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(points).toHaveLength(10);
    for (const value of points) expect(Math.abs(value)).toBeLessThanOrEqual(1.0001);
    // Same-topic items land nearer each other than items of different topics.
    const distance = (a: number, b: number) =>
      Math.hypot(
        (points[a * 2] as number) - (points[b * 2] as number),
        (points[a * 2 + 1] as number) - (points[b * 2 + 1] as number),
      );
    expect(distance(2, 3)).toBeLessThan(distance(2, 4));
    const topic = map.colours.find((colour: { field: string }) => colour.field === "topic");
    expect(topic.values).toEqual(["pets", "finance", "food"]);
    expect([...Buffer.from(topic.codes, "base64")]).toEqual([0, 0, 1, 1, 2]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = (await call("GET", "/v1/dashboard/collections/docs/map")).json();
    expect(again).toMatchObject({ status: "ready", cached: true, version: map.version });
    // A change gives a new version, and the next request computes a new map.
    await call("POST", "/v1/collections/docs/documents", {
      documents: [{ id: "c2", text: "A recipe for chocolate cake", metadata: { topic: "food" } }],
    });
    const changed = await readyMap("docs");
    expect(changed.json().version).not.toBe(map.version);
    expect(changed.json().count).toBe(6);
    const empty = (await readyMap("empty")).json();
    expect(empty).toMatchObject({ status: "ready", count: 0, ids: [] });
    expectOpenAiError(await call("GET", "/v1/dashboard/collections/nope/map"), 404);
    expectOpenAiError(await call("GET", "/v1/dashboard/collections/docs/map?method=tsne"), 400, "method");
  });

  it("refuses a UMAP map over its limit, naming the limit and the way out", async () => {
    expect((await call("POST", "/v1/collections", { name: "big", model: MODEL })).statusCode).toBe(201);
    // Written through the store directly: this test is about the map, not about upserting over HTTP.
    const big = await vectorStore.getCollection("big");
    const vectors = randomVectors(5001, 384, 7);
    await big.upsert(vectors.map((vector, index) => ({ id: `v${String(index).padStart(5, "0")}`, vector })));
    const umap = await call("GET", "/v1/dashboard/collections/big/map?method=umap");
    expectOpenAiError(umap, 400, "method");
    expect(umap.json().error.message).toMatch(/at most 5000 items.*5001.*method=pca/);
  });

  it("deletes items by id", async () => {
    const deleted = await call("POST", "/v1/dashboard/collections/docs/items/delete", {
      ids: ["c2", "nope"],
    });
    expect(deleted.json()).toMatchObject({ deleted: 1 });
    expect((await call("GET", "/v1/collections/docs")).json().count).toBe(5);
  });
});

describe("reports", () => {
  it("lists the eval and inspect outputs of the reports folder, and serves them", async () => {
    const list = (await call("GET", "/v1/dashboard/reports")).json();
    expect(list.reports_dir).toBe(true);
    const paths = list.data.map((entry: { path: string }) => entry.path);
    expect(paths).toContain("run-1/report.json");
    expect(paths).toContain("run-1/report.html");
    expect(paths).not.toContain("run-1/secret.json");
    const json = await call("GET", "/v1/dashboard/report?path=run-1/report.json");
    expect(json.statusCode).toBe(200);
    expect(json.json()).toEqual({ title: "t", entries: [] });
    const html = await call("GET", "/v1/dashboard/report?path=run-1/report.html");
    expect(html.statusCode).toBe(200);
    // Never rendered under the server's origin: a download.
    expect(html.headers["content-type"]).toBe("application/octet-stream");
    expect(html.headers["content-disposition"]).toMatch(/^attachment/);
  });

  it("refuses paths that leave the folder or name other files: traversal, absolute, encoded, symbolic links", async () => {
    const attacks = [
      "../outside/report.json",
      "run-1/../../outside/report.json",
      "/etc/passwd",
      "..%2Foutside%2Freport.json",
      "run-1/..\\..\\outside\\report.json",
      "run-1/secret.json",
      "run-1/report.json\u0000.png",
      "linked/report.json",
      "escape/report.json",
      "run-1/./report.json",
      "a/b/c/report.json",
    ];
    for (const path of attacks) {
      const response = await call("GET", `/v1/dashboard/report?path=${encodeURIComponent(path)}`);
      expect([400, 404], `${path}: ${response.statusCode} ${response.body}`).toContain(response.statusCode);
      expect(response.body).not.toContain('"secret":true');
    }
    expectOpenAiError(await call("GET", "/v1/dashboard/report"), 400, "path");
  });
});

describe("dashboard FAQ info", () => {
  it("shows a FAQ's calibration curve in the overview once it is calibrated (null before)", async () => {
    const fixtures = join(import.meta.dirname, "../fixtures/faq");
    const embedder = await createEmbedder({ model: MODEL, store: sharedStore() });
    try {
      await indexFaq({
        store: vectorStore,
        collection: "support",
        entries: await readFaqFile(join(fixtures, "faq-en.csv")),
        embedder,
      });
      const faqInfo = async () => {
        const response = await call("GET", "/v1/dashboard/overview");
        expect(response.statusCode).toBe(200);
        return response.json().collections.find((entry: { name: string }) => entry.name === "support").faq;
      };
      expect((await faqInfo()).calibration_curve).toBeNull();
      const faq = await createFaq({ store: vectorStore, collection: "support", embedder });
      const result = await faq.calibrate(await readLabelledQueries(join(fixtures, "calibration-en.csv")));
      const info = await faqInfo();
      expect(info.threshold).toBe(result.threshold);
      const curve = info.calibration_curve as { threshold: number; coverage: number; precision: number }[];
      expect(curve.map((point) => point.threshold)).toEqual(result.curve.map((point) => point.threshold));
      curve.forEach((point, index) => {
        expect(Object.keys(point).sort()).toEqual(["coverage", "precision", "threshold"]);
        expect(point.coverage).toBeCloseTo(result.curve[index]?.coverage ?? Number.NaN, 4);
        expect(point.precision).toBeCloseTo(result.curve[index]?.precision ?? Number.NaN, 4);
      });
      // Ascending thresholds, so coverage never rises along the curve.
      for (let i = 1; i < curve.length; i++)
        expect(curve[i]?.coverage).toBeLessThanOrEqual(curve[i - 1]?.coverage ?? Number.NaN);
    } finally {
      await embedder.close();
    }
  });
});

describe("dashboard recommenders", () => {
  it("lists the recommenders saved in the server's store by name (none before one is built)", async () => {
    expect((await call("GET", "/v1/dashboard/recommenders")).json()).toEqual({ object: "list", data: [] });
    const books = join(import.meta.dirname, "../fixtures/recommend");
    const embedder = await createEmbedder({ model: MODEL, store: sharedStore() });
    try {
      await indexRecommender(vectorStore, "books", embedder, {
        itemsFile: {
          path: join(books, "books.csv"),
          columns: { idField: "id", textFields: ["title", "description"] },
        },
        interactionsFile: {
          path: join(books, "ratings.csv"),
          columns: { userField: "user", itemField: "book", ratingField: "stars", timeField: "ts" },
        },
      });
    } finally {
      await embedder.close();
    }
    const listed = await call("GET", "/v1/dashboard/recommenders");
    expect(listed.statusCode, listed.body).toBe(200);
    const data = listed.json().data as { name: string; bytes: number; modified_at: string }[];
    expect(data.map((entry) => entry.name)).toEqual(["books"]);
    expect(data[0]?.bytes).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(data[0]?.modified_at ?? ""))).toBe(false);
    // The name the picker gives opens the recommender on the recommend routes.
    const opened = await call("GET", "/v1/recommend/books");
    expect(opened.statusCode, opened.body).toBe(200);
    expect(opened.json()).toMatchObject({ name: "books", model: MODEL });
  });
});

describe("dashboard social analysis", () => {
  it("refuses bad uploads before any work: type, binary, rows, a lone column", async () => {
    const upload = (filename: string, content: string) =>
      call("POST", "/v1/dashboard/social/uploads", { filename, content });
    const notCsv = await upload("notes.txt", "hello\n");
    expectOpenAiError(notCsv, 400, "filename");
    expect(notCsv.json().error.message).toBe(
      "notes.txt is not a CSV, TSV or JSONL file: the Social page analyses exports ending in .csv, .tsv or .jsonl.",
    );
    expectOpenAiError(await upload("photo.csv", "a,b\n\u0000\u0001"), 400, "content");
    const tooLong = await upload("big.csv", `text,time\n${"x,1\n".repeat(20_000)}`);
    expectOpenAiError(tooLong, 400, "content");
    expect(tooLong.json().error.message).toContain("at most 20000");
    const lone = await upload("lone.csv", "note\nhello\n");
    expectOpenAiError(lone, 400, "content");
    expect(lone.json().error.message).toContain('the header has one column ("note")');
    expectOpenAiError(await upload("bad.jsonl", '{"text": "a"}\nnot json\n'), 400, "content");
    expectOpenAiError(await call("POST", "/v1/dashboard/social/uploads", { filename: "x.csv" }), 400);
    expect((await call("GET", "/v1/dashboard/social/run")).json()).toMatchObject({ status: "idle" });
  });

  it("detects the columns, runs one analysis at a time and answers the report's topics and summary", async () => {
    const { csv, words, posts } = plantedPostsCsv();
    const uploaded = await call("POST", "/v1/dashboard/social/uploads", {
      filename: "posts.csv",
      content: csv,
    });
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const upload = uploaded.json();
    expect(upload).toMatchObject({
      filename: "posts.csv",
      format: "csv",
      columns: ["id", "text", "created", "airline"],
      rows: posts,
    });
    const unknown = await call("POST", "/v1/dashboard/social/run", {
      upload: upload.upload,
      text_field: "body",
    });
    expectOpenAiError(unknown, 400, "text_field");
    expect(unknown.json().error.message).toContain('its columns are "id", "text", "created", "airline"');
    const body = { upload: upload.upload, text_field: "text", time_field: "created", group_field: "airline" };
    const started = await call("POST", "/v1/dashboard/social/run", body);
    expect(started.statusCode, started.body).toBe(202);
    expect(started.json()).toMatchObject({ status: "running", filename: "posts.csv" });
    const second = await call("POST", "/v1/dashboard/social/run", body);
    expectOpenAiError(second, 409);
    expect(second.json().error.message).toMatch(/^An analysis of posts\.csv is running/);
    let state = started.json();
    for (let attempt = 0; attempt < 1200 && state.status === "running"; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      state = (await call("GET", "/v1/dashboard/social/run")).json();
    }
    expect(state.status, state.error).toBe("done");
    const topics = state.result.topics.topics.filter((topic: { id: number }) => topic.id >= 0);
    expect(topics.length).toBeGreaterThanOrEqual(2);
    const keywords = topics
      .map((topic: { keywords: string[] }) => topic.keywords.slice(0, 3).join(" "))
      .join(" | ");
    for (const word of words) expect(keywords).toContain(word);
    expect(state.result.summary.posts).toBe(posts);
    expect(state.result.buckets.length).toBeGreaterThan(1);
    expect(topics[0].over_time).toHaveLength(state.result.buckets.length);
    expect(state.result.summary.groups.map((group: { group: string }) => group.group).sort()).toEqual([
      "Northwind",
      "Southsea",
    ]);
  });
});

describe("dashboard social: a file of the reports folder", () => {
  it("lists the CSV/TSV/JSONL files of the reports folder and its sub-folders (no links, folders or other types)", async () => {
    const listed = await call("GET", "/v1/dashboard/social/files");
    expect(listed.statusCode, listed.body).toBe(200);
    const paths = listed.json().data.map((file: { path: string }) => file.path);
    expect(paths).toEqual(["binary.csv", "exports/2026/posts.csv", "huge.csv"]);
    expect(listed.json().data[1]).toMatchObject({ format: "csv", bytes: plantedPostsCsv().csv.length });
    expect((await call("GET", "/v1/dashboard/social/files", undefined, null)).statusCode).toBe(401);
  });

  it("takes a chosen file as an upload: its columns, and its id starts an analysis", async () => {
    const chosen = await call("POST", "/v1/dashboard/social/files", { path: "exports/2026/posts.csv" });
    expect(chosen.statusCode, chosen.body).toBe(201);
    const { posts } = plantedPostsCsv();
    expect(chosen.json()).toMatchObject({
      filename: "exports/2026/posts.csv",
      format: "csv",
      columns: ["id", "text", "created", "airline"],
      rows: posts,
    });
    // The upload is known to the run route (a wrong column names the file's columns; nothing runs).
    const run = await call("POST", "/v1/dashboard/social/run", {
      upload: chosen.json().upload,
      text_field: "body",
    });
    expectOpenAiError(run, 400, "text_field");
    expect(run.json().error.message).toContain('exports/2026/posts.csv has no column "body"');
  });

  it("refuses paths that leave the folder, folders, huge and non-text files — before reading them", async () => {
    const refusals: [string, RegExp][] = [
      ["../outside/secret.csv", /Invalid 'path'/],
      ["exports/../../outside/secret.csv", /Invalid 'path'/],
      ["/etc/passwd.csv", /Invalid 'path'/],
      ["%2e%2e/outside/secret.csv", /Invalid 'path'/],
      ["..%2Foutside%2Fsecret.csv", /Invalid 'path'/],
      ["exports\\..\\..\\outside\\secret.csv", /Invalid 'path'/],
      ["./exports/2026/posts.csv", /Invalid 'path'/],
      ["exports//2026/posts.csv", /Invalid 'path'/],
      ["exports/2026/posts.csv\u0000.csv", /Invalid 'path'/],
      ["exports/leak.csv", /No posts file "exports\/leak\.csv" in the reports folder/],
      ["escape/secret.csv", /No posts file "escape\/secret\.csv" in the reports folder/],
      ["missing.csv", /No posts file "missing\.csv"/],
      ["folder.csv", /^folder\.csv is a folder, not a posts file\.$/],
      ["huge.csv", /^huge\.csv is 3221225472 bytes; the Social page takes files up to 2097152 bytes/],
      ["binary.csv", /^binary\.csv is not a text file \(it holds NUL bytes\)\.$/],
      ["photo.png", /^photo\.png is not a CSV, TSV or JSONL file/],
      ["exports/notes.txt", /^exports\/notes\.txt is not a CSV, TSV or JSONL file/],
    ];
    for (const [path, message] of refusals) {
      const response = await call("POST", "/v1/dashboard/social/files", { path });
      expect([400, 413], `${path}: ${response.statusCode} ${response.body}`).toContain(response.statusCode);
      expect(response.json().error.message, path).toMatch(message);
      expect(response.body).not.toContain("TOPSECRET");
      // No machine path in the answer.
      expect(response.body).not.toContain(dir);
    }
    expectOpenAiError(await call("POST", "/v1/dashboard/social/files", {}), 400, "path");
  });
});
