/**
 * @module apps/social/topics/hdbscan
 * HDBSCAN (Campello, Moulavi & Sander 2013; the cluster extraction of McInnes &
 * Healy's `hdbscan` library): core distances, the minimum spanning tree of the
 * mutual-reachability graph, the single-linkage tree, the tree condensed by
 * `minClusterSize`, and "excess of mass" selection of the most stable clusters.
 * Points in no selected cluster are noise (-1).
 *
 * Written here rather than taken from npm: hdbscan-ts 1.0.17 keeps the full
 * n × n distance matrix as nested arrays and re-scans every remaining edge at
 * each split (cubic time; see bench/notes/topics.md for its measured speed), and
 * hdbscanjs 1.0.12 is an agglomerative tree without condensation or stability.
 * This one is exact and needs O(n) memory: Prim's algorithm computes the
 * distances it needs on the fly (O(n² · dims) time), which is fast for the few
 * thousand low-dimensional UMAP points topic discovery clusters.
 */

/** Options of {@link hdbscan}. */
export interface HdbscanOptions {
  /** Smallest cluster; smaller groups that split off become noise. */
  readonly minClusterSize: number;
  /** Neighbours (besides the point) that define a point's core distance. @default minClusterSize */
  readonly minSamples?: number;
  /** Called with the rows done while the minimum spanning tree grows (the slow part). */
  readonly onProgress?: (done: number, total: number) => void;
  /** Checked between rows; throw to stop. */
  readonly checkCancelled?: () => void;
}

/** Result of {@link hdbscan}. */
export interface HdbscanResult {
  /** Cluster per point (0.., largest cluster first), -1 for noise. */
  readonly labels: Int32Array;
  /** Number of clusters found. */
  readonly clusters: number;
}

function squaredDistance(points: Float64Array, dims: number, a: number, b: number): number {
  let sum = 0;
  const offsetA = a * dims;
  const offsetB = b * dims;
  for (let d = 0; d < dims; d++) {
    const difference = (points[offsetA + d] as number) - (points[offsetB + d] as number);
    sum += difference * difference;
  }
  return sum;
}

/** Distance of each point to its `minSamples`-th nearest other point (a bounded max-heap per row). */
function coreDistances(points: Float64Array, n: number, dims: number, minSamples: number): Float64Array {
  const k = Math.min(minSamples, n - 1);
  const core = new Float64Array(n);
  if (k <= 0) return core;
  const best = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    best.fill(Number.POSITIVE_INFINITY);
    let worst = 0; // index of the largest of the k kept distances
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const distance = squaredDistance(points, dims, i, j);
      if (distance < (best[worst] as number)) {
        best[worst] = distance;
        for (let m = 0; m < k; m++) if ((best[m] as number) > (best[worst] as number)) worst = m;
      }
    }
    core[i] = Math.sqrt(best[worst] as number);
  }
  return core;
}

/** Prim's minimum spanning tree of the mutual-reachability graph: n − 1 edges (from, to, weight). */
function spanningTree(
  points: Float64Array,
  n: number,
  dims: number,
  core: Float64Array,
  options: HdbscanOptions,
): { from: Int32Array; to: Int32Array; weight: Float64Array } {
  const inTree = new Uint8Array(n);
  const distance = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const parent = new Int32Array(n).fill(-1);
  const from = new Int32Array(n - 1);
  const to = new Int32Array(n - 1);
  const weight = new Float64Array(n - 1);
  let current = 0;
  inTree[0] = 1;
  for (let edge = 0; edge < n - 1; edge++) {
    if ((edge & 255) === 0) {
      options.checkCancelled?.();
      options.onProgress?.(edge, n - 1);
    }
    let next = -1;
    let nextDistance = Number.POSITIVE_INFINITY;
    const coreCurrent = core[current] as number;
    for (let j = 0; j < n; j++) {
      if (inTree[j] === 1) continue;
      const reach = Math.max(
        Math.sqrt(squaredDistance(points, dims, current, j)),
        coreCurrent,
        core[j] as number,
      );
      if (reach < (distance[j] as number)) {
        distance[j] = reach;
        parent[j] = current;
      }
      if ((distance[j] as number) < nextDistance) {
        nextDistance = distance[j] as number;
        next = j;
      }
    }
    inTree[next] = 1;
    from[edge] = parent[next] as number;
    to[edge] = next;
    weight[edge] = nextDistance;
    current = next;
  }
  options.onProgress?.(n - 1, n - 1);
  return { from, to, weight };
}

/** A row of the condensed tree: `child` (a point < n, or a cluster ≥ n) leaves `parent` at `lambda`. */
interface CondensedRow {
  readonly parent: number;
  readonly child: number;
  readonly lambda: number;
  readonly size: number;
}

/**
 * Cluster points (row-major, `dims` values each) with HDBSCAN.
 *
 * @example
 * ```ts
 * const { labels } = hdbscan(points, 2, { minClusterSize: 5 });
 * ```
 */
