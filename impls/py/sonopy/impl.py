"""impl.py — what every impl of the worker is: built by setup from the case's params,
given its input by load, called k times by time(k), read back by result(). Timing is
here, once: perf_counter_ns around k calls on the CPU, CUDA events around them on a GPU."""
import time


class Impl:
    """Subclasses set self.fn (one call of the op, storing its output in self.y) in load."""

    summary = ""

    def __init__(self, op, params, device):
        self.op = op
        self.p = params
        self.device = device
        self.threads = int(params.get("threads", 1))
        self.loaded = False
        self.ran = False
        self.y = None

    def load(self, x):
        raise NotImplementedError

    def call(self):
        raise NotImplementedError

    def time(self, k):
        """Nanoseconds for k back-to-back calls: the harness's figure for this batch."""
        call = self.call
        now = time.perf_counter_ns
        t0 = now()
        for _ in range(k):
            call()
        t1 = now()
        self.ran = True
        return t1 - t0

    def result(self):
        """The output as a host numpy array in the op's layout (dtype cast by the caller)."""
        return self.y

    def describe(self):
        return self.summary

    def workspace(self):
        """Bytes this state holds besides the harness's buffers: its input and output
        copies, tables (window, filterbank)."""
        return 0

    def close(self):
        pass


def nbytes(*arrays):
    """Total bytes of numpy arrays / torch tensors, None skipped."""
    total = 0
    for a in arrays:
        if a is None:
            continue
        if hasattr(a, "nbytes"):
            total += int(a.nbytes)
        elif hasattr(a, "element_size"):
            total += int(a.element_size() * a.nelement())
    return total


def blas_threads(threads):
    """Limit the BLAS and OpenMP pools of this process to `threads` with threadpoolctl;
    returns (the limiter to keep until teardown or None, a phrase for describe)."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return None, "threadpoolctl not installed: BLAS threads as the environment set them"
    lim = threadpool_limits(limits=threads)
    pools = ", ".join("%s %s %s=%d" % (i.get("internal_api"), i.get("version") or "",
                                       i.get("user_api"), i.get("num_threads"))
                      for i in threadpool_info())
    return lim, "threadpoolctl limits=%d (%s)" % (threads, pools or "no pools loaded")


def worker_note():
    # No pid here (issue 22): describe must be the same in every process, or compare calls
    # every py case "plan-changed"; the plugin logs the worker's pid on stderr instead.
    return "warm-up: the harness's k runs before timing cover lazy initialisation and " \
           "plan caches"
