"""encodec.py — py/torch and py/torch-cuda of codec.encodec (issue 11): Hugging Face's
EncodecModel as a PyTorch user runs it, built from the op's config and loaded with the
same safetensors weights the C impls read (harness/ops/encodec.h has the contract: the
weights path rule, where the config comes from, the modes' layouts). Setup builds the
model and uploads it (untimed); a run is model.encode / decode / forward under no_grad."""
import json
import math
import os
import re

import numpy as np
import torch

from sonopy.impl import nbytes
from sonopy.ops_torch import TorchImpl
from sonopy.worker import Unsupported

# facebook/encodec_24khz's config (encodec.h), spelled out rather than left to
# EncodecConfig()'s defaults, which a transformers release could change
CONFIG_24K = dict(
    sampling_rate=24000, audio_channels=1, num_filters=32, upsampling_ratios=[8, 5, 4, 2],
    kernel_size=7, last_kernel_size=7, residual_kernel_size=3, dilation_growth_rate=2,
    num_residual_layers=1, compress=2, num_lstm_layers=2, hidden_size=128,
    codebook_size=1024, target_bandwidths=[1.5, 3.0, 6.0, 12.0, 24.0], use_causal_conv=True,
    use_conv_shortcut=True, pad_mode="reflect", norm_type="weight_norm", trim_right_ratio=1.0,
    normalize=False, chunk_length_s=None, overlap=None)

# the codebook's training state, which the C side's files leave out: not used by inference
TRAINING_BUFFERS = ("inited", "cluster_size", "embed_avg")


def transformers_encodec():
    """(transformers module, EncodecConfig, EncodecModel), or Unsupported saying why."""
    import importlib.util

    if importlib.util.find_spec("transformers") is None:
        raise Unsupported("transformers not installed: pip install 'transformers>=4.31' "
                          "for EncodecModel")
    try:
        import transformers
    except Exception as e:  # installed but broken, e.g. built for another torch
        raise Unsupported("transformers cannot be imported: %s: %s" % (type(e).__name__, e))
    try:
        from transformers import EncodecConfig, EncodecModel
    except Exception as e:
        v = re.match(r"(\d+)\.(\d+)", transformers.__version__)
        if v and (int(v.group(1)), int(v.group(2))) < (4, 31):
            raise Unsupported("transformers %s is too old: EncodecModel landed in 4.31" %
                              transformers.__version__)
        raise Unsupported("transformers %s has no usable EncodecModel here (torch %s): %s" %
                          (transformers.__version__, torch.__version__, e))
    return transformers, EncodecConfig, EncodecModel


def weights_path(p):
    """encodec.h's rule: a path, or for "random" the seeded file under the cache."""
    w = str(p.get("weights", "random"))
    if w != "random":
        return w
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not base:
        home = os.environ.get("HOME") or ""
        base = home + "/.cache" if home else "build/cache"
    model = "soundstream24k" if str(p.get("config", "")) == "soundstream" else "encodec24k"
    return "%s/sonobench/%s-random-v2-seed%d.safetensors" % (base, model,
                                                             int(p.get("seed", 1)))


def without_lstm(model):
    """num_lstm_layers 0 (codec.soundstream, encodec.h): no LSTM. torch.nn.LSTM cannot be
    built with 0 layers, so the model is built with 1 and each EncodecLSTM (y = lstm(x) + x)
    replaced by the identity, in its place, so the later layers keep their names."""
    for side in (model.encoder, model.decoder):
        for i, layer in enumerate(side.layers):
            if type(layer).__name__ == "EncodecLSTM":
                side.layers[i] = torch.nn.Identity()


def file_config(path, metadata):
    """The metadata's "config", else config.json beside the file, else the 24 kHz one."""
    if metadata and "config" in metadata:
        return json.loads(metadata["config"]), "the file's metadata"
    side = os.path.join(os.path.dirname(path), "config.json")
    if os.path.exists(side):
        with open(side) as f:
            return json.load(f), side
    return dict(CONFIG_24K), "facebook/encodec_24khz's (no config in the file or beside it)"


def norm_except_first(w):
    """torch.nn.utils.weight_norm's g for dim 0: ||w|| over every other dim, kept as 1s."""
    return w.reshape(w.shape[0], -1).norm(dim=1).reshape([w.shape[0]] + [1] * (w.dim() - 1))


def state_for(model, tensors):
    """The file's tensors under the model's own names. The hub's files name weight norm
    weight_g / weight_v; transformers builds it with torch's parametrizations where torch
    has them (...parametrizations.weight.original0 / original1); a file may also hold the
    folded `weight`, which is v with g = ||v||."""
    want = model.state_dict()
    out = {}
    nq = len(model.quantizer.layers)
    for name, t in tensors.items():
        m = re.match(r"quantizer\.layers\.(\d+)\.", name)
        if m and int(m.group(1)) >= nq:
            continue  # stages this transformers builds no layer for (Encodec.nq refuses them)
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
                    out[stem + g] = norm_except_first(t.float())
                    out[stem + v] = t
                    break
            else:
                raise ValueError("weights: tensor %s is not one of EncodecModel's" % name)
            continue
        if hit is None:
            raise ValueError("weights: tensor %s is not one of EncodecModel's" % name)
        out[hit] = t
    missing = [k for k in want if k not in out and not k.endswith(TRAINING_BUFFERS)]
    if missing:
        raise ValueError("weights: the file lacks %d of EncodecModel's tensors (%s%s)" % (
            len(missing), ", ".join(missing[:3]), ", ..." if len(missing) > 3 else ""))
    for k, t in out.items():
        if tuple(t.shape) != tuple(want[k].shape):
            raise ValueError("weights: %s has shape %s, EncodecModel's is %s" % (
                k, list(t.shape), list(want[k].shape)))
        out[k] = t.to(want[k].dtype)
    return out


