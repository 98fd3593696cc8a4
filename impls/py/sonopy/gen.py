"""gen.py — py/torch and py/torch-cuda peers of issue 25's ops, as a PyTorch user writes
them (layouts: harness/ops/sample.c, delay.c, vq_ste.c).
sample.topk: a stable descending torch.sort (ties in index order, the op's rule; torch.topk
  orders ties its own way), the first top_k, softmax, cumsum for the top-p cut, the draw. A
  practitioner calls torch.multinomial, whose generator is not Philox: its tokens could
  only be checked by their distribution. So the peer draws with the op's own u (Philox4x32-10
  under key seed, counter (b, c, 0, 0), here in numpy) and inverts the CDF with
  torch.searchsorted: the same distribution, and tokens the op's check can compare (equal to
  the reference's up to near-ties of the cumulative sums, which torch forms in its own
  order). temperature 0: argmax.
codes.delay: torch.full of the pad, then one slice assignment per codebook.
vq.ste: torch.cdist + argmin for the codes, the STE forward x + (q - x).detach(), the two
  MSE losses, autograd for dx and the codebook's gradient, the EMA update with Laplace
  smoothing, dead codes restarted at the batch vectors the op's Philox picks.
maskgit.step / maskgit.decode: per iteration the masked frames' draws (the sampling above
  with top-k and top-p off, u = Philox (seed, (frame, level, t))), confidences by softmax +
  gather, a stable torch.sort of the confidences to mask the least confident again; decode's
  logits by the MLP as torch ops (embedding sums, two matmuls)."""
import numpy as np
import torch

from sonopy.impl import nbytes
from sonopy.ops_torch import TorchImpl

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
MASK32 = np.uint64(0xFFFFFFFF)


def philox_u32(seed, a, b, c):
    """Philox4x32-10's first word for counters (a, b, c, 0) (uint arrays), key = seed."""
    x0, x1 = np.asarray(a, np.uint64), np.asarray(b, np.uint64)
    x2 = np.asarray(c, np.uint64) + np.zeros_like(x0)
    x3 = np.zeros_like(x0)
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64((seed >> 32) & 0xFFFFFFFF)
    for _ in range(10):
        p0, p1 = np.uint64(M0) * x0, np.uint64(M1) * x2
        x0, x1, x2, x3 = ((p1 >> np.uint64(32)) ^ x1 ^ k0, p1 & MASK32,
                          (p0 >> np.uint64(32)) ^ x3 ^ k1, p0 & MASK32)
        k0, k1 = (k0 + np.uint64(W0)) & MASK32, (k1 + np.uint64(W1)) & MASK32
    return x0


def param(p, name, dflt):
    return type(dflt)(p.get(name, dflt))


class SampleTopk(TorchImpl):
    def load(self, x):
        p = self.p
        B, C, V = param(p, "batch", 1), param(p, "codebooks", 8), param(p, "V", 2048)
        if x.shape != (B, C, V):
            raise ValueError("sample.topk: input has shape %s, expected %s" %
                             (list(x.shape), [B, C, V]))
        self.x = self.to_dev(x.reshape(B * C, V))
        self.B, self.C = B, C
        k = param(p, "top_k", 250)
        self.k = V if k <= 0 or k > V else k
        self.temp, self.top_p = param(p, "temperature", 0.8), param(p, "top_p", 1.0)
        b, c = np.divmod(np.arange(B * C, dtype=np.uint64), np.uint64(C))
        u = (philox_u32(param(p, "seed", 1), b, c, 0) >> np.uint64(8)).astype(np.float64)
        self.u = self.to_dev((u * 2.0 ** -24).astype(np.float32)).unsqueeze(1)
        self.summary = ("argmax" if self.temp == 0 or self.k == 1 else
                        "stable torch.sort, first k=%d, softmax, cumsum (top_p %g), searchsorted of the "
                        "op's Philox u (torch.multinomial is not Philox)" % (self.k, self.top_p)
                        ) + " on %s" % self.dev
        self.loaded = True

    def call(self):
        if self.temp == 0 or self.k == 1:
            self.y = self.x.argmax(dim=-1)
            return
        # a stable descending sort, not torch.topk: equal logits must stay in index order,
        # the op's rule (topk orders ties as it likes: a tie of spread 0 showed it)
        v, i = torch.sort(self.x, dim=-1, descending=True, stable=True)
        v, i = v[:, :self.k], i[:, :self.k]
        w = torch.softmax((v - v[:, :1]) / self.temp, dim=-1)
        cum = torch.cumsum(w, dim=-1)
        if self.top_p < 1:
            # the shortest prefix holding top_p: classes after the first cum >= top_p drop
            keep = (cum - w) < self.top_p
            w = torch.where(keep, w, torch.zeros_like(w))
            cum = torch.cumsum(w, dim=-1)
        r = torch.searchsorted(cum, self.u * cum[:, -1:], right=True)
        r = torch.clamp(r, max=self.k - 1)
        self.y = torch.gather(i, 1, r).squeeze(1)

    def result(self):
        return self.y.to(torch.int32).to("cpu").numpy().reshape(self.B, self.C)

    def workspace(self):
        return nbytes(self.x, self.u)


