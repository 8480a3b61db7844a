/**
 * @module server/model-pool
 * The models one server process serves: which names resolve to which model
 * (catalog ids and aliases, plus configured aliases such as
 * `text-embedding-3-small`), lazy loading on first use (concurrent first
 * requests share one load; a failed load is forgotten so the next request
 * retries), one {@link Batcher} per loaded model, and unloading of models idle
 * longer than `idleUnloadMs` (never the default model, whose presence is what
 * `/health` reports).
 */

import type { Embedder } from "../embed/embedder.js";
import { CLAP_PREFIX } from "../embed/media/audio/clap-features.js";
import { EmbedkitError } from "../errors.js";
import { findModel, getModel } from "../models/catalog.js";
import { type Batcher, type BatcherOptions, createBatcher } from "./batcher.js";
import type { ServerMetrics } from "./metrics.js";
import { runsOffEventLoop } from "./worker-embedder.js";

/** An embedder that can turn its tokenizer's ids back into text (the ONNX embedder can). */
export interface TokenIdDecoder {
  decodeTokenIds(ids: readonly number[]): string;
}

/** Whether an embedder accepts token-id input. */
export function canDecodeTokenIds(embedder: Embedder): embedder is Embedder & TokenIdDecoder {
  return typeof (embedder as Partial<TokenIdDecoder>).decodeTokenIds === "function";
}

/** A loaded model with its batcher. */
export interface LoadedModel {
  readonly id: string;
  readonly embedder: Embedder;
  readonly batcher: Batcher;
}

/** A loaded model held by one request; `release` when done so idle unloading can see it. */
export interface ModelLease extends LoadedModel {
  release(): void;
}

/** Options of {@link createModelPool}. */
export interface ModelPoolOptions {
  /** Served model names (catalog ids/aliases, `dir:`/`hf:` names). */
  readonly models: readonly string[];
  /** The model `/health` waits for; must be one of `models`. */
  readonly defaultModel: string;
  /** Extra request names → served model names. */
  readonly aliases: Readonly<Record<string, string>>;
  /** Creates an embedder for a served id. */
  readonly create: (model: string) => Promise<Embedder>;
  /** Batching settings shared by every model. */
  readonly batching: Omit<BatcherOptions, "run" | "onBatch" | "onQueueDepth">;
  readonly metrics: ServerMetrics;
  /** Unload models idle this long (ms); 0 or undefined keeps them loaded. */
  readonly idleUnloadMs?: number;
}

/** One entry of `GET /v1/models`. */
export interface ServedModelEntry {
  readonly id: string;
  /** The served model an alias points to (equal to `id` for models). */
  readonly root: string;
  readonly loaded: boolean;
}

/** The served models of one server. */
export interface ModelPool {
  /** Canonical id of the default model. */
  readonly defaultModel: string;
  /**
   * Resolve a requested name to a served id.
   * @throws EmbedkitError UNKNOWN_MODEL (param "model") when not served
   */
  resolve(requested: string): string;
  /** Load (once) and hold a model for one request. */
  acquire(id: string): Promise<ModelLease>;
  /** Load a model without holding it (startup preloading). */
  preload(id: string): Promise<void>;
  isLoaded(id: string): boolean;
  /** Served models first, then aliases. */
  list(): ServedModelEntry[];
  /** Unload models idle longer than `idleUnloadMs` now; returns the ids unloaded. */
  unloadIdle(now?: number): Promise<string[]>;
  /** Stop batching, reject queued work with 503, close every embedder. */
  close(): Promise<void>;
}

interface Slot {
  readonly loading: Promise<LoadedModel>;
  loaded: LoadedModel | undefined;
  active: number;
  lastUsed: number;
}

/** Map a configured model name to the id it is served under. */
function servedName(name: string): string {
  const trimmed = name.trim();
  // Ad-hoc folders / Hub repos, and the text side of a CLAP pair (`clap:dir:…`), are served by name.
  if (trimmed.startsWith("dir:") || trimmed.startsWith("hf:") || CLAP_PREFIX.test(trimmed)) return trimmed;
  return getModel(trimmed).id;
}

/**
 * Create the model pool of a server. Validates configuration eagerly: an
 * unknown model or an alias to a model that is not served throws at startup.
 *
 * @throws EmbedkitError UNKNOWN_MODEL, INVALID_OPTION
 */
