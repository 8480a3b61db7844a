/**
 * Pins the exact output of every embedder that runs through the pipeline core
 * (src/embed/pipeline.ts): the sha256 of each case's float32/int8/binary vector
 * bytes, recorded from the code before the core existed. Any change in batch
 * planning, prefixes, pooling or the dimensions/precision/normalize step shows
 * up here as a different hash (max abs diff 0 is the contract, not a tolerance).
 *
 * Real models and real inputs: the catalog ONNX text models, the MobileNetV2
 * image model, face-api, the GE2E speaker encoder and MFCC statistics, a video
 * built from the shared sample photos, and the random-weight CLIP/CLAP/wav2vec2
 * fixtures written by scripts/make-tiny-*.ts (seeded, so their bytes are fixed).
 *
 * `EMBEDKIT_WRITE_PINS=1` rewrites test/embed/pipeline-pins.json (only when the
 * outputs are meant to change); `EMBEDKIT_PIN_DUMP=<file>` also writes the full
 * vectors as JSON, to compare two runs value by value.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildShotVideo } from "../../scripts/make-test-videos.js";
import { writeTinyClap } from "../../scripts/make-tiny-clap.js";
import { writeTinyClip } from "../../scripts/make-tiny-clip.js";
import { writeTinyWav2Vec2 } from "../../scripts/make-tiny-wav2vec2.js";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { createClapEmbedder } from "../../src/embed/media/audio/clap-embedder.js";
import { createAudioEmbedder } from "../../src/embed/media/audio/create-audio-embedder.js";
import { createClipEmbedder } from "../../src/embed/media/image/clip-embedder.js";
import { createImageEmbedder } from "../../src/embed/media/image/create-image-embedder.js";
import { createFaceEmbedder } from "../../src/embed/media/image/face-embedder.js";
import type { MediaEmbedder } from "../../src/embed/media/media-embedder.js";
import { createVideoEmbedder } from "../../src/embed/media/video/video-embedder.js";
import { createWordVectorEmbedder } from "../../src/embed/word-vectors/index.js";
import { createModelStore } from "../../src/models/store-impl.js";
import { clip } from "./media/audio-fixtures.js";
import { sampleImages, samplePhoto, temporaryFolder } from "./media/image-fixtures.js";

const PINS = join(import.meta.dirname, "pipeline-pins.json");

/** Sentences of very different lengths, so length-sorted batching and padding cuts matter. */
const PIN_SENTENCES = [
  "A man is eating food.",
  "The new movie is awesome, and the soundtrack carries every scene from the first minute to the last.",
  "Rust",
  "The cat sits outside on the warm stones of the garden wall while the sun sets behind the hills.",
  "How do I reset my password?",
  "Two dogs are playing in the snow near a frozen lake.",
  "Embeddings map text to vectors.",
  "quantum",
  "The quick brown fox jumps over the lazy dog, again and again, until the dog finally wakes up and chases it away.",
  "What is the capital of France?",
  "Paris is the capital and most populous city of France.",
  "I love pizza.",
];

type Vector = Float32Array | Int8Array | Uint8Array;

interface Pin {
  readonly count: number;
  readonly dims: number;
  readonly tokens: number;
  readonly sha256: string;
}

