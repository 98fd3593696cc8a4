"""generation.py — py/torch and py/torch-cuda of issue 25's generation blocks.

vocoder.hifigan: transformers' SpeechT5HifiGan (transformers.models.speecht5) as a TTS
user runs it, built from a SpeechT5HifiGanConfig of the case's size (harness/ops/hifigan.h:
V1 512 channels, V2 128, custom `channels`; rates 8 8 2 2, kernels 16 16 4 4, resblocks
3 7 11 with dilations 1 3 5, normalize_before) and loaded with the same safetensors file
the C impls read. A run is vocoder(mel.T) under no_grad.

wavenet.stack: a plain torch WaveNet stack as a practitioner writes it (harness/ops/
wavenet.h): nn.Conv1d(R, 2R, 2, dilation=d) on the left-padded input for both gates at
once, the conditioning as a 1x1 nn.Conv1d added to them, tanh * sigmoid, 1x1 skip and
residual convs; the weights are the ones packed in the op's input, copied into the
modules at load."""
import os

import numpy as np
import torch
import torch.nn.functional as F

from sonopy.impl import nbytes
from sonopy.ops_torch import TorchImpl
from sonopy.worker import Unsupported

HG_CONFIGS = {"v1": 512, "v2": 128}


def hg_channels(p):
    c = str(p.get("config", "v1"))
    if c == "custom":
        return int(p.get("channels", 32))
    if c not in HG_CONFIGS:
        raise ValueError("vocoder.hifigan: config=%s is not v1, v2 or custom" % c)
    return HG_CONFIGS[c]


def hg_weights_path(p, ch):
    """hifigan.h's rule: a path, or for "random" the seeded file under the cache."""
    w = str(p.get("weights", "random"))
    if w != "random":
        return w
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not base:
        home = os.environ.get("HOME") or ""
        base = home + "/.cache" if home else "build/cache"
    return "%s/sonobench/hifigan-ch%d-random-v1-seed%d.safetensors" % (
        base, ch, int(p.get("seed", 1)))


class HifiGan(TorchImpl):
    """Input F32 [80, frames]; output [frames * 256]."""

    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        import importlib.util

        if importlib.util.find_spec("transformers") is None:
            raise Unsupported("transformers not installed: pip install transformers for "
                              "SpeechT5HifiGan")
        try:
            import transformers
            from transformers import SpeechT5HifiGanConfig
            from transformers.models.speecht5.modeling_speecht5 import SpeechT5HifiGan
        except Exception as e:
            raise Unsupported("transformers has no usable SpeechT5HifiGan here (torch %s): "
                              "%s: %s" % (torch.__version__, type(e).__name__, e))
        ch = hg_channels(self.p)
        self.frames = int(self.p.get("frames", 862))
        self.path = hg_weights_path(self.p, ch)
        if not os.path.exists(self.path):
            if str(self.p.get("weights", "random")) == "random":
                raise Unsupported("weights=random: %s is not written yet" % self.path)
            raise ValueError("weights=%s: no such file" % self.path)
        from safetensors.torch import load_file

        state = load_file(self.path)
        cfg = SpeechT5HifiGanConfig(model_in_dim=80, upsample_initial_channel=ch,
                                    upsample_rates=[8, 8, 2, 2],
                                    upsample_kernel_sizes=[16, 16, 4, 4],
                                    resblock_kernel_sizes=[3, 7, 11],
                                    resblock_dilation_sizes=[[1, 3, 5]] * 3,
                                    leaky_relu_slope=0.1, normalize_before=True)
        if self.dev.type == "cuda":  # float32 products, as the C impls and the tolerance
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        net = SpeechT5HifiGan(cfg)
        want = net.state_dict()
        missing = [k for k in want if k not in state]
        if missing:
            raise ValueError("weights: %s lacks %s%s" % (self.path, missing[0],
                             " and %d more" % (len(missing) - 1) if len(missing) > 1 else ""))
        for k in want:
            if tuple(state[k].shape) != tuple(want[k].shape):
                raise ValueError("weights: %s: %s has shape %s, SpeechT5HifiGan's is %s" % (
                    self.path, k, list(state[k].shape), list(want[k].shape)))
        net.load_state_dict({k: state[k].float() for k in want}, strict=True)
        self.net = net.eval().to(self.dev)
        if self.dev.type == "cuda":
            torch.cuda.synchronize()
        self.weight_bytes = sum(nbytes(t) for t in self.net.state_dict().values())
        self.summary = "transformers %s SpeechT5HifiGan (%d channels) on %s, eval, no_grad, " \
                       "float32 (TF32 off); weights %s; %s" % (
                           transformers.__version__, ch, self.dev, self.path,
                           self.threads_note)
        self.x = self.y = None

    def load(self, x):
        if x.ndim != 2 or x.shape[0] != 80:
            raise ValueError("vocoder.hifigan: input has shape %s, want [80, frames]" %
                             list(x.shape))
        self.x = self.to_dev(np.ascontiguousarray(x.T))  # the module takes [frames, 80]
        self.loaded = True

    def call(self):
        with torch.no_grad():
            self.y = self.net(self.x)

    def result(self):
        return self.y.detach().to("cpu").float().numpy()

    def workspace(self):
        return self.weight_bytes + nbytes(self.x, self.y)


