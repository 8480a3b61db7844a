/**
 * @module apps/recommend/recommend-math
 * The numeric core of the recommender, on plain typed arrays: interaction
 * tables grouped by user, user profiles (weighted mean of item vectors),
 * item–item collaborative similarity (cosine over co-occurring users), the
 * content/CF blend, maximal marginal relevance and the top-N ranking metrics
 * (NDCG, HR, MAP) used to choose the blend and by the benchmark.
 */
import { EmbedkitError } from "../../errors.js";

/**
 * Interactions grouped by user (CSR): user `u` owns rows
 * `offsets[u] .. offsets[u + 1]` of `items`, `ratings` and `times`.
 */
export interface UserTable {
  readonly users: number;
  readonly offsets: Uint32Array;
  readonly items: Uint32Array;
  /** NaN everywhere for implicit feedback. */
  readonly ratings: Float32Array;
  /** Unix seconds; NaN when unknown. */
  readonly times: Float64Array;
}

/** Flat interaction columns (one entry per user–item pair). */
export interface InteractionColumnsData {
  readonly user: Uint32Array;
  readonly item: Uint32Array;
  readonly rating: Float32Array;
  readonly time: Float64Array;
}

/** Group flat interactions by user; within a user, rows are ordered by time, then by input order. */
export function groupByUser(data: InteractionColumnsData, users: number): UserTable {
  const n = data.user.length;
  const offsets = new Uint32Array(users + 1);
  for (let r = 0; r < n; r++) {
    const slot = (data.user[r] as number) + 1;
    offsets[slot] = (offsets[slot] as number) + 1;
  }
  for (let u = 0; u < users; u++) offsets[u + 1] = (offsets[u + 1] as number) + (offsets[u] as number);
  const order = new Uint32Array(n);
  const fill = offsets.slice(0, users);
  for (let r = 0; r < n; r++) {
    const u = data.user[r] as number;
    order[fill[u] as number] = r;
    fill[u] = (fill[u] as number) + 1;
  }
  for (let u = 0; u < users; u++) {
    const slice = order.subarray(offsets[u] as number, offsets[u + 1] as number);
    slice.sort((a, b) => {
      const ta = data.time[a] as number;
      const tb = data.time[b] as number;
      if (ta === tb || (Number.isNaN(ta) && Number.isNaN(tb))) return a - b;
      if (Number.isNaN(ta)) return -1;
      if (Number.isNaN(tb)) return 1;
      return ta - tb;
    });
  }
  const items = new Uint32Array(n);
  const ratings = new Float32Array(n);
  const times = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const r = order[p] as number;
    items[p] = data.item[r] as number;
    ratings[p] = data.rating[r] as number;
    times[p] = data.time[r] as number;
  }
  return { users, offsets, items, ratings, times };
}

/**
 * Indices of the `k` highest scores, best first; ties keep the lower index
 * first (as `vectors/math` topK), −∞ never returned. A sorted buffer of k
 * entries, no allocation per score: fast for the small k of recommendation lists.
 */
export function topIndices(scores: ArrayLike<number>, k: number): Uint32Array {
  const index = new Uint32Array(k);
  const value = new Float64Array(k).fill(Number.NEGATIVE_INFINITY);
  let size = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (s === Number.NEGATIVE_INFINITY || Number.isNaN(s)) continue;
    if (size === k && !(s > (value[k - 1] as number))) continue;
    let p = size < k ? size++ : k - 1;
    while (p > 0 && s > (value[p - 1] as number)) {
      value[p] = value[p - 1] as number;
      index[p] = index[p - 1] as number;
      p--;
    }
    value[p] = s;
    index[p] = i;
  }
  return index.slice(0, size);
}

/** How interactions become profile weights. */
export interface WeightOptions {
  /** Recency half-life in seconds (weights halve per half-life before the user's latest interaction). */
  readonly halfLifeSeconds?: number;
}

/**
 * Profile weights of one user's interactions (rows `start..end` of `table`):
 * explicit ratings are centred on the user's mean rating (a rating below the
 * mean pushes the profile away from that item); when every rating equals the
 * mean, or there are no ratings, every interaction weighs 1. With a half-life,
 * each weight is multiplied by 0.5^(age / half-life), age measured from the
 * user's latest interaction.
 */
