"""nn.py — py/torch and py/torch-cuda for the codec building blocks, as a PyTorch user
writes them: vq.encode as torch.cdist + argmin, conv1d as F.conv1d / F.conv_transpose1d
with EnCodec's causal padding or trim and the fused ELU or Snake, attention as
F.scaled_dot_product_attention where torch has it (2.0+), else the explicit
softmax(Q K^T / sqrt(d) + mask) V. Packed layouts: harness/ops/vq.c, conv1d.h, attention.c."""
import math

import torch
import torch.nn.functional as F

from sonopy.impl import nbytes
from sonopy.ops_torch import TorchImpl


def param(p, name, default):
    return int(p.get(name, default))


# issue 26: the dtype param. The harness hands float32 values already rounded to the
# dtype, so the cast below is exact; tf32 is float32 tensors with TF32 matmuls allowed.
DTYPES = {"f32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16,
          "f16": torch.float16}


def set_dtype(impl):
    """Sets impl.dt (the tensors' dtype) and impl.tf32 (whether call() allows TF32 matmuls);
    returns the note for the summary ("" at f32)."""
    name = str(impl.p.get("dtype", "f32"))
    impl.dt = DTYPES[name]
    impl.tf32 = name == "tf32"
    if name == "f32":
        return ""
    if impl.tf32:
        return "; dtype tf32: float32 tensors, torch.backends.cuda.matmul.allow_tf32 = True"
    return "; dtype %s: tensors in torch.%s" % (name, str(impl.dt).split(".")[-1])


class TF32Switch:
    """torch's TF32 switches (matmul and cuDNN) as the case asks, for the timed call only:
    they are global to the worker, and later cases of other ops must not inherit them."""

    def __init__(self, on):
        self.on = on

    def __enter__(self):
        self.prev = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = self.on
        torch.backends.cudnn.allow_tf32 = self.on

    def __exit__(self, *exc):
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.prev
        return False


class VQ(TorchImpl):
    """Input [codebook K*D | vectors T*D] float32; output int32 [T]."""

    def load(self, x):
        p = self.p
        K, D, T = param(p, "K", 1024), param(p, "D", 128), param(p, "T", 750)
        if x.shape != (K * D + T * D,):
            raise ValueError("vq.encode: input has shape %s, K*D + T*D = %d" %
                             (list(x.shape), K * D + T * D))
        note = set_dtype(self)
        self.x = self.to_dev(x).to(self.dt)
        self.cb = self.x[:K * D].view(K, D)
        self.v = self.x[K * D:].view(T, D)
        # cdist takes its matmul path (|x|^2 - 2 x.c + |c|^2) past 25 rows, as BLAS impls
        # do; argmin returns the first of equal minima, so ties go to the lowest index
        self.summary = "torch.cdist(vectors, codebook).argmin(dim=1) on %s (ties: argmin's " \
                       "first index, the lowest)%s" % (self.dev, note)
        self.loaded = True

    def call(self):
        with TF32Switch(self.tf32):
            self.y = torch.cdist(self.v, self.cb).argmin(dim=1)

    def result(self):
        return self.y.to(torch.int32).to("cpu").numpy()

    def workspace(self):
        # the T x K distance matrix cdist builds, besides the input copy and the codes
        return nbytes(self.x, self.y) + 4 * self.v.shape[0] * self.cb.shape[0]


