/**
 * `embedkit serve`: help text, settings precedence (flags > env > config file >
 * defaults), config-file validation, and a real child process that listens on a
 * random port, reports ready on /health and shuts down cleanly on SIGTERM.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  readServeConfig,
  resolveServeSettings,
  SERVE_DEFAULTS,
  toServerOptions,
} from "../../src/server/serve-config.js";
import { runCli } from "../cli/run-cli.js";

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "embedkit-serve-"));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("embedkit serve --help", () => {
  it("documents every flag and the environment variables", async () => {
    const { code, stdout } = await runCli(["serve", "--help"]);
    expect(code).toBe(0);
    for (const flag of [
      "--host",
      "--port",
      "--model",
      "--models",
      "--alias",
      "--api-key",
      "--auto-truncate",
      "--no-batching",
      "--max-wait-ms",
      "--max-batch-tokens",
      "--max-queue",
      "--body-limit",
      "--timeout-ms",
      "--cors",
      "--idle-unload-ms",
      "--reports",
      "--open",
      "--config",
    ]) {
      expect(stdout).toContain(flag);
    }
    for (const variable of ["EMBEDKIT_HOST", "EMBEDKIT_PORT", "EMBEDKIT_API_KEYS", "EMBEDKIT_BATCHING"]) {
      expect(stdout).toContain(variable);
    }
    expect(stdout).toContain("Precedence: flags > environment > config file > defaults");
  });

  it("rejects malformed flag values as user errors", async () => {
    expect((await runCli(["serve", "--port", "abc"])).code).toBe(1);
    expect((await runCli(["serve", "--alias", "no-equals-sign"])).code).toBe(1);
  });
});

describe("serve settings", () => {
  it("uses safe defaults: 127.0.0.1:8080, batching on, no keys, no CORS, no auto-truncate", () => {
    const settings = resolveServeSettings({ flags: {}, env: {} });
    expect(settings).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      batching: true,
      apiKeys: [],
      autoTruncate: false,
      maxWaitMs: SERVE_DEFAULTS.maxWaitMs,
    });
    expect(settings.cors).toBeUndefined();
  });

  it("applies flags > env > config file > defaults", () => {
    const config = { host: "10.0.0.1", port: 9001, maxQueue: 7, batching: false, apiKeys: ["from-file"] };
    const env = { EMBEDKIT_PORT: "9002", EMBEDKIT_MAX_QUEUE: "8", EMBEDKIT_API_KEYS: "env-1, env-2" };
    const settings = resolveServeSettings({ flags: { port: 9003 }, env, config });
    expect(settings.host).toBe("10.0.0.1");
    expect(settings.port).toBe(9003);
    expect(settings.maxQueue).toBe(8);
    expect(settings.batching).toBe(false);
    expect(settings.apiKeys).toEqual(["from-file", "env-1", "env-2"]);
    const envOnly = resolveServeSettings({
      flags: {},
      env: {
        EMBEDKIT_BATCHING: "1",
        EMBEDKIT_ALIASES: "a=all-minilm-l6-v2,b=e5-small-v2",
        EMBEDKIT_CORS: "*",
      },
      config,
    });
    expect(envOnly.batching).toBe(true);
    expect(envOnly.aliases).toEqual({ a: "all-minilm-l6-v2", b: "e5-small-v2" });
    expect(envOnly.cors).toEqual(["*"]);
    expect(toServerOptions(envOnly).batching?.enabled).toBe(true);
  });

  it("security settings: loopback hosts by default, any host when bound elsewhere, each from every source", () => {
    expect(resolveServeSettings({ flags: {}, env: {} })).toMatchObject({
      allowedHosts: ["localhost", "127.0.0.1", "::1"],
      allowTokenIds: false,
      publicMetrics: false,
      maxRequestTokens: 300_000,
      maxConnections: 1024,
      maxBatchMs: 250,
    });
    expect(resolveServeSettings({ flags: { host: "0.0.0.0" }, env: {} }).allowedHosts).toEqual(["*"]);
    const env = {
      EMBEDKIT_ALLOWED_HOSTS: "api.example.com, embed.internal",
      EMBEDKIT_ALLOW_TOKEN_IDS: "1",
      EMBEDKIT_PUBLIC_METRICS: "yes",
      EMBEDKIT_MAX_REQUEST_TOKENS: "5000",
      EMBEDKIT_MAX_QUEUE_MS: "1500",
    };
    const settings = resolveServeSettings({
      flags: { maxConnections: 10 },
      env,
      config: { maxBatchMs: 100 },
    });
    expect(settings).toMatchObject({
      allowedHosts: ["api.example.com", "embed.internal"],
      allowTokenIds: true,
      publicMetrics: true,
      maxRequestTokens: 5000,
      maxQueueMs: 1500,
      maxConnections: 10,
      maxBatchMs: 100,
    });
    expect(toServerOptions(settings)).toMatchObject({
      allowedHosts: ["api.example.com", "embed.internal"],
      allowTokenIds: true,
      batching: { maxBatchMs: 100, maxQueueMs: 1500 },
    });
    // One schema checks every source and names the setting as that source spells it.
    expect(() => resolveServeSettings({ flags: { maxBatchMs: 0 }, env: {} })).toThrow(/--max-batch-ms/);
    expect(() => resolveServeSettings({ flags: {}, env: { EMBEDKIT_MAX_CONNECTIONS: "0" } })).toThrow(
      /EMBEDKIT_MAX_CONNECTIONS/,
    );
    expect(() => resolveServeSettings({ flags: {}, env: {}, config: { allowedHosts: "x" } })).toThrow(
      /"allowedHosts"/,
    );
  });

  it("names the bad environment variable", () => {
    expect(() => resolveServeSettings({ flags: {}, env: { EMBEDKIT_PORT: "eighty" } })).toThrow(
      /EMBEDKIT_PORT/,
    );
    expect(() => resolveServeSettings({ flags: {}, env: { EMBEDKIT_BATCHING: "maybe" } })).toThrow(
      /EMBEDKIT_BATCHING/,
    );
  });

  it("validates the config file and names the bad key", async () => {
    const good = join(folder, "good.json");
    await writeFile(
      good,
      JSON.stringify({ port: 0, models: ["all-minilm-l6-v2"], aliases: { x: "minilm" } }),
    );
    expect(await readServeConfig(good)).toEqual({
      port: 0,
      models: ["all-minilm-l6-v2"],
      aliases: { x: "minilm" },
    });
    const typo = join(folder, "typo.json");
    await writeFile(typo, JSON.stringify({ prot: 8080 }));
    await expect(readServeConfig(typo)).rejects.toThrow(/prot|Unrecognized/);
    const wrongType = join(folder, "wrong.json");
    await writeFile(wrongType, JSON.stringify({ port: "8080" }));
    await expect(readServeConfig(wrongType)).rejects.toThrow(/"port"/);
    await expect(readServeConfig(join(folder, "missing.json"))).rejects.toThrow(/config file/);
  });
});

describe("embedkit serve in a child process", () => {
  it("listens on a random port, reports ready on /health, and exits 0 on SIGTERM", async () => {
    const root = resolve(import.meta.dirname, "../..");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/lib/server-child.ts",
        "serve",
        "--port",
        "0",
        "--models",
        "all-minilm-l6-v2",
        "--open",
      ],
      {
        cwd: root,
        // No display: --open must say so and go on serving.
        env: { ...process.env, EMBEDKIT_API_KEYS: "sk-child", DISPLAY: "", WAYLAND_DISPLAY: "" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const url = await new Promise<string>((resolveUrl, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(stdout);
        if (match) resolveUrl(match[1] as string);
      });
      child.on("exit", (code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const denied = await fetch(`${url}/v1/models`);
    expect(denied.status).toBe(401);
    const embedded = await fetch(`${url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-child" },
      body: JSON.stringify({ model: "text-embedding-3-small", input: "hello" }),
    });
    expect(embedded.status).toBe(200);
    expect(stdout).toContain(`dashboard: ${url}/`);
    expect(stderr).toContain(`--open: no browser on this machine (no display); open ${url}/ yourself.`);
    const exit = new Promise<number | null>((resolveExit) => child.on("exit", (code) => resolveExit(code)));
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    expect(stderr).toContain("SIGTERM received");
  });
});
