"""worker.py — the py backend's worker process: one JSON request per line on stdin, one
JSON reply per line on the original stdout (anything else printed goes to stderr), impls
from ops_numpy / ops_torch / ops_test run on arrays the C plugin shares through POSIX
shared memory. The contract, field by field, is impls/py/PROTOCOL.md."""
import json
import mmap
import os
import sys
import traceback

PROTOCOL = 1

# the harness's sono_dtype names -> numpy dtype names
DTYPES = {"f32": "float32", "c64": "complex64", "f64": "float64", "c128": "complex128",
          "i16": "int16", "i32": "int32"}


class RequestError(Exception):
    """A malformed or out-of-order request: the plugin's bug or a stray writer."""


class Unsupported(Exception):
    """The impl cannot run these parameters here (module missing, no CUDA device)."""


def field(req, name, kind):
    v = req.get(name)
    if not isinstance(v, kind) or isinstance(v, bool):
        raise RequestError("request field '%s' must be %s, got %r" %
                           (name, getattr(kind, "__name__", kind), v))
    return v


def shm_array(req, writable):
    """A numpy view of the shared buffer a load/store request names, and its mmap."""
    import numpy as np

    name = field(req, "shm", str)
    dtype = field(req, "dtype", str)
    shape = field(req, "shape", list)
    if not name.startswith("/") or "/" in name[1:] or len(name) > 200:
        raise RequestError("shm name %r must be /NAME, one path component" % name)
    if dtype not in DTYPES:
        raise RequestError("dtype %r is not one of %s" % (dtype, ", ".join(DTYPES)))
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise RequestError("shape %r must be a list of non-negative integers" % (shape,))
    dt = np.dtype(DTYPES[dtype])
    need = dt.itemsize
    for d in shape:
        need *= d
    try:
        fd = os.open("/dev/shm/" + name[1:], os.O_RDWR if writable else os.O_RDONLY)
    except OSError as e:
        raise RequestError("cannot open shared memory %s: %s" % (name, e.strerror))
    try:
        size = os.fstat(fd).st_size
        if size < need or need == 0:
            raise RequestError("shared memory %s holds %d bytes; %s %s needs %d" %
                               (name, size, dtype, shape, need))
        m = mmap.mmap(fd, need, access=mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ)
    finally:
        os.close(fd)
    return np.frombuffer(m, dtype=dt, count=need // dt.itemsize).reshape(shape), m


def impl_class(name, op):
    if name == "numpy":
        from sonopy import ops_numpy as mod
    elif name in ("torch", "torch-cuda"):
        try:
            from sonopy import ops_torch as mod
        except ImportError as e:
            raise Unsupported("%s: %s" % (name, e))
    elif name == "torchaudio":  # issue 14: resample and decode peers
        try:
            if op == "decode":
                from sonopy import decode as mod
            elif op == "ctc.beam":  # issue 23: torchaudio's CTC decoder
                from sonopy import ctc_ta as mod
            else:
                from sonopy import resample as mod
        except ImportError as e:
            raise Unsupported("%s: %s" % (name, e))
    elif name == "torch-dataloader":  # issue 14: load.batch peer
        try:
            from sonopy import dataloader as mod
        except ImportError as e:
            raise Unsupported("%s: %s" % (name, e))
    elif name == "pesq-itu":  # issue 24: PESQ, the codecs' quality scorer
        from sonopy import pesq_itu as mod
    elif name.startswith("test-") and os.environ.get("SONO_PY_TEST_IMPLS") == "1":
        from sonopy import ops_test

        if name not in ops_test.BY_NAME or op != "fft":
            raise RequestError("no test impl %r of op %r" % (name, op))
        return ops_test.BY_NAME[name]
    else:
        raise RequestError("no impl named %r" % name)
    cls = mod.IMPLS.get(op)
    if cls is None:
        raise RequestError("impl %r has no op %r" % (name, op))
    return cls


class Worker:
    def __init__(self):
        self.states = {}
        self.next_id = 1
        self.done = False

    def state(self, req):
        sid = field(req, "id", int)
        if sid not in self.states:
            raise RequestError("no state with id %d (set up: %s)" %
                               (sid, sorted(self.states) or "none"))
        return self.states[sid]

    def cmd_hello(self, req):
        return {"protocol": PROTOCOL, "pid": os.getpid(),
                "python": sys.version.split()[0], "executable": sys.executable}

    def cmd_setup(self, req):
        name = field(req, "impl", str)
        op = field(req, "op", str)
        params = field(req, "params", dict)
        device = req.get("device", "cpu")
        # issue 27: "cuda:N" names the GPU (the case's device=cuda:N); "cuda" is cuda:0
        gpu = device[5:] if isinstance(device, str) and device.startswith("cuda:") else ""
        if device not in ("cpu", "cuda") and not (gpu.isdigit() and gpu.isascii()):
            raise RequestError("device %r is not cpu, cuda or cuda:N" % (device,))
        st = impl_class(name, op)(op, params, device)
        sid = self.next_id
        self.next_id += 1
        self.states[sid] = st
        return {"id": sid}

    def cmd_load(self, req):
        st = self.state(req)
        x, m = shm_array(req, writable=False)
        try:
            st.load(x.copy())  # the impl's own copy: the shm is gone after this reply
        finally:
            del x
            m.close()
        return {}

    def cmd_run(self, req):
        st = self.state(req)
        k = field(req, "k", int)
        if k < 1:
            raise RequestError("k=%d must be >= 1" % k)
        if not st.loaded:
            raise RequestError("run before load")
        return {"ns": st.time(k)}

    def cmd_store(self, req):
        st = self.state(req)
        y, m = shm_array(req, writable=True)
        try:
            if not st.ran:
                raise RequestError("store before run")
            r = st.result()
            if r.shape != y.shape:
                raise ValueError("result has shape %s, the op's output %s" %
                                 (list(r.shape), list(y.shape)))
            y[...] = r  # numpy casts (complex128 -> complex64, ...) as it copies
        finally:
            del y
            m.close()
        return {}

    def cmd_describe(self, req):
        st = self.state(req)
        return {"text": st.describe(), "workspace": int(st.workspace())}

    def cmd_quit(self, req):
        self.done = True
        return {}

    def cmd_teardown(self, req):
        st = self.state(req)
        del self.states[field(req, "id", int)]
        st.close()
        return {}

    def handle(self, line):
        try:
            try:
                req = json.loads(line)
            except ValueError as e:
                raise RequestError("request is not JSON: %s" % e)
            if not isinstance(req, dict):
                raise RequestError("request must be a JSON object")
            cmd = field(req, "cmd", str)
            fn = getattr(self, "cmd_" + cmd, None)
            if fn is None:
                raise RequestError("unknown cmd %r" % cmd)
            reply = fn(req)
            reply["ok"] = True
            return reply
        except RequestError as e:
            return {"ok": False, "kind": "request", "error": str(e)}
        except Unsupported as e:
            return {"ok": False, "kind": "unsupported", "error": str(e)}
        except Exception as e:
            # the full traceback for whoever reads stderr; its last line for the record
            traceback.print_exc(file=sys.stderr)
            last = traceback.format_exception_only(type(e), e)[-1].strip()
            return {"ok": False, "kind": "error", "error": last}


def main():
    import faulthandler

    faulthandler.enable()  # a crash in native code leaves its Python stack on stderr
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # prints from impls or native libraries must not reach the protocol
    sys.stdout = sys.stderr
    w = Worker()
    for line in sys.stdin:
        if line.strip() == "":
            continue
        reply.write(json.dumps(w.handle(line)) + "\n")
        if w.done:
            break
    for st in list(w.states.values()):
        st.close()
