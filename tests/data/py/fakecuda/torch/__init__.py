"""A stand-in torch for tests/data/py/python-fakecuda (issue 27): the real torch (a CPU
build), whose torch.cuda says it has $SONO_TEST_TORCH_GPUS devices (default 2). Tensors
sent to a GPU stay on the CPU; set_device, each .to() onto a GPU and each timing event are
appended to $SONO_TEST_TORCH_LOG, so a test sees which GPU the worker put a case on."""
import os
import sys
import time

_here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# off the path and out of sys.modules, so the import below finds the real torch, which
# the import of this module then returns (importlib takes what sys.modules holds)
del sys.modules["torch"]
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
import torch as _real  # noqa: E402

_cur = [0]


def _note(line):
    log = os.environ.get("SONO_TEST_TORCH_LOG")
    if log:
        with open(log, "a") as f:
            f.write(line + "\n")


def _gpu(d):
    if isinstance(d, _real.device):
        return d.type == "cuda"
    return isinstance(d, str) and d.startswith("cuda")


_to = _real.Tensor.to


def _fake_to(self, *a, **k):
    if "device" in k and _gpu(k["device"]):
        _note("to %s" % k["device"])
        k["device"] = "cpu"
    elif a and _gpu(a[0]):
        _note("to %s" % a[0])
        a = ("cpu",) + a[1:]
    return _to(self, *a, **k)


def _set_device(d):
    i = (d.index or 0) if isinstance(d, _real.device) else int(d)
    _note("set_device %d" % i)
    _cur[0] = i


class _Event:
    def __init__(self, enable_timing=False, **kw):
        self.t = 0

    def record(self, stream=None):
        _note("event on %d" % _cur[0])
        self.t = time.perf_counter_ns()

    def synchronize(self):
        pass

    def elapsed_time(self, end):
        return (end.t - self.t) / 1e6


_real.Tensor.to = _fake_to
_c = _real.cuda
_c.is_available = lambda: True
_c.device_count = lambda: int(os.environ.get("SONO_TEST_TORCH_GPUS", "2"))
_c.set_device = _set_device
_c.current_device = lambda: _cur[0]
_c.get_device_name = lambda d=None: "stand-in GPU %d" % (_cur[0] if d is None else int(d))
_c.synchronize = lambda device=None: None
_c.Event = _Event
