/** The audio FFT against a direct DFT: the radix-2 path (powers of two) and the mixed-radix one. */
import { describe, expect, it } from "vitest";
import { createFftPlan } from "../../../src/embed/media/audio/fft.js";

function directPower(frame: Float32Array): Float64Array {
  const n = frame.length;
  return Float64Array.from({ length: (n >> 1) + 1 }, (_, k) => {
    let re = 0;
    let im = 0;
    for (let t = 0; t < n; t++) {
      re += (frame[t] as number) * Math.cos((-2 * Math.PI * k * t) / n);
      im += (frame[t] as number) * Math.sin((-2 * Math.PI * k * t) / n);
    }
    return re * re + im * im;
  });
}

describe("createFftPlan", () => {
  it.each([1, 2, 4, 8, 256, 400, 512, 1024])("gives the power spectrum of a direct DFT for n = %i", (n) => {
    const frame = Float32Array.from(
      { length: n },
      (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 1.1) + (i % 7) * 0.01,
    );
    const out = new Float32Array((n >> 1) + 1);
    createFftPlan(n).powerSpectrum(frame, out);
    const expected = directPower(frame);
    expected.forEach((value, k) => {
      expect(Math.abs((out[k] as number) - value) / Math.max(1, value), `bin ${k}`).toBeLessThan(1e-6);
    });
  });

  it("can be reused: the same frame twice gives the same spectrum", () => {
    const plan = createFftPlan(1024);
    const frame = Float32Array.from({ length: 1024 }, (_, i) => Math.sin(i * 0.05));
    const first = new Float32Array(513);
    const second = new Float32Array(513);
    plan.powerSpectrum(frame, first);
    plan.powerSpectrum(
      Float32Array.from({ length: 1024 }, () => 1),
      second,
    );
    plan.powerSpectrum(frame, second);
    expect(Array.from(second)).toEqual(Array.from(first));
  });
});
