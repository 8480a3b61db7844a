/**
 * Issue 19.10: the repository's npm setup must not make every npm/npx call warn, and must keep
 * onnxruntime-node's install script (which fetches a CUDA provider from nuget.org on Linux x64)
 * from running. The denial lives in package.json's `allowScripts` (npm's own, known field), not in
 * `.npmrc` keys that npm 11 reports as "Unknown project config" on every call.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

describe("npm install configuration", () => {
  it("runs npm in the checkout without config warnings", () => {
    const result = spawnSync("npm", ["pkg", "get", "name"], { cwd: ROOT, encoding: "utf8" });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('"embedkit"');
    expect(result.stderr).not.toMatch(/Unknown (project|env|user) config/);
    expect(existsSync(join(ROOT, ".npmrc"))).toBe(false);
  });

  it("denies onnxruntime-node's install script and allows the native builds the project needs", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      allowScripts?: Record<string, boolean>;
    };
    expect(pkg.allowScripts?.["onnxruntime-node"]).toBe(false);
    for (const name of ["better-sqlite3", "hnswlib-node", "sharp"])
      expect(pkg.allowScripts?.[name]).toBe(true);
    // The installed copy has only the CPU runtime: no CUDA provider was downloaded.
    const bin = join(ROOT, "node_modules/onnxruntime-node/bin/napi-v6", process.platform, process.arch);
    const files = readdirSync(bin);
    expect(files).toContain("onnxruntime_binding.node");
    expect(files.filter((file) => /cuda|tensorrt/i.test(file))).toEqual([]);
    // And the native addons whose scripts are allowed did build.
    const loaded = execFileSync(
      process.execPath,
      ["-e", "require('better-sqlite3')(':memory:').close(); require('hnswlib-node'); console.log('ok')"],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(loaded.trim()).toBe("ok");
  });
});
