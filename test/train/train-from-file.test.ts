/**
 * The training workflows as library calls, on the committed fixtures and the
 * real all-MiniLM-L6-v2 model: read → embed → train → save, progress through
 * callbacks, and bad files refused before the embedder is opened or anything
 * is written.
 */
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Embedder } from "../../src/embed/embedder.js";
import { createEmbedder } from "../../src/embed/index.js";
import { EmbedkitError } from "../../src/errors.js";
import {
  type EpochReport,
  loadAdapter,
  loadClassifier,
  trainAdapterFromFile,
  trainClassifierFromFile,
} from "../../src/train/index.js";

const fixtures = new URL("../fixtures/train/", import.meta.url).pathname;
const MODEL = "all-minilm-l6-v2";
let dir: string;
let embedder: Embedder;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-train-from-file-"));
  embedder = await createEmbedder({ model: MODEL });
});
afterAll(async () => {
  await embedder?.close();
  await rm(dir, { recursive: true, force: true });
});

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe("trainClassifierFromFile", () => {
  it("embeds a labelled file, trains, saves the head and a report, and reports progress", async () => {
    const out = join(dir, "clf");
    const epochs: EpochReport[] = [];
    const progress: Array<{ done: number; total: number; model: string }> = [];
    let opened = 0;
    const result = await trainClassifierFromFile({
      data: join(fixtures, "sentiment.csv"),
      embedder: async () => {
        opened += 1;
        return createEmbedder({ model: MODEL });
      },
      out,
      cache: false,
      learningRate: 0.05,
      schedule: "cosine",
      warmup: 0.1,
      epochs: 12,
      validationShare: 0.25,
      augment: ["deletion", "swap"],
      onEpoch: (report) => epochs.push(report),
      onEmbedProgress: (report) => progress.push({ ...report }),
    });
    expect(opened).toBe(1);
    expect(result.model).toBe(MODEL);
    expect(result.classes).toEqual(["negative", "positive"]);
    expect(result.epochs).toBe(12);
    expect(epochs.map((report) => report.epoch)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    // 16 rows: 4 held out (stratified), 12 trained on plus their augmented copies (a copy
    // identical to its original is dropped, so up to 12).
    expect(result.validationRows).toBe(4);
    expect(result.augmentedRows).toBeGreaterThan(0);
    expect(result.augmentedRows).toBeLessThanOrEqual(12);
    expect(result.trainRows).toBe(12 + result.augmentedRows);
    expect(result.metric).toBe("accuracy");
    expect(result.validationMetric).toBeGreaterThanOrEqual(0.75);
    expect(progress.at(-1)).toMatchObject({ model: MODEL, total: result.trainRows + result.validationRows });
    expect(progress.at(-1)?.done).toBe(progress.at(-1)?.total);
    expect(result.report).toBe(join(out, "report.html"));
    expect(await readFile(result.report, "utf8")).toMatch(/<svg[^>]*aria-label="Loss"/);

    const loaded = await loadClassifier(out);
    expect(loaded.classes).toEqual(["negative", "positive"]);
    const { vectors } = await embedder.embed([
      "a truly wonderful and moving film",
      "a dull, tedious and awful movie",
    ]);
    expect(loaded.predict(vectors).map((prediction) => prediction.label)).toEqual(["positive", "negative"]);
  });

  it("refuses a one-label file and a row without a label before opening the embedder; writes nothing", async () => {
    let opened = 0;
    const opener = async (): Promise<Embedder> => {
      opened += 1;
      return createEmbedder({ model: MODEL });
    };
    const single = join(dir, "single.csv");
    await writeFile(single, "text,label\nfoo,a\nbar,a\n");
    const out = join(dir, "never");
    await expect(trainClassifierFromFile({ data: single, embedder: opener, out })).rejects.toThrow(
      /only one label/,
    );
    const missing = join(dir, "missing.csv");
    await writeFile(missing, "text,label\nfoo,a\nbar,\nbaz,b\n");
    await expect(trainClassifierFromFile({ data: missing, embedder: opener, out })).rejects.toThrow(
      /row 2 has no value in the label column "label"/,
    );
    await expect(
      trainClassifierFromFile({ data: join(dir, "absent.csv"), embedder: opener, out }),
    ).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
    await expect(
      trainClassifierFromFile({
        data: join(fixtures, "sentiment.csv"),
        embedder: opener,
        out,
        validationShare: 1,
      }),
    ).rejects.toThrow(EmbedkitError);
    expect(opened).toBe(0);
    expect(await exists(out)).toBe(false);
  });

  it("leaves an embedder passed directly open, and uses a separate validation file", async () => {
    const out = join(dir, "clf-val");
    const result = await trainClassifierFromFile({
      data: join(fixtures, "sentiment.csv"),
      validationData: join(fixtures, "sentiment.csv"),
      embedder,
      out,
      report: join(dir, "clf-val.html"),
      epochs: 3,
      metric: "macro-f1",
    });
    expect(result.validationRows).toBe(16);
    expect(result.trainRows).toBe(16);
    expect(result.metric).toBe("macro-F1");
    expect(await exists(join(dir, "clf-val.html"))).toBe(true);
    // Still open: the caller owns it.
    expect((await embedder.embed(["still open"])).vectors).toHaveLength(1);
  });
});

describe("trainAdapterFromFile", () => {
  it("trains on pairs and measures validation nDCG@10 before and after", async () => {
    const out = join(dir, "adapter");
    const epochs: EpochReport[] = [];
    const result = await trainAdapterFromFile({
      data: join(fixtures, "pairs.csv"),
      embedder,
      out,
      epochs: 5,
      batchSize: 4,
      validationShare: 0.2,
      onEpoch: (report) => epochs.push(report),
    });
    expect(result).toMatchObject({ model: MODEL, trainPairs: 8, validationPairs: 2 });
    expect(epochs).toHaveLength(5);
    expect(result.validationNdcgBefore).toBeGreaterThan(0);
    expect(result.validationNdcgAfter).toBeGreaterThan(0);
    const loaded = await loadAdapter(out);
    expect(loaded.embedding).toEqual({ modelId: MODEL, dims: 384 });
    expect(
      loaded.apply([(await embedder.embed(["reset password"])).vectors[0] as Float32Array])[0],
    ).toHaveLength(384);
    expect(JSON.parse(await readFile(join(out, "model.json"), "utf8")).kind).toBe("adapter");
  });

  it("refuses fewer than 4 pairs and a pair without a positive", async () => {
    const few = join(dir, "few.csv");
    await writeFile(few, "query,positive\na,b\nc,d\n");
    await expect(trainAdapterFromFile({ data: few, embedder, out: join(dir, "a1") })).rejects.toThrow(
      /has 2 pairs; an adapter needs at least 4/,
    );
    const gap = join(dir, "gap.csv");
    await writeFile(gap, "query,positive\na,b\nc,\ne,f\ng,h\n");
    await expect(trainAdapterFromFile({ data: gap, embedder, out: join(dir, "a2") })).rejects.toThrow(
      /row 2 has no positive text in column "positive"/,
    );
    expect(await exists(join(dir, "a1"))).toBe(false);
  });
});
