"""model.py — what the figures and tables read from records: numbers that are really
numbers, each op's size axis, how cases group into lines, and time units chosen from
the data so an axis reads "12 µs", not "1.2e4 ns"."""
import math

# Ops that take audio and whose figure of merit is "x real time".
AUDIO_OPS = ("stft", "melspec", "logmel", "mfcc")

# The parameter each op grows with; ops not named here use the one numeric parameter
# that varies among their cases.
SIZE_PARAM = {
    "fft": "n", "rfft": "n", "triad": "n", "nop": "n", "sgemm": "n",
    "stft": "seconds", "melspec": "seconds", "logmel": "seconds", "mfcc": "seconds",
}

# How a size parameter reads on an axis, with its unit: per (op, param), then per param.
SIZE_LABEL = {
    ("fft", "n"): "transform size n (complex points)",
    ("rfft", "n"): "transform size n (real points)",
    ("sgemm", "n"): "matrix size n (C is m × n)",
    ("triad", "n"): "vector length n (float32 elements)",
    ("nop", "n"): "n (float32 elements)",
    "seconds": "input length (s of audio)",
    "samples": "input length (samples)",
    "bitrate": "bitrate (bit/s)",
}


def size_label(op, p):
    return SIZE_LABEL.get((op, p)) or SIZE_LABEL.get(p) or f"{p} (parameter)"


TIME_UNITS = ((1.0, "ns"), (1e3, "µs"), (1e6, "ms"), (1e9, "s"))


def num(x):
    """x as a finite float, or None (JSON null, strings, booleans, NaN, missing)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def pos(x):
    """num(x) when it is > 0 (something a log axis can show), else None."""
    v = num(x)
    return v if v is not None and v > 0 else None


def get(obj, dotted):
    """obj["a"]["b"]... along "a.b"; None when any step is missing."""
    for k in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def time_unit(values_ns):
    """(divisor, unit) that puts the middle of values_ns (ns) between 1 and 1000."""
    vals = sorted(v for v in values_ns if v and v > 0)
    if not vals:
        return TIME_UNITS[0]
    mid = vals[len(vals) // 2]
    best = TIME_UNITS[0]
    for scale, unit in TIME_UNITS:
        if mid >= scale:
            best = (scale, unit)
    return best


def fmt_time(ns):
    v = num(ns)
    if v is None:
        return "–"
    scale, unit = time_unit([v])
    return f"{v / scale:.3g} {unit}"


def fmt_num(x, digits=3):
    v = num(x)
    return "–" if v is None else f"{v:.{digits}g}"


def fmt_rate(x):
    """GFLOP/s or GB/s: 51,200 rather than 5.12e+04; 3 digits below 1000."""
    v = num(x)
    if v is None:
        return "–"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def fmt_param(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def ok_cases(runs, op=None):
    """(run, case) for every measured ok case, of op when given."""
    for r in runs:
        for c in r.cases:
            if c["status"] == "ok" and (op is None or c["op"] == op):
                yield r, c


def ops_in(runs):
    seen = []
    for r in runs:
        for c in r.cases:
            if c["op"] not in seen:
                seen.append(c["op"])
    return seen


def varying_params(cases):
    """Parameter names whose values differ among cases, in first-seen order."""
    values, order = {}, []
    for c in cases:
        for k, v in c["params"].items():
            if k not in values:
                values[k] = set()
                order.append(k)
            values[k].add(repr(v))
    for c in cases:  # a parameter missing from some cases varies too
        for k in order:
            if k not in c["params"]:
                values[k].add("<none>")
    return [k for k in order if len(values[k]) > 1]


def size_param(op, cases):
    """The op's size parameter among cases (numeric), or None when none varies."""
    p = SIZE_PARAM.get(op)
    vary = varying_params(cases)
    if p and p in vary and all(num(c["params"].get(p)) is not None for c in cases):
        return p
    numeric = [k for k in vary if all(num(c["params"].get(k)) is not None for c in cases)]
    if len(numeric) == 1:
        return numeric[0]
    if numeric:  # several: the one with most distinct values is the likeliest size
        return max(numeric, key=lambda k: len({c["params"][k] for c in cases}))
    return None


def group_label(case, keys):
    """impl plus the values of the given params: "cpu/radix2 batch=16"."""
    parts = [f"{k}={fmt_param(case['params'].get(k))}" for k in keys]
    return " ".join([case["impl"]] + parts)


def fit_exponent(sizes, times):
    """Least-squares slope of log(time) on log(size): t ~ size^k. None below 2 sizes."""
    pts = [(math.log(s), math.log(t)) for s, t in zip(sizes, times) if s > 0 and t > 0]
    if len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def spans_decades(values, factor=10.0):
    vals = [v for v in values if v and v > 0]
    return bool(vals) and max(vals) / min(vals) >= factor
