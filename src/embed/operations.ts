/**
 * @module embed/operations
 * One-line operations on top of an {@link Embedder}, named as the ecosystem
 * names them (Vercel AI SDK's `embed` / `embedMany`, sentence-transformers'
 * `semantic_search` / `paraphrase_mining`). A model can be given by name: the
 * embedder is then created once and cached per process (see {@link closeEmbedders}).
 */
import { EmbedkitError } from "../errors.js";
import { normalize, topK, type VectorLike } from "../vectors/math.js";
import { createEmbedder } from "./create-embedder.js";
import type { Embedder, EmbedOptions, InputType } from "./embedder.js";

/** An embedder, or a model name whose embedder is created once and cached. */
export type EmbedderLike = Embedder | string;

const cache = new Map<string, Promise<Embedder>>();

/** Resolve an {@link EmbedderLike}: names share one cached embedder per process. */
export async function resolveEmbedder(embedder: EmbedderLike | undefined): Promise<Embedder> {
  if (embedder !== undefined && typeof embedder !== "string") return embedder;
  const name = embedder ?? "default";
  let pending = cache.get(name);
  if (pending === undefined) {
    pending = createEmbedder(name === "default" ? {} : { model: name });
    cache.set(name, pending);
    pending.catch(() => cache.delete(name));
  }
  return pending;
}

/** Close every embedder created from a model name by these operations. */
export async function closeEmbedders(): Promise<void> {
  const pending = [...cache.values()];
  cache.clear();
  await Promise.all(pending.map(async (p) => (await p.catch(() => undefined))?.close()));
}

/** Options of {@link embed}. */
export interface EmbedOneOptions extends Omit<EmbedOptions<"float32">, "precision" | "onProgress"> {
  /** Embedder or model name. @default the default English model */
  readonly embedder?: EmbedderLike;
  readonly value: string;
}

/**
 * Embed one text.
 * @example
 * ```ts
 * const { embedding } = await embed({ value: "sunny day at the beach" });
 * ```
 */
export async function embed(options: EmbedOneOptions): Promise<{
  readonly embedding: Float32Array;
  readonly usage: { readonly tokens: number };
}> {
  const { embedder, value, ...rest } = options;
  const result = await (await resolveEmbedder(embedder)).embed([value], rest);
  return { embedding: result.vectors[0] as Float32Array, usage: result.usage };
}

/** Options of {@link embedMany}. */
export interface EmbedManyOptions extends Omit<EmbedOptions<"float32">, "precision"> {
  readonly embedder?: EmbedderLike;
  readonly values: readonly string[];
}

/**
 * Embed many texts (split into sub-batches by the pipeline core under the
 * provider's declared limits; order preserved; `signal` cancels between sub-batches).
 * @example
 * ```ts
 * const { embeddings } = await embedMany({ values: ["a", "b"], embedder: "bge-small-en-v1.5" });
 * ```
 */
export async function embedMany(options: EmbedManyOptions): Promise<{
  readonly embeddings: Float32Array[];
  readonly usage: { readonly tokens: number };
}> {
  const { embedder, values, ...rest } = options;
  const result = await (await resolveEmbedder(embedder)).embed(values, rest);
  return { embeddings: result.vectors, usage: result.usage };
}

/** One hit of {@link semanticSearch}. */
export interface SearchHit {
  /** Index into the corpus. */
  readonly corpusIndex: number;
  /** Cosine similarity. */
  readonly score: number;
}

/** Options of {@link semanticSearch}. */
export interface SemanticSearchOptions {
  /** Hits per query. @default 10 */
  readonly k?: number;
  /** Needed when queries or corpus are texts. @default the default model */
  readonly embedder?: EmbedderLike;
}

async function toUnitVectors(
  items: readonly string[] | readonly VectorLike[],
  inputType: InputType,
  embedder: EmbedderLike | undefined,
): Promise<Float32Array[]> {
  if (items.length === 0) return [];
  if (typeof items[0] === "string") {
    const resolved = await resolveEmbedder(embedder);
    return (await resolved.embed(items as readonly string[], { inputType })).vectors;
  }
  return (items as readonly VectorLike[]).map((v) => normalize(v));
}

/**
 * For each query, the `k` most similar corpus entries by cosine similarity.
 * Texts are embedded as queries / passages (so e5 and bge prefixes apply);
 * vectors are used as given.
 * @example
 * ```ts
 * const [hits] = await semanticSearch(["how do I reset my password?"], faqQuestions, { k: 3 });
 * ```
 */
export async function semanticSearch(
  queries: readonly string[] | readonly VectorLike[],
  corpus: readonly string[] | readonly VectorLike[],
  options: SemanticSearchOptions = {},
): Promise<SearchHit[][]> {
  const k = options.k ?? 10;
  if (!Number.isInteger(k) || k < 1) {
    throw new EmbedkitError("INVALID_OPTION", `k must be a positive integer, received ${String(k)}.`);
  }
  const corpusVectors = await toUnitVectors(corpus, "passage", options.embedder);
  const queryVectors = await toUnitVectors(queries, "query", options.embedder);
  if (corpusVectors.length === 0) return queryVectors.map(() => []);
  const dims = (corpusVectors[0] as Float32Array).length;
  const scores = new Float32Array(corpusVectors.length);
  return queryVectors.map((query) => {
    if (query.length !== dims) {
      throw new EmbedkitError(
        "DIMENSION_MISMATCH",
        `Query has ${query.length} dimensions but the corpus has ${dims}. Embed both with the same model.`,
      );
    }
    corpusVectors.forEach((doc, i) => {
      let sum = 0;
      for (let j = 0; j < dims; j++) sum += (doc[j] as number) * (query[j] as number);
      scores[i] = sum;
    });
    return topK(scores, Math.min(k, corpusVectors.length)).map((hit) => ({
      corpusIndex: hit.index,
      score: hit.score,
    }));
  });
}

/** A pair found by {@link paraphraseMining}. */
export interface ParaphrasePair {
  readonly score: number;
  /** Lower index of the pair. */
  readonly i: number;
  readonly j: number;
}

/** Options of {@link paraphraseMining}. */
export interface ParaphraseMiningOptions {
  /** Neighbours considered per item. @default 10 */
  readonly k?: number;
  /** Most pairs returned. @default 1000 */
  readonly maxPairs?: number;
  /** Drop pairs below this cosine. @default -1 */
  readonly threshold?: number;
  readonly embedder?: EmbedderLike;
}

/**
 * Find the most similar pairs within one collection (near-duplicates,
 * paraphrases), best first. Each item considers its `k` nearest neighbours.
 */
export async function paraphraseMining(
  items: readonly string[] | readonly VectorLike[],
  options: ParaphraseMiningOptions = {},
): Promise<ParaphrasePair[]> {
  const k = options.k ?? 10;
  const maxPairs = options.maxPairs ?? 1000;
  const threshold = options.threshold ?? -1;
  const vectors = await toUnitVectors(items, "none", options.embedder);
  const hits = await semanticSearch(vectors, vectors, { k: Math.min(k + 1, Math.max(1, vectors.length)) });
  const seen = new Map<string, ParaphrasePair>();
  hits.forEach((row, i) => {
    for (const hit of row) {
      const j = hit.corpusIndex;
      if (j === i || hit.score < threshold) continue;
      const [a, b] = i < j ? [i, j] : [j, i];
      seen.set(`${a},${b}`, { score: hit.score, i: a, j: b });
    }
  });
  return [...seen.values()].sort((x, y) => y.score - x.score || x.i - y.i || x.j - y.j).slice(0, maxPairs);
}
