"""ta_io.py — the loader behind torchaudio.load, named for the peers' summaries, and the skip
where there is none: torchaudio 2.9 dropped get_audio_backend (and its own sox/FFmpeg
backends) and loads through TorchCodec, a package of its own that may not be installed."""
import torchaudio

from sonopy.worker import Unsupported


def backend():
    """torchaudio's loader ("sox_io", "ffmpeg", "torchcodec 0.8"); raises Unsupported when
    this torchaudio has none (2.9+ without TorchCodec)."""
    get = getattr(torchaudio, "get_audio_backend", None)
    if get is not None:
        return get()
    try:
        import torchcodec
    except ImportError:
        raise Unsupported("torchaudio %s loads audio through TorchCodec (since 2.9), which is "
                          "not installed" % torchaudio.__version__) from None
    return "torchcodec %s" % getattr(torchcodec, "__version__", "?")
