/** `embedkit embed --modality image|video`, run in-process on the real MobileNetV2 and real ffmpeg. */
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildShotVideo } from "../../scripts/make-test-videos.js";
import { pngBomb, sampleImages, temporaryFolder } from "../embed/media/image-fixtures.js";
import { runCli } from "./run-cli.js";

const photos = sampleImages().slice(0, 3);
let folder: string;

beforeAll(async () => {
  folder = await temporaryFolder("cli-media");
});

afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe("embedkit embed --modality image|video", () => {
  it("writes one 1280-d JSONL row per image with the file path as id", async () => {
    const run = await runCli(["embed", "--modality", "image", "--quiet", ...photos]);
    expect(run.code).toBe(0);
    const rows = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { index: number; id: string; embedding: number[] });
    expect(rows.map((row) => row.id)).toEqual(photos);
    for (const row of rows) expect(row.embedding).toHaveLength(1280);
  });

  it("embeds a video with max pooling into an .npy file and prints a summary", async () => {
    const video = join(folder, "clip.mp4");
    await buildShotVideo({ photos, seconds: [1, 1, 1], out: video });
    const out = join(folder, "video.npy");
    const run = await runCli([
      "embed",
      "--modality",
      "video",
      "--fps",
      "2",
      "--pooling",
      "max",
      "--quiet",
      "--json",
      "--out",
      out,
      video,
    ]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as {
      modality: string;
      count: number;
      dims: number;
      mediaSeconds: number;
    };
    expect(summary).toMatchObject({ modality: "video", count: 1, dims: 1280 });
    expect(summary.mediaSeconds).toBeCloseTo(3, 0);
    // .npy: header + 1 × 1280 float32.
    expect((await stat(out)).size).toBeGreaterThan(1280 * 4);
  });

  it("exits 1 with a clear message for a decompression bomb and leaves no output file", async () => {
    const bomb = join(folder, "bomb.png");
    await writeFile(bomb, pngBomb());
    const out = join(folder, "never.jsonl");
    const run = await runCli([
      "embed",
      "--modality",
      "image",
      "--quiet",
      "--out",
      out,
      photos[0] as string,
      bomb,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/INPUT_TOO_LARGE.*50000×50000/);
    await expect(readFile(out)).rejects.toThrow();
  });

  it("refuses a photo passed as a video and points at --modality image", async () => {
    const run = await runCli(["embed", "--modality", "video", "--quiet", photos[0] as string]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/UNSUPPORTED_MEDIA.*use --modality image/);
  });
});
