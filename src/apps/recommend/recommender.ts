/**
 * @module apps/recommend/recommender
 * Content-based and hybrid recommendation on a vector store collection.
 *
 * `indexRecommender` embeds an item catalog into a collection named after the
 * recommender (through `indexDocuments`, so unchanged items are skipped on
 * re-runs), merges interactions into the saved state, builds item-kNN
 * neighbours and chooses the content/CF blend weight on a per-user temporal
 * validation split of the interactions. `openRecommender` loads the item
 * vectors and the state once and answers:
 *
 * - `recommendForUser` — profile (weighted mean of the user's item vectors,
 *   weights centred on the user's mean rating, optional recency half-life)
 *   scored against every item, blended with item-kNN; seen items excluded;
 * - `recommendForNewUser` — the same from a list of liked items;
 * - `similarItems` — more like this item (content blended with its CF neighbours);
 * - `recommendForQuery` — a text intent, optionally blended with a user's profile;
 * - `popularItems` — the fallback for users without history.
 *
 * Scoring is exact (every item, in memory), so filters and exclusions never
 * shorten a list; `diversity` re-ranks the best candidates with maximal
 * marginal relevance. See docs/RECOMMEND.md.
 */
import type { Embedder } from "../../embed/embedder.js";
import { describeType, EmbedkitError } from "../../errors.js";
import { type Document, ensureCollection, indexDocuments } from "../../store/documents.js";
import { matchesFilter, resolveFilter } from "../../store/filter.js";
import {
  type Collection,
  type Filter,
  type Metadata,
  STORE_LIMITS,
  type VectorStore,
} from "../../store/vector-store.js";
import { createRandom } from "../../vectors/random.js";
import {
  type InteractionColumns,
  type ItemColumns,
  readInteractions,
  readItemCatalog,
} from "./recommend-input.js";
import {
  applyRecencyDecay,
  blendScores,
  buildItemNeighbors,
  groupByUser,
  type ItemNeighbors,
  maximalMarginalRelevance,
  meanRating,
  profileWeights,
  rankingQuality,
  scoreAll,
  scoreNeighbors,
  topIndices,
  type UserTable,
  weightedProfile,
} from "./recommend-math.js";
import {
  type BlendPoint,
  type RecommenderSettings,
  type RecommenderState,
  readRecommenderState,
  recommenderStatePath,
  writeRecommenderState,
} from "./recommender-state.js";

/** Neighbours kept per item for item-kNN unless configured. */
export const DEFAULT_NEIGHBORS = 50;
/** Content weight used when there are too few interactions to validate the blend. */
export const DEFAULT_BLEND_WEIGHT = 0.5;
/** CF stand-ins tried for items without interactions (× their scaled content score). */
export const COLD_WEIGHT_GRID: readonly number[] = Object.freeze([0, 0.5, 1]);
/** Blend weights tried on the validation split. */
export const BLEND_GRID: readonly number[] = Object.freeze([
  0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1,
]);
/** Users sampled for the blend validation (seeded), bounding its cost on big catalogs. */
export const DEFAULT_VALIDATION_USERS = 500;

/** One interaction given in memory. */
export interface InteractionInput {
  readonly user: string;
  readonly item: string;
  readonly rating?: number;
  /** Unix seconds. */
  readonly time?: number;
}

/** Progress of {@link indexRecommender}. */
export interface RecommendIndexProgress {
  readonly phase: "items" | "embed" | "interactions" | "neighbors" | "blend";
  readonly done: number;
  readonly total: number;
}

/** Options of {@link indexRecommender}. Items are needed on the first run. */
export interface IndexRecommenderOptions {
  /** Item catalog file (CSV/TSV) and its columns. */
  readonly itemsFile?: { readonly path: string; readonly columns: ItemColumns };
  /** Items given in memory instead of a file. */
  readonly items?: readonly Document[];
  /** Interactions file (CSV/TSV) and its columns. */
  readonly interactionsFile?: { readonly path: string; readonly columns: InteractionColumns };
  /** Interactions given in memory instead of a file. */
  readonly interactions?: Iterable<InteractionInput>;
  /** Drop the saved interactions and keep only this run's (items stay). @default false (merge) */
  readonly replaceInteractions?: boolean;
  /** Declared rating range; ratings outside it are refused. */
  readonly ratingRange?: readonly [number, number];
  /** Recency half-life of profile weights, in seconds. */
  readonly halfLifeSeconds?: number;
  /** Relevant = rating ≥ this, in the blend validation (default: ≥ the user's mean rating). */
  readonly relevantRating?: number;
  /** Item-kNN neighbours per item. @default {@link DEFAULT_NEIGHBORS} */
  readonly neighbors?: number;
  /** Fix the content weight (0..1) instead of choosing it on a validation split. */
  readonly blendWeight?: number;
  /** Users sampled for the validation. @default {@link DEFAULT_VALIDATION_USERS} */
  readonly validationUsers?: number;
  /** Seed of the validation sample. @default 42 */
  readonly seed?: number;
  /** embedkit home (state location of non-folder stores). */
  readonly home?: string;
  /** Items embedded per batch. @default 64 */
  readonly batchSize?: number;
  readonly onProgress?: (progress: RecommendIndexProgress) => void;
}

