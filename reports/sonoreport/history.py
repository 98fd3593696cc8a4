"""history.py — `harness report --history DIR` (issue 27): the results files of many
commits as one page, like airspeed velocity's: the runs in order (time, then commit), each
op's geometric mean of its cases' times relative to their first run, each case that
stepped slower with its own time-vs-commit plot (the 95 % CI as a band), every step
marked and linked to its commit, and a summary table of the current regressions at the
top. The steps are `harness history`'s (harness/cli/history.c, the same rule), so the
page and the command agree."""
import base64
import math
import os
from html import escape

from . import figures as F
from . import model as M
from .model import get, pos
from .page import CSS, PNG_DPI


def _key(r):
    return (str(get(r.doc, "run.started") or ""), str(r.env.get("git") or "?"), r.path)


def _point(c):
    """(median, ci_lo, ci_hi) of a measured ok case, or None."""
    if c.get("status") not in ("ok", "xpass"):
        return None
    t = c.get("time_ns") if isinstance(c.get("time_ns"), dict) else {}
    med = pos(t.get("median"))
    if med is None:
        return None
    lo, hi = pos(t.get("ci_lo")), pos(t.get("ci_hi"))
    return med, lo if lo is not None else med, hi if hi is not None else med


def _median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def find_step(med, hi, thr):
    """harness history's rule (history.c:find_step): the first k >= 1 where the median of
    med[k:] exceeds both (1 + thr) x the median of med[:k] and every ci_hi before k, and
    med[k] itself does too. (k, ratio) or None."""
    for k in range(1, len(med)):
        before, after = _median(med[:k]), _median(med[k:])
        bound = max((1 + thr) * before, max(hi[:k]))
        if after > bound and med[k] > bound:
            return k, after / before
    return None


def _commit(r):
    return str(r.env.get("git") or "?")


def _tick(i, r):
    return f"#{i + 1}\n{_commit(r)[:10]}"


def _png(fig, folder, key):
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    fig.savefig(os.path.join(folder, f"{key}.svg"), format="svg")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure_html(fig, folder, key, title, caption_html):
    png = _png(fig, folder, key)
    return (f'<figure id="fig-{escape(key)}"><img decoding="sync" alt="{escape(title)}" '
            f'src="data:image/png;base64,{png}"><figcaption><b>{escape(title)}.</b> '
            f'{caption_html}<a href="figures/{escape(key)}.svg">SVG</a></figcaption></figure>')


def _run_link(i, r):
    return f'<a href="#run-{i + 1}">#{i + 1} ({escape(_commit(r))})</a>'


def _axes_runs(ax, runs):
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels([_tick(i, r) for i, r in enumerate(runs)], fontsize=7)
    ax.set_xlim(-0.5, len(runs) - 0.5)
    ax.set_xlabel("run (oldest first): number and commit")
    ax.grid(True, alpha=0.3)


