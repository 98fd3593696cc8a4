"""decode.py — py/torchaudio of op decode (issue 14): the in-memory file decoded as a PyTorch
user would, torchaudio.load, channels averaged to float32 mono. Input layout: harness/ops/
decode.h (I32 [byte count, format index, the file's bytes]). torchaudio 0.13.1 on Debian:
its sox_io backend's libsox reads WAV (from a BytesIO too) but has no FLAC, Ogg or MP3
handler, so torchaudio falls back to FFmpeg for those; FFmpeg reads MP3 from a BytesIO
(format="mp3") but not FLAC or Ogg ("Invalid data found when processing input"), so those
are loaded from a path, the bytes written once at load to /dev/shm (tmpfs)."""
import io
import os
import tempfile

import torch
import torchaudio

from sonopy.impl import nbytes
from sonopy.ops_torch import TorchImpl
from sonopy.ta_io import backend as ta_backend
from sonopy.worker import Unsupported

FORMATS = ["wav16", "wavf32", "flac", "vorbis", "opus", "mp3"]
SUFFIX = {"flac": ".flac", "vorbis": ".ogg", "opus": ".opus", "mp3": ".mp3"}


class Decode(TorchImpl):
    def __init__(self, op, params, device):
        super().__init__(op, params, device)
        self.backend = ta_backend()  # skips where torchaudio has no loader
        self.fmt = str(params.get("format", "wav16"))
        self.rate = int(params.get("sample_rate", 44100))
        if self.fmt not in FORMATS:
            raise ValueError("decode: format=%s; one of %s" % (self.fmt, "|".join(FORMATS)))
        # the plugin's supports() skips this first (refuse_ta_decode); here for direct
        # requests. FFmpeg decodes Opus at 48 kHz only
        if self.fmt == "opus" and self.rate != 48000:
            raise Unsupported("torchaudio %s decodes Opus (through FFmpeg) at 48000 Hz only, "
                              "not %d" % (torchaudio.__version__, self.rate))
        self.path = None

    def load(self, x):
        n = int(round(float(self.p.get("seconds", 10)) * self.rate))
        if x.ndim != 1 or x.shape[0] < 2 or not 0 <= int(x[0]) <= 4 * (x.shape[0] - 2):
            raise ValueError("decode: input is not decode.h's [bytes, format, file...]")
        if int(x[1]) != FORMATS.index(self.fmt):
            raise ValueError("decode: input holds format %d, params say %s" % (x[1], self.fmt))
        self.bytes = x[2:].view("uint8")[:int(x[0])].tobytes()
        self.n = n
        if self.fmt in SUFFIX:
            fd, self.path = tempfile.mkstemp(suffix=SUFFIX[self.fmt], dir="/dev/shm",
                                             prefix="sono-ta-")
            with os.fdopen(fd, "wb") as f:
                f.write(self.bytes)
            how = "torchaudio.load(path) of the file written to tmpfs (%s)" % self.path
        else:
            how = "torchaudio.load(io.BytesIO(bytes)%s)" % (
                ", format='mp3'" if self.fmt == "mp3" else "")
        self.summary = "%s, %s, channels averaged to float32 mono; torchaudio %s, backend %s" \
                       % (how, self.fmt, torchaudio.__version__,
                          self.backend)
        self.loaded = True

    def call(self):
        if self.path:
            y, self.sr = torchaudio.load(self.path)
        else:  # torchaudio hands MP3 file objects to FFmpeg only when told the format
            y, self.sr = torchaudio.load(io.BytesIO(self.bytes),
                                         format="mp3" if self.fmt == "mp3" else None)
        self.y = y.mean(dim=0) if y.shape[0] > 1 else y[0]

    def result(self):
        if self.sr != self.rate:
            raise ValueError("decode: torchaudio decodes the %s file at %d Hz; it was written "
                             "at %d" % (self.fmt, self.sr, self.rate))
        if self.y.shape[0] != self.n:
            raise ValueError("decode: torchaudio decodes %d samples of the %s file; %d were "
                             "encoded" % (self.y.shape[0], self.fmt, self.n))
        return self.y.to(torch.float32).numpy()

    def workspace(self):
        return len(self.bytes) + nbytes(self.y)

    def close(self):
        if self.path:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            self.path = None


IMPLS = {"decode": Decode}
