"""tables.py — the report's HTML tables: a summary per file, failures and skips with their
reasons, the environments side by side (differences marked), every case, and the GPU
cases' top kernels. All text from the files is escaped."""
import os
import re
from html import escape

from . import model as M
from .model import get, num, pos

BAD = ("fail", "error", "crash", "timeout")
# issue 27: the suite's expect_fail: a known failure, and one that passes now
KNOWN = ("xpass", "xfail")


def _table(tid, head, rows, cls=""):
    h = "".join(f"<th>{escape(x)}</th>" for x in head)
    body = "\n".join(rows) if rows else \
        f'<tr><td colspan="{len(head)}" class="none">none</td></tr>'
    idattr = f' id="{tid}"' if tid else ""
    return (f'<div class="scroll"><table{idattr} class="{cls}"><thead><tr>{h}</tr></thead>'
            f"<tbody>\n{body}\n</tbody></table></div>")


def _status(st):
    return f'<td class="st st-{escape(st)}">{escape(st)}</td>'


def summary(runs):
    rows = []
    for r in runs:
        run = r.doc["run"]
        counts = {}
        for c in r.cases:
            counts[c["status"]] = counts.get(c["status"], 0) + 1
        cnt = ", ".join(f'<span class="st-{s}">{counts[s]} {s}</span>'
                        for s in ("ok", "skip") + BAD + KNOWN if s in counts)
        state = "complete" if run.get("complete") else \
            ("interrupted" if run.get("interrupted") else "incomplete")
        rows.append(f"<tr><td>{escape(os.path.basename(r.path))}</td><td>{escape(r.label)}</td>"
                    f"<td>{escape(str(get(r.doc, 'suite.name') or '–'))}</td>"
                    f"<td>{escape(str(run.get('started') or '–'))}</td>"
                    f"<td>{escape(state)}</td><td>{cnt or '0 cases'}</td></tr>")
    return _table("summary", ["file", "host", "suite", "started (UTC)", "run", "cases"], rows)


def failures(runs):
    """Failures first (fail, error, crash, timeout), then the suite's known failures (xpass,
    xfail), then skips, each with its reason."""
    multi = len(runs) > 1
    rows = []
    for want in (BAD, KNOWN, ("skip",)):
        for r in runs:
            for c in r.cases:
                if c["status"] in want:
                    msg = c.get("message") if isinstance(c.get("message"), str) else ""
                    chk = ""
                    if not msg and num(get(c, "check.rel_l2")) is not None:
                        chk = (f" (rel_l2 {M.fmt_num(get(c, 'check.rel_l2'))}, tolerance "
                               f"{M.fmt_num(get(c, 'check.tol'))})")
                    rows.append(("<tr>" + (f"<td class=file>{escape(r.label)}</td>"
                                           if multi else "") +
                                 f"<td class=id>{escape(c['id'])}</td>{_status(c['status'])}"
                                 f"<td>{escape(msg or 'no message')}{escape(chk)}</td></tr>"))
    head = (["file"] if multi else []) + ["case", "status", "reason"]
    return _table("failures", head, rows, "failures")


def _caches(cpu):
    caches = cpu.get("caches") if isinstance(cpu, dict) else None
    if not isinstance(caches, dict):
        return None
    parts = []
    for name, v in caches.items():
        b, n = num(get(v, "bytes")), num(get(v, "count"))
        if b:
            size = f"{b / 1048576:g} MiB" if b >= 1048576 else f"{b / 1024:g} KiB"
            parts.append(f"{name} {size}" + (f" ×{n:g}" if n else ""))
    return ", ".join(parts)


def _calibration(env):
    cal = env.get("calibration")
    if not isinstance(cal, dict):
        return "–"
    if not isinstance(cal.get("threads"), dict):
        return str(cal.get("status") or "none")
    parts = [f"{t} thread{'s' if str(t) != '1' else ''}: {M.fmt_rate(get(v, 'gflops'))} "
             f"GFLOP/s, {M.fmt_rate(get(v, 'gbps'))} GB/s" for t, v in cal["threads"].items()]
    gpus = cal.get("gpus") if isinstance(cal.get("gpus"), dict) else {}
    parts += [f"{d}: {M.fmt_rate(get(v, 'gflops'))} GFLOP/s, {M.fmt_rate(get(v, 'gbps'))} GB/s"
              for d, v in gpus.items()]
    quick = cal.get("quick") is True or get(cal, "details.quick") is True
    return "; ".join(parts) + (f" (measured {cal['measured']})" if cal.get("measured") else "") \
        + (" — QUICK calibration (calibrate --quick: a cache-resident triad, not the "
           "machine's ceiling; roof% against it is no measure of the real one)" if quick else "")


