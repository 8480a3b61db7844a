/**
 * @module server/map-projection
 * 2-D maps of collections for the dashboard: every item (a stride sample above
 * `maxPoints`) read page by page from the store, projected by PCA (or UMAP for
 * small collections) in a worker thread (`projection-worker.ts`), and cached
 * per collection *version* (`Collection.version()`), so a map is computed once
 * and recomputed only after the collection changed. One projection runs at a
 * time; callers poll {@link ProjectionCache.request}, which answers with the
 * progress until the map is ready.
 */
import type { Worker } from "node:worker_threads";
import { withoutThumbnail } from "../embed/media/image/thumbnail.js";
import { EmbedkitError } from "../errors.js";
import { startModuleWorker } from "../internal/module-worker.js";
import type { Collection, MetadataValue } from "../store/vector-store.js";
import type { ProjectionJob, ProjectionReply } from "./projection-worker.js";

/** Projection methods of a map. */
export type MapMethod = "pca" | "umap";

/** Limits of the map projections. */
export const MAP_LIMITS = Object.freeze({
  /** Most points of one map; larger collections are sampled with a fixed stride. */
  maxPoints: 100_000,
  /** Most points a UMAP map may have (UMAP is much slower than PCA). */
  maxUmapPoints: 5_000,
  /** Rows the PCA axes are fitted on (every point is then projected on them). */
  pcaFitRows: 5_000,
  /** Items read per store call. */
  pageSize: 2_000,
  /** Maps kept in memory (least recently used dropped). */
  cachedMaps: 4,
  /** Metadata fields offered for colouring: at most this many distinct values... */
  maxCategories: 12,
  /** ...and at most this many fields. */
  maxColourFields: 6,
});

/** A categorical metadata field of a map: its values and each point's value index (-1 = none). */
export interface MapColourField {
  readonly field: string;
  readonly values: readonly string[];
  readonly codes: Int8Array;
}

/** A finished map. */
export interface CollectionMap {
  readonly collection: string;
  readonly method: MapMethod;
  readonly version: string;
  /** Items in the collection when the map was computed. */
  readonly total: number;
  readonly ids: readonly string[];
  /** x, y interleaved, scaled into [-1, 1] (aspect kept). */
  readonly points: Float32Array;
  readonly colours: readonly MapColourField[];
  readonly seconds: number;
}

/** What {@link ProjectionCache.request} answers. */
export type MapState =
  | {
      readonly status: "ready";
      readonly map: CollectionMap;
      /** The map was ready before this request (computed for an earlier one). */
      readonly cached: boolean;
    }
  | { readonly status: "computing"; readonly progress: number; readonly stage: string };

interface Entry {
  readonly version: string;
  progress: number;
  stage: string;
  map?: CollectionMap;
  error?: unknown;
  done: Promise<void>;
}

/** Scale points into [-1, 1] around their centre, keeping the aspect ratio. */
function normalize(points: Float32Array): void {
  let minX = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < points.length; i += 2) {
    const x = points[i] as number;
    const y = points[i + 1] as number;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const half = Math.max(maxX - minX, maxY - minY) / 2 || 1;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  for (let i = 0; i < points.length; i += 2) {
    points[i] = ((points[i] as number) - cx) / half;
    points[i + 1] = ((points[i + 1] as number) - cy) / half;
  }
}

/** Metadata fields with few distinct scalar values, usable as point colours. */
function colourFields(metadata: readonly Readonly<Record<string, MetadataValue>>[]): MapColourField[] {
  const seen = new Map<string, Map<string, number>>();
  const tooMany = new Set<string>();
  for (const item of metadata) {
    for (const [field, value] of Object.entries(item)) {
      if (tooMany.has(field) || value === null) continue;
      let values = seen.get(field);
      if (values === undefined) {
        if (seen.size >= 64) continue;
        values = new Map();
        seen.set(field, values);
      }
      const key = String(value);
      if (!values.has(key)) {
        if (values.size >= MAP_LIMITS.maxCategories) {
          tooMany.add(field);
          seen.delete(field);
          continue;
        }
        values.set(key, values.size);
      }
    }
  }
  const fields = [...seen.entries()]
    .filter(([, values]) => values.size >= 2)
    .slice(0, MAP_LIMITS.maxColourFields)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return fields.map(([field, values]) => {
    const codes = new Int8Array(metadata.length).fill(-1);
    metadata.forEach((item, index) => {
      const value = item[field];
      if (value !== undefined && value !== null) codes[index] = values.get(String(value)) ?? -1;
    });
    return { field, values: [...values.keys()], codes };
  });
}

/** Run the projection worker on the vectors; progress in [0, 1]. */
function projectInWorker(job: ProjectionJob, onProgress: (progress: number) => void): Promise<Float32Array> {
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = startModuleWorker(import.meta.url, "projection-worker", job, [
        job.vectors.buffer as ArrayBuffer,
      ]);
    } catch (error) {
      reject(error);
      return;
    }
    let settled = false;
    worker.on("message", (reply: ProjectionReply) => {
      if ("progress" in reply) onProgress(reply.progress);
      else if ("points" in reply) {
        settled = true;
        resolve(reply.points);
      } else {
        settled = true;
        reject(
          new EmbedkitError(
            reply.error.code === "INVALID_OPTION" ? "INVALID_OPTION" : "INTERNAL",
            reply.error.message,
          ),
        );
      }
    });
    worker.on("error", (error) => {
      if (!settled) reject(error);
      settled = true;
    });
    worker.on("exit", (code) => {
      if (!settled)
        reject(new EmbedkitError("INTERNAL", `The projection worker stopped (exit code ${code}).`));
      settled = true;
    });
  });
}

