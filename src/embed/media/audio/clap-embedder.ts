/**
 * @module embed/media/audio/clap-embedder
 * CLAP (contrastive language-audio pretraining, LAION) audio + text encoders
 * from ONNX exports laid out like the Transformers.js repositories
 * (`Xenova/clap-htsat-unfused`): `onnx/audio_model.onnx` (`input_features
 * [batch, 1, 1001, 64]` → `audio_embeds`), `onnx/text_model.onnx` (`input_ids`
 * + `attention_mask` → `text_embeds`), `tokenizer.json` (RoBERTa byte-level
 * BPE), `preprocessor_config.json` (`ClapFeatureExtractor`) and `config.json`
 * (`projection_dim`). Both towers run on onnxruntime-node, both sides are
 * L2-normalised, so `text.embed(["a dog barking"])` searches vectors from
 * `audio.embed(["clip.wav"])`.
 *
 * Audio is decoded and resampled to the model's rate (48 kHz), cut into 10 s
 * windows and turned into log-mels by `clap-features.ts` (the unfused front-end;
 * fused models are refused); a clip's vector is the L2-normalised mean of its
 * windows' unit vectors.
 *
 * A model is named `clap:dir:/path/to/folder` or `clap:hf:owner/name[@revision]`
 * (`#audio=…&text=…` pick other graph files). Both towers report the canonical
 * reference (`clap:dir:/absolute/path`) as their model id, so a collection
 * indexed with the audio side can be searched with text (the CLI opens the text
 * side from the collection's model name). No real CLAP weights can be obtained
 * on this project's machines; the code path is tested with the random-weight
 * fixture from scripts/make-tiny-clap.ts.
 */
import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type * as ort from "onnxruntime-node";
import { EmbedkitError } from "../../../errors.js";
import { loadOnnxRuntime } from "../../../internal/load-dependency.js";
import type { ModelSpec } from "../../../models/model-spec.js";
import type { ModelStore, PullProgress } from "../../../models/model-store.js";
import { createModelStore } from "../../../models/store-impl.js";
import { normalizeInPlace } from "../../../vectors/math.js";
import type { Embedder } from "../../embedder.js";
import { loadTextTokenizer } from "../../onnx/text-tokenizer.js";
import { type EmbedProvider, embedDecoded } from "../../pipeline.js";
import type { MediaLimits } from "../media-embedder.js";
import {
  checkPairFolder,
  createTextTowerEmbedder,
  formatPairReference,
  openTowerSession,
  type PairReference,
  pairSpec,
  parsePairReference,
  projectionDims,
  readPairJson,
  requireTowerNames,
  tensorRows,
  transformersJsFamily,
} from "../pair-model.js";
import { type AudioCore, type AudioEmbedder, wrapAudioCore } from "./audio-embedder.js";
import {
  CLAP_PREFIX,
  type ClapFrontEnd,
  clapFrames,
  clapFrontEndFromConfig,
  clapLogMel,
  clapWindows,
} from "./clap-features.js";

/** CLAP in the Transformers.js layout. */
const CLAP_FAMILY = transformersJsFamily("CLAP", "audio", "audio_model.onnx");

/** RoBERTa's position table has 2 reserved rows; CLAP's text tower takes 512 tokens. */
const DEFAULT_MAX_TOKENS = 512;

/** Options of {@link createClapEmbedder}. */
export interface CreateClapEmbedderOptions {
  /**
   * `clap:dir:/path/to/folder` or `clap:hf:owner/name[@revision]` (the `clap:` prefix
   * may be left out), optionally `#audio=onnx/…&text=onnx/…`.
   */
  readonly model: string;
  /** Model cache. @default createModelStore() */
  readonly store?: ModelStore;
  readonly onPullProgress?: (progress: PullProgress) => void;
  /** Inference threads per tower. @default os.availableParallelism() */
  readonly threads?: number;
  /** 10 s windows (audio) or texts per inference call. @default 8 */
  readonly maxBatchSize?: number;
  /** Limits for audio inputs. @default DEFAULT_AUDIO_LIMITS (10-minute cap) */
  readonly limits?: Partial<MediaLimits>;
}

/** An audio-text model: an audio side and a text side whose vectors share one space. */
export interface ClapEmbedder {
  readonly audio: AudioEmbedder;
  readonly text: Embedder;
  /** The front-end settings read from preprocessor_config.json. */
  readonly frontEnd: ClapFrontEnd;
  /** Close both sides. Idempotent. */
  close(): Promise<void>;
}

