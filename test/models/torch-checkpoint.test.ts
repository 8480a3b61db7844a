import { readFileSync } from "node:fs";
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
