"""ops_test.py — planted failures, for the tests only (the plugin registers them, and the
worker serves them, only with SONO_PY_TEST_IMPLS=1): a peer with the wrong sign
convention, one that raises in setup, one that segfaults in run, one that hangs."""
import ctypes
import time

import numpy as np

from sonopy.impl import Impl


class Wrong(Impl):
    """e^{+2 pi i jk/n}: numpy.fft.ifft scaled by n, the classic sign slip."""

    def load(self, x):
        self.x = x
        self.loaded = True

    def call(self):
        self.y = np.fft.ifft(self.x, axis=-1) * self.x.shape[-1]


class Raise(Impl):
    def __init__(self, op, params, device):
        raise ValueError("test-raise: planted failure in setup (n=%s)" % params.get("n"))


class Crash(Wrong):
    def call(self):
        ctypes.string_at(0)  # reads address 0: SIGSEGV in native code


class Hang(Wrong):
    def call(self):
        while True:
            time.sleep(1)


BY_NAME = {"test-wrong": Wrong, "test-raise": Raise, "test-crash": Crash, "test-hang": Hang}
