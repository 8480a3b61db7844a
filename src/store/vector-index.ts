/**
 * @module store/vector-index
 * The in-memory search structures of the embedded store, behind one small
 * interface: an exact flat index (a Float32 matrix scanned in full; used for
 * small collections) and an HNSW graph (hnswlib-node; used once a collection
 * passes the ANN threshold). Both are caches: SQLite holds the truth, and an
 * index can always be rebuilt from it. Labels are the items' SQLite row ids.
 */
import type { HierarchicalNSW, SpaceName } from "hnswlib-node";
import { loadedHnswlib } from "../internal/load-dependency.js";
import { normalizeInPlace, topK } from "../vectors/math.js";
import type { VectorMetric } from "./vector-store.js";

/** One search result of an index: a label and its similarity to the query (higher = closer). */
export interface IndexHit {
  readonly label: number;
  /** Cosine similarity, dot product, or minus the Euclidean distance — as the store reports scores. */
  readonly score: number;
}

/** A nearest-neighbour structure over labelled vectors. */
export interface VectorIndex {
  readonly kind: "flat" | "hnsw";
  /** Live (not deleted) vectors. */
  readonly size: number;
  /** Add a vector, or replace the vector of an existing label. */
  upsert(label: number, vector: Float32Array): void;
  /** Forget a label (no-op when absent). */
  remove(label: number): void;
  /** (About) the `k` closest vectors that `accept` allows, closest first, with their scores. */
  search(query: Float32Array, k: number, accept?: (label: number) => boolean): IndexHit[];
}

/** HNSW build and search parameters. */
export interface HnswParameters {
  /** Graph degree (links per node); higher = better recall, more memory. @default 16 */
  readonly m: number;
  /** Candidate list size while building; higher = better graph, slower ingest. @default 100 */
  readonly efConstruction: number;
  /** Candidate list size while searching (raised to k when k is larger). @default 64 */
  readonly efSearch: number;
}

/** Defaults chosen by `bench/store.ts` (recall@10 ≥ 0.95 at 100k, see docs/STORE.md). */
export const DEFAULT_HNSW: HnswParameters = Object.freeze({ m: 16, efConstruction: 100, efSearch: 64 });

const SPACE = { cosine: "cosine", dot: "ip", euclidean: "l2" } as const satisfies Record<
  VectorMetric,
  SpaceName
>;

/** Exact search over a growable Float32 matrix; cosine rows are stored normalized. */
export class FlatIndex implements VectorIndex {
  readonly kind = "flat";
  private matrix: Float32Array;
  private labels: Float64Array;
  private readonly slots = new Map<number, number>();
  private count = 0;

