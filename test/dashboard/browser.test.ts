/**
 * The dashboard end to end in a real browser: the web app built by Vite (the
 * same config as `npm run build`), served by a real server on 127.0.0.1 with a
 * real model (all-minilm-l6-v2), a real store and an inspect report, driven by
 * playwright-core in Debian's headless Chromium (installed by the global test
 * setup), plus an audio collection (speech-embedding over the committed FSDD clips). Every page
 * is opened; searches (text, and an uploaded example file with its wrong-type messages), the
 * recommender picker, the Social page (bad uploads, an upload's columns, then a planted two-topic CSV chosen
 * in the server's reports folder and analysed), the map (pixel check of the WebGL
 * canvas, hover text, neighbours), the similarity heatmap, the FAQ tester
 * (answer, then the fallback above the confidence), reports, a wrong API key,
 * an empty and a deleted collection, and a server restart (the page reconnects)
 * are checked, with no console errors and no failed requests on the normal
 * pages. Screenshots go to test-artifacts/dashboard (git-ignored).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import type { BrowserContext, Page } from "playwright-core";
import sharp from "sharp";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFaq, indexFaq } from "../../src/apps/faq/faq.js";
import { readFaqFile, readLabelledQueries } from "../../src/apps/faq/faq-entries.js";
import { indexRecommender } from "../../src/apps/recommend/index.js";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { createAudioEmbedder } from "../../src/embed/media/audio/create-audio-embedder.js";
import { createImageEmbedder } from "../../src/embed/media/image/create-image-embedder.js";
import { imageThumbnail, THUMBNAIL_FIELD } from "../../src/embed/media/image/thumbnail.js";
import { mediaPathEmbedder } from "../../src/embed/media/media-path-embedder.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { ensureCollection, indexDocuments } from "../../src/store/documents.js";
import { openEmbeddedStore } from "../../src/store/embedded-store.js";
import type { VectorStore } from "../../src/store/vector-store.js";
import { runCli } from "../cli/run-cli.js";
import { CLIPS, clip, ffmpeg } from "../embed/media/audio-fixtures.js";
import { sampleImages } from "../embed/media/image-fixtures.js";
import { sharedStore } from "../server/helpers.js";
import { plantedPostsCsv } from "./social-posts.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CHROMIUM = "/usr/bin/chromium";
const MODEL = "all-minilm-l6-v2";
/** A second text model for the playground's side-by-side heatmaps (small: int8 MiniLM). */
const SECOND_MODEL = "all-minilm-l6-v2-q";
/** The audio model of the "sounds" collection (search by an uploaded example file). */
const AUDIO_MODEL = "speech-embedding";
const KEY = "sk-dashboard-browser";
const ARTIFACTS = join(ROOT, "test-artifacts", "dashboard");
const LABELED = join(ROOT, "test/fixtures/eval/tasks/labeled.csv");

let dir: string;
let assets: string;
let reports: string;
let vectorStore: VectorStore;
let app: EmbedkitServer;
let port: number;
let context: BrowserContext;
let texts: Map<string, string>;

/** `expect.poll` with room for a loaded machine (model inference, WebGL in software). */
function poll<T>(read: () => T | Promise<T>, options: { timeout?: number } = {}) {
  return expect.poll(read, { timeout: options.timeout ?? 30_000, interval: 100 });
}

/** Problems a page must not have: console errors, page errors, failed or refused requests, the key in a URL. */
interface Watch {
  readonly problems: string[];
}

function watch(page: Page): Watch {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) =>
    problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`),
  );
  page.on("request", (request) => {
    if (!request.url().startsWith(`http://127.0.0.1:${port}/`))
      problems.push(`external request ${request.url()}`);
    if (request.url().includes(KEY)) problems.push(`API key in a URL: ${request.url()}`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
  });
  return { problems };
}

async function startServer(listenPort: number): Promise<void> {
  app = createServer({
    models: [MODEL, SECOND_MODEL],
    mediaModels: [AUDIO_MODEL],
    store: sharedStore(),
    vectorStore,
    apiKeys: [KEY],
    dashboard: assets,
    reportsDir: reports,
    processMetrics: false,
  });
  await app.embedkit.preload();
  await app.listen({ host: "127.0.0.1", port: listenPort });
  port = (app.server.address() as AddressInfo).port;
}

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${KEY}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** A page of the dashboard with the key already in this tab's sessionStorage. */
async function openPage(hash: string): Promise<{ page: Page; watched: Watch }> {
  const page = await context.newPage();
  const watched = watch(page);
  // The key is in this tab's sessionStorage before the app's first request, as after a login.
  await page.addInitScript(`sessionStorage.setItem("embedkit.apiKey", ${JSON.stringify(KEY)})`);
  await page.goto(`http://127.0.0.1:${port}/${hash}`);
  return { page, watched };
}

