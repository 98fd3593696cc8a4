"""speech.py — py/torch and py/torch-cuda of wav2vec2.features and attention.relpos
(issue 23). wav2vec2.features: transformers' Wav2Vec2FeatureEncoder built from a
Wav2Vec2Config (feat_extract_norm group/layer, conv_bias False, the op's channels) and
loaded with the same safetensors file the C impls read (harness/ops/w2v.h: the weights
path rule, the tensor names, the wav2vec2./hubert./wavlm. prefixes); a run is the module's
forward under no_grad, then the transpose to [batch, frames, C] that Wav2Vec2Model does.
attention.relpos: WavLM's gated relative-position attention as plain torch, line for line
after transformers' WavLMAttention (compute_bias, _relative_positions_bucket, the
gru_rel_pos gate) on the op's packed operands (harness/ops/relpos.h)."""
import math
import os
import re

import numpy as np
import torch

from sonopy.impl import nbytes
from sonopy.ops_torch import TorchImpl
from sonopy.worker import Unsupported

PREFIXES = ("", "wav2vec2.", "hubert.", "wavlm.")
STEM = "feature_extractor."


def transformers_w2v():
    """(transformers module, Wav2Vec2Config, Wav2Vec2FeatureEncoder), or Unsupported."""
    import importlib.util

    if importlib.util.find_spec("transformers") is None:
        raise Unsupported("transformers not installed: pip install transformers for "
                          "Wav2Vec2FeatureEncoder")
    try:
        import transformers
        from transformers import Wav2Vec2Config
        from transformers.models.wav2vec2.modeling_wav2vec2 import Wav2Vec2FeatureEncoder
    except Exception as e:  # installed but broken, e.g. built for another torch
        raise Unsupported("transformers has no usable Wav2Vec2FeatureEncoder here (torch %s): "
                          "%s: %s" % (torch.__version__, type(e).__name__, e))
    return transformers, Wav2Vec2Config, Wav2Vec2FeatureEncoder


def weights_path(p):
    """w2v.h's rule: a path, or for "random" the seeded file under the cache."""
    w = str(p.get("weights", "random"))
    if w != "random":
        return w
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not base:
        home = os.environ.get("HOME") or ""
        base = home + "/.cache" if home else "build/cache"
    return "%s/sonobench/wav2vec2-%s-c%d-random-v1-seed%d.safetensors" % (
        base, str(p.get("norm", "group")), int(p.get("channels", 512)), int(p.get("seed", 1)))


def sha256_of(path):
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class W2VFeatures(TorchImpl):
    """Input F32 [batch, samples] -> F32 [batch, frames, C]."""

    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        transformers, Wav2Vec2Config, Wav2Vec2FeatureEncoder = transformers_w2v()
        p = self.p
        self.norm = str(p.get("norm", "group"))
        C = int(p.get("channels", 512))
        self.path = weights_path(p)
        if not os.path.exists(self.path):
            if str(p.get("weights", "random")) == "random":  # the op writes it at planning
                raise Unsupported("weights=random: %s is not written yet" % self.path)
            raise ValueError("weights=%s: no such file" % self.path)
        cfg = Wav2Vec2Config(feat_extract_norm=self.norm, conv_dim=[C] * 7,
                             conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
                             conv_bias=False, feat_extract_activation="gelu")
        model = Wav2Vec2FeatureEncoder(cfg)
        from safetensors import safe_open

        with safe_open(self.path, framework="pt") as f:
            keys = set(f.keys())
            pre = next((q for q in PREFIXES if q + STEM + "conv_layers.0.conv.weight" in keys), "")
            if pre + STEM + "conv_layers.0.conv.bias" in keys:
                raise ValueError("%s: tensor '%s' is there: a conv_bias = true model, which "
                                 "wav2vec2.features does not define" % (
                                     self.path, pre + STEM + "conv_layers.0.conv.bias"))
            state = {}
            for k, want in model.state_dict().items():
                name = pre + STEM + k
                if name not in keys:
                    raise ValueError("%s: tensor '%s' is missing" % (self.path, name))
                t = f.get_tensor(name)
                if tuple(t.shape) != tuple(want.shape):
                    raise ValueError("%s: tensor '%s' has shape %s, expected %s" % (
                        self.path, name, list(t.shape), list(want.shape)))
                state[k] = t.to(torch.float32)
        model.load_state_dict(state, strict=True)
        self.model = model.eval().to(self.dev)
        if self.dev.type == "cuda":
            torch.cuda.synchronize()
        self.sha = sha256_of(self.path)
        self.weight_bytes = sum(nbytes(t) for t in self.model.state_dict().values())
        self.summary = "transformers %s Wav2Vec2FeatureEncoder(feat_extract_norm=%s, C=%d) on " \
                       "%s, eval, no_grad, float32, then transpose(1, 2); weights: %s; sha256: " \
                       "%s" % (transformers.__version__, self.norm, C, self.dev, self.path,
                               self.sha)
        self.x = self.y = None

    def load(self, x):
        if x.ndim != 2:
            raise ValueError("wav2vec2.features: input has shape %s, want [batch, samples]" %
                             list(x.shape))
        self.x = self.to_dev(x.astype(np.float32))
        self.loaded = True

    def call(self):
        with torch.no_grad():
            self.y = self.model(self.x).transpose(1, 2)

    def result(self):
        return self.y.detach().to("cpu").contiguous().numpy()

    def workspace(self):
        return self.weight_bytes + nbytes(self.x, self.y)


