/**
 * `CatalogModelId` is the union of the catalog's literal ids. The type
 * assertions are checked by `tsc` over test/ (part of `npm test`); the runtime
 * test keeps the literal list below in step with the frozen catalog data.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  CATALOG,
  type CatalogModelId,
  DEFAULT_MODEL_ID,
  DEFAULT_MODELS,
  findModel,
  getModel,
} from "../../src/models/catalog.js";

type Expected =
  | "all-minilm-l6-v2"
  | "all-minilm-l6-v2-q"
  | "bge-small-en-v1.5"
  | "bge-small-en-v1.5-q"
  | "bge-small-zh-v1.5"
  | "bge-small-zh-v1.5-q"
  | "e5-small-v2"
  | "e5-small-v2-q"
  | "all-minilm-l6-v2-int8s"
  | "bge-small-zh-v1.5-int8s"
  | "wink-glove-100d"
  | "mobilenet-v2-nsfwjs"
  | "face-api-descriptor"
  | "resemblyzer-ge2e"
  | "speech-embedding"
  | "use-multilingual";

const EXPECTED_IDS = [
  "all-minilm-l6-v2",
  "all-minilm-l6-v2-q",
  "bge-small-en-v1.5",
  "bge-small-en-v1.5-q",
  "bge-small-zh-v1.5",
  "bge-small-zh-v1.5-q",
  "e5-small-v2",
  "e5-small-v2-q",
  "all-minilm-l6-v2-int8s",
  "bge-small-zh-v1.5-int8s",
  "wink-glove-100d",
  "mobilenet-v2-nsfwjs",
  "face-api-descriptor",
  "resemblyzer-ge2e",
  "speech-embedding",
  "use-multilingual",
] as const satisfies readonly Expected[];

describe("CatalogModelId", () => {
  it("is the union of the catalog's ids, not string", () => {
    expectTypeOf<CatalogModelId>().toEqualTypeOf<Expected>();
    expectTypeOf<string>().not.toExtend<CatalogModelId>();
    expectTypeOf(DEFAULT_MODEL_ID).toEqualTypeOf<CatalogModelId>();
    expectTypeOf(DEFAULT_MODELS.zh).toEqualTypeOf<"bge-small-zh-v1.5">();
    // @ts-expect-error a name that is not in the catalog
    const unknown: CatalogModelId = "all-minilm-l12-v2";
    expect(unknown).toBe("all-minilm-l12-v2");
  });

  it("lists exactly the ids of the frozen catalog data", () => {
    expect(CATALOG.map((model) => model.id).sort()).toEqual([...EXPECTED_IDS].sort());
  });

  it("leaves user-facing lookups typed by string (aliases and references are names too)", () => {
    expectTypeOf(getModel).parameter(0).toEqualTypeOf<string>();
    expectTypeOf(findModel).parameter(0).toEqualTypeOf<string>();
    expect(getModel("minilm").id).toBe("all-minilm-l6-v2");
    expect(findModel("no-such-model")).toBeUndefined();
  });
});
