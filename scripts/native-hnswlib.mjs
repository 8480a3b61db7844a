#!/usr/bin/env node
/**
 * @module scripts/native-hnswlib
 * Install step (`postinstall`): rebuild hnswlib-node's addon for this CPU.
 *
 * `npm ci` compiles hnswlib-node with node-gyp's portable flags, so hnswlib's distance functions
 * use SSE only. On an x64 Linux CPU with AVX2 + FMA this script rebuilds the addon with
 * `-mavx2 -mfma` (plus `-mavx512f` when the CPU has it, which turns on hnswlib's own AVX-512
 * path) in a temporary copy of the package, checks the new addon against the portable one in a
 * child process (same data, same index parameters: the same neighbours and distances), and only
 * then swaps it in with a rename, keeping the portable addon next to it
 * (`build/Release/addon.portable.node`) and a marker (`build/Release/embedkit-native-hnswlib.json`:
 * hnswlib-node version, CPU features, compiler flags, sha256 of the native addon).
 *
 * It never fails the install: anything unexpected (not x64 Linux, no AVX2 + FMA, no compiler, no
 * Node headers, a smoke-test mismatch) keeps the portable build, prints ONE line on stderr that
 * says why, and exits 0. It is idempotent: with a current marker it does nothing.
 *
 * Plain Node (no dependencies beyond Node and npm's bundled node-gyp) because it runs before
 * `dist/` exists. Usage:
 *
 *   node scripts/native-hnswlib.mjs                 rebuild when useful (the postinstall step)
 *   node scripts/native-hnswlib.mjs --restore       put the portable addon back
 *   node scripts/native-hnswlib.mjs --hnswlib-dir <dir>   work on that copy of hnswlib-node
 *   EMBEDKIT_NATIVE_HNSWLIB=0                       opt out (and restore the portable addon)
 *
 * Images built on one machine and run on another should opt out, or run this step on the target:
 * the native addon needs the CPU features named in the marker.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The marker file, in hnswlib-node's `build/Release/`. */
export const MARKER_FILE = "embedkit-native-hnswlib.json";
/** The portable addon kept next to the native one, in `build/Release/`. */
export const PORTABLE_ADDON = "addon.portable.node";
/** The opt-out variable: `0` (or `false`, `off`, `no`) keeps the portable build. */
export const OPT_OUT_VARIABLE = "EMBEDKIT_NATIVE_HNSWLIB";
/** Marker format version. */
const MARKER_SCHEMA = 1;
/** CPU features the native build needs; `avx512f` is added when present. */
const REQUIRED_FEATURES = ["avx2", "fma"];
/** Longest rebuild we wait for (a rebuild takes ~20 s of CPU). */
const BUILD_TIMEOUT_MS = 10 * 60_000;
const PREFIX = "embedkit (native hnswlib):";

/**
 * The CPU feature flags of `/proc/cpuinfo` text (the first `flags` line; all CPUs of a machine
 * report the same), sorted and unique. Empty when there is no such line (not x86, not Linux).
 * @param {string} cpuinfo
 * @returns {string[]}
 */
export function parseCpuFlags(cpuinfo) {
  const line = cpuinfo.split("\n").find((row) => /^flags\s*:/.test(row));
  if (line === undefined) return [];
  const flags = line
    .slice(line.indexOf(":") + 1)
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  return [...new Set(flags)].sort();
}

/**
 * The model name line of `/proc/cpuinfo` text, for the marker (informational).
 * @param {string} cpuinfo
 * @returns {string}
 */
export function parseCpuModel(cpuinfo) {
  const line = cpuinfo.split("\n").find((row) => /^model name\s*:/.test(row));
  return line === undefined ? "unknown" : line.slice(line.indexOf(":") + 1).trim();
}

/**
 * Decide whether to build, and with which flags.
 * @param {{ platform: string, arch: string, cpuFlags: readonly string[], env: Record<string, string | undefined> }} input
 * @returns {{ build: true, cpuFeatures: string[], compilerFlags: string[] } | { build: false, reason: string }}
 */