class Delay(TorchImpl):
    def load(self, x):
        p = self.p
        self.B, self.K, self.T = param(p, "batch", 1), param(p, "K", 4), param(p, "T", 1500)
        self.undelay = str(p.get("direction", "delay")) == "undelay"
        self.pad = param(p, "pad", 2048)
        S = self.T + self.K - 1
        want = (self.B, self.K, S if self.undelay else self.T)
        if x.shape != want:
            raise ValueError("codes.delay: input has shape %s, expected %s" %
                             (list(x.shape), list(want)))
        self.x = self.to_dev(x)
        self.summary = "torch.full(pad) + a slice assignment per codebook on %s" % self.dev
        self.loaded = True

    def call(self):
        K, T = self.K, self.T
        if self.undelay:
            self.y = torch.stack([self.x[:, k, k:k + T] for k in range(K)], dim=1)
            return
        y = torch.full((self.B, K, T + K - 1), self.pad, dtype=self.x.dtype, device=self.dev)
        for k in range(K):
            y[:, k, k:k + T] = self.x[:, k]
        self.y = y

    def result(self):
        return self.y.to("cpu").numpy().astype(np.int32)

    def workspace(self):
        return nbytes(self.x, self.y)


class VQSTE(TorchImpl):
    def load(self, x):
        p = self.p
        K, D, N = param(p, "K", 1024), param(p, "D", 128), param(p, "N", 4800)
        need = 2 * K * D + K + 2 * N * D
        if x.shape != (need,):
            raise ValueError("vq.ste: input has shape %s, expected [%d]" % (list(x.shape), need))
        t = self.to_dev(x)
        o = 0
        self.e = t[o:o + K * D].view(K, D); o += K * D
        self.cnt = t[o:o + K]; o += K
        self.sum = t[o:o + K * D].view(K, D); o += K * D
        self.xv = t[o:o + N * D].view(N, D); o += N * D
        self.g = t[o:o + N * D].view(N, D)
        self.K, self.D, self.N = K, D, N
        self.beta, self.decay = param(p, "beta", 0.25), param(p, "decay", 0.99)
        self.eps, self.dead = param(p, "eps", 1e-5), param(p, "dead", 2.0)
        r = philox_u32(param(p, "seed", 1), np.arange(K, dtype=np.uint64), 0, 1) % np.uint64(N)
        self.restart = self.to_dev(r.astype(np.int64))
        self.summary = "torch.cdist + argmin, STE by .detach(), F.mse_loss, autograd, EMA " \
                       "with Laplace smoothing on %s" % self.dev
        self.loaded = True

    def call(self):
        x = self.xv.clone().requires_grad_(True)
        e = self.e.clone().requires_grad_(True)
        codes = torch.cdist(x.detach(), e.detach()).argmin(dim=1)
        q = e[codes]
        q_st = x + (q - x).detach()
        l_cb = torch.nn.functional.mse_loss(q, x.detach())
        l_cm = self.beta * torch.nn.functional.mse_loss(x, q.detach())
        ((q_st * self.g).sum() + l_cb + l_cm).backward()
        with torch.no_grad():
            onehot = torch.nn.functional.one_hot(codes, self.K).to(x.dtype)
            cnt = self.decay * self.cnt + (1 - self.decay) * onehot.sum(0)
            s = self.decay * self.sum + (1 - self.decay) * onehot.t() @ self.xv
            n = cnt.sum()
            sm = (cnt + self.eps) / (n + self.K * self.eps) * n
            e_new = s / sm.unsqueeze(1)
            dead = cnt < self.dead
            e_new[dead] = self.xv[self.restart[dead]]
        self.y = (codes, q_st.detach(), l_cb.detach(), l_cm.detach(), x.grad, e.grad, e_new)

    def result(self):
        codes, q, lcb, lcm, dx, de, en = self.y
        parts = [codes.to(torch.float32), q.reshape(-1), torch.stack([lcb, lcm]).reshape(-1),
                 dx.reshape(-1), de.reshape(-1), en.reshape(-1)]
        return torch.cat([a.to("cpu") for a in parts]).numpy().astype(np.float32)

    def workspace(self):
        return nbytes(self.e, self.xv) * 3 + 4 * self.N * self.K


def draw(logits, u, temp):
    """Tokens of rows `logits` [M, K] for uniforms u [M] (the op's rule, no top-k/top-p)."""
    if temp == 0:
        return logits.argmax(dim=-1)
    v, i = torch.sort(logits, dim=-1, descending=True, stable=True)
    w = torch.softmax((v - v[:, :1]) / temp, dim=-1)
    cum = torch.cumsum(w, dim=-1)
    r = torch.searchsorted(cum, (u.unsqueeze(1) * cum[:, -1:]).contiguous(), right=True)
    r = torch.clamp(r, max=logits.shape[1] - 1)
    return torch.gather(i, 1, r).squeeze(1)