/**
 * Cache of collection maps, keyed by store, collection and method, valid for one collection version.
 */
export class ProjectionCache {
  private readonly entries = new Map<string, Entry>();
  private queue: Promise<void> = Promise.resolve();

  /**
   * The map of a collection: ready (from the cache or just finished), or the progress of its
   * computation, which this call starts when there is no current one.
   * @throws EmbedkitError INVALID_OPTION (UMAP over too many points), UNKNOWN_COLLECTION, or what the computation failed with
   */
  async request(collection: Collection, method: MapMethod): Promise<MapState> {
    const version = await collection.version();
    const key = `${method}\u0000${collection.name}`;
    let entry = this.entries.get(key);
    if (entry !== undefined && entry.version !== version) {
      this.entries.delete(key);
      entry = undefined;
    }
    if (entry === undefined) {
      const stats = await collection.stats();
      if (method === "umap" && Math.min(stats.count, MAP_LIMITS.maxPoints) > MAP_LIMITS.maxUmapPoints) {
        throw new EmbedkitError(
          "INVALID_OPTION",
          `A UMAP map is computed for at most ${MAP_LIMITS.maxUmapPoints} items; collection "${collection.name}" has ` +
            `${stats.count}. Use method=pca, which maps up to ${MAP_LIMITS.maxPoints} points.`,
          { details: { param: "method" } },
        );
      }
      entry = this.start(collection, method, version, stats.count);
      this.entries.set(key, entry);
      while (this.entries.size > MAP_LIMITS.cachedMaps) {
        const oldest = this.entries.keys().next().value as string;
        this.entries.delete(oldest);
      }
    } else {
      // Least recently used order: a hit moves to the end.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    const cached = entry.map !== undefined;
    // Small maps finish within a moment: wait briefly so the caller rarely needs to poll.
    if (!cached) await Promise.race([entry.done, new Promise((resolve) => setTimeout(resolve, 300).unref())]);
    if (entry.error !== undefined) {
      this.entries.delete(key);
      throw entry.error;
    }
    if (entry.map !== undefined) {
      return { status: "ready", map: entry.map, cached };
    }
    return { status: "computing", progress: entry.progress, stage: entry.stage };
  }

  private start(collection: Collection, method: MapMethod, version: string, total: number): Entry {
    const entry: Entry = {
      version,
      progress: 0,
      stage: "queued",
      done: Promise.resolve(),
    };
    const run = async (): Promise<void> => {
      const started = performance.now();
      entry.stage = "reading items";
      const stride = Math.max(1, Math.ceil(total / MAP_LIMITS.maxPoints));
      const rows = Math.ceil(total / stride);
      const ids: string[] = [];
      const metadata: Readonly<Record<string, MetadataValue>>[] = [];
      const dims = collection.info.dims;
      let vectors = new Float32Array(rows * dims);
      let index = 0;
      let after: string | undefined;
      for (;;) {
        const page = await collection.list(
          after === undefined ? { limit: MAP_LIMITS.pageSize } : { after, limit: MAP_LIMITS.pageSize },
        );
        for (const item of page) {
          if (index % stride === 0 && ids.length < rows) {
            vectors.set(item.vector, ids.length * dims);
            ids.push(item.id);
            // A thumbnail is never a colour, and 100k of them would hold ~150 MB here.
            metadata.push(withoutThumbnail(item.metadata));
          }
          index++;
        }
        entry.progress = total === 0 ? 0.5 : Math.min(0.5, (0.5 * index) / total);
        if (page.length < MAP_LIMITS.pageSize) break;
        after = page[page.length - 1]?.id;
      }
      if (ids.length < rows) vectors = vectors.slice(0, ids.length * dims);
      let points: Float32Array = new Float32Array(0);
      if (ids.length === 1) points = new Float32Array([0, 0]);
      else if (ids.length > 1) {
        entry.stage = method === "pca" ? "projecting (PCA)" : "projecting (UMAP)";
        points = await projectInWorker(
          { method, rows: ids.length, dims, vectors, fitRows: MAP_LIMITS.pcaFitRows },
          (progress) => {
            entry.progress = 0.5 + progress / 2;
          },
        );
        normalize(points);
      }
      entry.map = {
        collection: collection.name,
        method,
        version,
        total: index,
        ids,
        points,
        colours: colourFields(metadata),
        seconds: (performance.now() - started) / 1000,
      };
      entry.progress = 1;
      entry.stage = "ready";
    };
    entry.done = this.queue.then(run).catch((error: unknown) => {
      entry.error = error;
    });
    this.queue = entry.done;
    return entry;
  }
}
