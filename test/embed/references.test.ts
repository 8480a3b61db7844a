/**
 * Proof that every catalog model is genuine: the pulled files match their
 * pinned sha256 (the upstream values in docs/MODELS.md), and our pipeline
 * reproduces the values published for each model within stated tolerances.
 */
import { describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { checkReferences } from "../../src/embed/reference-check.js";
import { CATALOG } from "../../src/models/catalog.js";
import type { ModelSpec } from "../../src/models/model-spec.js";
import { createModelStore } from "../../src/models/store-impl.js";

// Upstream sha256 of each ONNX file (Hugging Face LFS oids / LangChain4j pom pins),
// written out here independently of the catalog so a catalog typo cannot hide.
const UPSTREAM_ONNX_SHA256: Readonly<Record<string, string>> = {
  "all-minilm-l6-v2": "759c3cd2b7fe7e93933ad23c4c9181b7396442a2ed746ec7c1d46192c469c46e",
  "all-minilm-l6-v2-q": "afdb6f1a0e45b715d0bb9b11772f032c399babd23bfc31fed1c170afc848bdb1",
  "bge-small-en-v1.5": "828e1496d7fabb79cfa4dcd84fa38625c0d3d21da474a00f08db0f559940cf35",
  "bge-small-en-v1.5-q": "6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4",
  "bge-small-zh-v1.5": "69a0b846f4f116b5e6aabf9546ea6754d02264f3211a13a1bd69b31b8040749a",
  "bge-small-zh-v1.5-q": "15b717c382bcb518ba457b93ea6850ede7f4f1cd8937454aa06972366cd19bcc",
  "e5-small-v2": "b2a43b66f7f9b6f29643a21340ad7c03d2d91e6bd5d43429a77799a9ee880eb0",
  "e5-small-v2-q": "7d9092cb25f2bd1c023b7e8d2aa459044a02030ac880e5a59fdaf27af69f1ded",
};

// The static int8 variants (a graph produced on the user's machine, no upstream hash) are covered by
// test/models/quantize.test.ts.
const transformers = (CATALOG as readonly ModelSpec[]).filter(
  (m) => m.format === "onnx-transformer" && m.derived === undefined,
);

describe("catalog models are genuine", () => {
  it("every ONNX catalog model has an upstream hash and at least two reference checks", () => {
    expect(transformers.map((m) => m.id).sort()).toEqual(Object.keys(UPSTREAM_ONNX_SHA256).sort());
    for (const model of transformers) expect(model.references.length).toBeGreaterThanOrEqual(2);
  });

  for (const model of transformers) {
    it(`${model.id}: pinned bytes verify and published values are reproduced`, async () => {
      const store = createModelStore();
      await store.ensure(model.id);
      const report = await store.verify(model.id);
      expect(report.ok).toBe(true);
      const onnx = report.files.find((f) => f.name === "model.onnx");
      expect(onnx?.actualSha256).toBe(UPSTREAM_ONNX_SHA256[model.id]);
      const embedder = await createEmbedder({ model: model.id, store });
      try {
        const results = await checkReferences(embedder, model);
        for (const result of results) expect(result.ok, `${model.id}: ${result.summary}`).toBe(true);
      } finally {
        await embedder.close();
      }
    });
  }
});
