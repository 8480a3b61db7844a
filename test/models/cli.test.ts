import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import type { PulledModel } from "../../src/models/model-store.js";
import {
  corrupt,
  type FileServer,
  mavenPath,
  realSmallJar,
  removeAll,
  SMALL_MODEL,
  sharedSmallModel,
  smallJarSource,
  startFileServer,
  tempDir,
} from "./helpers.js";

const cleanup: string[] = [];
let shared: PulledModel;

beforeAll(async () => {
  shared = await sharedSmallModel();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

afterAll(async () => {
  await removeAll(cleanup);
});

/** A temp home holding a copy of the small model. */
async function homeWithModel(): Promise<string> {
  const home = await tempDir();
  cleanup.push(home);
  await mkdir(join(home, "models"), { recursive: true });
  await cp(shared.dir, join(home, "models", SMALL_MODEL), { recursive: true });
  return home;
}

/** Run `embedkit ...args` in-process, capturing stdout and stderr. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  try {
    const code = await main(["node", "embedkit", ...args]);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

describe("embedkit models", () => {
  it("documents every subcommand in --help", async () => {
    const help = await run("models", "--help");
    expect(help.code).toBe(0);
    for (const name of ["list", "pull", "info", "verify", "rm", "--home <dir>"])
      expect(help.stdout).toContain(name);
    for (const name of ["list", "pull", "info", "verify", "rm"]) {
      const sub = await run("models", name, "--help");
      expect(sub.code).toBe(0);
      expect(sub.stdout).toMatch(new RegExp(`Usage: embedkit models ${name}`));
      expect(sub.stdout.split("\n")[2]?.length ?? 0).toBeGreaterThan(10); // the description line
    }
  });

  it("lists the catalog with install state as JSON and as a table", async () => {
    const home = await homeWithModel();
    const json = await run("models", "--home", home, "list", "--json");
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as {
      id: string;
      installed: boolean;
      dims: number;
      pooling: string;
    }[];
    expect(rows.find((row) => row.id === SMALL_MODEL)).toMatchObject({
      installed: true,
      dims: 384,
      pooling: "mean",
    });
    expect(rows.find((row) => row.id === "bge-small-zh-v1.5")).toMatchObject({
      installed: false,
      dims: 512,
      pooling: "cls",
    });
    const table = await run("models", "list", "--home", home);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+DIMS\s+POOLING\s+QUANTIZED\s+LANGUAGES\s+DOWNLOAD\s+INSTALLED/);
    expect(table.stdout).toMatch(
      new RegExp(`${SMALL_MODEL}\\s+384\\s+mean\\s+yes\\s+en\\s+16\\.4 MB\\s+yes`),
    );
  });

  it("shows a model's spec and install state", async () => {
    const home = await homeWithModel();
    const json = await run("models", "--home", home, "info", "minilm-q", "--json");
    expect(json.code).toBe(0);
    const info = JSON.parse(json.stdout);
    expect(info.spec).toMatchObject({ id: SMALL_MODEL, dims: 384, quantized: true });
    expect(info.installed).toMatchObject({ id: SMALL_MODEL, dir: join(home, "models", SMALL_MODEL) });
    const text = await run("models", "--home", home, "info", "bge-small-zh-v1.5");
    expect(text.stdout).toMatch(/dims:\s+512/);
    // Issue 19.11: the download size is the one `models list` shows, and the on-disk size says so.
    const installed = await run("models", "--home", home, "info", "minilm-q");
    expect(installed.stdout).toMatch(/download:\s+16\.4 MB \(the DOWNLOAD column of `models list`\)/);
    expect(installed.stdout).toMatch(/installed:\s+yes, .* \([\d.]+ [kMG]?B on disk, pulled /);
    expect(text.stdout).toMatch(/installed:\s+no/);
    const unknown = await run("models", "--home", home, "info", "nope");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/\[UNKNOWN_MODEL\].*Known models:/);
  });

  it("verify exits 0 when intact and 1 with a corrupted file; rm removes the model", async () => {
    const home = await homeWithModel();
    const ok = await run("models", "--home", home, "verify");
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(new RegExp(`ok\\s+${SMALL_MODEL}`));
    const onnx = join(home, "models", SMALL_MODEL, "model.onnx");
    await writeFile(onnx, corrupt(await readFile(onnx)));
    const bad = await run("models", "--home", home, "verify", SMALL_MODEL);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      new RegExp(`FAILED ${SMALL_MODEL}\\n\\s+model\\.onnx: expected sha256 [0-9a-f]{64}, got`),
    );
    expect(bad.stderr).toMatch(/\[CHECKSUM_MISMATCH\].*embedkit models rm/);
    const json = await run("models", "--home", home, "verify", "--json");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)[0]).toMatchObject({ model: SMALL_MODEL, ok: false });
    const removed = await run("models", "--home", home, "rm", SMALL_MODEL);
    expect(removed).toMatchObject({ code: 0, stdout: `removed ${SMALL_MODEL}\n` });
    const again = await run("models", "--home", home, "rm", SMALL_MODEL);
    expect(again.stdout).toBe(`${SMALL_MODEL} was not installed\n`);
    expect((await run("models", "--home", home, "verify")).stdout).toMatch(/No models installed/);
  });

  it("pulls through EMBEDKIT_MAVEN_URL", async () => {
    const jar = await realSmallJar();
    const path = mavenPath(smallJarSource());
    const server: FileServer = await startFileServer((requested) =>
      requested === path ? { body: jar } : undefined,
    );
    try {
      const home = await tempDir();
      cleanup.push(home);
      vi.stubEnv("EMBEDKIT_MAVEN_URL", server.url);
      vi.stubEnv("EMBEDKIT_PROGRESS", "0");
      vi.stubEnv("HF_ENDPOINT", server.url);
      const pulled = await run("models", "--home", home, "pull", "minilm-q");
      expect(pulled).toMatchObject({
        code: 0,
        stdout: `${SMALL_MODEL}: ready in ${join(home, "models", SMALL_MODEL)}\n`,
      });
      expect(server.count(".jar")).toBe(1);
      const failed = await run("models", "--home", home, "pull", "hf:nobody/nothing");
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(
        /\[DOWNLOAD_FAILED\].*nobody\/nothing\/resolve\/main\/config\.json.*HTTP 404/,
      );
    } finally {
      await server.close();
    }
  });
});
