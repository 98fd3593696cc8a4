"""ops_torch.py — py/torch (CPU) and py/torch-cuda: the ops as a PyTorch user writes them.
torch.fft for fft/rfft; torch.stft (reflect-centred, torch's own periodic windows) for
the front ends, then the filterbank matmul, with librosa's filterbank and the DCT from
dsp.py (torchaudio's melscale_fbanks, in float32, fails melspec's check on a sine near a
filter edge; see PROTOCOL.md). logmel is Whisper's
log_mel_spectrogram line for line (torch.hann_window(400), stft, drop the last frame,
|X|**2, mel_filters @, clamp/log10, max - 8, (L + 4) / 4), with Whisper's filters, which
are librosa's: dsp.melbank. The codec blocks (nn.py): vq.encode, conv1d, attention. On
CUDA, load/store copy host<->device and the batch of k calls is timed with CUDA events."""
import re

import numpy as np
import torch


from sonopy import dsp
from sonopy.impl import Impl, blas_threads, nbytes, worker_note
from sonopy.worker import Unsupported


def torch_config():
    """torch's version, intra/inter-op threads, parallel backend and BLAS, one line."""
    cfg = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=([^,\s]+)", cfg)
    par = re.search(r"ATen parallel backend: (.*)", torch.__config__.parallel_info())
    return "torch %s: intra-op threads=%d, inter-op threads=%d, parallel backend %s, " \
           "BLAS_INFO=%s, MKL %s" % (
               torch.__version__, torch.get_num_threads(), torch.get_num_interop_threads(),
               par.group(1).strip() if par else "?", blas.group(1) if blas else "?",
               "yes" if torch.backends.mkl.is_available() else "no")


class TorchImpl(Impl):
    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        self.limiter = None
        if device != "cpu":
            if not torch.cuda.is_available():
                raise Unsupported("no CUDA device: torch %s (CUDA %s) sees none" %
                                  (torch.__version__, torch.version.cuda))
            # issue 27: the case's GPU ("cuda:N"), not torch's default one
            idx = int(device.partition(":")[2] or 0)
            have = torch.cuda.device_count()
            if idx >= have:
                raise Unsupported("torch sees %d CUDA device%s; cuda:%d asked" %
                                  (have, "" if have == 1 else "s", idx))
            self.dev = torch.device("cuda", idx)
            # float32 means IEEE float32 products, as in the C rungs and the tolerances:
            # torch's cuDNN convolutions default to TF32 on Ampere and later (cudnn.
            # allow_tf32 is True out of the box), which put EnCodec's torch-cuda peer at rel
            # L2 8.1e-4 on the H200 against ~1e-6 in float32. A case in dtype tf32 turns
            # both on for its timed call only (nn.TF32Switch).
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
            self.use_gpu()
            self.threads_note = "runs on %s" % torch.cuda.get_device_name(idx)
        else:
            self.dev = torch.device("cpu")
            torch.set_num_threads(self.threads)
            self.limiter, pools = blas_threads(self.threads)
            self.threads_note = "torch.set_num_threads(%d); %s" % (self.threads, pools)

    def use_gpu(self):
        """Makes this case's GPU torch's current one: tensors made without device=, the
        bare torch.cuda.synchronize() of the impls and the timing events go to it, also
        after another state of this worker chose another GPU."""
        torch.cuda.set_device(self.dev)

    def to_dev(self, a):
        t = torch.from_numpy(np.ascontiguousarray(a)).to(self.dev)
        if self.dev.type == "cuda":
            self.use_gpu()
            torch.cuda.synchronize()
        return t

    def time(self, k):
        if self.dev.type != "cuda":
            return super().time(k)
        call = self.call
        self.use_gpu()  # the events are recorded on the current device's stream
        torch.cuda.synchronize()
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(k):
            call()
        b.record()
        b.synchronize()
        self.ran = True
        return int(round(a.elapsed_time(b) * 1e6))  # ms -> ns

    def result(self):
        y = self.y.detach().to("cpu")
        return y.numpy()

    def describe(self):
        return "%s; %s; %s; %s" % (self.summary, self.threads_note, torch_config(), worker_note())

    def close(self):
        if self.limiter is not None:
            self.limiter.restore_original_limits()
            self.limiter = None


class FFT(TorchImpl):
    def load(self, x):
        self.x = self.to_dev(x)
        self.fn = torch.fft.rfft if self.op == "rfft" else torch.fft.fft
        self.summary = "torch.fft.%s(x, dim=-1) on %s, %s" % (self.op, self.dev, self.x.dtype)
        self.loaded = True

    def call(self):
        self.y = self.fn(self.x, dim=-1)

    def workspace(self):
        return nbytes(self.x, self.y)


def clip_max(v):
    """Each clip's max of a [rows, frames] or [batch, rows, frames] tensor, broadcastable."""
    return v.max() if v.dim() == 2 else v.amax(dim=(-2, -1), keepdim=True)


