/**
 * @module scripts/make-tiny-clip
 * Generate a tiny, random-weight CLIP-style model folder with the real
 * input/output signature of the Hugging Face / Transformers.js ONNX exports
 * (e.g. Xenova/clip-vit-base-patch32), laid out the same way:
 *
 * ```
 * onnx/vision_model.onnx     pixel_values [batch,3,224,224] float → image_embeds [batch,D]
 * onnx/text_model.onnx       input_ids, attention_mask [batch,seq] int64 → text_embeds [batch,D]
 * tokenizer.json             WordPiece (whole words), lower-case, <|startoftext|> … <|endoftext|>
 * preprocessor_config.json   shortest_edge 224, center crop 224, CLIP mean/std
 * config.json                projection_dim D
 * ```
 *
 * THIS IS A TEST FIXTURE, NOT A WORKING MODEL: its vectors are random
 * projections (of 32×32-pooled pixels, and of mean word vectors), so only the
 * code path (decode → preprocess → ONNX → normalize, text → tokens → ONNX) is
 * exercised. Real CLIP weights need a model hub, which this project's machines
 * cannot reach. Graphs are built with src/models/onnx-writer.ts; no Python.
 *
 * Run: `npx tsx scripts/make-tiny-clip.ts <folder> [--dims 32] [--seed 1]`
 */
import { encodeOnnxModel } from "../src/models/onnx-writer.js";
import { createRandom } from "../src/vectors/random.js";
import { fixtureArguments, writeFixtureFiles } from "./lib/fixture-folder.js";
import { gaussian, tinyTextTower } from "./lib/tiny-text-tower.js";

/** Words of the fixture's vocabulary (enough for tests' prompts). */
const WORDS = [
  "a", "photo", "of", "the", "dog", "cat", "bird", "car", "tree", "house", "red", "blue", "green",
  "fish", "swan", "boat", "dam", "wall", "orange", "teddy", "bear", "water", "tower", "image",
];

/** CLIP's ImageNet statistics, as in the real preprocessor_config.json. */
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** Options of {@link writeTinyClip}. */
export interface TinyClipOptions {
  /** Shared embedding size (projection_dim). @default 32 */
  readonly dims?: number;
  /** Seed of the random weights. @default 1 */
  readonly seed?: number;
}

/** Write the fixture into `folder` (created; files written atomically). */
export async function writeTinyClip(folder: string, options: TinyClipOptions = {}): Promise<void> {
  const dims = options.dims ?? 32;
  const random = createRandom(options.seed ?? 1);
  // Vision: average-pool 224² into 7×7 cells per channel (147 features), then project.
  const pooled = 3 * 7 * 7;
  const vision = encodeOnnxModel({
    name: "tiny-clip-vision",
    inputs: [{ name: "pixel_values", type: "float", shape: ["batch_size", 3, 224, 224] }],
    outputs: [{ name: "image_embeds", type: "float", shape: ["batch_size", dims] }],
    initializers: [
      { name: "flat_shape", dims: [2], data: BigInt64Array.from([0n, BigInt(pooled)]) },
      { name: "visual_projection", dims: [pooled, dims], data: gaussian(pooled * dims, 1 / Math.sqrt(pooled), random) },
    ],
    nodes: [
      { op: "AveragePool", inputs: ["pixel_values"], outputs: ["cells"], attributes: { kernel_shape: [32, 32], strides: [32, 32] } },
      { op: "Reshape", inputs: ["cells", "flat_shape"], outputs: ["features"] },
      { op: "MatMul", inputs: ["features", "visual_projection"], outputs: ["image_embeds"] },
    ],
  });
  // Text: masked mean of token embeddings, then project (scripts/lib/tiny-text-tower.ts).
  const vocabulary = ["<|startoftext|>", "<|endoftext|>", "[UNK]", ...WORDS];
  const width = 16;
  const text = tinyTextTower({ name: "tiny-clip-text", vocabularySize: vocabulary.length, width, dims }, random);
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [0, 1, 2].map((id) => ({
      id,
      content: vocabulary[id],
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Whitespace" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "<|startoftext|>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<|endoftext|>", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "<|startoftext|>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { Sequence: { id: "B", type_id: 0 } },
        { SpecialToken: { id: "<|endoftext|>", type_id: 0 } },
      ],
      special_tokens: {
        "<|startoftext|>": { id: "<|startoftext|>", ids: [0], tokens: ["<|startoftext|>"] },
        "<|endoftext|>": { id: "<|endoftext|>", ids: [1], tokens: ["<|endoftext|>"] },
      },
    },
    decoder: null,
    // WordPiece (whole words only) because the JS tokenizers port maps unknown words of a
    // WordLevel model to no id at all; WordPiece falls back to [UNK] as it should.
    model: {
      type: "WordPiece",
      vocab: Object.fromEntries(vocabulary.map((word, id) => [word, id])),
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
    },
  };
  const preprocessor = {
    crop_size: { height: 224, width: 224 },
    do_center_crop: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: CLIP_MEAN,
    image_std: CLIP_STD,
    resample: 3,
    rescale_factor: 1 / 255,
    size: { shortest_edge: 224 },
  };
  const config = {
    model_type: "clip",
    projection_dim: dims,
    text_config: { max_position_embeddings: 77 },
    _comment: "Tiny random-weight fixture made by scripts/make-tiny-clip.ts; NOT a working CLIP model.",
  };
  const files: [string, Uint8Array | string][] = [
    ["onnx/vision_model.onnx", vision],
    ["onnx/text_model.onnx", text],
    ["tokenizer.json", JSON.stringify(tokenizer)],
    ["preprocessor_config.json", JSON.stringify(preprocessor, null, 2)],
    ["config.json", JSON.stringify(config, null, 2)],
  ];
  await writeFixtureFiles(folder, files);
}

if (process.argv[1]?.endsWith("make-tiny-clip.ts")) {
  const { folder, numbers } = fixtureArguments("npx tsx scripts/make-tiny-clip.ts <folder> [--dims 32] [--seed 1]", [
    "dims",
    "seed",
  ]);
  await writeTinyClip(folder, numbers);
  console.log(`wrote a tiny random-weight CLIP fixture (not a working model) to ${folder}`);
}
