/**
 * @module bench/dashboard
 * The dashboard's map at 10k and 100k points, measured end to end:
 *
 * - projection on the server (`GET /v1/dashboard/collections/{name}/map`, polled until ready):
 *   cold (read every item from the store, PCA in the worker thread) and then cached (same
 *   collection version), against a baseline measured in the same run: reading the same
 *   collection's items page by page through `Collection.list` (what any map must do at least);
 * - time to first render in headless Chromium (navigation until deck.gl drew the first frame,
 *   map already cached on the server), against the Overview page's first render (baseline);
 * - frame time while panning and zooming (wheel and drag events), against the frame time of the
 *   same page idle (baseline: the display's frame interval in this browser);
 * - main-thread long tasks (PerformanceObserver "longtask") while the map page loads and while
 *   panning/zooming: how many, the longest, and how many froze the tab for more than 200 ms;
 * - a map computed while its page is open (one item added, so a new collection version): whether
 *   the progress bar showed, the time until the points were drawn, and the long tasks meanwhile.
 *
 * Vectors: 384-dim unit vectors around 256 Gaussian centres (bench/lib/vector-bench-data.ts),
 * with a `topic` metadata field (the centre modulo 8) so the map is coloured, written into an
 * embedded store in a temp folder. The web app is built with the project's Vite config. Machine
 * load (busy cores before the run) is recorded next to the numbers.
 *
 * Run: `nice -n 10 npx tsx bench/dashboard.ts [--sizes 10000,100000] [--web <vite config>] [--no-write]`
 * (`--web`: build the web app from another copy of `web/`, e.g. an older commit's extracted with
 * `git archive <commit> web | tar -x -C .scratch/web-before` (git-ignored and outside the type-checked
 * folders), to measure before and after in one session).
 * Writes bench/out/dashboard.json and prints a Markdown table (copy into bench/notes/dashboard.md).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { chromium, type Page } from "playwright-core";
import { build } from "vite";
import { createServer } from "../src/server/create-server.js";
import { openEmbeddedStore } from "../src/store/embedded-store.js";
import { busyCores } from "./lib/machine-load.js";
import { makeVectors, percentile } from "./lib/vector-bench-data.js";

const ROOT = resolve(import.meta.dirname, "..");
const KEY = "sk-bench";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    web: { type: "string", default: join(ROOT, "web/vite.config.ts") },
    "no-write": { type: "boolean", default: false },
  },
});
const sizes = (args.sizes as string).split(",").map(Number);

async function timeMap(port: number, name: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    const response = await fetch(`http://127.0.0.1:${port}/v1/dashboard/collections/${name}/map`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    if (response.status === 200) {
      await response.arrayBuffer();
      return (performance.now() - started) / 1000;
    }
    if (response.status !== 202) throw new Error(`map ${name}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Main-thread long tasks (PerformanceObserver "longtask": tasks over 50 ms, the ones that freeze
 * the tab), collected from the page's start; `takeLongTasks` returns and clears those so far.
 */
const LONG_TASK_OBSERVER = `window.__longTasks = [];
new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.__longTasks.push(entry.duration); })
  .observe({ type: "longtask", buffered: true });`;

async function takeLongTasks(page: Page): Promise<number[]> {
  return (await page.evaluate("window.__longTasks.splice(0)")) as number[];
}

/** Frame intervals (ms) recorded in the page for `ms` while `act` runs. */
async function frameTimes(page: Page, ms: number, act: () => Promise<void>): Promise<number[]> {
  await page.evaluate(`window.__frames = []; (function loop(last) { requestAnimationFrame((now) => {
    window.__frames.push(now - last); if (window.__frames.length < 100000) loop(now); }); })(performance.now());`);
  const until = Date.now() + ms;
  while (Date.now() < until) await act();
  return (await page.evaluate("window.__frames.splice(1)")) as number[];
}

