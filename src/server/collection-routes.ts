/**
 * @module server/collection-routes
 * Vector collections and FAQ answering over HTTP, on the same server, auth,
 * error shape and model pool as `/v1/embeddings`:
 *
 * - `GET /v1/collections`, `POST /v1/collections`, `GET|DELETE /v1/collections/{name}`
 * - `POST /v1/collections/{name}/documents` — upsert; texts are embedded
 *   server-side with the collection's model (through the model pool), vectors
 *   are stored as given
 * - `POST /v1/collections/{name}/query` — by `query` text or `vector`, with `k` and `filter`
 * - `POST /v1/faq/{collection}/ask` — best answer, confidence, alternatives, fallback
 *
 * Bodies are validated with zod before any work; the store validates vectors
 * (dims, finite numbers), ids, metadata and filters, so every backend refuses
 * the same things. Errors leave through the server's one error handler.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { createFaq, type FaqCandidate } from "../apps/faq/faq.js";
import type { Embedder, InputType } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import { withArticle } from "../internal/english.js";
import { findModel } from "../models/catalog.js";
import { collectionSpecFor } from "../store/documents.js";
import { type CollectionStats, type Filter, STORE_LIMITS, type VectorStore } from "../store/vector-store.js";
import type { ModelPool } from "./model-pool.js";
import { pooledEmbedder } from "./pooled-embedder.js";
import { untilAborted, watchRequest } from "./request-signal.js";

/** What the routes need from the server. */
export interface CollectionRoutesContext {
  readonly pool: ModelPool;
  /** The vector store (opened on first use). */
  readonly store: () => Promise<VectorStore>;
  /** Most documents per upsert request (the server's `maxInputs`). */
  readonly maxDocuments: number;
  /** Truncate over-long texts instead of answering 400. */
  readonly autoTruncate: boolean;
  /** Deadline of one request (ms, 0 = none); embedding stops when it passes or the client leaves. */
  readonly requestTimeoutMs: number;
  /** Most content tokens in one upsert request. */
  readonly maxRequestTokens: number;
}

/** Documents are embedded as passages and text queries as queries, as `indexDocuments` and `searchText` (store/documents.ts) do. */
const DOCUMENT_INPUT: InputType = "passage";
const QUERY_INPUT: InputType = "query";

const FILTER_CONDITION = z.looseObject({ field: z.string(), op: z.string() });
const FILTER = z.union([z.string(), z.array(FILTER_CONDITION)]);
const METADATA = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
const VECTOR = z.array(z.number()).min(1).max(STORE_LIMITS.maxDims);

const CREATE_COLLECTION = z.strictObject({
  name: z.string(),
  model: z.string().trim().min(1),
  metric: z.enum(["cosine", "dot", "euclidean"]).optional(),
});

const UPSERT = z.strictObject({
  documents: z
    .array(
      z.strictObject({
        id: z.string(),
        text: z.string().min(1).optional(),
        vector: VECTOR.optional(),
        metadata: METADATA.optional(),
      }),
    )
    .min(1),
});

const QUERY = z.strictObject({
  query: z.string().min(1).optional(),
  vector: VECTOR.optional(),
  k: z.number().int().min(1).max(STORE_LIMITS.maxK).optional(),
  filter: FILTER.optional(),
  include_vectors: z.boolean().optional(),
});

/** Longest FAQ question accepted (it is echoed back in the answer). */
const MAX_QUESTION_CHARS = 4096;

const ASK = z.strictObject({
  question: z.string().min(1).max(MAX_QUESTION_CHARS),
  k: z.number().int().min(1).max(100).optional(),
  threshold: z.number().min(-1).max(1).nullable().optional(),
  fallback: z.string().min(1).optional(),
  filter: z.string().optional(),
});

/**
 * Validate a body with a zod schema; the first problem becomes a 400 naming the field
 * (INVALID_INPUT for the fields in `inputFields`, INVALID_OPTION for the rest).
 */
