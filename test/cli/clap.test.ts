/**
 * CLAP through the CLI: `embed --modality audio -m clap:dir:…`, text with the same
 * model, `index --modality audio` and a text query against that audio collection.
 * The model is the random-weight fixture of scripts/make-tiny-clap.ts (CLAP's real
 * layout and signature, meaningless vectors): the ranking is checked against the
 * library's own cosines, not against any notion of "right".
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyClap } from "../../scripts/make-tiny-clap.js";
import { cosineSimilarity } from "../../src/vectors/math.js";
import { AUDIO_FIXTURES, clip } from "../embed/media/audio-fixtures.js";
import { temporaryFolder } from "../embed/media/image-fixtures.js";
import { runCli } from "./run-cli.js";

interface Line {
  readonly id?: string;
  readonly embedding: number[];
}

function parseLines(text: string): Line[] {
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Line);
}

let folder: string;
let model: string;
let store: string;
const files = [clip("0_george_0"), clip("1_jackson_0"), join(AUDIO_FIXTURES, "clap-tone-48k.wav")];

beforeAll(async () => {
  folder = await temporaryFolder("cli-clap");
  await writeTinyClap(join(folder, "tiny-clap"), { dims: 16, seed: 2 });
  model = `clap:dir:${join(folder, "tiny-clap")}`;
  store = join(folder, "store");
});

afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe("embedkit with a CLAP model", () => {
  it("embeds audio files and texts with the same model into one space, and searches an audio collection by text", async () => {
    const audio = await runCli(["embed", "--modality", "audio", "--model", model, "--quiet", ...files]);
    expect(audio.code, audio.stderr).toBe(0);
    const sounds = parseLines(audio.stdout);
    expect(sounds.map((line) => line.id)).toEqual(files);
    expect(sounds[0]?.embedding).toHaveLength(16);

    const text = await runCli(["embed", "--model", model, "--quiet", "a dog barking"]);
    expect(text.code, text.stderr).toBe(0);
    const [query] = parseLines(text.stdout);
    expect(query?.embedding).toHaveLength(16);

    const indexed = await runCli([
      "index",
      "sounds",
      "--modality",
      "audio",
      "--model",
      model,
      "--store",
      store,
      "--quiet",
      "--json",
      ...files,
    ]);
    expect(indexed.code, indexed.stderr).toBe(0);
    expect(JSON.parse(indexed.stdout)).toMatchObject({ model, total: 3, embedded: 3, count: 3 });

    // A text query: the collection's model name opens CLAP's text side.
    const found = await runCli([
      "search",
      "sounds",
      "a dog barking",
      "--exact",
      "--store",
      store,
      "--quiet",
      "--json",
    ]);
    expect(found.code, found.stderr).toBe(0);
    const { hits } = JSON.parse(found.stdout) as { hits: { id: string; score: number }[] };
    const expected = files
      .map((file, index) => ({
        file,
        score: cosineSimilarity(query?.embedding as number[], sounds[index]?.embedding as number[]),
      }))
      .sort((a, b) => b.score - a.score);
    expect(hits.map((hit) => hit.id)).toEqual(expected.map((item) => item.file));
    expect(hits[0]?.score).toBeCloseTo(expected[0]?.score as number, 4);

    // Search by an example clip works on the same collection.
    const byExample = await runCli([
      "search",
      "sounds",
      "--example",
      files[1] as string,
      "--store",
      store,
      "--quiet",
      "--json",
    ]);
    expect(byExample.code, byExample.stderr).toBe(0);
    expect((JSON.parse(byExample.stdout) as { hits: { id: string }[] }).hits[0]?.id).toBe(files[1]);
  });

  it("refuses a CLAP model for images and a model folder without its files, with the code on stderr", async () => {
    const image = await runCli([
      "embed",
      "--modality",
      "image",
      "--model",
      model,
      "--quiet",
      files[0] as string,
    ]);
    expect(image.code).toBe(1);
    expect(image.stderr).toMatch(/INVALID_OPTION.*audio-text \(CLAP\)/);
    const missing = await runCli([
      "embed",
      "--modality",
      "audio",
      "--model",
      `clap:dir:${join(folder, "nowhere")}`,
      "--quiet",
      files[0] as string,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/FILE_NOT_FOUND.*does not exist/);
  });
});
