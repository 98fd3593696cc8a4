"""ops_numpy.py — py/numpy: the ops as a NumPy user writes them. numpy.fft (pocketfft,
single-threaded; numpy 1.x computes in float64 and returns complex128, which store rounds
to complex64); the front ends as numpy.pad + a strided frame view + numpy.fft.rfft over
the frames + a filterbank matmul (BLAS, threads through threadpoolctl)."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sonopy import dsp
from sonopy.impl import Impl, blas_threads, nbytes, worker_note


def np_note():
    return "numpy %s" % np.__version__


class Nop(Impl):
    summary = "identity: the worker's own cost per timed call (Python loop + call)"

    def load(self, x):
        self.x = x
        self.loaded = True

    def call(self):
        self.y = self.x

    def describe(self):
        return "%s; %s; %s" % (self.summary, np_note(), worker_note())


class FFT(Impl):
    def load(self, x):
        self.x = x
        self.loaded = True

    def call(self):
        if self.op == "rfft":
            self.y = np.fft.rfft(self.x, axis=-1)
        else:
            self.y = np.fft.fft(self.x, axis=-1)

    def describe(self):
        dt = self.y.dtype if self.y is not None else "?"
        return "numpy.fft.%s(x, axis=-1), pocketfft, threads=1 (numpy.fft is " \
               "single-threaded), computes in %s; %s; %s" % (self.op, dt, np_note(), worker_note())

    def workspace(self):
        return nbytes(self.x, self.y)


class Frontend(Impl):
    """stft, melspec, logmel, mfcc: frames of the padded signal, windowed, rfft, then the
    op's steps; every step numpy's, in numpy's own dtype promotion."""

    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        self.limiter, self.threads_note = blas_threads(self.threads)

    def load(self, x):
        # batch > 1 (issue 10): x is [batch, samples], each row a clip of its own
        d = self.d = dsp.Dims(self.op, self.p, x.shape[-1])
        self.x = x
        self.win = dsp.window(d)
        self.fb = dsp.melbank(d) if self.op != "stft" else None
        self.dct = dsp.dct_ortho(d) if self.op == "mfcc" else None
        self.loaded = True

    def spectrum(self, x):
        """X [frames, nbins] of the definition's frames (logmel: all but the last)."""
        d = self.d
        if d.pad_or_trim:  # Whisper's pad_or_trim to 30 s
            x = x[:d.used] if x.shape[0] >= d.used else np.pad(x, (0, d.used - x.shape[0]))
        if d.center:
            x = np.pad(x, d.n_fft // 2, mode="reflect")
        frames = sliding_window_view(x, d.n_fft)[::d.hop][:d.frames]
        return np.fft.rfft(frames * self.win, axis=-1)

    def clip(self, x):
        d = self.d
        X = self.spectrum(x)
        if self.op == "stft":
            if d.output == "complex":
                return X.T
            if d.output == "magnitude":
                return np.abs(X).T
            return (X.real ** 2 + X.imag ** 2).T
        S = X.real ** 2 + X.imag ** 2 if d.power == 2.0 else np.abs(X) ** d.power
        M = self.fb @ S.T  # [n_mels, frames]
        if self.op == "melspec":
            return M
        if self.op == "logmel":
            L = np.log10(np.maximum(M, 1e-10))
            L = np.maximum(L, L.max() - 8.0)
            return (L + 4.0) / 4.0
        D = 10.0 * np.log10(np.maximum(M, 1e-10))
        if d.top_db > 0:
            D = np.maximum(D, D.max() - d.top_db)
        return self.dct @ D

    def call(self):
        if self.x.ndim == 1:
            self.y = self.clip(self.x)
        else:  # a plain loop over the clips, as a NumPy user batches
            self.y = np.stack([self.clip(x) for x in self.x])

    def describe(self):
        return "numpy.pad(reflect) + sliding_window_view + numpy.fft.rfft over frames " \
               "(pocketfft, single-threaded) + filterbank/DCT matmul%s; window, filterbank, " \
               "DCT in float64 rounded to float32; %s; %s; %s" % (
                   ", a Python loop over batch=%d clips" % self.x.shape[0]
                   if self.x.ndim == 2 else "", self.threads_note, np_note(), worker_note())

    def workspace(self):
        return nbytes(self.x, self.y, self.win, self.fb, self.dct)

    def close(self):
        if self.limiter is not None:
            self.limiter.restore_original_limits()
            self.limiter = None


IMPLS = {"nop": Nop, "fft": FFT, "rfft": FFT, "stft": Frontend, "melspec": Frontend,
         "logmel": Frontend, "mfcc": Frontend}
