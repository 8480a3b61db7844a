import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyWav2Vec2 } from "../../../scripts/make-tiny-wav2vec2.js";
import type { AudioEmbedder } from "../../../src/embed/media/audio/audio-embedder.js";
import { createAudioEmbedder } from "../../../src/embed/media/audio/create-audio-embedder.js";
import { decodeAudio } from "../../../src/embed/media/audio/decode-audio.js";
import { createGe2eCore, partialSlices } from "../../../src/embed/media/audio/ge2e-embedder.js";
import { MFCC_STATISTICS_DIMS } from "../../../src/embed/media/audio/mfcc-embedder.js";
import { EmbedkitError } from "../../../src/errors.js";
import { createModelStore } from "../../../src/models/store-impl.js";
import { readTorchCheckpoint } from "../../../src/models/torch-checkpoint.js";
import { cosineSimilarity } from "../../../src/vectors/math.js";
import { startFileServer } from "../../models/helpers.js";
import { AUDIO_FIXTURES, CLIPS, clip, ffmpeg, temporaryFolder } from "./audio-fixtures.js";

const reference = JSON.parse(readFileSync(join(AUDIO_FIXTURES, "ge2e-reference.json"), "utf8")) as {
  embeddings: Record<string, number[]>;
  mel: { file: string; rows: number[][]; embedding: number[] };
};

/** Mean cosine of same-speaker pairs and of cross-speaker pairs. */
function speakerSeparation(vectors: readonly Float32Array[]): { same: number; cross: number } {
  const same: number[] = [];
  const cross: number[] = [];
  for (let i = 0; i < CLIPS.length; i++) {
    for (let j = i + 1; j < CLIPS.length; j++) {
      const score = cosineSimilarity(vectors[i] as Float32Array, vectors[j] as Float32Array);
      (CLIPS[i]?.speaker === CLIPS[j]?.speaker ? same : cross).push(score);
    }
  }
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  return { same: mean(same), cross: mean(cross) };
}