/** Mean of the rated interactions `start`…`end` of a user table (NaN when none is rated). */
export function meanRating(table: UserTable, start: number, end: number): number {
  let sum = 0;
  let rated = 0;
  for (let p = start; p < end; p++) {
    const rating = table.ratings[p] as number;
    if (!Number.isNaN(rating)) {
      sum += rating;
      rated++;
    }
  }
  return rated > 0 ? sum / rated : Number.NaN;
}

export function profileWeights(
  table: UserTable,
  user: number,
  options: WeightOptions = {},
): { items: Uint32Array; weights: Float32Array } {
  const start = table.offsets[user] as number;
  const end = table.offsets[user + 1] as number;
  const items = table.items.subarray(start, end);
  const weights = new Float32Array(end - start);
  const mean = meanRating(table, start, end);
  let spread = 0;
  for (let p = start; p < end; p++) {
    const rating = table.ratings[p] as number;
    const w = Number.isNaN(rating) || Number.isNaN(mean) ? 0 : rating - mean;
    weights[p - start] = w;
    spread += Math.abs(w);
  }
  if (spread < 1e-9) weights.fill(1);
  applyRecencyDecay(table, start, end, weights, options.halfLifeSeconds);
  return { items, weights };
}

/**
 * Multiply the weights of interactions `start`…`end` by 0.5^(age / halfLife), age measured from the
 * user's own latest interaction (no-op without a positive half-life or timestamps).
 */
export function applyRecencyDecay(
  table: UserTable,
  start: number,
  end: number,
  weights: Float32Array,
  halfLife: number | undefined,
): void {
  if (halfLife === undefined || halfLife <= 0) return;
  let latest = Number.NEGATIVE_INFINITY;
  for (let p = start; p < end; p++) latest = Math.max(latest, table.times[p] as number);
  if (!Number.isFinite(latest)) return;
  for (let p = start; p < end; p++) {
    const time = table.times[p] as number;
    if (!Number.isNaN(time))
      weights[p - start] = (weights[p - start] as number) * 0.5 ** ((latest - time) / halfLife);
  }
}

/**
 * A profile: Σ weight·vector over the given items, normalized to unit length.
 * Returns null when the sum is zero (no items, or weights that cancel).
 */
export function weightedProfile(
  vectors: Float32Array,
  dims: number,
  items: ArrayLike<number>,
  weights: ArrayLike<number>,
): Float32Array | null {
  const profile = new Float32Array(dims);
  for (let i = 0; i < items.length; i++) {
    const w = weights[i] as number;
    if (w === 0) continue;
    const base = (items[i] as number) * dims;
    for (let d = 0; d < dims; d++) profile[d] = (profile[d] as number) + w * (vectors[base + d] as number);
  }
  let norm = 0;
  for (let d = 0; d < dims; d++) norm += (profile[d] as number) ** 2;
  if (norm < 1e-12) return null;
  const scale = 1 / Math.sqrt(norm);
  for (let d = 0; d < dims; d++) profile[d] = (profile[d] as number) * scale;
  return profile;
}

/** Dot product of `query` with every row of `vectors` (n × dims). */
export function scoreAll(vectors: Float32Array, dims: number, query: Float32Array): Float32Array {
  const n = vectors.length / dims;
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const base = i * dims;
    let s = 0;
    for (let d = 0; d < dims; d++) s += (vectors[base + d] as number) * (query[d] as number);
    scores[i] = s;
  }
  return scores;
}

/**
 * Item–item neighbours (CSR): item `i`'s neighbours are
 * `neighbors[offsets[i] .. offsets[i + 1]]` with `similarities` at the same positions.
 */
export interface ItemNeighbors {
  readonly offsets: Uint32Array;
  readonly neighbors: Uint32Array;
  readonly similarities: Float32Array;
}

/**
 * Item-kNN collaborative similarity: cosine between items' user sets,
 * |U_i ∩ U_j| / √(|U_i|·|U_j|), keeping the `k` most similar neighbours of
 * each item. Items without interactions get no neighbours.
 */
