import { readFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import { createModelStore } from "../../src/models/store-impl.js";
import { readTorchCheckpoint } from "../../src/models/torch-checkpoint.js";

/** Pickle opcodes used to hand-craft files. */
const MAGIC_PICKLE = [
  0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];
const VERSION_PICKLE = [0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e];
const EMPTY_DICT_PICKLE = [0x80, 0x02, 0x7d, 0x2e];

function unicode(text: string): number[] {
  const bytes = Buffer.from(text, "utf8");
  return [0x58, bytes.length & 0xff, (bytes.length >> 8) & 0xff, 0, 0, ...bytes];
}

/** A stored (uncompressed) zip archive, as torch.save writes since PyTorch 1.6. */
function zip(entries: Readonly<Record<string, Uint8Array>>): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const nameBytes = Buffer.from(name, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, Buffer.from(data));
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, directory, end]));
}

function global(module: string, name: string): number[] {
  return [0x63, ...Buffer.from(`${module}\n${name}\n`)];
}

/** A tensor over storage "0" (6 floats): _rebuild_tensor_v2(storage, 0, shape, stride, False, OrderedDict()). */
function tensorPickle(shape: [number, number], stride: [number, number]): number[] {
  return [
    ...global("torch._utils", "_rebuild_tensor_v2"),
    0x28, // MARK (args)
    0x28, // MARK (persistent id)
    ...unicode("storage"),
    ...global("torch", "FloatStorage"),
    ...unicode("0"),
    ...unicode("cpu"),
    0x4b,
    6,
    0x74, // TUPLE
    0x51, // BINPERSID
    0x4b,
    0,
    0x4b,
    shape[0],
    0x4b,
    shape[1],
    0x86,
    0x4b,
    stride[0],
    0x4b,
    stride[1],
    0x86,
    0x89, // NEWFALSE
    ...global("collections", "OrderedDict"),
    0x29,
    0x52,
    0x74, // TUPLE (args)
    0x52, // REDUCE
  ];
}

function expectCorrupt(bytes: Uint8Array, pattern: RegExp): void {
  let error: unknown;
  try {
    readTorchCheckpoint(bytes, "test.pt");
  } catch (caught) {
    error = caught;
  }
  expect(EmbedkitError.isInstance(error) && error.code).toBe("CORRUPT_MODEL");
  expect((error as Error).message).toMatch(pattern);
}

describe("readTorchCheckpoint", () => {
  let checkpoint: Buffer;
  beforeAll(async () => {
    // resemblyzer's pretrained.pt, pulled from PyPI through the store (shared test cache).
    const pulled = await createModelStore().ensure("resemblyzer-ge2e");
    checkpoint = readFileSync(pulled.path("weights"));
  });

  it("reads every float tensor of resemblyzer's legacy-format pretrained.pt, views included", () => {
    const tensors = readTorchCheckpoint(checkpoint, "pretrained.pt");
    expect(tensors.get("model_state.lstm.weight_ih_l0")?.shape).toEqual([1024, 40]);
    expect(tensors.get("model_state.lstm.weight_hh_l2")?.shape).toEqual([1024, 256]);
    // The LSTM weights are views into one flat cuDNN storage at different offsets.
    expect(tensors.get("model_state.lstm.weight_ih_l0")?.data[0]).toBeCloseTo(0.0428658, 6);
    expect(tensors.get("model_state.lstm.bias_hh_l2")?.data[1023]).toBeCloseTo(-0.009943563, 8);
    expect(tensors.get("model_state.similarity_weight")?.data[0]).toBeCloseTo(70.892914, 4);
    expect(tensors.get("model_state.linear.bias")?.shape).toEqual([256]);
  });

  it("reads the zip format of PyTorch >= 1.6, strided views (a transpose) included", () => {
    const pickle = [
      0x80,
      0x02,
      ...global("collections", "OrderedDict"),
      0x29,
      0x52,
      ...unicode("weight"),
      ...tensorPickle([2, 3], [3, 1]),
      0x73, // SETITEM
      ...unicode("transposed"),
      ...tensorPickle([3, 2], [1, 3]),
      0x73,
      0x2e,
    ];
    const storage = new Uint8Array(Float32Array.of(1, 2, 3, 4, 5, 6).buffer);
    const file = zip({ "archive/data.pkl": Uint8Array.from(pickle), "archive/data/0": storage });
    const tensors = readTorchCheckpoint(file, "zip.pt");
    expect(tensors.get("weight")).toEqual({ shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) });
    expect(tensors.get("transposed")).toEqual({ shape: [3, 2], data: Float32Array.of(1, 4, 2, 5, 3, 6) });
    // A storage blob missing from the archive is refused.
    expectCorrupt(zip({ "archive/data.pkl": Uint8Array.from(pickle) }), /storage data\/0 is missing/);
  });

  it("refuses a pickle that calls anything but the tensor-building globals (no code runs)", () => {
    const evil = [
      0x80,
      0x02,
      0x63,
      ...Buffer.from("os\nsystem\n"),
      ...unicode("echo pwned"),
      0x85,
      0x52,
      0x2e,
    ];
    expectCorrupt(
      Uint8Array.from([...MAGIC_PICKLE, ...VERSION_PICKLE, ...EMPTY_DICT_PICKLE, ...evil]),
      /global "os\.system", which the safe reader refuses to call/,
    );
  });

  it("refuses a truncated checkpoint", () => {
    expectCorrupt(checkpoint.subarray(0, checkpoint.length >> 1), /truncated/);
  });

  it("refuses a file that is not a checkpoint", () => {
    expectCorrupt(Buffer.from("not a pytorch file at all"), /not a PyTorch checkpoint/);
  });
});
