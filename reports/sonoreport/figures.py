"""figures.py — the report's plots, drawn with matplotlib's object API (no pyplot state).
Each maker adds Drawn figures (title, caption, matplotlib Figure) or a NotDrawn entry
saying why: a figure whose data is absent is named in the page, never silently left out."""
import math
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

from . import model as M  # noqa: E402
from .model import get, num, pos  # noqa: E402

LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
          "#17becf", "#7f7f7f", "#bcbd22")
CEILING_COLORS = ("#444444", "#888888", "#aa6600", "#006688")


class Drawn:
    def __init__(self, key, title, fig, caption=""):
        self.key, self.title, self.fig, self.caption = key, title, fig, caption


class NotDrawn:
    def __init__(self, title, reason):
        self.title, self.reason = title, reason


def _figure(height=5.0, width=10.0):
    return Figure(figsize=(width, height), layout="constrained")


def _legend(ax, n):
    """Inside when short, to the right when long, so it never hides the data."""
    if n <= 6:
        ax.legend(fontsize=8, loc="best")
    else:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _size_ticks(ax, series):
    """The sizes themselves as ticks when few (64, 480, 1024 rather than 10^2, 10^3)."""
    sizes = sorted({s for pts in series.values() for s in pts})
    if 1 < len(sizes) <= 12:
        ax.set_xticks(sizes)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())


def _ratio_axis(ax, span):
    """A log ratio axis from 1/span to span with plain labels: 0.5×, 1×, 2×."""
    ax.set_xlim(1 / span, span)
    steps = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.8, 1, 1.25, 2, 5, 10, 20, 50, 100)
    ticks = [t for t in steps if 1 / span <= t <= span]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _ci_rate_err(rate, case):
    """Error bar of a rate (inverse of time) from the median's CI: [rate*med/hi, rate*med/lo]."""
    med, lo, hi = pos(get(case, "time_ns.median")), pos(get(case, "time_ns.ci_lo")), \
        pos(get(case, "time_ns.ci_hi"))
    if not (med and lo and hi):
        return 0.0, 0.0
    return max(rate - rate * med / hi, 0.0), max(rate * med / lo - rate, 0.0)


def _by_size(runs, op, p, keys):
    """{(run index, group label): {size: [cases]}} for the op's ok cases."""
    series = defaultdict(lambda: defaultdict(list))
    for ri, r in enumerate(runs):
        for c in r.cases:
            if c["status"] in ("ok", "xpass") and c["op"] == op:
                s = pos(c["params"].get(p))
                if s is not None:
                    series[(ri, M.group_label(c, keys))][s].append(c)
    return series


def _median(vals):
    v = sorted(vals)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def _styles(series, runs):
    groups = sorted({g for _, g in series})
    color = {g: COLORS[i % len(COLORS)] for i, g in enumerate(groups)}
    multi = len({ri for ri, _ in series}) > 1
    return color, multi


def _nlogn_slope(lo, hi):
    """Log-log slope of N log N between sizes lo and hi (> 1)."""
    if lo <= 1 or hi <= lo:
        return None
    return 1 + math.log(math.log(hi) / math.log(lo)) / math.log(hi / lo)