function pin(vectors: readonly Vector[], dims: number, tokens: number): Pin {
  const hash = createHash("sha256");
  for (const vector of vectors)
    hash.update(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
  return { count: vectors.length, dims, tokens, sha256: hash.digest("hex") };
}

const writing = process.env.EMBEDKIT_WRITE_PINS === "1";
const dumpPath = process.env.EMBEDKIT_PIN_DUMP;
const expected: Record<string, Pin> = writing
  ? {}
  : (JSON.parse(readFileSync(PINS, "utf8")) as Record<string, Pin>);
const actual: Record<string, Pin> = {};
const dump: Record<string, number[][]> = {};

function check(name: string, vectors: readonly Vector[], dims: number, tokens: number): void {
  const got = pin(vectors, dims, tokens);
  actual[name] = got;
  if (dumpPath !== undefined) dump[name] = vectors.map((vector) => Array.from(vector));
  if (!writing) expect(got, name).toEqual(expected[name]);
}

let folder: string;
let home: string;

beforeAll(async () => {
  folder = await temporaryFolder("pins");
  home = await temporaryFolder("pins-home");
});

afterAll(async () => {
  if (writing) writeFileSync(PINS, `${JSON.stringify(actual, null, 2)}\n`);
  if (dumpPath !== undefined) writeFileSync(dumpPath, JSON.stringify(dump));
  if (folder) await rm(folder, { recursive: true, force: true });
  if (home) await rm(home, { recursive: true, force: true });
});

async function withText(create: () => Promise<Embedder>, run: (embedder: Embedder) => Promise<void>) {
  const embedder = await create();
  try {
    await run(embedder);
  } finally {
    await embedder.close();
  }
}

async function withMedia(
  create: () => Promise<MediaEmbedder>,
  run: (embedder: MediaEmbedder) => Promise<void>,
) {
  const embedder = await create();
  try {
    await run(embedder);
  } finally {
    await embedder.close();
  }
}

describe("pinned outputs of the text embedders", () => {
  it("all-minilm-l6-v2: small batches under a token budget, dimensions and precisions", async () => {
    await withText(
      () => createEmbedder({ model: "all-minilm-l6-v2", threads: 1, maxBatchSize: 4, maxBatchTokens: 96 }),
      async (embedder) => {
        const plain = await embedder.embed(PIN_SENTENCES);
        check("minilm/float32", plain.vectors, plain.dims, plain.usage.tokens);
        const short = await embedder.embed(PIN_SENTENCES, { dimensions: 128, precision: "int8" });
        check("minilm/128-int8", short.vectors, short.dims, short.usage.tokens);
        const binary = await embedder.embed(PIN_SENTENCES, { precision: "binary" });
        check("minilm/binary", binary.vectors, binary.dims, binary.usage.tokens);
      },
    );
  });

  it("all-minilm-l6-v2: default batching", async () => {
    await withText(
      () => createEmbedder({ model: "all-minilm-l6-v2", threads: 1 }),
      async (embedder) => {
        const plain = await embedder.embed(PIN_SENTENCES);
        check("minilm/default-batches", plain.vectors, plain.dims, plain.usage.tokens);
      },
    );
  });

  it("bge-small-en-v1.5: query prefix and passages", async () => {
    await withText(
      () => createEmbedder({ model: "bge-small-en-v1.5", threads: 1, maxBatchSize: 5 }),
      async (embedder) => {
        const queries = await embedder.embed(PIN_SENTENCES.slice(0, 6), { inputType: "query" });
        check("bge/query", queries.vectors, queries.dims, queries.usage.tokens);
        const passages = await embedder.embed(PIN_SENTENCES, { inputType: "passage", dimensions: 64 });
        check("bge/passage-64", passages.vectors, passages.dims, passages.usage.tokens);
      },
    );
  });

  it("wink-glove-100d word vectors: SIF pooling, dimensions", async () => {
    await withText(
      () => createWordVectorEmbedder({ pooling: "sif" }),
      async (embedder) => {
        const result = await embedder.embed(PIN_SENTENCES, { dimensions: 50 });
        check("glove/sif-50", result.vectors, result.dims, result.usage.tokens);
      },
    );
  });
});

describe("pinned outputs of the media embedders", () => {
  const photos = sampleImages().slice(0, 5);

  it("image: MobileNetV2 (default), batches of 2", async () => {
    await withMedia(
      () => createImageEmbedder({ maxBatchSize: 2 }),
      async (embedder) => {
        const plain = await embedder.embed(photos);
        check("image/mobilenet", plain.vectors, plain.dims, plain.usage.inputs);
        const small = await embedder.embed(photos.slice(0, 3), { dimensions: 100, precision: "uint8" });
        check("image/mobilenet-100-uint8", small.vectors, small.dims, small.usage.inputs);
      },
    );
  });

  it("face: face-api descriptors", async () => {
    const demo = join(
      dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")),
      "demo",
    );
    const pulled = await createModelStore().ensure("face");
    await withMedia(
      () => createFaceEmbedder({ spec: pulled.spec, paths: pulled.paths }),
      async (embedder) => {
        const result = await embedder.embed([
          join(demo, "sample1.jpg"),
          samplePhoto("n04487394_trombone.JPEG"),
        ]);
        check("face/descriptor", result.vectors, result.dims, result.usage.inputs);
      },
    );
  });

  it("video: pooled MobileNetV2 frames", async () => {
    const out = join(folder, "two-shots.mp4");
    await buildShotVideo({ photos: photos.slice(0, 2), seconds: [1, 1], out, width: 160, height: 120 });
    await withMedia(
      () => createVideoEmbedder({ sampling: { kind: "uniform", fps: 2 } }),
      async (embedder) => {
        const result = await embedder.embed([out, out], { dimensions: 256 });
        check("video/mean", result.vectors, result.dims, result.usage.inputs);
      },
    );
  });

  const clips = [clip("0_george_0"), clip("1_jackson_0"), clip("2_nicolas_0"), clip("3_george_0")];

  it("audio: GE2E and MFCC statistics", async () => {
    await withMedia(
      () => createAudioEmbedder({ model: "resemblyzer-ge2e", threads: 1 }),
      async (embedder) => {
        const result = await embedder.embed(clips);
        check("audio/ge2e", result.vectors, result.dims, result.usage.inputs);
      },
    );
    await withMedia(
      () => createAudioEmbedder({ model: "mfcc-stats" }),
      async (embedder) => {
        const result = await embedder.embed(clips, { precision: "int8" });
        check("audio/mfcc-int8", result.vectors, result.dims, result.usage.inputs);
      },
    );
  });

  it("audio: tiny wav2vec2 fixture", async () => {
    const dir = join(folder, "w2v");
    await writeTinyWav2Vec2(dir, { hidden: 24 });
    await withMedia(
      () => createAudioEmbedder({ model: `wav2vec2:dir:${dir}`, threads: 1 }),
      async (embedder) => {
        const result = await embedder.embed(clips);
        check("audio/wav2vec2-tiny", result.vectors, result.dims, result.usage.inputs);
      },
    );
  });

  it("CLIP and CLAP tiny fixtures: both towers", async () => {
    await writeTinyClip(join(folder, "tiny-clip"), { dims: 32, seed: 3 });
    const clipPair = await createClipEmbedder({
      model: `dir:${join(folder, "tiny-clip")}`,
      store: createModelStore({ home }),
    });
    try {
      const images = await clipPair.image.embed(photos.slice(0, 3));
      check("clip/image", images.vectors, images.dims, images.usage.inputs);
      const texts = await clipPair.text.embed(PIN_SENTENCES.slice(0, 7));
      check("clip/text", texts.vectors, texts.dims, texts.usage.tokens);
    } finally {
      await clipPair.close();
    }
    await writeTinyClap(join(folder, "tiny-clap"), { dims: 32, seed: 5 });
    const clapPair = await createClapEmbedder({
      model: `clap:dir:${join(folder, "tiny-clap")}`,
      store: createModelStore({ home }),
      threads: 1,
    });
    try {
      const sounds = await clapPair.audio.embed(clips.slice(0, 3));
      check("clap/audio", sounds.vectors, sounds.dims, sounds.usage.inputs);
      const texts = await clapPair.text.embed(PIN_SENTENCES.slice(0, 5), { dimensions: 16 });
      check("clap/text-16", texts.vectors, texts.dims, texts.usage.tokens);
    } finally {
      await clapPair.close();
    }
  });
});
