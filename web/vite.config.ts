/**
 * Build of the dashboard (docs/DASHBOARD.md): `npm run build` runs it after tsc and writes
 * dist/web, which `embedkit serve` serves at `/`. Hashed file names, no inline scripts (the
 * server's Content-Security-Policy allows only its own files), no module-preload polyfill.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/web", import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 2048,
    sourcemap: false,
  },
});
