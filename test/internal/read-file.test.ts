import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFileBytes, readFileText } from "../../src/internal/read-file.js";

async function scratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), "embedkit-read-"));
}

describe("readFileText / readFileBytes", () => {
  it("reads text without a byte-order mark, and bytes as they are", async () => {
    const dir = await scratch();
    const path = join(dir, "a.txt");
    await writeFile(path, "\ufeffhéllo\n");
    expect(await readFileText(path)).toBe("héllo\n");
    expect([...(await readFileBytes(path)).subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    await writeFile(path, Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    expect(await readFileText(path, { encoding: "latin1" })).toBe("café");
  });

  it("throws FILE_NOT_FOUND for a missing file, naming what it is and how to fix it", async () => {
    const dir = await scratch();
    const path = join(dir, "nope.json");
    const failure = readFileText(path, { what: "config file", hint: "Pass --config with an existing file." });
    await expect(failure).rejects.toMatchObject({
      code: "FILE_NOT_FOUND",
      details: { path, reason: "missing" },
    });
    await expect(failure).rejects.toThrow(
      `Cannot read the config file ${path}: no such file. Pass --config with an existing file.`,
    );
  });

  it("says a folder is a folder", async () => {
    const dir = await scratch();
    const failure = readFileBytes(dir);
    await expect(failure).rejects.toMatchObject({ code: "FILE_NOT_FOUND", details: { reason: "folder" } });
    await expect(failure).rejects.toThrow(`Cannot read ${dir}: it is a folder, not a file. Check the path.`);
  });

  it("refuses a file above maxBytes with INVALID_INPUT before reading it", async () => {
    const dir = await scratch();
    const path = join(dir, "big.txt");
    await writeFile(path, "x".repeat(101));
    await expect(readFileText(path, { maxBytes: 100, what: "FAQ file" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      details: { size: 101, limit: 100 },
    });
    expect(await readFileText(path, { maxBytes: 101 })).toHaveLength(101);
  });
});
