/**
 * @module scripts/make-tiny-clap
 * Generate a tiny, random-weight CLAP-style model folder with the real
 * input/output signature of the Hugging Face / Transformers.js ONNX exports
 * (e.g. Xenova/clap-htsat-unfused), laid out the same way:
 *
 * ```
 * onnx/audio_model.onnx      input_features [batch,1,frames,64] float (48 kHz log-mel) → audio_embeds [batch,D]
 * onnx/text_model.onnx       input_ids, attention_mask [batch,seq] int64 → text_embeds [batch,D]
 * tokenizer.json             RoBERTa byte-level BPE: <s> … </s>, <pad> = 1, Ġ-prefixed words
 * tokenizer_config.json      RobertaTokenizer, model_max_length 512
 * special_tokens_map.json    <s> </s> <unk> <pad> <mask>
 * vocab.json, merges.txt     the same BPE as tokenizer.json (the "slow" tokenizer files)
 * preprocessor_config.json   ClapFeatureExtractor, 48 kHz, 64 mels 50–14000 Hz, hop 480, 10 s, repeatpad, rand_trunc
 * config.json                model_type clap, projection_dim D, text_config (514 positions, pad 1), audio_config (fusion off)
 * ```
 *
 * THIS IS A TEST FIXTURE, NOT A WORKING MODEL: the audio tower average-pools the
 * 1001×64 log-mel into 7×4 cells, squashes them with tanh and applies a random
 * projection; the text tower is a masked mean of random token vectors and a
 * random projection (scripts/lib/tiny-text-tower.ts). Its vectors mean nothing,
 * so only the code path (decode → resample to 48 kHz → 10 s windows → log-mel →
 * ONNX → normalize; text → BPE tokens → ONNX → normalize) is exercised. Real CLAP
 * weights need a model hub, which this project's machines cannot reach. Graphs
 * are built with src/models/onnx-writer.ts; no Python.
 *
 * Run: `npx tsx scripts/make-tiny-clap.ts <folder> [--dims 32] [--seed 1]`
 */
import { encodeOnnxModel } from "../src/models/onnx-writer.js";
import { createRandom } from "../src/vectors/random.js";
import { fixtureArguments, writeFixtureFiles } from "./lib/fixture-folder.js";
import { gaussian, tinyTextTower } from "./lib/tiny-text-tower.js";

/** Words of the fixture's vocabulary (enough for the tests' prompts), each also with a leading space (Ġ). */
const WORDS = [
  "a", "an", "the", "of", "sound", "dog", "barking", "cat", "meowing", "bird", "singing", "rain", "car",
  "engine", "water", "running", "bell", "ringing", "music", "speech", "people", "talking", "wind",
  "siren", "sine", "tone", "noise", "low", "high", "clapping", "door", "knocking", "chirp", "silence",
];

/** laion/clap-htsat-unfused's preprocessor_config.json (fusion off: truncation rand_trunc). */
const PREPROCESSOR = {
  chunk_length_s: 10,
  feature_extractor_type: "ClapFeatureExtractor",
  feature_size: 64,
  fft_window_size: 1024,
  frequency_max: 14000,
  frequency_min: 50,
  hop_length: 480,
  max_length_s: 10,
  n_fft: 1024,
  nb_frequency_bins: 513,
  nb_max_frames: 1000,
  nb_max_samples: 480000,
  padding: "repeatpad",
  padding_side: "right",
  padding_value: 0.0,
  processor_class: "ClapProcessor",
  return_attention_mask: false,
  sampling_rate: 48000,
  top_db: null,
  truncation: "rand_trunc",
};

/** Options of {@link writeTinyClap}. */
export interface TinyClapOptions {
  /** Shared embedding size (projection_dim). @default 32 */
  readonly dims?: number;
  /** Seed of the random weights. @default 1 */
  readonly seed?: number;
}

/** GPT-2 / RoBERTa byte → printable character table (`bytes_to_unicode`). */
function byteCharacters(): string[] {
  const printable = [
    ...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => 0x21 + i),
    ...Array.from({ length: 0xac - 0xa1 + 1 }, (_, i) => 0xa1 + i),
    ...Array.from({ length: 0xff - 0xae + 1 }, (_, i) => 0xae + i),
  ];
  const table = new Array<string>(256);
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    table[byte] = String.fromCodePoint(printable.includes(byte) ? byte : 256 + extra++);
  }
  return table;
}

