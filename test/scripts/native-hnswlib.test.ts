/**
 * The install step that rebuilds hnswlib-node for this CPU (`scripts/native-hnswlib.mjs`):
 * its decision logic on real /proc/cpuinfo samples, the fallback with a broken compiler (for real,
 * on a temporary copy of hnswlib-node), and one real rebuild: swapped in, idempotent, restorable,
 * and answering a recall check.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  MARKER_FILE,
  markerIsCurrent,
  OPT_OUT_VARIABLE,
  PORTABLE_ADDON,
  parseCpuFlags,
  parseCpuModel,
  planNativeBuild,
} from "../../scripts/native-hnswlib.mjs";
import { describeHnswlibBuild, hnswlibAddonForThisCpu } from "../../src/internal/hnswlib-build.js";
import type { Hnswlib } from "../../src/internal/load-dependency.js";
import { hnswRecallAt10 } from "../helpers/hnsw-recall.js";

const script = resolve("scripts/native-hnswlib.mjs");
const sample = (name: string): string => readFileSync(resolve("test/fixtures/cpuinfo", name), "utf8");
const linux = { platform: "linux", arch: "x64", env: {} };

describe("CPU flags and the build decision", () => {
  it("reads the flags line of real /proc/cpuinfo samples", () => {
    const zen3 = parseCpuFlags(sample("amd-epyc-zen3.txt"));
    expect(zen3).toEqual(expect.arrayContaining(["avx", "avx2", "fma", "sse4_2"]));
    expect(zen3).not.toContain("avx512f");
    expect(parseCpuFlags(sample("constructed-avx512.txt"))).toContain("avx512f");
    expect(parseCpuFlags(sample("intel-xeon-e5-2670-sandy-bridge.txt"))).toEqual(
      expect.arrayContaining(["avx", "sse4_2"]),
    );
    // ARM prints "Features", not "flags": no x86 flags at all.
    expect(parseCpuFlags(sample("cavium-thunderx-aarch64.txt"))).toEqual([]);
    expect(parseCpuModel(sample("intel-xeon-e5-2670-sandy-bridge.txt"))).toBe(
      "Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz",
    );
  });

  it("builds with AVX2 + FMA, adds AVX-512F when present, and keeps the portable build otherwise", () => {
    expect(planNativeBuild({ ...linux, cpuFlags: parseCpuFlags(sample("amd-epyc-zen3.txt")) })).toEqual({
      build: true,
      cpuFeatures: ["avx2", "fma"],
      compilerFlags: ["-mavx2", "-mfma"],
    });
    expect(planNativeBuild({ ...linux, cpuFlags: parseCpuFlags(sample("constructed-avx512.txt")) })).toEqual({
      build: true,
      cpuFeatures: ["avx2", "fma", "avx512f"],
      compilerFlags: ["-mavx2", "-mfma", "-mavx512f"],
    });
    expect(
      planNativeBuild({ ...linux, cpuFlags: parseCpuFlags(sample("intel-xeon-e5-2670-sandy-bridge.txt")) }),
    ).toEqual({ build: false, reason: "this CPU lacks avx2 + fma" });
    expect(
      planNativeBuild({
        ...linux,
        arch: "arm64",
        cpuFlags: parseCpuFlags(sample("cavium-thunderx-aarch64.txt")),
      }),
    ).toEqual({ build: false, reason: "not x64 (arm64)" });
    const zen3 = parseCpuFlags(sample("amd-epyc-zen3.txt"));
    expect(planNativeBuild({ ...linux, platform: "darwin", cpuFlags: zen3 })).toMatchObject({
      build: false,
      reason: expect.stringMatching(/^not Linux \(darwin\)/),
    });
  });

  it("honours the opt-out in its usual spellings, and only those", () => {
    const cpuFlags = parseCpuFlags(sample("amd-epyc-zen3.txt"));
    for (const value of ["0", "false", "OFF", " no "]) {
      expect(planNativeBuild({ ...linux, cpuFlags, env: { [OPT_OUT_VARIABLE]: value } })).toEqual({
        build: false,
        reason: `${OPT_OUT_VARIABLE}=${value} (opted out)`,
      });
    }
    expect(planNativeBuild({ ...linux, cpuFlags, env: { [OPT_OUT_VARIABLE]: "1" } }).build).toBe(true);
  });

  it("re-runs only when the hnswlib-node version, the flags or the addon bytes changed", () => {
    const marker = {
      schema: 1,
      hnswlibVersion: "3.0.0",
      compilerFlags: ["-mavx2", "-mfma"],
      addonSha256: "ab".repeat(32),
    };
    const current = {
      hnswlibVersion: "3.0.0",
      compilerFlags: ["-mavx2", "-mfma"],
      addonSha256: "ab".repeat(32),
    };
    expect(markerIsCurrent(marker, current)).toBe(true);
    expect(markerIsCurrent(marker, { ...current, hnswlibVersion: "3.1.0" })).toBe(false);
    expect(markerIsCurrent(marker, { ...current, compilerFlags: ["-mavx2", "-mfma", "-mavx512f"] })).toBe(
      false,
    );
    // `npm rebuild hnswlib-node` put a portable addon back: its bytes no longer match.
    expect(markerIsCurrent(marker, { ...current, addonSha256: "cd".repeat(32) })).toBe(false);
    expect(markerIsCurrent({ ...marker, schema: 2 }, current)).toBe(false);
    expect(markerIsCurrent(undefined, current)).toBe(false);
    expect(markerIsCurrent("not an object", current)).toBe(false);
  });
});

describe("the install step on a copy of hnswlib-node", () => {
  const installed = dirname(createRequire(import.meta.url).resolve("hnswlib-node/package.json"));
  const scratch = mkdtempSync(join(tmpdir(), "embedkit-native-hnswlib-test-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** A fresh copy of the installed hnswlib-node, back on its portable build (after `npm ci` it may be native). */
  function copyOfHnswlib(name: string): string {
    const target = join(scratch, name, "hnswlib-node");
    cpSync(installed, target, { recursive: true });
    const restore = runScript(["--hnswlib-dir", target, "--restore"]);
    expect(restore.status).toBe(0);
    expect(describeHnswlibBuild({ packageDir: target }).kind).toBe("portable");
    return target;
  }

  /** Run the script like npm's postinstall would, with the opt-out variable cleared. */
  function runScript(args: string[], env: Record<string, string> = {}) {
    const { [OPT_OUT_VARIABLE]: _ignored, ...inherited } = process.env;
    return spawnSync(process.execPath, [script, ...args], {
      encoding: "utf8",
      env: { ...inherited, ...env },
    });
  }

  const here = planNativeBuild({
    platform: process.platform,
    arch: process.arch,
    cpuFlags: parseCpuFlags(process.platform === "linux" ? readFileSync("/proc/cpuinfo", "utf8") : ""),
    env: {},
  });

  it("keeps the portable addon, exits 0 and says why when the compiler is broken", () => {
    const copy = copyOfHnswlib("broken-compiler");
    const release = join(copy, "build", "Release");
    const before = readFileSync(join(release, "addon.node"));
    const run = runScript(["--hnswlib-dir", copy], { CXX: "/bin/false" });
    expect(run.status).toBe(0);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^embedkit \(native hnswlib\): kept the portable build: /);
    expect(lines[0]).toMatch(
      here.build ? /no working C\+\+ compiler \(CXX=\/bin\/false/ : /lacks|not x64|not Linux/,
    );
    expect(readFileSync(join(release, "addon.node")).equals(before)).toBe(true);
    expect(existsSync(join(release, PORTABLE_ADDON))).toBe(false);
    expect(existsSync(join(release, MARKER_FILE))).toBe(false);
    expect(describeHnswlibBuild({ packageDir: copy }).kind).toBe("portable");
  });

  it("rebuilds for this CPU once, keeps the portable addon, answers recall, and restores", () => {
    const copy = copyOfHnswlib("rebuild");
    const release = join(copy, "build", "Release");
    const portableBytes = readFileSync(join(release, "addon.node"));
    const first = runScript(["--hnswlib-dir", copy]);
    expect(first.status).toBe(0);
    if (!here.build) {
      // This machine cannot use the native build: the step says why and changes nothing.
      expect(first.stderr).toContain(`kept the portable build: ${here.reason}`);
      expect(describeHnswlibBuild({ packageDir: copy }).kind).toBe("portable");
      return;
    }
    expect(first.stderr).toMatch(/hnswlib-node rebuilt for this CPU \(-mavx2 -mfma/);
    expect(readFileSync(join(release, PORTABLE_ADDON)).equals(portableBytes)).toBe(true);
    expect(readFileSync(join(release, "addon.node")).equals(portableBytes)).toBe(false);
    const marker = JSON.parse(readFileSync(join(release, MARKER_FILE), "utf8")) as Record<string, unknown>;
    expect(marker).toMatchObject({
      schema: 1,
      hnswlibVersion: describeHnswlibBuild({ packageDir: copy }).version,
      compilerFlags: here.compilerFlags,
      cpuFeatures: here.cpuFeatures,
      agreement: expect.any(Number),
    });
    expect(marker.agreement as number).toBeGreaterThanOrEqual(0.99);
    expect(describeHnswlibBuild({ packageDir: copy })).toMatchObject({
      kind: "native",
      compilerFlags: here.compilerFlags,
      portablePath: join(release, PORTABLE_ADDON),
    });

    // The native addon (the one bindings() loads from the copy) answers a recall check.
    const native = createRequire(import.meta.url)(join(release, "addon.node")) as Hnswlib;
    expect(hnswRecallAt10(native)).toBeGreaterThanOrEqual(0.95);

    // Moved to a CPU without the features it was built for, the loader takes the kept portable addon.
    const build = describeHnswlibBuild({ packageDir: copy });
    expect(hnswlibAddonForThisCpu({ build, cpuinfo: readFileSync("/proc/cpuinfo", "utf8") })).toBeUndefined();
    const older = hnswlibAddonForThisCpu({ build, cpuinfo: sample("intel-xeon-e5-2670-sandy-bridge.txt") });
    expect(older).toBe(join(release, PORTABLE_ADDON));
    expect(hnswRecallAt10(createRequire(import.meta.url)(older as string) as Hnswlib)).toBeGreaterThanOrEqual(
      0.95,
    );

    // Idempotent: a second run finds a current marker and does not rebuild.
    const second = runScript(["--hnswlib-dir", copy]);
    expect(second.status).toBe(0);
    expect(second.stderr.trim()).toBe(
      `embedkit (native hnswlib): the native build (${here.compilerFlags.join(" ")}) is current`,
    );

    // The opt-out puts the portable addon back (and so does --restore).
    const optOut = runScript(["--hnswlib-dir", copy], { [OPT_OUT_VARIABLE]: "0" });
    expect(optOut.status).toBe(0);
    expect(optOut.stderr).toMatch(/opted out\) \(restored the portable addon\)/);
    expect(readFileSync(join(release, "addon.node")).equals(portableBytes)).toBe(true);
    expect(existsSync(join(release, MARKER_FILE))).toBe(false);
    expect(describeHnswlibBuild({ packageDir: copy }).kind).toBe("portable");
    const restore = runScript(["--hnswlib-dir", copy, "--restore"]);
    expect(restore.status).toBe(0);
    expect(restore.stderr).toMatch(/the portable addon is already in use/);
  });
});
