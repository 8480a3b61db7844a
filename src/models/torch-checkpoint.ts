/**
 * @module models/torch-checkpoint
 * Read float tensors out of a PyTorch checkpoint (`torch.save` file) without
 * Python and without executing anything from the file. A checkpoint is a
 * pickle whose tensors point ("persistent ids") at raw storage blobs; this
 * module runs a minimal pickle machine that understands only the opcodes and
 * the few globals such files use (`collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2`, `torch.*Storage`). Any other global is
 * refused with CORRUPT_MODEL instead of being called, so a malicious file can
 * at worst be rejected.
 *
 * Layouts: the legacy (pre-1.6) stream format — magic-number pickle, protocol
 * pickle, sys-info pickle, the object pickle, the storage-key list, then each
 * storage as an int64 element count followed by its bytes — and the zip format
 * (`archive/data.pkl` + `archive/data/<key>`, stored uncompressed) used since
 * PyTorch 1.6.
 */
import { inflateRawSync } from "node:zlib";
import { EmbedkitError } from "../errors.js";

/** A dense float32 tensor, row-major. */
export interface FloatTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Storage element sizes by torch storage class. */
const STORAGE_BYTES: Readonly<Record<string, number>> = Object.freeze({
  FloatStorage: 4,
  DoubleStorage: 8,
  HalfStorage: 2,
  BFloat16Storage: 2,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
});

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** A reference to a storage blob, as the pickle names it. */
interface StorageRef {
  readonly kind: "storage";
  readonly type: string;
  readonly key: string;
  readonly elements: number;
}

interface TensorRef {
  readonly kind: "tensor";
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

interface GlobalRef {
  readonly kind: "global";
  readonly name: string;
}

interface Tuple {
  readonly kind: "tuple";
  readonly items: unknown[];
}

const ALLOWED_GLOBALS = new Set([
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  ...Object.keys(STORAGE_BYTES).map((name) => `torch.${name}`),
]);

function corrupt(label: string, problem: string): EmbedkitError {
  return new EmbedkitError(
    "CORRUPT_MODEL",
    `${label} is not a PyTorch checkpoint embedkit can read: ${problem}.`,
    { details: { file: label } },
  );
}

function items(value: unknown): unknown[] {
  if (typeof value === "object" && value !== null && (value as Tuple).kind === "tuple")
    return (value as Tuple).items;
  if (Array.isArray(value)) return value;
  return [];
}

function toNumber(value: unknown): number {
  return typeof value === "bigint" ? Number(value) : (value as number);
}

/** A pickle machine restricted to data opcodes and the allowed globals. */
class PickleReader {
  private position: number;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly label: string,
  ) {
    this.position = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.position;
  }

  private need(count: number): number {
    const at = this.position;
    if (at + count > this.bytes.length) throw corrupt(this.label, "the pickle ends early (truncated file)");
    this.position += count;
    return at;
  }

