/**
 * Importing embedkit must be cheap and change nothing in the host process:
 * no native addon (onnxruntime-node, sharp, better-sqlite3, hnswlib-node) and
 * no heavy library is loaded until a feature needs it, sharp's process-wide
 * cache setting is left as it was, and `embedkit --help` imports no command.
 * Each check runs in a fresh Node process (through tsx, on the sources), which
 * records every native addon opened (`process.dlopen`) and every CommonJS
 * module in `require.cache`.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));

/** Packages that must not be loaded by an import (CommonJS: they show in `require.cache`). */
const HEAVY = [
  "onnxruntime-node",
  "onnxruntime-common",
  "sharp",
  "better-sqlite3",
  "hnswlib-node",
  "pg",
  "@tensorflow",
  "@vladmandic",
  "fastify",
  "prom-client",
  "yauzl",
  "proper-lockfile",
];

interface Probe {
  readonly addons: readonly string[];
  readonly packages: readonly string[];
  readonly exported: readonly string[];
  readonly sharpCache: unknown;
  readonly output: string;
}

/**
 * In a fresh process: import `entry` (a path under src/), optionally run
 * `after(module)` (source text of an async function), then report what loaded.
 */
async function probe(entry: string, after = "async () => {}"): Promise<Probe> {
  const script = `
    const addons = [];
    const dlopen = process.dlopen;
    process.dlopen = function (module, filename, ...rest) {
      addons.push(filename);
      return dlopen.call(this, module, filename, ...rest);
    };
    const { createRequire } = await import("node:module");
    const { pathToFileURL } = await import("node:url");
    const module = await import(pathToFileURL(${JSON.stringify(`${root}${entry}`)}).href);
    const output = await (${after})(module);
    const require = createRequire(${JSON.stringify(root)});
    const packages = [...new Set(Object.keys(require.cache)
      .filter((path) => path.includes("/node_modules/"))
      .map((path) => {
        const parts = path.split("/node_modules/").pop().split("/");
        return parts[0].startsWith("@") ? parts[0] + "/" + parts[1] : parts[0];
      }))].sort();
    const openedAddons = [...addons];
    // Only now load sharp, to read the cache limits the import left behind.
    const sharpCache = require("sharp").cache();
    process.stdout.write("\\n" + JSON.stringify({
      addons: openedAddons, packages, exported: Object.keys(module), sharpCache, output: output ?? "",
    }));
  `;
  const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.slice(stdout.lastIndexOf("\n") + 1)) as Probe;
}

function heavyIn(packages: readonly string[]): string[] {
  return packages.filter((name) => HEAVY.some((heavy) => name === heavy || name.startsWith(`${heavy}/`)));
}

describe("light imports", () => {
  it("the root entry loads no native addon or heavy library and leaves sharp's cache alone", async () => {
    const [imported, untouched] = await Promise.all([
      probe(
        "src/index.ts",
        `async (m) => String(m.cosineSimilarity(new Float32Array([1, 0]), new Float32Array([1, 1])))`,
      ),
      probe("src/errors.ts"),
    ]);
    expect(imported.addons).toEqual([]);
    expect(heavyIn(imported.packages)).toEqual([]);
    // The public API is all there, and works.
    expect(imported.exported).toEqual(
      expect.arrayContaining(["cosineSimilarity", "createEmbedder", "openVectorStore"]),
    );
    expect(Number(imported.output)).toBeCloseTo(Math.SQRT1_2, 6);
    // sharp's cache limits after importing embedkit equal those of a process that never did.
    expect(untouched.sharpCache).toMatchObject({ items: { max: expect.any(Number) } });
    expect(imported.sharpCache).toMatchObject({
      memory: { max: (untouched.sharpCache as { memory: { max: number } }).memory.max },
      files: { max: (untouched.sharpCache as { files: { max: number } }).files.max },
      items: { max: (untouched.sharpCache as { items: { max: number } }).items.max },
    });
  });

  it.each([
    "src/store/index.ts",
    "src/eval/index.ts",
    "src/train/index.ts",
    "src/ner/index.ts",
    "src/embed/media/index.ts",
    "src/apps/index.ts",
  ])("the subpath entry %s loads no native addon or heavy library", async (entry) => {
    const result = await probe(entry);
    expect(result.addons).toEqual([]);
    expect(heavyIn(result.packages)).toEqual([]);
  });

  it("native addons load on first use: opening an embedded store loads better-sqlite3 and hnswlib-node only", async () => {
    const result = await probe(
      "src/store/index.ts",
      `async (m) => {
        const { mkdtemp, rm } = await import("node:fs/promises");
        const { join } = await import("node:path");
        const { tmpdir } = await import("node:os");
        const dir = await mkdtemp(join(tmpdir(), "embedkit-light-"));
        const store = await m.openEmbeddedStore({ path: dir });
        const collection = await store.createCollection("c", { model: "m", dims: 2 });
        await collection.upsert([{ id: "a", vector: new Float32Array([1, 0]) }]);
        const hits = await collection.query({ vector: new Float32Array([1, 0]), k: 1 });
        await store.close();
        await rm(dir, { recursive: true, force: true });
        return hits.map((hit) => hit.id).join(",");
      }`,
    );
    expect(result.output).toBe("a");
    expect(heavyIn(result.packages)).toEqual(["better-sqlite3", "hnswlib-node"]);
    expect(result.addons.map((path) => path.split("/").pop())).toEqual(
      expect.arrayContaining(["better_sqlite3.node", "addon.node"]),
    );
  });

  it("`embedkit --help` imports no command: no native addon, no server", async () => {
    const result = await probe(
      "src/cli/main.ts",
      `async (m) => {
        let text = "";
        const write = process.stdout.write;
        process.stdout.write = (chunk) => { text += chunk; return true; };
        try { await m.main(["node", "embedkit", "--help"]); } finally { process.stdout.write = write; }
        return text;
      }`,
    );
    expect(result.output).toContain("train");
    expect(result.output).toContain("serve [options]");
    expect(result.addons).toEqual([]);
    expect(heavyIn(result.packages)).toEqual([]);
  });
});