class Encodec(TorchImpl):
    """Input F32 [samples] or I32 [n_q, frames] (decode); a leading S with streams=S > 1."""

    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        transformers, EncodecConfig, EncodecModel = transformers_encodec()
        p = self.p
        self.mode = str(p.get("mode", "roundtrip"))
        self.bw = float(p.get("bandwidth", 6))
        self.streams = int(p.get("streams", 1))
        self.path = weights_path(p)
        if not os.path.exists(self.path):
            if str(p.get("weights", "random")) == "random":  # the op writes it at planning
                raise Unsupported("weights=random: %s is not written yet" % self.path)
            raise ValueError("weights=%s: no such file" % self.path)
        from safetensors import safe_open

        tensors = {}
        with safe_open(self.path, framework="pt") as f:
            metadata = f.metadata()
            for k in f.keys():
                tensors[k] = f.get_tensor(k)
        cfg, cfg_from = file_config(self.path, metadata)
        no_lstm = int(cfg.get("num_lstm_layers", 2)) == 0
        self.config = EncodecConfig.from_dict(dict(cfg, num_lstm_layers=1) if no_lstm else cfg)
        model = EncodecModel(self.config)
        if no_lstm:
            without_lstm(model)
        model.load_state_dict(state_for(model, tensors), strict=False)
        self.model = model.eval().to(self.dev)
        if self.dev.type == "cuda":
            torch.cuda.synchronize()
        self.hop = int(np.prod(self.config.upsampling_ratios))
        self.check_stages(transformers.__version__)
        self.weight_bytes = sum(nbytes(t) for t in self.model.state_dict().values())
        names = list(tensors)
        wn = "torch parametrizations" if any("parametrizations" in k for k in
                                              self.model.state_dict()) else "weight_g/weight_v"
        self.summary = "transformers %s EncodecModel.%s(bandwidth=%g) on %s, eval, no_grad, " \
                       "float32; weights %s (%d tensors, weight norm as %s, recomputed per " \
                       "call as the module does), config from %s; streams=%d in the batch dim" \
                       % (transformers.__version__,
                          {"encode": "encode", "decode": "decode"}.get(self.mode, "forward"),
                          self.bw, self.dev, self.path, len(names), wn, cfg_from, self.streams)
        self.x = self.y = None

    def check_stages(self, version):
        """encodec.h's n_q for the bandwidth, which the model must have layers for:
        transformers 4.31 sizes the quantizer as if every codebook had 1024 entries
        (num_quantizers = 1000 bw_max // (frame_rate * 10)), the contract's count only
        where codebook_size is 1024 (the 24 kHz model: 32 either way); 5.24 (the fixture's)
        uses log2(codebook_size) as the contract does."""
        c = self.config
        bits = math.log2(c.codebook_size) * math.ceil(c.sampling_rate / self.hop)
        total = int(math.floor(1000 * c.target_bandwidths[-1] / bits))
        nq = min(total, max(1, int(math.floor(self.bw * 1000 / bits))))
        have = len(self.model.quantizer.layers)
        if nq > have:
            raise Unsupported("transformers %s builds %d quantizer stages for this config "
                              "(it assumes 10-bit codebooks; the op's formula gives %d); "
                              "bandwidth=%g needs %d" % (version, have, total, self.bw, nq))

    def load(self, x):
        S = self.streams
        if self.mode == "decode":
            if x.ndim != (3 if S > 1 else 2) or (S > 1 and x.shape[0] != S):
                raise ValueError("codec.encodec decode: codes have shape %s, want %s[n_q, "
                                 "frames]" % (list(x.shape), "[S=%d, ...]" % S if S > 1 else ""))
            codes = x.reshape((S,) + x.shape[-2:]).astype(np.int64)
            # encode's layout: [chunks = 1, batch, n_q, frames]
            self.x = self.to_dev(codes).unsqueeze(0)
        else:
            if x.ndim != (2 if S > 1 else 1) or (S > 1 and x.shape[0] != S):
                raise ValueError("codec.encodec: input has shape %s, want %s[samples]" %
                                 (list(x.shape), "[S=%d, ...]" % S if S > 1 else ""))
            self.x = self.to_dev(x.reshape(S, 1, x.shape[-1]).astype(np.float32))
        self.loaded = True

    def call(self):
        m = self.model
        with torch.no_grad():
            if self.mode == "encode":
                self.y = m.encode(self.x, bandwidth=self.bw).audio_codes[0]  # [S, n_q, F]
            elif self.mode == "decode":
                self.y = m.decode(self.x, [None])[0][:, 0]  # [S, frames * hop]
            else:  # forward cuts the audio to the input's length, as the op's roundtrip
                self.y = m(self.x, bandwidth=self.bw).audio_values[:, 0]

    def result(self):
        y = self.y.detach().to("cpu")
        y = y.to(torch.int32) if self.mode == "encode" else y.to(torch.float32)
        y = y.numpy()
        return y if self.streams > 1 else y[0]

    def workspace(self):
        # the weights on the device (the model's parameters and buffers), input, output
        return self.weight_bytes + nbytes(self.x, self.y)


IMPLS = {"codec.encodec": Encodec, "codec.soundstream": Encodec}