/** What {@link indexRecommender} did. */
export interface IndexRecommenderReport {
  readonly name: string;
  readonly model: string;
  readonly items: number;
  /** Items embedded in this run (new or changed). */
  readonly embedded: number;
  /** Items already stored unchanged (skipped). */
  readonly unchanged: number;
  /** Ids of catalog rows with empty text (not indexed). */
  readonly emptyText: readonly string[];
  readonly users: number;
  readonly interactions: number;
  /** Interactions read in this run. */
  readonly interactionsRead: number;
  /** Interactions naming items not in the catalog: skipped. */
  readonly unknownItems: number;
  /** A few of those item ids (for the message). */
  readonly unknownItemExamples: readonly string[];
  /** Repeated (user, item) pairs in this run's input: the latest kept. */
  readonly duplicates: number;
  /** Pairs already saved that this run replaced. */
  readonly updated: number;
  readonly blendWeight: number;
  readonly blendSource: string;
  readonly blendCurve: readonly BlendPoint[];
  readonly statePath: string;
}

/** Where recommendations come from. */
export type RecommendationSource = "hybrid" | "content" | "collaborative" | "popular" | "query";

/** One recommended item. */
export interface RecommendedItem {
  readonly id: string;
  readonly score: number;
  readonly metadata: Metadata;
  readonly text?: string;
}

/** A list of recommendations. */
export interface Recommendation {
  readonly items: readonly RecommendedItem[];
  /** What ranked them (`popular` when the fallback answered). */
  readonly source: RecommendationSource;
}

/** Options shared by every recommend call. */
export interface RecommendOptions {
  /** How many items. @default 10 */
  readonly k?: number;
  /** 0..1: maximal marginal relevance trade-off (0 = pure relevance). @default 0 */
  readonly diversity?: number;
  /** Metadata filter (store syntax, e.g. `year>=2000,lang=en`). */
  readonly filter?: Filter | string;
  /** Only these item ids may be recommended (unknown ids are ignored). */
  readonly candidates?: readonly string[];
}

/** Options of user recommendations. */
export interface RecommendUserOptions extends RecommendOptions {
  /** Leave out items the user already interacted with. @default true */
  readonly excludeSeen?: boolean;
  /** What answers for an unknown user or one without a usable profile. @default "none" (error) */
  readonly fallback?: "none" | "popular";
  /** Ranking: the blend (default), content only, item-kNN only, or popularity. */
  readonly mode?: "hybrid" | "content" | "collaborative" | "popular";
}

/** Options of {@link Recommender.recommendForQuery}. */
export interface RecommendQueryOptions extends RecommendOptions {
  /** Blend the query with this user's profile and exclude their seen items. */
  readonly user?: string;
  /** Weight of the query against the profile (0..1). @default 0.5 */
  readonly queryWeight?: number;
}

/** Facts of an opened recommender. */
export interface RecommenderInfo {
  readonly name: string;
  readonly model: string;
  readonly items: number;
  readonly users: number;
  readonly interactions: number;
  readonly settings: RecommenderSettings;
  readonly updatedAt: string;
  readonly statePath: string;
}

/** A recommender opened by {@link openRecommender}. */
export interface Recommender {
  readonly info: RecommenderInfo;
  /** Whether this user has interactions. */
  hasUser(user: string): boolean;
  /** Every user id, in first-seen order. */
  userIds(): readonly string[];
  /**
   * Recommendations for a known user.
   * @throws EmbedkitError INVALID_INPUT naming the id when the user is unknown (unless `fallback: "popular"`)
   */
  recommendForUser(user: string, options?: RecommendUserOptions): Recommendation;
  /** Cold start: recommendations from items the user says they like. @throws EmbedkitError INVALID_INPUT (unknown item) */
  recommendForNewUser(liked: readonly string[], options?: RecommendOptions): Recommendation;
  /** More like this item. @throws EmbedkitError INVALID_INPUT naming the unknown item */
  similarItems(item: string, options?: RecommendOptions): Recommendation;
  /** Items for a text intent, optionally blended with a user's profile. */
  recommendForQuery(query: string, options?: RecommendQueryOptions): Promise<Recommendation>;
  /**
   * {@link Recommender.recommendForQuery} for a query already embedded by the
   * recommender's model (with its query prefix), e.g. by a server's model pool.
   * @throws EmbedkitError DIMENSION_MISMATCH, INVALID_INPUT (unknown user)
   */
  recommendForQueryVector(vector: Float32Array, options?: RecommendQueryOptions): Recommendation;
  /** Most interacted-with items. */
  popularItems(options?: RecommendOptions & { readonly exclude?: ReadonlySet<string> }): Recommendation;
}

function unknownRecommender(name: string): EmbedkitError {
  return new EmbedkitError(
    "INVALID_INPUT",
    `No recommender "${name}" in this store (no saved state). Build it with \`embedkit recommend index ${name} --items items.csv --id-field id --text-fields title\`.`,
    { details: { param: "name", name } },
  );
}

function checkUnit(value: number | undefined, option: string): void {
  if (value !== undefined && !(typeof value === "number" && value >= 0 && value <= 1)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${option} must be a number from 0 to 1, received ${String(value)}.`,
    );
  }
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > STORE_LIMITS.maxK) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `k must be an integer from 1 to ${STORE_LIMITS.maxK}, received ${String(k)}.`,
    );
  }
}

/** Load every item's vector, metadata and text from the collection, in `ids` order. */
async function loadItems(
  collection: Collection,
  ids: readonly string[],
  dims: number,
): Promise<{ vectors: Float32Array; metadata: Metadata[]; texts: (string | undefined)[] }> {
  const vectors = new Float32Array(ids.length * dims);
  const metadata: Metadata[] = new Array(ids.length);
  const texts: (string | undefined)[] = new Array(ids.length);
  const batch = STORE_LIMITS.maxBatchItems;
  for (let start = 0; start < ids.length; start += batch) {
    const slice = ids.slice(start, start + batch);
    const stored = await collection.get(slice);
    const byId = new Map(stored.map((item) => [item.id, item]));
    slice.forEach((id, offset) => {
      const item = byId.get(id);
      if (item === undefined) {
        throw new EmbedkitError(
          "CORRUPT_STORE",
          `Item ${JSON.stringify(id)} of recommender "${collection.name}" is missing from its collection. Re-run \`embedkit recommend index ${collection.name} --items ...\`.`,
        );
      }
      const index = start + offset;
      // Unit length, so dot products are cosines whatever the model's normalization.
      let norm = 0;
      for (let d = 0; d < dims; d++) norm += (item.vector[d] as number) ** 2;
      const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let d = 0; d < dims; d++) vectors[index * dims + d] = (item.vector[d] as number) * scale;
      metadata[index] = item.metadata;
      texts[index] = item.text;
    });
  }
  return { vectors, metadata, texts };
}

