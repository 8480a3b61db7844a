/**
 * @module bench/lib/tfjs-bert
 * The TF.js candidate of the fine-tuning engine bake-off (bench/finetune-engines.ts;
 * the engine chosen is JAX, src/train/encoder/sidecar.ts): a BERT encoder on TensorFlow.js (autodiff by TF.js, no
 * hand-written backprop): one `tf.Variable` per ONNX weight, in the ONNX
 * layout (MatMul weights `[in, out]`), so the forward pass is the ONNX graph's
 * arithmetic op for op — embeddings (word + type + position) → LayerNorm →
 * N × (self-attention with the additive padding mask, residual, LayerNorm,
 * exact-erf GELU feed-forward, residual, LayerNorm). Dropout (attention
 * probabilities and hidden states, as in BERT) runs only when `training`.
 * Weights go back out under their ONNX initializer names
 * ({@link TrainableBert.exportWeights}) — the export seam.
 */
import type * as TF from "@tensorflow/tfjs";
import type { TensorFlow } from "../../src/embed/media/image/tfjs-runtime.js";
import type { BertConfig, OnnxBert } from "../../src/train/encoder/onnx-bert.js";
import { bertRoles } from "../../src/train/encoder/onnx-bert.js";
import type { TokenBatch } from "../../src/train/encoder/sidecar.js";

let nextId = 0;

/** Options of {@link TrainableBert.forward}. */
export interface ForwardOptions {
  /** Apply dropout. @default false */
  readonly training?: boolean;
  /** Dropout rate on hidden states and attention probabilities. @default 0.1 */
  readonly dropout?: number;
  /** Seed of the dropout masks (TF.js draws them from it). */
  readonly seed?: number;
}

/** A BERT encoder whose weights are TF.js variables. */
export interface TrainableBert {
  readonly tf: TensorFlow;
  readonly config: BertConfig;
  /** Variables by structural role (`layer.0.query.weight`…), in {@link bertRoles} order. */
  readonly variables: ReadonlyMap<string, TF.Variable>;
  /** ONNX initializer name of each role. */
  readonly onnxNames: ReadonlyMap<string, string>;
  /** Token states `[batch, tokens, hidden]` (the ONNX `last_hidden_state`). Call inside `tf.tidy`. */
  forward(batch: TokenBatch, options?: ForwardOptions): TF.Tensor3D;
  /** Current weights keyed by ONNX initializer name, in the ONNX layout (the export seam). */
  exportWeights(): Map<string, Float32Array>;
  /** Replace weights from a map keyed by ONNX initializer name (a checkpoint). */
  importWeights(weights: ReadonlyMap<string, Float32Array>): void;
  /** Free the variables. */
  dispose(): void;
}

/** Options of {@link createTrainableBert}. */
export interface TrainableBertOptions {
  /**
   * Train the word-embedding table too. TF.js wasm has no kernel for the
   * gradient of a gather (`UnsortedSegmentSum`), so on wasm the table stays
   * frozen (a common choice for small data sets: it holds half of a small
   * encoder's weights and most rows see no gradient). @default true
   */
  readonly trainWordEmbeddings?: boolean;
}

