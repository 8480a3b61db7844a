/**
 * Bad-input fuzz: ≥ 1,000 malformed requests generated from a seeded PRNG
 * (wrong types, huge arrays, deep nesting, invalid UTF-8, NaN/Infinity and
 * negative dimensions, JSON garbage, wrong content types, oversized bodies).
 * Every one must get a 4xx in OpenAI's error shape, and the server must still
 * embed a valid request correctly afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { expectOpenAiError, maxAbsDiff, sharedStore } from "./helpers.js";

const MODEL = "all-minilm-l6-v2";
const BODY_LIMIT = 256 * 1024;
const CASES = 1200;

/** mulberry32: small, fast, seeded. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FuzzCase {
  readonly kind: string;
  readonly payload: Buffer | string;
  readonly contentType?: string;
}

function generate(random: () => number): FuzzCase {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const integer = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
  const word = (): string => pick(["alpha", "beta", "gamma", "δέλτα", "日本", "emoji 🎉", "x"]);
  const json = (value: unknown): FuzzCase => ({ kind: "", payload: JSON.stringify(value) });
  const wrongValues: unknown[] = [
    null,
    true,
    false,
    0,
    -1,
    3.14,
    "",
    [],
    {},
    [null],
    [true],
    [{}],
    [[]],
    { a: 1 },
    [["a"]],
    [1, "a"],
    ["a", 1],
    [[1], 2],
    [1.5],
    [-3],
    [[1, -2]],
    [[1.25]],
  ];
  const kinds = [
    "wrong-model",
    "wrong-input",
    "wrong-dimensions",
    "wrong-encoding",
    "wrong-user",
    "huge-array",
    "huge-token-array",
    "deep-nesting",
    "invalid-utf8",
    "non-finite",
    "garbage",
    "truncated-json",
    "content-type",
    "top-level",
    "proto",
    "unknown-model",
    "too-long",
    "oversized",
    "empty-item",
  ] as const;
  const kind = pick(kinds);
  const base = (): Record<string, unknown> => ({ model: MODEL, input: pick([word(), [word(), word()]]) });
  let result: FuzzCase;
  switch (kind) {
    case "wrong-model":
      result = json({ ...base(), model: pick(wrongValues.filter((value) => typeof value !== "string")) });
      break;
    case "wrong-input":
      result = json({ ...base(), input: pick(wrongValues) });
      break;
    case "wrong-dimensions":
      result = json({
        ...base(),
        dimensions: pick([
          0,
          -1,
          -integer(1, 1e6),
          0.5,
          385,
          1e6,
          integer(385, 10_000),
          "8",
          [8],
          { n: 8 },
          true,
        ]),
      });
      break;
    case "wrong-encoding":
      result = json({ ...base(), encoding_format: pick(["FLOAT", "int8", "binary", "", 1, [], "base65"]) });
      break;
    case "wrong-user":
      result = json({ ...base(), user: pick([1, [], {}, true]) });
      break;
    case "huge-array":
      result = json({ model: MODEL, input: Array.from({ length: integer(2049, 6000) }, () => "a") });
      break;
    case "huge-token-array": {
      const ids = Array.from({ length: integer(10, 3000) }, () => integer(0, 30_000));
      ids[integer(0, ids.length - 1)] = pick([-1, 1.5, 1e20, -7]);
      result = json({ model: MODEL, input: ids });
      break;
    }
    case "deep-nesting": {
      const depth = integer(100, 60_000);
      const open = pick(["[", '{"a":']);
      const close = open === "[" ? "]" : "}";
      const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
      result = {
        kind,
        payload: pick([`{"model":"${MODEL}","input":${nested}}`, nested, `{"model":${nested},"input":"x"}`]),
      };
      break;
    }
    case "invalid-utf8": {
      const good = Buffer.from(JSON.stringify({ model: MODEL, input: `${word()} ${word()}` }));
      const at = integer(good.indexOf("input") + 8, good.length - 3);
      const bad = pick([[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80], [0x80]]);
      result = { kind, payload: Buffer.concat([good.subarray(0, at), Buffer.from(bad), good.subarray(at)]) };
      break;
    }
    case "non-finite":
      result = {
        kind,
        payload: `{"model":"${MODEL}","input":"hi","dimensions":${pick(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "-0", "undefined"])}}`,
      };
      break;
    case "garbage": {
      const length = integer(1, 400);
      const bytes = Buffer.alloc(length);
      for (let i = 0; i < length; i++) bytes[i] = integer(0, 255);
      // Never accidentally a valid request: a leading "}" is not JSON.
      bytes[0] = 0x7d;
      result = { kind, payload: bytes };
      break;
    }
    case "truncated-json": {
      const full = JSON.stringify({ model: MODEL, input: [word(), word()], dimensions: 64 });
      result = { kind, payload: full.slice(0, integer(0, full.length - 1)) };
      break;
    }
    case "content-type":
      result = {
        kind,
        payload: JSON.stringify(base()),
        contentType: pick([
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/xml",
          "image/png",
        ]),
      };
      break;
    case "top-level":
      result = {
        kind,
        payload: pick(["1", '"text"', "null", "true", "[]", `[{"model":"${MODEL}","input":"x"}]`, "-5e3"]),
      };
      break;
    case "proto":
      result = {
        kind,
        payload: `{"__proto__":{"model":"${MODEL}","input":"x"},"constructor":{"prototype":{"input":"x"}}}`,
      };
      break;
    case "unknown-model":
      result = json({ ...base(), model: `${word()}-${integer(0, 1e6)}` });
      break;
    case "too-long":
      result = json({ model: MODEL, input: "word ".repeat(integer(255, 2000)) });
      break;
    case "oversized":
      result = json({ model: MODEL, input: "x".repeat(BODY_LIMIT + integer(1, 10_000)) });
      break;
    case "empty-item":
      result = json({ model: MODEL, input: pick([[word(), ""], [""], [[1, 2], []], "", []]) });
      break;
  }
  return { ...result, kind };
}

describe("bad-input fuzz", () => {
  let app: EmbedkitServer;
  beforeAll(async () => {
    app = createServer({
      models: [MODEL],
      store: sharedStore(),
      bodyLimit: BODY_LIMIT,
      processMetrics: false,
    });
    await app.embedkit.preload();
  });
  afterAll(async () => app?.close());

  it(`answers ${CASES} malformed requests with OpenAI-shaped 4xx errors, then still serves`, async () => {
    const random = createRandom(20_261_127);
    const statuses = new Map<string, Map<number, number>>();
    for (let i = 0; i < CASES; i++) {
      const fuzz = generate(random);
      const response = await app.inject({
        method: "POST",
        url: "/v1/embeddings",
        payload: fuzz.payload,
        headers: { "content-type": fuzz.contentType ?? "application/json" },
      });
      const label = `case ${i} (${fuzz.kind}): ${String(fuzz.payload).slice(0, 120)}`;
      expect(response.statusCode, label).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, label).toBeLessThan(500);
      expectOpenAiError(response, response.statusCode);
      const byKind = statuses.get(fuzz.kind) ?? new Map<number, number>();
      byKind.set(response.statusCode, (byKind.get(response.statusCode) ?? 0) + 1);
      statuses.set(fuzz.kind, byKind);
    }
    // Every category was exercised.
    expect(statuses.size).toBe(19);
    expect([...(statuses.get("oversized")?.keys() ?? [])]).toEqual([413]);
    expect([...(statuses.get("content-type")?.keys() ?? [])]).toEqual([415]);
    expect([...(statuses.get("unknown-model")?.keys() ?? [])]).toEqual([404]);

    const valid = await app.inject({
      method: "POST",
      url: "/v1/embeddings",
      payload: { model: MODEL, input: ["still serving", "after the fuzz"] },
    });
    expect(valid.statusCode).toBe(200);
    const reference = await createEmbedder({ model: MODEL, store: sharedStore() });
    const expected = await reference.embed(["still serving", "after the fuzz"]);
    await reference.close();
    valid.json().data.forEach((item: { embedding: number[] }, index: number) => {
      expect(maxAbsDiff(item.embedding, expected.vectors[index] as Float32Array)).toBeLessThan(1e-5);
    });
  });
});
