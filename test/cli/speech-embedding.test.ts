/**
 * `speech-embedding` through the CLI, on the real model: `embed --modality audio`
 * (the library's vectors), `index --modality audio` into the embedded store and
 * `search --example` by another speaker's clip (the same digit is among the first two
 * hits). The server side is test/server/speech-http.test.ts.
 */
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AudioEmbedder } from "../../src/embed/media/audio/audio-embedder.js";
import { createAudioEmbedder } from "../../src/embed/media/audio/create-audio-embedder.js";
import { createModelStore } from "../../src/models/store-impl.js";
import { cosineSimilarity } from "../../src/vectors/math.js";
import { CLIPS, ffmpeg, temporaryFolder } from "../embed/media/audio-fixtures.js";
import { runCli } from "./run-cli.js";

interface Line {
  readonly id: string;
  readonly embedding: number[];
}

function parseLines(text: string): Line[] {
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Line);
}

let library: AudioEmbedder;
beforeAll(async () => {
  library = await createAudioEmbedder({ model: "speech-embedding", threads: 1 });
});
afterAll(async () => {
  await library?.close();
});

describe("speech-embedding through the CLI", () => {
  it("embeds files with the library's vectors, indexes them, and finds the same digit by another speaker first", async () => {
    const indexed = CLIPS.filter((item) => item.speaker !== "nicolas");
    const files = indexed.map((item) => item.path);
    const embedded = await runCli([
      "embed",
      "--modality",
      "audio",
      "-m",
      "speech-embedding",
      "--quiet",
      ...files,
    ]);
    expect(embedded.code, embedded.stderr).toBe(0);
    const lines = parseLines(embedded.stdout);
    expect(lines.map((line) => line.id)).toEqual(files);
    const { vectors } = await library.embed(files);
    lines.forEach((line, index) => {
      expect(line.embedding).toHaveLength(96);
      expect(cosineSimilarity(line.embedding, vectors[index] as Float32Array)).toBeGreaterThan(0.99999);
    });

    const folder = temporaryFolder("embedkit-cli-speech-");
    const store = join(folder, "store");
    const index = await runCli([
      "index",
      "digits",
      "--modality",
      "audio",
      "-m",
      "speech-embedding",
      "--store",
      store,
      "--quiet",
      "--json",
      ...files,
    ]);
    expect(index.code, index.stderr).toBe(0);
    expect(JSON.parse(index.stdout)).toMatchObject({ model: "speech-embedding", total: 8, count: 8 });

    // Queries: nicolas (not indexed) saying each digit, as FLAC.
    for (const query of CLIPS.filter((item) => item.speaker === "nicolas")) {
      const flac = join(folder, `${query.name}.flac`);
      ffmpeg("-i", query.path, flac);
      const found = await runCli([
        "search",
        "digits",
        "--example",
        flac,
        "-k",
        "2",
        "--store",
        store,
        "--quiet",
        "--json",
      ]);
      expect(found.code, found.stderr).toBe(0);
      const { hits } = JSON.parse(found.stdout) as { hits: { id: string }[] };
      const digitOf = (id: string): number | undefined => indexed.find((item) => item.path === id)?.digit;
      expect(
        hits.map((hit) => digitOf(hit.id)),
        query.name,
      ).toContain(query.digit);
    }
  });
});

describe("embedkit models verify speech-embedding", () => {
  it("re-hashes both extracted graphs, and fails naming the file whose bytes changed", async () => {
    const pulled = await createModelStore().open("speech-embedding");
    const home = temporaryFolder("embedkit-cli-speech-verify-");
    cpSync(pulled.dir, join(home, "models", "speech-embedding"), { recursive: true });
    const good = await runCli(["models", "verify", "speech-embedding", "--home", home, "--json"]);
    expect(good.code, good.stderr).toBe(0);
    const [report] = JSON.parse(good.stdout) as { ok: boolean; files: { name: string; ok: boolean }[] }[];
    expect(report?.ok).toBe(true);
    expect(report?.files.map((file) => file.name).sort()).toEqual([
      "embedding_model.onnx",
      "melspectrogram.onnx",
    ]);

    const mel = join(home, "models", "speech-embedding", "melspectrogram.onnx");
    const bytes = readFileSync(mel);
    bytes[100] = ((bytes[100] as number) + 1) & 0xff;
    writeFileSync(mel, bytes);
    const bad = await runCli(["models", "verify", "speech-embedding", "--home", home]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      /FAILED speech-embedding[\s\S]*melspectrogram\.onnx: expected sha256 ba2b0e0f/,
    );
    expect(bad.stderr).toMatch(/CHECKSUM_MISMATCH/);
  });
});
