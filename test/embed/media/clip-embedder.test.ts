import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyClip } from "../../../scripts/make-tiny-clip.js";
import {
  type ClipEmbedder,
  createClipEmbedder,
  preprocessFromConfig,
} from "../../../src/embed/media/image/clip-embedder.js";
import { createImageEmbedder } from "../../../src/embed/media/image/create-image-embedder.js";
import { EmbedkitError } from "../../../src/errors.js";
import { createModelStore } from "../../../src/models/store-impl.js";
import { cosineSimilarity, norm } from "../../../src/vectors/math.js";
import { withHubFolder } from "./hub-server.js";
import { sampleImages, temporaryFolder } from "./image-fixtures.js";

// The model here is the random-weight fixture from scripts/make-tiny-clip.ts: it has
// CLIP's real input/output signature and file layout, but its vectors mean nothing.
// These tests cover the code path (files, preprocessing, both ONNX towers, shapes,
// normalization, errors), not retrieval quality.
let folder: string;
let home: string;
let clip: ClipEmbedder;
const images = sampleImages().slice(0, 3);

beforeAll(async () => {
  folder = await temporaryFolder("clip");
  home = await temporaryFolder("clip-home");
  await writeTinyClip(join(folder, "tiny-clip"), { dims: 32, seed: 3 });
  clip = await createClipEmbedder({
    model: `dir:${join(folder, "tiny-clip")}`,
    store: createModelStore({ home }),
  });
});

afterAll(async () => {
  await clip?.close();
  await rm(folder, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

describe("CLIP-style image + text pair (tiny random-weight fixture)", () => {
  it("embeds images and texts into the same 32-d unit space", async () => {
    const pictures = await clip.image.embed(images);
    const texts = await clip.text.embed(["a photo of a dog", "a red car"]);
    expect(pictures.dims).toBe(32);
    expect(texts.dims).toBe(32);
    for (const vector of [...pictures.vectors, ...texts.vectors]) expect(norm(vector)).toBeCloseTo(1, 4);
    // Text→image search runs end to end: a score per image, finite.
    const scores = pictures.vectors.map((picture) =>
      cosineSimilarity(texts.vectors[0] as Float32Array, picture),
    );
    for (const score of scores) expect(Number.isFinite(score)).toBe(true);
    expect(texts.usage.tokens).toBe(5 + 3);
  });

  it("gives the same vector for a text alone and inside a padded batch (attention mask honoured)", async () => {
    const batch = await clip.text.embed(["dog", "a photo of a red car near the water tower"]);
    const alone = await clip.text.embed(["dog"]);
    expect(
      cosineSimilarity(batch.vectors[0] as Float32Array, alone.vectors[0] as Float32Array),
    ).toBeGreaterThan(0.99999);
  });

  it("reads CLIP's preprocessing (shortest edge + center crop, CLIP mean/std, NCHW)", () => {
    expect(clip.image.preprocess).toMatchObject({ width: 224, height: 224, fit: "cover", layout: "nchw" });
    expect(clip.image.preprocess.mean[0]).toBeCloseTo(0.48145466, 6);
    expect(preprocessFromConfig({ size: 384, do_center_crop: false })).toMatchObject({
      width: 384,
      height: 384,
      fit: "fill",
    });
  });

  it("is reachable through createImageEmbedder with a clip: prefix", async () => {
    const embedder = await createImageEmbedder({
      model: `clip:dir:${join(folder, "tiny-clip")}`,
      store: createModelStore({ home }),
    });
    const direct = await clip.image.embed([images[0] as string]);
    const viaFactory = await embedder.embed([images[0] as string]);
    expect(
      cosineSimilarity(direct.vectors[0] as Float32Array, viaFactory.vectors[0] as Float32Array),
    ).toBeGreaterThan(0.99999);
    await embedder.close();
  });

  it("refuses a folder whose graph lacks CLIP's outputs, and a bad reference", async () => {
    const broken = join(folder, "broken");
    await writeTinyClip(broken, { dims: 8 });
    // Swap the towers: the vision file now has text inputs.
    const { readFile } = await import("node:fs/promises");
    await writeFile(
      join(broken, "onnx", "vision_model.onnx"),
      await readFile(join(broken, "onnx", "text_model.onnx")),
    );
    await expect(
      createClipEmbedder({ model: `dir:${broken}`, store: createModelStore({ home }) }),
    ).rejects.toThrow(/lacks pixel_values, image_embeds/);
    await expect(createClipEmbedder({ model: "clip-vit" })).rejects.toThrow(EmbedkitError);
    await expect(createClipEmbedder({ model: `dir:${join(folder, "missing")}` })).rejects.toThrow(
      /config\.json/,
    );
  });

  it("pulls the same folder from a Hub-like server (hf:owner/name@revision, HF_ENDPOINT)", async () => {
    const requested = await withHubFolder(join(folder, "tiny-clip"), "tiny/clip", "v1", async () => {
      const hub = await createClipEmbedder({ model: "hf:tiny/clip@v1", store: createModelStore({ home }) });
      const fromHub = await hub.text.embed(["a red car"]);
      const fromDir = await clip.text.embed(["a red car"]);
      expect(
        cosineSimilarity(fromHub.vectors[0] as Float32Array, fromDir.vectors[0] as Float32Array),
      ).toBeGreaterThan(0.99999);
      await hub.close();
    });
    expect(requested).toContain("/tiny/clip/resolve/v1/onnx/vision_model.onnx");
  });
});
