"""dac.py — py/torch and py/torch-cuda of codec.dac (issue 24): transformers' DacModel as a
PyTorch user runs it, built from the weights file's DacConfig and loaded with the same
safetensors weights the C impls read (harness/ops/dac.h has the contract: the weights path
rule, the config, the modes' layouts). Setup builds the model, applies weight norm as the
hub's converted checkpoints are stored (weight_g / weight_v), loads and uploads it
(untimed); a run is model.encode / decode / forward under no_grad."""
import json
import math
import os
import re

import numpy as np
import torch

from sonopy.impl import nbytes
from sonopy.ops_torch import TorchImpl
from sonopy.worker import Unsupported

# descript/dac_44khz's config (dac.h)
CONFIG_44K = dict(encoder_hidden_size=64, downsampling_ratios=[2, 4, 8, 8],
                  decoder_hidden_size=1536, n_codebooks=9, codebook_size=1024, codebook_dim=8,
                  sampling_rate=44100)


def transformers_dac():
    import importlib.util

    if importlib.util.find_spec("transformers") is None:
        raise Unsupported("transformers not installed: pip install 'transformers>=4.45' "
                          "for DacModel")
    try:
        import transformers
        from transformers import DacConfig, DacModel
    except Exception as e:
        raise Unsupported("transformers has no usable DacModel here (4.45+; torch %s): %s" %
                          (torch.__version__, e))
    return transformers, DacConfig, DacModel


def weights_path(p):
    """dac.h's rule: a path, or for "random" the seeded file under the cache."""
    w = str(p.get("weights", "random"))
    if w != "random":
        return w
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not base:
        home = os.environ.get("HOME") or ""
        base = home + "/.cache" if home else "build/cache"
    return "%s/sonobench/dac44k-e%d-d%d-random-v1-seed%d.safetensors" % (
        base, int(p.get("enc_dim", 64)), int(p.get("dec_dim", 1536)), int(p.get("seed", 1)))


def file_config(path, metadata):
    if metadata and "config" in metadata:
        return json.loads(metadata["config"]), "the file's metadata"
    side = os.path.join(os.path.dirname(path), "config.json")
    if os.path.exists(side):
        with open(side) as f:
            return json.load(f), side
    return dict(CONFIG_44K), "descript/dac_44khz's (no config in the file or beside it)"


def state_for(model, tensors):
    """The file's tensors under the model's names (weight_g / weight_v, torch's
    parametrizations, or a folded `weight` with g = ||v||)."""
    want = model.state_dict()
    out = {}
    for name, t in tensors.items():
        alts = [name,
                name.replace("weight_g", "parametrizations.weight.original0"),
                name.replace("weight_v", "parametrizations.weight.original1"),
                name.replace("parametrizations.weight.original0", "weight_g"),
                name.replace("parametrizations.weight.original1", "weight_v")]
        hit = next((a for a in alts if a in want), None)
        if hit is None and name.endswith(".weight"):
            stem = name[:-len("weight")]
            for g, v in (("weight_g", "weight_v"), ("parametrizations.weight.original0",
                                                    "parametrizations.weight.original1")):
                if stem + g in want:
                    out[stem + g] = t.float().reshape(t.shape[0], -1).norm(dim=1).reshape(
                        [t.shape[0]] + [1] * (t.dim() - 1))
                    out[stem + v] = t
                    break
            else:
                raise ValueError("weights: tensor %s is not one of DacModel's" % name)
            continue
        if hit is None:
            raise ValueError("weights: tensor %s is not one of DacModel's" % name)
        out[hit] = t
    missing = [k for k in want if k not in out]
    if missing:
        raise ValueError("weights: the file lacks %d of DacModel's tensors (%s%s)" % (
            len(missing), ", ".join(missing[:3]), ", ..." if len(missing) > 3 else ""))
    for k, t in out.items():
        if tuple(t.shape) != tuple(want[k].shape):
            raise ValueError("weights: %s has shape %s, DacModel's is %s" % (
                k, list(t.shape), list(want[k].shape)))
        out[k] = t.to(want[k].dtype)
    return out


class Dac(TorchImpl):
    """Input F32 [samples] or I32 [n_q, frames] (decode); a leading S with streams=S > 1
    (the clips in DacModel's batch dim)."""

    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        transformers, DacConfig, DacModel = transformers_dac()
        p = self.p
        self.mode = str(p.get("mode", "roundtrip"))
        self.nq = int(p.get("n_q", 9))
        self.streams = int(p.get("streams", 1))
        self.path = weights_path(p)
        if not os.path.exists(self.path):
            if str(p.get("weights", "random")) == "random":
                raise Unsupported("weights=random: %s is not written yet" % self.path)
            raise ValueError("weights=%s: no such file" % self.path)
        from safetensors import safe_open

        tensors = {}
        with safe_open(self.path, framework="pt") as f:
            metadata = f.metadata()
            for k in f.keys():
                tensors[k] = f.get_tensor(k)
        cfg, cfg_from = file_config(self.path, metadata)
        cfg = {k: v for k, v in cfg.items() if k != "model_type"}
        self.config = DacConfig(**cfg)
        model = DacModel(self.config)
        model.apply_weight_norm()
        model.load_state_dict(state_for(model, tensors))
        self.model = model.eval().to(self.dev)
        if self.dev.type == "cuda":
            torch.cuda.synchronize()
        if self.nq > self.config.n_codebooks:
            raise ValueError("n_q=%d: the model has %d codebooks" % (self.nq,
                                                                    self.config.n_codebooks))
        self.weight_bytes = sum(nbytes(t) for t in self.model.state_dict().values())
        self.summary = "transformers %s DacModel.%s(n_quantizers=%d) on %s, eval, no_grad, " \
                       "float32; weights %s (%d tensors, weight norm recomputed per call as " \
                       "the module does), config from %s" % (
                           transformers.__version__,
                           {"encode": "encode", "decode": "decode"}.get(self.mode, "forward"),
                           self.nq, self.dev, self.path, len(tensors), cfg_from)
        self.x = self.y = None

    def load(self, x):
        S = self.streams
        lead = 1 if S > 1 else 0
        if self.mode == "decode":
            if x.ndim != 2 + lead:
                raise ValueError("codec.dac decode: codes have shape %s, want %s[n_q, frames]"
                                 % (list(x.shape), "[streams] + " if lead else ""))
            self.x = self.to_dev(x.reshape((S,) + x.shape[lead:]).astype(np.int64))
        else:
            if x.ndim != 1 + lead:
                raise ValueError("codec.dac: input has shape %s, want %s[samples]" %
                                 (list(x.shape), "[streams] + " if lead else ""))
            self.x = self.to_dev(x.reshape(S, 1, -1).astype(np.float32))
        self.loaded = True

    def call(self):
        m = self.model
        with torch.no_grad():
            if self.mode == "encode":
                self.y = m.encode(self.x, n_quantizers=self.nq).audio_codes  # [S, n_q, F]
            elif self.mode == "decode":
                self.y = m.decode(audio_codes=self.x).audio_values
            else:
                self.y = m(self.x, n_quantizers=self.nq).audio_values
            if self.mode != "encode":  # audio [S, T] (a channel dim squeezed or not)
                self.y = self.y.reshape(self.streams, -1)
            if self.streams == 1:
                self.y = self.y[0]

    def result(self):
        y = self.y.detach().to("cpu")
        y = y.to(torch.int32) if self.mode == "encode" else y.to(torch.float32)
        return y.numpy()

    def workspace(self):
        return self.weight_bytes + nbytes(self.x, self.y)


IMPLS = {"codec.dac": Dac}
