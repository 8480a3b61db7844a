"""Reference values for embedkit's audio front-end, computed once with librosa.

Run in a throwaway virtualenv (never at run time, never in CI):

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy librosa soundfile
    /tmp/venv/bin/python scripts/audio/make-mel-fixture.py > test/fixtures/audio/librosa-mel.json

Input: test/fixtures/audio/0_jackson_0.wav (FSDD, 8 kHz mono 16-bit). The mel
checks run at the file's own rate, so they test the spectrogram code alone; the
resampling check compares against librosa's default resampler (soxr_hq).
"""
import json
import sys

import librosa
import numpy as np

PATH = "test/fixtures/audio/0_jackson_0.wav"
y, sr = librosa.load(PATH, sr=None, mono=True)
assert sr == 8000, sr

# (a) the GE2E front-end's settings scaled to 8 kHz: 25 ms window, 10 ms hop, 40 mels,
# power mel spectrogram (not log), n_fft = 200 (not a power of two).
ge2e = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=200, hop_length=80, n_mels=40)
# (b) the MFCC baseline's settings at 8 kHz: n_fft 256, 25 ms window, 10 ms hop, 40 mels,
# power_to_db(top_db=80), 20 orthonormal DCT-II coefficients.
mel_b = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=256, win_length=200, hop_length=80, n_mels=40)
log_b = librosa.power_to_db(mel_b, top_db=80.0)
mfcc_b = librosa.feature.mfcc(S=log_b, n_mfcc=20)
# (c) resampling 8 kHz -> 16 kHz with librosa's default (soxr_hq).
y16 = librosa.resample(y, orig_sr=sr, target_sr=16000)


def rows(matrix, count):
    return [[round(float(v), 7) for v in row] for row in matrix.T[:count]]


json.dump(
    {
        "source": PATH,
        "librosa": librosa.__version__,
        "numpy": np.__version__,
        "sampleRate": sr,
        "samples": int(len(y)),
        "ge2eMel": {"nFft": 200, "hopLength": 80, "melBands": 40, "frames": int(ge2e.shape[1]),
                    "firstRows": rows(ge2e, 40), "sum": float(ge2e.sum())},
        "mfcc": {"nFft": 256, "windowLength": 200, "hopLength": 80, "melBands": 40, "coefficients": 20,
                 "topDb": 80, "frames": int(mfcc_b.shape[1]),
                 "logMelRows": rows(log_b, 40), "mfccRows": rows(mfcc_b, 40)},
        "resample16k": {"samples": int(len(y16)), "head": [round(float(v), 6) for v in y16[:3000]]},
    },
    sys.stdout,
)
sys.stdout.write("\n")