/** A map's ids and points as the map route gives them (points decoded from base64 float32 pairs). */
async function mapPoints(name: string): Promise<{ ids: string[]; points: Float32Array }> {
  const answer = (await (await api("GET", `/v1/dashboard/collections/${name}/map`)).json()) as {
    ids: string[];
    points: string;
  };
  const bytes = Buffer.from(answer.points, "base64");
  return { ids: answer.ids, points: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
}

/** Where the map's initial view draws point `index`, in page pixels. */
function onScreen(
  box: { x: number; y: number; width: number; height: number },
  points: Float32Array,
  index: number,
): { x: number; y: number } {
  const scale = Math.min(box.width, box.height) / 2.4;
  return {
    x: box.x + box.width / 2 + (points[index * 2] as number) * scale,
    y: box.y + box.height / 2 + (points[index * 2 + 1] as number) * scale,
  };
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-dashboard-browser-"));
  await mkdir(ARTIFACTS, { recursive: true });
  assets = join(dir, "web");
  // The real build of the web app (as `npm run build` does), into this test's folder.
  await build({
    configFile: join(ROOT, "web/vite.config.ts"),
    logLevel: "error",
    build: { outDir: assets, emptyOutDir: true },
  });
  reports = join(dir, "reports");
  const inspect = await runCli([
    "inspect",
    LABELED,
    "--labels-field",
    "topic",
    "-m",
    MODEL,
    "--robustness-texts",
    "5",
    "--out",
    join(reports, "news-inspect"),
    "--quiet",
  ]);
  expect(inspect.code, inspect.stderr).toBe(0);
  // An eval suite report (STS and pair classification on six pairs) next to the inspect report.
  const evaluation = await runCli([
    "eval",
    "suite",
    "-m",
    MODEL,
    "--data",
    join(ROOT, "test/fixtures/eval/tasks/pairs-binary.tsv"),
    "--out",
    join(reports, "pairs-eval"),
    "--quiet",
  ]);
  expect(evaluation.code, evaluation.stderr).toBe(0);
  // A posts export in the reports folder, for the Social page's "a file on the server".
  await mkdir(join(reports, "exports"), { recursive: true });
  await writeFile(join(reports, "exports", "posts.csv"), plantedPostsCsv().csv);
  vectorStore = await openEmbeddedStore({ path: join(dir, "store") });
  const embedder = await createEmbedder({ model: MODEL, store: sharedStore() });
  try {
    await indexFaq({
      store: vectorStore,
      collection: "support",
      entries: await readFaqFile(join(ROOT, "test/fixtures/faq/faq-en.csv")),
      embedder,
      threshold: 0.5,
    });
    // A calibration stores the coverage/precision curve the FAQ page draws; the threshold is then
    // set back to 0.5 so the FAQ step below does not depend on where the calibration put it.
    const faq = await createFaq({ store: vectorStore, collection: "support", embedder });
    await faq.calibrate(await readLabelledQueries(join(ROOT, "test/fixtures/faq/calibration-en.csv")));
    await faq.configure({ threshold: 0.5 });
    const books = join(ROOT, "test/fixtures/recommend");
    await indexRecommender(vectorStore, "books", embedder, {
      itemsFile: {
        path: join(books, "books.csv"),
        columns: { idField: "id", textFields: ["title", "description"], metadataFields: ["year", "genre"] },
      },
      interactionsFile: {
        path: join(books, "ratings.csv"),
        columns: { userField: "user", itemField: "book", ratingField: "stars", timeField: "ts" },
      },
    });
  } finally {
    await embedder.close();
  }
  // An audio collection: the 12 committed FSDD clips (digits 0-3 by three speakers), embedded by the
  // real speech model, as `embedkit index` of audio files stores them.
  const audio = await createAudioEmbedder({ model: AUDIO_MODEL, store: sharedStore(), threads: 1 });
  try {
    const { vectors } = await audio.embed(CLIPS.map((entry) => entry.path));
    const sounds = await vectorStore.createCollection("sounds", {
      model: audio.model.id,
      dims: audio.model.dims,
      normalized: audio.model.normalize,
      metric: "cosine",
    });
    await sounds.upsert(
      CLIPS.map((entry, index) => ({
        id: entry.name,
        vector: vectors[index] as Float32Array,
        text: `"${entry.digit}" spoken by ${entry.speaker}`,
        metadata: { digit: entry.digit, speaker: entry.speaker },
      })),
    );
  } finally {
    await audio.close();
  }
  await startServer(0);
  const rows = (
    parse(await readFile(LABELED, "utf8"), { columns: true }) as { id: string; text: string; topic: string }[]
  ).map((row) => ({ id: `n${row.id.padStart(2, "0")}`, text: row.text, topic: row.topic }));
  texts = new Map(rows.map((row) => [row.id, row.text]));
  for (const name of ["news", "empty", "doomed"]) {
    expect((await api("POST", "/v1/collections", { name, model: MODEL })).status).toBe(201);
  }
  for (const name of ["news", "doomed"]) {
    const upsert = await api("POST", `/v1/collections/${name}/documents`, {
      documents: rows.map((row) => ({ id: row.id, text: row.text, metadata: { topic: row.topic } })),
    });
    expect(upsert.status, await upsert.text()).toBe(200);
  }
  const { chromium } = await import("playwright-core");
  const profile = await mkdtemp(join(tmpdir(), "embedkit-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
      "--ignore-gpu-blocklist",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
  });
});