def _gpus(env):
    g = env.get("gpus")
    if not isinstance(g, list) or not g:
        return "none"
    out = []
    for d in g:
        if isinstance(d, dict):
            extra = ", ".join(f"{k[:-6]} {v / 2**30:.0f} GiB" if k.endswith("_bytes") and
                              num(v) else f"{k} {v}" for k, v in d.items()
                              if k != "name" and isinstance(v, (str, int, float)))
            out.append(str(d.get("name", "?")) + (f" ({extra})" if extra else ""))
        else:
            out.append(str(d))
    return "; ".join(out)


def _backends(env):
    b = env.get("backends")
    if not isinstance(b, dict):
        return None
    return ", ".join(f"{k}" + ("" if get(v, "available") else
                               f" (unavailable: {get(v, 'reason') or '?'})")
                     for k, v in b.items())


def _env_rows(r):
    """[(field, text)] of one file's environment, in a fixed order, then anything else."""
    env, cpu = r.env, r.env.get("cpu") if isinstance(r.env.get("cpu"), dict) else {}
    rows = [("file", os.path.basename(r.path)), ("host", env.get("host")),
            ("suite", f"{get(r.doc, 'suite.name') or '–'} ({get(r.doc, 'suite.file') or '?'})"),
            ("started", get(r.doc, "run.started")), ("finished", get(r.doc, "run.finished")),
            ("CPU", cpu.get("model")),
            ("cores / PUs", f"{cpu.get('cores', '?')} / {cpu.get('pus', '?')}" if cpu else None),
            ("caches", _caches(cpu)), ("GPUs", _gpus(env)), ("OS", env.get("os")),
            ("kernel", env.get("kernel")), ("machine", env.get("machine")),
            ("compiler", get(env, "compiler.version")), ("flags", get(env, "compiler.flags"))]
    libs = env.get("libs") if isinstance(env.get("libs"), dict) else {}
    rows += [(f"lib {k}", v) for k, v in libs.items()]
    rows += [("backends", _backends(env)), ("git commit", env.get("git")),
             ("harness", env.get("harness")), ("calibration", _calibration(env))]
    for d in env.get("devices") if isinstance(env.get("devices"), list) else []:
        if isinstance(d, dict):
            rows.append((f"clock {d.get('name', '?')}",
                         f"resolution {M.fmt_time(d.get('clock_resolution_ns'))}, "
                         f"read {M.fmt_time(d.get('clock_overhead_ns'))}"))
    ovh = env.get("harness_overhead_ns")
    if isinstance(ovh, dict):
        rows += [(f"overhead per call {k}", M.fmt_time(v)) for k, v in ovh.items()]
    known = {"host", "cpu", "gpus", "os", "kernel", "machine", "compiler", "libs", "backends",
             "git", "harness", "calibration", "devices", "harness_overhead_ns"}
    rows += [(k, v) for k, v in env.items() if k not in known and isinstance(v, (str, int, float))]
    return [(k, "–" if v is None else str(v)) for k, v in rows]


_NUM = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
# rows that are measurements of the machine, not its make-up: a few per cent apart is the
# same machine (issue 27: 22.3 ns vs 23 ns clock read cost was marked as a difference)
_MEASURED = ("clock ", "overhead per call ")


def _differs(field, vals):
    if len(set(vals)) < 2:
        return False
    if not field.startswith(_MEASURED):
        return True
    skel = {_NUM.sub("#", v) for v in vals}
    if len(skel) > 1:
        return True
    nums = [[float(x) for x in _NUM.findall(v)] for v in vals]
    for col in zip(*nums):
        lo, hi = min(col), max(col)
        if lo <= 0 or hi / lo > 1.25:
            return hi != lo
    return False


