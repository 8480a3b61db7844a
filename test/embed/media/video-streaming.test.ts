import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildShotVideo } from "../../../scripts/make-test-videos.js";
import { createImageEmbedder } from "../../../src/embed/media/image/create-image-embedder.js";
import type { RgbImage } from "../../../src/embed/media/image/decode-image.js";
import type { PixelEmbedder } from "../../../src/embed/media/image/pixel-embedder.js";
import { openMediaInput } from "../../../src/embed/media/media-input.js";
import { streamFrames } from "../../../src/embed/media/video/sample-frames.js";
import {
  createTemporalPooler,
  createVideoEmbedder,
  poolVectors,
  type VideoEmbedder,
} from "../../../src/embed/media/video/video-embedder.js";
import { errorCode, sampleImages, temporaryFolder } from "./image-fixtures.js";

// Videos are made here with ffmpeg (scripts/ensure-ffmpeg.sh installs it): a 10 s video of
// four photo shots, and 1- and 10-minute synthetic ones (lavfi testsrc, 160×120).
const run = promisify(execFile);
const MiB = 1024 * 1024;
let folder: string;
let short: string;
let oneMinute: string;
let tenMinutes: string;
let image: PixelEmbedder;
let video: VideoEmbedder;

async function testsrc(seconds: number, out: string): Promise<void> {
  await run("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc=duration=${seconds}:size=160x120:rate=2`],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", out],
  ]);
}