export function buildItemNeighbors(table: UserTable, items: number, k: number): ItemNeighbors {
  // Item → users (CSR).
  const counts = new Uint32Array(items + 1);
  for (let p = 0; p < table.items.length; p++) {
    const slot = (table.items[p] as number) + 1;
    counts[slot] = (counts[slot] as number) + 1;
  }
  for (let i = 0; i < items; i++) counts[i + 1] = (counts[i + 1] as number) + (counts[i] as number);
  const itemUsers = new Uint32Array(table.items.length);
  const fill = counts.slice(0, items);
  for (let u = 0; u < table.users; u++) {
    for (let p = table.offsets[u] as number; p < (table.offsets[u + 1] as number); p++) {
      const item = table.items[p] as number;
      itemUsers[fill[item] as number] = u;
      fill[item] = (fill[item] as number) + 1;
    }
  }
  const co = new Float32Array(items);
  const scratch = new Float32Array(items);
  const touched = new Uint32Array(items);
  const offsets = new Uint32Array(items + 1);
  const neighborLists: Uint32Array[] = [];
  const similarityLists: Float32Array[] = [];
  let total = 0;
  for (let i = 0; i < items; i++) {
    const ni = (counts[i + 1] as number) - (counts[i] as number);
    let touchedCount = 0;
    for (let q = counts[i] as number; q < (counts[i + 1] as number); q++) {
      const u = itemUsers[q] as number;
      for (let p = table.offsets[u] as number; p < (table.offsets[u + 1] as number); p++) {
        const j = table.items[p] as number;
        if (j === i) continue;
        if (co[j] === 0) touched[touchedCount++] = j;
        co[j] = (co[j] as number) + 1;
      }
    }
    // Keep the k best by cosine: scores into a scratch buffer, then a top-k selection.
    for (let t = 0; t < touchedCount; t++) {
      const j = touched[t] as number;
      const nj = (counts[j + 1] as number) - (counts[j] as number);
      scratch[t] = (co[j] as number) / Math.sqrt(ni * nj);
      co[j] = 0;
    }
    const keep = Math.min(k, touchedCount);
    const list = new Uint32Array(keep);
    const sims = new Float32Array(keep);
    if (keep > 0) {
      const best = topIndices(scratch.subarray(0, touchedCount), keep);
      best.forEach((position, index) => {
        list[index] = touched[position] as number;
        sims[index] = scratch[position] as number;
      });
    }
    neighborLists.push(list);
    similarityLists.push(sims);
    total += list.length;
    offsets[i + 1] = total;
  }
  const neighbors = new Uint32Array(total);
  const similarities = new Float32Array(total);
  for (let i = 0; i < items; i++) {
    neighbors.set(neighborLists[i] as Uint32Array, offsets[i] as number);
    similarities.set(similarityLists[i] as Float32Array, offsets[i] as number);
  }
  return { offsets, neighbors, similarities };
}

/** CF scores: Σ over the given items of weight × similarity to each neighbour. */
export function scoreNeighbors(
  model: ItemNeighbors,
  items: number,
  history: ArrayLike<number>,
  weights: ArrayLike<number>,
): Float32Array {
  const scores = new Float32Array(items);
  for (let h = 0; h < history.length; h++) {
    const i = history[h] as number;
    const w = weights[h] as number;
    for (let p = model.offsets[i] as number; p < (model.offsets[i + 1] as number); p++) {
      const j = model.neighbors[p] as number;
      scores[j] = (scores[j] as number) + w * (model.similarities[p] as number);
    }
  }
  return scores;
}

/** Weight of the content score as a tie-breaker in {@link blendScores}. */
const TIE_BREAK = 1e-3;

/**
 * Blend content and CF scores over the candidates (`allowed[i]` = 1): each
 * signal is min–max scaled to 0..1 over the candidates, then
 * `weight·content + (1 − weight)·cf + 0.001·content` (content breaks ties).
 * Items marked in `cold` (no interactions at all, so CF knows nothing about
 * them) take `coldWeight` × their scaled content score in place of the CF
 * score, which keeps them recommendable through content.
 * Non-candidates get −∞.
 */