describe("resemblyzer GE2E speaker embedder", () => {
  let embedder: AudioEmbedder;
  beforeAll(async () => {
    // Pulled through the real store from PyPI (pinned wheel + pretrained.pt) on first use.
    embedder = await createAudioEmbedder({ model: "resemblyzer-ge2e", threads: 2 });
  });
  afterAll(async () => {
    await embedder?.close();
  });

  it("describes itself: 256-d, unit vectors, audio, 10-minute limit", () => {
    expect(embedder.model).toMatchObject({
      id: "resemblyzer-ge2e",
      dims: 256,
      modality: "audio",
      normalize: true,
    });
    expect(embedder.model.limits.maxDurationSeconds).toBe(600);
    expect(embedder.sampleRate).toBe(16_000);
  });

  it("reads pretrained.pt without Python: the network gives the numpy reference output for one partial", async () => {
    const store = createModelStore();
    const pulled = await store.open("resemblyzer-ge2e");
    const tensors = readTorchCheckpoint(readFileSync(pulled.path("weights")), "pretrained.pt");
    expect(tensors.get("model_state.lstm.weight_ih_l0")?.shape).toEqual([1024, 40]);
    expect(tensors.get("model_state.linear.weight")?.shape).toEqual([256, 256]);
    // The exact model input of the reference (one 160×40 partial) → the reference's output.
    const core = await createGe2eCore({ weightsPath: pulled.path("weights"), threads: 1 });
    try {
      const [vector] = await core.embedPartials([Float32Array.from(reference.mel.rows.flat())]);
      expect(cosineSimilarity(vector as Float32Array, reference.mel.embedding)).toBeGreaterThan(0.99999);
      await expect(core.embedPartials([new Float32Array(10)])).rejects.toThrow(/expected 160×40 = 6400/);
    } finally {
      await core.close();
    }
  });

  it("matches the numpy re-implementation of resemblyzer on every fixture clip (cos > 0.999)", async () => {
    const { vectors } = await embedder.embed(CLIPS.map((item) => item.path));
    CLIPS.forEach((item, index) => {
      const expected = reference.embeddings[`${item.name}.wav`] as number[];
      expect(cosineSimilarity(vectors[index] as Float32Array, expected), item.name).toBeGreaterThan(0.999);
    });
  });

  it("places clips of the same speaker closer than clips of different speakers", async () => {
    const { vectors, usage } = await embedder.embed(CLIPS.map((item) => item.path));
    const { same, cross } = speakerSeparation(vectors as Float32Array[]);
    expect(same).toBeGreaterThan(cross + 0.05);
    expect(usage.inputs).toBe(12);
    expect(usage.seconds).toBeGreaterThan(3);
  });

  it("gives the same vector for the same clip as WAV and FLAC, and as bytes", async () => {
    const folder = temporaryFolder();
    const flac = join(folder, "clip.flac");
    ffmpeg("-i", clip("2_nicolas_0"), flac);
    const { vectors } = await embedder.embed([
      clip("2_nicolas_0"),
      flac,
      { data: readFileSync(flac), name: "clip.flac" },
    ]);
    expect(cosineSimilarity(vectors[0] as Float32Array, vectors[1] as Float32Array)).toBeGreaterThan(0.9999);
    expect(vectors[2]).toEqual(vectors[1]);
  });

  it("cuts long clips into 1.6 s partials every 0.77 s like resemblyzer, and embeds a 5 s clip", async () => {
    expect(partialSlices(8000)).toEqual([[0, 160]]);
    // 5 s at 16 kHz: 501 frames → partials start every 77 frames; the last one kept if ≥ 75 % covered.
    const slices = partialSlices(80_000);
    expect(slices[0]).toEqual([0, 160]);
    expect(slices[1]).toEqual([77, 237]);
    expect(slices.length).toBe(5);
    const { samples } = await decodeAudio(clip("0_george_0"));
    const long = new Float32Array(80_000);
    for (let at = 0; at < long.length; at += samples.length)
      long.set(samples.subarray(0, long.length - at), at);
    const [vector] = await embedder.embedSamples([long]);
    expect(vector?.length).toBe(256);
  });

  it("applies dimensions and precision like the text embedders", async () => {
    const result = await embedder.embed([clip("0_george_0")], { dimensions: 64, precision: "int8" });
    expect(result.dims).toBe(64);
    expect(result.vectors[0]).toBeInstanceOf(Int8Array);
    expect(result.vectors[0]?.length).toBe(64);
  });

  it("rejects the whole call when one input is bad, before decoding anything", async () => {
    const folder = temporaryFolder();
    const empty = join(folder, "empty.wav");
    writeFileSync(empty, "");
    await expect(embedder.embed([clip("0_george_0"), empty])).rejects.toThrow(/empty \(0 bytes\)/);
    await expect(embedder.embed([clip("0_george_0"), 42 as unknown as string])).rejects.toThrow(
      EmbedkitError,
    );
    await expect(embedder.embedSamples([new Float32Array(0)])).rejects.toThrow(/non-empty Float32Array/);
  });

  it("refuses audio over the per-call duration limit", async () => {
    await expect(
      embedder.embed([clip("0_george_0")], { limits: { maxDurationSeconds: 0.1 } }),
    ).rejects.toThrow(/the limit is 0\.10 s/);
  });
});

describe("MFCC-statistics baseline", () => {
  it("gives 79-d unit vectors that ignore loudness and separate speakers on the fixtures", async () => {
    const embedder = await createAudioEmbedder({ model: "mfcc-stats" });
    try {
      expect(embedder.model).toMatchObject({ id: "mfcc-stats", dims: MFCC_STATISTICS_DIMS, normalize: true });
      const { vectors } = await embedder.embed(CLIPS.map((item) => item.path));
      expect(vectors[0]?.length).toBe(79);
      const { samples } = await decodeAudio(clip("1_jackson_0"));
      const [loud, quiet] = await embedder.embedSamples([samples, samples.map((value) => value * 0.25)]);
      expect(cosineSimilarity(loud as Float32Array, quiet as Float32Array)).toBeGreaterThan(0.999);
      const { same, cross } = speakerSeparation(vectors as Float32Array[]);
      expect(same).toBeGreaterThan(cross);
    } finally {
      await embedder.close();
    }
  });
});

