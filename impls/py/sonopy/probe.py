"""probe.py — what the plugin asks of a candidate interpreter before choosing it, cheaply
(no numpy or torch import: this runs in every harness process): which modules are
installed and their versions, whether torch was built with CUDA, and the cost and step of
time.perf_counter_ns, the clock the worker times with. One JSON line on stdout."""
import importlib.util
import json
import sys
import time


def version(mod):
    """The installed version of mod, or None when it cannot be found."""
    try:
        if importlib.util.find_spec(mod) is None:
            return None
    except Exception:  # a broken or blocked package is as good as none
        return None
    try:
        from importlib import metadata

        return metadata.version(mod)
    except Exception:
        return "unknown"


def torch_cuda():
    """torch.version.cuda read from torch/version.py, without importing torch (~1 s)."""
    try:
        spec = importlib.util.find_spec("torch")
        loc = list(spec.submodule_search_locations or [])
        with open(loc[0] + "/version.py") as f:
            for line in f:
                if line.startswith("cuda"):
                    v = line.split("=", 1)[1].strip().strip("'\"")
                    return None if v in ("None", "") else v
    except Exception:
        pass
    return None


def ctc_decoder():
    """issue 23: what torchaudio's ctc_decoder would build on, without importing torchaudio:
    its own flashlight extension (torchaudio 0.12-2.0 wheels) or the flashlight-text
    package (2.1+); None when neither is there (Debian's torchaudio 0.13 has neither)."""
    try:
        spec = importlib.util.find_spec("torchaudio")
        for loc in list(spec.submodule_search_locations or []) if spec else []:
            import glob
            import os

            if glob.glob(os.path.join(loc, "lib", "*flashlight*")) or \
                    glob.glob(os.path.join(loc, "flashlight_lib_text_decoder*")):
                return "torchaudio's own flashlight extension"
        from importlib import metadata

        return "flashlight-text " + metadata.version("flashlight-text")
    except Exception:
        return None


def clock():
    """Resolution (smallest non-zero step) and cost of one perf_counter_ns() read, ns."""
    now = time.perf_counter_ns
    best = 10**9
    for _ in range(200):
        a = now()
        b = now()
        while b == a:
            b = now()
        best = min(best, b - a)
    n = 20000
    t0 = now()
    for _ in range(n):
        now()
    return best, (now() - t0) / n


def main():
    out = {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "numpy": version("numpy"),
        "torch": version("torch"),
        "torchaudio": version("torchaudio"),
        "threadpoolctl": version("threadpoolctl"),
        "transformers": version("transformers"),  # issue 11: EncodecModel's peer
        "torchcodec": version("torchcodec"),  # torchaudio 2.9+ loads audio through it
        "pesq": version("pesq"),  # issue 24: the codecs' PESQ scorer
        "torch_cuda": torch_cuda() if version("torch") else None,
        "ctc_decoder": ctc_decoder(),  # issue 23: torchaudio's CTC beam decoder
    }
    if out["numpy"]:  # only the chosen interpreter's clock matters
        out["clock_resolution_ns"], out["clock_overhead_ns"] = clock()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
