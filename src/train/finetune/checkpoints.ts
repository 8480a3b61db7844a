/**
 * @module train/finetune/checkpoints
 * Checkpoints of a fine-tuning run, for resuming after a crash or a kill: the
 * step, epoch and position in the epoch, the random generator's state, the
 * optimizer's state and the weights, in one binary file per checkpoint
 * (`step-<step, 12 digits>.ckpt`) inside the run's checkpoint folder.
 *
 * Layout: the magic `EKFTCKP1`, a little-endian uint32 header length, the JSON
 * header (step, epoch, batchInEpoch, rngState, extra, created, and a table of
 * tensors: group `weights` or `optimizer`, name, element count, byte offset),
 * zero padding to a multiple of 4, the tensors as little-endian float32 back to
 * back, and a 32-byte sha256 of everything before it. A file is streamed to a
 * temporary name, fsynced and renamed (`internal/atomic-write`), so a kill at
 * any moment leaves either the previous checkpoints or the new one complete;
 * older checkpoints beyond `keep` are removed only after the new one is in
 * place. {@link loadLatestCheckpoint} checks the sha256 and falls back to the
 * next older checkpoint when the newest is damaged, saying so.
 */
import { createHash } from "node:crypto";
import { mkdir, open, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { EmbedkitError } from "../../errors.js";
import { replaceFileAtomic, temporaryFileOwner } from "../../internal/atomic-write.js";
import { checkInteger } from "../../internal/options.js";
import { float32FromLittleEndian, float32ToLittleEndian } from "../../vectors/codec.js";

const MAGIC = Buffer.from("EKFTCKP1", "ascii");
const FORMAT = "embedkit-finetune-checkpoint";
/** Version of the checkpoint layout written by this code. */
export const TRAINING_CHECKPOINT_VERSION = 1;
const FILE_PATTERN = /^step-(\d{12})\.ckpt$/;
const DIGEST_BYTES = 32;
/** Largest header accepted on load (the tensor table of a large encoder is well under this). */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** Everything a run needs to continue exactly where it stopped. */
export interface TrainingState {
  /** Optimizer steps taken so far. */
  readonly step: number;
  /** Epoch in progress (0-based). */
  readonly epoch: number;
  /** Batches of `epoch` already done (0 at an epoch boundary). */
  readonly batchInEpoch: number;
  /** The random generator's state (any JSON value the engine can restore from). */
  readonly rngState: unknown;
  /** Optimizer state tensors (e.g. `"<name>.m"`, `"<name>.v"` for Adam). */
  readonly optimizer: ReadonlyMap<string, Float32Array>;
  /** Trainable weights (encoder by ONNX initializer name, head as `head.*`). */
  readonly weights: ReadonlyMap<string, Float32Array>;
  /** Anything else JSON-serialisable (labels, best metric, history). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** A checkpoint read back. */
export interface LoadedCheckpoint extends TrainingState {
  readonly path: string;
  /** When it was written (ISO 8601). */
  readonly created: string;
  /** Newer checkpoints that were damaged and passed over, with why. */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

/** Options of {@link saveTrainingCheckpoint}. */
export interface SaveCheckpointOptions {
  /** Checkpoints kept in the folder (older ones are removed after a save). @default 3 */
  readonly keep?: number;
}

const TensorEntry = z.object({
  group: z.enum(["weights", "optimizer"]),
  name: z.string(),
  length: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
});
const Header = z.object({
  format: z.literal(FORMAT),
  version: z.number().int().positive(),
  step: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative(),
  batchInEpoch: z.number().int().nonnegative(),
  rngState: z.unknown(),
  extra: z.record(z.string(), z.unknown()),
  created: z.string(),
  tensors: z.array(TensorEntry),
});

function invalid(message: string): EmbedkitError {
  return new EmbedkitError("INVALID_INPUT", message);
}

function checkState(state: TrainingState): void {
  checkInteger("step", state.step, { min: 0 });
  checkInteger("epoch", state.epoch, { min: 0 });
  checkInteger("batchInEpoch", state.batchInEpoch, { min: 0 });
  for (const [group, tensors] of [
    ["weights", state.weights],
    ["optimizer", state.optimizer],
  ] as const) {
    for (const [name, values] of tensors) {
      if (!(values instanceof Float32Array))
        throw invalid(`Checkpoint ${group} "${name}" is not a Float32Array.`);
    }
  }
  try {
    JSON.stringify({ rngState: state.rngState, extra: state.extra ?? {} });
  } catch (cause) {
    throw invalid(`Checkpoint rngState/extra are not JSON-serialisable: ${(cause as Error).message}.`);
  }
}

/** File name of the checkpoint of `step`. */
export function checkpointFileName(step: number): string {
  return `step-${String(step).padStart(12, "0")}.ckpt`;
}

/** Checkpoint files of a folder, newest (highest step) first. */
async function listCheckpoints(dir: string): Promise<{ step: number; path: string }[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .flatMap((name) => {
      const match = FILE_PATTERN.exec(name);
      return match === null ? [] : [{ step: Number(match[1]), path: join(dir, name) }];
    })
    .sort((a, b) => b.step - a.step);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Write a checkpoint of `state` into folder `dir` (created if missing), then keep only the newest
 * `keep` checkpoints and remove temporary files left by killed writers.
 * @throws EmbedkitError INVALID_OPTION (bad step/epoch/keep, unwritable folder), INVALID_INPUT (bad state)
 * @example
 * ```ts
 * await saveTrainingCheckpoint("runs/sst2/checkpoints", { step, epoch, batchInEpoch, rngState, optimizer, weights }, { keep: 3 });
 * ```
 */
export async function saveTrainingCheckpoint(
  dir: string,
  state: TrainingState,
  options: SaveCheckpointOptions = {},
): Promise<string> {
  const keep = options.keep ?? 3;
  checkInteger("keep", keep, { min: 1 });
  checkState(state);
  const tensors: z.infer<typeof TensorEntry>[] = [];
  const payloads: Float32Array[] = [];
  let offset = 0;
  for (const [group, map] of [
    ["weights", state.weights],
    ["optimizer", state.optimizer],
  ] as const) {
    for (const [name, values] of map) {
      tensors.push({ group, name, length: values.length, offset });
      payloads.push(values);
      offset += values.byteLength;
    }
  }
  const header: z.infer<typeof Header> = {
    format: FORMAT,
    version: TRAINING_CHECKPOINT_VERSION,
    step: state.step,
    epoch: state.epoch,
    batchInEpoch: state.batchInEpoch,
    rngState: state.rngState ?? null,
    extra: { ...(state.extra ?? {}) },
    created: new Date().toISOString(),
    tensors,
  };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const padding = Buffer.alloc((4 - ((MAGIC.length + 4 + json.length) % 4)) % 4);
  await mkdir(dir, { recursive: true }).catch((cause: unknown) => {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Cannot create checkpoint folder ${dir}: ${(cause as Error).message}.`,
      {
        cause,
        details: { path: dir },
      },
    );
  });
  const path = join(dir, checkpointFileName(state.step));
  await replaceFileAtomic(path, async (temporary) => {
    const hash = createHash("sha256");
    const handle = await open(temporary, "wx");
    try {
      for (const chunk of [MAGIC, length, json, padding, ...payloads.map(float32ToLittleEndian)]) {
        hash.update(chunk);
        await handle.write(chunk);
      }
      await handle.write(hash.digest());
    } finally {
      await handle.close();
    }
  });
  // Only now that the new checkpoint is complete: drop the old ones and dead writers' leftovers.
  for (const old of (await listCheckpoints(dir)).slice(keep)) await rm(old.path, { force: true });
  for (const name of await readdir(dir)) {
    const owner = temporaryFileOwner(name);
    if (owner !== undefined && owner !== process.pid && !processAlive(owner)) {
      await rm(join(dir, name), { force: true });
    }
  }
  return path;
}

/** Parse one checkpoint file. @throws Error naming what is wrong */
function parseCheckpoint(bytes: Buffer, path: string): Omit<LoadedCheckpoint, "skipped"> {
  if (bytes.length < MAGIC.length + 4 + DIGEST_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error("not an embedkit fine-tuning checkpoint (bad magic or too short)");
  }
  const body = bytes.subarray(0, bytes.length - DIGEST_BYTES);
  const digest = createHash("sha256").update(body).digest();
  if (!digest.equals(bytes.subarray(bytes.length - DIGEST_BYTES)))
    throw new Error("sha256 mismatch (damaged file)");
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  if (headerLength > MAX_HEADER_BYTES || MAGIC.length + 4 + headerLength > body.length) {
    throw new Error("header length out of range");
  }
  const start = MAGIC.length + 4;
  const parsed = Header.safeParse(JSON.parse(bytes.subarray(start, start + headerLength).toString("utf8")));
  if (!parsed.success) throw new Error(`bad header: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  const header = parsed.data;
  if (header.version > TRAINING_CHECKPOINT_VERSION) {
    throw new Error(
      `version ${header.version} is newer than this embedkit reads (${TRAINING_CHECKPOINT_VERSION})`,
    );
  }
  const dataStart = start + headerLength + ((4 - ((start + headerLength) % 4)) % 4);
  const weights = new Map<string, Float32Array>();
  const optimizer = new Map<string, Float32Array>();
  for (const tensor of header.tensors) {
    const from = dataStart + tensor.offset;
    const to = from + tensor.length * 4;
    if (to > body.length) throw new Error(`tensor ${tensor.name} runs past the end of the file`);
    const values = float32FromLittleEndian(bytes.subarray(from, to));
    (tensor.group === "weights" ? weights : optimizer).set(tensor.name, values);
  }
  return {
    path,
    step: header.step,
    epoch: header.epoch,
    batchInEpoch: header.batchInEpoch,
    rngState: header.rngState,
    extra: header.extra,
    created: header.created,
    weights,
    optimizer,
  };
}

/**
 * The newest intact checkpoint in `dir`, or `undefined` when the folder has none (a fresh run).
 * A damaged newer checkpoint is passed over and listed in `skipped`.
 * @throws EmbedkitError MALFORMED_FILE when checkpoints exist but none is intact (each named with why)
 */
export async function loadLatestCheckpoint(dir: string): Promise<LoadedCheckpoint | undefined> {
  const candidates = await listCheckpoints(dir);
  if (candidates.length === 0) return undefined;
  const skipped: { path: string; reason: string }[] = [];
  for (const candidate of candidates) {
    try {
      const bytes = await readFile(candidate.path);
      return { ...parseCheckpoint(bytes, candidate.path), skipped };
    } catch (error) {
      skipped.push({ path: candidate.path, reason: (error as Error).message });
    }
  }
  throw new EmbedkitError(
    "MALFORMED_FILE",
    `No intact checkpoint in ${dir}: ${skipped.map((entry) => `${entry.path}: ${entry.reason}`).join("; ")}. ` +
      "Delete the folder to start over.",
    { details: { path: dir } },
  );
}