/** Per-user temporal split: each user's last `fraction` of interactions (at least one) held out. */
export function splitLastFraction(
  table: UserTable,
  fraction: number,
  minimum: number,
): { train: UserTable; heldOut: Map<number, { items: Uint32Array; ratings: Float32Array }> } {
  const user: number[] = [];
  const item: number[] = [];
  const rating: number[] = [];
  const time: number[] = [];
  const heldOut = new Map<number, { items: Uint32Array; ratings: Float32Array }>();
  for (let u = 0; u < table.users; u++) {
    const start = table.offsets[u] as number;
    const end = table.offsets[u + 1] as number;
    const count = end - start;
    const held = count >= minimum ? Math.max(1, Math.round(count * fraction)) : 0;
    const cut = end - held;
    for (let p = start; p < cut; p++) {
      user.push(u);
      item.push(table.items[p] as number);
      rating.push(table.ratings[p] as number);
      time.push(table.times[p] as number);
    }
    if (held > 0)
      heldOut.set(u, { items: table.items.slice(cut, end), ratings: table.ratings.slice(cut, end) });
  }
  const train = groupByUser(
    {
      user: Uint32Array.from(user),
      item: Uint32Array.from(item),
      rating: Float32Array.from(rating),
      time: Float64Array.from(time),
    },
    table.users,
  );
  return { train, heldOut };
}

/** The relevant held-out items of a user: rating ≥ threshold (or ≥ their training mean), all for implicit data. */
function relevantItems(
  train: UserTable,
  user: number,
  heldOut: { items: Uint32Array; ratings: Float32Array },
  relevantRating: number | null,
): Set<number> {
  let threshold = relevantRating ?? Number.NaN;
  if (relevantRating === null) {
    let sum = 0;
    let count = 0;
    for (let p = train.offsets[user] as number; p < (train.offsets[user + 1] as number); p++) {
      const r = train.ratings[p] as number;
      if (!Number.isNaN(r)) {
        sum += r;
        count++;
      }
    }
    threshold = count > 0 ? sum / count : Number.NaN;
  }
  const out = new Set<number>();
  heldOut.items.forEach((item, index) => {
    const r = heldOut.ratings[index] as number;
    if (Number.isNaN(r) || Number.isNaN(threshold) || r >= threshold) out.add(item);
  });
  return out;
}

/**
 * Choose the content weight of the blend and the cold-item weight: hold out
 * each user's last 20 % of interactions, build item-kNN on the rest, and take
 * the pair of {@link BLEND_GRID} × {@link COLD_WEIGHT_GRID} with the best mean
 * NDCG@10 over (a seeded sample of) users with relevant held-out items. Ties
 * go to the later grid point (more content, more cold-item weight).
 */
function chooseBlendWeight(
  table: UserTable,
  vectors: Float32Array,
  dims: number,
  itemCount: number,
  settings: { neighbors: number; halfLifeSeconds: number | null; relevantRating: number | null },
  sampleSize: number,
  seed: number,
  onProgress?: (done: number, total: number) => void,
): { weight: number; coldWeight: number; curve: BlendPoint[]; users: number } | undefined {
  const { train, heldOut } = splitLastFraction(table, 0.2, 5);
  const candidates: number[] = [];
  for (const [user, held] of heldOut) {
    if (relevantItems(train, user, held, settings.relevantRating).size > 0) candidates.push(user);
  }
  if (candidates.length < 5) return undefined;
  const users =
    candidates.length > sampleSize ? createRandom(seed).shuffle(candidates).slice(0, sampleSize) : candidates;
  const neighbors = buildItemNeighbors(positiveInteractions(train), itemCount, settings.neighbors);
  const weightOptions =
    settings.halfLifeSeconds === null ? {} : { halfLifeSeconds: settings.halfLifeSeconds };
  const cold = new Uint8Array(itemCount).fill(1);
  for (const item of train.items) cold[item] = 0;
  const sums = new Float64Array(BLEND_GRID.length * COLD_WEIGHT_GRID.length);
  const allowed = new Uint8Array(itemCount);
  users.forEach((user, done) => {
    const { items, weights } = profileWeights(train, user, weightOptions);
    const profile = weightedProfile(vectors, dims, items, weights);
    const content = profile === null ? null : scoreAll(vectors, dims, profile);
    const cf = scoreNeighbors(neighbors, itemCount, items, cfWeights(train, user, weightOptions));
    allowed.fill(1);
    for (const item of items) allowed[item] = 0;
    const relevant = relevantItems(
      train,
      user,
      heldOut.get(user) as { items: Uint32Array; ratings: Float32Array },
      settings.relevantRating,
    );
    const relevantIds = new Set([...relevant].map(String));
    BLEND_GRID.forEach((weight, g) => {
      COLD_WEIGHT_GRID.forEach((coldWeight, c) => {
        const scores = blendScores(content, cf, weight, allowed, cold, coldWeight);
        const ranked = Array.from(topIndices(scores, 10), String);
        const slot = g * COLD_WEIGHT_GRID.length + c;
        sums[slot] = (sums[slot] as number) + rankingQuality(ranked, relevantIds, 10).ndcg;
      });
    });
    onProgress?.(done + 1, users.length);
  });
  const curve = BLEND_GRID.flatMap((weight, g) =>
    COLD_WEIGHT_GRID.map((coldWeight, c) => ({
      weight,
      coldWeight,
      ndcg: (sums[g * COLD_WEIGHT_GRID.length + c] as number) / users.length,
    })),
  );
  let best = curve[0] as BlendPoint;
  for (const point of curve) if (point.ndcg >= best.ndcg) best = point;
  return { weight: best.weight, coldWeight: best.coldWeight ?? 1, curve, users: users.length };
}

