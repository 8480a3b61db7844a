/**
 * Attacks on `embedkit serve`, over real TCP with raw request targets:
 * authentication decided on the route the router dispatches (every route ×
 * percent-encoding, case, duplicate slashes, dot segments, absolute-form…),
 * the Host check against DNS rebinding, token ids refused by default, models
 * outside the served list never loaded, request ids, OpenAI-shaped errors for
 * router and HTTP-parser failures, and slow-body connections closed on time.
 *
 * The embedder is the recording fake of helpers.ts: what is under test is the
 * HTTP edge, not a model's numbers (the real-model paths are in
 * overload.test.ts and http.test.ts).
 */

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { createFakeEmbedder, expectOpenAiError } from "./helpers.js";
import { rawRequest } from "./raw-http.js";

const MODEL = "all-minilm-l6-v2";
const KEY = "sk-security-test";

/** Every route of the server, with a body that the route accepts when authenticated. */
const ROUTES: readonly { method: string; path: string; body?: unknown }[] = [
  { method: "POST", path: "/v1/embeddings", body: { model: MODEL, input: "hello" } },
  { method: "GET", path: "/v1/models" },
  { method: "GET", path: "/v1/models/all-minilm-l6-v2" },
  { method: "GET", path: "/v1/collections" },
  { method: "POST", path: "/v1/collections", body: { name: "attack", model: MODEL } },
  { method: "GET", path: "/v1/collections/docs" },
  { method: "DELETE", path: "/v1/collections/docs" },
  {
    method: "POST",
    path: "/v1/collections/docs/documents",
    body: { documents: [{ id: "x", text: "planted" }] },
  },
  { method: "POST", path: "/v1/collections/docs/query", body: { query: "hello" } },
  { method: "POST", path: "/v1/faq/docs/ask", body: { question: "hello" } },
  { method: "GET", path: "/v1/recommend/books" },
  { method: "POST", path: "/v1/recommend/books/query", body: { query: "space opera" } },
  { method: "POST", path: "/v1/recommend/books/user", body: { user: "u1" } },
  { method: "GET", path: "/metrics" },
  { method: "GET", path: "/v1/dashboard/overview" },
  { method: "GET", path: "/v1/dashboard/collections/docs/items" },
  { method: "POST", path: "/v1/dashboard/collections/docs/items/get", body: { ids: ["x"] } },
  { method: "POST", path: "/v1/dashboard/collections/docs/items/delete", body: { ids: ["x"] } },
  { method: "POST", path: "/v1/dashboard/collections/docs/similar", body: { id: "x" } },
  { method: "GET", path: "/v1/dashboard/collections/docs/map" },
  { method: "GET", path: "/v1/dashboard/reports" },
  { method: "GET", path: "/v1/dashboard/report" },
  { method: "GET", path: "/v1/dashboard/recommenders" },
  { method: "POST", path: "/v1/dashboard/social/uploads", body: { filename: "x.csv", content: "a,b\n" } },
  { method: "GET", path: "/v1/dashboard/social/run" },
  { method: "GET", path: "/v1/dashboard/social/files" },
  { method: "POST", path: "/v1/dashboard/social/files", body: { path: "posts.csv" } },
];

/** The dashboard's static files: public, but only these exact routes. */
const ASSETS: readonly string[] = ["/", "/assets/app-1.js"];

