import { execFile, fork } from "node:child_process";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import lockfile from "proper-lockfile";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import { createModelStore } from "../../src/models/store-impl.js";
import {
  type FileServer,
  mavenPath,
  randomName,
  realSmallJar,
  removeAll,
  SMALL_MODEL,
  smallJarSource,
  startFileServer,
  tempDir,
} from "./helpers.js";

const JAR_PATH = mavenPath(smallJarSource());
const cleanup: string[] = [];
const servers: FileServer[] = [];
let jar: Buffer;

beforeAll(async () => {
  jar = await realSmallJar();
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await removeAll(cleanup);
});

async function freshHome(): Promise<string> {
  const home = await tempDir();
  cleanup.push(home);
  return home;
}

/** A mirror that serves the jar slowly (so pulls overlap) and announces the first jar request. */
async function slowMirror(): Promise<{ server: FileServer; firstJarRequest: Promise<void> }> {
  let announce: () => void = () => undefined;
  const firstJarRequest = new Promise<void>((resolve) => {
    announce = resolve;
  });
  const server = await startFileServer((path) => {
    if (path !== JAR_PATH) return undefined;
    announce();
    return { body: jar, chunkDelayMs: 40 };
  });
  servers.push(server);
  return { server, firstJarRequest };
}

describe("pull lock", () => {
  it("lets two concurrent pulls in one process share a single download", async () => {
    const { server } = await slowMirror();
    const home = await freshHome();
    const [first, second] = await Promise.all([
      createModelStore({ home, mavenUrl: server.url }).pull(SMALL_MODEL),
      createModelStore({ home, mavenUrl: server.url }).pull(SMALL_MODEL),
    ]);
    expect(first.dir).toBe(second.dir);
    expect(server.count(".jar")).toBe(1);
    expect((await createModelStore({ home }).verify(SMALL_MODEL)).ok).toBe(true);
  });

  it("serialises a pull in a child process and one in this process (built JS, real fork)", async () => {
    // Compile only src/models (and what it imports) into a git-ignored folder inside the checkout,
    // so the child resolves node_modules and does not depend on other areas' build state.
    const build = resolve(".cache", `models-fork-${randomName()}`);
    cleanup.push(build);
    await mkdir(build, { recursive: true });
    await writeFile(
      join(build, "tsconfig.json"),
      JSON.stringify({
        extends: resolve("tsconfig.json"),
        compilerOptions: {
          outDir: join(build, "dist"),
          rootDir: resolve("src"),
          declaration: false,
          sourceMap: false,
        },
        files: [resolve("src/models/index.ts")],
        include: [],
      }),
    );
    await promisify(execFile)(process.execPath, [resolve("node_modules/typescript/bin/tsc"), "-p", build]);
    await writeFile(
      join(build, "pull.mjs"),
      [
        'import { createModelStore } from "./dist/models/index.js";',
        "const [home, mavenUrl, model] = process.argv.slice(2);",
        "const pulled = await createModelStore({ home, mavenUrl }).pull(model);",
        "process.stdout.write(JSON.stringify({ dir: pulled.dir }));",
      ].join("\n"),
    );

    const { server, firstJarRequest } = await slowMirror();
    const home = await freshHome();
    const child = fork(join(build, "pull.mjs"), [home, server.url, SMALL_MODEL], { stdio: "pipe" });
    let output = "";
    let errors = "";
    child.stdout?.on("data", (data: Buffer) => {
      output += data.toString();
    });
    child.stderr?.on("data", (data: Buffer) => {
      errors += data.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    // The child holds the lock and is downloading: this pull must wait, then find the model installed.
    await firstJarRequest;
    const pulled = await createModelStore({ home, mavenUrl: server.url }).pull(SMALL_MODEL);
    expect(await exited, errors).toBe(0);
    expect(JSON.parse(output)).toEqual({ dir: pulled.dir });
    expect(server.count(".jar")).toBe(1);
    expect((await createModelStore({ home }).verify(SMALL_MODEL)).ok).toBe(true);
  });

  it("times out with LOCK_TIMEOUT while another holder keeps the lock", async () => {
    const home = await freshHome();
    const target = join(home, "locks", `${SMALL_MODEL}.lock`);
    await mkdir(join(home, "locks"), { recursive: true });
    await writeFile(target, "");
    const release = await lockfile.lock(target, { realpath: false });
    try {
      const store = createModelStore({ home, mavenUrl: "http://127.0.0.1:9", lockTimeoutMs: 300 });
      const pull = store.pull(SMALL_MODEL);
      await expect(pull).rejects.toThrow(EmbedkitError);
      await expect(pull).rejects.toMatchObject({
        code: "LOCK_TIMEOUT",
        message: expect.stringContaining(`${target}.lock`),
      });
    } finally {
      await release();
    }
  });

  it("takes over a stale lock left by a crashed process", async () => {
    const server = await startFileServer((path) => (path === JAR_PATH ? { body: jar } : undefined));
    servers.push(server);
    const home = await freshHome();
    const lockDirectory = join(home, "locks", `${SMALL_MODEL}.lock.lock`);
    await mkdir(lockDirectory, { recursive: true });
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(lockDirectory, longAgo, longAgo);
    const store = createModelStore({ home, mavenUrl: server.url, lockTimeoutMs: 5_000 });
    await store.pull(SMALL_MODEL);
    expect((await store.verify(SMALL_MODEL)).ok).toBe(true);
  });
});
