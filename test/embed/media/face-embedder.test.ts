import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageEmbedder } from "../../../src/embed/media/image/create-image-embedder.js";
import { createFaceEmbedder, type FaceEmbedder } from "../../../src/embed/media/image/face-embedder.js";
import type { PulledModel } from "../../../src/models/model-store.js";
import { createModelStore } from "../../../src/models/store-impl.js";
import { cosineSimilarity } from "../../../src/vectors/math.js";
import { errorCode, pngBomb, samplePhoto, temporaryFolder } from "./image-fixtures.js";

// Real weights: the face-api-descriptor model is pulled from the @vladmandic/face-api
// npm tarball through the model store (sha256-pinned). Photos with faces: face-api's own
// demo pictures (group photos, in the installed package) and ImageNet sample photos with people.
const demo = join(
  dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")),
  "demo",
);
const group = join(demo, "sample1.jpg");
const trombone = samplePhoto("n04487394_trombone.JPEG");
const lakeside = samplePhoto("n09332890_lakeside.JPEG");

let faces: FaceEmbedder;
let pulled: PulledModel;
let folder: string;

/** A square crop 2.2× the face box around a face, as JPEG bytes. */
async function portrait(
  path: string,
  box: { x: number; y: number; width: number; height: number },
): Promise<Buffer> {
  const meta = await sharp(path).metadata();
  const side = Math.min(Math.round(2.2 * Math.max(box.width, box.height)), meta.width ?? 0, meta.height ?? 0);
  const left = Math.round(Math.min(Math.max(box.x + box.width / 2 - side / 2, 0), (meta.width ?? 0) - side));
  const top = Math.round(Math.min(Math.max(box.y + box.height / 2 - side / 2, 0), (meta.height ?? 0) - side));
  return sharp(path).extract({ left, top, width: side, height: side }).jpeg({ quality: 95 }).toBuffer();
}

beforeAll(async () => {
  folder = await temporaryFolder("face");
  pulled = await createModelStore().ensure("face");
  faces = await createFaceEmbedder({ spec: pulled.spec, paths: pulled.paths });
});