interface PreparedClap {
  /** Canonical model name, used as the model id of both sides. */
  readonly id: string;
  readonly spec: ModelSpec;
  readonly dims: number;
  readonly maxTokens: number;
  readonly padId: number;
  readonly frontEnd: ClapFrontEnd;
  readonly paths: { readonly audio: string; readonly text: string; readonly tokenizer: string };
  readonly threads: number;
  readonly maxBatchSize: number;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** A CLIP folder given as a CLAP model: say so, rather than listing missing files. */
async function refuseOtherFamily(reference: PairReference, name: string): Promise<void> {
  if (reference.kind !== "dir") return;
  if (await isFile(join(reference.location, "onnx", "vision_model.onnx"))) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${name} is an image-text (CLIP-style) folder: it has onnx/vision_model.onnx and no onnx/${CLAP_FAMILY.names.tower}. ` +
        `Use it with --modality image as clip:dir:${reference.location}; CLAP models embed audio and text.`,
      { details: { model: name } },
    );
  }
}

function clapSpec(reference: PairReference, id: string, dims: number, maxTokens: number): ModelSpec {
  return pairSpec(reference, CLAP_FAMILY, {
    prefix: "clap",
    alias: id,
    description: `CLAP-style audio+text ONNX pair from ${reference.kind}:${reference.location}`,
    modality: "audio",
    format: "onnx-clap",
    dims,
    maxTokens,
  });
}

function integer(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isInteger(value) ? value : fallback;
}

async function prepareClap(options: CreateClapEmbedderOptions): Promise<PreparedClap> {
  // `clap:dir:…`, `clap:hf:…`, or a plain `dir:…` already known to hold a CLAP export.
  const name = options.model.trim().replace(CLAP_PREFIX, "");
  const reference = parsePairReference(name, CLAP_FAMILY);
  const id = `clap:${formatPairReference(reference, CLAP_FAMILY)}`;
  const store = options.store ?? createModelStore();
  await refuseOtherFamily(reference, id);
  await checkPairFolder(reference, CLAP_FAMILY);
  const config = await readPairJson(reference, CLAP_FAMILY, CLAP_FAMILY.names.config, store.home);
  const preprocessor = await readPairJson(reference, CLAP_FAMILY, CLAP_FAMILY.names.preprocessor, store.home);
  const audioConfig = (config.audio_config ?? {}) as Record<string, unknown>;
  if (audioConfig.enable_fusion === true) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${id} is a fused CLAP model (config.json audio_config.enable_fusion = true). Only unfused models are ` +
        "supported (fusion off: one 10 s log-mel per window), e.g. the files of Xenova/clap-htsat-unfused.",
      { details: { model: id } },
    );
  }
  const frontEnd = clapFrontEndFromConfig(preprocessor, `${id}/${CLAP_FAMILY.names.preprocessor}`);
  const dims = projectionDims(config, id);
  const textConfig = (config.text_config ?? {}) as Record<string, unknown>;
  const positions = integer(textConfig.max_position_embeddings, DEFAULT_MAX_TOKENS + 2);
  const maxTokens = Math.max(2, Math.min(DEFAULT_MAX_TOKENS, positions - 2));
  const spec = clapSpec(reference, id, dims, maxTokens);
  const pulled = await store.ensure(
    spec,
    options.onPullProgress ? { onProgress: options.onPullProgress } : {},
  );
  return {
    id,
    spec,
    dims,
    maxTokens,
    padId: integer(textConfig.pad_token_id, 1),
    frontEnd,
    paths: {
      audio: pulled.path("onnx"),
      text: pulled.path("text-onnx"),
      tokenizer: pulled.path("tokenizer"),
    },
    threads: options.threads ?? availableParallelism(),
    maxBatchSize: options.maxBatchSize ?? 8,
  };
}

const AUDIO_EXPECTED =
  "a CLAP audio tower (input_features [batch, 1, frames, mel bands] → audio_embeds [batch, projection_dim])";
const TEXT_EXPECTED = "a CLAP text tower (input_ids + attention_mask → text_embeds)";

