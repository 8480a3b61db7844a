/**
 * The `/v1/recommend/...` routes on their own fastify instance (the server's
 * error mapping `toErrorResponse`, a real embedded store and the real default
 * model behind a one-model pool), before the lead wires them into
 * `create-server.ts`: every route's answer, the body validation and the
 * unknown-id errors.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { indexRecommender } from "../../../src/apps/recommend/index.js";
import { createEmbedder } from "../../../src/embed/create-embedder.js";
import type { Embedder } from "../../../src/embed/embedder.js";
import { EmbedkitError } from "../../../src/errors.js";
import { toErrorResponse } from "../../../src/server/http-error.js";
import { registerRecommendRoutes } from "../../../src/server/recommend-routes.js";
import { openEmbeddedStore } from "../../../src/store/embedded-store.js";
import type { VectorStore } from "../../../src/store/vector-store.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/recommend");

let dir: string;
let store: VectorStore;
let embedder: Embedder;
let app: FastifyInstance;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-recommend-http-"));
  store = await openEmbeddedStore({ path: join(dir, "store") });
  embedder = await createEmbedder({ model: "all-minilm-l6-v2" });
  await indexRecommender(store, "books", embedder, {
    itemsFile: {
      path: join(FIXTURES, "books.csv"),
      columns: { idField: "id", textFields: ["title", "description"], metadataFields: ["year", "genre"] },
    },
    interactionsFile: {
      path: join(FIXTURES, "ratings.csv"),
      columns: { userField: "user", itemField: "book", ratingField: "stars", timeField: "ts" },
    },
  });
  app = Fastify();
  app.setErrorHandler((error, _request, reply) => {
    const response = toErrorResponse(error);
    void reply.code(response.statusCode).headers(response.headers).send(response.body);
  });
  registerRecommendRoutes(app, {
    store: () => Promise.resolve(store),
    pool: {
      resolve(requested) {
        if (requested !== embedder.model.id)
          throw new EmbedkitError("UNKNOWN_MODEL", `not served: ${requested}`);
        return requested;
      },
      acquire: () => Promise.resolve({ embedder, release() {} }),
    },
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  await embedder?.close();
  await rm(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown) {
  const response = await app.inject({ method: "POST", url: path, payload: body as Record<string, unknown> });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

const ids = (body: Record<string, unknown>): string[] =>
  (body.data as { id: string }[]).map((item) => item.id);

describe("/v1/recommend", () => {
  it("describes a recommender", async () => {
    const response = await app.inject({ method: "GET", url: "/v1/recommend/books" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      object: "recommender",
      name: "books",
      items: 12,
      users: 6,
      interactions: 20,
    });
  });

  it("recommends for a user, excluding what they rated", async () => {
    const { status, body } = await post("/v1/recommend/books/user", { user: "alice", k: 3 });
    expect(status).toBe(200);
    expect(body).toMatchObject({ user: "alice", source: "hybrid" });
    expect(ids(body)[0]).toBe("b4");
    expect(ids(body)).not.toContain("b1");
  });

  it("recommends for several users, and falls back to popular items when asked", async () => {
    const { status, body } = await post("/v1/recommend/books/users", {
      users: ["alice", "frank", "stranger"],
      k: 2,
      fallback: "popular",
    });
    expect(status).toBe(200);
    const data = body.data as { user: string; source: string; data: { id: string }[] }[];
    expect(data.map((list) => list.user)).toEqual(["alice", "frank", "stranger"]);
    expect(data[2]?.source).toBe("popular");
  });

  it("answers more-like-this, queries and new users", async () => {
    const item = await post("/v1/recommend/books/item", { item: "b4", k: 3 });
    expect(new Set(ids(item.body))).toEqual(new Set(["b1", "b2", "b3"]));
    const query = await post("/v1/recommend/books/query", { query: "a cookbook of recipes", k: 3 });
    expect(new Set(ids(query.body))).toEqual(new Set(["c1", "c2", "c3"]));
    const fresh = await post("/v1/recommend/books/new-user", { liked: ["m1", "m2"], k: 1 });
    expect(ids(fresh.body)).toEqual(["m3"]);
  });

  it("names unknown users, items and recommenders, and validates bodies", async () => {
    const user = await post("/v1/recommend/books/user", { user: "nobody" });
    expect(user.status).toBe(400);
    expect(JSON.stringify(user.body)).toContain('Unknown user \\"nobody\\"');
    const item = await post("/v1/recommend/books/item", { item: "zz" });
    expect(item.status).toBe(400);
    expect(JSON.stringify(item.body)).toContain('Unknown item \\"zz\\"');
    const missing = await post("/v1/recommend/nothing/user", { user: "alice" });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('No recommender \\"nothing\\"');
    const bad = await post("/v1/recommend/books/user", { user: "alice", k: 0 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("'k'");
    const extra = await post("/v1/recommend/books/item", { item: "b1", colour: "red" });
    expect(JSON.stringify(extra.body)).toContain("colour");
  });
});