  private text(count: number, encoding: "utf8" | "latin1"): string {
    const at = this.need(count);
    return Buffer.from(this.bytes.subarray(at, at + count)).toString(encoding);
  }

  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.position);
    if (end < 0) throw corrupt(this.label, "a GLOBAL opcode has no line end");
    const value = Buffer.from(this.bytes.subarray(this.position, end)).toString("latin1");
    this.position = end + 1;
    return value;
  }

  /** Run one pickle to its STOP opcode and return the value it builds. */
  load(): unknown {
    const stack: unknown[] = [];
    const marks: number[] = [];
    const memo = new Map<number, unknown>();
    const pop = (): unknown => {
      if (stack.length === 0) throw corrupt(this.label, "the pickle pops an empty stack");
      return stack.pop();
    };
    const popMark = (): unknown[] => {
      const mark = marks.pop();
      if (mark === undefined) throw corrupt(this.label, "the pickle closes a MARK it never opened");
      return stack.splice(mark);
    };
    const top = (): unknown => stack[stack.length - 1];
    const setItems = (target: unknown, values: unknown[]): void => {
      if (!(target instanceof Map)) throw corrupt(this.label, "SETITEM(S) on something that is not a dict");
      for (let i = 0; i + 1 < values.length; i += 2) target.set(values[i], values[i + 1]);
    };
    for (;;) {
      const opcode = this.bytes[this.need(1)] as number;
      switch (opcode) {
        case 0x80: // PROTO
          this.need(1);
          break;
        case 0x95: // FRAME
          this.need(8);
          break;
        case 0x2e: // STOP
          return pop();
        case 0x28: // MARK
          marks.push(stack.length);
          break;
        case 0x7d: // EMPTY_DICT
          stack.push(new Map());
          break;
        case 0x5d: // EMPTY_LIST
          stack.push([]);
          break;
        case 0x29: // EMPTY_TUPLE
          stack.push({ kind: "tuple", items: [] } satisfies Tuple);
          break;
        case 0x74: // TUPLE
          stack.push({ kind: "tuple", items: popMark() } satisfies Tuple);
          break;
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: {
          // TUPLE3
          const count = opcode - 0x84;
          stack.push({ kind: "tuple", items: stack.splice(stack.length - count) } satisfies Tuple);
          break;
        }
        case 0x6c: // LIST
          stack.push(popMark());
          break;
        case 0x64: {
          // DICT
          const map = new Map();
          setItems(map, popMark());
          stack.push(map);
          break;
        }
        case 0x71: // BINPUT
          memo.set(this.bytes[this.need(1)] as number, top());
          break;
        case 0x72: // LONG_BINPUT
          memo.set(this.view.getUint32(this.need(4), true), top());
          break;
        case 0x94: // MEMOIZE
          memo.set(memo.size, top());
          break;
        case 0x68: // BINGET
          stack.push(memo.get(this.bytes[this.need(1)] as number));
          break;
        case 0x6a: // LONG_BINGET
          stack.push(memo.get(this.view.getUint32(this.need(4), true)));
          break;
        case 0x58: // BINUNICODE
          stack.push(this.text(this.view.getUint32(this.need(4), true), "utf8"));
          break;
        case 0x8c: // SHORT_BINUNICODE
          stack.push(this.text(this.bytes[this.need(1)] as number, "utf8"));
          break;
        case 0x54: // BINSTRING
          stack.push(this.text(this.view.getInt32(this.need(4), true), "latin1"));
          break;
        case 0x55: // SHORT_BINSTRING
          stack.push(this.text(this.bytes[this.need(1)] as number, "latin1"));
          break;
        case 0x4a: // BININT
          stack.push(this.view.getInt32(this.need(4), true));
          break;
        case 0x4b: // BININT1
          stack.push(this.bytes[this.need(1)] as number);
          break;
        case 0x4d: // BININT2
          stack.push(this.view.getUint16(this.need(2), true));
          break;
        case 0x8a: {
          // LONG1: little-endian two's complement of n bytes
          const count = this.bytes[this.need(1)] as number;
          const at = this.need(count);
          let value = 0n;
          for (let i = count - 1; i >= 0; i--) value = (value << 8n) | BigInt(this.bytes[at + i] as number);
          if (count > 0 && ((this.bytes[at + count - 1] as number) & 0x80) !== 0)
            value -= 1n << BigInt(8 * count);
          stack.push(Number.isSafeInteger(Number(value)) ? Number(value) : value);
          break;
        }
        case 0x47: // BINFLOAT (big-endian double)
          stack.push(this.view.getFloat64(this.need(8), false));
          break;
        case 0x4e: // NONE
          stack.push(null);
          break;
        case 0x88: // NEWTRUE
          stack.push(true);
          break;
        case 0x89: // NEWFALSE
          stack.push(false);
          break;
        case 0x63: {
          // GLOBAL
          const module = this.line();
          const name = this.line();
          stack.push(this.global(`${module}.${name}`));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = pop();
          const module = pop();
          stack.push(this.global(`${String(module)}.${String(name)}`));
          break;
        }
        case 0x51: // BINPERSID
          stack.push(this.persistent(pop()));
          break;
        case 0x52: {
          // REDUCE
          const args = items(pop());
          stack.push(this.reduce(pop(), args));
          break;
        }
        case 0x62: // BUILD: state for OrderedDict (`_metadata`) and similar; not needed for tensors.
          pop();
          break;
        case 0x73: {
          // SETITEM
          const value = pop();
          const key = pop();
          setItems(top(), [key, value]);
          break;
        }
        case 0x75: // SETITEMS
          {
            const values = popMark();
            setItems(top(), values);
          }
          break;
        case 0x61: {
          // APPEND
          const value = pop();
          const list = top();
          if (!Array.isArray(list)) throw corrupt(this.label, "APPEND to something that is not a list");
          list.push(value);
          break;
        }
        case 0x65: {
          // APPENDS
          const values = popMark();
          const list = top();
          if (!Array.isArray(list)) throw corrupt(this.label, "APPENDS to something that is not a list");
          list.push(...values);
          break;
        }
        default:
          throw corrupt(
            this.label,
            `pickle opcode 0x${opcode.toString(16)} at byte ${this.position - 1} is not supported by the safe reader`,
          );
      }
    }
  }

  private global(name: string): GlobalRef {
    if (!ALLOWED_GLOBALS.has(name)) {
      throw corrupt(
        this.label,
        `it references the Python global "${name}", which the safe reader refuses to call (allowed: ${[...ALLOWED_GLOBALS].join(", ")})`,
      );
    }
    return { kind: "global", name };
  }

  private persistent(id: unknown): StorageRef {
    // ("storage", <storage class>, key, location, elements[, view metadata])
    const [tag, type, key, , elements] = items(id);
    const typeName = (type as GlobalRef | undefined)?.name?.replace(/^torch\./, "");
    if (tag !== "storage" || typeName === undefined || !(typeName in STORAGE_BYTES)) {
      throw corrupt(this.label, "a persistent id is not a torch storage reference");
    }
    return { kind: "storage", type: typeName, key: String(key), elements: toNumber(elements) };
  }

  private reduce(callable: unknown, args: unknown[]): unknown {
    const name = (callable as GlobalRef | undefined)?.name;
    if (name === "collections.OrderedDict") return new Map();
    if (name === "torch._utils._rebuild_tensor_v2") {
      const [storage, offset, shape, stride] = args;
      if ((storage as StorageRef | undefined)?.kind !== "storage") {
        throw corrupt(this.label, "a tensor is not backed by a storage reference");
      }
      return {
        kind: "tensor",
        storage: storage as StorageRef,
        offset: toNumber(offset),
        shape: items(shape).map(toNumber),
        stride: items(stride).map(toNumber),
      } satisfies TensorRef;
    }
    throw corrupt(this.label, `REDUCE applied to ${name ?? "a non-callable"}`);
  }
}

