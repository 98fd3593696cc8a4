"""ctc.py — py/torch (and py/torch-cuda for greedy) of ctc.greedy and ctc.beam (issue 23),
as a PyTorch user writes them. Input [batch, T, V] log-probabilities (blank 0); output
int32 [batch, T + 1]: the labels, -1 padding, then the score's float32 bits
(harness/ops/ctc.c). Greedy: argmax over classes, torch.unique_consecutive, blanks dropped,
the path's log-probability from the max. Beam: torchaudio's ctc_decoder needs
flashlight-text, which Debian's torchaudio 0.13 lacks (the describe says what the probe
found), so a plain prefix beam search: a Python dict of prefix tuples to (log p_blank,
log p_non_blank), per frame the beam + 1 best labels by torch.topk (a label below them
cannot make the beam) plus the kept prefixes' own labels, math.log1p/exp in float64."""
import math

import numpy as np
import torch

from sonopy.impl import nbytes
from sonopy.ops_torch import TorchImpl

NEG = float("-inf")


def dims(p):
    T = max(1, int(round(float(p.get("seconds", 10)) * 50)))  # 50 frames per second
    return T, int(p.get("V", 32)), int(p.get("batch", 1))


def rows(B, T, seqs, scores):
    """[B, T + 1] int32: labels, -1 padding, then the score's float32 bits."""
    out = np.full((B, T + 1), -1, dtype=np.int32)
    for b, (s, sc) in enumerate(zip(seqs, scores)):
        out[b, :len(s)] = s
        out[b, T] = np.array([sc], dtype=np.float32).view(np.int32)[0]
    return out


def ta_decoder_probe():
    """Whether torchaudio's CTC beam decoder can be built here, and why not."""
    try:
        import torchaudio
        from torchaudio.models.decoder import ctc_decoder  # noqa: F401
        return True, "torchaudio %s ctc_decoder" % torchaudio.__version__
    except Exception as e:  # ImportError, or flashlight's own errors
        try:
            import torchaudio
            v = torchaudio.__version__
        except ImportError:
            v = "(not installed)"
        return False, "torchaudio %s: ctc_decoder unavailable (%s: %s)" % (
            v, type(e).__name__, e)


class Greedy(TorchImpl):
    def load(self, x):
        T, V, B = dims(self.p)
        if x.shape != (B, T, V):
            raise ValueError("ctc.greedy: input has shape %s, expected %s" %
                             (list(x.shape), [B, T, V]))
        self.x = self.to_dev(x)
        self.T, self.B = T, B
        self.summary = "lp.max(-1) (values, argmax) on %s, torch.unique_consecutive per " \
                       "utterance, blanks dropped" % self.dev
        self.loaded = True

    def call(self):
        best, idx = self.x.max(dim=-1)
        score = best.sum(dim=-1)
        seqs = []
        for b in range(self.B):
            s = torch.unique_consecutive(idx[b])
            seqs.append(s[s != 0])
        self.y = (seqs, score)

    def result(self):
        seqs, score = self.y
        return rows(self.B, self.T, [s.to("cpu").numpy() for s in seqs],
                    score.to("cpu").tolist())

    def workspace(self):
        return nbytes(self.x)


def logaddexp(a, b):
    if a == NEG:
        return b
    if b == NEG:
        return a
    m = a if a > b else b
    return m + math.log1p(math.exp(-abs(a - b)))


class Beam(TorchImpl):
    def load(self, x):
        T, V, B = dims(self.p)
        if x.shape != (B, T, V):
            raise ValueError("ctc.beam: input has shape %s, expected %s" %
                             (list(x.shape), [B, T, V]))
        self.beam = int(self.p.get("beam", 8))
        self.prune = float(self.p.get("prune", 0))
        self.x = self.to_dev(x)
        self.T, self.V, self.B = T, V, B
        ok, why = ta_decoder_probe()
        self.summary = "prefix beam search in Python: dict of prefix tuples, torch.topk " \
                       "of the beam + 1 best labels per frame, float64 log-sum-exp; " \
                       "beam=%d prune=%g (%s)" % (
                           self.beam, self.prune,
                           "torchaudio's ctc_decoder found but not used: its flashlight "
                           "scores differ from the op's" if ok else why)
        self.loaded = True

    def decode(self, lp):
        k = min(self.beam + 1, self.V - 1)
        top_v, top_i = lp[:, 1:].topk(k, dim=-1)
        top_i = (top_i + 1).tolist()
        top_v = top_v.tolist()
        fmax = lp.max(dim=-1).values.tolist()
        rowsl = lp.tolist()
        beams = {(): (0.0, NEG)}
        for t in range(self.T):
            row = rowsl[t]
            floor = fmax[t] - self.prune if self.prune > 0 else NEG
            nxt = {}

            def add(pre, pb, pnb):
                ob, onb = nxt.get(pre, (NEG, NEG))
                nxt[pre] = (logaddexp(ob, pb), logaddexp(onb, pnb))

            labels = [c for c, v in zip(top_i[t], top_v[t]) if v >= floor]
            for pre, (pb, pnb) in beams.items():
                tot = logaddexp(pb, pnb)
                last = pre[-1] if pre else None
                add(pre, tot + row[0], pnb + row[last] if last is not None else NEG)
                # the best labels, and any whose extension is a kept prefix (merged)
                cand = set(labels)
                for c in cand:
                    m = pb if c == last else tot
                    add(pre + (c,), NEG, m + row[c])
            for pre in beams:  # extensions into kept prefixes by labels outside the top
                if pre and pre[:-1] in beams:
                    c = pre[-1]
                    if c not in labels and row[c] >= floor:
                        pb, pnb = beams[pre[:-1]]
                        m = pb if pre[:-1] and pre[-2] == c else logaddexp(pb, pnb)
                        add(pre, NEG, m + row[c])
            kept = sorted(nxt.items(), key=lambda kv: logaddexp(*kv[1]), reverse=True)
            beams = dict(kept[:self.beam])
        best, (pb, pnb) = max(beams.items(), key=lambda kv: logaddexp(*kv[1]))
        return list(best), logaddexp(pb, pnb)

    def call(self):
        self.y = [self.decode(self.x[b]) for b in range(self.B)]

    def result(self):
        return rows(self.B, self.T, [s for s, _ in self.y], [sc for _, sc in self.y])

    def workspace(self):
        return nbytes(self.x)


IMPLS = {"ctc.greedy": Greedy, "ctc.beam": Beam}
