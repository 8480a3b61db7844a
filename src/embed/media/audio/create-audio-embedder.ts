/**
 * @module embed/media/audio/create-audio-embedder
 * The one entry point that turns a model name into a ready audio
 * {@link AudioEmbedder}:
 *
 * - a catalog audio model (default `resemblyzer-ge2e`; `speech-embedding` for what is
 *   said rather than who says it): pulled and verified through the model store, then
 *   run by the runtime its format names (`speech-embedding` also reproduces
 *   openWakeWord's reference vectors on first use, `speech-embedder.ts`);
 * - `mfcc-stats`: the built-in MFCC-statistics baseline (nothing to pull);
 * - `wav2vec2:dir:/path`: a local folder with a Hugging Face style ONNX export
 *   of a raw-waveform encoder (wav2vec2, HuBERT, WavLM, data2vec-audio), see
 *   `onnx-audio-embedder.ts`;
 * - `wav2vec2:hf:owner/name[@revision][#onnx=…&sha256=…]`: the same layout on the
 *   Hugging Face Hub (or `HF_ENDPOINT`), pulled through the model store
 *   (`onnx/model.onnx` + `preprocessor_config.json`; trusted on first use unless
 *   `sha256=` pins the graph);
 * - `clap:dir:/path` / `clap:hf:owner/name[@revision]` (or `dir:/path` of a folder
 *   with `onnx/audio_model.onnx`): the audio side of a CLAP audio-text pair (`clap-embedder.ts`; its text side is `createEmbedder({ model })`
 *   with the same name).
 */
import { EmbedkitError } from "../../../errors.js";
import { type HfReference, hfModelId, parseHfReference, UNPINNED } from "../../../models/adhoc.js";
import { DEFAULT_MODELS } from "../../../models/catalog.js";
import type { ModelSpec } from "../../../models/model-spec.js";
import type { ModelStore, PullProgress } from "../../../models/model-store.js";
import { createModelStore } from "../../../models/store-impl.js";
import type { MediaLimits } from "../media-embedder.js";
import { pullMediaModel } from "../pull-media-model.js";
import { type AudioCore, type AudioEmbedder, wrapAudioCore } from "./audio-embedder.js";
import { CLAP_PREFIX, isClapFolder } from "./clap-features.js";
import { createGe2eCore } from "./ge2e-embedder.js";
import { createMfccCore } from "./mfcc-embedder.js";
import { createOnnxAudioCore } from "./onnx-audio-embedder.js";
import { checkSpeechReference, createSpeechCore } from "./speech-embedder.js";

/** Names of the built-in audio embedders that need no model files. */
export const BUILTIN_AUDIO_MODELS = Object.freeze(["mfcc-stats"] as const);

/** Prefix of a local raw-waveform ONNX encoder folder. */
const WAV2VEC2_PREFIX = /^wav2vec2:dir:/i;
/** Prefix of a raw-waveform ONNX encoder on the Hugging Face Hub. */
const WAV2VEC2_HF_PREFIX = /^wav2vec2:hf:/i;

/** The store spec of a `wav2vec2:hf:` model: the ONNX graph and the feature-extractor config. */
function wav2vec2HubSpec(name: string, reference: HfReference): ModelSpec {
  const onnx = reference.settings.onnx ?? "onnx/model.onnx";
  return Object.freeze({
    id: `${hfModelId(reference)}--audio`,
    aliases: Object.freeze([name]),
    description: `Hugging Face audio encoder ${reference.repo}@${reference.revision} (${onnx})`,
    modality: "audio",
    format: "onnx-audio",
    dims: reference.settings.dims ?? 0,
    maxTokens: 0,
    pooling: "mean",
    normalize: true,
    prefixes: Object.freeze({}),
    languages: Object.freeze([]),
    quantized: /quant|int8|q8/i.test(onnx),
    license: "unknown (see the model card)",
    upstream: `${reference.repo}@${reference.revision}`,
    files: Object.freeze([
      { role: "onnx" as const, name: "model.onnx", sha256: reference.settings.sha256 ?? UNPINNED },
      { role: "config" as const, name: "preprocessor_config.json", sha256: UNPINNED },
    ]),
    sources: Object.freeze([
      {
        type: "hf" as const,
        repo: reference.repo,
        revision: reference.revision,
        entries: { "model.onnx": onnx, "preprocessor_config.json": "preprocessor_config.json" },
      },
    ]),
    references: Object.freeze([]),
  } satisfies ModelSpec);
}

