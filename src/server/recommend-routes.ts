/**
 * @module server/recommend-routes
 * Recommendations over HTTP, on the same server, auth, error shape and model
 * pool as `/v1/embeddings` (wired in by `create-server.ts`):
 *
 * - `GET  /v1/recommend/{name}` — the recommender's facts (items, users, blend)
 * - `POST /v1/recommend/{name}/user` — `{user, k?, diversity?, filter?, exclude_seen?, fallback?}`
 * - `POST /v1/recommend/{name}/users` — `{users: [...], k?, ...}` → one list per user
 * - `POST /v1/recommend/{name}/item` — `{item, k?, diversity?, filter?}` (more like this)
 * - `POST /v1/recommend/{name}/query` — `{query, user?, query_weight?, k?, ...}`
 * - `POST /v1/recommend/{name}/new-user` — `{liked: [...], k?, ...}`
 *
 * Building a recommender stays a CLI/library job (`embedkit recommend index`):
 * it reads files and can take minutes. Opened recommenders are cached per name
 * and reopened when their saved state changes (its file's modification time).
 * Bodies are validated with zod before any work; errors leave through the
 * server's one error handler (unknown users/items are 400 naming the id).
 * `deps.pool` is the server's model pool (`ModelPool` fits the narrower type).
 */
import { stat } from "node:fs/promises";
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import {
  openRecommender,
  type Recommendation,
  type Recommender,
  readRecommenderState,
  recommenderStatePath,
} from "../apps/recommend/index.js";
import type { Embedder } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import { COLLECTION_NAME_PATTERN, STORE_LIMITS, type VectorStore } from "../store/vector-store.js";
import { parseBody as parseCollectionBody } from "./collection-routes.js";

/** What the recommend routes need from the server. */
export interface RecommendRoutesDeps {
  /** The served models (queries are embedded through it); the server's ModelPool fits. */
  readonly pool: {
    resolve(requested: string): string;
    acquire(id: string): Promise<{ readonly embedder: Embedder; release(): void }>;
  };
  /** The vector store (opened on first use). */
  readonly store: () => Promise<VectorStore>;
  /** embedkit home, where the state of non-folder stores lives. */
  readonly home?: string;
  /** Most users per `/users` request. @default 1000 */
  readonly maxUsers?: number;
  /**
   * Embed one query text with `model` for a request (the server routes it through the model's
   * batcher within the request's limits and signal). @default the pool's embedder, directly
   */
  readonly embedQuery?: (
    model: string,
    owner: string,
    text: string,
    reply: FastifyReply,
  ) => Promise<Float32Array>;
}

const LIST = {
  k: z.number().int().min(1).max(STORE_LIMITS.maxK).optional(),
  diversity: z.number().min(0).max(1).optional(),
  filter: z.string().optional(),
};
const USER_OPTIONS = {
  ...LIST,
  exclude_seen: z.boolean().optional(),
  fallback: z.enum(["none", "popular"]).optional(),
};
const USER = z.strictObject({ user: z.string().min(1), ...USER_OPTIONS });
const USERS = z.strictObject({ users: z.array(z.string().min(1)).min(1), ...USER_OPTIONS });
const ITEM = z.strictObject({ item: z.string().min(1), ...LIST });
const QUERY = z.strictObject({
  query: z.string().trim().min(1),
  user: z.string().min(1).optional(),
  query_weight: z.number().min(0).max(1).optional(),
  ...LIST,
});
const NEW_USER = z.strictObject({ liked: z.array(z.string().min(1)).min(1), ...LIST });

/** Validate a body; every field of these routes is input (400 INVALID_INPUT naming it). */
function parseBody<T>(schema: z.ZodType<T>, body: unknown, example: string): T {
  return parseCollectionBody(schema, body, example, () => true);
}

function listOptions(body: {
  k?: number | undefined;
  diversity?: number | undefined;
  filter?: string | undefined;
}) {
  return {
    ...(body.k === undefined ? {} : { k: body.k }),
    ...(body.diversity === undefined ? {} : { diversity: body.diversity }),
    ...(body.filter === undefined ? {} : { filter: body.filter }),
  };
}

function userOptions(body: z.infer<typeof USER> | z.infer<typeof USERS>) {
  return {
    ...listOptions(body),
    ...(body.exclude_seen === undefined ? {} : { excludeSeen: body.exclude_seen }),
    ...(body.fallback === undefined ? {} : { fallback: body.fallback }),
  };
}

function listObject(recommendation: Recommendation): Record<string, unknown> {
  return {
    object: "list",
    source: recommendation.source,
    data: recommendation.items.map((item) => ({
      object: "recommendation",
      id: item.id,
      score: item.score,
      metadata: item.metadata,
      ...(item.text === undefined ? {} : { text: item.text }),
    })),
  };
}

/**
 * Register the `/v1/recommend/...` routes on `app`.
 * @example
 * ```ts
 * registerRecommendRoutes(app, { pool, store: openStoreOnce });
 * ```
 */