/** Forms of one path that a router might decode or normalise to the same route. */
function variants(path: string, port: number): string[] {
  const tail = path.slice(1);
  const encodeFirst = (text: string, letter: string): string =>
    text.replace(letter, `%${letter.charCodeAt(0).toString(16)}`);
  return [
    path,
    `/${encodeFirst(tail, "v")}`,
    `/${encodeFirst(tail, "1")}`,
    path.replace(/[a-z]$/, (last) => `%${last.charCodeAt(0).toString(16).toUpperCase()}`),
    path.toUpperCase(),
    `/${tail.charAt(0).toUpperCase()}${tail.slice(1)}`,
    `/${path}`,
    path.replace("/", "//"),
    path.replace(/\/([^/]*)$/, "//$1"),
    `/.${path}`,
    `/x/..${path}`,
    path.replace(/\/([^/]*)$/, "/./$1"),
    `/%2e${path}`,
    `/x/%2e%2e${path}`,
    path.replace(/\/([^/]*)$/, "%2F$1"),
    `/${encodeFirst(tail, "v").replace("%76", "%2576")}`,
    `${path}/`,
    `${path}?a=1`,
    `${path}#frag`,
    `${path};x=1`,
    `http://127.0.0.1:${port}${path}`,
    `http://evil.example${path}`,
    `HTTP://127.0.0.1:${port}${path.toUpperCase()}`,
  ];
}

