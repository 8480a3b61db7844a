/** `embedkit embed --modality image -m face`, run in-process on the real face-api weights. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
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

  it("--skip-errors embeds the faces, lists the faceless photo with its reason and writes a sidecar (issue 19.8)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "embedkit-face-"));
    try {
      const out = join(dir, "faces.jsonl");
      const lake = samplePhoto("n09332890_lakeside.JPEG");
      const run = await runCli([
        "embed",
        "--modality",
        "image",
        "-m",
        "face",
        "--quiet",
        "--skip-errors",
        "--out",
        out,
        "--json",
        lake,
        group,
      ]);
      expect(run.code, run.stderr).toBe(0);
      const rows = (await readFile(out, "utf8"))
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { id: string; embedding: number[] });
      expect(rows.map((row) => row.id)).toEqual([group]);
      expect(rows[0]?.embedding).toHaveLength(128);
      expect(run.stderr).toMatch(
        /Skipped 1 file \(all listed in .*faces\.jsonl\.skipped\.jsonl\):\n {2}.*lakeside\.JPEG: .*no face found/,
      );
      const sidecar = (await readFile(`${out}.skipped.jsonl`, "utf8")).trim().split("\n");
      expect(sidecar.map((line) => JSON.parse(line))).toEqual([
        { file: lake, code: "NO_FACE", reason: expect.stringMatching(/no face found/) },
      ]);
      expect(JSON.parse(run.stdout)).toMatchObject({ count: 1, skipped: [{ file: lake, code: "NO_FACE" }] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
