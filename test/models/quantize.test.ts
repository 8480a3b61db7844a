/**
 * The static int8 variant end to end (issue #23 item 2): all-minilm-l6-v2's graph produced
 * from its pinned fp32 file by onnxruntime's own quantize_static in the pinned venv, on the
 * shipped calibration sample (150 short sentences), then loaded through createEmbedder and
 * compared with the fp32 model. Also: the same input gives the same sha256, a damaged graph
 * is rebuilt, an interrupted run leaves nothing behind, and the errors for an unknown model,
 * a model without a recipe, a missing Python and a failing venv.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { EmbedkitError } from "../../src/errors.js";
import { derivedRecordPath } from "../../src/models/derived-file.js";
import { hashFile } from "../../src/models/hash.js";
import { ensurePythonVenv } from "../../src/models/python-venv.js";
import { STATIC_INT8_FILE } from "../../src/models/quantize.js";
import { type QuantizedModel, quantizeModel, staticInt8VariantOf } from "../../src/models/quantize-model.js";
import { createModelStore } from "../../src/models/store-impl.js";
import { sharedHome } from "./helpers.js";

const store = createModelStore({ home: sharedHome() });
const VARIANT = "all-minilm-l6-v2-int8s";
const SENTENCES = [
  "A man is playing a guitar.",
  "The new movie is awesome and I loved every minute of it.",
  "How do I reset my online banking password?",
  "Stock markets fell sharply after the announcement.",
  "A cat sits on the windowsill in the sun.",
  "Two children are playing football in the park near the river.",
];

function codeOf(error: unknown): string | undefined {
  return EmbedkitError.isInstance(error) ? error.code : undefined;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

describe("errors before any work", () => {
  it("names an unknown model and a model without a recipe", async () => {
    expect(codeOf(await quantizeModel("no-such-model", { store }).catch((e: unknown) => e))).toBe(
      "UNKNOWN_MODEL",
    );
    for (const name of ["e5-small-v2", "all-minilm-l6-v2-q", "wink-glove-100d"]) {
      const error = await quantizeModel(name, { store }).catch((e: unknown) => e);
      expect(codeOf(error), name).toBe("INVALID_OPTION");
      expect((error as Error).message).toMatch(/no static int8 recipe.*all-minilm-l6-v2, bge-small-zh-v1\.5/);
    }
    expect(staticInt8VariantOf("minilm").id).toBe(VARIANT);
    expect(staticInt8VariantOf("bge-small-zh-int8s").id).toBe("bge-small-zh-v1.5-int8s");
  });

  it("says DEPENDENCY_MISSING for a missing Python and for a venv that cannot be made, leaving no venv", async () => {
    const home = await mkdtemp(join(tmpdir(), "embedkit-venv-"));
    const sources = await mkdtemp(join(tmpdir(), "embedkit-venv-src-"));
    try {
      const spec = {
        sourceDir: sources,
        name: "probe-venv",
        purpose: "Static int8 quantization",
        minimumPython: [3, 10] as const,
        creating: "creating",
      };
      // A requirement pip refuses to parse: fails locally, no index look-up.
      await writeFile(join(sources, "requirements.txt"), "this is not a requirement !!\n");
      const missing = await ensurePythonVenv(spec, { home, python: join(home, "no-python") }).catch(
        (e: unknown) => e,
      );
      expect(codeOf(missing)).toBe("DEPENDENCY_MISSING");
      expect((missing as Error).message).toMatch(/needs Python 3\.10 or newer.*EMBEDKIT_PYTHON/);
      const broken = await ensurePythonVenv(spec, { home }).catch((e: unknown) => e);
      expect(codeOf(broken)).toBe("DEPENDENCY_MISSING");
      expect((broken as Error).message).toMatch(/Could not create the static int8 quantization environment/);
      expect((await readdir(home)).filter((name) => name.startsWith("probe-venv"))).toEqual([]);
    } finally {
      await rm(home, { recursive: true, force: true });
      await rm(sources, { recursive: true, force: true });
    }
  });
});

describe("all-minilm-l6-v2-int8s produced on this machine", () => {
  let produced: QuantizedModel;
  let int8: Embedder;
  let fp32: Embedder;

  beforeAll(async () => {
    // Start from no graph, so this run produces one (the pinned fp32 files stay cached).
    produced = await quantizeModel("all-minilm-l6-v2", { store, force: true });
    int8 = await createEmbedder({ model: VARIANT, store, threads: 2 });
    fp32 = await createEmbedder({ model: "all-minilm-l6-v2", store, threads: 2 });
  });

  afterAll(async () => {
    await int8?.close();
    await fp32?.close();
  });

  it("is a QDQ int8 graph recorded by its sha256 and verified by the store", async () => {
    expect(produced.model).toBe(VARIANT);
    expect(produced.produced).toBeDefined();
    const digest = await hashFile(produced.path);
    expect(digest.sha256).toBe(produced.sha256);
    const record = JSON.parse(
      await readFile(derivedRecordPath(join(produced.path, ".."), STATIC_INT8_FILE), "utf8"),
    );
    expect(record).toMatchObject({ sha256: produced.sha256, bytes: digest.bytes });
    expect(record.converter).toMatch(/^ort-quantize-static\/1 \{"calibration":"en"/);
    // int8 weights except the FFN outputs; the fp32 embedding table (47 MB) stays: under the fp32 file's 90.4 MB.
    expect(digest.bytes).toBeLessThan(75_000_000);
    const graph = await readFile(produced.path);
    expect(graph.includes("DequantizeLinear")).toBe(true);
    const report = await store.verify(VARIANT);
    expect(report.ok).toBe(true);
    expect(report.files.map((file) => file.name)).toContain(STATIC_INT8_FILE);
    // A second call finds the checked copy.
    expect((await quantizeModel(VARIANT, { store })).produced).toBeUndefined();
  });

  it("loads through createEmbedder and stays close to the fp32 vectors (cosine ≥ 0.98 each, ≥ 0.985 mean)", async () => {
    // Measured 0.985–0.99 here (mean 0.989); the shipped dynamic int8 copy (all-minilm-l6-v2-q)
    // itself gives 0.987–0.993 (mean 0.991) on these sentences, so 0.99 per sentence is beyond
    // int8 on this model (docs/MODELS.md).
    expect(int8.model.id).toBe(VARIANT);
    const [a, b] = await Promise.all([int8.embed(SENTENCES), fp32.embed(SENTENCES)]);
    const similarities = SENTENCES.map((_, i) =>
      cosine(a.vectors[i] as Float32Array, b.vectors[i] as Float32Array),
    );
    for (const [i, similarity] of similarities.entries()) {
      expect(similarity, SENTENCES[i]).toBeGreaterThanOrEqual(0.98);
      expect(similarity, SENTENCES[i]).toBeLessThan(1 - 1e-6); // really another graph
    }
    expect(similarities.reduce((sum, value) => sum + value, 0) / similarities.length).toBeGreaterThanOrEqual(
      0.985,
    );
  });

  it("is batch-invariant: a text alone and inside a padded batch agree within 1e-5", async () => {
    const batch = (await int8.embed(SENTENCES)).vectors;
    for (let i = 0; i < SENTENCES.length; i++) {
      const alone = (await int8.embed([SENTENCES[i] as string])).vectors[0] as Float32Array;
      const inBatch = batch[i] as Float32Array;
      let worst = 0;
      for (let d = 0; d < alone.length; d++)
        worst = Math.max(worst, Math.abs((alone[d] as number) - (inBatch[d] as number)));
      expect(worst, SENTENCES[i]).toBeLessThanOrEqual(1e-5);
    }
  });

  it("rebuilds a damaged graph to the same sha256 (same input, same bytes)", async () => {
    const bytes = await readFile(produced.path);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 0xff;
    await writeFile(produced.path, bytes);
    const report = await store.verify(VARIANT);
    expect(report.ok).toBe(false);
    const again = await quantizeModel(VARIANT, { store });
    expect(again.produced).toMatch(/corrupted/);
    expect(again.sha256).toBe(produced.sha256);
    expect((await hashFile(again.path)).sha256).toBe(produced.sha256);
  });

  it("leaves nothing behind when the quantizer is interrupted", async () => {
    const dir = join(produced.path, "..");
    await rm(produced.path);
    await rm(derivedRecordPath(dir, STATIC_INT8_FILE));
    const controller = new AbortController();
    const error = await quantizeModel(VARIANT, {
      store,
      signal: controller.signal,
      onLog: (line) => {
        if (line.startsWith("quantizing")) setTimeout(() => controller.abort(), 1500);
      },
    }).catch((e: unknown) => e);
    expect(codeOf(error)).toBe("CLOSED");
    const left = await readdir(dir);
    expect(
      left.filter((name) => name.startsWith(".int8s-tmp-") || name.startsWith(STATIC_INT8_FILE)),
    ).toEqual([]);
    // The pinned fp32 files are untouched; the next load produces the graph again.
    expect(left).toContain("model.onnx");
  });
});
