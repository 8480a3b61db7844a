/**
 * `speech-embedding` on `POST /v1/embeddings` (in-process, `app.inject()`), on the
 * real model: listed in /v1/models, base64 WAV in, the library's vector out.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AudioEmbedder } from "../../src/embed/media/audio/audio-embedder.js";
import { createAudioEmbedder } from "../../src/embed/media/audio/create-audio-embedder.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { cosineSimilarity } from "../../src/vectors/math.js";
import { clip } from "../embed/media/audio-fixtures.js";
import { sharedStore } from "./helpers.js";

let library: AudioEmbedder;
beforeAll(async () => {
  library = await createAudioEmbedder({ model: "speech-embedding", threads: 1 });
});
afterAll(async () => {
  await library?.close();
});

describe("speech-embedding on the server", () => {
  let app: EmbedkitServer;
  beforeAll(() => {
    app = createServer({
      models: ["all-minilm-l6-v2-q"],
      mediaModels: ["speech-embedding"],
      store: sharedStore(),
      threads: 1,
    });
  });
  afterAll(async () => app?.close());

  it("lists the model and embeds base64 WAV with the library's vectors", async () => {
    const models = await app.inject({ method: "GET", url: "/v1/models" });
    expect((models.json() as { data: { id: string }[] }).data.map((entry) => entry.id)).toContain(
      "speech-embedding",
    );
    const response = await app.inject({
      method: "POST",
      url: "/v1/embeddings",
      payload: { model: "speech-embedding", input: readFileSync(clip("2_george_0")).toString("base64") },
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as { data: { embedding: number[] }[]; model: string };
    expect(body.model).toBe("speech-embedding");
    const [expected] = (await library.embed([clip("2_george_0")])).vectors;
    expect(cosineSimilarity(body.data[0]?.embedding as number[], expected as Float32Array)).toBeGreaterThan(
      0.99999,
    );
  });
});
