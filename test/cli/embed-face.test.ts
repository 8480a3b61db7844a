/** `embedkit embed --modality image -m face`, run in-process on the real face-api weights. */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { samplePhoto } from "../embed/media/image-fixtures.js";
import { runCli } from "./run-cli.js";

const group = join(
  dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")),
  "demo",
  "sample2.jpg",
);

describe("embedkit embed --modality image -m face", () => {
  it("writes one 128-d unit row per photo (its largest face)", async () => {
    const run = await runCli(["embed", "--modality", "image", "-m", "face", "--quiet", group]);
    expect(run.code).toBe(0);
    const [row] = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { id: string; embedding: number[] });
    expect(row?.id).toBe(group);
    expect(row?.embedding).toHaveLength(128);
    expect(Math.hypot(...(row?.embedding ?? []))).toBeCloseTo(1, 5);
  });

  it("fails with NO_FACE and exit code 1 on a photo without a face, writing nothing", async () => {
    const run = await runCli([
      "embed",
      "--modality",
      "image",
      "-m",
      "face",
      "--quiet",
      group,
      samplePhoto("n09332890_lakeside.JPEG"),
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/NO_FACE.*n09332890_lakeside\.JPEG: no face found/);
  });
});
