import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageEmbedder } from "../../../src/embed/media/image/create-image-embedder.js";
import { decodeImage } from "../../../src/embed/media/image/decode-image.js";
import type { PixelEmbedder } from "../../../src/embed/media/image/pixel-embedder.js";
import type { TfjsImageEmbedder } from "../../../src/embed/media/image/tfjs-image-embedder.js";
import { openMediaInput } from "../../../src/embed/media/media-input.js";
import { cosineSimilarity, norm } from "../../../src/vectors/math.js";
import { errorCode, pngBomb, sampleImages, temporaryFolder } from "./image-fixtures.js";

const images = sampleImages();
const first = images[0] as string;
let embedder: PixelEmbedder;
let folder: string;

beforeAll(async () => {
  embedder = await createImageEmbedder();
  folder = await temporaryFolder("image");
});

afterAll(async () => {
  await embedder?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe("default image embedder (MobileNetV2 from nsfwjs)", () => {
  it("returns one unit 1280-d vector per image, in input order", async () => {
    const result = await embedder.embed(images.slice(0, 3));
    expect(result.dims).toBe(1280);
    expect(result.modality).toBe("image");
    expect(result.vectors).toHaveLength(3);
    for (const vector of result.vectors) expect(norm(vector)).toBeCloseTo(1, 4);
    const alone = await embedder.embed([images[2] as string]);
    expect(
      cosineSimilarity(alone.vectors[0] as Float32Array, result.vectors[2] as Float32Array),
    ).toBeGreaterThan(0.9999);
    expect(result.usage.inputs).toBe(3);
  });

  it("behaves like the published classifier: its own head calls natural photos Neutral", async () => {
    // nsfwjs classes: Drawing, Hentai, Neutral, Porn, Sexy. ImageNet photos are Neutral.
    // The head runs on the TF.js runtime (the ONNX conversion stops at the feature layer).
    const tfjs = (await createImageEmbedder({ runtime: "tfjs" })) as TfjsImageEmbedder;
    let neutral = 0;
    const photos = images.slice(0, 12);
    for (const path of photos) {
      const file = await openMediaInput(path, { modality: "image", limits: { maxBytes: 1e8 } });
      const pixels = await decodeImage(file, {
        maxPixels: 1e8,
        resize: { width: 224, height: 224, fit: "fill" },
      });
      const scores = tfjs.headOutput(pixels);
      const best = scores.indexOf(Math.max(...scores));
      if (best === 2) neutral++;
    }
    await tfjs.close();
    expect(neutral).toBeGreaterThanOrEqual(10);
  });

  it("finds a flipped, brightened, re-encoded copy of a photo among the other photos", async () => {
    const copy = join(folder, "copy.jpg");
    await sharp(first).flop().modulate({ brightness: 1.15 }).jpeg({ quality: 50 }).toFile(copy);
    const { vectors } = await embedder.embed([copy, ...images]);
    const query = vectors[0] as Float32Array;
    const scores = vectors.slice(1).map((vector) => cosineSimilarity(query, vector));
    expect(scores.indexOf(Math.max(...scores))).toBe(0);
  });

  it("decodes JPEG, PNG, WebP and the first frame of an animated GIF to the same picture", async () => {
    const source = sharp(first).resize(256, 256, { fit: "fill" });
    const png = await source.clone().png().toBuffer();
    const webp = await source.clone().webp({ quality: 95 }).toBuffer();
    const raw = await source.clone().removeAlpha().raw().toBuffer();
    // Two frames: the photo, then solid black. Only the first frame must count.
    const frames = Buffer.concat([raw, Buffer.alloc(raw.length)]);
    const gif = await sharp(frames, { raw: { width: 256, height: 512, channels: 3, pageHeight: 256 } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const { vectors } = await embedder.embed([
      { data: new Uint8Array(png), name: "a.png" },
      { data: new Uint8Array(webp), name: "a.webp" },
      { data: new Uint8Array(gif), name: "a.gif" },
      ...images.slice(1),
    ]);
    const [p, w, g, ...others] = vectors as Float32Array[];
    const closestOther = Math.max(...others.map((other) => cosineSimilarity(p as Float32Array, other)));
    // Each encoding of the photo is closer to the PNG than any other photo is
    // (GIF quantizes to 256 colours, so it moves furthest).
    expect(cosineSimilarity(p as Float32Array, w as Float32Array)).toBeGreaterThan(closestOther);
    expect(cosineSimilarity(p as Float32Array, g as Float32Array)).toBeGreaterThan(closestOther);
  });

  it("honours EXIF orientation (a sideways-stored photo with orientation 6 decodes upright)", async () => {
    const upright = await sharp(first).resize(300, 200, { fit: "fill" }).jpeg({ quality: 95 }).toBuffer();
    // Store the pixels rotated 90° counter-clockwise and say "rotate 90° clockwise to display".
    const sideways = await sharp(upright)
      .rotate(-90)
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(sideways).metadata()).width).toBe(200);
    const decode = async (data: Buffer, name: string) =>
      decodeImage(
        await openMediaInput(
          { data: new Uint8Array(data), name },
          { modality: "image", limits: { maxBytes: 1e8 } },
        ),
        {
          maxPixels: 1e8,
        },
      );
    const a = await decode(upright, "upright.jpg");
    const b = await decode(sideways, "sideways.jpg");
    expect([b.width, b.height]).toEqual([300, 200]);
    let difference = 0;
    for (let i = 0; i < a.data.length; i++)
      difference += Math.abs((a.data[i] as number) - (b.data[i] as number));
    expect(difference / a.data.length).toBeLessThan(8);
  });

  it("keeps the first n dimensions and quantizes when asked", async () => {
    const result = await embedder.embed([first], { dimensions: 256, precision: "int8" });
    expect(result.dims).toBe(256);
    expect(result.vectors[0]).toBeInstanceOf(Int8Array);
    expect(result.vectors[0]).toHaveLength(256);
  });
});

describe("bad image input is refused with a specific error and no partial work", () => {
  it("refuses a 50 000 × 50 000 PNG header (decompression bomb) before decoding it", async () => {
    const bomb = join(folder, "bomb.png");
    await writeFile(bomb, pngBomb());
    expect((await readFile(bomb)).length).toBeLessThan(2000);
    await expect(embedder.embed([first, bomb])).rejects.toThrow(
      /50000×50000 = 2500000000 pixels, over the limit/,
    );
    expect(await errorCode(embedder.embed([bomb]))).toBe("INPUT_TOO_LARGE");
  });

  it("refuses a 0-byte file, a truncated JPEG and garbage named .jpg", async () => {
    const empty = join(folder, "empty.jpg");
    await writeFile(empty, "");
    expect(await errorCode(embedder.embed([empty]))).toBe("MALFORMED_FILE");
    await expect(embedder.embed([empty])).rejects.toThrow(/empty \(0 bytes\)/);

    const bytes = await readFile(first);
    const truncated = join(folder, "truncated.jpg");
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(await errorCode(embedder.embed([truncated]))).toBe("MALFORMED_FILE");
    await expect(embedder.embed([truncated])).rejects.toThrow(/truncated or corrupt/);

    const text = join(folder, "notes.jpg");
    await writeFile(text, "these are not pixels, just some notes\n".repeat(10));
    await expect(embedder.embed([text])).rejects.toThrow(
      /not a recognisable image file: its content is plain text/,
    );
  });

  it("says what a mislabelled file really is", async () => {
    const png = join(folder, "really-a-png.jpg");
    await sharp(first).png().toFile(png);
    await expect(embedder.embed([png])).rejects.toThrow(/named \.jpg but its content is image\/png/);
    expect(await errorCode(embedder.embed([png]))).toBe("UNSUPPORTED_MEDIA");

    const pdf = join(folder, "report.png");
    await writeFile(pdf, "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");
    await expect(embedder.embed([pdf])).rejects.toThrow(/application\/pdf/);
  });

  it("names a missing file, an oversize file and a wrong input type", async () => {
    expect(await errorCode(embedder.embed([join(folder, "nope.jpg")]))).toBe("FILE_NOT_FOUND");
    expect(await errorCode(embedder.embed([first], { limits: { maxBytes: 1000 } }))).toBe("INPUT_TOO_LARGE");
    expect(await errorCode(embedder.embed([42 as unknown as string]))).toBe("INVALID_INPUT");
    expect(await errorCode(embedder.embed("a.jpg" as unknown as string[]))).toBe("INVALID_INPUT");
  });

  it("refuses a text model as an image model", async () => {
    expect(await errorCode(createImageEmbedder({ model: "all-minilm-l6-v2-q" }))).toBe("INVALID_OPTION");
  });
});