async function openAudioCore(prepared: PreparedClap): Promise<AudioCore> {
  const { id, dims, frontEnd, maxBatchSize } = prepared;
  const path = prepared.paths.audio;
  const ort = await loadOnnxRuntime();
  const session = await openTowerSession(path, prepared.threads, id);
  try {
    requireTowerNames(session, ["input_features"], "audio_embeds", { id, path, expected: AUDIO_EXPECTED });
    if (session.inputNames.includes("is_longer")) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `${id}: ${path} takes is_longer: it is a fused CLAP export. Only unfused models (fusion off) are supported.`,
        { details: { model: id, path } },
      );
    }
    const shape = session.inputMetadata.find((item) => item.name === "input_features");
    const bands = shape?.isTensor ? shape.shape[3] : undefined;
    if (typeof bands === "number" && bands !== frontEnd.melBands) {
      throw new EmbedkitError(
        "CORRUPT_MODEL",
        `${id}: ${path} takes ${bands} mel bands but preprocessor_config.json says feature_size ${frontEnd.melBands}.`,
        { details: { model: id, path } },
      );
    }
  } catch (error) {
    await session.release();
    throw error;
  }
  const frames = clapFrames(frontEnd);
  const plane = frames * frontEnd.melBands;

  /** Unit vectors of `windows` (each exactly one window of samples), in batches. */
  const towerWindows: EmbedProvider<Float32Array> = {
    limits: { maxBatchSize },
    async doEmbed({ values: batch }) {
      const features = new Float32Array(batch.length * plane);
      batch.forEach((window, index) => {
        features.set(clapLogMel(window, frontEnd).data, index * plane);
      });
      let result: ort.InferenceSession.OnnxValueMapType;
      try {
        result = await session.run({
          input_features: new ort.Tensor("float32", features, [batch.length, 1, frames, frontEnd.melBands]),
        });
      } catch (cause) {
        throw new EmbedkitError(
          "INFERENCE_FAILED",
          `${id}: ${path} failed on ${batch.length} window(s) of ${frames}×${frontEnd.melBands} log-mels: ${(cause as Error).message}`,
          { cause, details: { model: id } },
        );
      }
      const output = result.audio_embeds as ort.Tensor;
      return { vectors: tensorRows(output.data as Float32Array, batch.length, dims) };
    },
  };
  const runWindows = (windows: readonly Float32Array[], signal?: AbortSignal): Promise<Float32Array[]> =>
    embedDecoded(towerWindows, windows, { dims, normalize: true, signal });

  return {
    id,
    dims,
    sampleRate: frontEnd.sampleRate,
    normalize: true,
    maxBatchSize,
    async embedSamples(clips, signal) {
      const owners: number[] = [];
      const windows: Float32Array[] = [];
      clips.forEach((clip, index) => {
        for (const window of clapWindows(clip, frontEnd)) {
          windows.push(window);
          owners.push(index);
        }
      });
      const vectors = await runWindows(windows, signal);
      const sums = clips.map(() => new Float32Array(dims));
      vectors.forEach((vector, index) => {
        const sum = sums[owners[index] as number] as Float32Array;
        for (let d = 0; d < dims; d++) sum[d] = (sum[d] as number) + (vector[d] as number);
      });
      return sums.map((sum) => normalizeInPlace(sum));
    },
    async close() {
      await session.release();
    },
  };
}

async function openText(prepared: PreparedClap): Promise<Embedder> {
  const { id, dims, maxTokens, maxBatchSize } = prepared;
  const path = prepared.paths.text;
  const session = await openTowerSession(path, prepared.threads, id);
  try {
    requireTowerNames(session, ["input_ids"], "text_embeds", { id, path, expected: TEXT_EXPECTED });
  } catch (error) {
    await session.release();
    throw error;
  }
  let tokenizer: Awaited<ReturnType<typeof loadTextTokenizer>>;
  try {
    tokenizer = await loadTextTokenizer(prepared.paths.tokenizer, maxTokens);
  } catch (error) {
    await session.release();
    throw error;
  }
  return createTextTowerEmbedder({
    id,
    dims,
    maxTokens,
    maxBatchSize,
    tokenizer,
    session,
    output: "text_embeds",
    padId: prepared.padId,
  });
}

/**
 * Load a CLAP-style ONNX pair (from a folder or the Hub) as an audio embedder and a
 * text embedder sharing one vector space.
 *
 * @throws EmbedkitError UNKNOWN_MODEL (bad reference), FILE_NOT_FOUND (missing folder or
 *   files, each named), INVALID_OPTION (a CLIP folder, a fused CLAP), CORRUPT_MODEL (bad
 *   configs, wrong graph signature), DOWNLOAD_FAILED
 * @example
 * ```ts
 * const clap = await createClapEmbedder({ model: "clap:dir:./clap-htsat-unfused" });
 * const sounds = await clap.audio.embed(["dog.wav", "rain.flac"]);
 * const [query] = (await clap.text.embed(["a dog barking"])).vectors;
 * await clap.close();
 * ```
 */
export async function createClapEmbedder(options: CreateClapEmbedderOptions): Promise<ClapEmbedder> {
  const prepared = await prepareClap(options);
  const core = await openAudioCore(prepared);
  let text: Embedder;
  try {
    text = await openText(prepared);
  } catch (error) {
    await core.close();
    throw error;
  }
  const audio = wrapAudioCore(core, options.limits === undefined ? {} : { limits: options.limits });
  return {
    audio,
    text,
    frontEnd: prepared.frontEnd,
    async close() {
      await Promise.all([audio.close(), text.close()]);
    },
  };
}

/**
 * Only the audio side of a CLAP model (what `createAudioEmbedder({ model: "clap:…" })` returns).
 * @throws EmbedkitError as {@link createClapEmbedder}
 */
export async function createClapAudioEmbedder(options: CreateClapEmbedderOptions): Promise<AudioEmbedder> {
  const prepared = await prepareClap(options);
  return wrapAudioCore(
    await openAudioCore(prepared),
    options.limits === undefined ? {} : { limits: options.limits },
  );
}

/**
 * Only the text side of a CLAP model (what `createEmbedder({ model: "clap:…" })` returns, e.g.
 * for text queries against an audio collection).
 * @throws EmbedkitError as {@link createClapEmbedder}
 */
export async function createClapTextEmbedder(options: CreateClapEmbedderOptions): Promise<Embedder> {
  return openText(await prepareClap(options));
}