function materialize(tensor: TensorRef, blob: Uint8Array, label: string, name: string): FloatTensor {
  if (tensor.storage.type !== "FloatStorage") {
    throw corrupt(label, `tensor ${name} is ${tensor.storage.type}; only float32 tensors are supported`);
  }
  const count = tensor.shape.reduce((product, size) => product * size, 1);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const data = new Float32Array(count);
  const dims = tensor.shape.length;
  const index = new Array<number>(dims).fill(0);
  for (let i = 0; i < count; i++) {
    let element = tensor.offset;
    for (let d = 0; d < dims; d++) element += (index[d] as number) * (tensor.stride[d] as number);
    if ((element + 1) * 4 > blob.byteLength) {
      throw corrupt(label, `tensor ${name} reaches past the end of its storage (truncated file?)`);
    }
    data[i] = view.getFloat32(element * 4, true);
    for (let d = dims - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (tensor.shape[d] as number)) break;
      index[d] = 0;
    }
  }
  return { shape: [...tensor.shape], data };
}

/** Walk the unpickled object and collect `name → tensor` for every tensor under `prefix`. */
function collectTensors(value: unknown, prefix: string, out: Map<string, TensorRef>): void {
  if (value instanceof Map) {
    for (const [key, child] of value)
      collectTensors(child, prefix === "" ? String(key) : `${prefix}.${String(key)}`, out);
  } else if (typeof value === "object" && value !== null && (value as TensorRef).kind === "tensor") {
    out.set(prefix, value as TensorRef);
  }
}