export function planNativeBuild({ platform, arch, cpuFlags, env }) {
  const optOut = env[OPT_OUT_VARIABLE];
  if (optOut !== undefined && ["0", "false", "off", "no"].includes(optOut.trim().toLowerCase())) {
    return { build: false, reason: `${OPT_OUT_VARIABLE}=${optOut} (opted out)` };
  }
  if (platform !== "linux")
    return { build: false, reason: `not Linux (${platform}): CPU flags are read from /proc/cpuinfo` };
  if (arch !== "x64") return { build: false, reason: `not x64 (${arch})` };
  const missing = REQUIRED_FEATURES.filter((feature) => !cpuFlags.includes(feature));
  if (missing.length > 0) return { build: false, reason: `this CPU lacks ${missing.join(" + ")}` };
  // hnswlib compiles its AVX-512 distance functions when __AVX512F__ is defined; they use AVX512F only.
  const cpuFeatures = cpuFlags.includes("avx512f")
    ? [...REQUIRED_FEATURES, "avx512f"]
    : [...REQUIRED_FEATURES];
  return { build: true, cpuFeatures, compilerFlags: cpuFeatures.map((feature) => `-m${feature}`) };
}

/**
 * Whether the installed addon is the native build the marker describes, for this plan and version.
 * @param {unknown} marker the parsed marker, or undefined
 * @param {{ hnswlibVersion: string, compilerFlags: readonly string[], addonSha256: string }} current
 * @returns {boolean}
 */
export function markerIsCurrent(marker, current) {
  if (typeof marker !== "object" || marker === null) return false;
  const m = /** @type {Record<string, unknown>} */ (marker);
  return (
    m.schema === MARKER_SCHEMA &&
    m.hnswlibVersion === current.hnswlibVersion &&
    Array.isArray(m.compilerFlags) &&
    m.compilerFlags.join(" ") === current.compilerFlags.join(" ") &&
    m.addonSha256 === current.addonSha256
  );
}