def environment(runs):
    cols = [dict(_env_rows(r)) for r in runs]
    fields = []
    for r in runs:
        for k, _ in _env_rows(r):
            if k not in fields:
                fields.append(k)
    rows = []
    for f in fields:
        vals = [c.get(f, "–") for c in cols]
        diff = len(runs) > 1 and f not in ("file", "started", "finished") and _differs(f, vals)
        cells = "".join(f"<td>{escape(v)}</td>" for v in vals)
        rows.append(f'<tr{" class=diff" if diff else ""}><th>{escape(f)}</th>{cells}</tr>')
    head = "<tr><th></th>" + "".join(f"<th>{escape(r.label)}</th>" for r in runs) + "</tr>"
    return (f'<div class="scroll"><table id="env" class="env"><thead>{head}</thead><tbody>\n'
            + "\n".join(rows) + "\n</tbody></table></div>")


def _check_cell(c):
    """The check that was applied: an op with its own (codec.opus: SI-SDR, bitrate, ...)
    says what it compared in check.detail, and its rel_l2 is no criterion (issue 27)."""
    detail = get(c, "check.detail")
    if isinstance(detail, str) and detail:
        return f"<td class=chk>{escape(detail)}</td>"
    return f"<td class=n>{escape(M.fmt_num(get(c, 'check.rel_l2')))}</td>"


def cases(run):
    rows = []
    ops = get(run.doc, "suite") or {}
    ops = ops.get("ops") if isinstance(ops.get("ops"), dict) else {}
    for c in run.cases:
        t = c.get("time_ns") if isinstance(c.get("time_ns"), dict) else {}
        ci = num(t.get("ci_rel"))
        roof = num(get(c, "derived.roofline_pct"))
        msg = c.get("message") if isinstance(c.get("message"), str) else ""
        inp = get(c, "input.name")
        # a codec's bytes per second say nothing (issue 27: "GB/s 0.00" for Opus)
        merit = (ops.get(c["op"]) or {}).get("merit") if isinstance(ops.get(c["op"]), dict) \
            else None
        codec = merit == "codec" or (merit is None and isinstance(c.get("quality"), dict) and
                                     c["op"].startswith("codec."))
        rows.append(
            f"<tr><td class=id>{escape(c['id'])}</td>{_status(c['status'])}"
            f"<td class=n>{escape(M.fmt_time(t.get('median')))}</td>"
            f"<td class=n>{'–' if ci is None else f'{100 * ci:.1f} %'}</td>"
            f"<td class=n>{escape(M.fmt_num(get(c, 'derived.gflops')))}</td>"
            f"<td class=n>{'–' if codec else escape(M.fmt_num(get(c, 'derived.gbps')))}</td>"
            f"<td class=n>{'–' if roof is None else f'{roof:.0f} %'}</td>"
            f"<td class=n>{escape(M.fmt_num(get(c, 'derived.x_realtime')))}</td>"
            + _check_cell(c) +
            f"<td>{escape(str(inp) if inp else '')}</td><td>{escape(msg)}</td></tr>")
    return _table(None, ["case", "status", "median", "±CI", "GFLOP/s", "GB/s", "roof%",
                         "× real time", "check (rel. error, or the op's own)", "input",
                         "message"], rows, "cases")


def top_kernels(runs):
    """Per GPU case, its top kernels; None when no record has gpu.top_kernels."""
    rows, multi = [], len(runs) > 1
    for r, c in M.ok_cases(runs):
        ks = get(c, "gpu.top_kernels")
        ks = [k for k in ks if isinstance(k, dict)] if isinstance(ks, list) else []
        total = sum(pos(k.get("ns")) or 0 for k in ks)
        for k in ks:
            ns = pos(k.get("ns"))
            share = f"{100 * ns / total:.0f} %" if ns and total else "–"
            rows.append("<tr>" + (f"<td>{escape(r.label)}</td>" if multi else "") +
                        f"<td class=id>{escape(c['id'])}</td>"
                        f"<td class=id>{escape(str(k.get('name', '?')))}</td>"
                        f"<td class=n>{escape(M.fmt_time(ns))}</td>"
                        f"<td class=n>{escape(M.fmt_num(k.get('calls')))}</td>"
                        f"<td class=n>{share}</td></tr>")
    if not rows:
        return None
    head = (["file"] if multi else []) + ["case", "kernel", "time per run", "calls per run",
                                          "share"]
    return _table("kernels", head, rows)
