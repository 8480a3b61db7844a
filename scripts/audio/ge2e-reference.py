"""Reference GE2E (resemblyzer) speaker embeddings computed with numpy, for
embedkit's tests. Run once in a throwaway virtualenv, never at run time:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy librosa soundfile
    pip download --no-deps resemblyzer==0.1.4 -d /tmp/rz && unzip /tmp/rz/*.whl -d /tmp/rz
    /tmp/venv/bin/python scripts/audio/ge2e-reference.py /tmp/rz/resemblyzer/pretrained.pt \
        > test/fixtures/audio/ge2e-reference.json

It re-implements resemblyzer 0.1.4's VoiceEncoder.embed_utterance (voice_encoder.py,
audio.py, hparams.py) without torch: the checkpoint is read with a restricted
unpickler (tensors only), the 3-layer LSTM (PyTorch gate order i, f, g, o), the
linear layer, ReLU and L2 norm run in float64 numpy. Preprocessing follows
preprocess_wav except the webrtcvad silence trimming (FSDD clips are already
trimmed; embedkit does not trim either): librosa resample to 16 kHz (soxr_hq),
volume normalised to -30 dBFS (increase only), partials of 160 frames at rate
1.3/s with min_coverage 0.75, mel = librosa.feature.melspectrogram(n_fft=400,
hop=160, n_mels=40) (power, not log).
"""
import collections
import glob
import json
import os
import pickle
import sys

import librosa
import numpy as np

SR = 16000
HOP = 160
PARTIAL = 160


class TensorUnpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        return pid

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, size, stride, *rest: (storage[2], offset, size, stride)
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch" and name.endswith("Storage"):
            return name
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def load_weights(path):
    with open(path, "rb") as f:
        for _ in range(3):
            pickle.load(f)
        state = TensorUnpickler(f).load()["model_state"]
        keys = pickle.load(f)
        blobs = {}
        for key in keys:
            n = int.from_bytes(f.read(8), "little")
            blobs[key] = np.frombuffer(f.read(n * 4), dtype="<f4")
    out = {}
    for name, (key, offset, size, stride) in state.items():
        arr = np.lib.stride_tricks.as_strided(blobs[key][offset:], shape=size, strides=[s * 4 for s in stride])
        out[name] = np.array(arr, dtype=np.float64)
    return out


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def forward(w, mels):
    """mels: (batch, frames, 40) -> ReLU(linear(h_last)) L2-normalised, (batch, 256)."""
    x = mels.astype(np.float64)
    h_last = None
    for layer in range(3):
        wi, wh = w[f"lstm.weight_ih_l{layer}"], w[f"lstm.weight_hh_l{layer}"]
        b = w[f"lstm.bias_ih_l{layer}"] + w[f"lstm.bias_hh_l{layer}"]
        batch, frames, _ = x.shape
        h = np.zeros((batch, 256))
        c = np.zeros((batch, 256))
        ys = []
        for t in range(frames):
            g = x[:, t] @ wi.T + h @ wh.T + b
            i, f, gg, o = sigmoid(g[:, :256]), sigmoid(g[:, 256:512]), np.tanh(g[:, 512:768]), sigmoid(g[:, 768:])
            c = f * c + i * gg
            h = o * np.tanh(c)
            ys.append(h)
        x = np.stack(ys, axis=1)
        h_last = h
    raw = np.maximum(0, h_last @ w["linear.weight"].T + w["linear.bias"])
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def partial_slices(n_samples, rate=1.3, min_coverage=0.75):
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    frame_step = int(np.round((SR / rate) / HOP))
    slices = [(i, i + PARTIAL) for i in range(0, max(1, n_frames - PARTIAL + frame_step + 1), frame_step)]
    start, stop = slices[-1][0] * HOP, slices[-1][1] * HOP
    if (n_samples - start) / (stop - start) < min_coverage and len(slices) > 1:
        slices = slices[:-1]
    return slices


def embed(w, wav):
    rms = np.sqrt(np.mean((wav * 32767) ** 2))
    change = -30 - 20 * np.log10(rms / 32767)
    if change > 0:
        wav = wav * 10 ** (change / 20)
    slices = partial_slices(len(wav))
    need = slices[-1][1] * HOP
    if need >= len(wav):
        wav = np.pad(wav, (0, need - len(wav)))
    mel = librosa.feature.melspectrogram(y=wav, sr=SR, n_fft=400, hop_length=HOP, n_mels=40).astype(np.float32).T
    mels = np.array([mel[a:b] for a, b in slices])
    partials = forward(w, mels)
    raw = partials.mean(axis=0)
    return raw / np.linalg.norm(raw), mels[0]


def main():
    weights = load_weights(sys.argv[1])
    files = sorted(glob.glob("test/fixtures/audio/*_0.wav"))
    result = {"resemblyzer": "0.1.4", "librosa": librosa.__version__, "vad": False, "embeddings": {}}
    for path in files:
        wav, _ = librosa.load(path, sr=SR)
        vector, first_mel = embed(weights, wav)
        result["embeddings"][os.path.basename(path)] = [round(float(v), 7) for v in vector]
        if "mel" not in result:
            # One partial's exact model input and output, to check the network alone.
            result["mel"] = {"file": os.path.basename(path), "rows": [[float(v) for v in row] for row in first_mel],
                             "embedding": [round(float(v), 7) for v in forward(weights, first_mel[None])[0]]}
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