class WaveNetStack(torch.nn.Module):
    """The stack as a practitioner writes it: one dilated conv for both gates."""

    def __init__(self, R, S, Cc, dilations):
        super().__init__()
        self.R, self.dil = R, dilations
        self.inp = torch.nn.Conv1d(1, R, 1)
        self.gate = torch.nn.ModuleList(torch.nn.Conv1d(R, 2 * R, 2, dilation=d)
                                        for d in dilations)
        self.cond = torch.nn.ModuleList(torch.nn.Conv1d(Cc, 2 * R, 1, bias=False)
                                        for _ in dilations) if Cc else None
        self.res = torch.nn.ModuleList(torch.nn.Conv1d(R, R, 1) for _ in dilations)
        self.skip = torch.nn.ModuleList(torch.nn.Conv1d(R, S, 1) for _ in dilations)

    def forward(self, x, c):
        h = self.inp(x)
        out = 0
        for i, d in enumerate(self.dil):
            z = self.gate[i](F.pad(h, (d, 0)))
            if self.cond is not None:
                z = z + self.cond[i](c)
            a = torch.tanh(z[:, :self.R]) * torch.sigmoid(z[:, self.R:])
            out = out + self.skip[i](a)
            h = h + self.res[i](a)
        return out


class WaveNet(TorchImpl):
    """Input F32 packed (wavenet.h); output skip [S, T]."""

    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        p = self.p
        self.R = R = int(p.get("channels", 64))
        self.S = S = int(p.get("skip", 0)) or R
        self.Cc = Cc = int(p.get("cond", 0))
        cyc = int(p.get("cycle", 10))
        self.L = L = int(p.get("stacks", 3)) * cyc
        rate = int(p.get("sample_rate", 16000))
        self.T = int(round(float(p.get("seconds", 1.0)) * rate))
        if self.dev.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        self.net = WaveNetStack(R, S, Cc, [1 << (l % cyc) for l in range(L)]).eval()
        self.summary = "plain torch WaveNet stack (Conv1d gates R->2R k 2 dilated, 1x1 " \
                       "skip and residual; %d layers, R %d, S %d, cond %d) on %s, eval, " \
                       "no_grad, float32 (TF32 off); %s" % (L, R, S, Cc, self.dev,
                                                           self.threads_note)
        self.x = self.c = self.y = None

    def load(self, x):
        R, S, Cc, L, T = self.R, self.S, self.Cc, self.L, self.T
        per = 2 * (R * R * 2 + R + R * Cc) + R * R + R + S * R + S
        if x.ndim != 1 or x.shape[0] != (1 + Cc) * T + 2 * R + L * per:
            raise ValueError("wavenet.stack: input of %d values, %d expected" %
                             (x.size, (1 + Cc) * T + 2 * R + L * per))
        sig = x[:(1 + Cc) * T].reshape(1 + Cc, T)
        w = x[(1 + Cc) * T:]
        t = torch.from_numpy
        n = self.net
        with torch.no_grad():
            n.inp.weight.copy_(t(w[:R].reshape(R, 1, 1)))
            n.inp.bias.copy_(t(w[R:2 * R]))
            o = 2 * R
            for i in range(L):
                Wf = w[o:o + R * R * 2].reshape(R, R, 2); o += R * R * 2
                bf = w[o:o + R]; o += R
                Wg = w[o:o + R * R * 2].reshape(R, R, 2); o += R * R * 2
                bg = w[o:o + R]; o += R
                n.gate[i].weight.copy_(t(np.concatenate([Wf, Wg])))
                n.gate[i].bias.copy_(t(np.concatenate([bf, bg])))
                if Cc:
                    V = w[o:o + 2 * R * Cc].reshape(2 * R, Cc, 1)
                    n.cond[i].weight.copy_(t(V))
                o += 2 * R * Cc
                n.res[i].weight.copy_(t(w[o:o + R * R].reshape(R, R, 1))); o += R * R
                n.res[i].bias.copy_(t(w[o:o + R])); o += R
                n.skip[i].weight.copy_(t(w[o:o + S * R].reshape(S, R, 1))); o += S * R
                n.skip[i].bias.copy_(t(w[o:o + S])); o += S
        self.net = n.to(self.dev)
        self.x = self.to_dev(np.ascontiguousarray(sig[:1][None]))
        self.c = self.to_dev(np.ascontiguousarray(sig[1:][None])) if Cc else None
        self.weight_bytes = sum(nbytes(v) for v in self.net.state_dict().values())
        self.loaded = True

    def call(self):
        with torch.no_grad():
            self.y = self.net(self.x, self.c)

    def result(self):
        return self.y[0].detach().to("cpu").float().numpy()

    def workspace(self):
        return self.weight_bytes + nbytes(self.x, self.c, self.y)


IMPLS = {"vocoder.hifigan": HifiGan, "wavenet.stack": WaveNet}
