"""resample.py — py/torchaudio (issue 14): the resample op as a PyTorch user writes it,
torchaudio.functional.resample(x, rate_in, rate_out) with its defaults (Hann-windowed sinc,
6 zero crossings, rolloff 0.99: a short filter, fast and soft). Layout: harness/ops/
resample_op.c; torchaudio returns ceil(n_in * rate_out / rate_in) samples, aligned at 0,
so the op's floor(n_in * rate_out / rate_in) are its first ones."""
import torch
import torchaudio.functional as AF

from sonopy.impl import nbytes
from sonopy.ops_torch import TorchImpl


class Resample(TorchImpl):
    def load(self, x):
        p = self.p
        self.ri, self.ro = int(p.get("rate_in", 44100)), int(p.get("rate_out", 16000))
        n_in = int(round(float(p.get("seconds", 10)) * self.ri))
        if x.shape != (n_in,):
            raise ValueError("resample: input has shape %s, want [%d]" % (list(x.shape), n_in))
        self.n_out = n_in * self.ro // self.ri
        self.x = self.to_dev(x)
        self.summary = "torchaudio.functional.resample(x, %d, %d) (defaults: sinc_interp_hann, " \
                       "lowpass_filter_width 6, rolloff 0.99) on %s" % (self.ri, self.ro, self.dev)
        self.loaded = True

    def call(self):
        self.y = AF.resample(self.x, self.ri, self.ro)

    def result(self):
        return self.y[:self.n_out].to(torch.float32).cpu().numpy()

    def workspace(self):
        return nbytes(self.x)


IMPLS = {"resample": Resample}