export function hdbscan(points: Float64Array, dims: number, options: HdbscanOptions): HdbscanResult {
  const n = Math.floor(points.length / dims);
  const minClusterSize = Math.max(2, options.minClusterSize);
  if (n < 2 * minClusterSize) return { labels: new Int32Array(n).fill(-1), clusters: 0 };
  const core = coreDistances(points, n, dims, options.minSamples ?? minClusterSize);
  const tree = spanningTree(points, n, dims, core, options);

  // Single-linkage tree: merge components along edges by increasing weight (union-find).
  const order = Array.from({ length: n - 1 }, (_, index) => index).sort(
    (a, b) => (tree.weight[a] as number) - (tree.weight[b] as number) || a - b,
  );
  const unionParent = new Int32Array(2 * n - 1).map((_, index) => index);
  const find = (x: number): number => {
    let root = x;
    while (unionParent[root] !== root) root = unionParent[root] as number;
    while (unionParent[x] !== root) {
      const next = unionParent[x] as number;
      unionParent[x] = root;
      x = next;
    }
    return root;
  };
  const left = new Int32Array(n - 1);
  const right = new Int32Array(n - 1);
  const height = new Float64Array(n - 1);
  const size = new Int32Array(2 * n - 1).fill(1);
  order.forEach((edge, step) => {
    const a = find(tree.from[edge] as number);
    const b = find(tree.to[edge] as number);
    const node = n + step;
    left[step] = a;
    right[step] = b;
    height[step] = tree.weight[edge] as number;
    size[node] = (size[a] as number) + (size[b] as number);
    unionParent[a] = node;
    unionParent[b] = node;
  });

  // Condense: walk down from the root; a split into two parts of at least
  // minClusterSize makes two new clusters, otherwise the small side's points fall out.
  const root = 2 * n - 2;
  const rows: CondensedRow[] = [];
  const clusterOf = new Int32Array(2 * n - 1).fill(-1);
  clusterOf[root] = n;
  let nextCluster = n + 1;
  const leavesOf = (node: number): number[] => {
    const leaves: number[] = [];
    const stack = [node];
    while (stack.length > 0) {
      const current = stack.pop() as number;
      if (current < n) leaves.push(current);
      else stack.push(left[current - n] as number, right[current - n] as number);
    }
    return leaves;
  };
  // Duplicate points merge at distance 0; cap λ at the largest finite one so stabilities stay finite.
  let smallestHeight = Number.POSITIVE_INFINITY;
  for (const value of height) if (value > 0 && value < smallestHeight) smallestHeight = value;
  const lambdaOf = (value: number): number =>
    1 / Math.max(value, Number.isFinite(smallestHeight) ? smallestHeight : 1);
  const queue = [root];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head] as number;
    const cluster = clusterOf[node] as number;
    const step = node - n;
    const lambda = lambdaOf(height[step] as number);
    const children = [left[step] as number, right[step] as number];
    const big = children.filter((child) => (size[child] as number) >= minClusterSize);
    if (big.length === 2) {
      for (const child of children) {
        clusterOf[child] = nextCluster;
        rows.push({ parent: cluster, child: nextCluster, lambda, size: size[child] as number });
        nextCluster++;
        if (child >= n) queue.push(child);
      }
      continue;
    }
    for (const child of children) {
      if ((size[child] as number) >= minClusterSize) {
        // The cluster goes on under the same label, only smaller.
        clusterOf[child] = cluster;
        if (child >= n) queue.push(child);
      } else {
        for (const point of leavesOf(child)) rows.push({ parent: cluster, child: point, lambda, size: 1 });
      }
    }
  }

  // Stability of each cluster: Σ (λ at which a child leaves − λ at which the cluster was born) × child size.
  const clusterCount = nextCluster - n;
  const birth = new Float64Array(clusterCount);
  const stability = new Float64Array(clusterCount);
  const childClusters: number[][] = Array.from({ length: clusterCount }, () => []);
  for (const row of rows) if (row.child >= n) birth[row.child - n] = row.lambda;
  for (const row of rows) {
    const lambda = row.lambda;
    const born = birth[row.parent - n] as number;
    stability[row.parent - n] = (stability[row.parent - n] as number) + (lambda - born) * row.size;
    if (row.child >= n) (childClusters[row.parent - n] as number[]).push(row.child - n);
  }
  // Excess of mass: keep a cluster unless its children together are more stable (the root is never kept).
  const selected = new Uint8Array(clusterCount);
  for (let cluster = clusterCount - 1; cluster >= 1; cluster--) {
    const children = childClusters[cluster] as number[];
    const childStability = children.reduce((sum, child) => sum + (stability[child] as number), 0);
    if (children.length > 0 && childStability > (stability[cluster] as number)) {
      stability[cluster] = childStability;
    } else {
      selected[cluster] = 1;
      const stack = [...children];
      while (stack.length > 0) {
        const below = stack.pop() as number;
        selected[below] = 0;
        stack.push(...(childClusters[below] as number[]));
      }
    }
  }

  // Points take the selected cluster above the cluster they fell out of.
  const parentCluster = new Int32Array(clusterCount).fill(-1);
  for (const row of rows) if (row.child >= n) parentCluster[row.child - n] = row.parent - n;
  const selectedAncestor = new Int32Array(clusterCount).fill(-1);
  for (let cluster = 0; cluster < clusterCount; cluster++) {
    const above = parentCluster[cluster] as number;
    selectedAncestor[cluster] =
      selected[cluster] === 1 ? cluster : above >= 0 ? (selectedAncestor[above] as number) : -1;
  }
  const raw = new Int32Array(n).fill(-1);
  for (const row of rows) if (row.child < n) raw[row.child] = selectedAncestor[row.parent - n] as number;

  // Number clusters by size (largest first), ties by their first point.
  const members = new Map<number, { count: number; first: number }>();
  raw.forEach((cluster, point) => {
    if (cluster < 0) return;
    const entry = members.get(cluster);
    if (entry === undefined) members.set(cluster, { count: 1, first: point });
    else entry.count++;
  });
  const ranked = [...members.entries()].sort((a, b) => b[1].count - a[1].count || a[1].first - b[1].first);
  const rank = new Map(ranked.map(([cluster], index) => [cluster, index]));
  const labels = raw.map((cluster) => (cluster < 0 ? -1 : (rank.get(cluster) as number)));
  return { labels, clusters: ranked.length };
}
