/** `embedkit embed --modality audio`, run in-process on the real GE2E model and the MFCC baseline. */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cosineSimilarity } from "../../src/vectors/math.js";
import { AUDIO_FIXTURES, clip, temporaryFolder } from "../embed/media/audio-fixtures.js";
import { runCli } from "./run-cli.js";

interface Line {
  readonly index: number;
  readonly id: string;
  readonly embedding: number[];
}

function parseLines(text: string): Line[] {
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Line);
}

describe("embedkit embed --modality audio", () => {
  it("writes one GE2E vector per file, in order, with the path as id", async () => {
    const files = [clip("0_george_0"), clip("1_george_0"), clip("0_nicolas_0")];
    const run = await runCli(["embed", "--modality", "audio", "--quiet", ...files]);
    expect(run.code, run.stderr).toBe(0);
    const lines = parseLines(run.stdout);
    expect(lines.map((line) => line.id)).toEqual(files);
    expect(lines[0]?.embedding).toHaveLength(256);
    // The same vectors the library gives (checked there against the numpy reference of resemblyzer).
    const reference = JSON.parse(await readFile(join(AUDIO_FIXTURES, "ge2e-reference.json"), "utf8")) as {
      embeddings: Record<string, number[]>;
    };
    lines.forEach((line, index) => {
      const name = `${["0_george_0", "1_george_0", "0_nicolas_0"][index]}.wav`;
      expect(cosineSimilarity(line.embedding, reference.embeddings[name] as number[])).toBeGreaterThan(0.999);
    });
  });

  it("writes the MFCC baseline to a file atomically and prints a JSON summary", async () => {
    const folder = temporaryFolder("embedkit-cli-audio-");
    const out = join(folder, "vectors.jsonl");
    const run = await runCli([
      "embed",
      "--modality",
      "audio",
      "-m",
      "mfcc-stats",
      "--json",
      "--quiet",
      "--out",
      out,
      clip("2_jackson_0"),
      clip("3_jackson_0"),
    ]);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as {
      model: string;
      count: number;
      dims: number;
      mediaSeconds: number;
    };
    expect(summary).toMatchObject({ model: "mfcc-stats", count: 2, dims: 79 });
    expect(summary.mediaSeconds).toBeGreaterThan(0.3);
    expect(parseLines(await readFile(out, "utf8"))).toHaveLength(2);
    expect(await readdir(folder)).toEqual(["vectors.jsonl"]);
  });

  it("exits 1 naming the bad file, writes nothing, for empty, missing or too long inputs", async () => {
    const folder = temporaryFolder("embedkit-cli-audio-bad-");
    const empty = join(folder, "empty.wav");
    await writeFile(empty, "");
    const out = join(folder, "out.jsonl");
    const emptyRun = await runCli([
      "embed",
      "--modality",
      "audio",
      "-m",
      "mfcc-stats",
      "--out",
      out,
      clip("0_george_0"),
      empty,
    ]);
    expect(emptyRun.code).toBe(1);
    expect(emptyRun.stderr).toMatch(/empty\.wav is empty \(0 bytes\)/);
    expect(await readdir(folder)).toEqual(["empty.wav"]);
    const missing = await runCli([
      "embed",
      "--modality",
      "audio",
      "-m",
      "mfcc-stats",
      join(folder, "nope.flac"),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such audio file/);
    const tooLong = await runCli([
      "embed",
      "--modality",
      "audio",
      "-m",
      "mfcc-stats",
      "--max-duration",
      "0.2",
      clip("0_george_0"),
    ]);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/the limit is 0\.20 s/);
  });

  it("refuses an image given as audio, pointing at the right modality", async () => {
    const folder = temporaryFolder("embedkit-cli-audio-png-");
    const png = join(folder, "photo.png");
    // A 1×1 PNG.
    await writeFile(
      png,
      Buffer.from(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
        "base64",
      ),
    );
    const run = await runCli(["embed", "--modality", "audio", "-m", "mfcc-stats", png]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/is an image file .* not a audio|use --modality image/);
  });

  it("documents --modality and --max-duration in --help", async () => {
    const run = await runCli(["embed", "--help"]);
    expect(run.stdout).toMatch(/--modality <modality>/);
    expect(run.stdout).toMatch(/--max-duration <seconds>/);
    expect(run.stdout).toMatch(/embedkit embed --modality audio/);
  });
});