def build_history(runs, outdir, thr=0.05):
    """Writes outdir/index.html and outdir/figures/*.svg for the runs of many commits."""
    figdir = os.path.join(outdir, "figures")
    os.makedirs(figdir)
    runs = sorted(runs, key=_key)
    ids, op_of = [], {}
    for r in runs:
        for c in r.cases:
            if c["id"] not in op_of:
                ids.append(c["id"])
                op_of[c["id"]] = c["op"]
    pts = {cid: {} for cid in ids}  # id -> {run index: (med, lo, hi)}
    for i, r in enumerate(runs):
        for c in r.cases:
            p = _point(c)
            if p:
                pts[c["id"]][i] = p
    steps = {}  # id -> (run index, ratio, before, now)
    for cid in ids:
        at = sorted(pts[cid])
        if len(at) < 2:
            continue
        med = [pts[cid][i][0] for i in at]
        hi = [pts[cid][i][2] for i in at]
        s = find_step(med, hi, thr)
        if s:
            k, ratio = s
            steps[cid] = (at[k], ratio, _median(med[:k]), med[-1])

    parts = [f"<h1>sonobench history</h1><p class=\"sub\">{len(runs)} runs, "
             f"{len(ids)} cases, {len(steps)} stepped slower (more than {thr * 100:.3g} % "
             "above the runs before and their CI, to the newest run).</p>",
             '<nav><a href="#regressions-h">Regressions</a><a href="#ops-h">Per op</a>'
             '<a href="#cases-h">Per case</a><a href="#runs-h">Runs</a></nav>',
             f'<h2 id="regressions-h">Current regressions ({len(steps)})</h2>']
    rows = []
    for cid, (k, ratio, before, now) in sorted(steps.items(), key=lambda kv: -kv[1][1]):
        rows.append(f'<tr><td class=id><a href="#case-{escape(_anchor(cid))}">{escape(cid)}'
                    f"</a></td><td>{_run_link(k, runs[k])}</td>"
                    f"<td class=n>×{ratio:.3f} (+{(ratio - 1) * 100:.1f} %)</td>"
                    f"<td class=n>{escape(M.fmt_time(before))}</td>"
                    f"<td class=n>{escape(M.fmt_time(now))}</td></tr>")
    parts.append(_table("regressions", ["case", "stepped at run (commit)", "slower by",
                                        "median before", "median now"], rows))

    # per op: the geometric mean over its cases of median / the case's first median
    parts.append('<h2 id="ops-h">Per op: geometric mean of the cases\' times</h2>')
    nfig = 0
    for op in dict.fromkeys(op_of[c] for c in ids):
        cids = [c for c in ids if op_of[c] == op and len(pts[c]) >= 1]
        xs, gm, glo, ghi = [], [], [], []
        for i in range(len(runs)):
            rel = [(pts[c][i], pts[c][min(pts[c])][0]) for c in cids if i in pts[c]]
            if not rel:
                continue
            xs.append(i)
            gm.append(math.exp(sum(math.log(p[0] / b) for p, b in rel) / len(rel)))
            glo.append(math.exp(sum(math.log(p[1] / b) for p, b in rel) / len(rel)))
            ghi.append(math.exp(sum(math.log(p[2] / b) for p, b in rel) / len(rel)))
        title = f"{op}: geometric mean of time relative to each case's first run"
        if len(xs) < 2:
            parts.append(f"<p class=sub>{escape(op)}: measured in fewer than two runs: no "
                         "line to draw.</p>")
            continue
        fig = F._figure(3.6)
        ax = fig.add_subplot()
        ax.fill_between(xs, glo, ghi, color="#1f77b4", alpha=0.18, label="95 % CI (geomean)")
        ax.plot(xs, gm, marker="o", color="#1f77b4", label=f"{op} ({len(cids)} cases)")
        marked = sorted({steps[c][0] for c in cids if c in steps})
        for k in marked:
            ax.axvline(k, color="#b00020", linestyle="--", linewidth=1.2)
        ax.axhline(1.0, color="#777", linewidth=0.8)
        ax.set_ylabel("time ÷ first run (geomean)")
        ax.set_title(title)
        _axes_runs(ax, runs)
        F._legend(ax, 2)
        nfig += 1
        cap = ("Band: the geometric mean of the cases' 95 % CIs. ")
        if marked:
            cap_html = escape(cap + "Dashed: runs where a case of this op stepped slower: ") + \
                ", ".join(_run_link(k, runs[k]) for k in marked) + ". "
        else:
            cap_html = escape(cap + "No case of this op stepped slower. ")
        parts.append(_figure_html(fig, figdir, f"{nfig:02d}-op-{_anchor(op)}", title,
                                  cap_html))

    # per case: each one that stepped, with its CI band and the step marked
    parts.append(f'<h2 id="cases-h">Per case: the cases that stepped ({len(steps)})</h2>')
    if not steps:
        parts.append('<p class="sub">None.</p>')
    for cid in ids:
        if cid not in steps:
            continue
        k, ratio, before, now = steps[cid]
        at = sorted(pts[cid])
        med = [pts[cid][i][0] for i in at]
        scale, unit = M.time_unit(med)
        fig = F._figure(3.4)
        ax = fig.add_subplot()
        ax.fill_between(at, [pts[cid][i][1] / scale for i in at],
                        [pts[cid][i][2] / scale for i in at], color="#1f77b4", alpha=0.18,
                        label="95 % CI of the median")
        ax.plot(at, [m / scale for m in med], marker="o", color="#1f77b4", label="median")
        ax.axvline(k, color="#b00020", linestyle="--", linewidth=1.2,
                   label=f"step ×{ratio:.2f} at #{k + 1} ({_commit(runs[k])[:10]})")
        ax.set_ylabel(f"median time per run ({unit})")
        ax.set_title(cid, fontsize=9)
        _axes_runs(ax, runs)
        F._legend(ax, 3)
        nfig += 1
        cap_html = (escape(f"Stepped slower ×{ratio:.3f} at ") + _run_link(k, runs[k]) +
                    escape(f": median {M.fmt_time(before)} before, {M.fmt_time(now)} now. "))
        parts.append(f'<div id="case-{escape(_anchor(cid))}">' +
                     _figure_html(fig, figdir, f"{nfig:02d}-case", cid, cap_html) + "</div>")

    rows = []
    for i, r in enumerate(runs):
        rows.append(f'<tr id="run-{i + 1}"><td class=n>#{i + 1}</td>'
                    f"<td>{escape(str(get(r.doc, 'run.started') or '–'))}</td>"
                    f"<td class=id>{escape(_commit(r))}</td><td>{escape(r.label)}</td>"
                    f"<td>{escape(str(get(r.doc, 'suite.name') or '–'))}</td>"
                    f"<td class=n>{len(r.cases)}</td>"
                    f"<td>{escape(os.path.basename(r.path))}</td></tr>")
    parts += ['<h2 id="runs-h">Runs (oldest first)</h2>',
              _table("runs", ["run", "started (UTC)", "commit", "host", "suite", "cases",
                              "file"], rows)]
    html = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="generator" content="sonobench report --history">'
            f"<title>sonobench history: {len(runs)} runs</title><style>{CSS}</style></head>"
            "<body>\n" + "\n".join(parts) + "\n</body></html>\n")
    with open(os.path.join(outdir, "index.html"), "w", encoding="utf-8") as f:
        f.write(html)


def _anchor(s):
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s)


def _table(tid, head, rows):
    h = "".join(f"<th>{escape(x)}</th>" for x in head)
    body = "\n".join(rows) if rows else \
        f'<tr><td colspan="{len(head)}" class="none">none</td></tr>'
    return (f'<div class="scroll"><table id="{tid}"><thead><tr>{h}</tr></thead>'
            f"<tbody>\n{body}\n</tbody></table></div>")
