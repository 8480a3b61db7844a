/**
 * @module server/metrics
 * Prometheus metrics of one server instance, on its own prom-client
 * `Registry` (never the global one, so several servers in one process — tests,
 * embedding applications — do not collide): requests by route and status,
 * request latency, batch sizes, queue depth, embed calls and tokens embedded,
 * plus the process defaults (RSS, CPU, event-loop lag) under `embedkit_`.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The metric names this server exports (for docs and tests). */
export const METRIC_NAMES = Object.freeze({
  requests: "embedkit_http_requests_total",
  latency: "embedkit_http_request_duration_seconds",
  batchInputs: "embedkit_batch_size",
  batchRequests: "embedkit_batch_requests",
  batchDuration: "embedkit_batch_duration_seconds",
  queueDepth: "embedkit_queue_depth",
  embedCalls: "embedkit_embed_calls_total",
  tokens: "embedkit_tokens_embedded_total",
  modelsLoaded: "embedkit_models_loaded",
} as const);

/** The instruments the server updates. */
export interface ServerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"route" | "method" | "status">;
  readonly latency: Histogram<"route" | "method">;
  readonly batchInputs: Histogram<"model">;
  readonly batchRequests: Histogram<"model">;
  readonly batchDuration: Histogram<"model">;
  readonly queueDepth: Gauge<"model">;
  readonly embedCalls: Counter<"model" | "outcome">;
  readonly tokens: Counter<"model">;
  readonly modelsLoaded: Gauge;
}

/**
 * Create the metrics of one server on a fresh registry.
 * @example
 * ```ts
 * const metrics = createServerMetrics();
 * metrics.tokens.inc({ model: "all-minilm-l6-v2" }, 12);
 * const text = await metrics.registry.metrics();
 * ```
 */
export function createServerMetrics(options: { readonly processMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "embedkit_" });
  return {
    registry,
    requests: new Counter({
      name: METRIC_NAMES.requests,
      help: "HTTP requests by route template, method and status code.",
      labelNames: ["route", "method", "status"],
      registers,
    }),
    latency: new Histogram({
      name: METRIC_NAMES.latency,
      help: "HTTP request latency in seconds, from arrival to the end of the response.",
      labelNames: ["route", "method"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    batchInputs: new Histogram({
      name: METRIC_NAMES.batchInputs,
      help: "Inputs (texts) per embed call made by the batcher.",
      labelNames: ["model"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
      registers,
    }),
    batchRequests: new Histogram({
      name: METRIC_NAMES.batchRequests,
      help: "HTTP requests coalesced into one embed call.",
      labelNames: ["model"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    batchDuration: new Histogram({
      name: METRIC_NAMES.batchDuration,
      help: "Duration of one embed call in seconds.",
      labelNames: ["model"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    queueDepth: new Gauge({
      name: METRIC_NAMES.queueDepth,
      help: "Requests waiting for a batch, per model.",
      labelNames: ["model"],
      registers,
    }),
    embedCalls: new Counter({
      name: METRIC_NAMES.embedCalls,
      help: "embed calls made by the batcher, by outcome (ok, error).",
      labelNames: ["model", "outcome"],
      registers,
    }),
    tokens: new Counter({
      name: METRIC_NAMES.tokens,
      help: "Tokens embedded (excluding special tokens), as reported in usage.prompt_tokens.",
      labelNames: ["model"],
      registers,
    }),
    modelsLoaded: new Gauge({
      name: METRIC_NAMES.modelsLoaded,
      help: "Models currently loaded in memory.",
      registers,
    }),
  };
}
