/**
 * The face model on `POST /v1/embeddings` (in-process, `app.inject()`), on the real
 * face-api weights: a base64 group photo gives its largest face's 128-d vector (equal
 * to the library's), and a photo without a face answers 422 NO_FACE in OpenAI's shape.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageEmbedder } from "../../src/embed/media/image/create-image-embedder.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { cosineSimilarity } from "../../src/vectors/math.js";
import { samplePhoto } from "../embed/media/image-fixtures.js";
import { expectOpenAiError, sharedStore } from "./helpers.js";

const group = join(
  dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")),
  "demo",
  "sample1.jpg",
);
const lakeside = samplePhoto("n09332890_lakeside.JPEG");

function post(app: EmbedkitServer, payload: unknown) {
  return app.inject({ method: "POST", url: "/v1/embeddings", payload: payload as object });
}

describe("server: the face model on /v1/embeddings", () => {
  let app: EmbedkitServer;
  beforeAll(() => {
    app = createServer({ models: ["all-minilm-l6-v2-q"], mediaModels: ["face"], store: sharedStore() });
  });
  afterAll(async () => app?.close());

  it("embeds the largest face of a base64 photo, equal to the library's vector", async () => {
    const response = await post(app, { model: "face", input: readFileSync(group).toString("base64") });
    expect(response.statusCode, response.body).toBe(200);
    const [item] = (response.json() as { data: { embedding: number[] }[] }).data;
    expect(item?.embedding).toHaveLength(128);
    const library = await createImageEmbedder({ model: "face", store: sharedStore() });
    try {
      const [vector] = (await library.embed([group])).vectors as Float32Array[];
      expect(
        cosineSimilarity(Float32Array.from(item?.embedding ?? []), vector as Float32Array),
      ).toBeGreaterThan(0.9999);
    } finally {
      await library.close();
    }
  });

  it("answers a photo without a face with 422 and the NO_FACE code", async () => {
    const response = await post(app, { model: "face", input: readFileSync(lakeside).toString("base64") });
    expectOpenAiError(response, 422);
    const { error } = response.json() as { error: { code: string; message: string } };
    expect(error.code).toBe("no_face");
    expect(error.message).toMatch(/no face found/);
  });
});
