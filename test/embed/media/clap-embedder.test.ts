/**
 * CLAP audio ↔ text. The model here is the random-weight fixture from
 * scripts/make-tiny-clap.ts: CLAP's real input/output names, shapes and file
 * layout, but vectors that mean nothing. These tests cover the code path (files,
 * 48 kHz front-end, windows, both ONNX towers, normalisation, store search,
 * errors), not retrieval quality. The front-end's numbers are checked against
 * Hugging Face's own ClapFeatureExtractor (test/fixtures/audio/clap-logmel.json).
 */
import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyClap } from "../../../scripts/make-tiny-clap.js";
import { writeTinyClip } from "../../../scripts/make-tiny-clip.js";
import { createEmbedder } from "../../../src/embed/create-embedder.js";
import { type ClapEmbedder, createClapEmbedder } from "../../../src/embed/media/audio/clap-embedder.js";
import {
  clapFrames,
  clapFrontEndFromConfig,
  clapLogMel,
  clapWindows,
  CLAP_HTSAT_UNFUSED_FRONT_END as FRONT_END,
  padClip,
} from "../../../src/embed/media/audio/clap-features.js";
import { createAudioEmbedder } from "../../../src/embed/media/audio/create-audio-embedder.js";
import { decodeWavSamples, parseWavHeader } from "../../../src/embed/media/audio/wav.js";
import { createImageEmbedder } from "../../../src/embed/media/image/create-image-embedder.js";
import { mediaPathEmbedder } from "../../../src/embed/media/media-path-embedder.js";
import { createModelStore } from "../../../src/models/store-impl.js";
import { ensureCollection, indexDocuments, searchText } from "../../../src/store/documents.js";
import { openEmbeddedStore } from "../../../src/store/embedded-store.js";
import { cosineSimilarity, norm } from "../../../src/vectors/math.js";
import { AUDIO_FIXTURES, CLIPS, temporaryFolder, wavBytes } from "./audio-fixtures.js";
import { withHubFolder } from "./hub-server.js";
import { errorCode, sampleImages } from "./image-fixtures.js";

interface LogMelReference {
  readonly samples: number;
  readonly repeats: number;
  readonly shape: readonly number[];
  readonly frames: Readonly<Record<string, readonly number[]>>;
  readonly bandMeans: readonly number[];
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly settings: Record<string, unknown>;
}

const TONE = join(AUDIO_FIXTURES, "clap-tone-48k.wav");
const REFERENCE = JSON.parse(
  readFileSync(join(AUDIO_FIXTURES, "clap-logmel.json"), "utf8"),
) as LogMelReference;

function readWav(path: string): Float32Array {
  const bytes = new Uint8Array(readFileSync(path));
  const header = parseWavHeader(bytes, bytes.length, path);
  if (header === undefined) throw new Error(`${path} is not a WAV file`);
  return decodeWavSamples(header, bytes.subarray(header.dataOffset, header.dataOffset + header.dataBytes));
}

/** 16-bit PCM WAV bytes of `samples` (−1 … 1) at `sampleRate`. */
function pcmWav(samples: Float32Array, sampleRate: number): Uint8Array {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((value, index) => {
    data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(value * 32767))), index * 2);
  });
  return wavBytes({ sampleRate, declaredBytes: data.length, data: new Uint8Array(data) });
}

/** The same sound (a 300 → 3000 Hz sweep plus a 1 kHz partial) rendered at any rate. */
function sweep(seconds: number, sampleRate: number): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * sampleRate) }, (_, index) => {
    const t = index / sampleRate;
    const phase = 2 * Math.PI * (300 * t + ((3000 - 300) / (2 * seconds)) * t * t);
    return 0.4 * Math.sin(phase) + 0.1 * Math.sin(2 * Math.PI * 1000 * t);
  });
}

let folder: string;
let home: string;
let model: string;
let clap: ClapEmbedder;
const store = () => createModelStore({ home });

