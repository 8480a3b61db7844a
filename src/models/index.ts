/**
 * @module models
 * The model catalog and the model store: which models embedkit knows, and the
 * verified local cache they are pulled into. Re-exports only.
 */

export { UNPINNED } from "./adhoc.js";
// Catalog: known models as frozen data
export {
  CATALOG,
  type CatalogModelId,
  DEFAULT_MODEL_ID,
  DEFAULT_MODELS,
  findModel,
  getModel,
  listModels,
} from "./catalog.js";
export type {
  ImagePreprocessSpec,
  Modality,
  ModelFile,
  ModelFileRole,
  ModelFormat,
  ModelSource,
  ModelSpec,
  Pooling,
  ReferenceCheck,
} from "./model-spec.js";
// Types that describe a model
export { MODEL_FILE_ROLES } from "./model-spec.js";
// The store contract
export type {
  InstalledModel,
  ModelStore,
  PulledModel,
  PullOptions,
  PullProgress,
  VerifyReport,
} from "./model-store.js";
// The store implementation
export { createModelStore, type ModelStoreOptions } from "./store-impl.js";