  constructor(
    private readonly dims: number,
    private readonly metric: VectorMetric,
    capacity = 1024,
  ) {
    this.matrix = new Float32Array(capacity * dims);
    this.labels = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  upsert(label: number, vector: Float32Array): void {
    let slot = this.slots.get(label);
    if (slot === undefined) {
      if (this.count === this.labels.length) this.grow();
      slot = this.count++;
      this.slots.set(label, slot);
      this.labels[slot] = label;
    }
    const row = this.matrix.subarray(slot * this.dims, (slot + 1) * this.dims);
    row.set(vector);
    if (this.metric === "cosine") normalizeInPlace(row);
  }

  remove(label: number): void {
    const slot = this.slots.get(label);
    if (slot === undefined) return;
    const last = --this.count;
    if (slot !== last) {
      // Move the last row into the hole so the matrix stays dense.
      this.matrix.copyWithin(slot * this.dims, last * this.dims, (last + 1) * this.dims);
      const moved = this.labels[last] as number;
      this.labels[slot] = moved;
      this.slots.set(moved, slot);
    }
    this.slots.delete(label);
  }

  search(query: Float32Array, k: number, accept?: (label: number) => boolean): IndexHit[] {
    const dims = this.dims;
    const q = this.metric === "cosine" ? normalizeInPlace(Float32Array.from(query)) : query;
    const scores = new Float64Array(this.count);
    const matrix = this.matrix;
    for (let slot = 0; slot < this.count; slot++) {
      if (accept && !accept(this.labels[slot] as number)) {
        scores[slot] = Number.NEGATIVE_INFINITY;
        continue;
      }
      const base = slot * dims;
      let sum = 0;
      if (this.metric === "euclidean") {
        for (let i = 0; i < dims; i++) {
          const d = (matrix[base + i] as number) - (q[i] as number);
          sum -= d * d;
        }
      } else {
        for (let i = 0; i < dims; i++) sum += (matrix[base + i] as number) * (q[i] as number);
      }
      scores[slot] = sum;
    }
    if (this.count === 0) return [];
    const euclidean = this.metric === "euclidean";
    return topK(scores, Math.min(k, this.count))
      .filter((hit) => hit.score !== Number.NEGATIVE_INFINITY)
      .map((hit) => ({
        label: this.labels[hit.index] as number,
        // The scan ranks by minus the squared distance; report minus the distance.
        score: euclidean ? -Math.sqrt(-hit.score) : hit.score,
      }));
  }

  private grow(): void {
    const capacity = this.labels.length * 2;
    const matrix = new Float32Array(capacity * this.dims);
    matrix.set(this.matrix);
    const labels = new Float64Array(capacity);
    labels.set(this.labels);
    this.matrix = matrix;
    this.labels = labels;
  }
}

/** Approximate search on an hnswlib HNSW graph; deletions are marks, replaced vectors are updated in place. */
export class HnswIndex implements VectorIndex {
  readonly kind = "hnsw";
  private readonly graph: HierarchicalNSW;
  private readonly present = new Set<number>();
  /** Labels marked deleted in the graph (their slots still count towards capacity). */
  private marked = new Set<number>();
  private released = false;

  private constructor(
    graph: HierarchicalNSW,
    private readonly parameters: HnswParameters,
    private readonly metric: VectorMetric,
  ) {
    this.graph = graph;
  }

  /** A new, empty graph with room for `capacity` vectors (it grows as needed). */
  static create(dims: number, metric: VectorMetric, parameters: HnswParameters, capacity = 1024): HnswIndex {
    const graph = new (loadedHnswlib().HierarchicalNSW)(SPACE[metric], dims);
    graph.initIndex({
      maxElements: Math.max(16, capacity),
      m: parameters.m,
      efConstruction: parameters.efConstruction,
      randomSeed: 100,
    });
    return new HnswIndex(graph, parameters, metric);
  }

  /**
   * Load a graph written by {@link HnswIndex.write}. `deleted` lists the labels
   * that were marked deleted when it was written (hnswlib does not report them).
   * Throws when the file is unreadable; the caller then rebuilds from SQLite.
   */
  static read(
    path: string,
    dims: number,
    metric: VectorMetric,
    parameters: HnswParameters,
    deleted: readonly number[],
  ): HnswIndex {
    const graph = new (loadedHnswlib().HierarchicalNSW)(SPACE[metric], dims);
    graph.readIndexSync(path, false);
    return HnswIndex.wrap(graph, dims, metric, parameters, deleted);
  }

  /**
   * Like {@link HnswIndex.read}, but the file is read on libuv's thread pool,
   * so the calling thread's event loop keeps running while a large graph loads.
   */
  static async load(
    path: string,
    dims: number,
    metric: VectorMetric,
    parameters: HnswParameters,
    deleted: readonly number[],
  ): Promise<HnswIndex> {
    const graph = new (loadedHnswlib().HierarchicalNSW)(SPACE[metric], dims);
    await graph.readIndex(path);
    return HnswIndex.wrap(graph, dims, metric, parameters, deleted);
  }

  private static wrap(
    graph: HierarchicalNSW,
    dims: number,
    metric: VectorMetric,
    parameters: HnswParameters,
    deleted: readonly number[],
  ): HnswIndex {
    if (graph.getNumDimensions() !== dims)
      throw new Error(`index has ${graph.getNumDimensions()} dims, expected ${dims}`);
    const index = new HnswIndex(graph, parameters, metric);
    const marked = new Set(deleted);
    for (const label of graph.getIdsList()) {
      if (!marked.has(label)) index.present.add(label);
    }
    index.marked = marked;
    return index;
  }