class Conv1d(TorchImpl):
    """Input [x cin*T | W | b cout | alpha cout (snake)]; output [cout, T_out]."""

    def load(self, x):
        p = self.p
        cin, cout, k = param(p, "cin", 32), param(p, "cout", 32), param(p, "kernel", 7)
        self.stride, self.dil = param(p, "stride", 1), param(p, "dilation", 1)
        self.groups, T = param(p, "groups", 1), param(p, "length", 24000)
        self.transposed, causal = param(p, "transposed", 0), param(p, "causal", 1)
        self.act = str(p.get("activation", "none"))
        span = self.dil * (k - 1)
        if self.transposed:
            wshape = (cin, cout // self.groups, k)
            self.pad = 0
            self.trim = max(0, span + 1 - self.stride) if causal else 0
        else:
            wshape = (cout, cin // self.groups, k)
            self.pad = span if causal else 0
            self.trim = 0
        nw = wshape[0] * wshape[1] * wshape[2]
        n = cin * T + nw + cout * (2 if self.act == "snake" else 1)
        if x.shape != (n,):
            raise ValueError("conv1d: input has shape %s, the params give %d values" %
                             (list(x.shape), n))
        self.xin = self.to_dev(x)
        at = cin * T
        self.x = self.xin[:at].view(1, cin, T)
        self.w = self.xin[at:at + nw].view(*wshape)
        self.b = self.xin[at + nw:at + nw + cout]
        self.alpha = self.xin[at + nw + cout:].view(cout, 1) if self.act == "snake" else None
        how = "F.conv_transpose1d(padding=0)%s" % (
            ", last %d samples dropped (causal)" % self.trim if self.trim else "") \
            if self.transposed else "F.pad(x, (%d, 0)) + F.conv1d(padding=0)" % self.pad
        act = {"none": "", "elu": " + F.elu",
               "snake": " + snake z + sin(alpha z)**2 / alpha"}[self.act]
        self.summary = "%s%s on %s, stride %d, dilation %d, groups %d" % (
            how, act, self.dev, self.stride, self.dil, self.groups)
        self.loaded = True

    def call(self):
        if self.transposed:
            z = F.conv_transpose1d(self.x, self.w, self.b, stride=self.stride,
                                   groups=self.groups, dilation=self.dil)
            if self.trim:
                z = z[..., :z.shape[-1] - self.trim]
        else:
            x = F.pad(self.x, (self.pad, 0)) if self.pad else self.x
            z = F.conv1d(x, self.w, self.b, stride=self.stride, dilation=self.dil,
                         groups=self.groups)
        z = z[0]
        if self.act == "elu":
            z = F.elu(z)
        elif self.act == "snake":
            z = z + torch.sin(self.alpha * z) ** 2 / self.alpha
        self.y = z

    def result(self):
        return self.y.contiguous().to("cpu").numpy()

    def workspace(self):
        return nbytes(self.xin, self.y)


class Attention(TorchImpl):
    """Input [Q | K | V], each [heads, seq, head_dim]; output [heads, seq, head_dim]."""

    def load(self, x):
        p = self.p
        s, h, d = param(p, "seq", 1024), param(p, "heads", 8), param(p, "head_dim", 64)
        self.causal = bool(param(p, "causal", 0))
        n = h * s * d
        if x.shape != (3 * n,):
            raise ValueError("attention: input has shape %s, 3*heads*seq*head_dim = %d" %
                             (list(x.shape), 3 * n))
        note = set_dtype(self)
        self.x = self.to_dev(x).to(self.dt)
        self.q, self.k, self.v = (self.x[i * n:(i + 1) * n].view(h, s, d) for i in range(3))
        self.scale = 1.0 / math.sqrt(d)
        self.sdpa = getattr(F, "scaled_dot_product_attention", None)
        self.mask = None
        # issue 12: a sliding window (keys j in (i - window, i]) takes the explicit path
        self.window = param(p, "window", 0)
        if self.window:
            self.sdpa = None
        if self.sdpa is not None:
            self.summary = "F.scaled_dot_product_attention(is_causal=%s) on %s" % (
                self.causal, self.dev)
            self.scores = 0
        else:
            if self.causal:
                self.mask = torch.ones(s, s, dtype=torch.bool, device=self.dev).triu(1)
            if self.window:
                self.mask |= torch.ones(s, s, dtype=torch.bool,
                                        device=self.dev).tril(-self.window)
            self.summary = "torch %s has no F.scaled_dot_product_attention: explicit " \
                           "softmax(Q @ K^T * %.6g%s, dim=-1) @ V on %s" % (
                               torch.__version__, self.scale,
                               ", masked_fill(triu, -inf)" if self.causal else "", self.dev)
            self.scores = 4 * h * s * s  # the float32 score matrix of every head
        self.summary += note
        self.loaded = True

    def call(self):
        with TF32Switch(self.tf32):
            self.attend()

    def attend(self):
        if self.sdpa is not None:
            self.y = self.sdpa(self.q, self.k, self.v, is_causal=self.causal)
            return
        S = torch.matmul(self.q, self.k.transpose(-2, -1)) * self.scale
        if self.mask is not None:
            S = S.masked_fill(self.mask, float("-inf"))
        self.y = torch.matmul(torch.softmax(S, dim=-1), self.v)

    def result(self):
        return self.y.detach().float().to("cpu").numpy()

    def workspace(self):
        return nbytes(self.x, self.y, self.mask) + self.scores
