"""mimi.py — py/torch and py/torch-cuda of codec.mimi (issue 24): transformers' MimiModel as
a PyTorch user runs it, built from the weights file's config and loaded with the same
safetensors file the C impls read (harness/ops/mimi.h has the contract: the weights path
rule, where the config comes from, the modes' layouts). Setup builds the model and uploads
it (untimed); a run is MimiModel's _encode_frame / _decode_frame order of its own modules
under no_grad, with an attention mask of ones: MimiModel.encode / decode pass the
transformers none, which leaves transformers' eager attention bidirectional and its SDPA
causal without the 250-frame window, while Kyutai's Mimi and the contract are causal within
the window (MimiTransformerModel builds exactly that mask when given one)."""
import json
import os

import numpy as np
import torch

from sonopy.impl import nbytes
from sonopy.ops_torch import TorchImpl
from sonopy.worker import Unsupported

# kyutai/mimi's config (mimi.h), spelled out rather than left to MimiConfig()'s defaults
CONFIG_KYUTAI = dict(
    sampling_rate=24000, frame_rate=12.5, audio_channels=1, hidden_size=512, num_filters=64,
    num_residual_layers=1, upsampling_ratios=[8, 6, 5, 4], kernel_size=7, last_kernel_size=3,
    residual_kernel_size=3, dilation_growth_rate=2, use_causal_conv=True, pad_mode="constant",
    compress=2, trim_right_ratio=1.0, codebook_size=2048, codebook_dim=256, num_quantizers=32,
    use_conv_shortcut=False, vector_quantization_hidden_dimension=256,
    num_semantic_quantizers=1, upsample_groups=512, num_hidden_layers=8,
    intermediate_size=2048, num_attention_heads=8, num_key_value_heads=8, hidden_act="gelu",
    norm_eps=1e-5, rope_theta=10000.0, sliding_window=250, attention_bias=False)


def transformers_mimi():
    """(transformers module, MimiConfig, MimiModel), or Unsupported saying why."""
    import importlib.util

    if importlib.util.find_spec("transformers") is None:
        raise Unsupported("transformers not installed: pip install 'transformers>=4.45' for "
                          "MimiModel")
    try:
        import transformers
        from transformers import MimiConfig, MimiModel
    except Exception as e:
        raise Unsupported("transformers has no usable MimiModel here (torch %s; it landed in "
                          "4.45): %s: %s" % (torch.__version__, type(e).__name__, e))
    return transformers, MimiConfig, MimiModel


def weights_path(p):
    """mimi.h's rule: a path, or for "random" the seeded file under the cache."""
    w = str(p.get("weights", "random"))
    if w != "random":
        return w
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not base:
        home = os.environ.get("HOME") or ""
        base = home + "/.cache" if home else "build/cache"
    g = lambda k, d: int(p.get(k, d))  # noqa: E731
    return "%s/sonobench/mimi-v1-f%dh%dl%da%di%dq%dk%dd%dw%dr%ss%d.safetensors" % (
        base, g("filters", 64), g("hidden", 512), g("layers", 8), g("heads", 8),
        g("ffn", 2048), g("codebooks", 32), g("codebook_size", 2048), g("codebook_dim", 256),
        g("window", 250), str(p.get("ratios", "8.6.5.4")), g("seed", 1))


def file_config(path, metadata):
    """The metadata's "config", else config.json beside the file, else kyutai/mimi's."""
    if metadata and "config" in metadata:
        return json.loads(metadata["config"]), "the file's metadata"
    side = os.path.join(os.path.dirname(path), "config.json")
    if os.path.exists(side):
        with open(side) as f:
            return json.load(f), side
    return dict(CONFIG_KYUTAI), "kyutai/mimi's (no config in the file or beside it)"


