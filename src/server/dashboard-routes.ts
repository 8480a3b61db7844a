/**
 * @module server/dashboard-routes
 * The web dashboard of `embedkit serve` (docs/DASHBOARD.md):
 *
 * - its static assets (built by `npm run build` from `web/` into `dist/web/`),
 *   served at `/` and `/assets/<file>` under a strict Content-Security-Policy.
 *   Each asset is its own route, listed as public: they hold no data. Any other
 *   URL is not a dashboard route and still needs the API key.
 * - the data it reads beyond the public API, under `/v1/dashboard/…`, behind
 *   the same API key, Host check, limits and error handler as every route:
 *   overview (models, collections, metrics), item pages, items by id, "more like
 *   this", item deletion, collection maps (src/server/map-projection.ts), the
 *   saved recommenders (names, for the Recommendations page's picker) and
 *   the eval/inspect reports of the folder given by `reportsDir`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { calibrationCurveOf, FAQ_SETTINGS_ID } from "../apps/faq/faq.js";
import { recommenderStatePath } from "../apps/recommend/index.js";
import type { Embedder } from "../embed/embedder.js";
import { isThumbnailDataUrl, THUMBNAIL_FIELD, withoutThumbnail } from "../embed/media/image/thumbnail.js";
import { EmbedkitError } from "../errors.js";
import { findModel } from "../models/catalog.js";
import {
  COLLECTION_NAME_PATTERN,
  type Metadata,
  STORE_LIMITS,
  type StoredItem,
  type VectorStore,
} from "../store/vector-store.js";
import { parseBody } from "./collection-routes.js";
import { HttpError } from "./http-error.js";
import { type MapMethod, ProjectionCache } from "./map-projection.js";
import type { ServerMetrics } from "./metrics.js";
import type { ModelPool } from "./model-pool.js";
import { listReportsFolder, resolveInReportsFolder } from "./reports-folder.js";
import { registerSocialJobs } from "./social-jobs.js";

/** The policy every dashboard page is served with: own scripts, styles and requests only; no eval, no frames. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

/** Limits of the dashboard's data routes. */
export const DASHBOARD_LIMITS = Object.freeze({
  /** Most items per page of the item table. */
  maxPageItems: 200,
  /** Most ids per items/get or items/delete request. */
  maxIds: 1000,
  /** Largest report file served (bytes). */
  maxReportBytes: 16 * 1024 * 1024,
  /** Most reports listed. */
  maxReports: 500,
  /** Most recommenders listed. */
  maxRecommenders: 500,
});

/** The folder holding the built dashboard: `dist/web` of the package (from `src/server` or `dist/server`). */
export function defaultDashboardDir(): string {
  return fileURLToPath(new URL("../../dist/web/", import.meta.url));
}

/** What the dashboard routes need from the server. */
export interface DashboardContext {
  readonly pool: ModelPool;
  readonly store: () => Promise<VectorStore>;
  readonly metrics: ServerMetrics;
  /** Folder of the built assets; `false` serves no dashboard. */
  readonly assetsDir: string | false;
  /** Folder of eval / inspect outputs listed on the Reports page. */
  readonly reportsDir: string | undefined;
  /** embedkit home, where the recommenders of non-folder stores are saved (as for the recommend routes). */
  readonly home?: string | undefined;
  /** Opens an embedding model for the Social page's analyses (through the server's model store). */
  readonly openEmbedder: (model: string) => Promise<Embedder>;
  /** Public routes of the server; the asset routes are added to it. */
  readonly publicRoutes: Set<string>;
  readonly startedAt: number;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
};

/** Built asset names: what Vite writes (hashed names), nothing a URL could abuse. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly immutable: boolean;
}

/** Read the built assets once: index.html and the files of assets/ (a fixed set of routes). */
function loadAssets(dir: string): Map<string, Asset> | undefined {
  const assets = new Map<string, Asset>();
  let index: Buffer;
  try {
    index = readFileSync(join(dir, "index.html"));
  } catch {
    return undefined;
  }
  assets.set("/", { body: index, type: CONTENT_TYPES[".html"] as string, immutable: false });
  let names: string[] = [];
  try {
    names = readdirSync(join(dir, "assets"));
  } catch {}
  for (const name of names) {
    const type = CONTENT_TYPES[extname(name)];
    const path = join(dir, "assets", name);
    if (!ASSET_NAME.test(name) || type === undefined || !statSync(path).isFile()) continue;
    assets.set(`/assets/${name}`, { body: readFileSync(path), type, immutable: true });
  }
  return assets;
}

