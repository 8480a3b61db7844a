/**
 * @module internal/hnswlib-build
 * Which hnswlib-node addon the embedded store loads: the portable build `npm ci` compiled with
 * node-gyp's defaults (SSE distance functions), or the build for this CPU that the install step
 * `scripts/native-hnswlib.mjs` made (AVX2 + FMA, AVX-512 when present) and swapped in. The install
 * step leaves a marker next to the addon (`build/Release/embedkit-native-hnswlib.json`) with the
 * sha256 of the addon it installed; the addon is "native" only while its bytes still match, so a
 * later `npm rebuild hnswlib-node` reads as portable again. Synchronous and cheap (one small JSON
 * file and a 300 KB hash), for diagnostics such as `embedkit collections info`. The loader's CPU
 * check skips the hash (`verifyHash: false`): it runs in every thread that loads hnswlib, and
 * trusting a stale marker there only swaps one portable addon for another.
 *
 * {@link hnswlibAddonForThisCpu} is the safety net for a folder moved to another machine (a
 * container image built elsewhere): when the native addon needs a CPU feature this CPU lacks, the
 * loader takes the kept portable addon instead of crashing on an illegal instruction.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The marker the install step writes in hnswlib-node's `build/Release/`. */
const MARKER_FILE = "embedkit-native-hnswlib.json";
/** The portable addon the install step keeps next to the native one. */
const PORTABLE_ADDON = "addon.portable.node";

/** What {@link describeHnswlibBuild} found. */
export interface HnswlibBuild {
  /** `native`: built for this CPU at install; `portable`: node-gyp's defaults; `missing`: hnswlib-node not installed. */
  readonly kind: "native" | "portable" | "missing";
  /** hnswlib-node's version, when installed. */
  readonly version?: string;
  /** The addon hnswlib-node loads (`build/Release/addon.node`). */
  readonly addonPath?: string;
  /** Compiler flags of the native build (`-mavx2 -mfma`, …); empty for the portable one. */
  readonly compilerFlags: readonly string[];
  /** CPU features the native build needs (`avx2`, `fma`, `avx512f`); empty for the portable one. */
  readonly cpuFeatures: readonly string[];
  /** Path of the kept portable addon (restore with `node scripts/native-hnswlib.mjs --restore`), when there is one. */
  readonly portablePath?: string;
}

interface Marker {
  readonly addonSha256?: unknown;
  readonly compilerFlags?: unknown;
  readonly cpuFeatures?: unknown;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

/**
 * Describe the installed hnswlib-node addon.
 * @param options.packageDir hnswlib-node's folder (default: resolved from embedkit, as the store does)
 * @param options.verifyHash check the addon's sha256 against the marker (default true); without
 *   it a marker left by an earlier install is believed
 * @returns the build in use; never throws (a missing package is `kind: "missing"`)
 * @example
 * ```ts
 * describeHnswlibBuild(); // { kind: "native", compilerFlags: ["-mavx2", "-mfma"], … }
 * ```
 */
export function describeHnswlibBuild(
  options: { readonly packageDir?: string; readonly verifyHash?: boolean } = {},
): HnswlibBuild {
  let packageDir = options.packageDir;
  if (packageDir === undefined) {
    try {
      packageDir = dirname(createRequire(import.meta.url).resolve("hnswlib-node/package.json"));
    } catch {
      return { kind: "missing", compilerFlags: [], cpuFeatures: [] };
    }
  }
  const release = join(packageDir, "build", "Release");
  const addonPath = join(release, "addon.node");
  let version: string | undefined;
  try {
    version = (JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version?: string })
      .version;
  } catch {
    return { kind: "missing", compilerFlags: [], cpuFeatures: [] };
  }
  if (!existsSync(addonPath))
    return { kind: "missing", compilerFlags: [], cpuFeatures: [], version: version ?? "?" };
  const base = { version: version ?? "?", addonPath };
  let marker: Marker | undefined;
  try {
    marker = JSON.parse(readFileSync(join(release, MARKER_FILE), "utf8")) as Marker;
  } catch {
    marker = undefined;
  }
  const stale = (found: Marker): boolean =>
    options.verifyHash !== false &&
    found.addonSha256 !== createHash("sha256").update(readFileSync(addonPath)).digest("hex");
  if (marker === undefined || stale(marker)) {
    return { ...base, kind: "portable", compilerFlags: [], cpuFeatures: [] };
  }
  const portablePath = join(release, PORTABLE_ADDON);
  return {
    ...base,
    kind: "native",
    compilerFlags: stringList(marker.compilerFlags),
    cpuFeatures: stringList(marker.cpuFeatures),
    ...(existsSync(portablePath) ? { portablePath } : {}),
  };
}

/**
 * One line for diagnostics: `native build for this CPU (-mavx2 -mfma), hnswlib-node 3.0.0`.
 * @param build what {@link describeHnswlibBuild} returned
 */
export function formatHnswlibBuild(build: HnswlibBuild): string {
  if (build.kind === "missing") return "hnswlib-node is not installed";
  if (build.kind === "portable") {
    return `portable build (node-gyp defaults: SSE only), hnswlib-node ${build.version}`;
  }
  return `native build for this CPU (${build.compilerFlags.join(" ")}), hnswlib-node ${build.version}`;
}

/** The x86 feature flags of `/proc/cpuinfo` text (its first `flags` line); empty elsewhere. */
function cpuFlagsOf(cpuinfo: string): ReadonlySet<string> {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? "";
  return new Set(line.trim().split(/\s+/));
}

/**
 * The kept portable addon, when the installed native one needs a CPU feature this machine lacks
 * (the folder was built on another machine); `undefined` when the installed addon is fine here.
 * Only Linux reports CPU flags, and only Linux gets native builds.
 * @param options.build the installed build (default: {@link describeHnswlibBuild} without the hash check)
 * @param options.cpuinfo `/proc/cpuinfo` text (default: read on Linux)
 */
export function hnswlibAddonForThisCpu(
  options: { readonly build?: HnswlibBuild; readonly cpuinfo?: string } = {},
): string | undefined {
  if (options.build === undefined && options.cpuinfo === undefined && process.platform !== "linux")
    return undefined;
  const build = options.build ?? describeHnswlibBuild({ verifyHash: false });
  if (build.kind !== "native" || build.portablePath === undefined) return undefined;
  let cpuinfo = options.cpuinfo;
  if (cpuinfo === undefined) {
    try {
      cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      return undefined;
    }
  }
  const flags = cpuFlagsOf(cpuinfo);
  return build.cpuFeatures.every((feature) => flags.has(feature)) ? undefined : build.portablePath;
}