class Mimi(TorchImpl):
    """encode: F32 [samples] -> I32 [n_q, frames]; decode: I32 [n_q, frames] -> F32
    [frames * 2 hop]; roundtrip: F32 [samples] -> F32 [samples]."""

    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        transformers, MimiConfig, MimiModel = transformers_mimi()
        if int(self.p.get("streams", 1)) != 1:
            raise Unsupported("codec.mimi has no streams param")
        self.mode = str(self.p.get("mode", "roundtrip"))
        self.nq = int(self.p.get("n_q", 8))
        self.path = weights_path(self.p)
        if not os.path.exists(self.path):
            if str(self.p.get("weights", "random")) == "random":
                raise Unsupported("weights=random: %s is not written yet" % self.path)
            raise ValueError("weights=%s: no such file" % self.path)
        from safetensors import safe_open
        from safetensors.torch import load_file

        with safe_open(self.path, framework="pt") as f:
            metadata = f.metadata()
        tensors = load_file(self.path)
        cfg, cfg_from = file_config(self.path, metadata)
        self.config = MimiConfig.from_dict(cfg)
        if self.dev.type == "cuda":  # float32 products, as the C impls and the tolerance
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        model = MimiModel(self.config)
        want = model.state_dict()
        missing = [k for k in want if k not in tensors and not k.endswith(".initialized")]
        if missing:
            raise ValueError("weights: %s lacks %s%s" % (self.path, missing[0], " and %d more"
                             % (len(missing) - 1) if len(missing) > 1 else ""))
        for k, t in tensors.items():
            if k in want and tuple(t.shape) != tuple(want[k].shape):
                raise ValueError("weights: %s: %s has shape %s, MimiModel's is %s" % (
                    self.path, k, list(t.shape), list(want[k].shape)))
        model.load_state_dict({k: t.float() for k, t in tensors.items() if k in want},
                              strict=False)
        self.model = model.eval().to(self.dev)
        if self.dev.type == "cuda":
            torch.cuda.synchronize()
        self.hop = int(np.prod(self.config.upsampling_ratios))
        self.samples = int(round(float(self.p.get("seconds", 1.0)) * self.config.sampling_rate))
        self.frames = -(-self.samples // (2 * self.hop))
        self.weight_bytes = sum(nbytes(t) for t in self.model.state_dict().values())
        impl = getattr(self.config, "_attn_implementation", "eager")
        self.summary = "transformers %s MimiModel's modules in encode / decode order (mode " \
                       "%s, n_q %d) with a causal mask of window %d, attention %s, on %s, " \
                       "eval, no_grad, float32 (TF32 off); weights %s, config from %s; %s" % (
                           transformers.__version__, self.mode, self.nq,
                           self.config.sliding_window, impl, self.dev, self.path, cfg_from,
                           self.threads_note)
        self.x = self.y = None

    def load(self, x):
        if self.mode == "decode":
            if x.shape != (self.nq, self.frames):
                raise ValueError("codec.mimi decode: codes have shape %s, want [%d, %d]" %
                                 (list(x.shape), self.nq, self.frames))
            self.x = self.to_dev(x.astype(np.int64)).unsqueeze(0)
        else:
            if x.shape != (self.samples,):
                raise ValueError("codec.mimi: input has shape %s, want [%d]" %
                                 (list(x.shape), self.samples))
            self.x = self.to_dev(x.astype(np.float32)).reshape(1, 1, -1)
        self.loaded = True

    def _transformer(self, t, h):
        mask = torch.ones(h.shape[0], h.shape[-1], dtype=torch.long, device=h.device)
        return t(h.transpose(1, 2), attention_mask=mask,
                 return_dict=True).last_hidden_state.transpose(1, 2)

    def _encode(self, x):
        m = self.model
        e = m.downsample(self._transformer(m.encoder_transformer, m.encoder(x)))
        return m.quantizer.encode(e, self.nq).transpose(0, 1)

    def _decode(self, codes):
        m = self.model
        h = self._transformer(m.decoder_transformer, m.upsample(m.quantizer.decode(codes)))
        return m.decoder(h)

    def call(self):
        with torch.no_grad():
            if self.mode == "encode":
                self.y = self._encode(self.x)
            elif self.mode == "decode":
                self.y = self._decode(self.x)
            else:  # cut to the input's length, as MimiModel.forward does
                self.y = self._decode(self._encode(self.x))[..., :self.samples]

    def result(self):
        y = self.y.detach().to("cpu")
        if self.mode == "encode":
            return y[0].numpy().astype(np.int32)
        return y.reshape(-1).float().numpy()

    def workspace(self):
        return self.weight_bytes + nbytes(self.x, self.y)


IMPLS = {"codec.mimi": Mimi}