const PAGE_QUERY = z.strictObject({
  after: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(DASHBOARD_LIMITS.maxPageItems).optional(),
});
const IDS_BODY = z.strictObject({ ids: z.array(z.string()).min(1).max(DASHBOARD_LIMITS.maxIds) });
const SIMILAR_BODY = z.strictObject({
  id: z.string().min(1),
  k: z.number().int().min(1).max(100).optional(),
  filter: z.string().optional(),
});
const MAP_QUERY = z.strictObject({ method: z.enum(["pca", "umap"]).optional() });
const REPORT_QUERY = z.strictObject({ path: z.string().min(1).max(300) });

/**
 * An item's metadata without its thumbnail, plus `thumbnail` only when the
 * stored value is a renderable image data URL: the field is written by
 * whoever writes the collection, so anything else (`javascript:`, a remote
 * URL, `data:text/html`…) is dropped and never reaches the page.
 */
function splitThumbnail(metadata: Metadata): { metadata: Metadata; thumbnail?: string } {
  if (!(THUMBNAIL_FIELD in metadata)) return { metadata };
  const value = metadata[THUMBNAIL_FIELD];
  const rest = withoutThumbnail(metadata);
  return isThumbnailDataUrl(value) ? { metadata: rest, thumbnail: value } : { metadata: rest };
}

/** An item as the dashboard shows it (no vector; the thumbnail apart from the metadata). */
function itemObject(item: StoredItem): Record<string, unknown> {
  return { id: item.id, text: item.text ?? null, ...splitThumbnail(item.metadata) };
}

/** Nearest-rank quantile of a prom-client histogram (buckets summed over label sets), in seconds. */
function histogramQuantile(
  values: ReadonlyArray<{ value: number; labels: Record<string, unknown>; metricName?: string }>,
  quantile: number,
): number | null {
  const buckets = new Map<number, number>();
  let total = 0;
  for (const sample of values) {
    if (sample.metricName?.endsWith("_bucket") !== true) continue;
    const le = sample.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(sample.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + sample.value);
  }
  const sorted = [...buckets.entries()].sort(([a], [b]) => a - b);
  total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const target = quantile * total;
  let previousLe = 0;
  let previousCount = 0;
  for (const [le, count] of sorted) {
    if (count >= target) {
      if (!Number.isFinite(le)) return previousLe;
      const span = count - previousCount;
      return span === 0 ? le : previousLe + ((le - previousLe) * (target - previousCount)) / span;
    }
    previousLe = le;
    previousCount = count;
  }
  return previousLe;
}

async function sumOf(metric: { get(): Promise<{ values: ReadonlyArray<{ value: number }> }> }) {
  return (await metric.get()).values.reduce((sum, sample) => sum + sample.value, 0);
}

/** Reports the dashboard lists (eval suite and inspect outputs), at most one folder deep. */
const REPORT_FILES = new Set(["report.json", "report.html", "inspect.json", "inspect.html"]);

/**
 * Resolve a report path inside the reports folder with the folder's path rules
 * (src/server/reports-folder.ts: no `..`, absolute or encoded paths, no symbolic link out).
 * @throws EmbedkitError INVALID_INPUT for a malformed path; FILE_NOT_FOUND when it is not a listed report
 */
async function resolveReport(root: string, path: string): Promise<string> {
  const base = path.split("/").at(-1) as string;
  const file = await resolveInReportsFolder(root, path, "report", "path", 1);
  if (!REPORT_FILES.has(base)) {
    throw new EmbedkitError("FILE_NOT_FOUND", `No report ${JSON.stringify(path)} in the reports folder.`, {
      details: { param: "path" },
    });
  }
  return file;
}

/** The eval and inspect outputs in the reports folder (top level and one folder deep). */
async function listReports(root: string): Promise<Array<Record<string, unknown>>> {
  const files = await listReportsFolder(
    root,
    (name) => REPORT_FILES.has(name),
    DASHBOARD_LIMITS.maxReports,
    1,
  );
  return files.map((file) => {
    const name = file.path.split("/").at(-1) as string;
    return {
      path: file.path,
      kind: name.startsWith("inspect") ? "inspect" : "eval",
      format: extname(name).slice(1),
      bytes: file.bytes,
      modified_at: file.modifiedAt,
    };
  });
}

/**
 * The recommenders saved for `store` (`embedkit recommend index`): their names, state file sizes and
 * modification times, in name order. The state files are not parsed (they can be large): a picked
 * recommender's facts come from `GET /v1/recommend/<name>`.
 */