/** Every frame at 2 fps, decoded in one go by ffmpeg itself: the non-streamed reference. */
async function allFramesAtOnce(path: string): Promise<RgbImage[]> {
  const { stdout } = await run(
    "ffmpeg",
    [
      ...["-v", "error", "-nostdin", "-i", path, "-an", "-sn"],
      ...["-vf", "fps=2,scale=224:224:flags=bicubic", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
    ],
    { encoding: "buffer", maxBuffer: 512 * MiB },
  );
  const frameBytes = 224 * 224 * 3;
  return Array.from({ length: Math.floor(stdout.length / frameBytes) }, (_, index) => ({
    width: 224,
    height: 224,
    data: new Uint8Array(stdout.buffer, stdout.byteOffset + index * frameBytes, frameBytes),
  }));
}

beforeAll(async () => {
  folder = await temporaryFolder("video-stream");
  short = join(folder, "shots.mp4");
  const photos = sampleImages();
  await buildShotVideo({
    photos: [photos[3], photos[11], photos[19], photos[27]] as string[],
    seconds: [2, 3, 2, 3],
    out: short,
  });
  oneMinute = join(folder, "testsrc-1min.mp4");
  tenMinutes = join(folder, "testsrc-10min.mp4");
  await testsrc(60, oneMinute);
  await testsrc(600, tenMinutes);
  // Batches of 3 frames, so a 20-frame video goes through 7 batches, the last one partial.
  image = await createImageEmbedder({ maxBatchSize: 3 });
  video = await createVideoEmbedder({ image, sampling: { kind: "uniform", fps: 2 } });
});

afterAll(async () => {
  await video?.close();
  await image?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe("video frames streamed from ffmpeg, embedded in batches, pooled incrementally", () => {
  it("gives the vectors of embedding all frames at once on a short video (mean and max pooling)", async () => {
    const frames = await allFramesAtOnce(short);
    expect(frames.length).toBe(20);
    const frameVectors = await image.embedPixels(frames);
    for (const pooling of ["mean", "max"] as const) {
      const [streamed] = (await video.embed([short], { pooling })).vectors as Float32Array[];
      const reference = poolVectors(frameVectors, pooling);
      expect(streamed).toHaveLength(reference.length);
      (streamed as Float32Array).forEach((value, index) => {
        expect(value).toBeCloseTo(reference[index] as number, 6);
      });
    }
    const analysis = await video.analyze(short);
    expect(analysis.frames.map((frame) => frame.time)).toEqual(frames.map((_, index) => index / 2));
    analysis.frames.forEach((frame, index) => {
      expect(frame.vector).toEqual(frameVectors[index]);
    });
  });

  it("hands frames over in batches of the requested size, in order, with their times at the end", async () => {
    const file = await openMediaInput(short, { modality: "video", limits: video.model.limits, read: false });
    const batches: { first: number; size: number }[] = [];
    const { times, info } = await streamFrames(file, {
      sampling: { kind: "uniform", fps: 2 },
      size: { width: 32, height: 24, fit: "fill" },
      limits: video.model.limits,
      batchFrames: 6,
      async onFrames(frames, first) {
        batches.push({ first, size: frames.length });
        for (const frame of frames) expect(frame.data.length).toBe(32 * 24 * 3);
      },
    });
    expect(batches).toEqual([
      { first: 0, size: 6 },
      { first: 6, size: 6 },
      { first: 12, size: 6 },
      { first: 18, size: 2 },
    ]);
    expect(times).toHaveLength(20);
    expect(info.duration).toBeCloseTo(10, 0);
  });

  it("stops ffmpeg and passes the error on when the consumer of a batch fails", async () => {
    const file = await openMediaInput(tenMinutes, {
      modality: "video",
      limits: video.model.limits,
      read: false,
    });
    let calls = 0;
    const failing = streamFrames(file, {
      sampling: { kind: "uniform", fps: 2 },
      size: { width: 32, height: 24, fit: "fill" },
      limits: video.model.limits,
      async onFrames() {
        calls++;
        throw new Error("consumer failed");
      },
    });
    await expect(failing).rejects.toThrow("consumer failed");
    expect(calls).toBe(1);
  });

  it("pools incrementally exactly as pooling the whole list, and refuses an empty pool", () => {
    const vectors = [Float32Array.of(1, 0, 2), Float32Array.of(0, 3, 1), Float32Array.of(2, 2, 0)];
    for (const pooling of ["mean", "max"] as const) {
      const pooler = createTemporalPooler(pooling);
      for (const vector of vectors) pooler.add(vector);
      expect(pooler.count).toBe(3);
      expect(pooler.result()).toEqual(poolVectors(vectors, pooling));
    }
    expect(() => createTemporalPooler("mean").result()).toThrow(/no frames/);
    expect(() => createTemporalPooler("median" as never)).toThrow(/pooling must be one of/);
  });

  it("keeps peak memory flat on a 10-minute video: growth is a small fraction of its frames' size", {
    timeout: 600_000,
  }, async () => {
    const oneFps = { sampling: { kind: "uniform", fps: 1 } } as const;
    // Warm up on the 1-minute video (model buffers, pipe, batch sizes), then measure the peak.
    const first = await video.embed([oneMinute], oneFps);
    expect(first.usage.seconds).toBeCloseTo(60, 0);
    const before = process.resourceUsage().maxRSS * 1024;
    const long = await video.embed([tenMinutes], oneFps);
    const growth = process.resourceUsage().maxRSS * 1024 - before;
    expect(long.usage.seconds).toBeCloseTo(600, 0);
    const frames = (long.usage.pixels ?? 0) / (160 * 120);
    expect(frames).toBe(600);
    // Holding every sampled 224×224 RGB frame, as the non-streamed path did, needs 86 MiB.
    const allFrames = frames * 224 * 224 * 3;
    console.log(
      `peak RSS growth ${(growth / MiB).toFixed(1)} MiB; all frames ${(allFrames / MiB).toFixed(1)} MiB`,
    );
    expect(growth).toBeLessThan(allFrames / 4);
  });

  it("still refuses a video over the frame limit before decoding, and a 0-byte file", async () => {
    expect(await errorCode(video.embed([tenMinutes], { limits: { maxFrames: 100 } }))).toBe(
      "INPUT_TOO_LARGE",
    );
    expect(await errorCode(video.embed([{ data: new Uint8Array(0), name: "empty.mp4" }]))).toBe(
      "MALFORMED_FILE",
    );
  });
});
