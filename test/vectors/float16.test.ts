/** IEEE binary16 packing. */
import { describe, expect, it } from "vitest";
import { fromFloat16, toFloat16 } from "../../src/vectors/float16.js";

describe("float16", () => {
  it("encodes known values bit-exactly (normals, subnormals, limits, specials)", () => {
    const values = [0, -0, 1, -2.5, 65504, 70000, 2 ** -24, 2 ** -14, 0.1, Number.POSITIVE_INFINITY];
    expect(Array.from(toFloat16(values), (bits) => bits.toString(16))).toEqual([
      "0",
      "8000",
      "3c00",
      "c100",
      "7bff",
      "7c00",
      "1",
      "400",
      "2e66",
      "7c00",
    ]);
    expect(Number.isNaN(fromFloat16(toFloat16([Number.NaN]))[0])).toBe(true);
  });

  it("round-trips random values within half precision's relative error", () => {
    const values = Float32Array.from(
      { length: 10_000 },
      (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 9) - 4),
    );
    const back = fromFloat16(toFloat16(values));
    values.forEach((value, i) => {
      if (Math.abs(value) < 2 ** -14)
        expect(Math.abs((back[i] as number) - value)).toBeLessThanOrEqual(2 ** -25);
      else expect(Math.abs((back[i] as number) - value) / Math.abs(value)).toBeLessThanOrEqual(2 ** -11);
    });
  });
});
