"""Throughput of the Python stack fastembed uses: onnxruntime + tokenizers (PyPI).

Measures end to end, per batch of sentences: `Tokenizer.encode_batch` (padding to
the longest in the batch, truncation at the catalog's maxTokens), numpy int64
inputs, `InferenceSession.run` (graph optimisation all, intra_op_num_threads from
the config, sequential), masked mean or [CLS] pooling and L2 normalisation in
numpy, the way fastembed's text models do it.

Run by bench/throughput.ts inside bench/.venv (which it creates), as a protocol
worker: `bench/.venv/bin/python bench/python/throughput.py '<config json>'`,
then JSON commands on stdin and `@@`-prefixed JSON replies on stdout (see
bench/lib/bench-worker.ts). Standalone, printing one JSON document:
`bench/.venv/bin/python bench/python/throughput.py --standalone '<config json>' 1,8,32,128`
(the config needs onnxPath, tokenizerPath, sentencesPath, maxTokens, pooling, threads).
Peak RSS is `resource.getrusage(RUSAGE_SELF).ru_maxrss` (KiB on Linux).
"""

import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
import tokenizers
from tokenizers import Tokenizer

REPLY_PREFIX = "@@"


def max_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def current_rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


class Engine:
    def __init__(self, config: dict) -> None:
        self.config = config
        with open(config["sentencesPath"], encoding="utf-8") as handle:
            self.sentences: list[str] = json.load(handle)
        tokenizer = Tokenizer.from_file(config["tokenizerPath"])
        # The jar's tokenizer.json pads/truncates at a fixed 128: replace both
        # with what the catalog says (pad to the longest of each batch).
        pad_id = tokenizer.token_to_id("[PAD]")
        tokenizer.enable_padding(pad_id=pad_id if pad_id is not None else 0, pad_token="[PAD]")
        tokenizer.enable_truncation(max_length=config["maxTokens"])
        self.tokenizer = tokenizer
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = config["threads"]
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(
            config["onnxPath"], sess_options=options, providers=["CPUExecutionProvider"]
        )
        names = {item.name for item in self.session.get_inputs()}
        self.needs_token_types = "token_type_ids" in names
        outputs = [item.name for item in self.session.get_outputs()]
        self.output_name = "last_hidden_state" if "last_hidden_state" in outputs else outputs[0]
        self.cls = config["pooling"] == "cls"

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int, int]:
        """Unit vectors of `texts`, real tokens, padded tokens."""
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([item.ids for item in encodings], dtype=np.int64)
        mask = np.array([item.attention_mask for item in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self.needs_token_types:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run([self.output_name], feeds)[0]
        if self.cls:
            pooled = hidden[:, 0]
        else:
            expanded = mask[:, :, None].astype(np.float32)
            pooled = (hidden * expanded).sum(axis=1) / np.clip(expanded.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None), int(mask.sum()), int(mask.size)

    def run(self, batch_size: int, count: int | None) -> dict:
        texts = self.sentences[: count if count is not None else len(self.sentences)]
        tokens = padded = calls = 0
        start = time.perf_counter()
        for offset in range(0, len(texts), batch_size):
            _, real, total = self.embed(texts[offset : offset + batch_size])
            tokens += real
            padded += total
            calls += 1
        seconds = time.perf_counter() - start
        return {
            "seconds": seconds,
            "sentences": len(texts),
            "tokens": tokens,
            "paddedTokens": padded,
            "calls": calls,
            "maxRssKb": max_rss_kb(),
        }


def versions() -> dict:
    return {
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": np.__version__,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
    }


def reply(value: dict) -> None:
    sys.stdout.write(REPLY_PREFIX + json.dumps(value) + "\n")
    sys.stdout.flush()


def serve(config: dict) -> None:
    start = time.perf_counter()
    engine = Engine(config)
    reply(
        {
            "ok": True,
            "loadSeconds": time.perf_counter() - start,
            "rssKb": current_rss_kb(),
            "maxRssKb": max_rss_kb(),
            "versions": versions(),
        }
    )
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        op = command["op"]
        if op == "exit":
            break
        try:
            if op == "run":
                reply({"ok": True, **engine.run(command["batchSize"], command.get("count"))})
            elif op == "vectors":
                vectors, _, _ = engine.embed(engine.sentences[: command["count"]])
                reply({"ok": True, "vectors": vectors.tolist()})
            else:
                reply({"ok": True})
        except Exception as error:  # reported to the orchestrator, which stops the run
            reply({"ok": False, "error": repr(error)})


def standalone(config: dict, batch_sizes: list[int], repeats: int = 3) -> None:
    engine = Engine(config)
    results = []
    for batch_size in batch_sizes:
        engine.run(batch_size, min(len(engine.sentences), max(64, 4 * batch_size)))  # warm-up
        runs = [engine.run(batch_size, None) for _ in range(repeats)]
        seconds = statistics.median(run["seconds"] for run in runs)
        results.append(
            {
                "batchSize": batch_size,
                "medianSeconds": seconds,
                "sentencesPerSecond": runs[0]["sentences"] / seconds,
                "tokensPerSecond": runs[0]["tokens"] / seconds,
                "maxRssKb": max_rss_kb(),
            }
        )
    print(json.dumps({"versions": versions(), "results": results}, indent=2))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--standalone":
        standalone(json.loads(sys.argv[2]), [int(size) for size in sys.argv[3].split(",")])
    else:
        serve(json.loads(sys.argv[1]))
