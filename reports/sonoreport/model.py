"""model.py — what the figures and tables read from records: numbers that are really
numbers, each op's size axis and figure of merit, how cases group into lines, and time
units chosen from the data so an axis reads "12 µs", not "1.2e4 ns". What an op is (its
size axis, its merit) comes from the results file's presentation object, which the
harness writes from the ops' own declarations; no op is named here."""
import math

# How a size parameter reads on an axis when the op declares no label of its own (files
# older than the presentation object, or an op without size_label): per param name.
SIZE_LABEL = {
    "seconds": "input length (s of audio)",
    "samples": "input length (samples)",
    "bitrate": "bitrate (bit/s)",
}

# The merit (harness/ops/op.h's sono_merit) whose figure is "x real time".
MERIT_XRT = "x_realtime"


def presentation(runs, op):
    """The op's presentation {size_param, size_label, merit, describe_field} from the
    first run whose file has one (suite.ops, or a top-level "ops"), else None."""
    for r in runs or ():
        doc = getattr(r, "doc", None)
        for pres in (get(doc, "suite.ops"), get(doc, "ops")):
            if isinstance(pres, dict) and isinstance(pres.get(op), dict):
                return pres[op]
    return None


def size_label(op, p, runs=None):
    pres = presentation(runs, op) or {}
    own = pres.get("size_label") if pres.get("size_param") == p else None
    return (own if isinstance(own, str) and own else None) or SIZE_LABEL.get(p) \
        or f"{p} (parameter)"


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
            if c["status"] in ("ok", "xpass") and (op is None or c["op"] == op):
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


def size_param(op, cases, runs=None):
    """The op's size parameter among cases (numeric), or None when none varies: the one
    the op declares when it varies, else the numeric parameter with most values."""
    p = (presentation(runs, op) or {}).get("size_param")
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
    """Least-squares slope of log(time) on log(size): t ~ size^k. None below 3 sizes (a
    line through two points is no fit: issue 27)."""
    pts = [(math.log(s), math.log(t)) for s, t in zip(sizes, times) if s > 0 and t > 0]
    if len({x for x, _ in pts}) < 3:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def spans_decades(values, factor=10.0):
    vals = [v for v in values if v and v > 0]
    return bool(vals) and max(vals) / min(vals) >= factor


def audio_ops(runs):
    """Ops whose figure of merit is x real time, in first-seen order. From the op's
    declared merit; for a file without one, an op all of whose cases have audio
    (input.audio_s > 0) given as a `seconds` parameter, and no codec quality."""
    out = []
    for op in ops_in(runs):
        pres = presentation(runs, op)
        if pres is not None:
            if pres.get("merit") == MERIT_XRT:
                out.append(op)
            continue
        cases = [c for r in runs for c in r.cases if c["op"] == op]
        if cases and all(pos(get(c, "input.audio_s")) and "seconds" in c["params"]
                         and "quality" not in c for c in cases):
            out.append(op)
    return out