def nmask(F, masked, t, iters):
    n = int(np.floor(F * np.cos(np.pi / 2 * (t + 1) / iters)))
    return max(0, min(n, masked - 1))


def iterate(tok, logits, level, t, iters, temp, seed, dev):
    """One MaskGIT iteration in place on tok [L, F] (int64, -1 masked)."""
    row = tok[level]
    f = torch.nonzero(row < 0).squeeze(1)
    if f.numel() == 0:
        return
    fn = f.to("cpu").numpy().astype(np.uint64)
    u = (philox_u32(seed, fn, level, t) >> np.uint64(8)).astype(np.float64) * 2.0 ** -24
    lg = logits[f]
    k = draw(lg, torch.from_numpy(u.astype(np.float32)).to(dev), temp)
    conf = torch.softmax(lg, dim=-1).gather(1, k.unsqueeze(1)).squeeze(1)
    row[f] = k
    n = nmask(tok.shape[1], int(f.numel()), t, iters)
    if n:
        order = torch.sort(conf, stable=True).indices  # ties: the lower frame first
        row[f[order[:n]]] = -1


class MaskgitStep(TorchImpl):
    def load(self, x):
        p = self.p
        L, F, K = param(p, "levels", 8), param(p, "frames", 500), param(p, "K", 1024)
        if x.shape != (L * F + F * K,):
            raise ValueError("maskgit.step: input has shape %s, expected [%d]" %
                             (list(x.shape), L * F + F * K))
        t = self.to_dev(x)
        self.tok0 = t[:L * F].view(L, F).to(torch.int64)
        self.logits = t[L * F:].view(F, K)
        self.level, self.t = param(p, "level", 0), param(p, "iter", 0)
        self.iters, self.temp = param(p, "iters", 16), param(p, "temperature", 1.0)
        self.seed = param(p, "seed", 1)
        self.summary = "sort/softmax/cumsum/searchsorted draws of the op's Philox u, " \
                       "softmax confidences, stable torch.sort to re-mask, on %s" % self.dev
        self.loaded = True

    def call(self):
        tok = self.tok0.clone()
        iterate(tok, self.logits, self.level, self.t, self.iters, self.temp, self.seed,
                self.dev)
        self.y = tok

    def result(self):
        return self.y.to(torch.int32).to("cpu").numpy()

    def workspace(self):
        return nbytes(self.tok0, self.logits)


class MaskgitDecode(TorchImpl):
    def load(self, x):
        p = self.p
        L, F, K, d = (param(p, "levels", 8), param(p, "frames", 500), param(p, "K", 1024),
                      param(p, "d", 128))
        need = L * (K + 1) * d + d * d + d + d * K + L * K
        if x.shape != (need,):
            raise ValueError("maskgit.decode: input has shape %s, expected [%d]" %
                             (list(x.shape), need))
        t = self.to_dev(x)
        o = 0
        self.E = t[o:o + L * (K + 1) * d].view(L, K + 1, d); o += L * (K + 1) * d
        self.W1 = t[o:o + d * d].view(d, d); o += d * d
        self.b1 = t[o:o + d]; o += d
        self.W2 = t[o:o + d * K].view(d, K); o += d * K
        self.b2 = t[o:o + L * K].view(L, K)
        self.L, self.F, self.K = L, F, K
        self.it0, self.itr = param(p, "iters0", 16), param(p, "iters_rest", 1)
        self.t0, self.tr = param(p, "temperature", 1.0), param(p, "temperature_rest", 0.0)
        self.seed = param(p, "seed", 1)
        self.lv = torch.arange(L, device=self.dev).unsqueeze(1)
        self.summary = "embedding sums, relu(h @ W1 + b1) @ W2 + b2 per iteration, then " \
                       "maskgit.step's torch iteration, on %s" % self.dev
        self.loaded = True

    def call(self):
        L, F, K = self.L, self.F, self.K
        tok = torch.full((L, F), -1, dtype=torch.int64, device=self.dev)
        snaps = []
        for lv in range(L):
            n = self.it0 if lv == 0 else self.itr
            for t in range(n):
                idx = torch.where(tok < 0, torch.full_like(tok, K), tok)
                h = self.E[self.lv, idx].sum(dim=0)  # [F, d]
                a = torch.relu(h @ self.W1 + self.b1)
                logits = a @ self.W2 + self.b2[lv]
                iterate(tok, logits, lv, t, n, self.t0 if lv == 0 else self.tr, self.seed,
                        self.dev)
                snaps.append(tok.clone())
        self.y = torch.stack(snaps)

    def result(self):
        return self.y.to(torch.int32).to("cpu").numpy()

    def workspace(self):
        return nbytes(self.E, self.W2) + 4 * self.F * self.K


IMPLS = {"sample.topk": SampleTopk, "codes.delay": Delay, "vq.ste": VQSTE,
         "maskgit.step": MaskgitStep, "maskgit.decode": MaskgitDecode}