export function blendScores(
  content: Float32Array | null,
  cf: Float32Array | null,
  weight: number,
  allowed: Uint8Array,
  cold?: Uint8Array,
  coldWeight = 1,
): Float32Array {
  const n = allowed.length;
  const out = new Float32Array(n);
  const impute = content !== null && cf !== null && cold !== undefined;
  const range = (scores: Float32Array, skipCold: boolean): [number, number] => {
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      if (allowed[i] !== 1 || (skipCold && cold?.[i] === 1)) continue;
      const s = scores[i] as number;
      if (s < low) low = s;
      if (s > high) high = s;
    }
    if (low === Number.POSITIVE_INFINITY) return [0, 1];
    return [low, high - low > 1e-12 ? high - low : 1];
  };
  const [cLow, cSpan] = content === null ? [0, 1] : range(content, false);
  const [fLow, fSpan] = cf === null ? [0, 1] : range(cf, impute);
  const wc = content === null ? 0 : cf === null ? 1 : weight;
  const wf = cf === null ? 0 : content === null ? 1 : 1 - weight;
  for (let i = 0; i < n; i++) {
    if (allowed[i] !== 1) {
      out[i] = Number.NEGATIVE_INFINITY;
      continue;
    }
    const c = content === null ? 0 : ((content[i] as number) - cLow) / cSpan;
    const f =
      cf === null ? 0 : impute && cold?.[i] === 1 ? coldWeight * c : ((cf[i] as number) - fLow) / fSpan;
    // Content breaks ties (e.g. among items CF scores 0), also when its weight is 0.
    out[i] = wc * c + wf * f + TIE_BREAK * c;
  }
  return out;
}

/**
 * Maximal marginal relevance: re-rank `candidates` (indices, best first, with
 * their relevance `scores`) into `k` picks, each maximizing
 * (1 − diversity)·relevance − diversity·(max cosine to the items already picked).
 * Relevance is min–max scaled over the candidates; `diversity` 0 keeps the order.
 */
export function maximalMarginalRelevance(
  candidates: readonly number[],
  scores: readonly number[],
  vectors: Float32Array,
  dims: number,
  k: number,
  diversity: number,
): number[] {
  if (!(diversity >= 0 && diversity <= 1)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `diversity must be between 0 and 1, received ${String(diversity)}.`,
    );
  }
  if (diversity === 0 || candidates.length <= 1) return candidates.slice(0, k);
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const s of scores) {
    low = Math.min(low, s);
    high = Math.max(high, s);
  }
  const span = high - low > 1e-12 ? high - low : 1;
  const relevance = scores.map((s) => (s - low) / span);
  const maxSimilarity = new Float64Array(candidates.length).fill(Number.NEGATIVE_INFINITY);
  const picked = new Uint8Array(candidates.length);
  const out: number[] = [];
  while (out.length < Math.min(k, candidates.length)) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < candidates.length; c++) {
      if (picked[c] === 1) continue;
      const penalty = out.length === 0 ? 0 : (maxSimilarity[c] as number);
      const value = (1 - diversity) * (relevance[c] as number) - diversity * penalty;
      if (value > bestValue) {
        bestValue = value;
        best = c;
      }
    }
    picked[best] = 1;
    const chosen = candidates[best] as number;
    out.push(chosen);
    const base = chosen * dims;
    for (let c = 0; c < candidates.length; c++) {
      if (picked[c] === 1) continue;
      const other = (candidates[c] as number) * dims;
      let s = 0;
      for (let d = 0; d < dims; d++) s += (vectors[base + d] as number) * (vectors[other + d] as number);
      if (s > (maxSimilarity[c] as number)) maxSimilarity[c] = s;
    }
  }
  return out;
}

/** Ranking quality of one list against a set of relevant items. */
export interface RankingQuality {
  readonly ndcg: number;
  readonly hit: number;
  readonly averagePrecision: number;
}

/**
 * NDCG@k (binary gains, ideal = min(|relevant|, k) hits on top), HR@k (1 when
 * any relevant item is in the top k) and AP@k (mean precision at each hit,
 * divided by min(|relevant|, k)) of `ranked` (best first).
 */
export function rankingQuality(
  ranked: readonly string[],
  relevant: ReadonlySet<string>,
  k: number,
): RankingQuality {
  if (relevant.size === 0) return { ndcg: 0, hit: 0, averagePrecision: 0 };
  let dcg = 0;
  let hits = 0;
  let precisionSum = 0;
  const top = Math.min(k, ranked.length);
  for (let r = 0; r < top; r++) {
    if (relevant.has(ranked[r] as string)) {
      dcg += 1 / Math.log2(r + 2);
      hits++;
      precisionSum += hits / (r + 1);
    }
  }
  let ideal = 0;
  const idealHits = Math.min(relevant.size, k);
  for (let r = 0; r < idealHits; r++) ideal += 1 / Math.log2(r + 2);
  return { ndcg: dcg / ideal, hit: hits > 0 ? 1 : 0, averagePrecision: precisionSum / idealHits };
}
