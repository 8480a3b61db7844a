import { copyFile, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageEmbedder } from "../../../src/embed/media/image/create-image-embedder.js";
import {
  convertedGraphName,
  createKerasOnnxImageEmbedder,
} from "../../../src/embed/media/image/keras-onnx-image-embedder.js";
import type { PixelEmbedder } from "../../../src/embed/media/image/pixel-embedder.js";
import { EmbedkitError } from "../../../src/errors.js";
import { derivedRecordPath } from "../../../src/models/derived-file.js";
import { KERAS_ONNX_CONVERTER_VERSION } from "../../../src/models/keras-onnx.js";
import type { ModelSpec } from "../../../src/models/model-spec.js";
import { createModelStore } from "../../../src/models/store-impl.js";
import { cosineSimilarity } from "../../../src/vectors/math.js";
import { errorCode, sampleImages, temporaryFolder } from "./image-fixtures.js";

const photos = sampleImages().slice(0, 8);
let spec: ModelSpec;
let storePaths: Readonly<Record<string, string>>;
/** A private copy of the model's two TF.js files, so corrupting its conversion never touches the shared cache. */
let folder: string;
let paths: Record<string, string>;
let reference: Float32Array[];

beforeAll(async () => {
  const pulled = await createModelStore().ensure("mobilenet-v2-nsfwjs");
  spec = pulled.spec;
  storePaths = pulled.paths;
  folder = await temporaryFolder("image-onnx");
  paths = {};
  for (const [name, path] of Object.entries(pulled.paths)) {
    paths[name] = join(folder, name);
    await copyFile(path, paths[name] as string);
  }
  const tfjs = await createImageEmbedder({ runtime: "tfjs" });
  reference = (await tfjs.embed(photos)).vectors as Float32Array[];
  await tfjs.close();
});

afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

async function embedWith(embedder: PixelEmbedder): Promise<Float32Array[]> {
  try {
    return (await embedder.embed(photos)).vectors as Float32Array[];
  } finally {
    await embedder.close();
  }
}

function expectSameAsTfjs(vectors: readonly Float32Array[]): void {
  expect(vectors).toHaveLength(reference.length);
  vectors.forEach((vector, index) => {
    const tfjs = reference[index] as Float32Array;
    expect(cosineSimilarity(vector, tfjs)).toBeGreaterThan(0.9999);
    let maxDiff = 0;
    for (let k = 0; k < vector.length; k++)
      maxDiff = Math.max(maxDiff, Math.abs((vector[k] as number) - (tfjs[k] as number)));
    expect(maxDiff).toBeLessThan(1e-4);
  });
}

describe("MobileNetV2 converted to ONNX", () => {
  it("gives the TF.js features on real photos (cosine > 0.9999, max abs diff < 1e-4 per unit vector)", async () => {
    const reasons: string[] = [];
    const vectors = await embedWith(
      await createKerasOnnxImageEmbedder({ spec, paths, onConvert: (event) => reasons.push(event.reason) }),
    );
    expect(reasons).toEqual(["not converted yet"]);
    expectSameAsTfjs(vectors);
  });

  it("is the default runtime: createImageEmbedder() caches the conversion next to the model and matches TF.js", async () => {
    const vectors = await embedWith(await createImageEmbedder());
    expectSameAsTfjs(vectors);
    const onnxPath = join(storePaths["model.min.js"] as string, "..", convertedGraphName(spec));
    const record = JSON.parse(
      await readFile(derivedRecordPath(join(onnxPath, ".."), convertedGraphName(spec)), "utf8"),
    );
    expect(record.converter).toBe(KERAS_ONNX_CONVERTER_VERSION);
    expect(record.bytes).toBe((await stat(onnxPath)).size);
    expect(record.inputs["model.min.js"]).toBe(
      spec.files.find((file) => file.name === "model.min.js")?.sha256,
    );
  });

  it("converts once: a second load reads the cached graph", async () => {
    const reasons: string[] = [];
    const embedder = await createKerasOnnxImageEmbedder({
      spec,
      paths,
      onConvert: (event) => reasons.push(event.reason),
    });
    await embedder.close();
    expect(reasons).toEqual([]);
  });

  it("rebuilds a corrupted cached graph (bytes changed, same size) and still matches TF.js", async () => {
    const onnxPath = join(folder, convertedGraphName(spec));
    const bytes = await readFile(onnxPath);
    for (let i = bytes.length - 4096; i < bytes.length - 2048; i++) bytes[i] = 0xff;
    await writeFile(onnxPath, bytes);
    const reasons: string[] = [];
    const vectors = await embedWith(
      await createKerasOnnxImageEmbedder({ spec, paths, onConvert: (event) => reasons.push(event.reason) }),
    );
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/does not match the recorded .*corrupted/);
    expectSameAsTfjs(vectors);
  });

  it("rebuilds a truncated graph and a record that does not parse", async () => {
    const onnxPath = join(folder, convertedGraphName(spec));
    await writeFile(onnxPath, (await readFile(onnxPath)).subarray(0, 1000));
    const reasons: string[] = [];
    const onConvert = (event: { reason: string }): void => {
      reasons.push(event.reason);
    };
    await (await createKerasOnnxImageEmbedder({ spec, paths, onConvert })).close();
    await writeFile(derivedRecordPath(folder, convertedGraphName(spec)), "{ not json");
    await (await createKerasOnnxImageEmbedder({ spec, paths, onConvert })).close();
    expect(reasons).toEqual([expect.stringMatching(/corrupted/), "its record does not parse"]);
    expect((await stat(onnxPath)).size).toBeGreaterThan(1_000_000);
  });

  it("refuses a corrupted TF.js source with CORRUPT_MODEL instead of converting garbage", async () => {
    const broken = await temporaryFolder("image-onnx-broken");
    try {
      const brokenPaths: Record<string, string> = {};
      for (const [name, path] of Object.entries(paths)) {
        brokenPaths[name] = join(broken, name);
        await copyFile(path, brokenPaths[name] as string);
      }
      await writeFile(brokenPaths["group1-shard1of1.min.js"] as string, 'module.exports="AAAA";');
      expect(await errorCode(createKerasOnnxImageEmbedder({ spec, paths: brokenPaths }))).toBe(
        "CORRUPT_MODEL",
      );
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it("refuses an unknown runtime name, in the options or in EMBEDKIT_IMAGE_RUNTIME", async () => {
    expect(await errorCode(createImageEmbedder({ runtime: "tensorrt" as "onnx" }))).toBe("INVALID_OPTION");
    process.env.EMBEDKIT_IMAGE_RUNTIME = "tensorrt";
    try {
      const error = await createImageEmbedder().then(
        () => new Error("resolved"),
        (caught: unknown) => caught as Error,
      );
      expect(EmbedkitError.isInstance(error) && error.code).toBe("INVALID_OPTION");
      expect(error.message).toMatch(/received "tensorrt" \(from EMBEDKIT_IMAGE_RUNTIME\)/);
    } finally {
      delete process.env.EMBEDKIT_IMAGE_RUNTIME;
    }
  });

  it("EMBEDKIT_IMAGE_RUNTIME=tfjs selects the TF.js runtime (its embedder has the model's head)", async () => {
    process.env.EMBEDKIT_IMAGE_RUNTIME = "tfjs";
    try {
      const embedder = await createImageEmbedder();
      expect("headOutput" in embedder).toBe(true);
      await embedder.close();
    } finally {
      delete process.env.EMBEDKIT_IMAGE_RUNTIME;
    }
    const fast = await createImageEmbedder();
    expect("headOutput" in fast).toBe(false);
    await fast.close();
  });
});
