/**
 * @module server
 * The OpenAI-compatible embeddings server (`embedkit/server`): the fastify
 * factory, the dynamic batcher, the error mapping and the metrics. Only re-exports.
 */
export type { Batcher, BatcherOptions, BatchJob, BatchReport } from "./batcher.js";
export { createBatcher } from "./batcher.js";
export type { CollectionRoutesContext } from "./collection-routes.js";
export { registerCollectionRoutes } from "./collection-routes.js";
export type {
  BatchingOptions,
  EmbedderFactory,
  EmbedkitServer,
  ResolvedServerSettings,
  ServerControls,
  ServerOptions,
} from "./create-server.js";
export { createServer, DEFAULT_OPENAI_ALIASES, LOOPBACK_HOSTS, SERVER_DEFAULTS } from "./create-server.js";
export type { EmbeddingInput, EmbeddingsRequest } from "./embeddings-request.js";
export { OPENAI_MAX_INPUTS, parseEmbeddingsRequest } from "./embeddings-request.js";
export type { ErrorResponse, HttpErrorOptions, OpenAiErrorBody, OpenAiErrorType } from "./http-error.js";
export { HttpError, toErrorResponse } from "./http-error.js";
export type { ServerMetrics } from "./metrics.js";
export { createServerMetrics, METRIC_NAMES } from "./metrics.js";
export type {
  ServeConfigFile,
  ServeSettingKey,
  ServeSettings,
  ServeSources,
  ServeSourceValues,
} from "./serve-config.js";
export {
  isLoopbackHost,
  readServeConfig,
  readServeEnvironment,
  resolveServeSettings,
  SERVE_DEFAULTS,
  SERVE_ENV,
  SERVE_FIELDS,
  toServerOptions,
} from "./serve-config.js";
export type { MeasuredInputs, MeasureOptions } from "./token-budget.js";
export { measureInputs } from "./token-budget.js";
