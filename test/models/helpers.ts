/**
 * @module test/models/helpers
 * Shared fixtures of the model-store tests: real model bytes obtained through
 * the real store (the smallest catalog model, pulled once from Maven Central
 * into the shared test cache), a local HTTP file server on 127.0.0.1 that
 * serves those bytes with Range support and scripted faults, and temp homes.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getModel } from "../../src/models/catalog.js";
import type { ModelSource, ModelSpec } from "../../src/models/model-spec.js";
import type { PulledModel } from "../../src/models/model-store.js";
import { createModelStore } from "../../src/models/store-impl.js";

/** The smallest catalog model (16 MB jar). */
export const SMALL_MODEL = "all-minilm-l6-v2-q";

/** The shared test cache (set by vitest.config.ts). */
export function sharedHome(): string {
  const home = process.env.EMBEDKIT_HOME;
  if (home === undefined) throw new Error("EMBEDKIT_HOME is not set; run the tests through vitest.config.ts");
  return home;
}

/** Pull the small model from Maven Central into the shared cache (a no-op once there). */
export async function sharedSmallModel(): Promise<PulledModel> {
  return createModelStore({ home: sharedHome() }).ensure(SMALL_MODEL);
}

/** The catalog jar source of the small model. */
export function smallJarSource(): Extract<ModelSource, { type: "maven" }> {
  const source = getModel(SMALL_MODEL).sources[0];
  if (source?.type !== "maven") throw new Error("expected a maven source");
  return source;
}

/** Path of the jar under a Maven layout (what the store requests from a mirror). */
export function mavenPath(source: Extract<ModelSource, { type: "maven" }>): string {
  return `/${source.group.replace(/\./g, "/")}/${source.artifact}/${source.version}/${source.artifact}-${source.version}.jar`;
}

/**
 * The real jar bytes of the small model. Pulled from Maven Central through the
 * store (with `keepArtifacts`) into a sibling of the shared cache, so the shared
 * cache itself is never force-pulled under other suites' feet.
 */
export async function realSmallJar(): Promise<Buffer> {
  const home = `${sharedHome()}-models-suite`;
  const spec: ModelSpec = getModel(SMALL_MODEL);
  const source = smallJarSource();
  const kept = join(home, "artifacts", `${spec.id}@${source.artifact}-${source.version}.jar`);
  const present = await stat(kept).then(
    () => true,
    () => false,
  );
  if (!present) await createModelStore({ home, keepArtifacts: true }).pull(spec, { force: true });
  return readFile(kept);
}

/** A fresh temp folder, removed by the returned cleanup. */
export async function tempDir(prefix = "embedkit-models-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Delete temp folders. */
export async function removeAll(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((path) => rm(path, { recursive: true, force: true })));
}

/** A request as the server saw it. */
export interface SeenRequest {
  readonly path: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
}

/** How to answer one request; `undefined` means 404. */
export interface Reply {
  readonly body: Buffer;
  /** Ignore Range and always answer 200 with the whole body. */
  readonly ignoreRange?: boolean;
  /** Destroy the socket after this many body bytes (Content-Length still announces the whole body). */
  readonly cutAfter?: number;
  /** Wait this long between 1 MiB chunks (to keep a download in flight). */
  readonly chunkDelayMs?: number;
}

/** A running local server. */
export interface FileServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Requests whose path ends with `suffix`. */
  count(suffix: string): number;
  close(): Promise<void>;
}

async function writeBody(response: ServerResponse, body: Buffer, reply: Reply): Promise<void> {
  const chunk = 1 << 20;
  const limit = reply.cutAfter ?? body.length;
  for (let offset = 0; offset < limit; offset += chunk) {
    const piece = body.subarray(offset, Math.min(limit, offset + chunk));
    if (!response.write(piece)) await new Promise((resolve) => response.once("drain", resolve));
    if (reply.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, reply.chunkDelayMs));
  }
  if (reply.cutAfter !== undefined) {
    // Let the bytes reach the client, then drop the connection mid-body.
    await new Promise((resolve) => setTimeout(resolve, 50));
    response.socket?.destroy();
    return;
  }
  response.end();
}

/**
 * Start a file server on 127.0.0.1 (random port). `route` maps a request to a
 * reply; Range requests get 206 unless the reply says `ignoreRange`.
 */
export async function startFileServer(
  route: (path: string, request: IncomingMessage, index: number) => Reply | undefined,
): Promise<FileServer> {
  const requests: SeenRequest[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    requests.push({ path, range: request.headers.range, authorization: request.headers.authorization });
    const reply = route(path, request, requests.filter((seen) => seen.path === path).length - 1);
    if (reply === undefined) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? "");
    let body = reply.body;
    if (match !== null && !reply.ignoreRange) {
      const start = Number(match[1]);
      if (start >= body.length) {
        response.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
        return;
      }
      response.writeHead(206, {
        "content-length": body.length - start,
        "content-range": `bytes ${start}-${body.length - 1}/${body.length}`,
        "accept-ranges": "bytes",
      });
      body = body.subarray(start);
    } else {
      response.writeHead(200, { "content-length": body.length, "accept-ranges": "bytes" });
    }
    void writeBody(response, body, reply);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count: (suffix) => requests.filter((seen) => seen.path.endsWith(suffix)).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A copy of `bytes` with a few bytes flipped in the middle. */
export function corrupt(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  const at = Math.floor(copy.length / 2);
  for (let index = 0; index < 4; index++) copy[at + index] = (copy[at + index] ?? 0) ^ 0xff;
  return copy;
}

/** A short random suffix for unique names. */
export function randomName(): string {
  return randomBytes(4).toString("hex");
}