def time_vs_size(runs, op, out):
    title = f"{op}: time vs size"
    cases = [c for _, c in M.ok_cases(runs, op)]
    if not cases:
        out.append(NotDrawn(title, f"no {op} case measured ok"))
        return
    p = M.size_param(op, cases, runs)
    if p is None:
        out.append(NotDrawn(title, f"every {op} case has the same size: nothing to plot "
                                   "against"))
        return
    keys = [k for k in M.varying_params(cases) if k != p]
    series = _by_size(runs, op, p, keys)
    if all(len(pts) < 2 for pts in series.values()):  # issue 27: one point per line
        out.append(NotDrawn(f"{op}: median time per run vs {p}",
                            f"each series has a single {p}: no line to draw"))
        return
    scale, unit = M.time_unit([get(c, "time_ns.median") for c in cases])
    color, multi = _styles(series, runs)
    title = f"{op}: median time per run vs {p}"
    fig = _figure()
    ax = fig.add_subplot()
    exps, sizes_all = [], []
    for (ri, g), pts in sorted(series.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        sizes = sorted(pts)
        meds, lo, hi = [], [], []
        for s in sizes:
            cs = pts[s]  # several inputs at one size: median of medians, CI bars span all
            m = _median([num(get(c, "time_ns.median")) for c in cs])
            los = [pos(get(c, "time_ns.ci_lo")) or m for c in cs]
            his = [pos(get(c, "time_ns.ci_hi")) or m for c in cs]
            meds.append(m)
            lo.append(max(m - min(los), 0.0))
            hi.append(max(max(his) - m, 0.0))
        k = M.fit_exponent(sizes, meds)
        sizes_all += sizes
        name = g + (f" [{runs[ri].label}]" if multi else "")
        label = name + (f": t ∝ {p}^{k:.2f}" if k is not None else
                        ": one size" if len(sizes) < 2 else f": {len(sizes)} sizes, no fit")
        if k is not None:
            exps.append(f"{name} {k:.2f}")
        ax.errorbar(sizes, [m / scale for m in meds],
                    yerr=[[x / scale for x in lo], [x / scale for x in hi]],
                    color=color[g], linestyle=LINESTYLES[ri % len(LINESTYLES)],
                    marker=MARKERS[ri % len(MARKERS)], markersize=4, capsize=2, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(M.size_label(op, p, runs))
    _size_ticks(ax, series)
    ax.set_ylabel(f"median time per run ({unit})")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    _legend(ax, len(series))
    cap = ("Log–log; error bars: 95 % CI of the median (several inputs at one size: "
           "the median of their medians, bars spanning their CIs). ")
    if exps:
        cap += "Fitted exponents (least squares on log–log): " + "; ".join(exps) + "."
        nl = _nlogn_slope(min(sizes_all), max(sizes_all))
        if nl is not None and p == "n":
            cap += (f" Over n = {M.fmt_param(min(sizes_all))}..{M.fmt_param(max(sizes_all))}"
                    f" N log N has slope {nl:.2f}, N² has 2.")
    out.append(Drawn(f"time-{op}", title, fig, cap))


def _ceilings(runs, metric, devices):
    """[(label, value)] of the calibrated ceilings for a metric ("gflops"/"gbps")."""
    what = "peak (calibrated)" if metric == "gflops" else "bandwidth (calibrated)"
    unit = "GFLOP/s" if metric == "gflops" else "GB/s"
    out = []
    for r in runs:
        cal = r.calibration
        if not cal:
            continue
        for t, v in sorted(cal["threads"].items(), key=lambda kv: int(kv[0]) if
                           str(kv[0]).isdigit() else 0):
            val = pos(get(v, metric))
            if val:
                out.append((f"{r.label}: {what}, {t} thread{'s' if str(t) != '1' else ''}"
                            f" = {M.fmt_rate(val)} {unit}", val))
        gpus = cal.get("gpus") if isinstance(cal.get("gpus"), dict) else {}
        for dev, v in gpus.items():
            val = pos(get(v, metric))
            if val and dev in devices:
                out.append((f"{r.label}: {dev} {what.split(' ')[0]} = {M.fmt_rate(val)} {unit}",
                            val))
    return out


def throughput_vs_size(runs, op, out):
    title = f"{op}: throughput vs size"
    cases = [c for _, c in M.ok_cases(runs, op)]
    p = M.size_param(op, cases, runs) if cases else None
    if p is None:
        out.append(NotDrawn(title, f"no {op} cases measured ok at two sizes or more"))
        return
    if any(pos(get(c, "cost.flops")) and pos(get(c, "derived.gflops")) for c in cases):
        metric, unit, what = "gflops", "GFLOP/s", "GFLOP/s (cost model ÷ median time)"
    elif any(pos(get(c, "derived.gbps")) for c in cases):
        metric, unit, what = "gbps", "GB/s", "GB/s (bytes moved ÷ median time)"
    else:
        out.append(NotDrawn(title, f"no {op} case has derived.gflops or derived.gbps"))
        return
    keys = [k for k in M.varying_params(cases) if k != p]
    series = _by_size(runs, op, p, keys)
    if all(len(pts) < 2 for pts in series.values()):  # issue 27: one point per line
        out.append(NotDrawn(f"{op}: {unit} vs {p}", f"each series has a single {p}: no line "
                                                    "to draw"))
        return
    color, multi = _styles(series, runs)
    title = f"{op}: {unit} vs {p}"
    fig = _figure()
    ax = fig.add_subplot()
    values = []
    for (ri, g), pts in sorted(series.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        xs, ys, elo, ehi = [], [], [], []
        for s in sorted(pts):
            rated = [(pos(get(c, f"derived.{metric}")), c) for c in pts[s]]
            rated = [(v, c) for v, c in rated if v]
            if not rated:
                continue
            v, c = sorted(rated, key=lambda vc: vc[0])[len(rated) // 2]
            lo, hi = _ci_rate_err(v, c)
            xs.append(s), ys.append(v), elo.append(lo), ehi.append(hi)
        if not xs:
            continue
        values += ys
        ax.errorbar(xs, ys, yerr=[elo, ehi], color=color[g],
                    linestyle=LINESTYLES[ri % len(LINESTYLES)],
                    marker=MARKERS[ri % len(MARKERS)], markersize=4, capsize=2,
                    label=g + (f" [{runs[ri].label}]" if multi else ""))
    op_runs = [r for r in runs if any(c["op"] == op for c in r.cases)]
    devices = {c.get("device") for c in cases}
    ceil = _ceilings(op_runs, metric, devices)
    for i, (lab, val) in enumerate(ceil):
        ax.axhline(val, color=CEILING_COLORS[i % len(CEILING_COLORS)], linestyle=":",
                   linewidth=1.5, label=lab)
    ax.set_xscale("log")
    if M.spans_decades(values + [v for _, v in ceil]):
        ax.set_yscale("log")
    ax.set_xlabel(M.size_label(op, p, runs))
    _size_ticks(ax, series)
    ax.set_ylabel(what)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    _legend(ax, len(series) + len(ceil))
    nocal = [r.label for r in op_runs if not r.calibration]
    cap = "Error bars from the 95 % CI of the median time. "
    if ceil:
        cap += "Dotted lines: the calibrated ceilings of the machine (harness calibrate). "
    if nocal:
        cap += ("No calibration in " + ", ".join(nocal) + ": its ceilings are not drawn "
                "(run harness calibrate, then harness run).")
    out.append(Drawn(f"rate-{op}", title, fig, cap))


def roofline(runs, out):
    title = "Roofline: arithmetic intensity vs achieved GFLOP/s"
    cal_runs = [r for r in runs if r.calibration]
    if not cal_runs:
        out.append(NotDrawn(title, "no results file has a calibration (run harness calibrate "
                                   "on the machine, then harness run)"))
        return
    pts, left_out = defaultdict(list), 0
    multi = len(cal_runs) > 1
    for r in cal_runs:
        for c in r.cases:
            if c["status"] not in ("ok", "xpass"):
                continue
            f, b, g = pos(get(c, "cost.flops")), pos(get(c, "cost.bytes")), \
                pos(get(c, "derived.gflops"))
            if not (f and b and g):
                left_out += 1
                continue
            key = (c["op"], c["impl"], r.label if multi else "")
            pts[key].append((f / b, g))
    if not pts:
        out.append(NotDrawn(title, "no ok case with cost.flops, cost.bytes and derived.gflops"))
        return
    ais = [a for v in pts.values() for a, _ in v]
    fig = _figure(5.5)
    ax = fig.add_subplot()
    ops = sorted({k[0] for k in pts})
    impls = sorted({k[1] for k in pts})
    for (op, impl, lab), v in sorted(pts.items()):
        ax.scatter([a for a, _ in v], [g for _, g in v], s=30,
                   color=COLORS[impls.index(impl) % len(COLORS)],
                   marker=MARKERS[ops.index(op) % len(MARKERS)],
                   label=f"{op} {impl}" + (f" [{lab}]" if lab else ""), zorder=3)
    roofs = []
    for r in cal_runs:
        cal = r.calibration
        entries = [(f"{t} thread{'s' if str(t) != '1' else ''}", v)
                   for t, v in cal["threads"].items()]
        gpus = cal.get("gpus") if isinstance(cal.get("gpus"), dict) else {}
        entries += list(gpus.items())
        for name, v in entries:
            peak, bw = pos(get(v, "gflops")), pos(get(v, "gbps"))
            if peak and bw:
                roofs.append((f"{r.label} {name}: {M.fmt_rate(peak)} GFLOP/s, "
                              f"{M.fmt_rate(bw)} GB/s"
                              + (" (quick calibration)" if r.quick_calibration else ""),
                              peak, bw))
    lo = min(ais + [p / b for _, p, b in roofs]) / 4
    hi = max(ais + [p / b for _, p, b in roofs]) * 4
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    for i, (lab, peak, bw) in enumerate(roofs):
        ax.plot(xs, [min(peak, x * bw) for x in xs], color=CEILING_COLORS[i % 4],
                linestyle="--", linewidth=1.3, label="roof, " + lab)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP/byte, from the op's cost model)")
    ax.set_ylabel("achieved GFLOP/s (median)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    _legend(ax, len(pts) + len(roofs))
    cap = ("Each point a case; dashed: min(peak, intensity × bandwidth) from the "
           "calibration of the machine that ran it. ")
    if left_out:
        cap += (f"{left_out} ok case(s) without a FLOP or byte count (such as an empty run()) "
                "are not shown.")
    quick = [r.label for r in cal_runs if r.quick_calibration]
    if quick:  # issue 27
        cap += (" Roofs of " + ", ".join(quick) + " are from a quick calibration (harness "
                "calibrate --quick: a cache-resident triad), not the machine's ceilings.")
    out.append(Drawn("roofline", title, fig, cap))


def _grouped_bars(ax, cats, series_names, value, err):
    """Bars of value(cat, name) grouped by category; missing values leave a gap."""
    width = 0.8 / max(len(series_names), 1)
    for j, name in enumerate(series_names):
        pos_, vals, errs = [], [], [[], []]
        for i, cat in enumerate(cats):
            v = value(cat, name)
            if v is None:
                continue
            pos_.append(i - 0.4 + width * (j + 0.5))
            vals.append(v)
            e = err(cat, name)
            errs[0].append(e[0]), errs[1].append(e[1])
        if not vals:
            continue
        ax.bar(pos_, vals, width=width, yerr=errs, color=COLORS[j % len(COLORS)], label=name,
               capsize=2)


def realtime_bars(runs, out):
    title = "Audio ops: × real time per impl"
    multi = len(runs) > 1
    cells, impls, cats = {}, [], []
    for op in M.audio_ops(runs):
        cases = [(r, c) for r, c in M.ok_cases(runs, op) if pos(get(c, "derived.x_realtime"))]
        keys = M.varying_params([c for _, c in cases])
        for r, c in cases:
            parts = [f"{k}={M.fmt_param(c['params'].get(k))}" for k in keys]
            cat = "\n".join([op] + ([" ".join(parts)] if parts else []) +
                            ([f"[{r.label}]"] if multi else []))
            if cat not in cats:
                cats.append(cat)
            if c["impl"] not in impls:
                impls.append(c["impl"])
            cells.setdefault((cat, c["impl"]), []).append(c)
    if not cells:
        out.append(NotDrawn(title, "no case of an audio op (one whose merit is x real time) "
                                   "measured ok with derived.x_realtime"))
        return

    def pick(cat, impl):  # several inputs: the median one
        cs = sorted(cells.get((cat, impl), []), key=lambda c: get(c, "derived.x_realtime"))
        return cs[len(cs) // 2] if cs else None

    def value(cat, impl):
        c = pick(cat, impl)
        return pos(get(c, "derived.x_realtime")) if c else None

    def err(cat, impl):
        c = pick(cat, impl)
        return _ci_rate_err(value(cat, impl), c)

    fig = _figure(5.0, max(8.0, min(16.0, 1.2 * len(cats) + 4)))
    ax = fig.add_subplot()
    _grouped_bars(ax, cats, impls, value, err)
    ax.axhline(1.0, color="#d62728", linewidth=1.5, label="real time (1×)")
    ax.set_yscale("log")
    ax.set_xticks(range(len(cats)))
    ax.set_xticklabels(cats, fontsize=8)
    ax.set_ylabel("× real time (s of audio per s of compute)")
    ax.set_title(title)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    _legend(ax, len(impls) + 1)
    out.append(Drawn("realtime", title, fig,
                     "Above the red line an impl keeps up with real time; log scale; error "
                     "bars from the 95 % CI of the median time."))


def _codec_point(c):
    """(kbit/s, SI-SDR dB) of a codec record, or None: the core's quality.si_sdr_db and
    achieved quality.bitrate_bps, falling back to the target params.bitrate and to the
    older derived.si_sdr_db."""
    sd = num(get(c, "quality.si_sdr_db"))
    if sd is None:
        sd = num(get(c, "derived.si_sdr_db"))
    br = pos(get(c, "quality.bitrate_bps")) or pos(c["params"].get("bitrate"))
    return (br / 1000, sd) if sd is not None and br else None


def codec_quality(runs, out):
    title = "Codecs: SI-SDR vs bitrate"
    recs = [(r, c) for r in runs for c in r.cases
            if c["status"] in ("ok", "xpass") and _codec_point(c) is not None]
    if not recs:
        out.append(NotDrawn(title, "no ok record with quality.si_sdr_db and a bitrate "
                                   "(quality.bitrate_bps or params.bitrate)"))
        return
    multi = len({r.label for r, _ in recs}) > 1
    keys = [k for k in M.varying_params([c for _, c in recs]) if k != "bitrate"]
    groups = defaultdict(list)
    for r, c in recs:
        g = M.group_label(c, keys) + (f" [{r.label}]" if multi else "")
        groups[g].append(_codec_point(c))
    fig = _figure()
    ax = fig.add_subplot()
    for i, (g, pts) in enumerate(sorted(groups.items())):
        pts.sort()
        ax.plot([b for b, _ in pts], [q for _, q in pts], color=COLORS[i % len(COLORS)],
                marker=MARKERS[i % len(MARKERS)], markersize=6, label=g)
    rates = sorted({b for v in groups.values() for b, _ in v})
    if M.spans_decades(rates):
        ax.set_xscale("log")
    if len(rates) <= 12:
        ax.set_xticks(rates)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("achieved bitrate (kbit/s)")
    ax.set_ylabel("SI-SDR (dB, higher is better)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    _legend(ax, len(groups))
    out.append(Drawn("codecs", title, fig, "One marker per codec and setting, at the bitrate "
                     "the codec achieved (its target where none was recorded)."))


# ---- the codec comparison (issue 24) ------------------------------------------------------
NEURAL_MODES = ("encode", "decode", "roundtrip")


def _codec_name(c):
    """The curve a codec record belongs to: the op without "codec.", Opus per mode."""
    name = c["op"][len("codec."):] if c["op"].startswith("codec.") else c["op"]
    mode = c["params"].get("mode")
    return f"{name} {mode}" if mode and mode not in NEURAL_MODES else name


def _kbps(c):
    br = pos(get(c, "quality.bitrate_bps")) or pos(c["params"].get("bitrate"))
    return br / 1000 if br else None


def _codec_recs(runs):
    """(run, case) of ok codec records with a bitrate."""
    return [(r, c) for r, c in M.ok_cases(runs)
            if c["op"].startswith("codec.") and _kbps(c) is not None]


def codec_comparison(runs, out):
    """Quality (PESQ, STOI) vs bitrate, one curve per codec, marker area by the fastest
    impl's x real time of the round trip; and x real time of encode, decode and the round
    trip vs bitrate, one curve per codec and impl. Records whose quality is not meaningful
    (random weights) are named in the caption, not drawn."""
    recs = _codec_recs(runs)
    title = "Codec comparison: PESQ and STOI vs bitrate"
    if not recs:
        out.append(NotDrawn(title, "no ok record of a codec op (codec.*) with a bitrate"))
        out.append(NotDrawn("Codec comparison: × real time vs bitrate", "no ok record of a "
                            "codec op (codec.*) with a bitrate"))
        return
    quality = defaultdict(lambda: defaultdict(list))  # codec -> kbps -> [(pesq, stoi)]
    speed = defaultdict(lambda: defaultdict(list))    # codec -> kbps -> [x real time]
    unmeaningful = set()
    for _, c in recs:
        name, kb = _codec_name(c), _kbps(c)
        mode = c["params"].get("mode")
        if mode in (None, "roundtrip") or mode not in NEURAL_MODES:
            xr = pos(get(c, "derived.x_realtime"))
            if xr:
                speed[name][kb].append(xr)
            note = get(c, "quality.note") or ""
            if "not meaningful" in note:
                unmeaningful.add(f"{name} ({note})")
                continue
            pq, st = num(get(c, "quality.pesq")), num(get(c, "quality.stoi"))
            if pq is not None or st is not None:
                quality[name][kb].append((pq, st))
    if not quality:
        why = "no codec round trip with PESQ or STOI"
        if unmeaningful:
            why += "; " + ", ".join(sorted(unmeaningful))
        out.append(NotDrawn(title, why))
    else:
        fig = _figure(5.0, 12.0)
        axes = fig.subplots(1, 2)
        for i, name in enumerate(sorted(quality)):
            pts = sorted(quality[name].items())
            xs = [kb for kb, _ in pts]
            area = [max(12.0, 18.0 * math.log10(1 + _median(speed[name][kb])))
                    if speed[name].get(kb) else 12.0 for kb in xs]
            for ax, j, label in ((axes[0], 0, "PESQ"), (axes[1], 1, "STOI")):
                ys = [_median([v[j] for v in vals if v[j] is not None] or [math.nan])
                      for _, vals in pts]
                color, marker = COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)]
                ax.plot(xs, ys, color=color, linewidth=1.2, label=name)
                ax.scatter(xs, ys, s=[a * a / 4 for a in area], color=color, marker=marker,
                           alpha=0.7)
        rates = sorted({kb for v in quality.values() for kb in v})
        for ax, label in ((axes[0], "PESQ (MOS-LQO, higher is better)"),
                          (axes[1], "STOI (0..1, higher is better)")):
            if M.spans_decades(rates):
                ax.set_xscale("log")
            ax.set_xlabel("bitrate (kbit/s)")
            ax.set_ylabel(label)
            ax.grid(True, which="both", alpha=0.3)
        axes[0].set_title("PESQ vs bitrate")
        axes[1].set_title("STOI vs bitrate")
        _legend(axes[1], len(quality))
        cap = ("One curve per codec (Opus per mode), at the bitrate it achieved; PESQ and STOI "
               "of the round trip at 16 kHz (the median over impls and inputs). Marker area "
               "grows with the fastest impl's × real time of that round trip.")
        if unmeaningful:
            cap += " Not drawn, quality " + "; ".join(sorted(unmeaningful)) + "."
        out.append(Drawn("codec_quality", title, fig, cap))
    stitle = "Codec comparison: × real time vs bitrate"
    rows = defaultdict(lambda: defaultdict(list))  # (mode, codec impl) -> kbps -> [xrt]
    for _, c in recs:
        xr = pos(get(c, "derived.x_realtime"))
        if not xr:
            continue
        mode = c["params"].get("mode")
        mode = mode if mode in NEURAL_MODES else "roundtrip"
        rows[mode][f"{_codec_name(c)} {c['impl']}"].append((_kbps(c), xr))
    if not rows:
        out.append(NotDrawn(stitle, "no codec record with derived.x_realtime"))
        return
    modes = [m for m in NEURAL_MODES if m in rows]
    fig = _figure(4.5, 5.0 * len(modes) + 2.0)
    axes = fig.subplots(1, len(modes), squeeze=False)[0]
    names = sorted({n for m in modes for n in rows[m]})
    for ax, m in zip(axes, modes):
        for n in sorted(rows[m]):
            i = names.index(n)
            byk = defaultdict(list)
            for kb, xr in rows[m][n]:
                byk[kb].append(xr)
            pts = sorted((kb, _median(v)) for kb, v in byk.items())
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color=COLORS[i % len(COLORS)],
                    marker=MARKERS[i % len(MARKERS)],
                    linestyle=LINESTYLES[(i // len(COLORS)) % len(LINESTYLES)], label=n)
        ax.axhline(1.0, color="#d62728", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("bitrate (kbit/s)")
        ax.set_ylabel("× real time (higher is faster)")
        ax.set_title({"encode": "encode", "decode": "decode",
                      "roundtrip": "round trip (Opus: encode + decode)"}[m])
        ax.grid(True, which="both", alpha=0.3)
    _legend(axes[-1], len(names))
    out.append(Drawn("codec_speed", stitle, fig, "× real time of each codec and impl "
                     "(median over inputs) at each bitrate; the red line is real time. Opus "
                     "records are whole round trips."))


def _short(c, keys, run, multi):
    return f"{c['op']} {M.group_label(c, keys)}" + (f" [{run.label}]" if multi else "")


GPU_PARTS = (("upload_ns", "upload (host → device)", "#ff7f0e"),
             ("kernel_ns", "kernels", "#1f77b4"),
             ("download_ns", "download (device → host)", "#2ca02c"))


def gpu_breakdown(runs, out):
    title = "GPU: upload / kernel / download time per run"
    multi = len(runs) > 1
    found = [(r, c) for r, c in M.ok_cases(runs)
             if any(pos(get(c, f"derived.{k}")) for k, _, _ in GPU_PARTS)]
    keys = M.varying_params([c for _, c in found])
    rows = [(_short(c, keys, r, multi), [pos(get(c, f"derived.{k}")) or 0.0
                                         for k, _, _ in GPU_PARTS]) for r, c in found]
    if not rows:
        out.append(NotDrawn(title, "no ok record with derived.upload_ns, kernel_ns or "
                                   "download_ns (no case ran on a GPU)"))
    else:
        scale, unit = M.time_unit([sum(p) for _, p in rows])
        fig = _figure(max(3.0, 0.35 * len(rows) + 1.5))
        ax = fig.add_subplot()
        ys = list(range(len(rows)))
        left = [0.0] * len(rows)
        for j, (_, name, col) in enumerate(GPU_PARTS):
            w = [p[j] / scale for _, p in rows]
            ax.barh(ys, w, left=left, color=col, label=name, height=0.6)
            left = [a + b for a, b in zip(left, w)]
        ax.set_yticks(ys)
        ax.set_yticklabels([n for n, _ in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(f"time per run ({unit})")
        ax.set_title(title)
        ax.grid(True, axis="x", alpha=0.3)
        _legend(ax, 3)
        out.append(Drawn("gpu-breakdown", title, fig,
                         "Where a GPU case's time goes: copies in, the kernels, copies out."))
    top_kernels(runs, out)


def top_kernels(runs, out):
    title = "GPU: top kernels (CUPTI), time per run summed over cases"
    tot, calls = defaultdict(float), defaultdict(float)
    for _, c in M.ok_cases(runs):
        ks = get(c, "gpu.top_kernels")
        for k in ks if isinstance(ks, list) else []:
            if isinstance(k, dict) and isinstance(k.get("name"), str) and pos(k.get("ns")):
                tot[k["name"]] += k["ns"]
                calls[k["name"]] += num(k.get("calls")) or 0
    if not tot:
        out.append(NotDrawn(title, "no ok record with gpu.top_kernels"))
        return
    top = sorted(tot, key=lambda n: -tot[n])[:12]
    scale, unit = M.time_unit([tot[n] for n in top])
    fig = _figure(max(3.0, 0.4 * len(top) + 1.5))
    ax = fig.add_subplot()
    ax.barh(range(len(top)), [tot[n] / scale for n in top], color="#1f77b4", height=0.6,
            label="kernel time")
    for i, n in enumerate(top):
        ax.text(tot[n] / scale, i, f"  {calls[n]:.0f} call{'' if calls[n] == 1 else 's'}", va="center", fontsize=8)
    ax.set_yticks(range(len(top)))
    ax.set_yticklabels([n if len(n) <= 60 else n[:57] + "..." for n in top], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"device time per run ({unit})")
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    ax.margins(x=0.15)
    _legend(ax, 1)
    out.append(Drawn("gpu-kernels", title, fig, "Per-case lists are in the table below."))


def ratios(runs, out):
    if len(runs) < 2:
        return
    base = runs[0]
    title = f"Time ratio per case against {base.label} (> 1: slower)"
    bcases = {c["id"]: c for c in base.cases if c["status"] in ("ok", "xpass")}
    others = runs[1:]
    table, names = {}, [r.label for r in others]
    for r in others:
        for c in r.cases:
            b = bcases.get(c["id"])
            m, bm = pos(get(c, "time_ns.median")), pos(get(b, "time_ns.median")) if b else None
            if c["status"] not in ("ok", "xpass") or not (m and bm):
                continue
            lo, hi = pos(get(c, "time_ns.ci_lo")) or m, pos(get(c, "time_ns.ci_hi")) or m
            blo, bhi = pos(get(b, "time_ns.ci_lo")) or bm, pos(get(b, "time_ns.ci_hi")) or bm
            ratio = m / bm  # conservative CI: the extremes of both intervals
            table[(c["id"], r.label)] = (ratio, max(ratio - lo / bhi, 0), max(hi / blo - ratio, 0))
    ids = [i for i in bcases if any((i, n) in table for n in names)]
    lonely = [n for n in names if not any((i, n) in table for i in ids)]
    names = [n for n in names if n not in lonely]
    if not ids:
        out.append(NotDrawn(title, f"no case measured ok both in {base.label} and another file"))
        return
    fig = _figure(min(60.0, max(3.0, 0.28 * len(ids) * len(names) + 1.5)))
    ax = fig.add_subplot()
    width = 0.8 / len(names)
    span = 1.0
    for j, n in enumerate(names):  # bars grow from 1 (no change) towards the ratio
        ys, rs, errs = [], [], [[], []]
        for i, cid in enumerate(ids):
            if (cid, n) in table:
                r, lo, hi = table[(cid, n)]
                ys.append(i - 0.4 + width * (j + 0.5))
                rs.append(r), errs[0].append(lo), errs[1].append(hi)
                span = max(span, r + hi, 1 / max(r - lo, 1e-12))
        ax.barh(ys, [r - 1 for r in rs], left=1.0, height=width, xerr=errs, capsize=2,
                color=COLORS[j % len(COLORS)], label=n, error_kw={"ecolor": "#333"})
        # xerr is about the bar's end, which barh puts at left + width = the ratio
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    _ratio_axis(ax, span ** 1.1)
    ax.set_yticks(range(len(ids)))
    ax.set_yticklabels(ids, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"median time ÷ median time on {base.label} (×, log scale)")
    ax.set_title(title)
    ax.grid(True, axis="x", which="both", alpha=0.3)
    _legend(ax, len(names))
    geo = []
    for n in names:
        rs = [table[(i, n)][0] for i in ids if (i, n) in table]
        geo.append(f"{n}: {math.exp(sum(map(math.log, rs)) / len(rs)):.3g}× over {len(rs)} "
                   "common cases")
    out.append(Drawn("ratios", title, fig,
                     "Geometric mean of the ratios: " + "; ".join(geo) + ". Error bars: the "
                     "conservative 95 % CI (extremes of both medians' intervals). Cases not ok "
                     "on both sides are left out (see the case tables)." +
                     (" No case in common with " + ", ".join(lonely) + "." if lonely else "")))


def all_figures(runs):
    """Every figure in page order: Drawn and NotDrawn entries."""
    out = []
    ops = M.ops_in(runs)
    for op in ops:
        time_vs_size(runs, op, out)
    for op in ops:
        throughput_vs_size(runs, op, out)
    roofline(runs, out)
    realtime_bars(runs, out)
    codec_quality(runs, out)
    codec_comparison(runs, out)  # issue 24
    gpu_breakdown(runs, out)
    ratios(runs, out)
    return out
