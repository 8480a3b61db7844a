import { describe, expect, it } from "vitest";
import { base64ToFloat32, float32ToBase64 } from "../../src/vectors/codec.js";
import { encodeNpy } from "../../src/vectors/npy.js";
import { dequantize, hammingDistance, quantize } from "../../src/vectors/quantize.js";

describe("quantization", () => {
  const v = new Float32Array([1, -1, 0.5, -0.5, 0, 0.001, -0.001, 0.25, 0.75]);

  it("maps to int8, uint8 and packed binary", () => {
    expect(Array.from(quantize(v, "int8"))).toEqual([127, -127, 64, -64, 0, 0, 0, 32, 95]);
    expect(Array.from(quantize(v, "uint8"))).toEqual([255, 0, 191, 64, 128, 128, 127, 159, 223]);
    // bits: 1 0 1 0 0 1 0 1 | 1 → 0b10100101, 0b10000000
    expect(Array.from(quantize(v, "binary"))).toEqual([0b10100101, 0b10000000]);
    expect(quantize(v, "float32")).toBe(v);
  });

  it("dequantizes close to the original", () => {
    const back = dequantize(quantize(v, "int8"), "int8");
    v.forEach((x, i) => {
      expect(Math.abs(x - (back[i] as number))).toBeLessThan(0.005);
    });
    const backU = dequantize(quantize(v, "uint8"), "uint8");
    v.forEach((x, i) => {
      expect(Math.abs(x - (backU[i] as number))).toBeLessThan(0.005);
    });
  });

  it("rejects an unknown precision", () => {
    expect(() => quantize(v, "float16" as "int8")).toThrow(/precision must be one of/);
  });

  it("counts Hamming distance", () => {
    expect(hammingDistance(new Uint8Array([0b1010, 0xff]), new Uint8Array([0b0101, 0xff]))).toBe(4);
    expect(() => hammingDistance(new Uint8Array(1), new Uint8Array(2))).toThrow(/differ in length/);
  });
});

describe("codecs", () => {
  it("round-trips base64 little-endian float32 (OpenAI encoding_format)", () => {
    const v = new Float32Array([0.1, -2.5, 3e-8]);
    const encoded = float32ToBase64(v);
    expect(encoded).toBe(Buffer.from(new Float32Array([0.1, -2.5, 3e-8]).buffer).toString("base64"));
    expect(Array.from(base64ToFloat32(encoded))).toEqual(Array.from(v));
    expect(() => base64ToFloat32("AAA=")).toThrow(/multiple of 4/);
  });

  it("writes a valid .npy header and payload", () => {
    const bytes = encodeNpy([new Float32Array([1, 2]), new Float32Array([3, 4])]);
    expect(bytes.subarray(0, 6).toString("latin1")).toBe("\x93NUMPY");
    const headerLength = bytes.readUInt16LE(8);
    expect((10 + headerLength) % 64).toBe(0);
    const header = bytes.subarray(10, 10 + headerLength).toString("latin1");
    expect(header).toContain("'descr': '<f4'");
    expect(header).toContain("'shape': (2, 2)");
    const payload = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + 10 + headerLength, bytes.byteOffset + bytes.length),
    );
    expect(Array.from(payload)).toEqual([1, 2, 3, 4]);
    expect(() => encodeNpy([new Float32Array(2), new Float32Array(3)])).toThrow(/Row 1 has 3 values/);
    expect(encodeNpy([new Int8Array([1, -1])]).toString("latin1")).toContain("'descr': '|i1'");
  });
});
