"""Reference values for embedkit's CLAP audio front-end (fusion off), computed once.

Run in a throwaway virtualenv (never at run time, never in CI):

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy librosa soundfile transformers
    /tmp/venv/bin/python scripts/audio/make-clap-mel-fixture.py

It writes two files:

- test/fixtures/audio/clap-tone-48k.wav: 1.25 s of a deterministic 48 kHz 16-bit test signal (a
  rising chirp, two steady partials, a short noise burst and a silent gap), so embedkit and this
  script see exactly the same samples (no resampler in between);
- test/fixtures/audio/clap-logmel.json: the `input_features` Hugging Face's own
  `ClapFeatureExtractor` (transformers, numpy path; no torch needed for truncation="rand_trunc")
  computes for that clip with laion/clap-htsat-unfused's settings — the clip is shorter than
  10 s, so it is repeat-padded (8 copies, then zeros) and no random crop happens. Stored: selected
  frames in full, the per-band mean over all 1001 frames, and summary numbers. The same features
  are recomputed independently with librosa (melspectrogram with pad_mode="reflect", Slaney
  mel + norm, power_to_db) and the largest difference is recorded, to show the two agree.
"""
import importlib
import json
import wave

import librosa
import numpy as np
import transformers

WAV = "test/fixtures/audio/clap-tone-48k.wav"
OUT = "test/fixtures/audio/clap-logmel.json"
SR = 48000

# laion/clap-htsat-unfused preprocessor_config.json (fusion off: truncation rand_trunc).
SETTINGS = dict(
    feature_size=64,
    sampling_rate=SR,
    hop_length=480,
    max_length_s=10,
    fft_window_size=1024,
    frequency_min=50,
    frequency_max=14000,
    padding="repeatpad",
    truncation="rand_trunc",
)

# --- the test signal (deterministic) ---------------------------------------------------------
n = int(1.25 * SR)
t = np.arange(n) / SR
chirp = 0.3 * np.sin(2 * np.pi * (200 * t + 0.5 * (6000 - 200) / 1.25 * t * t))
partials = 0.1 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.sin(2 * np.pi * 3000 * t)
noise = np.random.RandomState(7).uniform(-0.2, 0.2, n) * ((t > 0.6) & (t < 0.75))
signal = chirp + partials + noise
signal[(t > 0.9) & (t < 1.0)] = 0.0  # a silent gap: exercises the 1e-10 floor region
pcm = np.clip(np.round(signal * 32767), -32768, 32767).astype("<i2")
with wave.open(WAV, "wb") as out:
    out.setnchannels(1)
    out.setsampwidth(2)
    out.setframerate(SR)
    out.writeframes(pcm.tobytes())
samples = pcm.astype(np.float32) / 32768.0  # what embedkit's WAV reader gives

# --- Hugging Face ClapFeatureExtractor ----------------------------------------------------------
module = importlib.import_module("transformers.models.clap.feature_extraction_clap")
extractor = module.ClapFeatureExtractor(**SETTINGS)
features = extractor(samples, sampling_rate=SR, return_tensors="np")["input_features"]
assert features.shape == (1, 1, 1001, 64), features.shape
mel = features[0, 0].astype(np.float64)  # frames x bands

# --- independent recomputation with librosa ---------------------------------------------------
copies = int(480000 / len(samples))
padded = np.pad(np.tile(samples, copies), (0, 480000 - copies * len(samples)))
power = librosa.feature.melspectrogram(
    y=padded.astype(np.float64), sr=SR, n_fft=1024, hop_length=480, window="hann", center=True,
    pad_mode="reflect", power=2.0, n_mels=64, fmin=50, fmax=14000, htk=False, norm="slaney",
)
librosa_db = librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=None).T

FRAMES = list(range(0, 6)) + [100, 125, 250, 500, 937, 938, 959, 960, 961, 962, 999, 1000]
json.dump(
    {
        "source": WAV,
        "transformers": transformers.__version__,
        "librosa": librosa.__version__,
        "numpy": np.__version__,
        "settings": SETTINGS,
        "samples": int(len(samples)),
        "repeats": copies,
        "shape": list(features.shape),
        "frames": {str(f): [round(float(v), 5) for v in mel[f]] for f in FRAMES},
        "bandMeans": [round(float(v), 5) for v in mel.mean(axis=0)],
        "min": float(mel.min()),
        "max": float(mel.max()),
        "mean": float(mel.mean()),
        "librosaMaxAbsDifferenceDb": float(np.abs(librosa_db - mel).max()),
    },
    open(OUT, "w"),
)
print(f"wrote {WAV} and {OUT}; max |HF - librosa| = {np.abs(librosa_db - mel).max():.2e} dB")
