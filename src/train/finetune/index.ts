/**
 * @module train/finetune
 * Fine-tuning of the encoder itself (issue #22), the parts around the engine:
 * export of trained weights as a `dir:` model folder, training-data readers and
 * validation, checkpoints with resume, and the memory estimate. Re-exports only.
 */
export { type OnnxFloatInitializer, readOnnxInitializers } from "../../models/onnx-initializers.js";
export {
  checkpointFileName,
  type LoadedCheckpoint,
  loadLatestCheckpoint,
  type SaveCheckpointOptions,
  saveTrainingCheckpoint,
  TRAINING_CHECKPOINT_VERSION,
  type TrainingState,
} from "./checkpoints.js";
export {
  applyLengthPolicy,
  checkValidationLabels,
  combineDataSha256,
  type DataFileInfo,
  type LabelledText,
  type LabelledTextsData,
  type LabelledTextsOptions,
  type LengthPolicyOptions,
  type LengthReport,
  type OnLong,
  type PairsData,
  readLabelledTextsFile,
  readPairsFile,
  readTokenTagFile,
  type ScoredPair,
  type SkippedRow,
  type TextPair,
  type TokenTagData,
  type TokenTagOptions,
  tagLines,
} from "./data.js";
export {
  type ExportedEncoder,
  type ExportFinetunedEncoderOptions,
  encoderReference,
  exportFinetunedEncoder,
  FINETUNE_MANIFEST_FILE,
  type FinetuneManifest,
  type FinetuneTask,
} from "./export.js";
export {
  assertBatchFitsMemory,
  availableMemory,
  estimateTrainingMemory,
  JAX_ENGINE_MEMORY,
  largestSafeBatch,
  MEMORY_HEADROOM,
  type TrainingMemoryConfig,
  type TrainingMemoryEstimate,
} from "./memory.js";
