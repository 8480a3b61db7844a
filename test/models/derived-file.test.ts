import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import {
  type DerivedFileOptions,
  derivedRecordPath,
  ensureDerivedFile,
} from "../../src/models/derived-file.js";

let dir: string;
let builds: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-derived-"));
  builds = 0;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function options(overrides: Partial<DerivedFileOptions> = {}): DerivedFileOptions {
  return {
    dir,
    name: "graph.onnx",
    converter: "test/1",
    inputs: { "model.json": "aa", "weights.bin": "bb" },
    async build() {
      builds++;
      return new TextEncoder().encode("converted bytes");
    },
    ...overrides,
  };
}

describe("derived files cached next to a model", () => {
  it("builds once, records the sha256, and reads the cache afterwards", async () => {
    const first = await ensureDerivedFile(options());
    expect(first.rebuilt).toBe("not converted yet");
    const record = JSON.parse(await readFile(derivedRecordPath(dir, "graph.onnx"), "utf8"));
    expect(record.sha256).toBe(first.sha256);
    expect(record.bytes).toBe(15);
    const second = await ensureDerivedFile(options());
    expect(second.rebuilt).toBeUndefined();
    expect(second.bytes).toBeUndefined();
    expect(second.path).toBe(join(dir, "graph.onnx"));
    expect(builds).toBe(1);
  });

  it("rebuilds for another converter version or other source files", async () => {
    await ensureDerivedFile(options());
    expect((await ensureDerivedFile(options({ converter: "test/2" }))).rebuilt).toMatch(
      /made by test\/1, not test\/2/,
    );
    expect(
      (await ensureDerivedFile(options({ converter: "test/2", inputs: { "model.json": "cc" } }))).rebuilt,
    ).toBe("made from other source files");
    expect(builds).toBe(3);
  });

  it("rebuilds a file whose bytes changed and a missing file", async () => {
    await ensureDerivedFile(options());
    await writeFile(join(dir, "graph.onnx"), "converted bytez");
    expect((await ensureDerivedFile(options())).rebuilt).toMatch(/does not match the recorded .*corrupted/);
    expect(await readFile(join(dir, "graph.onnx"), "utf8")).toBe("converted bytes");
    await rm(join(dir, "graph.onnx"));
    expect((await ensureDerivedFile(options())).rebuilt).toBe("the file is missing");
  });

  it("turns a failing build into CORRUPT_MODEL and leaves no file behind", async () => {
    const failing = options({
      async build() {
        throw new Error("weights truncated");
      },
    });
    const error = await ensureDerivedFile(failing).catch((caught: unknown) => caught);
    expect(EmbedkitError.isInstance(error) && error.code).toBe("CORRUPT_MODEL");
    expect((error as Error).message).toMatch(/weights truncated/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("returns the bytes in memory when the folder cannot be written", async () => {
    const result = await ensureDerivedFile(options({ dir: join(dir, "no", "such", "folder") }));
    expect(result.path).toBeUndefined();
    expect(new TextDecoder().decode(result.bytes)).toBe("converted bytes");
  });
});
