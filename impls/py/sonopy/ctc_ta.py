"""ctc_ta.py — py/torchaudio of ctc.beam (issue 23): torchaudio's CTC beam search decoder
(torchaudio.models.decoder.ctc_decoder, flashlight-text's lexicon-free decoder) where the
installed torchaudio can build it; setup raises Unsupported with the import's reason where
it cannot (Debian's torchaudio 0.13.1 has no flashlight-text: "No module named
'torchaudio.flashlight_lib_text_decoder'"). Built with the op's beam, every token per
frame (beam_size_token = V), beam_threshold = prune (or 1000: none), no LM, log_add=True
(prefixes merged by log-sum-exp, as the op's prefix beam search does). flashlight needs a
silence token: an extra "|" column of -1e30 is appended to the emissions at load, and "|"
is dropped from the result. Not run on the machine this was written on (no
flashlight-text there): its results stand on the op's check alone."""
import numpy as np
import torch

from sonopy.ops_torch import TorchImpl  # first: it imports sonopy.ctc at its end
from sonopy.ctc import dims, rows, ta_decoder_probe  # noqa: I100
from sonopy.impl import nbytes
from sonopy.worker import Unsupported


class TaBeam(TorchImpl):
    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        ok, why = ta_decoder_probe()
        if not ok:
            raise Unsupported(why)

    def load(self, x):
        from torchaudio.models.decoder import ctc_decoder

        T, V, B = dims(self.p)
        if x.shape != (B, T, V):
            raise ValueError("ctc.beam: input has shape %s, expected %s" %
                             (list(x.shape), [B, T, V]))
        self.T, self.V, self.B = T, V, B
        beam = int(self.p.get("beam", 8))
        prune = float(self.p.get("prune", 0))
        e = np.concatenate([x, np.full((B, T, 1), -1e30, dtype=np.float32)], axis=2)
        self.x = torch.from_numpy(np.ascontiguousarray(e))
        self.tokens = ["-"] + ["t%d" % i for i in range(1, V)] + ["|"]
        self.dec = ctc_decoder(lexicon=None, tokens=self.tokens, lm=None, nbest=1,
                               beam_size=beam, beam_size_token=V,
                               beam_threshold=prune if prune > 0 else 1000.0,
                               blank_token="-", sil_token="|", log_add=True)
        self.summary = "torchaudio ctc_decoder (flashlight lexicon-free, log_add, no LM): " \
                       "beam_size=%d, beam_size_token=%d, beam_threshold=%g" % (
                           beam, V, prune if prune > 0 else 1000.0)
        self.loaded = True

    def call(self):
        self.y = self.dec(self.x)

    def result(self):
        seqs, scores = [], []
        for hyps in self.y:
            h = hyps[0]
            t = [int(k) for k in h.tokens.tolist() if 0 < int(k) < self.V]
            seqs.append(t)
            scores.append(float(h.score))
        return rows(self.B, self.T, seqs, scores)

    def workspace(self):
        return nbytes(self.x)


IMPLS = {"ctc.beam": TaBeam}