/** Options of {@link createAudioEmbedder}. */
export interface CreateAudioEmbedderOptions {
  /**
   * Catalog id or alias of an audio model (see `embedkit models list`),
   * `mfcc-stats`, `wav2vec2:dir:/path/to/onnx-export`, `wav2vec2:hf:owner/name[@revision]`, or the
   * audio side of a CLAP pair: `clap:dir:/path` / `clap:hf:owner/name[@revision]`.
   * @default "resemblyzer-ge2e"
   */
  readonly model?: string;
  /** Model cache to use. @default createModelStore() */
  readonly store?: ModelStore;
  /** Progress of a first-time model download. */
  readonly onPullProgress?: (progress: PullProgress) => void;
  /** Clips per inference batch. @default 16 (64 for mfcc-stats) */
  readonly maxBatchSize?: number;
  /** Limits applied to every call. @default DEFAULT_AUDIO_LIMITS (10-minute duration cap) */
  readonly limits?: Partial<MediaLimits>;
  /** Inference threads for ONNX runtimes. @default os.availableParallelism() */
  readonly threads?: number;
}

/**
 * Create an audio embedder, pulling and verifying the model on first use.
 *
 * @throws EmbedkitError UNKNOWN_MODEL, INVALID_OPTION (not an audio model), DOWNLOAD_FAILED,
 *   CHECKSUM_MISMATCH, CORRUPT_MODEL, FILE_NOT_FOUND (a `wav2vec2:dir:` folder without model.onnx)
 * @example
 * ```ts
 * const speaker = await createAudioEmbedder();                 // GE2E d-vectors, 256-d
 * const { vectors } = await speaker.embed(["alice.wav", "bob.mp3"]);
 * await speaker.close();
 * const baseline = await createAudioEmbedder({ model: "mfcc-stats" });
 * const content = await createAudioEmbedder({ model: "speech-embedding" }); // what is said, 96-d
 * ```
 */
export async function createAudioEmbedder(options: CreateAudioEmbedderOptions = {}): Promise<AudioEmbedder> {
  const name = (options.model ?? DEFAULT_MODELS.audio).trim();
  const batch = options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize };
  const threads = options.threads === undefined ? {} : { threads: options.threads };
  const settings = options.limits === undefined ? {} : { limits: options.limits };
  let core: AudioCore;
  if (CLAP_PREFIX.test(name) || (await isClapFolder(name))) {
    const { createClapAudioEmbedder } = await import("./clap-embedder.js");
    return createClapAudioEmbedder({
      model: name,
      ...batch,
      ...threads,
      ...settings,
      ...(options.store === undefined ? {} : { store: options.store }),
      ...(options.onPullProgress === undefined ? {} : { onPullProgress: options.onPullProgress }),
    });
  }
  if (/^clip:/i.test(name)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${name} is an image-text (CLIP) model; it cannot embed audio. Use it with --modality image, ` +
        'or give an audio model: "resemblyzer-ge2e", "mfcc-stats", "wav2vec2:dir:/path" or "clap:dir:/path".',
      { details: { model: name } },
    );
  }
  if (name.toLowerCase() === "mfcc-stats" || name.toLowerCase() === "mfcc") {
    core = createMfccCore(batch);
  } else if (WAV2VEC2_PREFIX.test(name)) {
    core = await createOnnxAudioCore({ folder: name.replace(WAV2VEC2_PREFIX, ""), ...batch, ...threads });
  } else if (WAV2VEC2_HF_PREFIX.test(name)) {
    const spec = wav2vec2HubSpec(name, parseHfReference(`hf:${name.replace(WAV2VEC2_HF_PREFIX, "")}`));
    const store = options.store ?? createModelStore();
    const pulled = await store.ensure(
      spec,
      options.onPullProgress ? { onProgress: options.onPullProgress } : {},
    );
    core = await createOnnxAudioCore({ id: name, folder: pulled.dir, ...batch, ...threads });
  } else {
    const pulled = await pullMediaModel({
      store: options.store ?? createModelStore(),
      name,
      modality: "audio",
      choices: `default ${DEFAULT_MODELS.audio}, "mfcc-stats", "wav2vec2:dir:/path" for a local ONNX export, or "clap:dir:/path" for a CLAP folder`,
      ...(options.onPullProgress === undefined ? {} : { onPullProgress: options.onPullProgress }),
    });
    const { spec } = pulled;
    if (spec.format === "onnx-speech") {
      const speech = await createSpeechCore({
        id: spec.id,
        melPath: pulled.path("features-onnx"),
        embeddingPath: pulled.path("onnx"),
        ...batch,
        ...threads,
      });
      // First use of this installed copy: reproduce openWakeWord's own vectors, or refuse the model.
      await checkSpeechReference(speech, {
        dir: pulled.dir,
        key: spec.files.map((file) => file.sha256).join(","),
      }).catch(async (error: unknown) => {
        await speech.close();
        throw error;
      });
      core = speech;
    } else if (spec.format === "ge2e-lstm") {
      core = await createGe2eCore({ id: spec.id, weightsPath: pulled.path("weights"), ...batch, ...threads });
    } else {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `${spec.id} has format ${spec.format}, which has no audio runtime. Expected ge2e-lstm or onnx-speech.`,
        { details: { model: spec.id, format: spec.format } },
      );
    }
  }
  return wrapAudioCore(core, settings);
}
