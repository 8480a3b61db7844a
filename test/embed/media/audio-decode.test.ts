import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeAudio } from "../../../src/embed/media/audio/decode-audio.js";
import { createFftPlan } from "../../../src/embed/media/audio/fft.js";
import {
  deltas,
  melSpectrogram,
  mfccFromLogMel,
  powerToDecibels,
} from "../../../src/embed/media/audio/mel.js";
import { resample } from "../../../src/embed/media/audio/resample.js";
import { EmbedkitError } from "../../../src/errors.js";
import { cosineSimilarity } from "../../../src/vectors/math.js";
import {
  AUDIO_FIXTURES,
  clip,
  ffmpeg,
  patchFlacLength,
  temporaryFolder,
  wavBytes,
} from "./audio-fixtures.js";

const SOURCE = clip("0_jackson_0");
const librosa = JSON.parse(readFileSync(join(AUDIO_FIXTURES, "librosa-mel.json"), "utf8")) as {
  samples: number;
  ge2eMel: { frames: number; firstRows: number[][]; sum: number };
  mfcc: { frames: number; logMelRows: number[][]; mfccRows: number[][] };
  resample16k: { samples: number; head: number[] };
};

describe("decodeAudio: formats", () => {
  const folder = temporaryFolder();
  const encoded = {
    flac: join(folder, "clip.flac"),
    mp3: join(folder, "clip.mp3"),
    ogg: join(folder, "clip.ogg"),
    stereo: join(folder, "stereo-44k.wav"),
  };
  ffmpeg("-i", SOURCE, encoded.flac);
  ffmpeg("-i", SOURCE, "-b:a", "64k", encoded.mp3);
  ffmpeg("-i", SOURCE, "-c:a", "libvorbis", "-q:a", "6", encoded.ogg);
  ffmpeg("-i", SOURCE, "-ac", "2", "-ar", "44100", "-c:a", "pcm_s16le", encoded.stereo);

  it("reads plain PCM WAV in TypeScript at its own rate, sample for sample", async () => {
    const decoded = await decodeAudio(SOURCE, { sampleRate: 8000 });
    expect(decoded).toMatchObject({
      format: "wav",
      sourceSampleRate: 8000,
      sourceChannels: 1,
      sampleRate: 8000,
    });
    expect(decoded.samples.length).toBe(librosa.samples);
    // Same samples as librosa.load (int16 / 32768).
    const bytes = readFileSync(SOURCE);
    expect(decoded.samples[100]).toBeCloseTo(bytes.readInt16LE(44 + 200) / 32768, 7);
  });

  it("decodes FLAC through ffmpeg to exactly the WAV's samples (lossless)", async () => {
    const wav = await decodeAudio(SOURCE);
    const flac = await decodeAudio(encoded.flac);
    expect(flac.format).toBe("flac");
    expect(flac.samples.length).toBe(wav.samples.length);
    let maxDifference = 0;
    for (let i = 0; i < wav.samples.length; i++) {
      maxDifference = Math.max(
        maxDifference,
        Math.abs((wav.samples[i] as number) - (flac.samples[i] as number)),
      );
    }
    expect(maxDifference).toBeLessThan(1e-6);
  });

  it("decodes MP3 and OGG Vorbis to 16 kHz mono with the clip's duration and waveform", async () => {
    const wav = await decodeAudio(SOURCE);
    for (const [path, format] of [
      [encoded.mp3, "mp3"],
      [encoded.ogg, "ogg"],
    ] as const) {
      const decoded = await decodeAudio(path);
      expect(decoded.format).toBe(format);
      expect(decoded.sampleRate).toBe(16_000);
      expect(Math.abs(decoded.durationSeconds - wav.durationSeconds)).toBeLessThan(0.08);
      // Lossy, but the same waveform: compare over the common length.
      const length = Math.min(wav.samples.length, decoded.samples.length);
      expect(
        cosineSimilarity(wav.samples.subarray(0, length), decoded.samples.subarray(0, length)),
      ).toBeGreaterThan(0.9);
    }
  });

  it("mixes stereo down and resamples 44.1 kHz to 16 kHz", async () => {
    const mono = await decodeAudio(SOURCE);
    const stereo = await decodeAudio(encoded.stereo);
    expect(stereo).toMatchObject({ sourceChannels: 2, sourceSampleRate: 44_100, sampleRate: 16_000 });
    expect(Math.abs(stereo.samples.length - mono.samples.length)).toBeLessThanOrEqual(2);
    const length = Math.min(mono.samples.length, stereo.samples.length);
    expect(
      cosineSimilarity(mono.samples.subarray(0, length), stereo.samples.subarray(0, length)),
    ).toBeGreaterThan(0.99);
  });

  it("accepts bytes (e.g. from an HTTP upload) as well as paths", async () => {
    const fromPath = await decodeAudio(encoded.flac);
    const fromBytes = await decodeAudio({ data: readFileSync(encoded.flac), name: "upload.flac" });
    expect(fromBytes.samples).toEqual(fromPath.samples);
  });
});

