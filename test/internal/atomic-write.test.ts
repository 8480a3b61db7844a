import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import {
  replaceFileAtomic,
  temporaryFileOwner,
  temporaryPathFor,
  writeFileAtomic,
} from "../../src/internal/atomic-write.js";

async function scratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), "embedkit-atomic-"));
}

describe("writeFileAtomic", () => {
  it("creates and replaces a file, leaving no temporary file", async () => {
    const dir = await scratch();
    const path = join(dir, "out.json");
    await writeFileAtomic(path, "first\n");
    await writeFileAtomic(path, new Uint8Array([104, 105]));
    expect(await readFile(path, "utf8")).toBe("hi");
    expect(await readdir(dir)).toEqual(["out.json"]);
  });

  it("writes the same way without fsync when durable is false", async () => {
    const dir = await scratch();
    const path = join(dir, "cache.bin");
    await writeFileAtomic(path, "v1", { durable: false });
    await writeFileAtomic(path, "v2", { durable: false });
    expect(await readFile(path, "utf8")).toBe("v2");
    expect(await readdir(dir)).toEqual(["cache.bin"]);
  });

  it("lets concurrent writers in one process finish without colliding", async () => {
    const dir = await scratch();
    const path = join(dir, "shared.txt");
    const bodies = Array.from({ length: 64 }, (_, index) => `writer ${index}\n`.repeat(200));
    await Promise.all(bodies.map((body) => writeFileAtomic(path, body)));
    // Whichever rename came last won, whole: never a mix of two writers.
    expect(bodies).toContain(await readFile(path, "utf8"));
    expect(await readdir(dir)).toEqual(["shared.txt"]);
  });

  it("gives every temporary path of one process a distinct name that carries the pid", () => {
    const names = new Set(Array.from({ length: 1000 }, () => temporaryPathFor("/x/file.bin")));
    expect(names.size).toBe(1000);
    for (const name of names) expect(temporaryFileOwner(name)).toBe(process.pid);
    expect(temporaryFileOwner("file.bin")).toBeUndefined();
  });

  it("keeps the old file and removes its temporary file when the write fails", async () => {
    const dir = await scratch();
    const path = join(dir, "keep.txt");
    await writeFile(path, "old");
    // A value that is neither text nor bytes fails after the temporary file was created.
    await expect(writeFileAtomic(path, 42 as unknown as string)).rejects.toThrow(EmbedkitError);
    expect(await readFile(path, "utf8")).toBe("old");
    expect(await readdir(dir)).toEqual(["keep.txt"]);
  });

  it("fails with INVALID_OPTION naming the path when the target is a folder, leaving it as it was", async () => {
    const dir = await scratch();
    const target = join(dir, "folder");
    await mkdir(target);
    await writeFile(join(target, "inside.txt"), "x");
    const failure = writeFileAtomic(target, "text");
    await expect(failure).rejects.toMatchObject({ code: "INVALID_OPTION", details: { path: target } });
    await expect(failure).rejects.toThrow(/Cannot write .*folder/);
    expect(await readdir(dir)).toEqual(["folder"]);
    expect(await readFile(join(target, "inside.txt"), "utf8")).toBe("x");
  });

  it("fails with INVALID_OPTION when the folder does not exist, and says how to fix it", async () => {
    const dir = await scratch();
    await expect(
      writeFileAtomic(join(dir, "missing", "out.txt"), "x", { hint: "Create it first." }),
    ).rejects.toThrow(/Cannot write .*out\.txt: .*Create it first\./);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("replaceFileAtomic", () => {
  it("renames what the writer put at the temporary path over the target", async () => {
    const dir = await scratch();
    const path = join(dir, "index.bin");
    await writeFile(path, "old");
    await replaceFileAtomic(path, (temporary) => writeFile(temporary, "new"));
    expect(await readFile(path, "utf8")).toBe("new");
    expect(await readdir(dir)).toEqual(["index.bin"]);
  });

  it("keeps the old file and removes a half-written temporary file when the writer fails", async () => {
    const dir = await scratch();
    const path = join(dir, "index.bin");
    await writeFile(path, "old");
    const failure = replaceFileAtomic(path, async (temporary) => {
      await writeFile(temporary, "half");
      throw new Error("disk full");
    });
    await expect(failure).rejects.toThrow(`Cannot write ${path}: disk full.`);
    expect(await readFile(path, "utf8")).toBe("old");
    expect(await readdir(dir)).toEqual(["index.bin"]);
  });

  it("fails when the writer wrote nothing, leaving no file", async () => {
    const dir = await scratch();
    await expect(replaceFileAtomic(join(dir, "x.bin"), () => undefined)).rejects.toMatchObject({
      code: "INVALID_OPTION",
    });
    expect(await readdir(dir)).toEqual([]);
  });
});