async function listRecommenders(store: VectorStore, home: string | undefined) {
  // Every recommender's state is a `<name>.json` in one folder per store (recommender-state.ts).
  const folder = dirname(await recommenderStatePath(store, "any", home === undefined ? {} : { home }));
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const found = names
    .filter((file) => file.endsWith(".json") && COLLECTION_NAME_PATTERN.test(file.slice(0, -5)))
    .sort()
    .slice(0, DASHBOARD_LIMITS.maxRecommenders);
  const out: Array<Record<string, unknown>> = [];
  for (const file of found) {
    const info = await stat(join(folder, file)).catch(() => undefined);
    if (info?.isFile() !== true) continue;
    out.push({ name: file.slice(0, -5), bytes: info.size, modified_at: info.mtime.toISOString() });
  }
  return out;
}

/** Register the dashboard's assets and data routes (called by `createServer`). */
export function registerDashboardRoutes(app: FastifyInstance, context: DashboardContext): void {
  const maps = new ProjectionCache();
  const assets = context.assetsDir === false ? new Map<string, Asset>() : loadAssets(context.assetsDir);
  if (assets === undefined) {
    context.publicRoutes.add("/");
    app.get("/", async () => {
      throw new HttpError({
        statusCode: 404,
        code: "dashboard_not_built",
        message:
          "The dashboard is not built: run `npm run build` in the embedkit checkout (it writes dist/web).",
      });
    });
  } else {
    for (const [route, asset] of assets) {
      context.publicRoutes.add(route);
      app.get(route, async (_request, reply) =>
        reply
          .type(asset.type)
          .header("content-security-policy", DASHBOARD_CSP)
          .header("x-content-type-options", "nosniff")
          .header("x-frame-options", "DENY")
          .header("referrer-policy", "no-referrer")
          .header("cache-control", asset.immutable ? "public, max-age=31536000, immutable" : "no-cache")
          .send(asset.body),
      );
    }
  }

  const openCollection = async (name: string) => (await context.store()).getCollection(name);

  app.get("/v1/dashboard/overview", async () => {
    const store = await context.store();
    const collections = await store.listCollections();
    const faqs = await Promise.all(
      collections.slice(0, 200).map(async (stats) => {
        const [settings] = await (await store.getCollection(stats.name)).get([FAQ_SETTINGS_ID]);
        return settings?.metadata.faq_kind === "settings" ? settings.metadata : undefined;
      }),
    );
    const { metrics } = context;
    const latency = (await metrics.latency.get()).values;
    return {
      object: "dashboard.overview",
      uptime_seconds: Math.round(Date.now() / 1000 - context.startedAt),
      default_model: context.pool.defaultModel,
      models: context.pool.list().map((entry) => {
        const spec = findModel(entry.root);
        return {
          id: entry.id,
          root: entry.root,
          loaded: entry.loaded,
          alias: entry.id !== entry.root,
          dims: spec?.dims ?? null,
          languages: spec?.languages ?? [],
        };
      }),
      collections: collections.map((stats, index) => {
        const faq = faqs[index];
        return {
          name: stats.name,
          model: stats.model,
          // What an example for "search by example file" must be (null: a model outside the catalog).
          modality: findModel(stats.model)?.modality ?? null,
          dims: stats.dims,
          metric: stats.metric,
          count: stats.count,
          bytes_estimate: stats.count * stats.dims * 4,
          created_at: stats.createdAt,
          faq:
            faq === undefined
              ? null
              : {
                  threshold: typeof faq.threshold === "number" ? faq.threshold : null,
                  threshold_source: faq.threshold_source ?? null,
                  fallback: faq.fallback ?? null,
                  answers: faq.answers ?? null,
                  questions: faq.questions ?? null,
                  calibration_curve: calibrationCurveOf(faq),
                },
        };
      }),
      metrics: {
        requests_total: await sumOf(metrics.requests),
        tokens_total: await sumOf(metrics.tokens),
        queue_depth: await sumOf(metrics.queueDepth),
        latency_p50_seconds: histogramQuantile(latency, 0.5),
        latency_p99_seconds: histogramQuantile(latency, 0.99),
      },
    };
  });

  app.get<{ Params: { name: string } }>("/v1/dashboard/collections/:name/items", async (request) => {
    const query = parseBody(PAGE_QUERY, request.query ?? {}, "?limit=50&after=<last id>");
    const collection = await openCollection(request.params.name);
    const limit = query.limit ?? 50;
    const page = await collection.list(
      query.after === undefined ? { limit: limit + 1 } : { after: query.after, limit: limit + 1 },
    );
    const shown = page.slice(0, limit);
    return {
      object: "list",
      collection: collection.name,
      count: await collection.count(),
      data: shown.map(itemObject),
      next: page.length > limit ? (shown.at(-1)?.id ?? null) : null,
    };
  });

  app.post<{ Params: { name: string } }>("/v1/dashboard/collections/:name/items/get", async (request) => {
    const body = parseBody(IDS_BODY, request.body, '{"ids": ["doc-1"]}');
    const collection = await openCollection(request.params.name);
    return { object: "list", data: (await collection.get(body.ids)).map(itemObject) };
  });

  app.post<{ Params: { name: string } }>("/v1/dashboard/collections/:name/items/delete", async (request) => {
    const body = parseBody(IDS_BODY, request.body, '{"ids": ["doc-1"]}');
    const collection = await openCollection(request.params.name);
    const deleted = await collection.delete(body.ids);
    return { object: "collection.items.deleted", collection: collection.name, deleted };
  });

  app.post<{ Params: { name: string } }>("/v1/dashboard/collections/:name/similar", async (request) => {
    const body = parseBody(SIMILAR_BODY, request.body, '{"id": "doc-1", "k": 10}');
    const collection = await openCollection(request.params.name);
    const [item] = await collection.get([body.id]);
    if (item === undefined) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `No item ${JSON.stringify(body.id)} in collection "${collection.name}".`,
        {
          details: { param: "id" },
        },
      );
    }
    const k = body.k ?? 10;
    const hits = await collection.query({
      vector: item.vector,
      k: Math.min(STORE_LIMITS.maxK, k + 1),
      ...(body.filter === undefined ? {} : { filter: body.filter }),
    });
    return {
      object: "list",
      collection: collection.name,
      id: item.id,
      data: hits
        .filter((hit) => hit.id !== item.id)
        .slice(0, k)
        .map((hit) => ({
          object: "search_result",
          id: hit.id,
          score: hit.score,
          text: hit.text ?? null,
          ...splitThumbnail(hit.metadata),
        })),
    };
  });

  app.get<{ Params: { name: string } }>("/v1/dashboard/collections/:name/map", async (request, reply) => {
    const query = parseBody(MAP_QUERY, request.query ?? {}, "?method=pca");
    const collection = await openCollection(request.params.name);
    const method: MapMethod = query.method ?? "pca";
    const state = await maps.request(collection, method);
    if (state.status === "computing") {
      return reply.code(202).header("retry-after", "1").send({
        object: "collection.map",
        status: "computing",
        progress: state.progress,
        stage: state.stage,
      });
    }
    const { map } = state;
    return {
      object: "collection.map",
      status: "ready",
      cached: state.cached,
      collection: map.collection,
      method: map.method,
      version: map.version,
      total: map.total,
      count: map.ids.length,
      sampled: map.ids.length < map.total,
      seconds: map.seconds,
      ids: map.ids,
      points: Buffer.from(map.points.buffer, map.points.byteOffset, map.points.byteLength).toString("base64"),
      colours: map.colours.map((colour) => ({
        field: colour.field,
        values: colour.values,
        codes: Buffer.from(colour.codes.buffer, colour.codes.byteOffset, colour.codes.byteLength).toString(
          "base64",
        ),
      })),
    };
  });

  registerSocialJobs(app, { openEmbedder: context.openEmbedder, reportsDir: context.reportsDir });

  app.get("/v1/dashboard/recommenders", async () => ({
    object: "list",
    data: await listRecommenders(await context.store(), context.home),
  }));

  app.get("/v1/dashboard/reports", async () => {
    const root = context.reportsDir;
    return {
      object: "list",
      reports_dir: root !== undefined,
      data: root === undefined ? [] : await listReports(root),
    };
  });

  app.get("/v1/dashboard/report", async (request, reply) => {
    const query = parseBody(REPORT_QUERY, request.query ?? {}, "?path=run-1/report.json");
    if (context.reportsDir === undefined) {
      throw new EmbedkitError(
        "FILE_NOT_FOUND",
        "This server lists no reports: start it with --reports <folder> (the --out folder of `embedkit eval` / `embedkit inspect`).",
      );
    }
    const file = await resolveReport(context.reportsDir, query.path);
    const info = await stat(file);
    if (info.size > DASHBOARD_LIMITS.maxReportBytes) {
      throw new EmbedkitError(
        "INPUT_TOO_LARGE",
        `Report ${query.path} has ${info.size} bytes; the dashboard shows reports up to ${DASHBOARD_LIMITS.maxReportBytes} bytes.`,
      );
    }
    const body = await readFile(file);
    if (file.endsWith(".json")) return reply.type("application/json; charset=utf-8").send(body);
    // HTML reports are offered as downloads, never rendered under the server's origin.
    return reply
      .type("application/octet-stream")
      .header("content-disposition", `attachment; filename="${query.path.replace("/", "-")}"`)
      .header("x-content-type-options", "nosniff")
      .send(body);
  });
}