export function registerRecommendRoutes(app: FastifyInstance, deps: RecommendRoutesDeps): void {
  const maxUsers = deps.maxUsers ?? 1000;
  const home = deps.home === undefined ? {} : { home: deps.home };
  const cache = new Map<string, { recommender: Recommender; modified: number }>();

  /** The opened recommender `name` (reopened when its state changed), and its model id. */
  async function recommenderNamed(name: string): Promise<Recommender> {
    if (!COLLECTION_NAME_PATTERN.test(name)) {
      throw new EmbedkitError("INVALID_INPUT", `"${name}" is not a valid recommender name.`, {
        details: { param: "name" },
      });
    }
    const store = await deps.store();
    const path = await recommenderStatePath(store, name, home);
    let modified: number;
    try {
      modified = (await stat(path)).mtimeMs;
    } catch {
      cache.delete(name);
      throw new EmbedkitError(
        "INVALID_INPUT",
        `No recommender "${name}" on this server. Build it with \`embedkit recommend index ${name} --items ...\`.`,
        { details: { param: "name", name } },
      );
    }
    const cached = cache.get(name);
    if (cached !== undefined && cached.modified === modified) return cached.recommender;
    const state = await readRecommenderState(path);
    if (state === undefined)
      throw new EmbedkitError("INVALID_INPUT", `No recommender "${name}" on this server.`);
    const recommender = await withModel(state.model, name, (embedder) =>
      openRecommender(store, name, embedder, home),
    );
    cache.set(name, { recommender, modified });
    return recommender;
  }

  async function withModel<T>(
    model: string,
    name: string,
    work: (embedder: Embedder) => Promise<T>,
  ): Promise<T> {
    let id: string;
    try {
      id = deps.pool.resolve(model);
    } catch (error) {
      throw new EmbedkitError(
        "UNKNOWN_MODEL",
        `Recommender "${name}" was built with ${model}, which this server does not serve. Start the server with --models ${model}.`,
        { cause: error, details: { param: "model", model } },
      );
    }
    const lease = await deps.pool.acquire(id);
    try {
      return await work(lease.embedder);
    } finally {
      lease.release();
    }
  }

  app.get<{ Params: { name: string } }>("/v1/recommend/:name", async (request) => {
    const { info } = await recommenderNamed(request.params.name);
    return {
      object: "recommender",
      name: info.name,
      model: info.model,
      items: info.items,
      users: info.users,
      interactions: info.interactions,
      blend_weight: info.settings.blendWeight,
      blend_source: info.settings.blendSource,
      updated_at: info.updatedAt,
    };
  });

  app.post<{ Params: { name: string } }>("/v1/recommend/:name/user", async (request) => {
    const body = parseBody(USER, request.body, '{"user": "42", "k": 10}');
    const recommender = await recommenderNamed(request.params.name);
    return { user: body.user, ...listObject(recommender.recommendForUser(body.user, userOptions(body))) };
  });

  app.post<{ Params: { name: string } }>("/v1/recommend/:name/users", async (request) => {
    const body = parseBody(USERS, request.body, '{"users": ["1", "2"], "k": 10}');
    if (body.users.length > maxUsers) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `At most ${maxUsers} users per request, received ${body.users.length}.`,
        {
          details: { param: "users" },
        },
      );
    }
    const recommender = await recommenderNamed(request.params.name);
    const options = userOptions(body);
    // All or nothing: the first unknown user fails the request (unless the popular fallback is on).
    const lists = body.users.map((user) => ({
      user,
      ...listObject(recommender.recommendForUser(user, options)),
    }));
    return { object: "list", data: lists };
  });

  app.post<{ Params: { name: string } }>("/v1/recommend/:name/item", async (request) => {
    const body = parseBody(ITEM, request.body, '{"item": "260", "k": 10}');
    const recommender = await recommenderNamed(request.params.name);
    return { item: body.item, ...listObject(recommender.similarItems(body.item, listOptions(body))) };
  });

  app.post<{ Params: { name: string } }>("/v1/recommend/:name/query", async (request, reply) => {
    const body = parseBody(QUERY, request.body, '{"query": "space opera", "k": 10}');
    const recommender = await recommenderNamed(request.params.name);
    if (body.user !== undefined && !recommender.hasUser(body.user)) {
      // Fail before embedding.
      recommender.recommendForUser(body.user);
    }
    const vector =
      deps.embedQuery !== undefined
        ? await deps.embedQuery(recommender.info.model, request.params.name, body.query, reply)
        : await withModel(recommender.info.model, request.params.name, async (embedder) => {
            const { vectors } = await embedder.embed([body.query], { inputType: "query" });
            return vectors[0] as Float32Array;
          });
    const result = recommender.recommendForQueryVector(vector, {
      ...listOptions(body),
      ...(body.user === undefined ? {} : { user: body.user }),
      ...(body.query_weight === undefined ? {} : { queryWeight: body.query_weight }),
    });
    return { query: body.query, ...listObject(result) };
  });

  app.post<{ Params: { name: string } }>("/v1/recommend/:name/new-user", async (request) => {
    const body = parseBody(NEW_USER, request.body, '{"liked": ["1", "260"], "k": 10}');
    const recommender = await recommenderNamed(request.params.name);
    return {
      liked: body.liked,
      ...listObject(recommender.recommendForNewUser(body.liked, listOptions(body))),
    };
  });
}
