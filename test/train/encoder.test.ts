/**
 * The trainable encoder (issue #22): the ONNX → BERT reader, the JAX sidecar's
 * fidelity to the ONNX model (≤ 1e-4 on the reference sentences, token states
 * and pooled vectors), and a tiny end-to-end fine-tuning run that lowers the
 * loss and flips a planted example, and a run resumed from a mid-epoch
 * checkpoint that ends with the uninterrupted run's weights. Real model, real
 * engine (the Python venv is created on first use).
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { loadTextTokenizer } from "../../src/embed/onnx/text-tokenizer.js";
import { EmbedkitError } from "../../src/errors.js";
import { loadOnnxRuntime } from "../../src/internal/load-dependency.js";
import { createModelStore } from "../../src/models/store-impl.js";
import { finetuneClassifier } from "../../src/train/encoder/finetune-classifier.js";
import { parseOnnxBert, readOnnxBert } from "../../src/train/encoder/onnx-bert.js";
import {
  createTrainableEncoder,
  type TokenBatch,
  type TrainableEncoder,
} from "../../src/train/encoder/sidecar.js";
import { clipGradientNorm, clipScale } from "../../src/train/encoder/training-loop.js";
import { createOptimizer } from "../../src/train/optimizers.js";
import { createParameter, type Parameter, zeroGradients } from "../../src/train/parameter.js";
import { PLANTED_NEGATIVE, PLANTED_POSITIVE } from "./finetune/planted-sentiment.js";

// Reference sentences of shared/MODELS.md (sentence-transformers and Xenova model cards) plus a short one.
const SENTENCES = [
  "I love sentence transformers.",
  "This is an example sentence",
  "Each sentence is converted",
  "hi",
];
const store = createModelStore();

function batchOf(rows: readonly (readonly number[])[]): TokenBatch {
  const tokens = Math.max(...rows.map((row) => row.length)) + 3; // padding on every row
  const inputIds = new Int32Array(rows.length * tokens);
  const attentionMask = new Int32Array(rows.length * tokens);
  rows.forEach((row, r) => {
    row.forEach((id, t) => {
      inputIds[r * tokens + t] = id;
      attentionMask[r * tokens + t] = 1;
    });
  });
  return {
    batch: rows.length,
    tokens,
    inputIds,
    attentionMask,
    tokenTypeIds: new Int32Array(rows.length * tokens),
  };
}

describe("readOnnxBert", () => {
  it("reads the architecture and every weight of all-MiniLM-L6-v2 from its ONNX graph", async () => {
    const pulled = await store.ensure("all-minilm-l6-v2");
    const bert = await readOnnxBert(pulled.path("onnx"));
    expect(bert.config).toMatchObject({
      vocabSize: 30522,
      hidden: 384,
      layers: 6,
      heads: 12,
      intermediate: 1536,
    });
    expect(bert.config.layerNormEpsilon).toBeCloseTo(1e-12, 15);
    expect(bert.weights.size).toBe(5 + 6 * 16);
    const query = bert.weights.get("layer.0.query.weight");
    expect(query?.onnxName).toMatch(/^onnx::MatMul_/);
    expect(query?.shape).toEqual([384, 384]);
    expect(bert.weights.get("layer.5.output.norm.beta")?.onnxName).toBe(
      "encoder.layer.5.output.LayerNorm.bias",
    );
  });

  it("refuses a quantized graph and bytes that are not ONNX, naming the file", async () => {
    const quantized = await store.ensure("all-minilm-l6-v2-q");
    const bytes = new Uint8Array(await readFile(quantized.path("onnx")));
    expect(() => parseOnnxBert(bytes, "minilm-q.onnx")).toThrow(/minilm-q\.onnx cannot be fine-tuned/);
    const garbage = () => parseOnnxBert(new TextEncoder().encode("not a model at all"), "junk.onnx");
    expect(garbage).toThrow(EmbedkitError);
    expect(garbage).toThrow(/junk\.onnx cannot be fine-tuned/);
  });
});

describe("trainable encoder (JAX sidecar)", () => {
  let encoder: TrainableEncoder;
  let batch: TokenBatch;
  beforeAll(async () => {
    const pulled = await store.ensure("all-minilm-l6-v2");
    const tokenizer = await loadTextTokenizer(pulled.path("tokenizer"), 256);
    batch = batchOf(SENTENCES.map((text) => tokenizer.encode(text, { truncate: true }).ids));
    encoder = await createTrainableEncoder({ bert: await readOnnxBert(pulled.path("onnx")) });
  });
  afterAll(async () => {
    await encoder?.close();
  });

  it("reproduces the ONNX model's token states and pooled vectors within 1e-4", async () => {
    const pulled = await store.ensure("all-minilm-l6-v2");
    const ort = await loadOnnxRuntime();
    const session = await ort.InferenceSession.create(pulled.path("onnx"));
    const shape = [batch.batch, batch.tokens];
    const int64 = (values: Int32Array) => new ort.Tensor("int64", BigInt64Array.from(values, BigInt), shape);
    const result = await session.run({
      input_ids: int64(batch.inputIds),
      attention_mask: int64(batch.attentionMask),
      token_type_ids: int64(batch.tokenTypeIds),
    });
    const expected = result.last_hidden_state?.data as Float32Array;
    const tokens = await encoder.forward(batch, { output: "tokens" });
    expect(tokens.length).toBe(expected.length);
    let tokenDiff = 0;
    for (let i = 0; i < tokens.length; i++) {
      if (batch.attentionMask[Math.floor(i / 384)] !== 1) continue;
      tokenDiff = Math.max(tokenDiff, Math.abs((tokens[i] as number) - (expected[i] as number)));
    }
    expect(tokenDiff).toBeLessThanOrEqual(1e-4);

    // Pooled + normalized = what embedkit's own embedder returns for the model.
    const pooled = await encoder.forward(batch, { output: "mean" });
    const embedder = await createEmbedder({ model: "all-minilm-l6-v2", store });
    const { vectors } = await embedder.embed(SENTENCES);
    await embedder.close?.();
    let pooledDiff = 0;
    vectors.forEach((vector, row) => {
      const mine = pooled.subarray(row * 384, (row + 1) * 384);
      const norm = Math.hypot(...mine);
      for (let d = 0; d < 384; d++)
        pooledDiff = Math.max(pooledDiff, Math.abs((mine[d] as number) / norm - (vector[d] as number)));
    });
    expect(pooledDiff).toBeLessThanOrEqual(1e-4);
    // Published value (sentence-transformers card): v[0] of "I love sentence transformers."
    expect(vectors[0]?.[0]).toBeCloseTo(-0.0803190097, 3);
  });

  it("returns a gradient for every weight after a training forward", async () => {
    await encoder.forward(batch, { output: "mean", training: true, dropout: 0.1, seed: 1 });
    await encoder.backward(new Float32Array(batch.batch * 384).fill(1));
    for (const name of ["embeddings.word", "layer.0.query.weight", "layer.5.output.norm.gamma"]) {
      const parameter = encoder.parameters.find((p) => p.name === name);
      expect(
        parameter?.grad.some((g) => g !== 0),
        name,
      ).toBe(true);
    }
    const weights = encoder.exportWeights();
    expect(weights.get("encoder.layer.0.attention.self.query.bias")?.length).toBe(384);
  }, 600_000); // the VJP's JIT compile: ~1 min of CPU, several minutes of wall time at load ~25

  it("steps AdamW inside the engine as train's optimizer does on the same gradients (1e-6)", async () => {
    // The TypeScript reference runs on copies of the weights, fed the gradients the engine computes.
    const copies = encoder.parameters.map((parameter) => {
      const copy = createParameter({ name: parameter.name, shape: parameter.shape, decay: parameter.decay });
      copy.value.set(parameter.value);
      return copy;
    });
    const options = { name: "adamw" as const, learningRate: 1e-3, weightDecay: 0.05 };
    const reference = createOptimizer(copies, options);
    const engine = await encoder.engineOptimizer(options);
    expect(engine?.name).toBe("adamw");
    const dy = Float32Array.from({ length: batch.batch * 384 }, (_, i) => Math.sin(i));
    const clipNorm = 1;
    for (let step = 0; step < 3; step++) {
      const forward = { output: "mean" as const, training: true, dropout: 0, seed: step };
      zeroGradients(encoder.parameters);
      await encoder.forward(batch, forward);
      await encoder.backward(dy); // the gradients into TypeScript…
      await encoder.forward(batch, forward);
      const squares = await encoder.backwardInEngine(dy); // …and the same ones kept in the engine
      copies.forEach((copy, index) => {
        copy.grad.set((encoder.parameters[index] as Parameter).grad);
      });
      const norm = clipGradientNorm(copies, clipNorm); // clips the copies' gradients
      expect(Math.sqrt(squares)).toBeCloseTo(norm, 3);
      expect(norm).toBeGreaterThan(clipNorm); // so the clipping scale is exercised
      reference.learningRate = 1e-3 * (step + 1);
      reference.step();
      await engine?.step(1e-3 * (step + 1), clipScale(norm, clipNorm));
    }
    await encoder.pull();
    let worst = 0;
    encoder.parameters.forEach((parameter, index) => {
      const expected = (copies[index] as Parameter).value;
      for (let i = 0; i < expected.length; i++) {
        const e = expected[i] as number;
        worst = Math.max(worst, Math.abs((parameter.value[i] as number) - e) / Math.max(1, Math.abs(e)));
      }
    });
    expect(worst).toBeLessThanOrEqual(1e-6);
    const query = encoder.parameters.find((p) => p.name === "layer.0.query.weight") as Parameter;
    const before = (await readOnnxBert((await store.ensure("all-minilm-l6-v2")).path("onnx"))).weights.get(
      "layer.0.query.weight",
    )?.values as Float32Array;
    let change = 0;
    for (let i = 0; i < query.value.length; i++)
      change = Math.max(change, Math.abs((query.value[i] as number) - (before[i] as number)));
    expect(change).toBeGreaterThan(1e-3); // three real steps, not a no-op
    // The state round-trips with train's names and values (checkpoints of either path resume the other).
    const state = await engine?.exportState();
    const expectedState = reference.exportState();
    expect(state?.steps).toBe(3);
    let stateDiff = 0;
    for (const [name, values] of expectedState.tensors) {
      const mine = state?.tensors.get(name) as Float32Array;
      expect(mine?.length, name).toBe(values.length);
      for (let i = 0; i < values.length; i += 97)
        stateDiff = Math.max(
          stateDiff,
          Math.abs((mine[i] as number) - (values[i] as number)) /
            Math.max(1e-6, Math.abs(values[i] as number)),
        );
    }
    expect(stateDiff).toBeLessThanOrEqual(1e-4);
    await engine?.importState(expectedState);
    expect((await engine?.exportState())?.tensors.get("layer.0.query.weight.m")).toEqual(
      expectedState.tensors.get("layer.0.query.weight.m"),
    );
  }, 600_000); // six forward/backward passes and the update's JIT compile
});

describe("finetuneClassifier", () => {
  it("lowers the loss and flips a planted example", async () => {
    const positive = PLANTED_POSITIVE;
    const negative = PLANTED_NEGATIVE;
    const texts = [...positive, ...negative];
    const labels = [...positive.map(() => "pos"), ...negative.map(() => "neg")];
    const result = await finetuneClassifier({
      store,
      model: "all-minilm-l6-v2",
      texts,
      labels,
      validationSplit: 0,
      epochs: 6,
      batchSize: 12,
      maxTokens: 16,
      optimizer: { name: "adamw", learningRate: 2e-4, weightDecay: 0.01 },
      schedule: { name: "constant" },
      dropout: 0,
      probes: ["snorkel"],
    });
    const losses = result.history.map((epoch) => epoch.trainLoss);
    expect(losses.at(-1)).toBeLessThan((losses[0] as number) * 0.5);
    expect(result.probes?.before[0]?.label).toBe("neg");
    expect(result.probes?.after[0]?.label).toBe("pos");
    expect(result.encoderWeights.get("embeddings.word_embeddings.weight")?.length).toBe(30522 * 384);
  }, 900_000); // ~30 s of CPU; minutes of wall time on a loaded 2-core machine (JIT compile + steps)

  it("resumes from a mid-epoch checkpoint and ends with the uninterrupted run's weights", async () => {
    const dir = await mkdtemp(join(tmpdir(), "embedkit-ft-resume-"));
    try {
      const texts = [
        "a wonderful day",
        "great fun",
        "lovely and warm",
        "happy news",
        "a terrible day",
        "awful mess",
      ];
      const labels = ["pos", "pos", "pos", "neg", "neg", "neg"];
      const options = {
        store,
        model: "all-minilm-l6-v2",
        texts,
        labels,
        validationSplit: 0,
        epochs: 2,
        batchSize: 2, // 3 steps per epoch
        maxTokens: 16,
        optimizer: { name: "adamw" as const, learningRate: 1e-4, weightDecay: 0.01 },
        schedule: { name: "linear" as const, warmup: 1 },
        dropout: 0.1, // dropout seeds must be replayed too
        checkpointDir: join(dir, "checkpoints"),
        checkpointEvery: 2,
        checkpointKeep: 10,
      };
      const uninterrupted = await finetuneClassifier(options);
      // "Kill" the run after step 2 (epoch 1, batch 2): only that checkpoint is left.
      const files = (await readdir(options.checkpointDir)).sort();
      expect(files).toContain("step-000000000002.ckpt");
      for (const file of files)
        if (file !== "step-000000000002.ckpt") await rm(join(options.checkpointDir, file));
      const logs: string[] = [];
      const resumed = await finetuneClassifier({
        ...options,
        resume: true,
        onLog: (line) => logs.push(line),
      });
      expect(logs.join("\n")).toMatch(/Resumed from .*step-000000000002\.ckpt: step 2, epoch 1, batch 2/);
      expect(resumed.steps).toBe(uninterrupted.steps);
      let largest = 0;
      for (const [name, values] of uninterrupted.encoderWeights) {
        const other = resumed.encoderWeights.get(name) as Float32Array;
        for (let i = 0; i < values.length; i++)
          largest = Math.max(largest, Math.abs((values[i] as number) - (other[i] as number)));
      }
      const head = resumed.classifier.model.parameters();
      uninterrupted.classifier.model.parameters().forEach((parameter, index) => {
        const other = head[index]?.value as Float32Array;
        for (let i = 0; i < parameter.value.length; i++)
          largest = Math.max(largest, Math.abs((parameter.value[i] as number) - (other[i] as number)));
      });
      expect(largest).toBeLessThanOrEqual(1e-6);
      expect(resumed.history.map((epoch) => epoch.trainLoss)).toEqual(
        uninterrupted.history.map((epoch) => expect.closeTo(epoch.trainLoss, 6)),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 900_000); // two tiny runs: ~40 s of CPU; minutes of wall time on a loaded 2-core machine

  it("refuses bad input before starting the engine", async () => {
    const base = { store, texts: ["good", "bad"], labels: ["pos", "neg"], validationSplit: 0 };
    await expect(finetuneClassifier({ ...base, labels: ["pos", "pos"] })).rejects.toThrow(
      /at least two classes/,
    );
    await expect(finetuneClassifier({ ...base, texts: ["good", "  "] })).rejects.toThrow(/text 2 is empty/);
    await expect(
      finetuneClassifier({ ...base, validation: { texts: ["meh"], labels: ["neutral"] } }),
    ).rejects.toThrow(/"neutral" \(validation data:1\)/);
    await expect(
      finetuneClassifier({
        ...base,
        texts: ["good ".repeat(40), "bad"],
        maxTokens: 8,
        onLong: "refuse",
        dataPath: "train.csv",
        lines: [2, 3],
      }),
    ).rejects.toThrow(/train\.csv:2: the text has 42 tokens/);
    // 4 GiB cannot hold a batch of 1024 at 16 tokens (the engine's measured constants, ~1.3 GiB
    // fixed + ~4 MiB per sequence): refused with the largest batch size that fits.
    await expect(
      finetuneClassifier({ ...base, batchSize: 1024, availableMemory: 4 * 1024 ** 3 }),
    ).rejects.toThrow(/The largest batch size that fits is \d+ \(--batch-size \d+\)/);
  });
});