/** Whether interaction `p` of `table` is positive: no rating, or a rating ≥ its user's mean rating. */
function positiveMask(table: UserTable): Uint8Array {
  const mask = new Uint8Array(table.items.length);
  for (let u = 0; u < table.users; u++) {
    const start = table.offsets[u] as number;
    const end = table.offsets[u + 1] as number;
    const mean = meanRating(table, start, end);
    for (let p = start; p < end; p++) {
      const r = table.ratings[p] as number;
      mask[p] = Number.isNaN(r) || Number.isNaN(mean) || r >= mean - 1e-6 ? 1 : 0;
    }
  }
  return mask;
}

/**
 * The positive interactions of a table (see {@link positiveMask}): item-kNN
 * similarity is computed on these only, so "rated but disliked" does not count
 * as co-occurrence.
 */
function positiveInteractions(table: UserTable): UserTable {
  const mask = positiveMask(table);
  const user: number[] = [];
  const keep: number[] = [];
  for (let u = 0; u < table.users; u++) {
    for (let p = table.offsets[u] as number; p < (table.offsets[u + 1] as number); p++) {
      if (mask[p] === 1) {
        user.push(u);
        keep.push(p);
      }
    }
  }
  return groupByUser(
    {
      user: Uint32Array.from(user),
      item: Uint32Array.from(keep, (p) => table.items[p] as number),
      rating: Float32Array.from(keep, (p) => table.ratings[p] as number),
      time: Float64Array.from(keep, (p) => table.times[p] as number),
    },
    table.users,
  );
}

/**
 * Item-kNN weights of a user's history: 1 for positive interactions (no
 * rating, or a rating ≥ the user's mean), 0 for the rest, times the recency decay.
 */
function cfWeights(table: UserTable, user: number, options: { halfLifeSeconds?: number }): Float32Array {
  const start = table.offsets[user] as number;
  const end = table.offsets[user + 1] as number;
  const weights = new Float32Array(end - start).fill(1);
  const mean = meanRating(table, start, end);
  if (!Number.isNaN(mean)) {
    for (let p = start; p < end; p++) {
      const r = table.ratings[p] as number;
      if (!Number.isNaN(r) && r < mean - 1e-6) weights[p - start] = 0;
    }
  }
  applyRecencyDecay(table, start, end, weights, options.halfLifeSeconds);
  return weights;
}

function validateOptions(options: IndexRecommenderOptions): void {
  checkUnit(options.blendWeight, "blendWeight");
  const range = options.ratingRange;
  if (
    range !== undefined &&
    !(
      Array.isArray(range) &&
      range.length === 2 &&
      Number.isFinite(range[0]) &&
      Number.isFinite(range[1]) &&
      range[0] < range[1]
    )
  ) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `ratingRange must be [min, max] with min < max, received ${JSON.stringify(range)}.`,
    );
  }
  if (
    options.halfLifeSeconds !== undefined &&
    !(options.halfLifeSeconds > 0 && Number.isFinite(options.halfLifeSeconds))
  ) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `The half-life must be a positive duration, received ${String(options.halfLifeSeconds)}.`,
    );
  }
  if (options.neighbors !== undefined && !(Number.isInteger(options.neighbors) && options.neighbors >= 1)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `neighbors must be a positive integer, received ${String(options.neighbors)}.`,
    );
  }
  if (options.items !== undefined && options.itemsFile !== undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "Give items either in memory (items) or as a file (itemsFile), not both.",
    );
  }
  if (options.interactions !== undefined && options.interactionsFile !== undefined) {
    throw new EmbedkitError("INVALID_OPTION", "Give interactions either in memory or as a file, not both.");
  }
}

/**
 * Build or update the recommender `name`: embed new or changed items into the
 * collection `name`, merge interactions into the saved state (a later
 * interaction for the same user and item replaces the earlier one), rebuild
 * item-kNN and choose the blend weight. Everything is read and validated
 * before the first write; the state is replaced in one atomic rename.
 *
 * @throws EmbedkitError INVALID_INPUT (no items on the first run, a rating outside
 *   `ratingRange`), INVALID_OPTION (columns missing from a file — listing the
 *   available ones — or bad options), MALFORMED_FILE, MODEL_MISMATCH
 * @example
 * ```ts
 * const report = await indexRecommender(store, "movies", embedder, {
 *   itemsFile: { path: "movies.csv", columns: { idField: "movieId", textFields: ["title", "genres"] } },
 *   interactionsFile: { path: "ratings.csv", columns: { userField: "userId", itemField: "movieId", ratingField: "rating" } },
 * });
 * const recommender = await openRecommender(store, "movies", embedder);
 * recommender.recommendForUser("1", { k: 10 });
 * ```
 */
