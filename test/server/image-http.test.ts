/**
 * Image models on `POST /v1/embeddings` (in-process, `app.inject()`), on the real
 * MobileNetV2: base64 and data-URL inputs equal the library's vectors, dimensions
 * and base64 output, and OpenAI-shaped errors for a decompression bomb, a 0-byte
 * input and a video sent to an image model.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageEmbedder } from "../../src/embed/media/image/create-image-embedder.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { base64ToFloat32 } from "../../src/vectors/codec.js";
import { cosineSimilarity } from "../../src/vectors/math.js";
import { pngBomb, sampleImages } from "../embed/media/image-fixtures.js";
import { expectOpenAiError, sharedStore } from "./helpers.js";

const [first, second] = sampleImages() as [string, string];
const jpeg = readFileSync(first).toString("base64");

function post(app: EmbedkitServer, payload: unknown) {
  return app.inject({ method: "POST", url: "/v1/embeddings", payload: payload as object });
}

describe("server: image models on /v1/embeddings", () => {
  let app: EmbedkitServer;
  beforeAll(() => {
    app = createServer({
      models: ["all-minilm-l6-v2-q"],
      mediaModels: ["mobilenet-v2-nsfwjs"],
      store: sharedStore(),
    });
  });
  afterAll(async () => app?.close());

  it("embeds a base64 JPEG and a PNG data URL, equal to the library's vectors", async () => {
    const png = (await (await import("sharp")).default(second).png().toBuffer()).toString("base64");
    const response = await post(app, {
      model: "mobilenet-v2-nsfwjs",
      input: [jpeg, `data:image/png;base64,${png}`],
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as { data: { index: number; embedding: number[] }[]; usage: unknown };
    expect(body.usage).toEqual({ prompt_tokens: 0, total_tokens: 0 });
    expect(body.data.map((item) => item.embedding.length)).toEqual([1280, 1280]);
    const library = await createImageEmbedder({ store: sharedStore() });
    try {
      const { vectors } = await library.embed([first]);
      expect(
        cosineSimilarity(Float32Array.from(body.data[0]?.embedding ?? []), vectors[0] as Float32Array),
      ).toBeGreaterThan(0.9999);
    } finally {
      await library.close();
    }
  });

  it("honours dimensions and base64 encoding", async () => {
    const response = await post(app, {
      model: "mobilenet-v2-nsfwjs",
      input: jpeg,
      dimensions: 64,
      encoding_format: "base64",
    });
    expect(response.statusCode, response.body).toBe(200);
    const vector = base64ToFloat32(
      (response.json() as { data: { embedding: string }[] }).data[0]?.embedding ?? "",
    );
    expect(vector).toHaveLength(64);
  });

  it("answers a decompression bomb with 413, an empty input with 400, and a WAV with 415", async () => {
    expectOpenAiError(
      await post(app, { model: "mobilenet-v2-nsfwjs", input: pngBomb().toString("base64") }),
      413,
    );
    expectOpenAiError(
      await post(app, { model: "mobilenet-v2-nsfwjs", input: "data:image/png;base64," }),
      400,
    );
    const wav = readFileSync("test/fixtures/audio/0_george_0.wav").toString("base64");
    const response = await post(app, { model: "mobilenet-v2-nsfwjs", input: wav });
    expectOpenAiError(response, 415);
    expect(response.body).toMatch(/audio file/);
  });
});