describe("wav2vec2-style ONNX folders (tiny random-weight fixture, not a working model)", () => {
  it("runs input_values → last_hidden_state, mean-pools, normalises, and is deterministic", async () => {
    const folder = temporaryFolder("embedkit-tiny-w2v-");
    await writeTinyWav2Vec2(folder, { hidden: 24 });
    const embedder = await createAudioEmbedder({ model: `wav2vec2:dir:${folder}`, threads: 1 });
    try {
      expect(embedder.model.dims).toBe(24);
      const first = await embedder.embed([clip("0_george_0"), clip("1_jackson_0")]);
      const again = await embedder.embed([clip("0_george_0")]);
      expect(first.vectors[0]).toEqual(again.vectors[0]);
      const norm = Math.hypot(...(first.vectors[0] as Float32Array));
      expect(norm).toBeCloseTo(1, 5);
    } finally {
      await embedder.close();
    }
  });

  it("feeds attention_mask when the graph asks for it", async () => {
    const folder = temporaryFolder("embedkit-tiny-w2v-mask-");
    await writeTinyWav2Vec2(folder, { attentionMask: true });
    const embedder = await createAudioEmbedder({ model: `wav2vec2:dir:${folder}`, threads: 1 });
    try {
      const { vectors } = await embedder.embed([clip("3_nicolas_0")]);
      expect(vectors[0]?.length).toBe(32);
    } finally {
      await embedder.close();
    }
  });

  it("pulls wav2vec2:hf:owner/name@revision from a Hub mirror through the store, then opens it offline", async () => {
    const folder = temporaryFolder("embedkit-tiny-w2v-hub-");
    await writeTinyWav2Vec2(folder, { hidden: 8 });
    const files: Record<string, Buffer> = {
      "/test-org/tiny-w2v/resolve/v1/onnx/model.onnx": readFileSync(join(folder, "onnx/model.onnx")),
      "/test-org/tiny-w2v/resolve/v1/preprocessor_config.json": readFileSync(
        join(folder, "preprocessor_config.json"),
      ),
    };
    const server = await startFileServer((path) =>
      files[path] === undefined ? undefined : { body: files[path] as Buffer },
    );
    const home = temporaryFolder("embedkit-hub-home-");
    try {
      const store = createModelStore({ home, hfEndpoint: server.url, retries: 0 });
      const embedder = await createAudioEmbedder({
        model: "wav2vec2:hf:test-org/tiny-w2v@v1",
        store,
        threads: 1,
      });
      const { vectors } = await embedder.embed([clip("0_george_0")]);
      await embedder.close();
      expect(embedder.model).toMatchObject({ id: "wav2vec2:hf:test-org/tiny-w2v@v1", dims: 8 });
      expect(server.count("model.onnx")).toBe(1);
      // Installed: a second open needs no network.
      await server.close();
      const again = await createAudioEmbedder({
        model: "wav2vec2:hf:test-org/tiny-w2v@v1",
        store,
        threads: 1,
      });
      expect((await again.embed([clip("0_george_0")])).vectors[0]).toEqual(vectors[0]);
      await again.close();
    } finally {
      await server.close().catch(() => undefined);
    }
  });

  it("names the missing file when the Hub repository has no ONNX graph", async () => {
    const server = await startFileServer(() => undefined);
    try {
      const store = createModelStore({
        home: temporaryFolder("embedkit-hub-404-"),
        hfEndpoint: server.url,
        retries: 0,
      });
      await expect(createAudioEmbedder({ model: "wav2vec2:hf:test-org/missing", store })).rejects.toThrow(
        /test-org\/missing\/resolve\/main\/onnx\/model\.onnx.*404/,
      );
    } finally {
      await server.close();
    }
  });

  it("says what is missing for a folder without model.onnx, and refuses a non-audio graph", async () => {
    const empty = temporaryFolder("embedkit-empty-");
    await expect(createAudioEmbedder({ model: `wav2vec2:dir:${empty}` })).rejects.toThrow(
      /has no model\.onnx or onnx\/model\.onnx/,
    );
    const clipFolder = temporaryFolder("embedkit-clip-as-audio-");
    const { writeTinyClip } = await import("../../../scripts/make-tiny-clip.js");
    await writeTinyClip(clipFolder);
    const { copyFileSync } = await import("node:fs");
    copyFileSync(join(clipFolder, "onnx/vision_model.onnx"), join(clipFolder, "model.onnx"));
    await expect(createAudioEmbedder({ model: `wav2vec2:dir:${clipFolder}` })).rejects.toThrow(
      /not "input_values": it is not a raw-waveform audio encoder/,
    );
  });
});

describe("createAudioEmbedder", () => {
  it("refuses a text model as an audio model, naming the audio choices", async () => {
    await expect(createAudioEmbedder({ model: "all-minilm-l6-v2" })).rejects.toThrow(
      /is a text model, not an audio model/,
    );
  });

  it("refuses an unknown model", async () => {
    await expect(createAudioEmbedder({ model: "no-such-audio-model" })).rejects.toThrow(EmbedkitError);
  });
});