async function main(): Promise<void> {
  const busy = await busyCores(2000);
  const dir = await mkdtemp(join(tmpdir(), "embedkit-bench-dashboard-"));
  const assets = join(dir, "web");
  await build({ configFile: resolve(args.web as string), logLevel: "error", build: { outDir: assets } });
  const store = await openEmbeddedStore({ path: join(dir, "store") });
  // The model is listed, never loaded: maps need no inference.
  const app = createServer({
    models: ["all-minilm-l6-v2"],
    vectorStore: store,
    apiKeys: [KEY],
    dashboard: assets,
    processMetrics: false,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
      "--ignore-gpu-blocklist",
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const rows: Record<string, number | string>[] = [];
  try {
    for (const size of sizes) {
      const name = `map${size}`;
      const collection = await store.createCollection(name, { model: "all-minilm-l6-v2", dims: 384 });
      const vectors = makeVectors(size, 384, 1);
      for (let start = 0; start < size; start += 5000) {
        await collection.upsert(
          vectors.slice(start, start + 5000).map((vector, index) => ({
            id: `p${String(start + index).padStart(7, "0")}`,
            vector,
            metadata: { topic: `t${(start + index) % 8}` },
          })),
        );
      }
      // Baseline: read every item page by page, as the projection does.
      let started = performance.now();
      let after: string | undefined;
      for (;;) {
        const page = await collection.list(after === undefined ? { limit: 2000 } : { after, limit: 2000 });
        if (page.length < 2000) break;
        after = page[page.length - 1]?.id;
      }
      const readSeconds = (performance.now() - started) / 1000;
      const cold = await timeMap(port, name);
      const cached = await timeMap(port, name);

      const page = await context.newPage();
      await page.addInitScript(`sessionStorage.setItem("embedkit.apiKey", ${JSON.stringify(KEY)})`);
      await page.addInitScript(LONG_TASK_OBSERVER);
      started = performance.now();
      await page.goto(`http://127.0.0.1:${port}/#/overview`);
      await page.locator('[data-testid="collections"]').getByText(name).waitFor({ timeout: 120_000 });
      const overviewSeconds = (performance.now() - started) / 1000;
      await takeLongTasks(page);
      started = performance.now();
      await page.goto(`http://127.0.0.1:${port}/#/map/${name}`);
      await page.locator('[data-testid="map"][data-rendered="true"]').waitFor({ timeout: 300_000 });
      const renderSeconds = (performance.now() - started) / 1000;
      // Let the first frames after the render settle into the load's tasks.
      await page.waitForTimeout(500);
      const loadTasks = await takeLongTasks(page);
      const box = (await page.locator('[data-testid="map"]').boundingBox()) as {
        x: number;
        y: number;
        width: number;
        height: number;
      };
      const cx = box.x + box.width / 2;
      const cy = box.y + box.height / 2;
      const idle = await frameTimes(page, 3000, () => new Promise((resolve) => setTimeout(resolve, 100)));
      await takeLongTasks(page);
      let step = 0;
      await page.mouse.move(cx, cy);
      const moving = await frameTimes(page, 6000, async () => {
        step++;
        if (step % 2 === 0) await page.mouse.wheel(0, step % 4 === 0 ? -120 : 120);
        else {
          await page.mouse.down();
          await page.mouse.move(cx + (step % 3) * 40 - 40, cy + (step % 5) * 20 - 40, { steps: 4 });
          await page.mouse.up();
        }
      });
      const panTasks = await takeLongTasks(page);
      await page.close();

      // A map computed while its page is open: one item more is a new collection version.
      await collection.upsert([
        { id: "p9999999", vector: vectors[0] as Float32Array, metadata: { topic: "t0" } },
      ]);
      const computing = await context.newPage();
      await computing.addInitScript(`sessionStorage.setItem("embedkit.apiKey", ${JSON.stringify(KEY)})`);
      await computing.addInitScript(LONG_TASK_OBSERVER);
      started = performance.now();
      await computing.goto(`http://127.0.0.1:${port}/#/map/${name}`);
      const progressShown = await computing
        .locator('[data-testid="map-progress"]')
        .waitFor({ timeout: 60_000 })
        .then(
          () => true,
          () => false,
        );
      await computing.locator('[data-testid="map"][data-rendered="true"]').waitFor({ timeout: 900_000 });
      const computedRenderSeconds = (performance.now() - started) / 1000;
      await computing.waitForTimeout(500);
      const computingTasks = await takeLongTasks(computing);
      await computing.close();
      rows.push({
        points: size,
        read_s: readSeconds,
        map_cold_s: cold,
        map_cached_s: cached,
        cold_over_read: cold / readSeconds,
        cached_over_cold: cached / cold,
        overview_render_s: overviewSeconds,
        map_render_s: renderSeconds,
        render_over_overview: renderSeconds / overviewSeconds,
        idle_frame_p50_ms: percentile(idle, 0.5),
        moving_frame_p50_ms: percentile(moving, 0.5),
        moving_frame_p95_ms: percentile(moving, 0.95),
        moving_over_idle_p50: percentile(moving, 0.5) / percentile(idle, 0.5),
        frames: moving.length,
        load_longtasks: loadTasks.length,
        load_longtask_max_ms: Math.max(0, ...loadTasks),
        load_longtasks_over_200ms: loadTasks.filter((duration) => duration > 200).length,
        pan_longtasks: panTasks.length,
        pan_longtask_max_ms: Math.max(0, ...panTasks),
        pan_longtasks_over_200ms: panTasks.filter((duration) => duration > 200).length,
        computing_progress_shown: progressShown ? "yes" : "no",
        computing_render_s: computedRenderSeconds,
        computing_longtasks: computingTasks.length,
        computing_longtask_max_ms: Math.max(0, ...computingTasks),
        computing_longtasks_over_200ms: computingTasks.filter((duration) => duration > 200).length,
      });
      console.error(JSON.stringify(rows.at(-1)));
    }
  } finally {
    await browser.close();
    await app.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
  const result = {
    date: new Date().toISOString(),
    web: args.web,
    loadavg: loadavg(),
    busyCoresBefore: busy,
    rows,
  };
  const format = (value: number | string) =>
    typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : value;
  const keys = Object.keys(rows[0] ?? {});
  console.log(`| ${keys.join(" | ")} |\n| ${keys.map(() => "---").join(" | ")} |`);
  for (const row of rows) console.log(`| ${keys.map((key) => format(row[key] as number)).join(" | ")} |`);
  console.log(
    `\nweb ${args.web}; load average ${loadavg()
      .map((value) => value.toFixed(1))
      .join(" ")}, busy cores before ${busy.toFixed(2)}`,
  );
  if (!args["no-write"]) {
    await mkdir(join(ROOT, "bench/out"), { recursive: true });
    await writeFile(join(ROOT, "bench/out/dashboard.json"), `${JSON.stringify(result, null, 2)}\n`);
  }
}

await main();
