/**
 * Taking the multilingual USE graph apart at its SentencePiece node, on the real
 * pinned file (pulled through the store): the node's settings and model, a
 * tokenizer.json with the model's pieces, a stock graph that onnxruntime-node
 * loads, deterministic bytes (the catalog pins), and clear refusals of graphs
 * and models this converter does not handle.
 */
import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { loadOnnxRuntime } from "../../src/internal/load-dependency.js";
import { createSha256 } from "../../src/models/hash.js";
import { encodeOnnxModel } from "../../src/models/onnx-writer.js";
import { protobufFields } from "../../src/models/protobuf.js";
import {
  parseSentencePieceModel,
  SENTENCEPIECE_PIECE_TYPES,
  sentencePieceTokenizerJson,
} from "../../src/models/sentencepiece.js";
import { createModelStore } from "../../src/models/store-impl.js";
import {
  type SplitSentencepieceGraph,
  splitSentencepieceGraph,
  USE_GRAPH_INPUTS,
} from "../../src/models/use-graph.js";

let original: Uint8Array;
let split: SplitSentencepieceGraph;

beforeAll(async () => {
  const pulled = await createModelStore().ensure("use-multilingual");
  original = new Uint8Array(await readFile(pulled.path("onnx")));
  split = splitSentencepieceGraph(original);
});

const sha256 = (bytes: Uint8Array): string => createSha256().update(bytes).digest("hex");

describe("splitSentencepieceGraph on the multilingual USE", () => {
  it("reads the node's settings and gives the catalog's pinned graph bytes", async () => {
    expect(split.settings).toEqual({ addBos: true, addEos: true, idType: "int32", splitType: "int64" });
    expect(sha256(split.graph)).toBe("903baefb8536894c93920d1fa069436df4f10799bc9feb2781e23f7e77ecc871");
    // Deterministic: a second split gives the same bytes.
    expect(sha256(splitSentencepieceGraph(original).graph)).toBe(sha256(split.graph));
  });

  it("writes a graph onnxruntime-node loads, with token ids and row splits as inputs", async () => {
    const ort = await loadOnnxRuntime();
    const session = await ort.InferenceSession.create(split.graph);
    try {
      expect([...session.inputNames].sort()).toEqual([USE_GRAPH_INPUTS.rowSplits, USE_GRAPH_INPUTS.tokenIds]);
      expect(session.outputNames).toEqual(["outputs"]);
      // "I love this film" as the SentencePiece node tokenizes it (BOS … EOS), as one ragged row.
      const ids = Int32Array.from([1, 33, 749, 122, 1000, 2]);
      const output = await session.run({
        [USE_GRAPH_INPUTS.tokenIds]: new ort.Tensor("int32", ids, [ids.length]),
        [USE_GRAPH_INPUTS.rowSplits]: new ort.Tensor("int64", BigInt64Array.from([0n, 6n]), [2]),
      });
      const vectors = output.outputs as InstanceType<typeof ort.Tensor>;
      expect(vectors.dims).toEqual([1, 512]);
      expect((vectors.data as Float32Array)[0]).toBeCloseTo(0.03161, 4);
    } finally {
      await session.release();
    }
  });

  it("takes out a unigram SentencePiece model whose tokenizer.json tokenizes like the node", async () => {
    const model = parseSentencePieceModel(split.sentencepiece);
    expect(model.pieces).toHaveLength(128_000);
    expect(model.modelType).toBe(1);
    expect(model.normalizer.name).toBe("nmt_nfkc");
    expect(model.pieces[1]).toEqual({ piece: "<s>", score: 0, type: SENTENCEPIECE_PIECE_TYPES.control });
    const json = sentencePieceTokenizerJson(model, split.settings);
    const { Tokenizer } = await import("@huggingface/tokenizers");
    const tokenizer = new Tokenizer(json, {});
    expect(tokenizer.encode("I love this film").ids).toEqual([1, 33, 749, 122, 1000, 2]);
    expect(tokenizer.encode("我很喜欢这部电影").ids).toEqual([1, 325, 319, 4879, 1437, 1011, 9872, 2]);
    // nmt_nfkc: full-width letters fold, runs of spaces collapse, surrounding spaces go.
    expect(tokenizer.encode("  Hola  mundo ").ids).toEqual([1, 3729, 2124, 2]);
    expect(tokenizer.encode("ｆｕｌｌｗｉｄｔｈ text").ids).toEqual([1, 1969, 18027, 3728, 2]);
  });
});

describe("refusals", () => {
  it("refuses a graph without a SentencePiece node, and bytes that are not a model", () => {
    const plain = encodeOnnxModel({
      name: "plain",
      inputs: [{ name: "x", type: "float", shape: [1] }],
      outputs: [{ name: "y", type: "float", shape: [1] }],
      initializers: [],
      nodes: [{ op: "Identity", inputs: ["x"], outputs: ["y"] }],
    });
    expect(() => splitSentencepieceGraph(plain)).toThrow(
      /expected exactly one SentencepieceTokenizer node, found 0/,
    );
    expect(() => splitSentencepieceGraph(original.subarray(0, 1000))).toThrow(/truncated/);
    expect(() => [...protobufFields(Uint8Array.from([0x0a, 0x05, 0x01]))]).toThrow(
      /truncated length-delimited/,
    );
  });

  it("refuses SentencePiece models it would tokenize wrongly", () => {
    const model = parseSentencePieceModel(split.sentencepiece);
    const options = { addBos: true, addEos: true };
    expect(() => sentencePieceTokenizerJson({ ...model, modelType: 2 }, options)).toThrow(/only unigram/);
    expect(() => sentencePieceTokenizerJson({ ...model, byteFallback: true }, options)).toThrow(
      /byte fallback/,
    );
    expect(() =>
      sentencePieceTokenizerJson({ ...model, normalizer: { ...model.normalizer, name: "nfkc_cf" } }, options),
    ).toThrow(/normalizer "nfkc_cf" is not supported/);
    expect(() => parseSentencePieceModel(new Uint8Array(0))).toThrow(/not a SentencePiece model/);
  });
});
