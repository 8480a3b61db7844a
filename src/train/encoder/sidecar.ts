/**
 * @module train/encoder/sidecar
 * The trainable encoder: a BERT copy held by a Python/JAX child process
 * (`python/finetune/sidecar.py`), started and stopped here. The engine choice
 * (JAX over TF.js, torch and onnxruntime-training) and its measurements are in
 * docs/ARCHITECTURE.md "Fine-tuning engine".
 *
 * The child only does the encoder's arithmetic and its autodiff: `forward`
 * returns pooled (or token) states and keeps the vector–Jacobian product,
 * `backward(dy)` returns the gradient of every weight. The weights' truth stays
 * in TypeScript as `train` {@link Parameter}s, so the existing optimizers,
 * schedules and checkpoints apply unchanged; after each optimizer step the
 * values are sent back with `sync()`. Messages are one JSON line plus raw
 * little-endian bytes on stdin/stdout.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { EmbedkitError } from "../../errors.js";
import { createParameter, type Parameter } from "../parameter.js";
import { type BertConfig, bertRoles, type OnnxBert } from "./onnx-bert.js";
import { ensureSidecarEnvironment, type SidecarEnvironmentOptions } from "./python-env.js";

/** A batch of tokenized inputs, `[batch, tokens]` row-major. */
export interface TokenBatch {
  readonly batch: number;
  readonly tokens: number;
  readonly inputIds: Int32Array;
  readonly attentionMask: Int32Array;
  readonly tokenTypeIds: Int32Array;
}

/** What {@link TrainableEncoder.forward} returns per row. */
export type EncoderOutput = "mean" | "cls" | "tokens";

/** Options of {@link TrainableEncoder.forward}. */
export interface EncoderForwardOptions {
  /** Pooled vector (`mean` over the mask, `cls`) or every token state. @default "mean" */
  readonly output?: EncoderOutput;
  /** Apply dropout and keep what `backward` needs. @default false */
  readonly training?: boolean;
  /** Dropout rate (hidden states and attention probabilities, as in BERT). @default 0.1 */
  readonly dropout?: number;
  /** Seed of this call's dropout masks. @default 0 */
  readonly seed?: number;
}

/** A BERT encoder being trained. */
export interface TrainableEncoder {
  readonly config: BertConfig;
  /** One parameter per weight (name = structural role), values = the current weights. */
  readonly parameters: readonly Parameter[];
  /** ONNX initializer name of each parameter, by parameter name. */
  readonly onnxNames: ReadonlyMap<string, string>;
  /** Pooled `[batch, hidden]` or token `[batch, tokens, hidden]` states, row-major. */
  forward(batch: TokenBatch, options?: EncoderForwardOptions): Promise<Float32Array>;
  /** Add the gradient of `Σ output·gradOutput` to every parameter's `grad` (after a training forward). */
  backward(gradOutput: Float32Array): Promise<void>;
  /** Send the parameters' current values to the engine (after an optimizer step or a restore). */
  sync(): Promise<void>;
  /** Current weights keyed by ONNX initializer name, ONNX layout: the export seam (docs/FINETUNE-SEAM.md). */
  exportWeights(): Map<string, Float32Array>;
  /** Stop the child process. */
  close(): Promise<void>;
}

/** Options of {@link createTrainableEncoder}. */
export interface TrainableEncoderOptions extends SidecarEnvironmentOptions {
  /** The encoder read from its ONNX file (`readOnnxBert`). */
  readonly bert: OnnxBert;
}

interface Reply {
  readonly header: Record<string, unknown>;
  readonly payload: Buffer;
}

/** A JSON-lines + bytes channel to the child. */
function channel(child: ChildProcessWithoutNullStreams, stderr: () => string) {
  // Received bytes as a list of chunks: joined only when a whole reply is there
  // (joining on every chunk would copy a 90 MB gradient payload ~1,400 times).
  let chunks: Buffer[] = [];
  let length = 0;
  let waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  let pendingHeader: Record<string, unknown> | undefined;
  let failure: Error | undefined;
  const joined = (): Buffer => {
    if (chunks.length !== 1) chunks = [Buffer.concat(chunks, length)];
    return chunks[0] as Buffer;
  };
  const consume = (bytes: number): Buffer => {
    const all = joined();
    chunks = [all.subarray(bytes)];
    length -= bytes;
    return all.subarray(0, bytes);
  };
  const pump = (): void => {
    for (;;) {
      if (pendingHeader === undefined) {
        const newline = joined().indexOf(10);
        if (newline < 0) return;
        pendingHeader = JSON.parse(consume(newline + 1).toString("utf8")) as Record<string, unknown>;
      }
      const size = Number(pendingHeader.bytes ?? 0);
      if (length < size) return;
      const reply = { header: pendingHeader, payload: Buffer.from(consume(size)) };
      pendingHeader = undefined;
      const current = waiting;
      waiting = undefined;
      if (current === undefined) continue;
      if (reply.header.ok === true) current.resolve(reply);
      else current.reject(engineError(String(reply.header.error)));
    }
  };
  const engineError = (message: string): EmbedkitError =>
    new EmbedkitError("INFERENCE_FAILED", `The fine-tuning engine failed: ${message}`, {
      details: { stderr: stderr().slice(-2000) },
    });
  child.stdout.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
    if (pendingHeader === undefined || length >= Number(pendingHeader.bytes ?? 0)) pump();
  });
  child.on("exit", (code, signal) => {
    failure = engineError(
      `the Python process exited (code ${code}, signal ${signal}). ${stderr().slice(-2000)}`,
    );
    waiting?.reject(failure);
    waiting = undefined;
  });
  // Reads the greeting line the child writes first.
  const next = (): Promise<Reply> =>
    new Promise((resolve, reject) => {
      if (failure) reject(failure);
      else waiting = { resolve, reject };
      pump();
    });
  let queue: Promise<unknown> = Promise.resolve();
  const request = (header: Record<string, unknown>, payload?: Uint8Array): Promise<Reply> => {
    const result = queue.then(() => {
      if (failure) throw failure;
      const reply = next();
      child.stdin.write(`${JSON.stringify({ ...header, bytes: payload?.byteLength ?? 0 })}\n`);
      if (payload !== undefined && payload.byteLength > 0) child.stdin.write(payload);
      return reply;
    });
    queue = result.catch(() => undefined);
    return result;
  };
  return { next, request };
}

