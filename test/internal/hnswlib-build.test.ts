/**
 * Which hnswlib-node addon is in use (`describeHnswlibBuild`), as `embedkit collections info`
 * shows it, and a recall check on the addon the embedded store actually loads.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeHnswlibBuild, formatHnswlibBuild } from "../../src/internal/hnswlib-build.js";
import { loadHnswlib } from "../../src/internal/load-dependency.js";
import { openVectorStore } from "../../src/store/open-vector-store.js";
import { runCli } from "../cli/run-cli.js";
import { hnswRecallAt10 } from "../helpers/hnsw-recall.js";

const scratch = mkdtempSync(join(tmpdir(), "embedkit-hnswlib-build-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("describeHnswlibBuild", () => {
  it("names the installed build, and the addon in use answers a recall check", async () => {
    const build = describeHnswlibBuild();
    expect(["native", "portable"]).toContain(build.kind);
    expect(build.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(build.addonPath).toMatch(/build[/\\]Release[/\\]addon\.node$/);
    if (build.kind === "native")
      expect(build.compilerFlags).toEqual(expect.arrayContaining(["-mavx2", "-mfma"]));
    else expect(build.compilerFlags).toEqual([]);
    expect(hnswRecallAt10(await loadHnswlib())).toBeGreaterThanOrEqual(0.95);
  });

  it("reports a folder without hnswlib-node as missing", () => {
    expect(describeHnswlibBuild({ packageDir: scratch })).toEqual({
      kind: "missing",
      compilerFlags: [],
      cpuFeatures: [],
    });
    expect(formatHnswlibBuild({ kind: "missing", compilerFlags: [], cpuFeatures: [] })).toBe(
      "hnswlib-node is not installed",
    );
  });

  it("calls a marker that no longer matches the addon's bytes portable, unless asked to trust it", () => {
    // A stand-in package folder: what `npm rebuild hnswlib-node` leaves after the install step ran
    // (its marker names an addon whose bytes are gone). The loader's CPU check trusts the marker.
    const packageDir = join(scratch, "stale-marker");
    const release = join(packageDir, "build", "Release");
    mkdirSync(release, { recursive: true });
    writeFileSync(join(packageDir, "package.json"), JSON.stringify({ version: "3.0.0" }));
    writeFileSync(join(release, "addon.node"), "rebuilt bytes");
    writeFileSync(join(release, "addon.portable.node"), "portable bytes");
    writeFileSync(
      join(release, "embedkit-native-hnswlib.json"),
      JSON.stringify({ addonSha256: "0".repeat(64), compilerFlags: ["-mavx2"], cpuFeatures: ["avx2"] }),
    );
    expect(describeHnswlibBuild({ packageDir }).kind).toBe("portable");
    expect(describeHnswlibBuild({ packageDir, verifyHash: false })).toMatchObject({
      kind: "native",
      compilerFlags: ["-mavx2"],
      cpuFeatures: ["avx2"],
      portablePath: join(release, "addon.portable.node"),
    });
  });
});

describe("embedkit collections info", () => {
  it("says which hnswlib-node build serves the embedded store, in text and JSON", async () => {
    const location = join(scratch, "store");
    const store = await openVectorStore(location);
    await store.createCollection("docs", { model: "all-minilm-l6-v2", dims: 4 });
    await store.close();
    const expected = describeHnswlibBuild();
    const text = await runCli(["collections", "info", "docs", "--store", location]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`hnswlib:    ${formatHnswlibBuild(expected)}\n`);
    const json = await runCli(["collections", "info", "docs", "--store", location, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "docs", hnswlib: { kind: expected.kind } });
  });
});
