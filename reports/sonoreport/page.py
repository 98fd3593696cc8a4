"""page.py — assembles the report: one HTML file with every PNG inline (base64) and the
style sheet inline, so it opens offline from anywhere; each figure's SVG is written
beside it for print or zoom."""
import base64
import io
import os
from html import escape

from . import figures as F
from . import tables as T

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1b1b1b; margin: 0 auto; padding: 0 1.2em 3em; max-width: 1180px; }
h1 { font-size: 1.6em; margin: 0.8em 0 0.1em; }
h2 { font-size: 1.25em; margin: 1.6em 0 0.4em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
.sub { color: #555; margin: 0 0 0.6em; }
nav { font-size: 0.9em; margin: 0.3em 0 0.8em; }
nav a { margin-right: 1em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.3em 0 0.8em; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left;
         vertical-align: top; }
thead th { background: #f3f3f3; position: sticky; top: 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.id { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.95em;
        word-break: break-all; }
td.none { color: #777; font-style: italic; }
table.env th { white-space: nowrap; }
table.env td { max-width: 30em; word-break: break-word; }
tr.diff td { background: #fff4d6; }
.st-ok { color: #17692e; } .st-skip { color: #7a5b00; }
.st-fail, .st-error, .st-crash, .st-timeout { color: #b00020; font-weight: 600; }
.st-xfail { color: #7a5b00; } .st-xpass { color: #17692e; font-weight: 600; }
table.failures { border-left: 4px solid #b00020; }
td.file { white-space: nowrap; }
figure { margin: 1.2em 0 1.8em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.88em; color: #333; max-width: 60em; }
figcaption a { margin-left: 0.5em; }
ul.notdrawn li { margin: 0.15em 0; }
details > summary { cursor: pointer; font-weight: 600; margin: 0.6em 0; }
"""

PNG_DPI = 100


def _png_and_svg(d, folder):
    """The figure as PNG bytes; its SVG written to folder/<key>.svg."""
    buf = io.BytesIO()
    d.fig.savefig(buf, format="png", dpi=PNG_DPI)
    d.fig.savefig(os.path.join(folder, f"{d.key}.svg"), format="svg")
    return buf.getvalue()


def _figure_html(d, folder, n):
    key = f"{n:02d}-{d.key}"
    d.key = key
    png = base64.b64encode(_png_and_svg(d, folder)).decode("ascii")
    return (f'<figure id="fig-{escape(key)}"><img decoding="sync" alt="{escape(d.title)}" '
            f'src="data:image/png;base64,{png}">'
            f"<figcaption><b>{escape(d.title)}.</b> {escape(d.caption)}"
            f'<a href="figures/{escape(key)}.svg">SVG</a></figcaption></figure>')


def build(runs, outdir):
    """Writes outdir/index.html and outdir/figures/*.svg for the loaded runs."""
    figdir = os.path.join(outdir, "figures")
    os.makedirs(figdir)
    figs = F.all_figures(runs)
    drawn = [f for f in figs if isinstance(f, F.Drawn)]
    skipped = [f for f in figs if isinstance(f, F.NotDrawn)]
    nbad = sum(c["status"] in T.BAD for r in runs for c in r.cases)
    nskip = sum(c["status"] == "skip" for r in runs for c in r.cases)
    hosts = ", ".join(r.label for r in runs)

    parts = [f'<h1>sonobench report</h1><p class="sub">{len(runs)} results file'
             f'{"s" if len(runs) > 1 else ""} ({escape(hosts)}); '
             f'{sum(len(r.cases) for r in runs)} cases, {nbad} failing, {nskip} skipped; '
             f"{len(drawn)} figures.</p>",
             '<nav><a href="#failures-h">Failures</a><a href="#figures">Figures</a>'
             '<a href="#environment">Environment</a><a href="#cases">All cases</a></nav>',
             T.summary(runs),
             f'<h2 id="failures-h">Failures ({nbad}) and skips ({nskip})</h2>',
             T.failures(runs),
             '<h2 id="figures">Figures</h2>']
    for i, d in enumerate(drawn, 1):
        parts.append(_figure_html(d, figdir, i))
        if d.key.endswith("gpu-kernels"):
            k = T.top_kernels(runs)
            if k:
                parts.append("<h3>Top kernels per GPU case</h3>" + k)
    if skipped:
        parts.append('<h3 id="notdrawn">Figures not drawn</h3><ul class="notdrawn">' +
                     "".join(f"<li><b>{escape(s.title)}</b>: {escape(s.reason)}</li>"
                             for s in skipped) + "</ul>")
    parts += ['<h2 id="environment">Environment</h2>',
              '<p class="sub">Rows that differ between files are highlighted.</p>'
              if len(runs) > 1 else "", T.environment(runs),
              '<h2 id="cases">All cases</h2>']
    for i, r in enumerate(runs):
        parts.append(f"<details{' open' if len(runs) == 1 else ''}><summary>"
                     f"{escape(r.label)}: {escape(os.path.basename(r.path))} "
                     f"({len(r.cases)} cases)</summary>{T.cases(r)}</details>")
    html = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="generator" content="sonobench report">'
            f"<title>sonobench report: {escape(hosts)}</title><style>{CSS}</style></head>"
            "<body>\n" + "\n".join(parts) + "\n</body></html>\n")
    with open(os.path.join(outdir, "index.html"), "w", encoding="utf-8") as f:
        f.write(html)