/** Storage blobs of a legacy-format file, by key. */
function legacyStorages(
  bytes: Uint8Array,
  start: number,
  keys: readonly string[],
  types: ReadonlyMap<string, string>,
  label: string,
): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blobs = new Map<string, Uint8Array>();
  let at = start;
  for (const key of keys) {
    if (at + 8 > bytes.length) throw corrupt(label, `storage ${key} is missing (truncated file)`);
    const elements = Number(view.getBigInt64(at, true));
    const size = STORAGE_BYTES[types.get(key) ?? "FloatStorage"] ?? 4;
    at += 8;
    const length = elements * size;
    if (elements < 0 || at + length > bytes.length) throw corrupt(label, `storage ${key} is truncated`);
    blobs.set(key, bytes.subarray(at, at + length));
    at += length;
  }
  return blobs;
}

/** Entries of a zip archive (local headers; stored or deflated). */
function zipEntries(bytes: Uint8Array, label: string): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries = new Map<string, Uint8Array>();
  // Central directory: find the end record, then walk it (sizes in local headers may be 0).
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65_557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw corrupt(label, "the zip archive has no end-of-directory record (truncated file)");
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  for (let n = 0; n < count; n++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== 0x02014b50) {
      throw corrupt(label, "the zip central directory is damaged");
    }
    const method = view.getUint16(at + 10, true);
    const compressed = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = Buffer.from(bytes.subarray(at + 46, at + 46 + nameLength)).toString("utf8");
    const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (dataStart + compressed > bytes.length) throw corrupt(label, `zip entry ${name} is truncated`);
    const raw = bytes.subarray(dataStart, dataStart + compressed);
    entries.set(name, method === 0 ? raw : new Uint8Array(inflateRawSync(raw)));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * Read every float32 tensor of a PyTorch checkpoint, keyed by its dotted path
 * in the saved object (e.g. `model_state.lstm.weight_ih_l0`).
 *
 * @param bytes the whole `.pt` file
 * @param label the file name, for error messages
 * @throws EmbedkitError CORRUPT_MODEL for truncated or unsupported files, or a pickle that
 *   references anything but the allowed tensor-building globals
 * @example
 * ```ts
 * const tensors = readTorchCheckpoint(await readFile("pretrained.pt"), "pretrained.pt");
 * const weight = tensors.get("model_state.linear.weight"); // { shape: [256, 256], data }
 * ```
 */
export function readTorchCheckpoint(bytes: Uint8Array, label: string): Map<string, FloatTensor> {
  const references = new Map<string, TensorRef>();
  let blobs: Map<string, Uint8Array>;
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    const entries = zipEntries(bytes, label);
    const pickleName = [...entries.keys()].find((name) => name.endsWith("/data.pkl") || name === "data.pkl");
    if (pickleName === undefined) throw corrupt(label, "the zip archive has no data.pkl");
    const root = pickleName.slice(0, pickleName.length - "data.pkl".length);
    collectTensors(new PickleReader(entries.get(pickleName) as Uint8Array, 0, label).load(), "", references);
    blobs = new Map();
    for (const tensor of references.values()) {
      const blob = entries.get(`${root}data/${tensor.storage.key}`);
      if (blob === undefined) throw corrupt(label, `storage data/${tensor.storage.key} is missing`);
      blobs.set(tensor.storage.key, blob);
    }
  } else {
    const reader = new PickleReader(bytes, 0, label);
    const magic = reader.load();
    if (BigInt(magic as number | bigint) !== LEGACY_MAGIC) {
      throw corrupt(label, "it does not start with the torch.save magic number (not a .pt file?)");
    }
    reader.load(); // protocol version
    reader.load(); // sys info (endianness, type sizes)
    collectTensors(reader.load(), "", references);
    const keys = items(reader.load()).map(String);
    const types = new Map<string, string>();
    for (const tensor of references.values()) types.set(tensor.storage.key, tensor.storage.type);
    blobs = legacyStorages(bytes, reader.offset, keys, types, label);
  }
  const tensors = new Map<string, FloatTensor>();
  for (const [name, tensor] of references) {
    const blob = blobs.get(tensor.storage.key);
    if (blob === undefined) throw corrupt(label, `storage ${tensor.storage.key} of ${name} is missing`);
    if (tensor.storage.type === "FloatStorage") tensors.set(name, materialize(tensor, blob, label, name));
  }
  return tensors;
}