describe("resampling", () => {
  it("matches librosa's soxr_hq 8 → 16 kHz within 1% relative error", async () => {
    const decoded = await decodeAudio(SOURCE, { sampleRate: 16_000 });
    expect(decoded.samples.length).toBe(librosa.resample16k.samples);
    let error = 0;
    let power = 0;
    librosa.resample16k.head.forEach((value, i) => {
      error += ((decoded.samples[i] as number) - value) ** 2;
      power += value ** 2;
    });
    expect(Math.sqrt(error / power)).toBeLessThan(0.01);
  });

  it("keeps a 1 kHz tone at 1 kHz and removes content above the new Nyquist rate", () => {
    const rate = 48_000;
    const tone = Float32Array.from(
      { length: rate },
      (_, n) => Math.sin((2 * Math.PI * 1000 * n) / rate) + Math.sin((2 * Math.PI * 12_000 * n) / rate),
    );
    const out = resample(tone, rate, 16_000);
    expect(out.length).toBe(16_000);
    const plan = createFftPlan(1600);
    const power = new Float32Array(801);
    plan.powerSpectrum(out.subarray(8000, 9600), power);
    // Bin k is k·10 Hz; the 12 kHz component (above 8 kHz) must be gone, not aliased to 4 kHz.
    expect(power[100] as number).toBeGreaterThan(1000 * (power[400] as number));
  });
});

describe("mel features match librosa", () => {
  it("power mel spectrogram (n_fft 200, not a power of two) equals librosa.feature.melspectrogram", async () => {
    const { samples } = await decodeAudio(SOURCE, { sampleRate: 8000 });
    const mel = melSpectrogram(samples, { sampleRate: 8000, nFft: 200, hopLength: 80, melBands: 40 });
    expect(mel.frames).toBe(librosa.ge2eMel.frames);
    let sum = 0;
    for (const value of mel.data) sum += value;
    expect(Math.abs(sum - librosa.ge2eMel.sum) / librosa.ge2eMel.sum).toBeLessThan(1e-5);
    const peak = Math.max(...librosa.ge2eMel.firstRows.flat());
    librosa.ge2eMel.firstRows.forEach((row, frame) => {
      row.forEach((value, band) => {
        expect(Math.abs((mel.data[frame * 40 + band] as number) - value)).toBeLessThan(peak * 1e-5);
      });
    });
  });

  it("log-mel (top_db 80) and MFCCs (ortho DCT-II) equal librosa's to 1e-3 dB", async () => {
    const { samples } = await decodeAudio(SOURCE, { sampleRate: 8000 });
    const mel = melSpectrogram(samples, {
      sampleRate: 8000,
      nFft: 256,
      windowLength: 200,
      hopLength: 80,
      melBands: 40,
    });
    const logMel = powerToDecibels(mel, 80);
    const mfcc = mfccFromLogMel(logMel, 20);
    expect(mfcc.frames).toBe(librosa.mfcc.frames);
    librosa.mfcc.logMelRows.forEach((row, frame) => {
      row.forEach((value, band) => {
        expect(logMel.data[frame * 40 + band]).toBeCloseTo(value, 3);
      });
    });
    librosa.mfcc.mfccRows.forEach((row, frame) => {
      row.forEach((value, k) => {
        expect(mfcc.data[frame * 20 + k]).toBeCloseTo(value, 3);
      });
    });
  });

  it("deltas of a linear ramp are its slope", () => {
    const ramp = { data: Float32Array.from({ length: 10 }, (_, i) => 3 * i), frames: 10, bands: 1 };
    const slope = deltas(ramp, 2);
    expect(slope.data[5]).toBeCloseTo(3, 6);
  });
});

