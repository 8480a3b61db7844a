/**
 * Fine-tuning engine bake-off (issue #22): TensorFlow.js backends in Node on
 * the trainable all-MiniLM-L6-v2 copy — fidelity against onnxruntime on the
 * reference sentences and one fwd+bwd training step at batch 32 × 64 tokens.
 * The Python candidates are measured by bench/python/finetune_engines.py.
 *
 *   EMBEDKIT_HOME=<model cache> npx tsx bench/finetune-engines.ts [cpu|wasm ...] [--steps 2]
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { loadTensorFlow, type TfjsBackend } from "../src/embed/media/image/tfjs-runtime.js";
import { loadTextTokenizer } from "../src/embed/onnx/text-tokenizer.js";
import { loadOnnxRuntime } from "../src/internal/load-dependency.js";
import { createModelStore } from "../src/models/index.js";
import { readOnnxBert } from "../src/train/encoder/onnx-bert.js";
import type { TokenBatch } from "../src/train/encoder/sidecar.js";
import { createTrainableBert } from "./lib/tfjs-bert.js";

const SENTENCES = [
  "I love sentence transformers.",
  "This is an example sentence",
  "Each sentence is converted",
  "hi",
];
const args = process.argv.slice(2);
const stepsAt = args.indexOf("--steps");
const steps = stepsAt >= 0 ? Number(args[stepsAt + 1]) : 2;
const backends = args.filter(
  (a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"),
) as TfjsBackend[];

const pulled = await createModelStore().ensure("all-minilm-l6-v2");
const tokenizer = await loadTextTokenizer(pulled.path("tokenizer"), 256);
const bert = await readOnnxBert(pulled.path("onnx"));

function batchOf(rows: number[][]): TokenBatch {
  const tokens = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * tokens);
  const mask = new Int32Array(rows.length * tokens);
  rows.forEach((r, i) => {
    r.forEach((id, j) => {
      ids[i * tokens + j] = id;
      mask[i * tokens + j] = 1;
    });
  });
  return {
    batch: rows.length,
    tokens,
    inputIds: ids,
    attentionMask: mask,
    tokenTypeIds: new Int32Array(rows.length * tokens),
  };
}
const reference = batchOf(SENTENCES.map((s) => [...tokenizer.encode(s, { truncate: true }).ids]));

// onnxruntime reference
const ort = await loadOnnxRuntime();
const session = await ort.InferenceSession.create(pulled.path("onnx"));
const feeds = {
  input_ids: new ort.Tensor("int64", BigInt64Array.from(reference.inputIds, BigInt), [
    reference.batch,
    reference.tokens,
  ]),
  attention_mask: new ort.Tensor("int64", BigInt64Array.from(reference.attentionMask, BigInt), [
    reference.batch,
    reference.tokens,
  ]),
  token_type_ids: new ort.Tensor("int64", BigInt64Array.from(reference.tokenTypeIds, BigInt), [
    reference.batch,
    reference.tokens,
  ]),
};
const ortHidden = (await session.run(feeds)).last_hidden_state?.data as Float32Array;
const dumpAt = args.indexOf("--dump");
if (dumpAt >= 0) {
  // reference for bench/python/finetune_engines.py
  const rows = (a: Int32Array) =>
    Array.from({ length: reference.batch }, (_, b) =>
      Array.from(a.subarray(b * reference.tokens, (b + 1) * reference.tokens)),
    );
  writeFileSync(
    args[dumpAt + 1] as string,
    JSON.stringify({
      ids: rows(reference.inputIds),
      mask: rows(reference.attentionMask),
      hidden: Array.from(ortHidden),
    }),
  );
  console.log(`reference written; onnx ${pulled.path("onnx")}`);
  process.exit(0);
}

function meanPool(hidden: Float32Array, batch: TokenBatch, dims: number): Float32Array {
  const out = new Float32Array(batch.batch * dims);
  for (let b = 0; b < batch.batch; b++) {
    let n = 0;
    for (let t = 0; t < batch.tokens; t++) {
      if (!batch.attentionMask[b * batch.tokens + t]) continue;
      n++;
      for (let d = 0; d < dims; d++)
        out[b * dims + d] =
          (out[b * dims + d] as number) + (hidden[(b * batch.tokens + t) * dims + d] as number);
    }
    for (let d = 0; d < dims; d++) out[b * dims + d] = (out[b * dims + d] as number) / n;
  }
  return out;
}
function maxDiff(a: Float32Array, b: Float32Array, mask?: (i: number) => boolean): number {
  let m = 0;
  for (let i = 0; i < a.length; i++)
    if (!mask || mask(i)) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

console.log(
  `cpus ${cpus().length} × ${cpus()[0]?.model}; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
for (const backend of backends.length ? backends : (["wasm", "cpu"] as TfjsBackend[])) {
  const tf = await loadTensorFlow(backend);
  const model = createTrainableBert(tf, bert, { trainWordEmbeddings: backend !== "wasm" });
  const hidden = tf.tidy(() => model.forward(reference)).dataSync() as Float32Array;
  const dims = bert.config.hidden;
  const tokenDiff = maxDiff(hidden, ortHidden, (i) => reference.attentionMask[Math.floor(i / dims)] === 1);
  const pooledDiff = maxDiff(meanPool(hidden, reference, dims), meanPool(ortHidden, reference, dims));
  // one training step: batch 32 × 64 tokens, a linear head + softmax cross-entropy
  const B = 32,
    T = 64;
  const ids = new Int32Array(B * T).map((_, i) =>
    i % T === 0 ? 101 : i % T === T - 1 ? 102 : 1000 + ((i * 7919) % 20000),
  );
  const train: TokenBatch = {
    batch: B,
    tokens: T,
    inputIds: ids,
    attentionMask: new Int32Array(B * T).fill(1),
    tokenTypeIds: new Int32Array(B * T),
  };
  const head = tf.variable(tf.randomNormal([dims, 2], 0, 0.02, "float32", 1));
  const labels = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: B }, (_, i) => i % 2),
      "int32",
    ),
    2,
  );
  const times: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const start = performance.now();
    const { value, grads } = tf.variableGrads(() => {
      const h = model.forward(train, { training: true, seed: s });
      const pooled = tf.mean(h, 1);
      return tf.losses.softmaxCrossEntropy(
        labels,
        tf.matMul(pooled, head),
      ) as import("@tensorflow/tfjs").Scalar;
    });
    await value.data();
    for (const g of Object.values(grads)) g.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
    if (s > 0) times.push(performance.now() - start); // step 0 is warm-up
  }
  const seconds = times.reduce((a, b) => a + b, 0) / times.length / 1000;
  console.log(
    JSON.stringify({
      engine: `tfjs-${backend}`,
      tokenDiff,
      pooledDiff,
      stepSeconds: +seconds.toFixed(2),
      tokensPerSecond: +((B * T) / seconds).toFixed(0),
      load: loadavg()[0]?.toFixed(2),
    }),
  );
  model.dispose();
  head.dispose();
}
