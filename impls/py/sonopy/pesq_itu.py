"""pesq_itu.py — issue 24: op metric.pesq through the `pesq` package (ludlows/python-pesq:
the ITU-T P.862 reference C code), the codec quality figures' PESQ. Input [2, n] float32:
reference and degraded; output [1] float32: MOS-LQO, P.862.2 wideband ('wb') at 16 kHz,
P.862 narrowband ('nb', P.862.1's mapping) at 8 kHz."""
import numpy as np

from sonopy.impl import Impl
from sonopy.worker import Unsupported


class PesqItu(Impl):
    summary = "pesq package (ITU-T P.862 reference code)"

    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        try:
            import pesq as mod
        except ImportError:
            raise Unsupported("pesq not installed (pip install pesq==0.0.4: "
                              "ci/py-requirements.txt)")
        self.mod = mod
        self.rate = int(params.get("sample_rate", 16000))
        self.mode = "nb" if self.rate == 8000 else "wb"

    def load(self, x):
        # the package converts to float32 itself; double keeps our samples as given
        self.ref = np.ascontiguousarray(x[0], dtype=np.float64)
        self.deg = np.ascontiguousarray(x[1], dtype=np.float64)
        self.loaded = True

    def call(self):
        self.y = np.array([self.mod.pesq(self.rate, self.ref, self.deg, self.mode)],
                          dtype=np.float32)

    def describe(self):
        v = getattr(self.mod, "__version__", "?")
        return "pesq %s, mode %s at %d Hz" % (v, self.mode, self.rate)


IMPLS = {"metric.pesq": PesqItu}