export function parseBody<T>(
  schema: z.ZodType<T>,
  body: unknown,
  example: string,
  isInputField: (param: string | null) => boolean = (param) =>
    param === "name" || param === "question" || param?.startsWith("documents") === true,
): T {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new EmbedkitError("INVALID_INPUT", `The request body must be a JSON object like ${example}.`);
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = (issue?.path ?? []).map(String);
  const param = path.length === 0 ? null : path.join(".");
  const what =
    issue?.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.join(", ")}` : issue?.message;
  throw new EmbedkitError(
    isInputField(param) ? "INVALID_INPUT" : "INVALID_OPTION",
    `Invalid ${param === null ? "request body" : `'${param}'`}: ${what ?? "invalid value"}. Example body: ${example}.`,
    { details: param === null ? {} : { param } },
  );
}

function collectionObject(stats: CollectionStats): Record<string, unknown> {
  return {
    object: "collection",
    name: stats.name,
    model: stats.model,
    dims: stats.dims,
    metric: stats.metric,
    pooling: stats.pooling,
    normalized: stats.normalized,
    count: stats.count,
    created_at: stats.createdAt,
  };
}

/** What a route needs to embed for one request. */
export interface EmbedRequestContext {
  readonly reply: FastifyReply;
}

/**
 * Run `work` with the embedder of a collection's model, held from the pool for one request: every
 * text it embeds goes through the model's batcher within the request's limits and signal
 * (src/server/pooled-embedder.ts).
 */
export async function withModel<T>(
  context: CollectionRoutesContext,
  request: EmbedRequestContext,
  model: string,
  collection: string,
  work: (embedder: Embedder) => Promise<T>,
): Promise<T> {
  const { pool } = context;
  let id: string;
  try {
    id = pool.resolve(model);
  } catch (error) {
    const spec = findModel(model);
    if (spec !== undefined && spec.modality !== "text") {
      // An image/audio collection: no server can embed a text query with its model.
      throw new EmbedkitError(
        "INVALID_OPTION",
        `Collection "${collection}" was built with ${model}, ${withArticle(`${spec.modality} model`)} with no text encoder, ` +
          "so a text query cannot be embedded for it. Send the vector of an example (embedded with the same model) " +
          "instead, or index the files with a model that embeds text too (clip:… for images, clap:… for audio).",
        { cause: error, details: { param: "query", model, modality: spec.modality } },
      );
    }
    throw new EmbedkitError(
      "UNKNOWN_MODEL",
      `Collection "${collection}" was built with ${model}, which this server does not serve. ` +
        `Start the server with that model (--models ${model}) or send vectors instead of text.`,
      { cause: error, details: { param: "model", model } },
    );
  }
  const watch = watchRequest(request.reply, context.requestTimeoutMs);
  try {
    const lease = await untilAborted(pool.acquire(id), watch.signal);
    try {
      return await untilAborted(
        work(
          pooledEmbedder(lease, {
            autoTruncate: context.autoTruncate,
            maxRequestTokens: context.maxRequestTokens,
            signal: watch.signal,
          }),
        ),
        watch.signal,
      );
    } finally {
      lease.release();
    }
  } finally {
    watch.release();
  }
}

/** The store's messages name its folder or database; clients get them without that location. */
function withoutLocation(error: unknown, location: string): unknown {
  if (!EmbedkitError.isInstance(error) || !error.isUserError || location === "") return error;
  if (!error.message.includes(location)) return error;
  return new EmbedkitError(error.code, error.message.split(location).join("the server's store"), {
    cause: error,
    details: error.details,
  });
}

/** Open a collection; a missing one is a 404 whose message does not reveal where the store lives. */
async function openCollection(store: VectorStore, name: string) {
  try {
    return await store.getCollection(name);
  } catch (error) {
    throw withoutLocation(error, store.location);
  }
}

function candidateObject(candidate: FaqCandidate): Record<string, unknown> {
  return {
    answer_id: candidate.answerId,
    answer: candidate.answer,
    score: candidate.score,
    matched_question: candidate.matchedQuestion,
    ...(candidate.category === undefined ? {} : { category: candidate.category }),
  };
}

/**
 * Register the collection and FAQ routes on a server (called by `createServer`).
 */
export function registerCollectionRoutes(app: FastifyInstance, context: CollectionRoutesContext): void {
  app.get("/v1/collections", async () => {
    const store = await context.store();
    return { object: "list", data: (await store.listCollections()).map(collectionObject) };
  });

  app.post("/v1/collections", async (request, reply) => {
    const body = parseBody(CREATE_COLLECTION, request.body, '{"name": "docs", "model": "all-minilm-l6-v2"}');
    const store = await context.store();
    const spec = await withModel(context, { reply }, body.model, body.name, async (embedder) =>
      collectionSpecFor(embedder.model, body.metric),
    );
    const collection = await store.createCollection(body.name, spec).catch((error: unknown) => {
      throw withoutLocation(error, store.location);
    });
    return reply.code(201).send(collectionObject(await collection.stats()));
  });

  app.get<{ Params: { name: string } }>("/v1/collections/:name", async (request) => {
    const store = await context.store();
    return collectionObject(await (await openCollection(store, request.params.name)).stats());
  });

  app.delete<{ Params: { name: string } }>("/v1/collections/:name", async (request) => {
    const store = await context.store();
    await store.dropCollection(request.params.name).catch((error: unknown) => {
      throw withoutLocation(error, store.location);
    });
    return { object: "collection.deleted", name: request.params.name, deleted: true };
  });

  app.post<{ Params: { name: string } }>("/v1/collections/:name/documents", async (request, reply) => {
    const body = parseBody(
      UPSERT,
      request.body,
      '{"documents": [{"id": "1", "text": "hello", "metadata": {"lang": "en"}}]}',
    );
    if (body.documents.length > context.maxDocuments) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Invalid 'documents': ${body.documents.length} documents, but at most ${context.maxDocuments} are accepted per ` +
          "request. Split them over several requests.",
        { details: { param: "documents" } },
      );
    }
    const missing = body.documents.findIndex(
      (document) => document.text === undefined && document.vector === undefined,
    );
    if (missing !== -1) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Invalid 'documents.${missing}': give a "text" to embed or a "vector" to store.`,
        { details: { param: `documents.${missing}` } },
      );
    }
    const store = await context.store();
    const collection = await openCollection(store, request.params.name);
    const toEmbed = body.documents.flatMap((document, index) =>
      document.vector === undefined && document.text !== undefined ? [{ index, text: document.text }] : [],
    );
    let tokens = 0;
    const embedded = new Map<number, Float32Array>();
    if (toEmbed.length > 0) {
      await withModel(context, { reply }, collection.info.model, collection.name, async (embedder) => {
        const result = await embedder.embed(
          toEmbed.map((entry) => entry.text),
          { inputType: DOCUMENT_INPUT },
        );
        tokens = result.usage.tokens;
        toEmbed.forEach((entry, position) => {
          embedded.set(entry.index, result.vectors[position] as Float32Array);
        });
      });
    }
    await collection.upsert(
      body.documents.map((document, index) => ({
        id: document.id,
        vector: embedded.get(index) ?? (document.vector as number[]),
        ...(document.metadata === undefined ? {} : { metadata: document.metadata }),
        ...(document.text === undefined ? {} : { text: document.text }),
      })),
      // Only embedded vectors are known to come from the collection's model.
      toEmbed.length === body.documents.length ? { model: collection.info.model } : {},
    );
    return {
      object: "collection.upsert",
      collection: collection.name,
      upserted: body.documents.length,
      embedded: toEmbed.length,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  app.post<{ Params: { name: string } }>("/v1/collections/:name/query", async (request, reply) => {
    const body = parseBody(
      QUERY,
      request.body,
      '{"query": "how do I reset my password?", "k": 5, "filter": "lang=en"}',
    );
    if ((body.query === undefined) === (body.vector === undefined)) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        "Send exactly one of 'query' (a text, embedded with the collection's model) or 'vector' (numbers).",
        { details: { param: body.query === undefined ? "query" : "vector" } },
      );
    }
    const store = await context.store();
    const collection = await openCollection(store, request.params.name);
    let tokens = 0;
    let vector: Float32Array | readonly number[];
    if (body.query !== undefined) {
      const text = body.query;
      // Embedded like `searchText` (store/documents.ts) does: as a query, with the model's query prefix.
      vector = await withModel(
        context,
        { reply },
        collection.info.model,
        collection.name,
        async (embedder) => {
          const result = await embedder.embed([text], { inputType: QUERY_INPUT });
          tokens = result.usage.tokens;
          return result.vectors[0] as Float32Array;
        },
      );
    } else {
      vector = body.vector as number[];
    }
    const hits = await collection.query({
      vector,
      k: body.k ?? 10,
      ...(body.filter === undefined ? {} : { filter: body.filter as Filter | string }),
      ...(body.include_vectors === true ? { includeVectors: true } : {}),
      ...(body.query !== undefined ? { model: collection.info.model } : {}),
    });
    return {
      object: "list",
      data: hits.map((hit) => ({
        object: "search_result",
        id: hit.id,
        score: hit.score,
        ...(hit.text === undefined ? {} : { text: hit.text }),
        metadata: hit.metadata,
        ...(hit.vector === undefined ? {} : { vector: Array.from(hit.vector) }),
      })),
      collection: collection.name,
      model: collection.info.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  app.post<{ Params: { collection: string } }>("/v1/faq/:collection/ask", async (request, reply) => {
    const body = parseBody(ASK, request.body, '{"question": "How do I reset my PIN?", "k": 3}');
    const store = await context.store();
    const collection = await openCollection(store, request.params.collection);
    return withModel(context, { reply }, collection.info.model, collection.name, async (embedder) => {
      const faq = await createFaq({ store, collection: collection.name, embedder });
      const reply = await faq.ask(body.question, {
        ...(body.k === undefined ? {} : { k: body.k }),
        ...(body.threshold === undefined ? {} : { threshold: body.threshold }),
        ...(body.fallback === undefined ? {} : { fallback: body.fallback }),
        ...(body.filter === undefined ? {} : { filter: body.filter }),
      });
      return {
        object: "faq.answer",
        collection: collection.name,
        model: faq.model,
        question: reply.question,
        answered: reply.answered,
        reply: reply.reply,
        confidence: reply.confidence,
        threshold: reply.threshold,
        answer: reply.best === null ? null : candidateObject(reply.best),
        alternatives: reply.alternatives.map(candidateObject),
      };
    });
  });
}