class RelPos(TorchImpl):
    """Input the packed F32 operands (relpos.h) -> F32 [heads, seq, head_dim]."""

    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        p = self.p
        self.H, self.S, self.D = int(p.get("heads", 12)), int(p.get("seq", 500)), \
            int(p.get("head_dim", 64))
        self.num_buckets = int(p.get("num_buckets", 320))
        self.max_distance = int(p.get("max_distance", 800))
        self.summary = "WavLMAttention's compute_bias, gru_rel_pos gate and softmax(QK^T/sqrt(d) " \
                       "+ gated bias) V in plain torch on %s, float32, bias computed per call" \
                       % self.dev

    def _relative_positions_bucket(self, relative_positions):
        # transformers' WavLMAttention._relative_positions_bucket
        num_buckets = self.num_buckets // 2
        relative_buckets = (relative_positions > 0).to(torch.long) * num_buckets
        relative_positions = torch.abs(relative_positions)
        max_exact = num_buckets // 2
        is_small = relative_positions < max_exact
        relative_positions_if_large = torch.log(relative_positions.float() / max_exact)
        relative_positions_if_large = relative_positions_if_large / math.log(
            self.max_distance / max_exact)
        relative_positions_if_large = relative_positions_if_large * (num_buckets - max_exact)
        relative_position_if_large = (max_exact + relative_positions_if_large).to(torch.long)
        relative_position_if_large = torch.min(
            relative_position_if_large, torch.full_like(relative_position_if_large,
                                                        num_buckets - 1))
        relative_buckets += torch.where(is_small, relative_positions, relative_position_if_large)
        return relative_buckets

    def load(self, x):
        H, S, D, NB = self.H, self.S, self.D, self.num_buckets
        n = H * S * D
        want = 4 * n + NB * H + 8 * D + 8 + H
        if x.ndim != 1 or x.shape[0] != want:
            raise ValueError("attention.relpos: input has shape %s, want [%d]" %
                             (list(x.shape), want))
        t = self.to_dev(x.astype(np.float32))
        self.q, self.k, self.v, self.hid = (t[i * n:(i + 1) * n].view(H, S, D) for i in range(4))
        o = 4 * n
        self.embed = torch.nn.Embedding(NB, H).to(self.dev)
        self.embed.weight.data = t[o:o + NB * H].view(NB, H)
        o += NB * H
        self.gru = torch.nn.Linear(D, 8).to(self.dev)
        self.gru.weight.data = t[o:o + 8 * D].view(8, D)
        self.gru.bias.data = t[o + 8 * D:o + 8 * D + 8]
        self.const = t[o + 8 * D + 8:].view(1, H, 1, 1)
        self.loaded = True

    def call(self):
        H, S, D = self.H, self.S, self.D
        with torch.no_grad():
            # compute_bias
            ctx = torch.arange(S, dtype=torch.long, device=self.dev)[:, None]
            mem = torch.arange(S, dtype=torch.long, device=self.dev)[None, :]
            bucket = self._relative_positions_bucket(mem - ctx)
            position_bias = self.embed(bucket).permute([2, 0, 1])  # [H, S, S]
            # the gate from the layer input split into heads: [1, H, S, D]
            gated = self.hid.unsqueeze(0)
            proj = self.gru(gated).view(gated.shape[:-1] + (2, 4)).sum(-1)
            gate_a, gate_b = torch.sigmoid(proj).chunk(2, dim=-1)
            gate = gate_a * (gate_b * self.const - 1.0) + 2.0  # [1, H, S, 1]
            bias = gate.view(H, S, 1) * position_bias
            scores = torch.matmul(self.q, self.k.transpose(1, 2)) / math.sqrt(D) + bias
            self.y = torch.matmul(torch.softmax(scores, dim=-1), self.v)

    def workspace(self):
        S = self.S
        return nbytes(self.q, self.k, self.v, self.hid, self.y) + 3 * 4 * self.H * S * S


IMPLS = {"wav2vec2.features": W2VFeatures, "attention.relpos": RelPos}
