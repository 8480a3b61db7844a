"""Can int8 pay off on this CPU? A bench-only probe with onnxruntime's own tools.

Builds, from one fp32 text encoder (ONNX file + tokenizer.json from the model store):
  fp32      the file as pulled (runtime graph optimisation "all", like embedkit)
  fused     onnxruntime.transformers.optimizer, opt_level 0 (its own Attention, SkipLayerNorm,
            EmbedLayerNorm, Gelu fusions; the runtime then applies "all" as for fp32), fp32
  dyn-int8  the shipped dynamic-quantized copy, when given (--dynamic)
  qdq-u8s8  quantize_static, QDQ, per-channel s8 weights, u8 activations, MatMul only,
            calibrated (MinMax) on a fixed public sample (--calibration, one sentence per run)
  qop-u8s8  the same in QOperator format (QLinearMatMul)
then measures, each variant in this process with the same threads, interleaved repeats:
  speed      sentences/s at batch 1/32/128 over consecutive groups (file order), ratio to fp32
  quality    Spearman x100 of cosine vs gold on an STS file (pairs), points lost vs fp32
  invariance max |difference| of one text's vector embedded alone and inside a padded batch of 32

Run (inside bench/.venv with bench/python/int8-requirements.txt installed):
  bench/.venv/bin/python bench/python/int8_probe.py --onnx <model.onnx> --tokenizer <tokenizer.json>
    --pooling mean|cls --max-tokens 256 --sts <stsb-en-dev.csv> --calibration <text file or csv>
    [--dynamic <model-q.onnx>] [--variants fused,dyn-int8,qdq-u8s8,qop-u8s8] [--reduce-range] [--threads 2] [--repeats 3] [--speed-sentences 512] [--out probe.json]
Prints a Markdown table; --out writes the raw numbers as JSON.
"""

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnx import version_converter
from scipy.stats import spearmanr
from tokenizers import Tokenizer


def read_pairs(path: str) -> tuple[list[str], list[str], list[float]]:
    left, right, gold = [], [], []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            if len(row) < 3:
                continue
            left.append(row[0])
            right.append(row[1])
            gold.append(float(row[2]))
    return left, right, gold


def read_calibration(path: str, count: int) -> list[str]:
    """First `count` unique sentences: tab-separated SICK (columns 1, 2) or one text per line."""
    seen: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            fields = line.rstrip("\n").split("\t")
            if path.endswith(".txt") and len(fields) >= 3 and index == 0:
                continue  # header
            texts = fields[1:3] if len(fields) >= 4 else fields[:1]
            for text in texts:
                if text and text not in seen:
                    seen.append(text)
            if len(seen) >= count:
                return seen[:count]
    return seen


class Encoder:
    def __init__(self, tokenizer_path: str, max_tokens: int) -> None:
        tokenizer = Tokenizer.from_file(tokenizer_path)
        pad_id = tokenizer.token_to_id("[PAD]")
        tokenizer.enable_padding(pad_id=pad_id if pad_id is not None else 0, pad_token="[PAD]")
        tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer = tokenizer

    def feeds(self, texts: list[str], names: list[str]) -> dict[str, np.ndarray]:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        out = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            out["token_type_ids"] = np.zeros_like(ids)
        return out