describe("authentication is enforced on the dispatched route, whatever the request target", () => {
  let app: EmbedkitServer;
  let port: number;
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "embedkit-security-"));
    await mkdir(join(folder, "web", "assets"), { recursive: true });
    await writeFile(join(folder, "web", "index.html"), "<!doctype html><title>dashboard</title>");
    await writeFile(join(folder, "web", "assets", "app-1.js"), "export {};\n");
    const fake = createFakeEmbedder(MODEL, 8);
    app = createServer({
      models: [MODEL],
      embedderFactory: async () => fake,
      apiKeys: [KEY],
      vectorStore: join(folder, "collections"),
      dashboard: join(folder, "web"),
      reportsDir: folder,
      processMetrics: false,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as AddressInfo).port;
    const created = await rawRequest(port, "/v1/collections", {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ name: "docs", model: MODEL }),
    });
    expect(created.status, created.body).toBe(201);
  });
  afterAll(async () => {
    await app?.close();
    await rm(folder, { recursive: true, force: true });
  });

  it("no variant of any route is served without a key", async () => {
    const served: string[] = [];
    for (const route of ROUTES) {
      for (const target of variants(route.path, port)) {
        for (const method of [route.method, ...(route.method === "GET" ? ["HEAD"] : [])]) {
          const response = await rawRequest(port, target, {
            method,
            ...(route.body === undefined ? {} : { body: JSON.stringify(route.body) }),
          });
          // 401 from the auth check, or 400 from the URL parser (never reaches a route).
          if (![400, 401].includes(response.status)) served.push(`${method} ${target} → ${response.status}`);
          if (method !== "HEAD" && response.status === 401) expectOpenAiError(response, 401, null);
        }
      }
    }
    expect(served).toEqual([]);
    // Nothing was changed by the attempts.
    const stats = await rawRequest(port, "/v1/collections/docs", {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(stats.status).toBe(200);
    expect(JSON.parse(stats.body).count).toBe(0);
  });

  it("the canonical routes answer with the key (so the table above tests real routes)", async () => {
    for (const route of ROUTES.filter((candidate) => candidate.method !== "DELETE")) {
      const response = await rawRequest(port, route.path, {
        method: route.method,
        headers: { authorization: `Bearer ${KEY}` },
        ...(route.body === undefined ? {} : { body: JSON.stringify(route.body) }),
      });
      // The route itself answered (a non-FAQ collection is a 400 of the FAQ route, not an auth or routing failure).
      expect(response.status, `${route.method} ${route.path}: ${response.body}`).not.toBe(401);
      if (response.status >= 300) {
        expect(JSON.parse(response.body).error.code, response.body).not.toMatch(
          /^(not_found|invalid_api_key)$/,
        );
      }
    }
  });

  it("the dashboard's files are public under a strict CSP; no variant of their paths reaches anything else", async () => {
    const served: string[] = [];
    for (const path of ASSETS) {
      const canonical = await rawRequest(port, path);
      expect(canonical.status, path).toBe(200);
      expect(canonical.headers["content-security-policy"]).toContain("script-src 'self'");
      for (const target of [
        ...variants(path, port),
        `${path}/../collections`,
        `${path}%2f..%2f..%2fpackage.json`,
      ]) {
        const response = await rawRequest(port, target);
        // The same public file (the router matched the same route), or refused; never anything else.
        if (response.status === 200) {
          if (response.body !== canonical.body) served.push(`${target} → another body`);
        } else if (![400, 401].includes(response.status)) {
          served.push(`${target} → ${response.status}`);
        }
      }
    }
    expect(served).toEqual([]);
  });

  it("/health is public; /metrics only when the operator says so", async () => {
    expect((await rawRequest(port, "/health")).status).toBe(200);
    expect((await rawRequest(port, "/metrics")).status).toBe(401);
    const open = createServer({
      models: [MODEL],
      embedderFactory: async () => createFakeEmbedder(MODEL, 8),
      apiKeys: [KEY],
      publicMetrics: true,
      processMetrics: false,
    });
    try {
      expect((await open.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(200);
      expect((await open.inject({ method: "GET", url: "/v1/models" })).statusCode).toBe(401);
    } finally {
      await open.close();
    }
  });

  it("every response carries an x-request-id; a well-formed client id is echoed, others replaced", async () => {
    const denied = await rawRequest(port, "/v1/models");
    expect(denied.headers["x-request-id"]).toMatch(/^req-[0-9a-f-]{36}$/);
    const echoed = await rawRequest(port, "/health", { headers: { "x-request-id": "trace-42.a:b" } });
    expect(echoed.headers["x-request-id"]).toBe("trace-42.a:b");
    const hostile = await rawRequest(port, "/health", { headers: { "x-request-id": "<script>" } });
    expect(hostile.headers["x-request-id"]).toMatch(/^req-/);
    const missing = await rawRequest(port, "/nothing/here", { headers: { authorization: `Bearer ${KEY}` } });
    expect(missing.status).toBe(404);
    expect(missing.headers["x-request-id"]).toMatch(/^req-/);
  });
});

describe("the HTTP edge without keys (local default)", () => {
  let app: EmbedkitServer;
  let port: number;
  const factoryCalls: string[] = [];
  beforeAll(async () => {
    app = createServer({
      embedderFactory: async (model) => {
        factoryCalls.push(model);
        return createFakeEmbedder(MODEL, 8);
      },
      processMetrics: false,
      requestTimeoutMs: 1500,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  afterAll(async () => app?.close());

  it("refuses a foreign Host header (DNS rebinding) and accepts the loopback names", async () => {
    for (const host of ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "[::2]:80", "a b"]) {
      const response = await rawRequest(port, "/v1/models", { headers: { host } });
      expectOpenAiError(response, 403, null);
      expect(JSON.parse(response.body).error.code).toBe("host_not_allowed");
    }
    for (const host of ["localhost", `localhost:${port}`, `127.0.0.1:${port}`, "[::1]:80", "LOCALHOST."]) {
      expect((await rawRequest(port, "/v1/models", { headers: { host } })).status, host).toBe(200);
    }
  });

  it("allowedHosts names other hosts; '*' allows any", async () => {
    const named = createServer({
      embedderFactory: async () => createFakeEmbedder(MODEL, 8),
      allowedHosts: ["api.example.com"],
      processMetrics: false,
    });
    const any = createServer({
      embedderFactory: async () => createFakeEmbedder(MODEL, 8),
      allowedHosts: ["*"],
      processMetrics: false,
    });
    try {
      const get = (server: EmbedkitServer, host: string) =>
        server.inject({ method: "GET", url: "/v1/models", headers: { host } });
      expect((await get(named, "api.example.com:443")).statusCode).toBe(200);
      expect((await get(named, "localhost")).statusCode).toBe(403);
      expect((await get(any, "whatever.example")).statusCode).toBe(200);
      expect(() => createServer({ allowedHosts: [] })).toThrow(/allowedHosts/);
    } finally {
      await named.close();
      await any.close();
    }
  });

  it("serves only the default model and alias targets; other catalog models are never loaded", async () => {
    const response = await rawRequest(port, "/v1/embeddings", {
      method: "POST",
      body: JSON.stringify({ model: "bge-small-zh-v1.5", input: "你好" }),
    });
    expectOpenAiError(response, 404, "model");
    const created = await rawRequest(port, "/v1/collections", {
      method: "POST",
      body: JSON.stringify({ name: "zh", model: "e5-small-v2" }),
    });
    expectOpenAiError(created, 404, "model");
    expect(factoryCalls.every((model) => model === MODEL)).toBe(true);
    const listed = JSON.parse((await rawRequest(port, "/v1/models")).body).data.map(
      (entry: { id: string }) => entry.id,
    );
    expect(listed).toEqual([
      MODEL,
      "text-embedding-3-small",
      "text-embedding-3-large",
      "text-embedding-ada-002",
    ]);
  });

  it("collection uploads obey the per-request token cap before any inference", async () => {
    const folder = await mkdtemp(join(tmpdir(), "embedkit-upload-cap-"));
    const fake = createFakeEmbedder(MODEL, 8);
    const capped = createServer({
      models: [MODEL],
      embedderFactory: async () => fake,
      vectorStore: join(folder, "collections"),
      maxRequestTokens: 5,
      processMetrics: false,
    });
    try {
      const created = await capped.inject({
        method: "POST",
        url: "/v1/collections",
        payload: { name: "docs", model: MODEL },
      });
      expect(created.statusCode).toBe(201);
      const calls = fake.calls.length;
      const upload = await capped.inject({
        method: "POST",
        url: "/v1/collections/docs/documents",
        payload: {
          documents: [
            { id: "a", text: "one two three" },
            { id: "b", text: "four five six" },
          ],
        },
      });
      expectOpenAiError(upload, 400, "input");
      expect(upload.json().error.message).toContain("more than 5 tokens");
      expect(fake.calls.length).toBe(calls);
      const stats = await capped.inject({ method: "GET", url: "/v1/collections/docs" });
      expect(stats.json().count).toBe(0);
    } finally {
      await capped.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("refuses deep JSON nesting and __proto__ keys before any work", async () => {
    const deep = `{"model":"${MODEL}","input":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const nested = await rawRequest(port, "/v1/embeddings", { method: "POST", body: deep });
    expectOpenAiError(nested, 400, null);
    expect(JSON.parse(nested.body).error.message).toContain("levels deep");
    const proto = await rawRequest(port, "/v1/embeddings", {
      method: "POST",
      body: `{"model":"${MODEL}","input":"hi","__proto__":{"polluted":true}}`,
    });
    expectOpenAiError(proto, 400, null);
    expect(JSON.parse(proto.body).error.message).toContain("__proto__");
    // The text "__proto__" inside a string value is fine.
    const inString = await rawRequest(port, "/v1/embeddings", {
      method: "POST",
      body: JSON.stringify({ model: MODEL, input: 'what does "__proto__" mean?' }),
    });
    expect(inString.status).toBe(200);
  });

  it("store filters are size-limited before any item is matched", async () => {
    const folder = await mkdtemp(join(tmpdir(), "embedkit-filter-cap-"));
    const server = createServer({
      models: [MODEL],
      embedderFactory: async () => createFakeEmbedder(MODEL, 8),
      vectorStore: join(folder, "collections"),
      processMetrics: false,
    });
    try {
      await server.inject({ method: "POST", url: "/v1/collections", payload: { name: "f", model: MODEL } });
      const vector = [1, 0, 0, 0, 0, 0, 0, 0];
      const many = await server.inject({
        method: "POST",
        url: "/v1/collections/f/query",
        payload: { vector, filter: Array.from({ length: 1000 }, () => ({ field: "a", op: "eq", value: 1 })) },
      });
      expect(many.statusCode).toBe(400);
      expect(many.json().error.message).toContain("at most 32 conditions");
      const values = await server.inject({
        method: "POST",
        url: "/v1/collections/f/query",
        payload: {
          vector,
          filter: [{ field: "a", op: "in", values: Array.from({ length: 10_000 }, (_, i) => i) }],
        },
      });
      expect(values.statusCode).toBe(400);
      expect(values.json().error.message).toContain("at most 256 values");
      // A missing collection's 404 does not reveal where the store lives.
      const missing = await server.inject({ method: "GET", url: "/v1/collections/nope" });
      expect(missing.statusCode).toBe(404);
      expect(missing.body).not.toContain(folder);
    } finally {
      await server.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("refuses token-id input by default, explaining why and how to send text", async () => {
    for (const input of [
      [15339, 1917],
      [[15339, 1917], [9906]],
    ]) {
      const response = await rawRequest(port, "/v1/embeddings", {
        method: "POST",
        body: JSON.stringify({ model: "text-embedding-3-small", input }),
      });
      expectOpenAiError(response, 400, "input");
      const { code, message } = JSON.parse(response.body).error;
      expect(code).toBe("token_ids_not_supported");
      expect(message).toContain("tiktoken");
      expect(message).toContain("--allow-token-ids");
    }
  });

  it("answers router and HTTP-parser failures in OpenAI's shape", async () => {
    const badEncoding = await rawRequest(port, "/v1/%E0%A4%A/models");
    expect(badEncoding.status).toBeGreaterThanOrEqual(400);
    expect(badEncoding.status).toBeLessThan(500);
    expectOpenAiError(badEncoding, badEncoding.status, null);
    const longParam = await rawRequest(port, `/v1/models/${"m".repeat(5000)}`);
    expectOpenAiError(longParam, 400, null);
    // The attacker's URL is not echoed back whole.
    expect(longParam.body.length).toBeLessThan(600);
    const hugeHeader = await rawRequest(port, "/health", { headers: { "x-filler": "a".repeat(20_000) } });
    expectOpenAiError(hugeHeader, 431, null);
    const head = await rawRequest(port, "/no/such/route", { method: "HEAD" });
    expect(head.status).toBe(404);
    expect(head.headers["content-type"]).toContain("application/json");
  });

  it("caps simultaneous connections (--max-connections)", async () => {
    const capped = createServer({
      embedderFactory: async () => createFakeEmbedder(MODEL, 8),
      maxConnections: 2,
      processMetrics: false,
    });
    await capped.listen({ host: "127.0.0.1", port: 0 });
    const cappedPort = (capped.server.address() as AddressInfo).port;
    const idle = [connect(cappedPort, "127.0.0.1"), connect(cappedPort, "127.0.0.1")];
    try {
      await Promise.all(idle.map((socket) => new Promise((done) => socket.once("connect", done))));
      await new Promise((done) => setTimeout(done, 100));
      // A third connection is closed by the server without an answer.
      await expect(rawRequest(cappedPort, "/health", { timeoutMs: 5000 })).resolves.toMatchObject({
        status: 0,
      });
      for (const socket of idle) socket.destroy();
      await new Promise((done) => setTimeout(done, 100));
      expect((await rawRequest(cappedPort, "/v1/models")).status).toBe(200);
    } finally {
      for (const socket of idle) socket.destroy();
      await capped.close();
    }
  });

  it("closes a connection that trickles its body past the request timeout", async () => {
    const started = performance.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      socket.on("error", reject);
      // Read the 408 so the server's end of the connection is seen.
      socket.resume();
      socket.write(
        `POST /v1/embeddings HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{`,
      );
      const drip = setInterval(() => socket.writable && socket.write(" "), 200);
      socket.on("close", () => {
        clearInterval(drip);
        resolve(performance.now() - started);
      });
      setTimeout(() => {
        clearInterval(drip);
        socket.destroy();
        reject(new Error("the slow connection was still open after 10 s"));
      }, 10_000).unref();
    });
    // requestTimeoutMs 1500, checked every second.
    expect(closedAfter).toBeLessThan(4_000);
  });
});