beforeAll(async () => {
  folder = await temporaryFolder("embedkit-clap-");
  home = await temporaryFolder("embedkit-clap-home-");
  await writeTinyClap(join(folder, "tiny-clap"), { dims: 32, seed: 5 });
  model = `clap:dir:${join(folder, "tiny-clap")}`;
  clap = await createClapEmbedder({ model, store: store(), threads: 1 });
});

afterAll(async () => {
  await clap?.close();
  await rm(folder, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

describe("CLAP front-end (48 kHz log-mel, fusion off)", () => {
  it("matches Hugging Face's ClapFeatureExtractor on the committed clip (repeat-padded to 10 s)", () => {
    const samples = readWav(TONE);
    expect(samples.length).toBe(REFERENCE.samples);
    const windows = clapWindows(samples, FRONT_END);
    expect(windows).toHaveLength(1);
    const mel = clapLogMel(windows[0] as Float32Array, FRONT_END);
    expect([1, 1, mel.frames, mel.bands]).toEqual(REFERENCE.shape);
    for (const [frame, row] of Object.entries(REFERENCE.frames)) {
      row.forEach((expected, band) => {
        const actual = mel.data[Number(frame) * mel.bands + band] as number;
        // float32 FFT vs numpy float64: within 0.01 dB everywhere, 0.002 dB above -60 dB.
        expect(Math.abs(actual - expected), `frame ${frame} band ${band}`).toBeLessThan(
          expected > -60 ? 2e-3 : 1e-2,
        );
      });
    }
    const means = new Float64Array(mel.bands);
    for (let f = 0; f < mel.frames; f++) {
      for (let b = 0; b < mel.bands; b++)
        means[b] = (means[b] as number) + (mel.data[f * mel.bands + b] as number);
    }
    REFERENCE.bandMeans.forEach((expected, band) => {
      expect(Math.abs((means[band] as number) / mel.frames - expected)).toBeLessThan(2e-3);
    });
    expect(Math.min(...mel.data)).toBeCloseTo(REFERENCE.min, 3);
    expect(Math.max(...mel.data)).toBeCloseTo(REFERENCE.max, 2);
  });

  it("repeats a short clip whole ⌊10 s / length⌋ times, then pads with zeros", () => {
    const samples = readWav(TONE);
    const padded = padClip(samples, FRONT_END);
    expect(padded.length).toBe(480_000);
    const repeats = REFERENCE.repeats;
    expect(padded[(repeats - 1) * samples.length + 123]).toBe(samples[123]);
    expect(padded.subarray(repeats * samples.length).every((value) => value === 0)).toBe(true);
    expect(padClip(samples, { ...FRONT_END, padding: "zeros" })[samples.length + 5]).toBe(0);
  });

  it("cuts long clips into full 10 s windows, the last one ending at the clip's end", () => {
    const seconds = (n: number) => new Float32Array(Math.round(n * 48_000)).map((_, i) => i);
    expect(clapWindows(seconds(10), FRONT_END)).toHaveLength(1);
    expect(clapWindows(seconds(20), FRONT_END).map((w) => w[0])).toEqual([0, 480_000]);
    const windows = clapWindows(seconds(25), FRONT_END);
    expect(windows.map((w) => [w.length, w[0]])).toEqual([
      [480_000, 0],
      [480_000, 480_000],
      [480_000, 25 * 48_000 - 480_000],
    ]);
    expect(clapFrames(FRONT_END)).toBe(1001);
  });

  it("reads preprocessor_config.json and refuses another feature extractor or impossible values", () => {
    expect(clapFrontEndFromConfig(REFERENCE.settings, "x")).toEqual(FRONT_END);
    expect(() =>
      clapFrontEndFromConfig({ feature_extractor_type: "Wav2Vec2FeatureExtractor" }, "p.json"),
    ).toThrow(/not ClapFeatureExtractor/);
    expect(() => clapFrontEndFromConfig({ hop_length: 0 }, "p.json")).toThrow(/hop_length/);
    expect(() => clapFrontEndFromConfig({ frequency_max: 30_000 }, "p.json")).toThrow(/frequency_max/);
  });
});

describe("CLAP audio + text pair (tiny random-weight fixture)", () => {
  it("embeds audio and text into the same 32-d unit space, audio at 48 kHz", async () => {
    const sounds = await clap.audio.embed([TONE, CLIPS[0]?.path as string]);
    const texts = await clap.text.embed(["a dog barking", "rain"]);
    expect(sounds.dims).toBe(32);
    expect(texts.dims).toBe(32);
    expect(clap.audio.sampleRate).toBe(48_000);
    expect(clap.audio.model.id).toBe(model);
    expect(clap.text.model.id).toBe(model);
    for (const vector of [...sounds.vectors, ...texts.vectors]) expect(norm(vector)).toBeCloseTo(1, 5);
    const fsddSeconds = readWav(CLIPS[0]?.path as string).length / 8000;
    expect(sounds.usage.seconds).toBeCloseTo(1.25 + fsddSeconds, 3);
    // <s> a Ġdog Ġbarking </s> and <s> rain </s>: 3 + 1 content tokens.
    expect(texts.usage.tokens).toBe(4);
  });

  it("is deterministic: the same clip gives the same vector in every call", async () => {
    const first = await clap.audio.embed([TONE]);
    const second = await clap.audio.embed([TONE]);
    expect(Array.from(second.vectors[0] as Float32Array)).toEqual(
      Array.from(first.vectors[0] as Float32Array),
    );
  });

  it("gives each clip and text the same vector alone as inside a batch", async () => {
    const paths = CLIPS.slice(0, 3).map((item) => item.path);
    const together = await clap.audio.embed([...paths, TONE]);
    for (const [index, path] of [...paths, TONE].entries()) {
      const [alone] = (await clap.audio.embed([path])).vectors;
      expect(
        cosineSimilarity(alone as Float32Array, together.vectors[index] as Float32Array),
      ).toBeGreaterThan(0.99999);
    }
    const prompts = ["rain", "a dog barking in the rain", "music"];
    const batch = await clap.text.embed(prompts);
    for (const [index, prompt] of prompts.entries()) {
      const [alone] = (await clap.text.embed([prompt])).vectors;
      expect(cosineSimilarity(alone as Float32Array, batch.vectors[index] as Float32Array)).toBeGreaterThan(
        0.99999,
      );
    }
  });

  it("embeds a clip longer than 10 s as the normalised mean of its windows", async () => {
    const long = sweep(23, 48_000);
    const [vector] = await clap.audio.embedSamples([long]);
    const parts = await clap.audio.embedSamples(
      clapWindows(long, FRONT_END).map((w) => Float32Array.from(w)),
    );
    expect(parts).toHaveLength(3);
    const mean = new Float32Array(32);
    for (const part of parts)
      for (let d = 0; d < 32; d++) mean[d] = (mean[d] as number) + (part[d] as number);
    expect(cosineSimilarity(vector as Float32Array, mean)).toBeGreaterThan(0.99999);
  });

  it("resamples other rates to 48 kHz: the same sound at 44.1, 48 and 16 kHz lands in the same place", async () => {
    const work = join(folder, "rates");
    await mkdir(work, { recursive: true });
    const paths = [];
    for (const rate of [44_100, 48_000, 16_000]) {
      const path = join(work, `sweep-${rate}.wav`);
      await writeFile(path, pcmWav(sweep(3, rate), rate));
      paths.push(path);
    }
    const { vectors, usage } = await clap.audio.embed(paths);
    expect(usage.seconds).toBeCloseTo(9, 3);
    const [at44, at48, at16] = vectors as Float32Array[];
    // The 16 kHz copy has nothing above 8 kHz, where the 48 kHz log-mel then reads −100 dB floors.
    expect(cosineSimilarity(at44 as Float32Array, at48 as Float32Array)).toBeGreaterThan(0.999);
    expect(cosineSimilarity(at16 as Float32Array, at48 as Float32Array)).toBeGreaterThan(0.9);
  });

  it("ranks audio by a text query through the vector store, and createEmbedder opens the text side by the collection's model name", async () => {
    const vectors = await openEmbeddedStore({ path: join(folder, "store") });
    try {
      const audio = mediaPathEmbedder(clap.audio);
      const sounds = await ensureCollection(vectors, "sounds", audio.model);
      const files = [...CLIPS.slice(0, 4).map((item) => item.path), TONE];
      await indexDocuments(
        sounds,
        audio,
        files.map((path) => ({ id: path, text: path, metadata: { modality: "audio" } })),
      );
      // What `embedkit search sounds "…"` does: open the embedder named by the collection.
      const text = await createEmbedder({ model: sounds.info.model, store: store(), threads: 1 });
      try {
        expect(text.model.id).toBe(model);
        const query = "a dog barking";
        const hits = await searchText(sounds, text, query, { k: files.length, exact: true });
        const [queryVector] = (await clap.text.embed([query])).vectors;
        const { vectors: fileVectors } = await clap.audio.embed(files);
        const expected = files
          .map((path, index) => ({
            path,
            score: cosineSimilarity(queryVector as Float32Array, fileVectors[index] as Float32Array),
          }))
          .sort((a, b) => b.score - a.score);
        expect(hits.map((hit) => hit.id)).toEqual(expected.map((item) => item.path));
        hits.forEach((hit, index) => {
          expect(hit.score).toBeCloseTo(expected[index]?.score as number, 4);
        });
      } finally {
        await text.close();
      }
    } finally {
      await vectors.close();
    }
  });

  it("pulls the same folder from a Hub-like server (clap:hf:owner/name@revision, HF_ENDPOINT)", async () => {
    const requested = await withHubFolder(join(folder, "tiny-clap"), "tiny/clap", "v2", async () => {
      const hub = await createClapEmbedder({ model: "clap:hf:tiny/clap@v2", store: store(), threads: 1 });
      try {
        expect(hub.audio.model.id).toBe("clap:hf:tiny/clap@v2");
        const [fromHub] = (await hub.audio.embed([TONE])).vectors;
        const [fromDir] = (await clap.audio.embed([TONE])).vectors;
        expect(cosineSimilarity(fromHub as Float32Array, fromDir as Float32Array)).toBeGreaterThan(0.99999);
      } finally {
        await hub.close();
      }
    });
    expect(requested).toContain("/tiny/clap/resolve/v2/onnx/audio_model.onnx");
    expect(requested).toContain("/tiny/clap/resolve/v2/preprocessor_config.json");
  });

  it("is reachable through createAudioEmbedder with the clap: prefix (same vectors), and a plain dir: to a CLAP folder opens both sides", async () => {
    const audio = await createAudioEmbedder({ model, store: store(), threads: 1 });
    try {
      const [direct] = (await clap.audio.embed([TONE])).vectors;
      const [viaFactory] = (await audio.embed([TONE])).vectors;
      expect(cosineSimilarity(direct as Float32Array, viaFactory as Float32Array)).toBeGreaterThan(0.99999);
      expect(audio.model.id).toBe(model);
    } finally {
      await audio.close();
    }
    // A plain dir: reference to a CLAP folder is recognised by its onnx/audio_model.onnx.
    const plain = `dir:${join(folder, "tiny-clap")}`;
    const [audioSide, textSide] = [
      await createAudioEmbedder({ model: plain, store: store(), threads: 1 }),
      await createEmbedder({ model: plain, store: store(), threads: 1 }),
    ];
    try {
      expect([audioSide.model.id, textSide.model.id]).toEqual([model, model]);
    } finally {
      await Promise.all([audioSide.close(), textSide.close()]);
    }
  });
});

describe("CLAP bad input", () => {
  it("refuses a 0-byte clip, an image given as audio, and an empty text", async () => {
    const empty = join(folder, "empty.wav");
    await writeFile(empty, new Uint8Array(0));
    expect(await errorCode(clap.audio.embed([empty]))).toBe("MALFORMED_FILE");
    await expect(clap.audio.embed([empty])).rejects.toThrow(/empty \(0 bytes\)/);
    expect(await errorCode(clap.audio.embed([sampleImages()[0] as string]))).toBe("UNSUPPORTED_MEDIA");
    expect(await errorCode(clap.audio.embed([join(folder, "missing.wav")]))).toBe("FILE_NOT_FOUND");
    expect(await errorCode(clap.text.embed([""]))).toBe("INVALID_INPUT");
  });

  it("names every missing file of a model folder, and a missing folder", async () => {
    const partial = join(folder, "partial");
    await writeTinyClap(partial, { dims: 8 });
    await rm(join(partial, "tokenizer.json"));
    await rm(join(partial, "onnx", "audio_model.onnx"));
    const failure = createClapEmbedder({ model: `clap:dir:${partial}`, store: store() });
    expect(await errorCode(failure)).toBe("FILE_NOT_FOUND");
    await expect(createClapEmbedder({ model: `clap:dir:${partial}`, store: store() })).rejects.toThrow(
      /lacks onnx\/audio_model\.onnx, tokenizer\.json/,
    );
    expect(await errorCode(createClapEmbedder({ model: `clap:dir:${join(folder, "nowhere")}` }))).toBe(
      "FILE_NOT_FOUND",
    );
    expect(await errorCode(createClapEmbedder({ model: "clap:clap-htsat" }))).toBe("UNKNOWN_MODEL");
  });

  it("refuses the wrong modality: a CLAP model for images, a CLIP model or folder for audio", async () => {
    const image = createImageEmbedder({ model, store: store() });
    expect(await errorCode(image)).toBe("INVALID_OPTION");
    await expect(createImageEmbedder({ model, store: store() })).rejects.toThrow(/audio-text \(CLAP\)/);
    const clipFolder = join(folder, "tiny-clip");
    await writeTinyClip(clipFolder, { dims: 8 });
    expect(await errorCode(createAudioEmbedder({ model: `clip:dir:${clipFolder}`, store: store() }))).toBe(
      "INVALID_OPTION",
    );
    await expect(createClapEmbedder({ model: `clap:dir:${clipFolder}`, store: store() })).rejects.toThrow(
      /image-text \(CLIP-style\) folder/,
    );
    await expect(
      createAudioEmbedder({ model: `wav2vec2:dir:${join(folder, "tiny-clap")}`, store: store() }),
    ).rejects.toThrow(/CLAP \(audio-text\) export.*Use clap:dir:/);
  });

  it("refuses a fused model, swapped towers and a wav2vec2 preprocessor", async () => {
    const fused = join(folder, "fused");
    await writeTinyClap(fused, { dims: 8 });
    const config = JSON.parse(await readFile(join(fused, "config.json"), "utf8"));
    config.audio_config.enable_fusion = true;
    await writeFile(join(fused, "config.json"), JSON.stringify(config));
    await expect(createClapEmbedder({ model: `clap:dir:${fused}`, store: store() })).rejects.toThrow(
      /fused CLAP model/,
    );

    const swapped = join(folder, "swapped");
    await writeTinyClap(swapped, { dims: 8 });
    await writeFile(
      join(swapped, "onnx", "audio_model.onnx"),
      await readFile(join(swapped, "onnx", "text_model.onnx")),
    );
    const swap = createClapEmbedder({ model: `clap:dir:${swapped}`, store: store() });
    expect(await errorCode(swap)).toBe("CORRUPT_MODEL");
    await expect(createClapEmbedder({ model: `clap:dir:${swapped}`, store: store() })).rejects.toThrow(
      /lacks input_features, audio_embeds/,
    );

    const speech = join(folder, "speech");
    await writeTinyClap(speech, { dims: 8 });
    await writeFile(
      join(speech, "preprocessor_config.json"),
      JSON.stringify({ feature_extractor_type: "Wav2Vec2FeatureExtractor", sampling_rate: 16000 }),
    );
    await expect(createClapEmbedder({ model: `clap:dir:${speech}`, store: store() })).rejects.toThrow(
      /not ClapFeatureExtractor/,
    );
  });
});
