import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

// All suites share one model cache inside the checkout (`.cache/embedkit-test`,
// git-ignored) unless EMBEDKIT_TEST_HOME is set, so a fresh clone pulls the real
// models through the real store code once. Model-heavy files run in forks with
// generous timeouts (first pulls download ~600 MB).
const home = process.env.EMBEDKIT_TEST_HOME ?? resolve(".cache/embedkit-test");

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Installs missing system tools (ffmpeg, chromium) before any suite runs.
    globalSetup: ["test/setup/system-tools.ts"],
    env: { EMBEDKIT_HOME: home },
    pool: "forks",
    testTimeout: 180_000,
    hookTimeout: 900_000,
    maxWorkers: 2,
  },
});
