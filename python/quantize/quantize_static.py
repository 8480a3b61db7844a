"""embedkit's static int8 quantizer: onnxruntime's own quantize_static on a pinned fp32 graph.

Called by embedkit (src/models/quantize.ts) inside its pinned venv; not a user tool.
  python quantize_static.py --input model.onnx --tokenizer tokenizer.json --calibration en.txt
      --output out.onnx --max-tokens 256 [--reduce-range]
      [--exclude-nodes a,b] [--keep-fp32 REGEX] [--weights-only] [--count 128]
QDQ format, per-channel s8 weights, u8 activations, MatMul only (the recipe is chosen per model by
measurement, see docs/MODELS.md). Calibration: one sentence per run, in file order, on one thread
(fixed order and threads keep the activation ranges, hence the bytes, reproducible). The output
is loaded once with onnxruntime before this script reports success. Prints one JSON line.
"""

import argparse
import json
import os
import re
import signal
import sys
import tempfile

import onnx
import onnxruntime as ort
from onnx import version_converter
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from tokenizers import Tokenizer


def one_thread_sessions() -> None:
    """The calibrator makes its own session with default options; pin it to one thread."""
    original = ort.SessionOptions

    def options() -> ort.SessionOptions:
        made = original()
        made.intra_op_num_threads = 1
        made.inter_op_num_threads = 1
        return made

    ort.SessionOptions = options  # type: ignore[misc]


class Reader(CalibrationDataReader):
    def __init__(self, tokenizer: Tokenizer, texts: list[str], names: list[str]) -> None:
        import numpy as np

        rows = []
        for text in texts:
            encoded = tokenizer.encode(text)
            ids = np.array([encoded.ids], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            if "token_type_ids" in names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            rows.append(feeds)
        self.items = iter(rows)

    def get_next(self):  # noqa: ANN201 (onnxruntime's interface)
        return next(self.items, None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--calibration", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--max-tokens", type=int, required=True)
    parser.add_argument("--count", type=int, default=0, help="first N sentences (0: all)")
    parser.add_argument("--reduce-range", action="store_true")
    parser.add_argument("--exclude-nodes", default="")
    parser.add_argument("--keep-fp32", default="", help="regular expression of node names left fp32")
    parser.add_argument(
        "--weights-only",
        action="store_true",
        help="quantize only MatMuls with a weight (initializer) input, not attention's activation x activation ones",
    )
    args = parser.parse_args()

    with open(args.calibration, encoding="utf-8") as handle:
        texts = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    if args.count > 0:
        texts = texts[: args.count]
    tokenizer = Tokenizer.from_file(args.tokenizer)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=args.max_tokens)

    one_thread_sessions()
    model = onnx.load(args.input)
    names = [i.name for i in model.graph.input]
    excluded = [n for n in args.exclude_nodes.split(",") if n]
    if args.keep_fp32:
        pattern = re.compile(args.keep_fp32)
        excluded += [node.name for node in model.graph.node if pattern.search(node.name)]
    if args.weights_only:
        weights = {init.name for init in model.graph.initializer}
        excluded += [
            node.name
            for node in model.graph.node
            if node.op_type == "MatMul" and not any(name in weights for name in node.input)
        ]
    workdir = os.path.dirname(os.path.abspath(args.output))
    source = args.input
    # Per-channel DequantizeLinear (axis) needs opset >= 13; exported BERTs are often opset 11/12.
    if max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) < 13:
        handle, source = tempfile.mkstemp(suffix=".onnx", dir=workdir)
        os.close(handle)
        onnx.save(version_converter.convert_version(model, 13), source)
    del model
    try:
        quantize_static(
            source,
            args.output,
            Reader(tokenizer, texts, names),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            reduce_range=args.reduce_range,
            nodes_to_exclude=excluded,
            extra_options={"CalibTensorRangeSymmetric": False},
        )
    finally:
        if source != args.input:
            os.remove(source)
    ort.InferenceSession(args.output, providers=["CPUExecutionProvider"])
    quantized = onnx.load(args.output)
    count = sum(1 for node in quantized.graph.node if node.op_type == "DequantizeLinear")
    print(json.dumps({"ok": True, "sentences": len(texts), "dequantizeNodes": count, "onnxruntime": ort.__version__}))


if __name__ == "__main__":
    # Stopped by the caller: unwind, so temporary folders are removed (the caller removes its own too).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        main()
    except Exception as error:  # one line the caller can show
        print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
        sys.exit(1)
