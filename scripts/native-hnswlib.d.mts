/**
 * Types of `scripts/native-hnswlib.mjs` (the install step that rebuilds hnswlib-node for this
 * CPU), for the tests that import its decision logic.
 */
export declare const MARKER_FILE: string;
export declare const PORTABLE_ADDON: string;
export declare const OPT_OUT_VARIABLE: string;
export declare function parseCpuFlags(cpuinfo: string): string[];
export declare function parseCpuModel(cpuinfo: string): string;
export declare function planNativeBuild(input: {
  platform: string;
  arch: string;
  cpuFlags: readonly string[];
  env: Record<string, string | undefined>;
}): { build: true; cpuFeatures: string[]; compilerFlags: string[] } | { build: false; reason: string };
export declare function markerIsCurrent(
  marker: unknown,
  current: { hnswlibVersion: string; compilerFlags: readonly string[]; addonSha256: string },
): boolean;
export declare function compareAddons(
  portablePath: string,
  nativePath: string,
): { ok: boolean; agreement: number; maxDistanceError: number; detail: string };
export declare function installNativeHnswlib(options?: {
  env?: Record<string, string | undefined>;
  hnswlibDir?: string;
  restore?: boolean;
  cpuinfo?: string;
}): { status: "built" | "current" | "skipped" | "restored" | "kept-portable"; message: string };
