"""dsp.py — the audio front ends' definitions as the peers need them (from
harness/ops/dsp_common.h, not from its code): sizes from params, periodic windows, the
mel filterbank (librosa.filters.mel) and the orthonormal DCT-II, each evaluated in
float64 and rounded once to float32, which the op's tolerances assume."""
import math

import numpy as np


class Dims:
    def __init__(self, op, p, samples):
        is_log, is_stft, is_mel = op == "logmel", op == "stft", op == "melspec"
        self.sample_rate = 16000 if is_log else int(p.get("sample_rate", 16000))
        self.samples = samples
        self.pad_or_trim = is_log and int(p.get("pad_or_trim", 1)) == 1
        self.used = 480000 if self.pad_or_trim else samples
        self.n_fft = 400 if is_log else int(p.get("n_fft", 1024 if is_mel else 512))
        self.hop = 160 if is_log else int(p.get("hop", 128 if is_stft else 256 if is_mel else 160))
        self.win_length = int(p.get("win_length", 0)) if is_stft else 0
        self.win_length = self.win_length or self.n_fft
        self.window = str(p.get("window", "hann")) if is_stft else "hann"
        self.center = int(p.get("center", 1)) if is_stft else 1
        self.output = str(p.get("output", "power")) if is_stft else "power"
        self.nbins = self.n_fft // 2 + 1
        self.power = float(p.get("power", 2.0)) if is_mel else 2.0
        self.n_mels = int(p.get("n_mels", 80 if is_log else 128 if is_mel else 40))
        self.fmin = 0.0 if is_log else float(p.get("fmin", 0.0))
        fmax = 8000.0 if is_log else float(p.get("fmax", 0.0))
        self.fmax = fmax if fmax > 0 else self.sample_rate / 2
        self.htk = not is_log and p.get("mel_scale", "slaney") == "htk"
        self.slaney_norm = is_log or p.get("norm", "slaney") == "slaney"
        self.n_mfcc = int(p.get("n_mfcc", 13))
        self.top_db = float(p.get("top_db", 80.0))
        padded = self.used + (2 * (self.n_fft // 2) if self.center else 0)
        self.frames = 1 + (padded - self.n_fft) // self.hop - (1 if is_log else 0)


def window(d):
    """The periodic window of win_length, centred in n_fft zeros, float32."""
    n = d.win_length
    t = 2.0 * math.pi * np.arange(n, dtype=np.float64) / n
    if d.window == "hann":
        w = 0.5 - 0.5 * np.cos(t)
    elif d.window == "hamming":
        w = 0.54 - 0.46 * np.cos(t)
    elif d.window == "blackman":
        w = 0.42 - 0.5 * np.cos(t) + 0.08 * np.cos(2.0 * t)
    else:
        raise ValueError("window %r is not hann, hamming or blackman" % d.window)
    full = np.zeros(d.n_fft, dtype=np.float64)
    lo = (d.n_fft - n) // 2
    full[lo:lo + n] = w
    return full.astype(np.float32)


def hz_to_mel(f, htk):
    f = np.asarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    return np.where(f < 1000.0, 3.0 * f / 200.0,
                    15.0 + 27.0 * np.log(np.maximum(f, 1e-300) / 1000.0) / math.log(6.4))


def mel_to_hz(m, htk):
    m = np.asarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m < 15.0, 200.0 * m / 3.0, 1000.0 * np.exp((m - 15.0) * math.log(6.4) / 27.0))


def melbank(d):
    """W [n_mels, nbins], float32: triangles between mel-spaced Hz points (slaney norm:
    each times 2 / its width)."""
    lo, hi = hz_to_mel(d.fmin, d.htk), hz_to_mel(d.fmax, d.htk)
    f = mel_to_hz(lo + (hi - lo) * np.arange(d.n_mels + 2) / (d.n_mels + 1), d.htk)
    hz = np.arange(d.nbins, dtype=np.float64) * d.sample_rate / d.n_fft
    up = (hz[None, :] - f[:-2, None]) / (f[1:-1] - f[:-2])[:, None]
    down = (f[2:, None] - hz[None, :]) / (f[2:] - f[1:-1])[:, None]
    w = np.maximum(0.0, np.minimum(up, down))
    if d.slaney_norm:
        w *= (2.0 / (f[2:] - f[:-2]))[:, None]
    return w.astype(np.float32)


def dct_ortho(d):
    """The first n_mfcc rows of the orthonormal DCT-II of n_mels, float32."""
    m = np.arange(d.n_mels, dtype=np.float64)
    c = np.arange(d.n_mfcc, dtype=np.float64)[:, None]
    D = np.cos(math.pi * c * (2.0 * m + 1.0) / (2.0 * d.n_mels)) * math.sqrt(2.0 / d.n_mels)
    D[0] *= math.sqrt(0.5)
    return D.astype(np.float32)