afterAll(async () => {
  await context?.close();
  await app?.close();
  await vectorStore?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("dashboard in headless Chromium", () => {
  it("asks for the API key, says clearly when it is wrong, and keeps it out of URLs", async () => {
    const page = await context.newPage();
    const watched = watch(page);
    await page.goto(`http://127.0.0.1:${port}/`);
    await poll(() => page.locator(".key-form").textContent()).toContain("This server needs an API key.");
    await page.fill('input[name="api-key"]', "sk-wrong");
    await page.click('button[type="submit"]');
    await poll(() => page.locator(".key-form").textContent()).toContain("The API key was rejected (401)");
    await shoot(page, "wrong-key");
    await page.fill('input[name="api-key"]', KEY);
    await page.click('button[type="submit"]');
    await page.locator('[data-testid="collections"]').getByText("news").waitFor();
    expect(await page.evaluate('sessionStorage.getItem("embedkit.apiKey")')).toBe(KEY);
    // Only the refused requests failed (and requests cut short by the reloads after each key).
    expect(watched.problems.filter((problem) => !/401|status of 401|ERR_ABORTED/.test(problem))).toEqual([]);
    await page.close();
  });

  it("overview: models, collections and live health", async () => {
    const { page, watched } = await openPage("#/overview");
    await page.locator('[data-testid="collections"]').getByText("news").waitFor();
    await poll(() => page.locator('[data-testid="health"]').textContent()).toBe("ok");
    const models = await page.locator('[data-testid="models"] tbody tr').allTextContents();
    expect(models.join(" ")).toContain(`${MODEL} (default)`);
    expect(models.join(" ")).toContain("384");
    const collections = await page.locator('[data-testid="collections"] tbody tr').allTextContents();
    expect(collections.find((row) => row.startsWith("support"))).toContain("FAQ");
    expect(collections.find((row) => row.startsWith("news"))).toContain("30");
    await page.locator('[data-testid="live-chart"] canvas').waitFor();
    await shoot(page, "overview");
    expect(watched.problems).toEqual([]);
    await page.close();
  });

  it("collection: pages items, searches with hits and scores, more like this, deletes after confirming", async () => {
    const { page, watched } = await openPage("#/collection/news");
    await poll(() => page.locator('[data-testid="items"] tbody tr').count()).toBe(25);
    await page.click("text=next");
    await poll(() => page.locator('[data-testid="items"] tbody tr').count()).toBe(5);
    await page.fill('input[name="query"]', "a football match and the goals scored");
    await page.fill('input[name="k"]', "5");
    await page.click('button:has-text("Search")');
    const results = page.locator('[data-testid="results"] tbody tr');
    await poll(() => results.count()).toBe(5);
    const top = await results.first().locator("td").allTextContents();
    expect(Number(top[0])).toBeGreaterThan(0.3);
    expect(top[3]).toContain('topic="sports"');
    // Filtered search keeps only the filtered topic.
    await page.fill('input[name="filter"]', "topic=finance");
    await page.click('button:has-text("Search")');
    await poll(async () =>
      (await results.allTextContents()).every((row) => row.includes('topic="finance"')),
    ).toBe(true);
    await page.fill('input[name="filter"]', "");
    await page.click("text=previous");
    await page.locator('[data-testid="items"] tbody tr').first().locator("text=more like this").click();
    await poll(() => page.locator("h2", { hasText: "More like" }).count()).toBe(1);
    const similar = await results.allTextContents();
    expect(similar.length).toBe(5);
    expect(similar.some((row) => row.includes("n01"))).toBe(false);
    await shoot(page, "collection");
    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator('[data-testid="items"] tbody tr').first().locator("text=delete").click();
    await poll(
      async () => ((await (await api("GET", "/v1/collections/news")).json()) as { count: number }).count,
    ).toBe(29);
    expect(watched.problems).toEqual([]);
    await page.close();
  });

  it("collection: searches an audio collection by an uploaded example file; a wrong file type gets a clear message", async () => {
    const { page, watched } = await openPage("#/collection/sounds");
    await poll(() => page.locator('[data-testid="items"] tbody tr').count()).toBe(12);
    // The example is a copy of one clip re-encoded at another sample rate (other bytes, same speech).
    const example = join(dir, "example-2-george.wav");
    ffmpeg("-i", clip("2_george_0"), "-ar", "22050", example);
    const picker = page.locator('[data-testid="example-file"]');
    await picker.setInputFiles(example);
    const results = page.locator('[data-testid="results"] tbody tr');
    await poll(() => results.count()).toBe(10);
    expect(await page.locator("h2", { hasText: "Results for example-2-george.wav" }).count()).toBe(1);
    const [score, id] = await results.first().locator("td").allTextContents();
    expect(id).toBe("2_george_0");
    // The score shown is the one the API gives for the same bytes and the same model.
    const embedded = (await (
      await api("POST", "/v1/embeddings", {
        model: AUDIO_MODEL,
        input: (await readFile(example)).toString("base64"),
      })
    ).json()) as { data: { embedding: number[] }[] };
    const expected = (await (
      await api("POST", "/v1/collections/sounds/query", { vector: embedded.data[0]?.embedding, k: 10 })
    ).json()) as { data: { id: string; score: number }[] };
    expect(expected.data[0]?.id).toBe("2_george_0");
    expect(Number(score)).toBeCloseTo(expected.data[0]?.score as number, 4);
    expect(Number(score)).toBeGreaterThan(0.9);
    const second = Number((await results.nth(1).locator("td").allTextContents())[0]);
    expect(second).toBeLessThan(Number(score));
    await shoot(page, "collection-audio");
    expect(watched.problems).toEqual([]);

    // A text file renamed .wav, then an image: the server's 4xx message under the search box.
    const fake = join(dir, "notes.wav");
    await writeFile(fake, "These are meeting notes, not a recording.\n".repeat(20));
    await picker.setInputFiles(fake);
    const error = page.locator("p.error");
    await poll(() => error.textContent()).toMatch(/^notes\.wav cannot be searched with speech-embedding: /);
    const textMessage = (await error.textContent()) as string;
    expect(await results.count()).toBe(0);
    const photo = join(dir, "photo.png");
    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 40, b: 40 } } })
      .png()
      .toFile(photo);
    await picker.setInputFiles(photo);
    await poll(async () => (await error.textContent()) !== textMessage).toBe(true);
    expect(await error.textContent()).toMatch(
      /^photo\.png cannot be searched with speech-embedding: .*image file \(image\/png, \.png\), not an audio/,
    );
    await shoot(page, "collection-audio-wrong-type");
    // Nothing was added, and the only problems are the two refused embedding requests.
    expect(((await (await api("GET", "/v1/collections/sounds")).json()) as { count: number }).count).toBe(12);
    await poll(() => page.locator('[data-testid="items"] tbody tr').count()).toBe(12);
    const refused = watched.problems.filter((problem) => /^4\d\d .*\/v1\/embeddings$/.test(problem));
    expect(refused.length).toBe(2);
    expect(
      watched.problems.filter(
        (problem) =>
          !refused.includes(problem) &&
          !/^console: Failed to load resource: the server responded with a status of 4\d\d/.test(problem),
      ),
    ).toEqual([]);
    await page.close();
  });

  it("map: the WebGL canvas draws the coloured points, hover shows the text, click the neighbours", async () => {
    const { page, watched } = await openPage("#/map/news");
    const map = page.locator('[data-testid="map"]');
    await map.and(page.locator('[data-rendered="true"]')).waitFor({ timeout: 60_000 });
    await poll(() => map.getAttribute("data-points")).toBe("29");
    // Pixel check: the canvas holds many coloured (non-white, non-grey) pixels in several palette colours.
    const pixels = await sharp(await map.screenshot())
      .raw()
      .toBuffer({ resolveWithObject: true });
    let coloured = 0;
    const hues = new Set<string>();
    for (let i = 0; i < pixels.data.length; i += pixels.info.channels) {
      const [r, g, b] = [
        pixels.data[i] as number,
        pixels.data[i + 1] as number,
        pixels.data[i + 2] as number,
      ];
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) {
        coloured++;
        hues.add(`${r >> 5},${g >> 5},${b >> 5}`);
      }
    }
    expect(coloured).toBeGreaterThan(29 * 12);
    expect(hues.size).toBeGreaterThanOrEqual(3);
    await shoot(page, "map");
    // Hover the most isolated point, at the place the initial view draws it.
    const answer = await mapPoints("news");
    const { points } = answer;
    let best = 0;
    let bestGap = -1;
    for (let i = 0; i < answer.ids.length; i++) {
      let gap = Number.POSITIVE_INFINITY;
      for (let j = 0; j < answer.ids.length; j++) {
        if (i !== j)
          gap = Math.min(
            gap,
            Math.hypot(
              (points[i * 2] as number) - (points[j * 2] as number),
              (points[i * 2 + 1] as number) - (points[j * 2 + 1] as number),
            ),
          );
      }
      if (gap > bestGap) {
        bestGap = gap;
        best = i;
      }
    }
    const box = (await map.boundingBox()) as { x: number; y: number; width: number; height: number };
    const { x, y } = onScreen(box, points, best);
    await page.mouse.move(x - 30, y - 30);
    await page.mouse.move(x, y, { steps: 4 });
    const id = answer.ids[best] as string;
    await poll(() => page.locator('[data-testid="tooltip"]').textContent(), { timeout: 15_000 }).toBe(
      texts.get(id),
    );
    await page.mouse.click(x, y);
    await poll(() => page.locator('[data-testid="neighbours"] tbody tr').count(), { timeout: 15_000 }).toBe(
      10,
    );
    expect(await page.locator("h2", { hasText: "Nearest neighbours" }).textContent()).toContain(id);
    // Lasso around everything selects every point.
    await page.click("text=Lasso select");
    const lasso = page.locator('[data-testid="lasso"]');
    await lasso.waitFor();
    await page.mouse.move(box.x + 3, box.y + 3);
    await page.mouse.down();
    for (const [px, py] of [
      [box.x + box.width - 3, box.y + 3],
      [box.x + box.width - 3, box.y + box.height - 3],
      [box.x + 3, box.y + box.height - 3],
      [box.x + 3, box.y + 4],
    ] as const) {
      await page.mouse.move(px, py, { steps: 3 });
    }
    await page.mouse.up();
    await poll(() => page.locator('[data-testid="selected"]').textContent()).toBe("29 selected");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Export JSON")]);
    const exported = JSON.parse(await readFile(await download.path(), "utf8")) as { ids: string[] };
    expect(exported.ids.sort()).toEqual([...answer.ids].sort());
    const [csvDownload] = await Promise.all([page.waitForEvent("download"), page.click("text=Export CSV")]);
    const csvLines = (await readFile(await csvDownload.path(), "utf8")).trim().split("\n");
    expect(csvLines[0]).toBe("id");
    expect(csvLines.slice(1).sort()).toEqual([...answer.ids].sort());
    expect(watched.problems).toEqual([]);
    await page.close();
  });

  it("image collection: map hover and the item table show the thumbnails stored at index time, never a hostile one", async () => {
    // Four photos indexed as `embedkit index --modality image` does, thumbnails included; then the
    // last one's thumbnail overwritten by a collection writer with a script URL.
    const photos = sampleImages().slice(20, 24);
    const images = mediaPathEmbedder(await createImageEmbedder({ store: sharedStore(), threads: 1 }));
    const collection = await ensureCollection(vectorStore, "photos", images.model);
    try {
      await indexDocuments(
        collection,
        images,
        photos.map((path) => ({ id: path, text: path, metadata: { modality: "image" } })),
        {
          prepare: async (batch) =>
            Promise.all(
              batch.map(async (document) => ({
                ...document,
                metadata: { ...document.metadata, [THUMBNAIL_FIELD]: await imageThumbnail(document.text) },
              })),
            ),
        },
      );
    } finally {
      await images.close();
    }
    const stored = await collection.get(photos);
    const hostile = stored[3] as (typeof stored)[number];
    await collection.upsert([
      { ...hostile, metadata: { modality: "image", [THUMBNAIL_FIELD]: "javascript:alert(1)" } },
    ]);

    const { page, watched } = await openPage("#/map/photos");
    const map = page.locator('[data-testid="map"]');
    await map.and(page.locator('[data-rendered="true"]')).waitFor({ timeout: 60_000 });
    await poll(() => map.getAttribute("data-points")).toBe("4");
    const { ids, points } = await mapPoints("photos");
    const box = (await map.boundingBox()) as { x: number; y: number; width: number; height: number };
    const tooltip = page.locator('[data-testid="tooltip"]');
    const hover = async (id: string) => {
      const { x, y } = onScreen(box, points, ids.indexOf(id));
      await page.mouse.move(x - 30, y - 30);
      await page.mouse.move(x, y, { steps: 4 });
      await poll(() => tooltip.locator('[data-testid="tooltip-text"]').textContent(), {
        timeout: 15_000,
      }).toBe(id);
    };
    await hover(photos[0] as string);
    const image = tooltip.locator("img");
    expect(await image.getAttribute("src")).toBe(stored[0]?.metadata[THUMBNAIL_FIELD]);
    // Decoded and drawn under the page's Content-Security-Policy (img-src 'self' data:).
    await poll(() =>
      image.evaluate((element) => (element as unknown as { naturalWidth: number }).naturalWidth),
    ).toBeGreaterThan(0);
    await shoot(page, "map-thumbnail");
    await hover(hostile.id);
    expect(await tooltip.locator("img").count()).toBe(0);
    expect(watched.problems).toEqual([]);
    await page.close();

    const table = await openPage("#/collection/photos");
    const rows = table.page.locator('[data-testid="items"] tbody tr');
    await poll(() => rows.count()).toBe(4);
    for (const [index, path] of photos.entries()) {
      const thumbnails = rows.filter({ hasText: path }).locator('img[data-testid="thumbnail"]');
      if (index === 3) expect(await thumbnails.count()).toBe(0);
      else expect(await thumbnails.getAttribute("src")).toBe(stored[index]?.metadata[THUMBNAIL_FIELD]);
    }
    expect(await table.page.locator("body").textContent()).not.toContain("javascript:");
    await shoot(table.page, "collection-thumbnails");
    expect(table.watched.problems).toEqual([]);
    await table.page.close();
  });

  it("similarity playground: a heatmap per chosen model, side by side, whose similar pair scores above the unrelated one", async () => {
    const { page, watched } = await openPage("#/playground");
    await page.locator('input[name="model"]').first().waitFor();
    await page.check(`input[name="model"][value="${SECOND_MODEL}"]`);
    await page.fill(
      'textarea[name="texts"]',
      "A cat sits on the mat.\nA kitten rests on a rug.\nInterest rates rose again.",
    );
    await page.click('button:has-text("Compare")');
    const cells = page.locator('[data-testid="heatmap"] td');
    await poll(() => cells.count()).toBe(18);
    expect(await page.locator(".heatmaps h2").allTextContents()).toEqual([MODEL, SECOND_MODEL]);
    for (const table of await page.locator('[data-testid="heatmap"]').all()) {
      const values = (await table
        .locator("td")
        .evaluateAll((all) => all.map((cell) => Number(cell.getAttribute("data-value"))))) as number[];
      expect(values[0]).toBeCloseTo(1, 2);
      expect(values[1] as number).toBeGreaterThan((values[2] as number) + 0.2);
    }
    await shoot(page, "playground");
    expect(watched.problems).toEqual([]);
    await page.close();
  });

  it("FAQ tester: answers an in-scope question, and gives the fallback when the threshold is above the confidence", async () => {
    const { page, watched } = await openPage("#/faq/support");
    await page.locator('[data-testid="faq-info"]').waitFor();
    // The calibrated trade-off: a curve, and coverage/precision at the slider's threshold.
    const tradeOff = page.locator('[data-testid="faq-tradeoff"]');
    await poll(() => tradeOff.textContent()).toMatch(
      /^At threshold 0\.50 \(nearest measured [\d.]+\): coverage \d+\.\d% of questions answered, precision \d+\.\d% of answers right\.$/,
    );
    // The curve is drawn in an effect after the text renders: wait for it rather than race it.
    await poll(() => page.locator('[data-testid="faq-curve"] canvas').count()).toBe(1);
    await page.fill('input[name="question"]', "I forgot the PIN of my card");
    await page.click('button:has-text("Ask")');
    const reply = page.locator('[data-testid="reply"]');
    await poll(() => reply.textContent()).toContain("Reset PIN");
    expect(await page.locator('[data-testid="faq-answer"]').getAttribute("class")).toBe("answer");
    const confidence = Number(await page.locator('[data-testid="confidence"]').textContent());
    await shoot(page, "faq-answer");
    await page
      .locator('input[name="threshold"]')
      .fill(String(Math.min(1, Math.ceil((confidence + 0.05) * 100) / 100)));
    await poll(() => tradeOff.textContent()).not.toContain("At threshold 0.50 ");
    await page.click('button:has-text("Ask")');
    await poll(() => page.locator('[data-testid="faq-answer"]').getAttribute("class")).toBe(
      "answer fallback",
    );
    expect(await page.locator('[data-testid="faq-answer"]').textContent()).toContain("Fallback");
    expect(await reply.textContent()).not.toContain("Reset PIN");
    await shoot(page, "faq-fallback");
    expect(watched.problems).toEqual([]);
    await page.close();
  });

  it("recommendations: picks a saved recommender and shows a user's recommendations with scores", async () => {
    const { page, watched } = await openPage("#/recommend");
    // The picker lists the server's saved recommenders; choosing one opens it.
    const picker = page.locator('select[name="recommender"]');
    await poll(() => picker.locator("option").allTextContents()).toEqual([
      "choose…",
      expect.stringMatching(/^books \(saved \d{4}-\d\d-\d\d \d\d:\d\d\)$/),
    ]);
    await picker.selectOption("books");
    await poll(() => page.evaluate("location.hash")).toBe("#/recommend/books");
    await poll(() => page.locator('[data-testid="recommender-info"]').textContent()).toContain("books:");
    await page.fill('input[name="user"]', "alice");
    await page.fill('input[name="k"]', "3");
    await page.click('button:has-text("Recommend")');
    const rows = page.locator('[data-testid="recommendations"] tbody tr');
    await poll(() => rows.count()).toBe(3);
    const expected = (await (
      await api("POST", "/v1/recommend/books/user", { user: "alice", k: 3 })
    ).json()) as {
      data: { id: string }[];
    };
    const shown = await rows.evaluateAll((found) =>
      found.map((row) => [row.children[0]?.textContent ?? "", row.children[1]?.textContent ?? ""]),
    );
    expect(shown.map(([, id]) => id)).toEqual(expected.data.map((item) => item.id));
    for (const [score] of shown) expect(Number.isFinite(Number(score))).toBe(true);
    await shoot(page, "recommend");
    expect(watched.problems).toEqual([]);
    await page.close();
  });

  it("social: a bad upload gets a clear message; a posts file chosen on the server is analysed with topics listed and charts drawn", async () => {
    const { page, watched } = await openPage("#/social");
    const file = page.locator('input[name="posts"]');
    await file.waitFor();
    const error = page.locator("p.error");
    // Not a CSV, then a CSV without the columns an analysis needs.
    const notes = join(dir, "notes.txt");
    await writeFile(notes, "Just some notes.\n");
    await file.setInputFiles(notes);
    await poll(() => error.textContent()).toBe(
      "notes.txt is not a CSV, TSV or JSONL file: the Social page analyses exports ending in .csv, .tsv or .jsonl.",
    );
    const lone = join(dir, "lone.csv");
    await writeFile(lone, "note\nhello\n");
    await file.setInputFiles(lone);
    await poll(() => error.textContent()).toContain('lone.csv: the header has one column ("note")');
    await shoot(page, "social-bad-upload");
    const { csv, words, posts } = plantedPostsCsv();
    // An upload from this computer: its columns detected, the pickers on the columns named like
    // text, time and group.
    const postsFile = join(dir, "posts.csv");
    await writeFile(postsFile, csv);
    await file.setInputFiles(postsFile);
    const fields = page.locator('[data-testid="social-fields"]');
    await poll(() => fields.textContent()).toContain(`posts.csv: ${posts} rows, 4 columns`);
    expect(await error.count()).toBe(0);
    expect(await page.locator('select[name="text-field"]').inputValue()).toBe("text");
    expect(await page.locator('select[name="time-field"]').inputValue()).toBe("created");
    expect(await page.locator('select[name="group-field"]').inputValue()).toBe("airline");
    // A file of the server's reports folder, chosen from the list, is the one analysed.
    const serverFile = page.locator('select[name="server-file"]');
    await poll(() => serverFile.locator("option").allTextContents()).toEqual([
      "choose…",
      expect.stringMatching(/^exports\/posts\.csv \(\d+\.\d KiB\)$/),
    ]);
    await serverFile.selectOption("exports/posts.csv");
    await poll(() => fields.textContent()).toContain(`exports/posts.csv: ${posts} rows, 4 columns`);
    expect(await page.locator('select[name="group-field"]').inputValue()).toBe("airline");
    await page.click('button:has-text("Analyse")');
    const topics = page.locator('[data-testid="social-topics"] tbody tr');
    await poll(() => topics.count(), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
    expect(await page.locator("h2", { hasText: "exports/posts.csv:" }).textContent()).toContain(
      `${posts} posts`,
    );
    const listed = (await topics.allTextContents()).join(" | ");
    for (const word of words) expect(listed).toContain(word);
    await page.locator('[data-testid="social-chart"] canvas').waitFor();
    expect(await page.locator('[data-testid="social-groups"] tbody tr').count()).toBe(2);
    await shoot(page, "social");
    const refused = watched.problems.filter((problem) =>
      /^400 .*\/v1\/dashboard\/social\/uploads$/.test(problem),
    );
    expect(refused.length).toBe(2);
    expect(
      watched.problems.filter(
        (problem) =>
          !refused.includes(problem) &&
          !/^console: Failed to load resource: the server responded with a status of 400/.test(problem),
      ),
    ).toEqual([]);
    await page.close();
  });

  it("reports: lists the inspect and eval reports and draws them", async () => {
    const { page, watched } = await openPage("#/reports");
    await page.locator("text=news-inspect/inspect.json").click();
    await page.locator('[data-testid="report-chart"] canvas').waitFor();
    expect(await page.locator('[data-testid="report-table"]').textContent()).toContain(
      `${MODEL} · 384 dims · 30 texts`,
    );
    await shoot(page, "reports");
    // The eval suite report: a score chart and one row per task.
    await page.locator("text=pairs-eval/report.json").click();
    await poll(() => page.locator('[data-testid="report-table"] tbody tr').count()).toBe(2);
    const rows = await page.locator('[data-testid="report-table"] tbody tr').allTextContents();
    expect(rows.map((row) => row.split(MODEL)[0])).toEqual([
      "stspairs-binary.tsv",
      "pair-classificationpairs-binary.tsv",
    ]);
    await page.locator('[data-testid="report-chart"] canvas').waitFor();
    await shoot(page, "reports-eval");
    expect(watched.problems).toEqual([]);
    await page.close();
  });

  it("bad states: an empty collection, a collection deleted while open", async () => {
    const { page, watched } = await openPage("#/collection/empty");
    await page.locator('[data-testid="empty"]').waitFor();
    await page.goto(`http://127.0.0.1:${port}/#/map/empty`);
    await poll(() => page.locator('[data-testid="empty"]').textContent()).toContain("Nothing to map");
    expect(watched.problems).toEqual([]);
    await page.goto(`http://127.0.0.1:${port}/#/collection/doomed`);
    await poll(() => page.locator('[data-testid="items"] tbody tr').count()).toBe(25);
    expect((await api("DELETE", "/v1/collections/doomed")).status).toBe(200);
    await page.fill('input[name="query"]', "football");
    await page.click('button:has-text("Search")');
    await poll(() => page.locator(".error").first().textContent()).toContain(
      'Collection "doomed" does not exist (it may have been deleted)',
    );
    await shoot(page, "deleted-collection");
    await page.close();
  });

  it("reconnects after the server restarts while the page is open", async () => {
    const { page } = await openPage("#/overview");
    await poll(() => page.locator('[data-testid="health"]').textContent()).toBe("ok");
    const samePort = port;
    await app.close();
    await page.locator(".banner").waitFor({ timeout: 15_000 });
    await startServer(samePort);
    await page.locator(".banner").waitFor({ state: "detached", timeout: 20_000 });
    await poll(() => page.locator('[data-testid="health"]').textContent(), { timeout: 10_000 }).toBe("ok");
    await page.locator('[data-testid="collections"]').getByText("news").waitFor();
    await page.close();
  });
});
