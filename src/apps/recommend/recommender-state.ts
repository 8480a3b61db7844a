/**
 * @module apps/recommend/recommender-state
 * Where and how a recommender's non-vector state is saved: item order, user
 * ids, the interactions, the item-kNN neighbours and the settings (blend
 * weight with its validation curve, half-life, rating range).
 *
 * Decision: a sidecar file, not collection items or a database table. Item
 * vectors live in the vector collection (any backend); the state is one JSON
 * file written atomically (temp file + rename), with the big columns as base64
 * typed arrays. For the embedded store it sits in the store's folder
 * (`<store>/recommenders/<name>.json`); for pgvector (and any non-folder
 * backend) under the embedkit home, keyed by the store's address
 * (`<home>/recommenders/<backend>-<hash>/<name>.json`). So the same commands
 * work on both backends, interactions never pass through the vector store's
 * per-item limits, and a re-index replaces the state in one rename.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { EmbedkitError } from "../../errors.js";
import { defaultStorePath } from "../../store/embedded-store.js";
import type { VectorStore } from "../../store/vector-store.js";

/** Format tag of the state file. */
export const RECOMMENDER_STATE_FORMAT = "embedkit-recommender";

/** One point of the blend-weight validation curve. */
export interface BlendPoint {
  /** Weight of content similarity (1 − weight goes to item-kNN). */
  readonly weight: number;
  /** CF stand-in for items without interactions, × their scaled content score. */
  readonly coldWeight?: number;
  /** NDCG@10 on the validation split. */
  readonly ndcg: number;
}

/** Settings saved with a recommender. */
export interface RecommenderSettings {
  /** Whether interactions carry explicit ratings. */
  readonly explicit: boolean;
  readonly ratingRange: readonly [number, number] | null;
  readonly halfLifeSeconds: number | null;
  /** Ratings at or above this count as relevant in validation (null: the user's mean). */
  readonly relevantRating: number | null;
  /** Neighbours kept per item for item-kNN. */
  readonly neighbors: number;
  /** Content weight of the hybrid blend. */
  readonly blendWeight: number;
  /** Items without interactions use coldWeight × their scaled content score as CF score. */
  readonly coldWeight: number;
  /** "validation", "configured", or "default" (not enough interactions to validate). */
  readonly blendSource: string;
  readonly blendCurve: readonly BlendPoint[];
  readonly validationUsers: number;
}

/** The decoded state of a recommender. */
export interface RecommenderState {
  readonly name: string;
  readonly model: string;
  readonly dims: number;
  readonly items: readonly string[];
  readonly users: readonly string[];
  readonly interactions: {
    readonly user: Uint32Array;
    readonly item: Uint32Array;
    readonly rating: Float32Array;
    readonly time: Float64Array;
  };
  readonly neighbors: {
    readonly offsets: Uint32Array;
    readonly neighbors: Uint32Array;
    readonly similarities: Float32Array;
  };
  readonly settings: RecommenderSettings;
  readonly updatedAt: string;
}

type TypedArray = Uint32Array | Float32Array | Float64Array;

function encode(array: TypedArray): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString("base64");
}

function decode<T extends TypedArray>(
  text: unknown,
  make: (buffer: ArrayBuffer, length: number) => T,
  bytes: number,
  path: string,
): T {
  if (typeof text !== "string") throw corrupt(path, "a column is missing");
  const buffer = Buffer.from(text, "base64");
  if (buffer.length % bytes !== 0) throw corrupt(path, "a column has a bad length");
  const copy = new ArrayBuffer(buffer.length);
  new Uint8Array(copy).set(buffer);
  return make(copy, buffer.length / bytes);
}

function corrupt(path: string, why: string): EmbedkitError {
  return new EmbedkitError(
    "CORRUPT_STORE",
    `The recommender state ${path} is damaged (${why}). Re-create it with \`embedkit recommend index\`.`,
    { details: { path } },
  );
}

/** The state file of recommender `name` in `store` (see the module comment for the layout). */
export async function recommenderStatePath(
  store: VectorStore,
  name: string,
  options: { readonly home?: string } = {},
): Promise<string> {
  if (store.backend === "embedded") return join(store.location, "recommenders", `${name}.json`);
  const home = dirname(await defaultStorePath(options.home));
  const key = createHash("sha256").update(`${store.backend}\n${store.location}`).digest("hex").slice(0, 16);
  return join(home, "recommenders", `${store.backend}-${key}`, `${name}.json`);
}

/** Read a state file; undefined when it does not exist. @throws EmbedkitError CORRUPT_STORE */
export async function readRecommenderState(path: string): Promise<RecommenderState | undefined> {
  try {
    await stat(path);
  } catch {
    return undefined;
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw corrupt(path, `not JSON: ${(error as Error).message}`);
  }
  if (raw.format !== RECOMMENDER_STATE_FORMAT || raw.version !== 1) throw corrupt(path, "unknown format");
  const interactions = raw.interactions as Record<string, unknown>;
  const neighbors = raw.neighbors as Record<string, unknown>;
  const u32 = (b: ArrayBuffer, n: number) => new Uint32Array(b, 0, n);
  const f32 = (b: ArrayBuffer, n: number) => new Float32Array(b, 0, n);
  const f64 = (b: ArrayBuffer, n: number) => new Float64Array(b, 0, n);
  const state: RecommenderState = {
    name: String(raw.name),
    model: String(raw.model),
    dims: Number(raw.dims),
    items: raw.items as string[],
    users: raw.users as string[],
    interactions: {
      user: decode(interactions?.user, u32, 4, path),
      item: decode(interactions?.item, u32, 4, path),
      rating: decode(interactions?.rating, f32, 4, path),
      time: decode(interactions?.time, f64, 8, path),
    },
    neighbors: {
      offsets: decode(neighbors?.offsets, u32, 4, path),
      neighbors: decode(neighbors?.neighbors, u32, 4, path),
      similarities: decode(neighbors?.similarities, f32, 4, path),
    },
    settings: raw.settings as RecommenderSettings,
    updatedAt: String(raw.updatedAt),
  };
  const n = state.interactions.user.length;
  if (
    !Array.isArray(state.items) ||
    !Array.isArray(state.users) ||
    state.interactions.item.length !== n ||
    state.interactions.rating.length !== n ||
    state.interactions.time.length !== n ||
    state.neighbors.offsets.length !== state.items.length + 1
  ) {
    throw corrupt(path, "column lengths disagree");
  }
  return state;
}

/** Write a state file atomically (temp file in the same folder, then rename). */
export async function writeRecommenderState(path: string, state: RecommenderState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const body = JSON.stringify({
    format: RECOMMENDER_STATE_FORMAT,
    version: 1,
    name: state.name,
    model: state.model,
    dims: state.dims,
    updatedAt: state.updatedAt,
    settings: state.settings,
    items: state.items,
    users: state.users,
    interactions: {
      user: encode(state.interactions.user),
      item: encode(state.interactions.item),
      rating: encode(state.interactions.rating),
      time: encode(state.interactions.time),
    },
    neighbors: {
      offsets: encode(state.neighbors.offsets),
      neighbors: encode(state.neighbors.neighbors),
      similarities: encode(state.neighbors.similarities),
    },
  });
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temporary, body, "utf8");
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Delete a state file (no error when absent). */
export async function removeRecommenderState(path: string): Promise<void> {
  await rm(path, { force: true });
}
