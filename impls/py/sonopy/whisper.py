"""whisper.py — py/torch and py/torch-cuda of whisper.encoder (issue 23): transformers'
WhisperEncoder (transformers.models.whisper.modeling_whisper) as a PyTorch user runs it,
built from a WhisperConfig of the case's size and loaded with the same safetensors file
the C impls read (harness/ops/whisper.h has the contract: the sizes, the weights path rule,
the tensor names under "model.encoder.", "encoder." or none). Setup builds the module and
uploads it (untimed); a run is encoder(input_features) under no_grad."""
import os

import torch

from sonopy.impl import nbytes
from sonopy.ops_torch import TorchImpl
from sonopy.worker import Unsupported

MODELS = {"tiny": (384, 4, 6), "base": (512, 6, 8), "small": (768, 12, 12)}


def dims(p):
    """(d, layers, heads, n_mels, frames, batch) of the params, as whisper.h defines them."""
    m = str(p.get("model", "tiny"))
    if m == "custom":
        d, layers, heads = int(p.get("d_model", 64)), 2, int(p.get("heads", 2))
    elif m in MODELS:
        d, layers, heads = MODELS[m]
    else:
        raise ValueError("whisper.encoder: model=%s is not tiny, base, small or custom" % m)
    if int(p.get("layers", 0)) > 0:
        layers = int(p["layers"])
    return d, layers, heads, int(p.get("n_mels", 80)), int(p.get("frames", 3000)), \
        int(p.get("batch", 1))


def weights_path(p, d, layers, n_mels):
    """whisper.h's rule: a path, or for "random" the seeded file under the cache."""
    w = str(p.get("weights", "random"))
    if w != "random":
        return w
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not base:
        home = os.environ.get("HOME") or ""
        base = home + "/.cache" if home else "build/cache"
    return "%s/sonobench/whisper-enc-d%d-m%d-l%d-random-v1-seed%d.safetensors" % (
        base, d, n_mels, layers, int(p.get("seed", 1)))


def transformers_whisper():
    """(transformers, WhisperConfig, WhisperEncoder), or Unsupported saying why."""
    import importlib.util

    if importlib.util.find_spec("transformers") is None:
        raise Unsupported("transformers not installed: pip install transformers for "
                          "WhisperEncoder")
    try:
        import transformers
        from transformers import WhisperConfig
        from transformers.models.whisper.modeling_whisper import WhisperEncoder
    except Exception as e:
        raise Unsupported("transformers has no usable WhisperEncoder here (torch %s): %s: %s"
                          % (torch.__version__, type(e).__name__, e))
    return transformers, WhisperConfig, WhisperEncoder


def encoder_state(tensors, layers, T):
    """The file's encoder tensors under WhisperEncoder's own names: the prefix dropped,
    blocks past `layers` and the decoder's tensors left out, embed_positions cut to T."""
    pre = next((q for q in ("model.encoder.", "encoder.", "") if q + "conv1.weight" in
                tensors), None)
    if pre is None:
        raise ValueError("weights: no model.encoder.conv1.weight (nor encoder.conv1.weight or "
                         "conv1.weight): not a Whisper checkpoint")
    out = {}
    for name, t in tensors.items():
        if not name.startswith(pre):
            continue
        k = name[len(pre):]
        if k.startswith("layers.") and int(k.split(".")[1]) >= layers:
            continue
        if pre == "" and k.split(".")[0] not in ("conv1", "conv2", "embed_positions",
                                                   "layers", "layer_norm"):
            continue
        out[k] = t[:T] if k == "embed_positions.weight" else t
    return out, pre


class WhisperEnc(TorchImpl):
    """Input F32 [n_mels, frames] or [B, n_mels, frames]; output [T, d] or [B, T, d]."""

    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        transformers, WhisperConfig, WhisperEncoder = transformers_whisper()
        d, layers, heads, n_mels, frames, batch = dims(self.p)
        self.batch, self.T = batch, frames // 2
        self.path = weights_path(self.p, d, layers, n_mels)
        if not os.path.exists(self.path):
            if str(self.p.get("weights", "random")) == "random":
                raise Unsupported("weights=random: %s is not written yet" % self.path)
            raise ValueError("weights=%s: no such file" % self.path)
        from safetensors.torch import load_file

        state, pre = encoder_state(load_file(self.path), layers, self.T)
        # max_source_positions = T: WhisperEncoder adds all of embed_positions and checks
        # that the input has 2 * max_source_positions frames
        cfg = WhisperConfig(num_mel_bins=n_mels, d_model=d, encoder_layers=layers,
                            encoder_attention_heads=heads, encoder_ffn_dim=4 * d,
                            max_source_positions=self.T, activation_function="gelu",
                            dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                            encoder_layerdrop=0.0)
        if self.dev.type == "cuda":  # float32 products, as the C impls and the tolerance
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        enc = WhisperEncoder(cfg)
        want = enc.state_dict()
        missing = [k for k in want if k not in state]
        if missing:
            raise ValueError("weights: %s lacks %s%s" % (self.path, pre + missing[0],
                             " and %d more" % (len(missing) - 1) if len(missing) > 1 else ""))
        for k, t in state.items():
            if k in want and tuple(t.shape) != tuple(want[k].shape):
                raise ValueError("weights: %s: %s has shape %s, WhisperEncoder's is %s" % (
                    self.path, pre + k, list(t.shape), list(want[k].shape)))
        enc.load_state_dict({k: t.float() for k, t in state.items() if k in want}, strict=True)
        self.enc = enc.eval().to(self.dev)
        if self.dev.type == "cuda":
            torch.cuda.synchronize()
        self.weight_bytes = sum(nbytes(t) for t in self.enc.state_dict().values())
        impl = getattr(cfg, "_attn_implementation", "eager")
        self.summary = "transformers %s WhisperEncoder (d %d, %d layers, %d heads, attention "\
                       "%s) on %s, eval, no_grad, float32 (TF32 off); weights %s (names %s); batch=%d " \
                       "in the batch dim; %s" % (transformers.__version__, d, layers, heads,
                                                 impl, self.dev, self.path, pre or "(none)",
                                                 batch, self.threads_note)
        self.x = self.y = None

    def load(self, x):
        want = 3 if self.batch > 1 else 2
        if x.ndim != want:
            raise ValueError("whisper.encoder: input has shape %s, want %s[n_mels, frames]" %
                             (list(x.shape), "[B, ...]" if self.batch > 1 else ""))
        self.x = self.to_dev(x.reshape((self.batch,) + x.shape[-2:]))
        self.loaded = True

    def call(self):
        with torch.no_grad():
            self.y = self.enc(self.x).last_hidden_state

    def result(self):
        y = self.y.detach().to("cpu").float().numpy()
        return y if self.batch > 1 else y[0]

    def workspace(self):
        return self.weight_bytes + nbytes(self.x, self.y)


IMPLS = {"whisper.encoder": WhisperEnc}
