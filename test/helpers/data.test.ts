/** The shared-data helper fails (never skips) with a message naming EMBEDKIT_DATA. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sharedData } from "./data.js";

const saved = process.env.EMBEDKIT_DATA;

afterEach(() => {
  if (saved === undefined) delete process.env.EMBEDKIT_DATA;
  else process.env.EMBEDKIT_DATA = saved;
});

describe("sharedData", () => {
  it("throws, naming the variable and the file, when EMBEDKIT_DATA is unset or blank", () => {
    delete process.env.EMBEDKIT_DATA;
    expect(() => sharedData("conll2003-en/train.txt")).toThrow(
      /shared data file conll2003-en\/train\.txt: set EMBEDKIT_DATA to the shared data folder/,
    );
    process.env.EMBEDKIT_DATA = "  ";
    expect(() => sharedData("conll2003-en/train.txt")).toThrow(/set EMBEDKIT_DATA/);
  });

  it("resolves inside the folder and throws when the file is not there", async () => {
    const root = await mkdtemp(join(tmpdir(), "embedkit-shared-data-"));
    try {
      await writeFile(join(root, "present.txt"), "x");
      process.env.EMBEDKIT_DATA = root;
      expect(sharedData("present.txt")).toBe(join(root, "present.txt"));
      expect(() => sharedData("absent/file.txt")).toThrow(`EMBEDKIT_DATA=${root} has no absent/file.txt`);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
