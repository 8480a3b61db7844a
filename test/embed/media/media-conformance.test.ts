/**
 * Every media embedder through the MediaEmbedder conformance suite, on real
 * models and files: the MobileNetV2 image default, face-api descriptors, the
 * video embedder (frames from ffmpeg), the GE2E speaker encoder, MFCC
 * statistics, and the random-weight CLIP / CLAP / wav2vec2 fixtures written by
 * scripts/make-tiny-*.ts. Sub-batches are kept small so each call has several.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { buildShotVideo } from "../../../scripts/make-test-videos.js";
import { writeTinyClap } from "../../../scripts/make-tiny-clap.js";
import { writeTinyClip } from "../../../scripts/make-tiny-clip.js";
import { writeTinyWav2Vec2 } from "../../../scripts/make-tiny-wav2vec2.js";
import { createClapEmbedder } from "../../../src/embed/media/audio/clap-embedder.js";
import { createAudioEmbedder } from "../../../src/embed/media/audio/create-audio-embedder.js";
import { createClipEmbedder } from "../../../src/embed/media/image/clip-embedder.js";
import { createImageEmbedder } from "../../../src/embed/media/image/create-image-embedder.js";
import { createFaceEmbedder } from "../../../src/embed/media/image/face-embedder.js";
import { createVideoEmbedder } from "../../../src/embed/media/video/video-embedder.js";
import { createModelStore } from "../../../src/models/store-impl.js";
import { clip } from "./audio-fixtures.js";
import { sampleImages, temporaryFolder } from "./image-fixtures.js";
import { runMediaEmbedderSuite } from "./media-embedder-suite.js";

const photos = (): string[] => sampleImages().slice(0, 3);
const clips = (): string[] => [clip("0_george_0"), clip("1_jackson_0"), clip("2_nicolas_0")];
const demo = join(
  dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")),
  "demo",
);

let folder: string;
let videos: string[] = [];
beforeAll(async () => {
  folder = await temporaryFolder("media-conformance");
  const stills = sampleImages();
  videos = [];
  for (const [index, photo] of [stills[3], stills[11], stills[19]].entries()) {
    const out = join(folder, `shot-${index}.mp4`);
    await buildShotVideo({ photos: [photo as string], seconds: [1], out, width: 160, height: 120 });
    videos.push(out);
  }
  await writeTinyClip(join(folder, "tiny-clip"), { dims: 32, seed: 3 });
  await writeTinyClap(join(folder, "tiny-clap"), { dims: 32, seed: 5 });
  await writeTinyWav2Vec2(join(folder, "tiny-w2v"), { hidden: 24 });
});

afterAll(async () => {
  const { rm } = await import("node:fs/promises");
  if (folder) await rm(folder, { recursive: true, force: true });
});

runMediaEmbedderSuite({
  name: "image, MobileNetV2 (default)",
  create: () => createImageEmbedder({ maxBatchSize: 2 }),
  inputs: photos,
  wrongType: () => clip("0_george_0"),
  extension: "jpg",
});

runMediaEmbedderSuite({
  name: "face, face-api descriptors",
  create: async () => {
    const pulled = await createModelStore().ensure("face");
    return createFaceEmbedder({ spec: pulled.spec, paths: pulled.paths });
  },
  inputs: () => ["sample1.jpg", "sample2.jpg", "sample4.jpg"].map((name) => join(demo, name)),
  wrongType: () => clip("0_george_0"),
  extension: "jpg",
});

runMediaEmbedderSuite({
  name: "video, pooled MobileNetV2 frames",
  create: () => createVideoEmbedder({ sampling: { kind: "uniform", fps: 2 } }),
  inputs: () => videos,
  wrongType: () => photos()[0] as string,
  extension: "mp4",
});

runMediaEmbedderSuite({
  name: "audio, resemblyzer GE2E",
  create: () => createAudioEmbedder({ model: "resemblyzer-ge2e", maxBatchSize: 2, threads: 1 }),
  inputs: clips,
  wrongType: () => photos()[0] as string,
  extension: "wav",
});

runMediaEmbedderSuite({
  name: "audio, MFCC statistics",
  create: () => createAudioEmbedder({ model: "mfcc-stats", maxBatchSize: 2 }),
  inputs: clips,
  wrongType: () => photos()[0] as string,
  extension: "wav",
});

runMediaEmbedderSuite({
  name: "audio, wav2vec2-style ONNX (tiny fixture)",
  create: () =>
    createAudioEmbedder({ model: `wav2vec2:dir:${join(folder, "tiny-w2v")}`, maxBatchSize: 2, threads: 1 }),
  inputs: clips,
  wrongType: () => photos()[0] as string,
  extension: "wav",
});

runMediaEmbedderSuite({
  name: "CLIP image tower (tiny fixture)",
  create: async () => {
    const pair = await createClipEmbedder({
      model: `dir:${join(folder, "tiny-clip")}`,
      store: createModelStore({ home: join(folder, "clip-home") }),
      maxBatchSize: 2,
      threads: 1,
    });
    return { model: pair.image.model, embed: pair.image.embed, close: () => pair.close() };
  },
  inputs: photos,
  wrongType: () => clip("0_george_0"),
  extension: "jpg",
});

runMediaEmbedderSuite({
  name: "CLAP audio tower (tiny fixture)",
  create: async () => {
    const pair = await createClapEmbedder({
      model: `clap:dir:${join(folder, "tiny-clap")}`,
      store: createModelStore({ home: join(folder, "clap-home") }),
      maxBatchSize: 2,
      threads: 1,
    });
    return { model: pair.audio.model, embed: pair.audio.embed, close: () => pair.close() };
  },
  inputs: clips,
  wrongType: () => photos()[0] as string,
  extension: "wav",
});