  get size(): number {
    return this.present.size;
  }

  /** Labels marked deleted but still in the graph (persisted next to the file). */
  get deletedLabels(): number[] {
    return [...this.marked];
  }

  /** Whether so many slots are deleted marks that a rebuild is cheaper than carrying them. */
  get wasteful(): boolean {
    return this.marked.size > 1024 && this.marked.size > this.present.size;
  }

  upsert(label: number, vector: Float32Array): void {
    const used = this.present.size + this.marked.size;
    if (!this.present.has(label) && !this.marked.has(label) && used >= this.graph.getMaxElements()) {
      this.graph.resizeIndex(Math.max(1024, this.graph.getMaxElements() * 2));
    }
    // addPoint on an existing (even deleted-marked) label updates it and clears the mark.
    this.graph.addPoint(Array.from(vector), label);
    this.marked.delete(label);
    this.present.add(label);
  }

  remove(label: number): void {
    if (!this.present.has(label)) return;
    this.graph.markDelete(label);
    this.present.delete(label);
    this.marked.add(label);
  }

  search(query: Float32Array, k: number, accept?: (label: number) => boolean): IndexHit[] {
    if (this.present.size === 0) return [];
    const wanted = Math.min(k, this.present.size);
    this.graph.setEf(Math.max(this.parameters.efSearch, wanted));
    const result = this.graph.searchKnn(Array.from(query), wanted, accept);
    // hnswlib distances: 1 − cosine ("cosine"), 1 − dot ("ip"), squared L2 ("l2").
    const euclidean = this.metric === "euclidean";
    const hits = result.neighbors.map((label, i) => {
      const distance = result.distances[i] as number;
      return { label, score: euclidean ? -Math.sqrt(Math.max(0, distance)) : 1 - distance };
    });
    // Order explicitly rather than rely on hnswlib's result order.
    return hits.sort((a, b) => b.score - a.score);
  }

  /** Write the graph to `path` (the caller makes it atomic). */
  write(path: string): void {
    this.graph.writeIndexSync(path);
  }

  /**
   * Free the graph's native memory now. hnswlib-node's memory is invisible to
   * V8, so a dropped graph would otherwise stay resident until a garbage
   * collection that heap pressure may never trigger (a 1M × 384 graph is about
   * 1.7 GB). The graph is replaced by an empty one: searches find nothing and
   * the index must not be used again. Only call it when no search can still be
   * running on the graph (searches are synchronous; loads are not).
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    // hnswlib-node's initIndex deletes the current graph before allocating the new (tiny) one.
    this.graph.initIndex({ maxElements: 1, m: 2, efConstruction: 1 });
    this.present.clear();
    this.marked.clear();
  }
}

/**
 * The HNSW graphs of one collection searched as one. A sharded build splits
 * the labels into disjoint shards, one graph each, built in parallel (one
 * worker thread per shard; hnswlib cannot insert into one graph from two
 * threads); a search asks every shard for its own top `k` (at the configured
 * efSearch) and keeps the best `k` by score. One shard: just that graph.
 */
export class HnswShards {
  readonly kind = "hnsw";

  constructor(readonly shards: readonly HnswIndex[]) {}

  /** Live vectors in all shards. */
  get size(): number {
    return this.shards.reduce((sum, shard) => sum + shard.size, 0);
  }

  /** Whether any shard carries so many deleted marks that a rebuild is cheaper. */
  get wasteful(): boolean {
    return this.shards.some((shard) => shard.wasteful);
  }

  search(query: Float32Array, k: number, accept?: (label: number) => boolean): IndexHit[] {
    if (this.shards.length === 1) return (this.shards[0] as HnswIndex).search(query, k, accept);
    const hits = this.shards.flatMap((shard) => shard.search(query, k, accept));
    return hits.sort((a, b) => b.score - a.score).slice(0, k);
  }

  /** Free every shard's native memory now (see {@link HnswIndex.release}). */
  release(): void {
    for (const shard of this.shards) shard.release();
  }
}