def session_for(path: str, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def embed(session: ort.InferenceSession, encoder: Encoder, texts: list[str], pooling: str) -> np.ndarray:
    names = [i.name for i in session.get_inputs()]
    feeds = encoder.feeds(texts, names)
    hidden = session.run(None, feeds)[0]
    if pooling == "cls":
        pooled = hidden[:, 0, :]
    else:
        mask = feeds["attention_mask"][:, :, None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


class Reader(CalibrationDataReader):
    def __init__(self, encoder: Encoder, texts: list[str], names: list[str]) -> None:
        self.items = iter([encoder.feeds([text], names) for text in texts])

    def get_next(self):  # noqa: ANN201 (onnxruntime's interface)
        return next(self.items, None)


def build_variants(args: argparse.Namespace, encoder: Encoder, workdir: str) -> dict[str, str]:
    variants = {"fp32": args.onnx}
    wanted = set(args.variants.split(","))
    try:
        if "fused" not in wanted:
            raise RuntimeError("not requested")
        from onnxruntime.transformers.optimizer import optimize_model

        fused = optimize_model(args.onnx, model_type="bert", opt_level=0, use_gpu=False)
        fused_path = os.path.join(workdir, "fused.onnx")
        fused.save_model_to_file(fused_path)
        print("fused operators:", fused.get_fused_operator_statistics(), file=sys.stderr)
        variants["fused"] = fused_path
    except Exception as error:  # a failed fusion is a result, not a crash
        print(f"fusion failed: {error}", file=sys.stderr)
    if args.dynamic and "dyn-int8" in wanted:
        variants["dyn-int8"] = args.dynamic
    names = [i.name for i in session_for(args.onnx, 1).get_inputs()]
    # Per-channel DequantizeLinear (axis) needs opset >= 13; exported BERTs are often opset 11/12.
    model = onnx.load(args.onnx)
    source = args.onnx
    if max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) < 13:
        source = os.path.join(workdir, "opset13.onnx")
        onnx.save(version_converter.convert_version(model, 13), source)
    calibration = read_calibration(args.calibration, args.calibration_count)
    for label, fmt in (("qdq-u8s8", QuantFormat.QDQ), ("qop-u8s8", QuantFormat.QOperator)):
        if label not in wanted:
            continue
        path = os.path.join(workdir, f"{label}.onnx")
        quantize_static(
            source,
            path,
            Reader(encoder, calibration, names),
            quant_format=fmt,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            reduce_range=args.reduce_range,
        )
        variants[label] = path
    return variants


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--pooling", choices=["mean", "cls"], default="mean")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--sts", required=True)
    parser.add_argument("--calibration", required=True)
    parser.add_argument("--calibration-count", type=int, default=256)
    parser.add_argument("--dynamic")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--speed-sentences", type=int, default=512)
    parser.add_argument("--batch-sizes", default="1,32,128")
    parser.add_argument("--variants", default="fused,dyn-int8,qdq-u8s8,qop-u8s8", help="besides fp32")
    parser.add_argument(
        "--reduce-range", action="store_true", help="7-bit weights (onnxruntime's advice on CPUs without VNNI)"
    )
    parser.add_argument("--out")
    args = parser.parse_args()

    encoder = Encoder(args.tokenizer, args.max_tokens)
    left, right, gold = read_pairs(args.sts)
    unique = list(dict.fromkeys(left + right))
    speed_texts = unique[: args.speed_sentences]
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    with tempfile.TemporaryDirectory() as workdir:
        variants = build_variants(args, encoder, workdir)
        sessions = {label: session_for(path, args.threads) for label, path in variants.items()}
        results: dict[str, dict] = {label: {"speed": {}} for label in variants}
        # Quality and batch invariance.
        probe = unique[:32]
        for label, session in sessions.items():
            vectors = {}
            for start in range(0, len(unique), 64):
                group = unique[start : start + 64]
                for text, vector in zip(group, embed(session, encoder, group, args.pooling), strict=True):
                    vectors[text] = vector
            cosine = [float(np.dot(vectors[a], vectors[b])) for a, b in zip(left, right, strict=True)]
            results[label]["spearman"] = 100 * spearmanr(cosine, gold).statistic
            batched = embed(session, encoder, probe, args.pooling)
            alone = np.stack([embed(session, encoder, [text], args.pooling)[0] for text in probe])
            results[label]["batch_invariance_max_abs"] = float(np.abs(batched - alone).max())
        # Speed: interleaved repeats.
        for bs in batch_sizes:
            texts = speed_texts[: max(bs * 4, min(len(speed_texts), 128 if bs == 1 else len(speed_texts)))]
            for session in sessions.values():
                embed(session, encoder, texts[:bs], args.pooling)  # warm-up
            samples: dict[str, list[float]] = {label: [] for label in sessions}
            for _ in range(args.repeats):
                for label, session in sessions.items():
                    start = time.perf_counter()
                    for offset in range(0, len(texts), bs):
                        embed(session, encoder, texts[offset : offset + bs], args.pooling)
                    samples[label].append(len(texts) / (time.perf_counter() - start))
            for label in sessions:
                results[label]["speed"][bs] = {
                    "median": statistics.median(samples[label]),
                    "samples": samples[label],
                    "sentences": len(texts),
                }
    base = results["fp32"]
    header = ["variant", "Spearman x100", "Δ vs fp32"] + [f"bs={bs} sent/s (×fp32)" for bs in batch_sizes]
    print("| " + " | ".join(header + ["alone vs batch max |Δ|"]) + " |")
    print("|" + "---|" * (len(header) + 1))
    for label, result in results.items():
        cells = [label, f"{result['spearman']:.2f}", f"{result['spearman'] - base['spearman']:+.2f}"]
        for bs in batch_sizes:
            speed = result["speed"][bs]["median"]
            cells.append(f"{speed:.1f} ({speed / base['speed'][bs]['median']:.2f})")
        cells.append(f"{result['batch_invariance_max_abs']:.1e}")
        print("| " + " | ".join(cells) + " |")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump({"versions": {"onnxruntime": ort.__version__}, "results": results}, handle, indent=1)


if __name__ == "__main__":
    main()
