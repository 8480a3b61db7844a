import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildShotVideo, reencodeVideo } from "../../../scripts/make-test-videos.js";
import {
  createVideoEmbedder,
  detectBoundaries,
  poolVectors,
  type VideoEmbedder,
} from "../../../src/embed/media/video/video-embedder.js";
import { cosineSimilarity, norm } from "../../../src/vectors/math.js";
import { errorCode, sampleImages, temporaryFolder } from "./image-fixtures.js";

// Videos are built here with ffmpeg (scripts/ensure-ffmpeg.sh installs it) from the
// shared sample photos: one photo per shot, a slow pan inside each shot, known cuts.
const photos = sampleImages();
const shots = [photos[3], photos[11], photos[19], photos[27]] as string[];
const seconds = [2, 3, 2, 3];
let folder: string;
let video: VideoEmbedder;
let original: string;
let cuts: number[];

beforeAll(async () => {
  folder = await temporaryFolder("video");
  original = join(folder, "shots.mp4");
  cuts = await buildShotVideo({ photos: shots, seconds, out: original });
  video = await createVideoEmbedder({ sampling: { kind: "uniform", fps: 2 } });
});

afterAll(async () => {
  await video?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe("video embedder (frames from ffmpeg, MobileNetV2 per frame)", () => {
  it("finds every cut of a 4-shot video from frame-embedding distance, and nothing else", async () => {
    const analysis = await video.analyze(original);
    expect(analysis.duration).toBeCloseTo(10, 0);
    expect(analysis.frames.length).toBeGreaterThanOrEqual(19);
    expect(analysis.boundaries).toHaveLength(cuts.length);
    analysis.boundaries.forEach((boundary, index) => {
      expect(Math.abs(boundary - (cuts[index] as number))).toBeLessThanOrEqual(0.5);
    });
    expect(analysis.segments).toHaveLength(4);
  });

  it("gives each segment a vector closest to the photo it was made from", async () => {
    const analysis = await video.analyze(original);
    const stills = (await video.image.embed(shots)).vectors as Float32Array[];
    analysis.segments.forEach((segment, index) => {
      const scores = stills.map((still) => cosineSimilarity(segment.vector, still));
      expect(scores.indexOf(Math.max(...scores))).toBe(index);
    });
  });

  it("samples at scene changes: the first frame plus about one frame per cut", async () => {
    const analysis = await video.analyze(original, { sampling: { kind: "scene", sceneThreshold: 0.3 } });
    expect(analysis.frames[0]?.time).toBeCloseTo(0, 1);
    const later = analysis.frames.slice(1).map((frame) => frame.time);
    for (const cut of cuts) expect(later.some((time) => Math.abs(time - cut) <= 0.2)).toBe(true);
    expect(analysis.frames.length).toBeLessThanOrEqual(1 + cuts.length * 2);
  });

  it("matches a re-encoded copy (other size, bitrate and codec) to its original, not to another video", async () => {
    const copy = join(folder, "copy.avi");
    await reencodeVideo(original, copy, { width: 176, height: 132, bitrate: "120k", codec: "mpeg4" });
    const other = join(folder, "other.mp4");
    await buildShotVideo({
      photos: [photos[5], photos[15], photos[25], photos[35]] as string[],
      seconds,
      out: other,
    });
    for (const pooling of ["mean", "max"] as const) {
      const result = await video.embed([original, copy, other], {
        pooling,
        sampling: { kind: "uniform", fps: 1 },
      });
      expect(result.modality).toBe("video");
      expect(result.usage.seconds).toBeGreaterThan(29);
      const [a, b, c] = result.vectors as [Float32Array, Float32Array, Float32Array];
      for (const vector of [a, b, c]) expect(norm(vector)).toBeCloseTo(1, 4);
      expect(cosineSimilarity(a, b)).toBeGreaterThan(cosineSimilarity(a, c));
      expect(cosineSimilarity(a, b)).toBeGreaterThan(cosineSimilarity(b, c));
    }
  });

  it("pools by mean and by max, and puts boundaries midway between distant frames", () => {
    const x = Float32Array.of(1, 0);
    const y = Float32Array.of(0, 1);
    expect(Array.from(poolVectors([x, y], "mean"))).toEqual([Math.SQRT1_2, Math.SQRT1_2].map(Math.fround));
    expect(Array.from(poolVectors([Float32Array.of(3, 1), Float32Array.of(1, 3)], "max"))).toEqual(
      [Math.SQRT1_2, Math.SQRT1_2].map(Math.fround),
    );
    const frames = [0, 0.5, 1, 1.5].map((time, index) => ({ time, vector: index < 2 ? x : y }));
    expect(detectBoundaries(frames, 0.5)).toEqual([0.75]);
    expect(() => poolVectors([], "mean")).toThrow(/no frames/);
  });
});

describe("bad video input is refused with a specific error", () => {
  it("refuses a 0-byte file, a truncated MP4, a photo named .mp4 and text named .mp4", async () => {
    const empty = join(folder, "empty.mp4");
    await writeFile(empty, "");
    expect(await errorCode(video.embed([empty]))).toBe("MALFORMED_FILE");

    const bytes = await readFile(original);
    const truncated = join(folder, "truncated.mp4");
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
    expect(await errorCode(video.embed([truncated]))).toBe("MALFORMED_FILE");
    await expect(video.embed([truncated])).rejects.toThrow(/truncated or corrupt/);

    const photo = join(folder, "photo.mp4");
    await writeFile(photo, await readFile(photos[0] as string));
    await expect(video.embed([photo])).rejects.toThrow(
      /is an image file \(image\/jpeg, \.jpg\), not a video/,
    );

    const text = join(folder, "notes.mp4");
    await writeFile(text, "not a video at all\n".repeat(20));
    expect(await errorCode(video.embed([text]))).toBe("MALFORMED_FILE");
  });

  it("refuses a video over the duration or frame limit before decoding frames", async () => {
    await expect(video.embed([original], { limits: { maxDurationSeconds: 5 } })).rejects.toThrow(
      /lasts 10\.\d s, over the limit of 5 s/,
    );
    expect(await errorCode(video.embed([original], { limits: { maxFrames: 4 } }))).toBe("INPUT_TOO_LARGE");
  });

  it("says how to install ffmpeg when it is missing", async () => {
    const saved = process.env.EMBEDKIT_FFPROBE;
    process.env.EMBEDKIT_FFPROBE = join(folder, "no-such-ffprobe");
    try {
      expect(await errorCode(video.embed([original]))).toBe("DEPENDENCY_MISSING");
    } finally {
      if (saved === undefined) delete process.env.EMBEDKIT_FFPROBE;
      else process.env.EMBEDKIT_FFPROBE = saved;
    }
  });
});
