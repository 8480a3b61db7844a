/**
 * The lazy loaders: one import per process, the same module every time, and a
 * clear DEPENDENCY_MISSING (package, platform, cause) when a module cannot load.
 */
import { describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import {
  loadDependency,
  loadedHnswlib,
  loadHnswlib,
  loadOnnxRuntime,
  loadSharp,
  requireMlMatrix,
} from "../../src/internal/load-dependency.js";

describe("loadDependency", () => {
  it("turns a module that cannot be imported into DEPENDENCY_MISSING naming the package and feature", async () => {
    const specifier = "embedkit-package-that-does-not-exist";
    const attempt = () =>
      loadDependency(
        specifier,
        "a test feature",
        () => import(specifier),
        (module) => module,
      );
    await expect(attempt()).rejects.toThrow(EmbedkitError);
    await expect(attempt()).rejects.toMatchObject({
      code: "DEPENDENCY_MISSING",
      details: { package: specifier, feature: "a test feature" },
    });
    await expect(attempt()).rejects.toThrow(
      /"embedkit-package-that-does-not-exist" is needed for a test feature/,
    );
    await expect(attempt()).rejects.toThrow(/npm install embedkit-package-that-does-not-exist/);
  });

  it("imports a module once and returns the same value to every caller", async () => {
    const [first, second] = await Promise.all([loadOnnxRuntime(), loadOnnxRuntime()]);
    expect(first).toBe(second);
    expect(typeof first.InferenceSession.create).toBe("function");
    const sharp = await loadSharp();
    expect(typeof sharp).toBe("function");
    expect(await loadSharp()).toBe(sharp);
    expect(requireMlMatrix()).toBe(requireMlMatrix());
  });

  it("gives synchronous code the module once its loader resolved", async () => {
    const hnswlib = await loadHnswlib();
    expect(loadedHnswlib()).toBe(hnswlib);
    expect(typeof hnswlib.HierarchicalNSW).toBe("function");
  });
});
