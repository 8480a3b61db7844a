/**
 * The speech-content embedder (`speech-embedding`: Google speech_embedding via
 * openWakeWord 0.4.0) on the real model, pulled through the store: fidelity to
 * openWakeWord's own vectors (recorded by scripts/audio/speech-reference.py),
 * content over speaker on FSDD clips read from EMBEDKIT_DATA, padding and
 * pooling, bad input and broken model files, and the MediaEmbedder
 * conformance suite.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AudioEmbedder } from "../../../src/embed/media/audio/audio-embedder.js";
import { createAudioEmbedder } from "../../../src/embed/media/audio/create-audio-embedder.js";
import { decodeAudio } from "../../../src/embed/media/audio/decode-audio.js";
import {
  checkSpeechReference,
  createSpeechCore,
  pcmSha256,
  poolSpeechWindows,
  SPEECH_MIN_SAMPLES,
  SPEECH_REFERENCE_TOLERANCE,
  type SpeechCore,
  speechReferenceSignal,
} from "../../../src/embed/media/audio/speech-embedder.js";
import {
  SPEECH_REFERENCE_SHA256,
  SPEECH_REFERENCE_WINDOWS,
} from "../../../src/embed/media/audio/speech-reference.js";
import { EmbedkitError } from "../../../src/errors.js";
import { createModelStore } from "../../../src/models/store-impl.js";
import { cosineSimilarity } from "../../../src/vectors/math.js";
import { sharedData } from "../../helpers/data.js";
import { AUDIO_FIXTURES, clip, temporaryFolder, wavBytes } from "./audio-fixtures.js";
import { sampleImages } from "./image-fixtures.js";
import { runMediaEmbedderSuite } from "./media-embedder-suite.js";

const reference = JSON.parse(readFileSync(join(AUDIO_FIXTURES, "speech-reference.json"), "utf8")) as {
  clips: Record<string, { sha256: string; windows: number[][] }>;
};

/** Largest absolute difference between two window matrices of the same shape. */
function maxDifference(actual: readonly Float32Array[], expected: readonly (readonly number[])[]): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  actual.forEach((row, w) => {
    row.forEach((value, d) => {
      worst = Math.max(worst, Math.abs(value - ((expected[w] as readonly number[])[d] as number)));
    });
  });
  return worst;
}

/** The reference signal as float samples, as a decoded 16-bit WAV would give them. */
function referenceSamples(): Float32Array {
  return Float32Array.from(speechReferenceSignal(), (value) => value / 32_768);
}

async function openCore(): Promise<SpeechCore> {
  const pulled = await createModelStore().ensure("speech-embedding");
  return createSpeechCore({
    melPath: pulled.path("features-onnx"),
    embeddingPath: pulled.path("onnx"),
    threads: 1,
  });
}