function bytesOf(array: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function floatsOf(buffer: Buffer): Float32Array {
  const copy = new Uint8Array(buffer); // aligned
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

/**
 * Start the engine process with `bert`'s weights (creating the Python
 * environment on first use).
 * @throws EmbedkitError DEPENDENCY_MISSING without a usable Python; INFERENCE_FAILED when the engine does not start
 */
export async function createTrainableEncoder(options: TrainableEncoderOptions): Promise<TrainableEncoder> {
  const { bert } = options;
  const environment = await ensureSidecarEnvironment(options);
  const child = spawn(environment.python, [environment.script], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, JAX_PLATFORMS: "cpu", PYTHONUNBUFFERED: "1" },
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-20_000);
  });
  child.stdin.on("error", () => undefined); // a dead child is reported through "exit"
  const io = channel(child, () => stderr);
  await io.next(); // greeting

  const roles = bertRoles(bert.config.layers);
  const onnxNames = new Map<string, string>();
  const parameters = roles.map((role) => {
    const weight = bert.weights.get(role);
    if (weight === undefined) throw new EmbedkitError("INTERNAL", `The encoder has no ${role} weight.`);
    onnxNames.set(role, weight.onnxName);
    const parameter = createParameter({
      name: role,
      shape: weight.shape,
      // As in BERT fine-tuning recipes: no weight decay on biases and LayerNorm.
      decay: role.endsWith(".weight") || role === "embeddings.word" || role === "embeddings.position",
    });
    parameter.value.set(weight.values);
    return parameter;
  });
  const total = parameters.reduce((sum, parameter) => sum + parameter.value.length, 0);
  const packValues = (): Uint8Array => {
    const flat = new Float32Array(total);
    let offset = 0;
    for (const parameter of parameters) {
      flat.set(parameter.value, offset);
      offset += parameter.value.length;
    }
    return bytesOf(flat);
  };
  const roleList = parameters.map((parameter) => ({ role: parameter.name, shape: parameter.shape }));
  await io.request({ op: "init", config: bert.config, roles: roleList }, packValues());
  let outputShape: number[] | undefined;

  return {
    config: bert.config,
    parameters,
    onnxNames,
    async forward(batch, forwardOptions = {}) {
      const size = batch.batch * batch.tokens;
      const ids = new Int32Array(size * 3);
      ids.set(batch.inputIds, 0);
      ids.set(batch.attentionMask, size);
      ids.set(batch.tokenTypeIds, size * 2);
      const reply = await io.request(
        {
          op: "forward",
          batch: batch.batch,
          tokens: batch.tokens,
          output: forwardOptions.output ?? "mean",
          training: forwardOptions.training ?? false,
          dropout: forwardOptions.dropout ?? 0.1,
          seed: forwardOptions.seed ?? 0,
        },
        bytesOf(ids),
      );
      outputShape = reply.header.shape as number[];
      return floatsOf(reply.payload);
    },
    async backward(gradOutput) {
      if (outputShape === undefined)
        throw new EmbedkitError("INTERNAL", "backward() before a training forward().");
      const reply = await io.request({ op: "backward", shape: outputShape }, bytesOf(gradOutput));
      const grads = floatsOf(reply.payload);
      let offset = 0;
      for (const parameter of parameters) {
        const { grad } = parameter;
        for (let i = 0; i < grad.length; i++) grad[i] = (grad[i] as number) + (grads[offset + i] as number);
        offset += grad.length;
      }
    },
    async sync() {
      await io.request({ op: "set" }, packValues());
    },
    exportWeights() {
      const out = new Map<string, Float32Array>();
      for (const parameter of parameters)
        out.set(onnxNames.get(parameter.name) as string, parameter.value.slice());
      return out;
    },
    async close() {
      if (child.exitCode !== null) return;
      await io.request({ op: "close" }).catch(() => undefined);
      child.kill();
    },
  };
}