afterAll(async () => {
  await faces?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe("face embedder (face-api nets from the npm tarball, TF.js wasm)", () => {
  it("pulls the pinned weights and describes faces with unit 128-d vectors", async () => {
    expect(pulled.spec.id).toBe("face-api-descriptor");
    expect(Object.keys(pulled.paths).sort()).toHaveLength(6);
    const { vectors, dims, usage } = await faces.embed([trombone]);
    expect(dims).toBe(128);
    expect(usage.inputs).toBe(1);
    const vector = vectors[0] as Float32Array;
    expect(vector).toHaveLength(128);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
  });

  it("finds every face of a group photo with 68 landmarks inside its box, largest first", async () => {
    const [found, none] = await faces.detectFaces([group, lakeside]);
    expect(found).toHaveLength(3);
    expect(none).toEqual([]);
    const areas = (found ?? []).map((face) => face.box.width * face.box.height);
    expect(areas).toEqual([...areas].sort((a, b) => b - a));
    for (const face of found ?? []) {
      expect(face.score).toBeGreaterThan(0.9);
      expect(face.landmarks).toHaveLength(68);
      const inside = face.landmarks.filter(
        (point) =>
          point.x >= face.box.x - 0.2 * face.box.width &&
          point.x <= face.box.x + 1.2 * face.box.width &&
          point.y >= face.box.y - 0.2 * face.box.height &&
          point.y <= face.box.y + 1.2 * face.box.height,
      );
      expect(inside.length).toBeGreaterThanOrEqual(60);
    }
    // Three different people: their descriptors are far apart.
    const [a, b, c] = (found ?? []).map((face) => face.vector);
    for (const [x, y] of [
      [a, b],
      [a, c],
      [b, c],
    ] as const) {
      expect(cosineSimilarity(x as Float32Array, y as Float32Array)).toBeLessThan(0.95);
    }
  });

  it("embeds the largest face of an image with several faces", async () => {
    const [all] = await faces.detectFaces([group]);
    const [vector] = (await faces.embed([group])).vectors as Float32Array[];
    expect(cosineSimilarity(vector as Float32Array, all?.[0]?.vector as Float32Array)).toBeCloseTo(1, 6);
  });

  it("keeps the same face closer to itself than to other faces under flip, brightness, JPEG and crop", async () => {
    // Seven people: the faces of two of face-api's group photos, each cut out as a portrait.
    const photos = [group, join(demo, "sample4.jpg")];
    const found = await faces.detectFaces(photos);
    const sources = found.flatMap((list, index) =>
      list.map((face) => ({ path: photos[index] as string, box: face.box })),
    );
    expect(sources).toHaveLength(7);
    const originals = await Promise.all(sources.map((source) => portrait(source.path, source.box)));
    const gallery = (await faces.embed(originals.map((data) => ({ data, name: "face.jpg" }))))
      .vectors as Float32Array[];
    const edits: ((image: Buffer) => Promise<Buffer>)[] = [
      (image) => sharp(image).flop().jpeg({ quality: 90 }).toBuffer(),
      (image) => sharp(image).modulate({ brightness: 1.4 }).jpeg({ quality: 90 }).toBuffer(),
      (image) => sharp(image).jpeg({ quality: 15 }).toBuffer(),
      async (image) => {
        const side = (await sharp(image).metadata()).width ?? 0;
        const keep = Math.round(side * 0.85);
        return sharp(image)
          .extract({ left: side - keep, top: Math.round((side - keep) / 2), width: keep, height: keep })
          .jpeg({ quality: 90 })
          .toBuffer();
      },
    ];
    // A query in which the detector finds no face is counted, not ranked.
    const outcome = { right: 0, wrong: 0, noFace: 0 };
    for (const [truth, original] of originals.entries()) {
      for (const edit of edits) {
        const [query] =
          (await faces.detectFaces([{ data: await edit(original), name: "query.jpg" }]))[0] ?? [];
        if (query === undefined) {
          outcome.noFace++;
          continue;
        }
        const scores = gallery.map((other) => cosineSimilarity(query.vector, other));
        outcome[scores.indexOf(Math.max(...scores)) === truth ? "right" : "wrong"]++;
      }
    }
    console.log("face copy detection", outcome);
    expect(outcome.wrong).toBe(0);
    expect(outcome.right).toBeGreaterThanOrEqual(24); // of 28
  });

  it("refuses an image without a face with NO_FACE, naming the file", async () => {
    await expect(faces.embed([lakeside])).rejects.toMatchObject({
      code: "NO_FACE",
      message: expect.stringContaining("n09332890_lakeside.JPEG: no face found"),
    });
  });

  it("refuses a decompression bomb, a 0-byte file and a truncated JPEG before detection", async () => {
    expect(await errorCode(faces.embed([{ data: pngBomb(), name: "bomb.png" }]))).toBe("INPUT_TOO_LARGE");
    expect(await errorCode(faces.embed([{ data: new Uint8Array(0), name: "empty.jpg" }]))).toBe(
      "MALFORMED_FILE",
    );
    const jpeg = await readFile(trombone);
    expect(await errorCode(faces.embed([{ data: jpeg.subarray(0, 2000), name: "cut.jpg" }]))).toBe(
      "MALFORMED_FILE",
    );
  });

  it("refuses weights that do not match their manifest with CORRUPT_MODEL", async () => {
    const broken = join(folder, "broken");
    await mkdir(broken, { recursive: true });
    const paths: Record<string, string> = {};
    for (const [name, path] of Object.entries(pulled.paths)) {
      paths[name] = join(broken, name);
      await copyFile(path, paths[name] as string);
    }
    const bin = paths["face_recognition_model.bin"] as string;
    await writeFile(bin, (await readFile(bin)).subarray(0, 1000));
    expect(await errorCode(createFaceEmbedder({ spec: pulled.spec, paths }))).toBe("CORRUPT_MODEL");
    await writeFile(paths["ssd_mobilenetv1_model-weights_manifest.json"] as string, "not json");
    expect(await errorCode(createFaceEmbedder({ spec: pulled.spec, paths }))).toBe("CORRUPT_MODEL");
  });

  it("is what createImageEmbedder gives for -m face, and refuses calls after close", async () => {
    const viaFactory = (await createImageEmbedder({ model: "face" })) as FaceEmbedder;
    expect(viaFactory.model.id).toBe("face-api-descriptor");
    expect(typeof viaFactory.detectFaces).toBe("function");
    await viaFactory.close();
    expect(await errorCode(viaFactory.embed([trombone]))).toBe("CLOSED");
  });
});