export function createModelPool(options: ModelPoolOptions): ModelPool {
  const served = new Set(options.models.map(servedName));
  if (served.size === 0) {
    throw new EmbedkitError("INVALID_OPTION", "models is empty: name at least one model to serve.");
  }
  const defaultModel = servedName(options.defaultModel);
  if (!served.has(defaultModel)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `The default model ${defaultModel} is not among the served models (${[...served].join(", ")}). ` +
        "Add it to --models or choose a served one with --model.",
    );
  }
  const aliases = new Map<string, { name: string; target: string }>();
  for (const [name, target] of Object.entries(options.aliases)) {
    const id = servedName(target);
    if (!served.has(id)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `Alias ${name} points to ${target} (${id}), which is not served (${[...served].join(", ")}). ` +
          "Add the model to --models or point the alias at a served model.",
      );
    }
    aliases.set(name.trim().toLowerCase(), { name: name.trim(), target: id });
  }
  const slots = new Map<string, Slot>();
  const { metrics } = options;

  function load(id: string): Slot {
    const existing = slots.get(id);
    if (existing !== undefined) return existing;
    const slot: Slot = {
      loaded: undefined,
      active: 0,
      lastUsed: Date.now(),
      loading: options.create(id).then((embedder) => {
        const batcher = createBatcher({
          ...options.batching,
          // An inference worker queues calls: hand it the next batch before the running one ends.
          prefetch: runsOffEventLoop(embedder) && (options.batching.prefetch ?? true),
          run: async (texts, signal, inputType) =>
            (
              await embedder.embed(texts, {
                truncate: true,
                signal,
                ...(inputType === undefined ? {} : { inputType }),
              })
            ).vectors,
          onBatch: (report) => {
            metrics.batchInputs.observe({ model: id }, report.inputs);
            metrics.batchRequests.observe({ model: id }, report.requests);
            metrics.batchDuration.observe({ model: id }, report.milliseconds / 1000);
            metrics.embedCalls.inc({ model: id, outcome: report.failed ? "error" : "ok" });
          },
          onQueueDepth: (depth) => metrics.queueDepth.set({ model: id }, depth),
        });
        const loaded: LoadedModel = { id, embedder, batcher };
        slot.loaded = loaded;
        metrics.modelsLoaded.set([...slots.values()].filter((s) => s.loaded !== undefined).length);
        return loaded;
      }),
    };
    slots.set(id, slot);
    // A failed load is forgotten, so the next request tries again.
    slot.loading.catch(() => {
      if (slots.get(id) === slot) slots.delete(id);
    });
    return slot;
  }

  const idleUnloadMs = options.idleUnloadMs ?? 0;
  let sweeper: NodeJS.Timeout | undefined;
  if (idleUnloadMs > 0) {
    sweeper = setInterval(
      () => {
        void pool.unloadIdle();
      },
      Math.max(50, Math.min(idleUnloadMs / 2, 30_000)),
    );
    sweeper.unref();
  }

  const pool: ModelPool = {
    defaultModel,
    resolve(requested) {
      const key = requested.trim().toLowerCase();
      const alias = aliases.get(key);
      if (alias !== undefined) return alias.target;
      const spec = findModel(requested);
      if (spec !== undefined && served.has(spec.id)) return spec.id;
      if (served.has(requested.trim())) return requested.trim();
      const aliasList = [...aliases.values()].map((entry) => `${entry.name} → ${entry.target}`);
      throw new EmbedkitError(
        "UNKNOWN_MODEL",
        `The model "${requested}" does not exist or is not served here. Served models: ${[...served].join(", ")}` +
          `${aliasList.length > 0 ? `; aliases: ${aliasList.join(", ")}` : ""}. GET /v1/models lists them.`,
        { details: { param: "model", model: requested } },
      );
    },
    async acquire(id) {
      const slot = load(id);
      slot.active++;
      slot.lastUsed = Date.now();
      let loaded: LoadedModel;
      try {
        loaded = await slot.loading;
      } catch (error) {
        slot.active--;
        throw error;
      }
      let released = false;
      return {
        ...loaded,
        release() {
          if (released) return;
          released = true;
          slot.active--;
          slot.lastUsed = Date.now();
        },
      };
    },
    async preload(id) {
      await load(id).loading;
    },
    isLoaded(id) {
      return slots.get(id)?.loaded !== undefined;
    },
    list() {
      const models = [...served].map((id) => ({ id, root: id, loaded: pool.isLoaded(id) }));
      const aliasEntries = [...aliases.values()].map((entry) => ({
        id: entry.name,
        root: entry.target,
        loaded: pool.isLoaded(entry.target),
      }));
      return [...models, ...aliasEntries];
    },
    async unloadIdle(now = Date.now()) {
      if (idleUnloadMs <= 0) return [];
      const unloaded: string[] = [];
      for (const [id, slot] of slots) {
        const loaded = slot.loaded;
        if (id === defaultModel || loaded === undefined) continue;
        if (slot.active > 0 || loaded.batcher.busy || now - slot.lastUsed < idleUnloadMs) continue;
        slots.delete(id);
        loaded.batcher.close();
        unloaded.push(id);
        await loaded.embedder.close();
      }
      metrics.modelsLoaded.set([...slots.values()].filter((s) => s.loaded !== undefined).length);
      return unloaded;
    },
    async close() {
      if (sweeper !== undefined) clearInterval(sweeper);
      const all = [...slots.values()];
      slots.clear();
      for (const slot of all) {
        const loaded = await slot.loading.catch(() => undefined);
        if (loaded === undefined) continue;
        loaded.batcher.close();
        await loaded.embedder.close();
      }
      metrics.modelsLoaded.set(0);
    },
  };
  return pool;
}
