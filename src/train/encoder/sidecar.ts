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
 * values are sent back with `sync()`. For Adam and AdamW the weights, the
 * gradients and the optimizer state can instead stay in the engine
 * ({@link TrainableEncoder.engineOptimizer}): a step then exchanges only token
 * ids, the output and its gradient, and the gradient's squared norm; weights
 * come back with `pull()` for checkpoints, snapshots and export. Messages are
 * one JSON line plus raw little-endian bytes on stdin/stdout.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { EmbedkitError } from "../../errors.js";
import { createOptimizer, type OptimizerOptions, type OptimizerState } from "../optimizers.js";
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
  /**
   * Like `backward`, but the gradients stay in the engine for {@link EngineOptimizer.step}
   * (nothing is added to `parameters[].grad`); returns their sum of squares (for global-norm clipping).
   */
  backwardInEngine(gradOutput: Float32Array): Promise<number>;
  /**
   * An optimizer whose state lives in the engine with the weights (Adam, AdamW: the update
   * rule of `train/optimizers`, jitted); `undefined` for the other optimizers. Replaces any
   * earlier one (fresh state).
   * @throws EmbedkitError INVALID_OPTION for settings `createOptimizer` refuses
   */
  engineOptimizer(options: OptimizerOptions): Promise<EngineOptimizer | undefined>;
  /** Copy the engine's weights into `parameters[].value` (after engine-side steps). */
  pull(): Promise<void>;
  /** The engine process's peak RSS and seconds per operation so far. */
  stats(): Promise<EngineStats>;
  /** Stop the child process. */
  close(): Promise<void>;
}

/** An optimizer stepping the weights inside the engine (see {@link TrainableEncoder.engineOptimizer}). */
export interface EngineOptimizer {
  readonly name: "adam" | "adamw";
  /** Steps taken. */
  readonly steps: number;
  /** One update from the gradients of the last `backwardInEngine`, multiplied by `gradientScale` (clipping). */
  step(learningRate: number, gradientScale: number): Promise<void>;
  /** Step count and `<parameter name>.m` / `.v` / `.vmax` buffers, as `Optimizer.exportState`. */
  exportState(): Promise<OptimizerState>;
  /**
   * Restore what {@link EngineOptimizer.exportState} (or `Optimizer.exportState` of the same
   * optimizer over the encoder's parameters) returned.
   * @throws EmbedkitError INVALID_INPUT naming a missing buffer or a wrong length
   */
  importState(state: OptimizerState): Promise<void>;
}