/** A byte-level BPE vocabulary: specials, the 256 byte characters, then each word (and Ġword) built left to right. */
function bytePairEncoding(): { vocab: Record<string, number>; merges: string[] } {
  const vocab: Record<string, number> = { "<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3 };
  const add = (token: string): void => {
    if (!(token in vocab)) vocab[token] = Object.keys(vocab).length;
  };
  for (const character of byteCharacters()) add(character);
  const merges: string[] = [];
  for (const word of WORDS) {
    // The word left to right, then the space-prefixed form as one more merge ("Ġ" + word).
    const characters = [...word];
    let left = characters[0] as string;
    for (const next of characters.slice(1)) {
      const merge = `${left} ${next}`;
      if (!merges.includes(merge)) merges.push(merge);
      left += next;
      add(left);
    }
    merges.push(`Ġ ${word}`);
    add(`Ġ${word}`);
  }
  add("<mask>");
  return { vocab, merges };
}

/** Write the fixture into `folder` (created; files written atomically). */
export async function writeTinyClap(folder: string, options: TinyClapOptions = {}): Promise<void> {
  const dims = options.dims ?? 32;
  const random = createRandom(options.seed ?? 1);
  // Audio: 1001 frames × 64 bands → 7 × 4 cells of 143 frames × 16 bands, tanh(0.05·dB), project.
  const cells = 7 * 4;
  const audio = encodeOnnxModel({
    name: "tiny-clap-audio",
    inputs: [{ name: "input_features", type: "float", shape: ["batch_size", 1, "num_frames", 64] }],
    outputs: [{ name: "audio_embeds", type: "float", shape: ["batch_size", dims] }],
    initializers: [
      { name: "flat_shape", dims: [2], data: BigInt64Array.from([0n, BigInt(cells)]) },
      { name: "decibel_scale", dims: [1], data: Float32Array.from([0.05]) },
      { name: "audio_projection", dims: [cells, dims], data: gaussian(cells * dims, 1 / Math.sqrt(cells), random) },
    ],
    nodes: [
      {
        op: "AveragePool",
        inputs: ["input_features"],
        outputs: ["pooled"],
        attributes: { kernel_shape: [143, 16], strides: [143, 16] },
      },
      { op: "Reshape", inputs: ["pooled", "flat_shape"], outputs: ["flat"] },
      { op: "Mul", inputs: ["flat", "decibel_scale"], outputs: ["scaled"] },
      { op: "Tanh", inputs: ["scaled"], outputs: ["features"] },
      { op: "MatMul", inputs: ["features", "audio_projection"], outputs: ["audio_embeds"] },
    ],
  });
  const { vocab, merges } = bytePairEncoding();
  const vocabularySize = Object.keys(vocab).length;
  const text = tinyTextTower({ name: "tiny-clap-text", vocabularySize, width: 16, dims }, random);
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: content === "<mask>",
    rstrip: false,
    normalized: false,
    special: true,
  });
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      special(0, "<s>"),
      special(1, "<pad>"),
      special(2, "</s>"),
      special(3, "<unk>"),
      special(vocab["<mask>"] as number, "<mask>"),
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: "RobertaProcessing",
      sep: ["</s>", 2],
      cls: ["<s>", 0],
      trim_offsets: true,
      add_prefix_space: false,
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
  const specialTokens = {
    bos_token: "<s>",
    eos_token: "</s>",
    unk_token: "<unk>",
    sep_token: "</s>",
    pad_token: "<pad>",
    cls_token: "<s>",
    mask_token: { content: "<mask>", lstrip: true, normalized: false, rstrip: false, single_word: false },
  };
  const tokenizerConfig = {
    ...specialTokens,
    add_prefix_space: false,
    errors: "replace",
    model_max_length: 512,
    tokenizer_class: "RobertaTokenizer",
    trim_offsets: true,
  };
  const config = {
    _comment: "Tiny random-weight fixture made by scripts/make-tiny-clap.ts; NOT a working CLAP model.",
    architectures: ["ClapModel"],
    model_type: "clap",
    projection_dim: dims,
    text_config: {
      model_type: "clap_text_model",
      vocab_size: vocabularySize,
      hidden_size: 16,
      max_position_embeddings: 514,
      pad_token_id: 1,
      bos_token_id: 0,
      eos_token_id: 2,
      projection_dim: dims,
    },
    audio_config: {
      model_type: "clap_audio_model",
      enable_fusion: false,
      num_mel_bins: 64,
      spec_size: 256,
      projection_dim: dims,
    },
  };
  const files: [string, Uint8Array | string][] = [
    ["onnx/audio_model.onnx", audio],
    ["onnx/text_model.onnx", text],
    ["tokenizer.json", JSON.stringify(tokenizer)],
    ["tokenizer_config.json", JSON.stringify(tokenizerConfig, null, 2)],
    ["special_tokens_map.json", JSON.stringify(specialTokens, null, 2)],
    ["vocab.json", JSON.stringify(vocab)],
    ["merges.txt", `#version: 0.2\n${merges.join("\n")}\n`],
    ["preprocessor_config.json", JSON.stringify(PREPROCESSOR, null, 2)],
    ["config.json", JSON.stringify(config, null, 2)],
  ];
  await writeFixtureFiles(folder, files);
}

if (process.argv[1]?.endsWith("make-tiny-clap.ts")) {
  const { folder, numbers } = fixtureArguments("npx tsx scripts/make-tiny-clap.ts <folder> [--dims 32] [--seed 1]", [
    "dims",
    "seed",
  ]);
  await writeTinyClap(folder, numbers);
  console.log(`wrote a tiny random-weight CLAP fixture (not a working model) to ${folder}`);
}