/** Build the trainable copy of `bert` on `tf`. */
export function createTrainableBert(
  tf: TensorFlow,
  bert: OnnxBert,
  options: TrainableBertOptions = {},
): TrainableBert {
  const trainWords = options.trainWordEmbeddings ?? true;
  const { config } = bert;
  const variables = new Map<string, TF.Variable>();
  const onnxNames = new Map<string, string>();
  for (const role of bertRoles(config.layers)) {
    const weight = bert.weights.get(role);
    if (weight === undefined) throw new Error(`missing weight ${role}`);
    const trainable = role !== "embeddings.word" || trainWords;
    const name = `${role.replaceAll(".", "_")}_${nextId++}`;
    variables.set(role, tf.variable(tf.tensor(weight.values, [...weight.shape]), trainable, name));
    onnxNames.set(role, weight.onnxName);
  }
  const v = (role: string): TF.Variable => variables.get(role) as TF.Variable;
  const headSize = config.hidden / config.heads;
  const scale = Math.sqrt(headSize);

  const layerNorm = (x: TF.Tensor, prefix: string): TF.Tensor => {
    const mean = tf.mean(x, -1, true);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), -1, true);
    const normed = tf.div(centred, tf.sqrt(tf.add(variance, config.layerNormEpsilon)));
    return tf.add(tf.mul(normed, v(`${prefix}.gamma`)), v(`${prefix}.beta`));
  };
  const dense = (x: TF.Tensor, prefix: string): TF.Tensor => {
    const [batch, tokens, inputs] = x.shape as [number, number, number];
    const w = v(`${prefix}.weight`);
    const y = tf.matMul(tf.reshape(x, [batch * tokens, inputs]), w as TF.Tensor2D);
    return tf.add(tf.reshape(y, [batch, tokens, w.shape[1] as number]), v(`${prefix}.bias`));
  };

  return {
    tf,
    config,
    variables,
    onnxNames,
    forward(input, options = {}) {
      const { batch, tokens } = input;
      const training = options.training ?? false;
      const rate = options.dropout ?? 0.1;
      let seed = options.seed ?? 0;
      const drop = (x: TF.Tensor): TF.Tensor =>
        training && rate > 0 ? tf.dropout(x, rate, undefined, seed++) : x;
      const ids = tf.tensor2d(input.inputIds, [batch, tokens], "int32");
      const types = tf.tensor2d(input.tokenTypeIds, [batch, tokens], "int32");
      // Position and type rows by slice and one-hot product (exact, and their
      // gradients need no scatter kernel); word rows by gather.
      const word = tf.gather(v("embeddings.word"), ids);
      const oneHotTypes = tf.oneHot(tf.reshape(types, [batch * tokens]), config.typeVocabSize);
      const type = tf.reshape(tf.matMul(oneHotTypes, v("embeddings.type") as TF.Tensor2D), [
        batch,
        tokens,
        config.hidden,
      ]);
      const position = tf.slice(v("embeddings.position"), [0, 0], [tokens, config.hidden]);
      let hidden = drop(layerNorm(tf.add(tf.add(word, type), position), "embeddings.norm")) as TF.Tensor3D;
      // Additive mask as in the ONNX graph: (1 − mask) · float32 lowest.
      const mask = tf.reshape(tf.tensor2d(input.attentionMask, [batch, tokens], "float32"), [
        batch,
        1,
        1,
        tokens,
      ]);
      const additive = tf.mul(tf.sub(1, mask), -3.4028234663852886e38);
      const split = (x: TF.Tensor): TF.Tensor4D =>
        tf.transpose(tf.reshape(x, [batch, tokens, config.heads, headSize]), [0, 2, 1, 3]);
      for (let layer = 0; layer < config.layers; layer++) {
        const p = `layer.${layer}`;
        const query = split(dense(hidden, `${p}.query`));
        const key = split(dense(hidden, `${p}.key`));
        const value = split(dense(hidden, `${p}.value`));
        const scores = tf.add(tf.div(tf.matMul(query, key, false, true), scale), additive);
        const probabilities = drop(tf.softmax(scores, -1));
        const context = tf.reshape(tf.transpose(tf.matMul(probabilities, value), [0, 2, 1, 3]), [
          batch,
          tokens,
          config.hidden,
        ]);
        const attention = drop(dense(context, `${p}.attention.output`));
        const afterAttention = layerNorm(tf.add(attention, hidden), `${p}.attention.norm`);
        const inner = dense(afterAttention, `${p}.intermediate`);
        const gelu = tf.mul(tf.mul(inner, 0.5), tf.add(1, tf.erf(tf.div(inner, Math.SQRT2))));
        const output = drop(dense(gelu, `${p}.output`));
        hidden = layerNorm(tf.add(output, afterAttention), `${p}.output.norm`) as TF.Tensor3D;
      }
      return hidden;
    },
    exportWeights() {
      const out = new Map<string, Float32Array>();
      for (const [role, variable] of variables)
        out.set(onnxNames.get(role) as string, Float32Array.from(variable.dataSync() as Float32Array));
      return out;
    },
    importWeights(weights) {
      for (const [role, variable] of variables) {
        const values = weights.get(onnxNames.get(role) as string);
        if (values !== undefined) variable.assign(tf.tensor(values, variable.shape));
      }
    },
    dispose() {
      for (const variable of variables.values()) variable.dispose();
    },
  };
}