/** What the engine process reports about itself. */
export interface EngineStats {
  /** Peak resident set size of the Python process, bytes. */
  readonly peakRss: number;
  /** CPU seconds of the Python process (all threads). */
  readonly cpuSeconds: number;
  /** Seconds spent per request kind inside the engine (compute, compile, packing), and counts. */
  readonly ops: Readonly<Record<string, { readonly count: number; readonly seconds: number }>>;
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
    env: {
      ...process.env,
      JAX_PLATFORMS: "cpu",
      PYTHONUNBUFFERED: "1",
      EMBEDKIT_JAX_CACHE: environment.compileCache,
    },
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
  /** Arrays of one length per parameter, concatenated in parameter order. */
  const pack = (parts: readonly (readonly Float32Array[])[]): Uint8Array => {
    const flat = new Float32Array(total * parts.length);
    let offset = 0;
    for (const arrays of parts)
      for (const values of arrays) {
        flat.set(values, offset);
        offset += values.length;
      }
    return bytesOf(flat);
  };
  const packValues = (): Uint8Array => pack([parameters.map((parameter) => parameter.value)]);
  /** Splits a payload of `parts` concatenated parameter-shaped blocks. */
  const unpack = (payload: Buffer, parts: number): Float32Array[][] => {
    const flat = floatsOf(payload);
    if (flat.length !== total * parts)
      throw new EmbedkitError(
        "INTERNAL",
        `The engine sent ${flat.length} values, expected ${total * parts}.`,
      );
    let offset = 0;
    return Array.from({ length: parts }, () =>
      parameters.map((parameter) => {
        const values = flat.subarray(offset, offset + parameter.value.length);
        offset += parameter.value.length;
        return values;
      }),
    );
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
    async backwardInEngine(gradOutput) {
      if (outputShape === undefined)
        throw new EmbedkitError("INTERNAL", "backwardInEngine() before a training forward().");
      const reply = await io.request({ op: "backward", shape: outputShape, keep: true }, bytesOf(gradOutput));
      return Number(reply.header.sumSquares);
    },
    async engineOptimizer(options) {
      const name = options.name;
      if (name !== "adam" && name !== "adamw") return undefined;
      createOptimizer([], options); // the same checks (and errors) as the TypeScript optimizers
      const betas = options.betas ?? [0.9, 0.999];
      const amsgrad = options.amsgrad ?? false;
      await io.request({
        op: "optimizer",
        name,
        // createOptimizer's defaults (PyTorch's).
        weightDecay: options.weightDecay ?? (name === "adamw" ? 1e-2 : 0),
        betas,
        epsilon: options.epsilon ?? 1e-8,
        amsgrad,
        decay: Object.fromEntries(parameters.map((parameter) => [parameter.name, parameter.decay])),
      });
      let steps = 0;
      const suffixes = ["m", "v", "vmax"] as const;
      return {
        name,
        get steps() {
          return steps;
        },
        async step(learningRate, gradientScale) {
          if (!(Number.isFinite(learningRate) && learningRate >= 0))
            throw new EmbedkitError(
              "INVALID_OPTION",
              `learningRate must be a finite number >= 0, received ${String(learningRate)}.`,
            );
          const reply = await io.request({ op: "step", learningRate, scale: gradientScale });
          steps = Number(reply.header.steps);
        },
        async exportState() {
          const reply = await io.request({ op: "get", parts: suffixes });
          const blocks = unpack(reply.payload, suffixes.length);
          const tensors = new Map<string, Float32Array>();
          suffixes.forEach((suffix, part) => {
            parameters.forEach((parameter, index) => {
              tensors.set(
                `${parameter.name}.${suffix}`,
                (blocks[part] as Float32Array[])[index] as Float32Array,
              );
            });
          });
          return { steps: Number(reply.header.steps), tensors };
        },
        async importState(state) {
          if (!Number.isInteger(state.steps) || state.steps < 0)
            throw new EmbedkitError(
              "INVALID_INPUT",
              `Optimizer state: steps must be an integer >= 0, received ${String(state.steps)}.`,
            );
          const blocks = suffixes.map((suffix) =>
            parameters.map((parameter) => {
              const key = `${parameter.name}.${suffix}`;
              const values = state.tensors.get(key);
              if (values === undefined || values.length !== parameter.value.length) {
                throw new EmbedkitError(
                  "INVALID_INPUT",
                  `Optimizer state "${key}" is ${values === undefined ? "missing" : `${values.length} values long, expected ${parameter.value.length}`}.`,
                  { details: { tensor: key } },
                );
              }
              return values;
            }),
          );
          await io.request({ op: "set", parts: suffixes, steps: state.steps }, pack(blocks));
          steps = state.steps;
        },
      };
    },
    async pull() {
      const reply = await io.request({ op: "get", parts: ["params"] });
      const [values] = unpack(reply.payload, 1);
      parameters.forEach((parameter, index) => {
        parameter.value.set((values as Float32Array[])[index] as Float32Array);
      });
    },
    async stats() {
      const reply = await io.request({ op: "stats" });
      return {
        peakRss: Number(reply.header.peakRss),
        cpuSeconds: Number(reply.header.cpuSeconds),
        ops: reply.header.ops as EngineStats["ops"],
      };
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