class Frontend(TorchImpl):
    def load(self, x):
        # batch > 1 (issue 10): x is [batch, samples]; torch.stft and the matmuls take the
        # leading dim as a batch, and the clamps take each clip's own max
        d = self.d = dsp.Dims(self.op, self.p, x.shape[-1])
        self.x = self.to_dev(x)
        make = {"hann": torch.hann_window, "hamming": torch.hamming_window,
                "blackman": torch.blackman_window}[d.window]
        self.win = make(d.win_length, periodic=True, device=self.dev)
        # torchaudio.functional.melscale_fbanks computes its triangles in float32: on a
        # sine next to a filter edge that is up to 2.2x melspec's tolerance (PROTOCOL.md),
        # so the filterbank and DCT are librosa's formulas in float64, rounded once
        self.fb = self.to_dev(dsp.melbank(d)) if self.op != "stft" else None
        self.dct = self.to_dev(dsp.dct_ortho(d)) if self.op == "mfcc" else None
        tables = "librosa's mel filters in float64 rounded to float32 (Whisper's " \
                 "mel_filters.npz for logmel)"
        self.summary = "torch.stft(center=%s, reflect, torch.%s_window) + matmul on %s; %s" % (
            bool(d.center), d.window, self.dev, tables)
        if self.op == "logmel":
            self.summary = "Whisper's log_mel_spectrogram: torch.hann_window(400), torch.stft, " \
                           "filters @ |X|**2, log10 clamp, on %s; %s" % (self.dev, tables)
        self.loaded = True

    def stft(self, x):
        d = self.d
        return torch.stft(x, d.n_fft, hop_length=d.hop, win_length=d.win_length,
                          window=self.win, center=bool(d.center), pad_mode="reflect",
                          return_complex=True)

    def call(self):
        d = self.d
        if self.op == "logmel":
            audio = self.x
            if d.pad_or_trim:
                n = audio.shape[-1]
                audio = audio[..., :d.used] if n >= d.used else \
                    torch.nn.functional.pad(audio, (0, d.used - n))
            stft = self.stft(audio)
            magnitudes = stft[..., :-1].abs() ** 2
            mel_spec = self.fb @ magnitudes
            log_spec = torch.clamp(mel_spec, min=1e-10).log10()
            log_spec = torch.maximum(log_spec, clip_max(log_spec) - 8.0)
            self.y = (log_spec + 4.0) / 4.0
            return
        X = self.stft(self.x)
        if self.op == "stft":
            if d.output == "complex":
                self.y = X
            elif d.output == "magnitude":
                self.y = X.abs()
            else:
                self.y = X.abs() ** 2
            return
        S = X.abs() ** 2 if d.power == 2.0 else X.abs().pow(d.power)
        M = self.fb @ S
        if self.op == "melspec":
            self.y = M
            return
        D = 10.0 * torch.clamp(M, min=1e-10).log10()
        if d.top_db > 0:
            D = torch.maximum(D, clip_max(D) - d.top_db)
        self.y = self.dct @ D

    def workspace(self):
        return nbytes(self.x, self.y, self.win, self.fb, self.dct)


from sonopy.nn import VQ, Conv1d, Attention  # noqa: E402 (they subclass TorchImpl)

IMPLS = {"vq.encode": VQ, "conv1d": Conv1d, "attention": Attention,
         "fft": FFT, "rfft": FFT, "stft": Frontend, "melspec": Frontend, "logmel": Frontend,
         "mfcc": Frontend}

# issue 11: EncodecModel (transformers, imported at setup: its absence is a skip)
from sonopy.encodec import Encodec  # noqa: E402
IMPLS["codec.encodec"] = Encodec
IMPLS["codec.soundstream"] = Encodec  # issue 24: its config of the same model
from sonopy.dac import Dac  # noqa: E402 (issue 24: DacModel)
IMPLS["codec.dac"] = Dac

# issue 23: CTC decoding (greedy on CPU and CUDA, prefix beam search in Python)
from sonopy.ctc import IMPLS as CTC_IMPLS  # noqa: E402
IMPLS.update(CTC_IMPLS)
# issue 23: transformers' WhisperEncoder (imported at setup: its absence is a skip)
from sonopy.whisper import WhisperEnc  # noqa: E402
IMPLS["whisper.encoder"] = WhisperEnc
# issue 23: Wav2Vec2FeatureEncoder (transformers, imported at setup) and WavLM's relpos
from sonopy.speech import IMPLS as SPEECH_IMPLS  # noqa: E402
IMPLS.update(SPEECH_IMPLS)
# issue 25: SpeechT5HifiGan (transformers, imported at setup) and a plain torch WaveNet stack
from sonopy.generation import IMPLS as GENERATION_IMPLS  # noqa: E402
IMPLS.update(GENERATION_IMPLS)
# issue 24: transformers' MimiModel (imported at setup: its absence is a skip)
from sonopy.mimi import Mimi  # noqa: E402
IMPLS["codec.mimi"] = Mimi
# issue 25: sample.topk, codes.delay, vq.ste (sonopy/gen.py)
from sonopy.gen import IMPLS as GEN_IMPLS  # noqa: E402
IMPLS.update(GEN_IMPLS)
