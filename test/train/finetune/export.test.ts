/**
 * Export of fine-tuned encoder weights as a `dir:` model folder, on the real
 * all-MiniLM-L6-v2 graph. "Trained" weights are real initializers perturbed here
 * (test data, not a stand-in for the exporter): unchanged weights must give the
 * base model's vectors bit for bit, changed ones must be in the file exactly and
 * change the vectors; bad weights are refused before anything is written.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../../src/embed/index.js";
import { createModelStore } from "../../../src/models/index.js";
import { type OnnxFloatInitializer, readOnnxInitializers } from "../../../src/models/onnx-initializers.js";
import { exportFinetunedEncoder, FINETUNE_MANIFEST_FILE } from "../../../src/train/finetune/index.js";

const BASE = "all-minilm-l6-v2";
const DATA_SHA = createHash("sha256").update("pairs").digest("hex");
const TEXTS = [
  "A man is playing a guitar.",
  "The cat sat on the mat.",
  "Fine-tuning moves the embedding space.",
];
const CHANGED = ["encoder.layer.5.output.dense.bias", "onnx::MatMul_787", "embeddings.LayerNorm.weight"];

let root: string;
let baseOnnx: string;
let initializers: Map<string, OnnxFloatInitializer>;
let baseVectors: Float32Array[];

async function embedAll(model: string): Promise<Float32Array[]> {
  const embedder = await createEmbedder({ model });
  try {
    return (await embedder.embed(TEXTS)).vectors as Float32Array[];
  } finally {
    await embedder.close();
  }
}

function perturbed(name: string, seed: number): Float32Array {
  const values = Float32Array.from((initializers.get(name) as OnnxFloatInitializer).values);
  for (let index = 0; index < values.length; index++)
    values[index] = (values[index] as number) + 0.05 * Math.sin(seed + index);
  return values;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "embedkit-ft-export-"));
  const pulled = await createModelStore().ensure(BASE);
  baseOnnx = pulled.path("onnx");
  initializers = await readOnnxInitializers(baseOnnx);
  baseVectors = await embedAll(BASE);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("readOnnxInitializers", () => {
  it("lists the float32 weights by ONNX initializer name with their shapes", () => {
    expect(initializers.get("embeddings.word_embeddings.weight")?.dims).toEqual([30522, 384]);
    expect(initializers.get("onnx::MatMul_798")?.dims).toEqual([384, 1536]);
    // int64 position ids are not a weight.
    expect(initializers.has("embeddings.position_ids")).toBe(false);
    expect(initializers.size).toBe(101);
  });
});

describe("exportFinetunedEncoder", () => {
  it("with unchanged weights writes the base graph byte for byte and gives identical vectors", async () => {
    const weights = new Map(
      CHANGED.map((name) => [name, (initializers.get(name) as OnnxFloatInitializer).values]),
    );
    const exported = await exportFinetunedEncoder({
      base: BASE,
      weights,
      task: "embeddings",
      dataSha256: DATA_SHA,
      metrics: { "valid.loss": 0.25 },
      outDir: join(root, "same"),
    });
    const [a, b] = await Promise.all([readFile(baseOnnx), readFile(join(exported.dir, "model.onnx"))]);
    expect(Buffer.compare(a, b)).toBe(0);
    const vectors = await embedAll(exported.reference);
    expect(vectors.map((v) => Buffer.from(v.buffer).toString("hex"))).toEqual(
      baseVectors.map((v) => Buffer.from(v.buffer).toString("hex")),
    );
    const manifest = JSON.parse(await readFile(join(exported.dir, FINETUNE_MANIFEST_FILE), "utf8"));
    expect(manifest).toMatchObject({
      format: "embedkit-finetune",
      name: "same",
      task: "embeddings",
      dataSha256: DATA_SHA,
      metrics: { "valid.loss": 0.25 },
      base: { id: BASE, onnxSha256: createHash("sha256").update(a).digest("hex") },
      replacedInitializers: 3,
      model: { dims: 384, maxTokens: 256, pooling: "mean", normalize: true },
    });
    expect(manifest.files[0]).toMatchObject({ name: "model.onnx", bytes: a.length });
    expect(JSON.parse(await readFile(join(exported.dir, "config.json"), "utf8")).hidden_size).toBe(384);
    expect(JSON.parse(await readFile(join(exported.dir, "1_Pooling", "config.json"), "utf8"))).toMatchObject({
      pooling_mode_mean_tokens: true,
    });
  });

  it("with changed weights stores exactly those values, keeps the others and changes the vectors", async () => {
    const weights = new Map(CHANGED.map((name, index) => [name, perturbed(name, index)]));
    const exported = await exportFinetunedEncoder({
      base: BASE,
      weights,
      task: "classifier",
      dataSha256: DATA_SHA,
      outDir: join(root, "changed"),
    });
    const written = await readOnnxInitializers(join(exported.dir, "model.onnx"));
    for (const [name, original] of initializers) {
      const expected = weights.get(name) ?? original.values;
      expect(
        Buffer.compare(
          Buffer.from(written.get(name)?.values.buffer as ArrayBuffer),
          Buffer.from(expected.buffer),
        ),
      ).toBe(0);
    }
    expect((await stat(join(exported.dir, "model.onnx"))).size).toBe((await stat(baseOnnx)).size);
    const vectors = await embedAll(exported.reference);
    const embedder = await createEmbedder({ model: exported.reference });
    expect(embedder.model.id).toBe(exported.modelId);
    expect(embedder.model.dims).toBe(384);
    await embedder.close();
    for (const [index, vector] of vectors.entries()) {
      const base = baseVectors[index] as Float32Array;
      let dot = 0;
      let maxDiff = 0;
      for (let i = 0; i < vector.length; i++) {
        dot += (vector[i] as number) * (base[i] as number);
        maxDiff = Math.max(maxDiff, Math.abs((vector[i] as number) - (base[i] as number)));
      }
      expect(maxDiff).toBeGreaterThan(1e-3);
      // A small perturbation moves the vector, it does not scramble it.
      expect(dot).toBeGreaterThan(0.8);
    }
  });

  it("refuses unknown names, wrong shapes, non-float32 targets and non-finite values, leaving nothing", async () => {
    const bias = "encoder.layer.0.output.dense.bias";
    const cases: [Map<string, Float32Array>, RegExp][] = [
      [
        new Map([["encoder.layer.9.nope", new Float32Array(384)]]),
        /not initializers of all-minilm-l6-v2.*"encoder\.layer\.9\.nope"/,
      ],
      [new Map([[bias, new Float32Array(383)]]), /wrong shape: 383 values, expected 384 \(shape \[384\]/],
      [new Map([["embeddings.position_ids", new Float32Array(512)]]), /not float32/],
      [
        new Map([[bias, Float32Array.from({ length: 384 }, (_, i) => (i === 7 ? Number.NaN : 0))]]),
        /non-finite value \(NaN\) at index 7/,
      ],
    ];
    for (const [weights, message] of cases) {
      await expect(
        exportFinetunedEncoder({
          base: BASE,
          weights,
          task: "ner",
          dataSha256: DATA_SHA,
          outDir: join(root, "bad"),
        }),
      ).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringMatching(message) });
    }
    expect((await readdir(root)).filter((name) => name.startsWith("bad"))).toEqual([]);
  });

  it("refuses an existing folder without overwrite and a malformed data sha256", async () => {
    const weights = new Map<string, Float32Array>();
    await expect(
      exportFinetunedEncoder({
        base: BASE,
        weights,
        task: "ner",
        dataSha256: DATA_SHA,
        outDir: join(root, "same"),
      }),
    ).rejects.toMatchObject({
      code: "INVALID_OPTION",
      message: expect.stringMatching(/already exists.*overwrite/),
    });
    await expect(
      exportFinetunedEncoder({
        base: BASE,
        weights,
        task: "ner",
        dataSha256: "abc",
        outDir: join(root, "x"),
      }),
    ).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringMatching(/not a sha256/) });
  });
});