/** @param {string} path */
function sha256File(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** @param {string} path */
function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** Copy `source` to `target` through a temporary name in the target's folder, then rename (atomic). */
function copyAtomic(/** @type {string} */ source, /** @type {string} */ target) {
  const temporary = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  copyFileSync(source, temporary);
  renameSync(temporary, target);
}

/** Write `text` to `target` through a temporary name, then rename (atomic). */
function writeAtomic(/** @type {string} */ target, /** @type {string} */ text) {
  const temporary = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  writeFileSync(temporary, text);
  renameSync(temporary, target);
}

/** An installation step that failed for a reason worth one line. */
class Fallback extends Error {}

/**
 * The paths of one hnswlib-node installation.
 * @param {string} packageDir
 */
function hnswlibPaths(packageDir) {
  const release = join(packageDir, "build", "Release");
  return {
    packageDir,
    release,
    addon: join(release, "addon.node"),
    portable: join(release, PORTABLE_ADDON),
    marker: join(release, MARKER_FILE),
  };
}

/** hnswlib-node's folder: `--hnswlib-dir`, else resolved from this package (works as a dependency). */
function resolveHnswlibDir(/** @type {string | undefined} */ given) {
  if (given !== undefined) return given;
  const require = createRequire(import.meta.url);
  return dirname(require.resolve("hnswlib-node/package.json"));
}

/** The folder holding `node-addon-api`, for NODE_PATH in the temporary copy. */
function nodeAddonApiRoot(/** @type {string} */ packageDir) {
  for (const from of [join(packageDir, "package.json"), fileURLToPath(import.meta.url)]) {
    try {
      return dirname(dirname(createRequire(from).resolve("node-addon-api/package.json")));
    } catch {
      // try the next place
    }
  }
  throw new Fallback("node-addon-api (hnswlib-node's build dependency) is not installed");
}

/** npm's bundled node-gyp: the one npm names in lifecycle scripts, else next to npm or node. */
function findNodeGyp(/** @type {Record<string, string | undefined>} */ env) {
  const candidates = [
    env.npm_config_node_gyp,
    env.npm_execpath === undefined
      ? undefined
      : join(dirname(env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    join(
      dirname(process.execPath),
      "..",
      "lib",
      "node_modules",
      "npm",
      "node_modules",
      "node-gyp",
      "bin",
      "node-gyp.js",
    ),
  ];
  const found = candidates.find((path) => path !== undefined && existsSync(path));
  if (found === undefined) throw new Fallback("npm's bundled node-gyp was not found");
  return found;
}

/** Node's headers: npm's `nodedir` setting, else the install prefix of this node when it has them. */
function findNodeDir(/** @type {Record<string, string | undefined>} */ env) {
  if (env.npm_config_nodedir) return env.npm_config_nodedir;
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? prefix : undefined;
}

/** Fail early, with a clear reason, when the C++ compiler does not run. */
function checkCompiler(/** @type {Record<string, string | undefined>} */ env) {
  const compiler = env.CXX?.trim() || "c++";
  const [command = "c++", ...args] = compiler.split(/\s+/);
  const result = spawnSync(command, [...args, "--version"], { stdio: "ignore", timeout: 30_000 });
  if (result.error !== undefined || result.status !== 0) {
    const why = result.error !== undefined ? result.error.message : `exit code ${result.status}`;
    throw new Fallback(`no working C++ compiler (CXX=${compiler}: ${why})`);
  }
}

/** The most telling line of a failed build's output. */
function buildErrorLine(/** @type {string} */ output) {
  const lines = output.split("\n").map((line) => line.trim());
  const line =
    lines.find(
      (row) => /error|not found|fatal|cannot|no such/i.test(row) && !/^gyp (ERR!|WARN|info)/.test(row),
    ) ??
    lines.find((row) => /^gyp ERR!/.test(row) && !/stack|System|command|cwd|node -v|node-gyp -v/.test(row)) ??
    lines.filter(Boolean).at(-1) ??
    "no output";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * Rebuild the addon in a temporary copy of hnswlib-node and return the new addon's path.
 * @param {{ packageDir: string, compilerFlags: readonly string[], env: Record<string, string | undefined>, workDir: string }} input
 */
function buildNativeAddon({ packageDir, compilerFlags, env, workDir }) {
  checkCompiler(env);
  const copy = join(workDir, "hnswlib-node");
  cpSync(packageDir, copy, {
    recursive: true,
    filter: (source) => !source.startsWith(join(packageDir, "build")),
  });
  const nodeDir = findNodeDir(env);
  const args = [
    findNodeGyp(env),
    "rebuild",
    "--jobs=1",
    ...(nodeDir === undefined ? [] : [`--nodedir=${nodeDir}`]),
  ];
  const result = spawnSync(process.execPath, args, {
    cwd: copy,
    encoding: "utf8",
    timeout: BUILD_TIMEOUT_MS,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...env,
      CXXFLAGS: [env.CXXFLAGS, ...compilerFlags].filter(Boolean).join(" "),
      NODE_PATH: [nodeAddonApiRoot(packageDir), env.NODE_PATH].filter(Boolean).join(":"),
    },
  });
  if (result.error !== undefined) throw new Fallback(`node-gyp did not finish: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Fallback(
      `node-gyp rebuild failed (exit ${result.status}): ${buildErrorLine(`${result.stdout}\n${result.stderr}`)}`,
    );
  }
  const built = join(copy, "build", "Release", "addon.node");
  if (!existsSync(built))
    throw new Fallback("node-gyp reported success but wrote no build/Release/addon.node");
  return built;
}

/**
 * Compare two hnswlib-node addons on the same data (run in a child process: a native addon that
 * uses an instruction this CPU lacks would kill its process). Three spaces, a dimension that is a
 * multiple of 16 (the AVX/AVX-512 loops) and one that is not (the residual paths).
 * @param {string} portablePath
 * @param {string} nativePath
 * @returns {{ ok: boolean, agreement: number, maxDistanceError: number, detail: string }}
 */
export function compareAddons(portablePath, nativePath) {
  const require = createRequire(import.meta.url);
  const portable = require(portablePath);
  const native = require(nativePath);
  let seed = 12345;
  const random = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const count = 1000;
  const queries = 50;
  const k = 10;
  let agreed = 0;
  let total = 0;
  let maxDistanceError = 0;
  const details = [];
  for (const [space, dims] of [
    ["l2", 384],
    ["ip", 384],
    ["cosine", 384],
    ["l2", 37],
    ["ip", 37],
  ]) {
    const points = Array.from({ length: count }, () => Array.from({ length: dims }, random));
    const probes = Array.from({ length: queries }, () => Array.from({ length: dims }, random));
    const indexes = [portable, native].map((addon) => {
      const index = new addon.HierarchicalNSW(space, dims);
      index.initIndex({ maxElements: count, m: 16, efConstruction: 100, randomSeed: 100 });
      points.forEach((point, label) => index.addPoint(point, label));
      index.setEf(100);
      return index;
    });
    let spaceAgreed = 0;
    for (const probe of probes) {
      const [a, b] = indexes.map((index) => index.searchKnn(probe, k));
      const labels = new Set(a.neighbors);
      spaceAgreed += b.neighbors.filter((label) => labels.has(label)).length;
      for (let i = 0; i < b.neighbors.length; i++) {
        const j = a.neighbors.indexOf(b.neighbors[i]);
        if (j >= 0) {
          const scale = Math.max(1, Math.abs(a.distances[j]));
          maxDistanceError = Math.max(maxDistanceError, Math.abs(a.distances[j] - b.distances[i]) / scale);
        }
      }
    }
    agreed += spaceAgreed;
    total += queries * k;
    details.push(`${space}/${dims}: ${(spaceAgreed / (queries * k)).toFixed(3)}`);
  }
  const agreement = agreed / total;
  return {
    ok: agreement >= 0.99 && maxDistanceError <= 1e-4,
    agreement,
    maxDistanceError,
    detail: details.join(", "),
  };
}

/** Run {@link compareAddons} in a child process; throws Fallback when the addons disagree or it crashed. */
function smokeTest(/** @type {string} */ portablePath, /** @type {string} */ nativePath) {
  const result = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), "--compare", portablePath, nativePath],
    {
      encoding: "utf8",
      timeout: 120_000,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  if (result.status !== 0) {
    const why = result.signal ? `killed by ${result.signal}` : buildErrorLine(result.stderr || result.stdout);
    throw new Fallback(`the native addon failed its smoke test (${why})`);
  }
  const report = JSON.parse(result.stdout);
  if (!report.ok) {
    throw new Fallback(
      `the native addon disagrees with the portable one (neighbour agreement ${report.agreement.toFixed(4)}, ` +
        `max distance error ${report.maxDistanceError.toExponential(2)}; ${report.detail})`,
    );
  }
  return report;
}

/**
 * Put the portable addon back and remove the marker (when a native build is installed).
 * @param {ReturnType<typeof hnswlibPaths>} paths
 * @returns {boolean} whether anything was restored
 */
function restorePortable(paths) {
  if (!existsSync(paths.portable)) return false;
  renameSync(paths.portable, paths.addon);
  rmSync(paths.marker, { force: true });
  return true;
}

/**
 * The whole step. Never throws for an expected failure: returns the one line to print.
 * @param {{ env?: Record<string, string | undefined>, hnswlibDir?: string, restore?: boolean, cpuinfo?: string }} [options]
 * @returns {{ status: "built" | "current" | "skipped" | "restored" | "kept-portable", message: string }}
 */
export function installNativeHnswlib(options = {}) {
  const env = options.env ?? process.env;
  const started = process.hrtime.bigint();
  let paths;
  try {
    paths = hnswlibPaths(resolveHnswlibDir(options.hnswlibDir));
  } catch (error) {
    return {
      status: "skipped",
      message: `${PREFIX} skipped: hnswlib-node is not installed (${String(error)})`,
    };
  }
  if (options.restore) {
    const restored = restorePortable(paths);
    return {
      status: restored ? "restored" : "current",
      message: `${PREFIX} ${restored ? "restored the portable addon" : "the portable addon is already in use"}`,
    };
  }
  let cpuinfo = options.cpuinfo ?? "";
  if (options.cpuinfo === undefined && process.platform === "linux") {
    try {
      cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      cpuinfo = "";
    }
  }
  const plan = planNativeBuild({
    platform: process.platform,
    arch: process.arch,
    cpuFlags: parseCpuFlags(cpuinfo),
    env,
  });
  if (!plan.build) {
    const restored = existsSync(paths.addon) && restorePortable(paths);
    return {
      status: "skipped",
      message: `${PREFIX} kept the portable build: ${plan.reason}${restored ? " (restored the portable addon)" : ""}`,
    };
  }
  let workDir;
  try {
    if (!existsSync(paths.addon))
      throw new Fallback("hnswlib-node has no build/Release/addon.node to start from");
    const hnswlibVersion = JSON.parse(readFileSync(join(paths.packageDir, "package.json"), "utf8")).version;
    const marker = readJson(paths.marker);
    const addonSha256 = sha256File(paths.addon);
    if (markerIsCurrent(marker, { hnswlibVersion, compilerFlags: plan.compilerFlags, addonSha256 })) {
      return {
        status: "current",
        message: `${PREFIX} the native build (${plan.compilerFlags.join(" ")}) is current`,
      };
    }
    // The portable addon: the kept copy when a (stale) native build is installed, else addon.node itself.
    const nativeInstalled =
      typeof marker === "object" && marker?.addonSha256 === addonSha256 && existsSync(paths.portable);
    const portableSource = nativeInstalled ? paths.portable : paths.addon;
    workDir = mkdtempSync(join(tmpdir(), "embedkit-hnswlib-"));
    const built = buildNativeAddon({
      packageDir: paths.packageDir,
      compilerFlags: plan.compilerFlags,
      env,
      workDir,
    });
    const report = smokeTest(portableSource, built);
    // Keep the portable addon first, then swap the native one in with a rename, then the marker:
    // an interruption at any point leaves a loadable addon.node, and no marker means "build again".
    if (!nativeInstalled) copyAtomic(paths.addon, paths.portable);
    copyAtomic(built, paths.addon);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    writeAtomic(
      paths.marker,
      `${JSON.stringify(
        {
          schema: MARKER_SCHEMA,
          hnswlibVersion,
          cpuModel: parseCpuModel(cpuinfo),
          cpuFeatures: plan.cpuFeatures,
          compilerFlags: plan.compilerFlags,
          addonSha256: sha256File(paths.addon),
          portableAddon: PORTABLE_ADDON,
          agreement: report.agreement,
          builtAt: new Date().toISOString(),
          seconds: Math.round(seconds * 10) / 10,
        },
        null,
        2,
      )}\n`,
    );
    return {
      status: "built",
      message:
        `${PREFIX} hnswlib-node rebuilt for this CPU (${plan.compilerFlags.join(" ")}) in ${seconds.toFixed(1)} s; ` +
        `portable addon kept as build/Release/${PORTABLE_ADDON} (${OPT_OUT_VARIABLE}=0 to opt out)`,
    };
  } catch (error) {
    const reason = error instanceof Fallback ? error.message : `unexpected error: ${String(error)}`;
    return { status: "kept-portable", message: `${PREFIX} kept the portable build: ${reason}` };
  } finally {
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  }
}

/** Command line: the postinstall step, `--restore`, `--hnswlib-dir <dir>`, or the internal `--compare a b`. */
function main(/** @type {string[]} */ argv) {
  if (argv[0] === "--compare") {
    const [portablePath, nativePath] = argv.slice(1);
    if (portablePath === undefined || nativePath === undefined)
      throw new Error("--compare <portable> <native>");
    process.stdout.write(`${JSON.stringify(compareAddons(portablePath, nativePath))}\n`);
    return;
  }
  const dirAt = argv.indexOf("--hnswlib-dir");
  const hnswlibDir = dirAt >= 0 ? argv[dirAt + 1] : undefined;
  try {
    const { message } = installNativeHnswlib({
      ...(hnswlibDir === undefined ? {} : { hnswlibDir }),
      restore: argv.includes("--restore"),
    });
    process.stderr.write(`${message}\n`);
  } catch (error) {
    // Never fail `npm ci` because of this optional step.
    process.stderr.write(`${PREFIX} kept the portable build: unexpected error: ${String(error)}\n`);
  }
}

/** Whether this file is the process's entry point (also through a symlinked folder, as with `npm link`). */
function isEntryPoint() {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) main(process.argv.slice(2));