describe("speech-embedding (Google speech_embedding as openWakeWord 0.4.0 runs it)", () => {
  let embedder: AudioEmbedder;
  let core: SpeechCore;
  beforeAll(async () => {
    // Pulled through the real store from PyPI (pinned wheel, two pinned graphs) on first use.
    embedder = await createAudioEmbedder({ model: "speech-embedding", threads: 1 });
    core = await openCore();
  });
  afterAll(async () => {
    await embedder?.close();
    await core?.close();
  });

  it("describes itself (96-d unit vectors at 16 kHz) and has passed its reference check on first use", async () => {
    expect(embedder.model).toMatchObject({
      id: "speech-embedding",
      dims: 96,
      modality: "audio",
      normalize: true,
    });
    expect(embedder.sampleRate).toBe(16_000);
    const pulled = await createModelStore().open("speech-embedding");
    expect(Object.keys(pulled.paths).sort()).toEqual(["embedding_model.onnx", "melspectrogram.onnx"]);
    const stamp = JSON.parse(readFileSync(join(pulled.dir, "speech-reference-ok.json"), "utf8")) as {
      key: string;
      maxDifference: number;
    };
    expect(stamp.key).toBe(pulled.spec.files.map((file) => file.sha256).join(","));
    expect(stamp.maxDifference).toBeLessThanOrEqual(SPEECH_REFERENCE_TOLERANCE);
  });

  it("rebuilds the reference signal bit for bit and reproduces openWakeWord's window vectors (max |Δ| ≤ 1e-3)", async () => {
    expect(pcmSha256(speechReferenceSignal())).toBe(SPEECH_REFERENCE_SHA256);
    const [windows] = await core.embedWindows([referenceSamples()], { padding: "center" });
    // 1.5 s → 147 mel frames → 9 windows of 76 frames every 8.
    expect(windows).toHaveLength(9);
    expect(maxDifference(windows as Float32Array[], SPEECH_REFERENCE_WINDOWS)).toBeLessThanOrEqual(
      SPEECH_REFERENCE_TOLERANCE,
    );
  });

  it("matches openWakeWord on FSDD clips decoded and resampled by embedkit (cos > 0.999 per window)", async () => {
    for (const [name, expected] of Object.entries(reference.clips)) {
      // The committed fixture is the same file the reference script read from EMBEDKIT_DATA.
      const bytes = readFileSync(join(AUDIO_FIXTURES, name));
      expect(createHash("sha256").update(bytes).digest("hex"), name).toBe(expected.sha256);
      const { samples } = await decodeAudio(join(AUDIO_FIXTURES, name), { sampleRate: 16_000 });
      const [windows = []] = await core.embedWindows([samples]);
      expect(windows.length, name).toBe(expected.windows.length);
      windows.forEach((vector, w) => {
        expect(
          cosineSimilarity(vector, expected.windows[w] as number[]),
          `${name} window ${w}`,
        ).toBeGreaterThan(0.999);
      });
      const [clipVector] = await embedder.embedSamples([samples]);
      const pooled = poolSpeechWindows(
        expected.windows.map((row) => Float32Array.from(row)),
        "mean",
      );
      expect(cosineSimilarity(clipVector as Float32Array, pooled), name).toBeGreaterThan(0.9995);
    }
  });

  it("refuses a copy that is slightly off (CORRUPT_MODEL, no stamp), accepts the real one once", async () => {
    const folder = temporaryFolder("embedkit-speech-stamp-");
    const key = "test-key";
    const shifted: SpeechCore = {
      ...core,
      embedWindows: async (clips, options) =>
        (await core.embedWindows(clips, options)).map((rows) => rows.map((row) => row.map((v) => v + 0.01))),
    };
    await expect(checkSpeechReference(shifted, { dir: folder, key })).rejects.toThrow(
      /does not reproduce openWakeWord's reference vectors.*max \|Δ\| = 0\.01/,
    );
    expect(existsSync(join(folder, "speech-reference-ok.json"))).toBe(false);
    const observed = await checkSpeechReference(core, { dir: folder, key });
    expect(observed).toBeLessThanOrEqual(SPEECH_REFERENCE_TOLERANCE);
    expect(existsSync(join(folder, "speech-reference-ok.json"))).toBe(true);
    // Stamped for this key: the check is not run again.
    await expect(checkSpeechReference(shifted, { dir: folder, key })).resolves.toBe(0);
  });

  it("pads with half a window of silence on each side; 'center' pads only clips shorter than a window", async () => {
    const half = new Float32Array(8_000).map((_, i) => Math.sin(i / 7) * 0.3);
    const exact = new Float32Array(SPEECH_MIN_SAMPLES).map((_, i) => Math.sin(i / 5) * 0.3);
    const [same, centred, oneWindow, twoWindows] = [
      ...(await core.embedWindows([half])),
      ...(await core.embedWindows([half, exact, new Float32Array(SPEECH_MIN_SAMPLES + 1_280).fill(0.1)], {
        padding: "center",
      })),
    ];
    // 8,000 + 12,512 samples → 126 mel frames → 7 windows; centred in one window → 1.
    expect(same).toHaveLength(7);
    expect(centred).toHaveLength(1);
    expect(oneWindow).toHaveLength(1);
    expect(twoWindows).toHaveLength(2);
    const mean = poolSpeechWindows(twoWindows as Float32Array[], "mean");
    const [a, b] = twoWindows as Float32Array[];
    expect(mean[5]).toBeCloseTo(((a?.[5] as number) + (b?.[5] as number)) / 2, 5);
    expect(poolSpeechWindows(twoWindows as Float32Array[], "mean-std")).toHaveLength(192);
  });

  it("places the same digit by different speakers closer than different digits (FSDD, 6 speakers × 10 digits)", async () => {
    const speakers = ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"];
    const items = speakers.flatMap((speaker) =>
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((digit) => ({
        speaker,
        digit,
        path: sharedData(`fsdd-audio/recordings/${digit}_${speaker}_1.wav`),
      })),
    );
    const { vectors } = await embedder.embed(items.map((item) => item.path));
    const same: number[] = [];
    const different: number[] = [];
    let nearestSameDigit = 0;
    items.forEach((a, i) => {
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      items.forEach((b, j) => {
        if (a.speaker === b.speaker) return;
        const score = cosineSimilarity(vectors[i] as Float32Array, vectors[j] as Float32Array);
        if (j > i) (a.digit === b.digit ? same : different).push(score);
        if (score > bestScore) {
          bestScore = score;
          best = j;
        }
      });
      if (items[best]?.digit === a.digit) nearestSameDigit++;
    });
    const mean = (values: number[]): number => values.reduce((x, y) => x + y, 0) / values.length;
    // Raw cosines share a large common component (0.92 vs 0.83 when recorded); the ranking is what counts.
    expect(mean(same)).toBeGreaterThan(mean(different) + 0.05);
    // A clip's nearest clip by another speaker says the same digit far above chance (10 %); 0.98 when recorded.
    expect(nearestSameDigit / items.length).toBeGreaterThan(0.8);
  });

  it("rejects a non-audio file, an empty file and a WAV without samples, naming the input, before any work", async () => {
    const folder = temporaryFolder("embedkit-speech-bad-");
    const text = join(folder, "notes.wav");
    writeFileSync(text, "these are not the samples you are looking for\n".repeat(20));
    const empty = join(folder, "empty.wav");
    writeFileSync(empty, "");
    const silent = join(folder, "no-samples.wav");
    writeFileSync(silent, wavBytes({ sampleRate: 16_000, declaredBytes: 0, data: new Uint8Array(0) }));
    await expect(embedder.embed([clip("0_george_0"), text])).rejects.toThrow(/notes\.wav/);
    await expect(embedder.embed([clip("0_george_0"), empty])).rejects.toThrow(/empty \(0 bytes\)/);
    await expect(embedder.embed([silent])).rejects.toThrow(/no-samples\.wav.*(no audio|0\.00 s|no samples)/i);
    await expect(embedder.embedSamples([new Float32Array(0)])).rejects.toThrow(/non-empty Float32Array/);
  });

  it("refuses broken model files: a changed byte (CHECKSUM_MISMATCH), a non-ONNX file and the wrong graph (CORRUPT_MODEL)", async () => {
    const pulled = await createModelStore().open("speech-embedding");
    const home = temporaryFolder("embedkit-speech-home-");
    cpSync(pulled.dir, join(home, "models", "speech-embedding"), { recursive: true });
    const copied = join(home, "models", "speech-embedding", "embedding_model.onnx");
    const bytes = readFileSync(copied);
    bytes[bytes.length >> 1] = ((bytes[bytes.length >> 1] as number) + 1) & 0xff;
    writeFileSync(copied, bytes);
    await expect(
      createAudioEmbedder({ model: "speech-embedding", store: createModelStore({ home }), threads: 1 }),
    ).rejects.toThrow(expect.objectContaining({ code: "CHECKSUM_MISMATCH" }));

    const garbage = join(home, "garbage.onnx");
    writeFileSync(garbage, "not an onnx graph");
    await expect(
      createSpeechCore({ melPath: garbage, embeddingPath: pulled.path("onnx"), threads: 1 }),
    ).rejects.toThrow(expect.objectContaining({ code: "CORRUPT_MODEL" }));
    await expect(
      createSpeechCore({
        melPath: pulled.path("onnx"),
        embeddingPath: pulled.path("features-onnx"),
        threads: 1,
      }),
    ).rejects.toThrow(/not openWakeWord's melspectrogram\.onnx/);
    await expect(
      createSpeechCore({
        melPath: pulled.path("features-onnx"),
        embeddingPath: pulled.path("onnx"),
        pooling: "median" as never,
      }),
    ).rejects.toThrow(EmbedkitError);
  });
});

runMediaEmbedderSuite({
  name: "audio, speech-embedding (openWakeWord)",
  create: () => createAudioEmbedder({ model: "speech-embedding", maxBatchSize: 2, threads: 1 }),
  inputs: () => [clip("0_george_0"), clip("1_jackson_0"), clip("2_nicolas_0")],
  wrongType: () => sampleImages()[0] as string,
  extension: "wav",
});