export async function indexRecommender(
  store: VectorStore,
  name: string,
  embedder: Embedder,
  options: IndexRecommenderOptions = {},
): Promise<IndexRecommenderReport> {
  validateOptions(options);
  const statePath = await recommenderStatePath(
    store,
    name,
    options.home === undefined ? {} : { home: options.home },
  );
  const previous = await readRecommenderState(statePath);
  if (previous !== undefined && previous.model !== embedder.model.id) {
    throw new EmbedkitError(
      "MODEL_MISMATCH",
      `Recommender "${name}" was built with ${previous.model}; it cannot be updated with ${embedder.model.id}. Use -m ${previous.model}, or another name.`,
    );
  }
  // 1. Items (read and validated, nothing written yet).
  let documents: readonly Document[] = [];
  let emptyText: string[] = [];
  if (options.itemsFile !== undefined) {
    options.onProgress?.({ phase: "items", done: 0, total: 1 });
    const catalog = await readItemCatalog(options.itemsFile.path, options.itemsFile.columns);
    documents = catalog.documents;
    emptyText = catalog.emptyText;
  } else if (options.items !== undefined) {
    if (!Array.isArray(options.items)) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `items must be an array of documents, received ${describeType(options.items)}.`,
      );
    }
    documents = options.items.filter(
      (document) => typeof document?.text !== "string" || document.text.trim() !== "",
    );
    emptyText = options.items
      .filter((document) => typeof document?.text === "string" && document.text.trim() === "")
      .map((d) => d.id);
  }
  if (previous === undefined && documents.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      emptyText.length > 0
        ? `Recommender "${name}": every item has empty text (${emptyText.length} rows); check --text-fields.`
        : `Recommender "${name}" does not exist yet: give the item catalog (--items items.csv) on the first run.`,
      { details: { name } },
    );
  }
  const itemIds: string[] = previous === undefined ? [] : [...previous.items];
  const itemIndex = new Map(itemIds.map((id, index) => [id, index]));
  for (const document of documents) {
    if (!itemIndex.has(document.id)) {
      itemIndex.set(document.id, itemIds.length);
      itemIds.push(document.id);
    }
  }
  const itemCount = itemIds.length;
  // 2. Interactions: previous ones plus this run's, keyed by user × item.
  const userIds: string[] =
    previous === undefined || options.replaceInteractions === true ? [] : [...previous.users];
  const userIndex = new Map(userIds.map((id, index) => [id, index]));
  const merged = new Map<number, number>(); // key → row in the arrays below
  const user: number[] = [];
  const item: number[] = [];
  const rating: number[] = [];
  const time: number[] = [];
  const put = (u: number, i: number, r: number, t: number): boolean => {
    const key = u * itemCount + i;
    const row = merged.get(key);
    if (row === undefined) {
      merged.set(key, user.length);
      user.push(u);
      item.push(i);
      rating.push(r);
      time.push(t);
      return false;
    }
    rating[row] = r;
    time[row] = t;
    return true;
  };
  if (previous !== undefined && options.replaceInteractions !== true) {
    const p = previous.interactions;
    for (let r = 0; r < p.user.length; r++)
      put(p.user[r] as number, p.item[r] as number, p.rating[r] as number, p.time[r] as number);
  }
  const previousCount = user.length;
  let read = 0;
  let unknownItems = 0;
  const unknownItemExamples: string[] = [];
  let duplicates = 0;
  let updated = 0;
  const seenThisRun = new Map<number, number>(); // key → time kept
  let explicit = options.replaceInteractions === true ? false : (previous?.settings.explicit ?? false);
  const accept = (row: { user: string; item: string; rating: number; time: number }): void => {
    read++;
    if (read % 50_000 === 0) options.onProgress?.({ phase: "interactions", done: read, total: 0 });
    const i = itemIndex.get(row.item);
    if (i === undefined) {
      unknownItems++;
      if (unknownItemExamples.length < 5 && !unknownItemExamples.includes(row.item))
        unknownItemExamples.push(row.item);
      return;
    }
    if (!Number.isNaN(row.rating)) explicit = true;
    let u = userIndex.get(row.user);
    if (u === undefined) {
      u = userIds.length;
      userIndex.set(row.user, u);
      userIds.push(row.user);
    }
    const key = u * itemCount + i;
    const kept = seenThisRun.get(key);
    if (kept !== undefined) {
      duplicates++;
      // Keep the latest (by time; the later row when times are equal or unknown).
      if (!Number.isNaN(kept) && !Number.isNaN(row.time) && row.time < kept) return;
    }
    seenThisRun.set(key, row.time);
    const existed = put(u, i, row.rating, row.time);
    if (existed && kept === undefined) updated++;
  };
  if (options.interactionsFile !== undefined) {
    for await (const row of readInteractions(
      options.interactionsFile.path,
      options.interactionsFile.columns,
      options.ratingRange,
    )) {
      accept(row);
    }
  } else if (options.interactions !== undefined) {
    let index = 0;
    for (const row of options.interactions) {
      if (
        typeof row?.user !== "string" ||
        row.user === "" ||
        typeof row.item !== "string" ||
        row.item === ""
      ) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `interactions[${index}] needs non-empty string user and item ids.`,
        );
      }
      const r = row.rating ?? Number.NaN;
      if (row.rating !== undefined && !Number.isFinite(row.rating)) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `interactions[${index}]: rating must be a finite number, received ${String(row.rating)}.`,
        );
      }
      const range = options.ratingRange;
      if (range !== undefined && !Number.isNaN(r) && (r < range[0] || r > range[1])) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `interactions[${index}]: rating ${r} is outside the declared range ${range[0]}..${range[1]}. Nothing was written.`,
          { details: { index, rating: r, range: [...range] } },
        );
      }
      accept({ user: row.user, item: row.item, rating: r, time: row.time ?? Number.NaN });
      index++;
    }
  }
  if (
    explicit &&
    previous !== undefined &&
    !previous.settings.explicit &&
    previousCount > 0 &&
    options.replaceInteractions !== true
  ) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Recommender "${name}" holds implicit interactions (no ratings); ratings cannot be added to it. Rebuild it under another name.`,
    );
  }
  const ratings = Float32Array.from(rating);
  if (explicit) {
    for (let r = 0; r < ratings.length; r++) {
      if (Number.isNaN(ratings[r] as number)) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `User ${JSON.stringify(userIds[user[r] as number])} has an interaction with item ${JSON.stringify(itemIds[item[r] as number])} without a rating while others have ratings; give every interaction a rating (or none).`,
        );
      }
    }
  }
  // 3. Embed items (idempotent: unchanged items are skipped).
  const collection = await ensureCollection(store, name, embedder.model);
  const dims = collection.info.dims;
  const indexed = await indexDocuments(collection, embedder, documents, {
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    onProgress: (progress) =>
      options.onProgress?.({ phase: "embed", done: progress.done, total: progress.total }),
  });
  // 4. Neighbours and blend.
  const { vectors } = await loadItems(collection, itemIds, dims);
  const interactions = {
    user: Uint32Array.from(user),
    item: Uint32Array.from(item),
    rating: ratings,
    time: Float64Array.from(time),
  };
  const table = groupByUser(interactions, userIds.length);
  const neighborCount = options.neighbors ?? previous?.settings.neighbors ?? DEFAULT_NEIGHBORS;
  options.onProgress?.({ phase: "neighbors", done: 0, total: 1 });
  const neighbors = buildItemNeighbors(positiveInteractions(table), itemCount, neighborCount);
  options.onProgress?.({ phase: "neighbors", done: 1, total: 1 });
  const halfLifeSeconds = options.halfLifeSeconds ?? previous?.settings.halfLifeSeconds ?? null;
  const relevantRating = options.relevantRating ?? previous?.settings.relevantRating ?? null;
  let blendWeight = DEFAULT_BLEND_WEIGHT;
  let coldWeight = 1;
  let blendSource = "default";
  let blendCurve: BlendPoint[] = [];
  let validationUsers = 0;
  if (options.blendWeight !== undefined) {
    blendWeight = options.blendWeight;
    blendSource = "configured";
  } else {
    const chosen = chooseBlendWeight(
      table,
      vectors,
      dims,
      itemCount,
      { neighbors: neighborCount, halfLifeSeconds, relevantRating },
      options.validationUsers ?? DEFAULT_VALIDATION_USERS,
      options.seed ?? 42,
      (done, total) => options.onProgress?.({ phase: "blend", done, total }),
    );
    if (chosen !== undefined) {
      blendWeight = chosen.weight;
      coldWeight = chosen.coldWeight;
      blendSource = "validation";
      blendCurve = chosen.curve;
      validationUsers = chosen.users;
    }
  }
  const settings: RecommenderSettings = {
    explicit,
    ratingRange: options.ratingRange ?? previous?.settings.ratingRange ?? null,
    halfLifeSeconds,
    relevantRating,
    neighbors: neighborCount,
    blendWeight,
    coldWeight,
    blendSource,
    blendCurve,
    validationUsers,
  };
  const state: RecommenderState = {
    name,
    model: embedder.model.id,
    dims,
    items: itemIds,
    users: userIds,
    interactions,
    neighbors,
    settings,
    updatedAt: new Date().toISOString(),
  };
  await writeRecommenderState(statePath, state);
  return {
    name,
    model: embedder.model.id,
    items: itemCount,
    embedded: indexed.embedded,
    unchanged: indexed.skipped,
    emptyText,
    users: userIds.length,
    interactions: user.length,
    interactionsRead: read,
    unknownItems,
    unknownItemExamples,
    duplicates,
    updated,
    blendWeight,
    blendSource,
    blendCurve,
    statePath,
  };
}

/** Options of {@link openRecommender}. */
export interface OpenRecommenderOptions {
  /** embedkit home (state location of non-folder stores). */
  readonly home?: string;
}

/**
 * Open a recommender built by {@link indexRecommender}: loads its state and
 * every item vector into memory.
 * @throws EmbedkitError INVALID_INPUT (no such recommender), MODEL_MISMATCH, CORRUPT_STORE
 */
export async function openRecommender(
  store: VectorStore,
  name: string,
  embedder: Embedder,
  options: OpenRecommenderOptions = {},
): Promise<Recommender> {
  const statePath = await recommenderStatePath(store, name, options);
  const state = await readRecommenderState(statePath);
  if (state === undefined) throw unknownRecommender(name);
  if (state.model !== embedder.model.id) {
    throw new EmbedkitError(
      "MODEL_MISMATCH",
      `Recommender "${name}" was built with ${state.model}; open it with that model (-m ${state.model}), not ${embedder.model.id}.`,
    );
  }
  const collection = await store.getCollection(name);
  const { vectors, metadata, texts } = await loadItems(collection, state.items, state.dims);
  return new LoadedRecommender(state, statePath, embedder, vectors, metadata, texts);
}

class LoadedRecommender implements Recommender {
  readonly info: RecommenderInfo;
  private readonly itemIndex: Map<string, number>;
  private readonly userIndex: Map<string, number>;
  private readonly table: UserTable;
  private readonly neighbors: ItemNeighbors;
  private readonly popularity: Float32Array;
  /** 1 for items without any interaction (CF knows nothing about them). */
  private readonly cold: Uint8Array;
  private readonly coldWeight: number;
  private readonly weightOptions: { halfLifeSeconds?: number };
  private readonly dims: number;
  private readonly count: number;

  constructor(
    private readonly state: RecommenderState,
    statePath: string,
    private readonly embedder: Embedder,
    private readonly vectors: Float32Array,
    private readonly metadata: Metadata[],
    private readonly texts: (string | undefined)[],
  ) {
    this.info = {
      name: state.name,
      model: state.model,
      items: state.items.length,
      users: state.users.length,
      interactions: state.interactions.user.length,
      settings: state.settings,
      updatedAt: state.updatedAt,
      statePath,
    };
    this.dims = state.dims;
    this.count = state.items.length;
    this.itemIndex = new Map(state.items.map((id, index) => [id, index]));
    this.userIndex = new Map(state.users.map((id, index) => [id, index]));
    this.table = groupByUser(state.interactions, state.users.length);
    this.neighbors = state.neighbors;
    this.popularity = new Float32Array(this.count);
    for (const i of state.interactions.item) this.popularity[i] = (this.popularity[i] as number) + 1;
    this.coldWeight = state.settings.coldWeight ?? 1;
    this.cold = Uint8Array.from(this.popularity, (count) => (count === 0 ? 1 : 0));
    this.weightOptions =
      state.settings.halfLifeSeconds === null ? {} : { halfLifeSeconds: state.settings.halfLifeSeconds };
  }

  hasUser(user: string): boolean {
    return this.userIndex.has(user);
  }

  userIds(): readonly string[] {
    return this.state.users;
  }

  /** 1 for items that may be recommended: pass the filter and are not excluded. */
  private allowed(options: RecommendOptions, exclude: Iterable<number>): Uint8Array {
    const allowed = new Uint8Array(this.count);
    const resolved = resolveFilter(options.filter);
    if (resolved.length === 0) allowed.fill(1);
    else {
      for (let i = 0; i < this.count; i++) {
        allowed[i] = matchesFilter(this.metadata[i] as Metadata, resolved) ? 1 : 0;
      }
    }
    if (options.candidates !== undefined) {
      const only = new Uint8Array(this.count);
      for (const id of options.candidates) {
        const index = this.itemIndex.get(id);
        if (index !== undefined) only[index] = 1;
      }
      for (let i = 0; i < this.count; i++) allowed[i] = (allowed[i] as number) & (only[i] as number);
    }
    for (const i of exclude) allowed[i] = 0;
    return allowed;
  }

  /** Top-k of `scores` among allowed items (non-allowed already −∞), MMR-re-ranked when asked. */
  private rank(
    scores: Float32Array,
    allowed: Uint8Array,
    options: RecommendOptions,
    source: RecommendationSource,
  ): Recommendation {
    const k = options.k ?? 10;
    checkK(k);
    const diversity = options.diversity ?? 0;
    checkUnit(diversity, "diversity");
    for (let i = 0; i < this.count; i++) if (allowed[i] !== 1) scores[i] = Number.NEGATIVE_INFINITY;
    const pool = diversity > 0 ? Math.min(this.count, Math.max(50, 5 * k)) : k;
    const best = topIndices(scores, Math.min(pool, this.count));
    const order = maximalMarginalRelevance(
      Array.from(best),
      Array.from(best, (index) => scores[index] as number),
      this.vectors,
      this.dims,
      k,
      diversity,
    );
    return {
      source,
      items: order.map((index) => {
        const text = this.texts[index];
        return {
          id: this.state.items[index] as string,
          score: scores[index] as number,
          metadata: this.metadata[index] as Metadata,
          ...(text === undefined ? {} : { text }),
        };
      }),
    };
  }

  private seenBy(user: number): Uint32Array {
    return this.table.items.subarray(
      this.table.offsets[user] as number,
      this.table.offsets[user + 1] as number,
    );
  }

  recommendForUser(user: string, options: RecommendUserOptions = {}): Recommendation {
    const u = this.userIndex.get(user);
    const fallback = options.fallback ?? "none";
    if (u === undefined) {
      if (fallback === "popular") return this.popularItems(options);
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Unknown user ${JSON.stringify(user)}: recommender "${this.info.name}" has no interactions from this user. ` +
          "Use `recommend new-user --liked ...`, a query, or --fallback popular.",
        { details: { param: "user", user } },
      );
    }
    const seen = this.seenBy(u);
    const exclude = options.excludeSeen === false ? [] : seen;
    const mode = options.mode ?? "hybrid";
    if (mode === "popular")
      return this.popularItems({
        ...options,
        exclude: new Set([...exclude].map((i) => this.state.items[i] as string)),
      });
    const allowed = this.allowed(options, exclude);
    const { items, weights } = profileWeights(this.table, u, this.weightOptions);
    const profile =
      mode === "collaborative" ? null : weightedProfile(this.vectors, this.dims, items, weights);
    const content = profile === null ? null : scoreAll(this.vectors, this.dims, profile);
    const cf =
      mode === "content"
        ? null
        : scoreNeighbors(this.neighbors, this.count, items, cfWeights(this.table, u, this.weightOptions));
    if (content === null && (cf === null || cf.every((s) => s === 0))) {
      if (fallback === "popular")
        return this.popularItems({
          ...options,
          exclude: new Set([...exclude].map((i) => this.state.items[i] as string)),
        });
      throw new EmbedkitError(
        "INVALID_INPUT",
        `User ${JSON.stringify(user)} has no usable profile (their interaction weights cancel out). Use --fallback popular.`,
        { details: { param: "user", user } },
      );
    }
    const weight = mode === "content" ? 1 : mode === "collaborative" ? 0 : this.state.settings.blendWeight;
    // Content only: rank by the cosine itself (the same order as the scaled blend, readable scores).
    const scores =
      mode === "content" && content !== null
        ? content
        : blendScores(content, cf, weight, allowed, this.cold, this.coldWeight);
    const source: RecommendationSource =
      mode === "content" ? "content" : mode === "collaborative" ? "collaborative" : "hybrid";
    return this.rank(scores, allowed, options, source);
  }

  private indexOfItem(item: string, param: string): number {
    const index = this.itemIndex.get(item);
    if (index === undefined) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Unknown item ${JSON.stringify(item)}: it is not in recommender "${this.info.name}" (${this.count} items).`,
        { details: { param, item } },
      );
    }
    return index;
  }

  recommendForNewUser(liked: readonly string[], options: RecommendOptions = {}): Recommendation {
    if (!Array.isArray(liked) || liked.length === 0) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        "A new user needs at least one liked item id (--liked id1,id2).",
      );
    }
    const items = Uint32Array.from(liked.map((id) => this.indexOfItem(id, "liked")));
    const weights = new Float32Array(items.length).fill(1);
    const profile = weightedProfile(this.vectors, this.dims, items, weights) as Float32Array;
    const allowed = this.allowed(options, items);
    const scores = blendScores(
      scoreAll(this.vectors, this.dims, profile),
      scoreNeighbors(this.neighbors, this.count, items, weights),
      this.state.settings.blendWeight,
      allowed,
      this.cold,
      this.coldWeight,
    );
    return this.rank(scores, allowed, options, "hybrid");
  }

  similarItems(item: string, options: RecommendOptions = {}): Recommendation {
    const index = this.indexOfItem(item, "item");
    const vector = this.vectors.subarray(index * this.dims, (index + 1) * this.dims);
    const allowed = this.allowed(options, [index]);
    const one = Uint32Array.of(index);
    const cf = scoreNeighbors(this.neighbors, this.count, one, Float32Array.of(1));
    const hasCf = cf.some((s) => s > 0);
    const content = scoreAll(this.vectors, this.dims, Float32Array.from(vector));
    // Without CF neighbours the score is the cosine itself.
    const scores = hasCf
      ? blendScores(content, cf, this.state.settings.blendWeight, allowed, this.cold, this.coldWeight)
      : content;
    return this.rank(scores, allowed, options, hasCf ? "hybrid" : "content");
  }

  async recommendForQuery(query: string, options: RecommendQueryOptions = {}): Promise<Recommendation> {
    if (typeof query !== "string" || query.trim() === "") {
      throw new EmbedkitError("INVALID_INPUT", "The query must be a non-empty string.");
    }
    const { vectors } = await this.embedder.embed([query], { inputType: "query" });
    return this.recommendForQueryVector(vectors[0] as Float32Array, options);
  }

  recommendForQueryVector(vector: Float32Array, options: RecommendQueryOptions = {}): Recommendation {
    if (!(vector instanceof Float32Array) || vector.length !== this.dims) {
      throw new EmbedkitError(
        "DIMENSION_MISMATCH",
        `The query vector must have ${this.dims} dimensions (model ${this.info.model}), received ${vector?.length}.`,
      );
    }
    checkUnit(options.queryWeight, "queryWeight");
    let exclude: Uint32Array = new Uint32Array(0);
    let profile: Float32Array | null = null;
    if (options.user !== undefined) {
      const u = this.userIndex.get(options.user);
      if (u === undefined) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `Unknown user ${JSON.stringify(options.user)}: recommender "${this.info.name}" has no interactions from this user.`,
          { details: { param: "user", user: options.user } },
        );
      }
      exclude = this.seenBy(u);
      const { items, weights } = profileWeights(this.table, u, this.weightOptions);
      profile = weightedProfile(this.vectors, this.dims, items, weights);
    }
    const q = vector;
    let norm = 0;
    for (const x of q) norm += x * x;
    const combined = new Float32Array(this.dims);
    const queryWeight = profile === null ? 1 : (options.queryWeight ?? 0.5);
    for (let d = 0; d < this.dims; d++) {
      combined[d] =
        (queryWeight * (q[d] as number)) / Math.sqrt(norm || 1) +
        (profile === null ? 0 : (1 - queryWeight) * (profile[d] as number));
    }
    const allowed = this.allowed(options, exclude);
    const scores = scoreAll(this.vectors, this.dims, combined);
    return this.rank(scores, allowed, options, "query");
  }

  popularItems(options: RecommendOptions & { readonly exclude?: ReadonlySet<string> } = {}): Recommendation {
    const exclude: number[] = [];
    for (const id of options.exclude ?? []) {
      const index = this.itemIndex.get(id);
      if (index !== undefined) exclude.push(index);
    }
    const allowed = this.allowed(options, exclude);
    return this.rank(
      Float32Array.from(this.popularity),
      allowed,
      { ...options, diversity: options.diversity ?? 0 },
      "popular",
    );
  }
}

/**
 * Parse a duration such as `30d`, `12h`, `45m`, `90s` or `2w` into seconds.
 * @throws EmbedkitError INVALID_OPTION
 */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (match === null) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${JSON.stringify(text)} is not a duration; use a number and a unit: s, m, h, d or w (e.g. 30d).`,
    );
  }
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[(match[2] as string).toLowerCase() as "s"];
  const seconds = Number(match[1]) * unit;
  if (!(seconds > 0))
    throw new EmbedkitError("INVALID_OPTION", `The duration ${JSON.stringify(text)} must be positive.`);
  return seconds;
}