describe("decodeAudio: bad input", () => {
  const folder = temporaryFolder();
  const flac = join(folder, "clip.flac");
  ffmpeg("-i", SOURCE, flac);
  ffmpeg("-f", "lavfi", "-i", "sine=f=440:r=8000", "-t", "20", "-c:a", "flac", join(folder, "twenty.flac"));

  const expectCode = async (input: Parameters<typeof decodeAudio>[0], code: string, options = {}) => {
    const error = await decodeAudio(input, options).catch((caught: unknown) => caught);
    expect(EmbedkitError.isInstance(error), String(error)).toBe(true);
    expect((error as EmbedkitError).code).toBe(code);
    return (error as EmbedkitError).message;
  };

  it("refuses a 0-byte file", async () => {
    const empty = join(folder, "empty.wav");
    writeFileSync(empty, "");
    expect(await expectCode(empty, "MALFORMED_FILE")).toMatch(/empty \(0 bytes\)/);
  });

  it("refuses a missing file", async () => {
    expect(await expectCode(join(folder, "nope.wav"), "FILE_NOT_FOUND")).toMatch(/nope\.wav/);
  });

  it("refuses a file whose extension says MP3 but whose content is FLAC", async () => {
    const wrong = join(folder, "song.mp3");
    writeFileSync(wrong, readFileSync(flac));
    expect(await expectCode(wrong, "UNSUPPORTED_MEDIA")).toMatch(/named \.mp3 .*flac/);
  });

  it("refuses text pretending to be audio", async () => {
    const text = join(folder, "notes.wav");
    writeFileSync(text, "this is not audio at all, just some words\n".repeat(20));
    await expectCode(text, "MALFORMED_FILE");
  });

  it("refuses a truncated WAV (header declares more data than the file has)", async () => {
    const truncated = join(folder, "truncated.wav");
    writeFileSync(
      truncated,
      wavBytes({ sampleRate: 8000, declaredBytes: 32_000, data: new Uint8Array(1600) }),
    );
    expect(await expectCode(truncated, "MALFORMED_FILE")).toMatch(
      /truncated: .*declares 32000 bytes .* 1600/,
    );
  });

  it("refuses a truncated FLAC (STREAMINFO declares more audio than can be decoded)", async () => {
    const bytes = readFileSync(flac);
    const truncated = join(folder, "truncated.flac");
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    expect(await expectCode(truncated, "MALFORMED_FILE")).toMatch(/truncated/);
  });

  it("refuses a 10-hour WAV from its header alone, without reading the audio", async () => {
    const long = join(folder, "ten-hours.wav");
    writeFileSync(
      long,
      wavBytes({ sampleRate: 8000, declaredBytes: 36_000 * 8000 * 2, data: new Uint8Array(1000) }),
    );
    expect(await expectCode(long, "INPUT_TOO_LARGE")).toMatch(/10\.00 h long; the limit is 10\.0 min/);
  });

  it("refuses a 10-hour FLAC from ffprobe's duration before decoding", async () => {
    const long = join(folder, "ten-hours.flac");
    patchFlacLength(join(folder, "twenty.flac"), long, 36_000 * 8000);
    expect(await expectCode(long, "INPUT_TOO_LARGE")).toMatch(/10\.00 h long/);
  });

  it("stops decoding at the byte cap when the container does not say how long it is", async () => {
    const unknown = join(folder, "unknown-length.flac");
    patchFlacLength(join(folder, "twenty.flac"), unknown, 0);
    const message = await expectCode(unknown, "INPUT_TOO_LARGE", { maxDurationSeconds: 5 });
    expect(message).toMatch(/longer than the limit of 5\.00 s/);
  });

  it("honours a lower maxDurationSeconds", async () => {
    expect(
      await expectCode(join(folder, "twenty.flac"), "INPUT_TOO_LARGE", { maxDurationSeconds: 5 }),
    ).toMatch(/20\.00 s long; the limit is 5\.00 s/);
  });

  it("says how to install ffmpeg when it is missing (WAV still works without it)", async () => {
    const message = await expectCode(flac, "DEPENDENCY_MISSING", { ffprobe: "/nonexistent/ffprobe" });
    expect(message).toMatch(/apt-get install -y ffmpeg/);
    await expect(
      decodeAudio(SOURCE, { ffmpeg: "/nonexistent/ffmpeg", ffprobe: "/nonexistent/ffprobe" }),
    ).resolves.toBeDefined();
  });

  it("rejects a bad sampleRate option", async () => {
    await expectCode(SOURCE, "INVALID_OPTION", { sampleRate: 12.5 });
  });
});
