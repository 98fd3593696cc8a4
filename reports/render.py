#!/usr/bin/env python3
"""render.py — `harness report FILE... -o DIR`: one or many results files as an HTML report
with plots. Every file is loaded and checked before anything is written; the report is
built in a temp folder beside DIR and renamed into place, so DIR is whole or untouched.
Exit 0 written, 2 bad usage or a bad file (named), 1 anything else that failed."""
import argparse
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # the source (or installed) tree stays as it is
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sonoreport.load import BadInput, load_all  # noqa: E402


def _parse(argv):
    ap = argparse.ArgumentParser(prog="harness report",
                                 description="results files -> a self-contained HTML report")
    ap.add_argument("files", nargs="*", metavar="FILE", help="results files (the first is "
                    "the base of ratios)")
    ap.add_argument("--history", metavar="DIR", help="issue 27: the results files in DIR "
                    "(*.json; with any FILE given) as a history page, like asv's: per op "
                    "and per stepped case, time vs commit, steps marked, regressions on top")
    ap.add_argument("--threshold", default="5%", metavar="PCT",
                    help="--history: a step is more than this above the runs before (5%%)")
    ap.add_argument("-o", "--out", required=True, metavar="DIR",
                    help="folder to write (index.html and figures/)")
    return ap.parse_args(argv)


def _replaceable(out):
    """DIR may be replaced when absent, empty, or an earlier report."""
    if not os.path.lexists(out):
        return True
    if not os.path.isdir(out) or os.path.islink(out):
        return False
    return not os.listdir(out) or os.path.isfile(os.path.join(out, "index.html"))


def _install(tmp, out):
    """Rename tmp to out; an earlier report at out is moved aside first, then removed."""
    old = None
    if os.path.lexists(out):
        old = tempfile.mkdtemp(prefix=".old-", dir=os.path.dirname(out))
        os.rename(out, os.path.join(old, "report"))
    try:
        os.rename(tmp, out)
    except OSError:
        if old:
            os.rename(os.path.join(old, "report"), out)
        raise
    finally:
        if old:
            shutil.rmtree(old, ignore_errors=True)


def main(argv):
    args = _parse(argv)
    files = list(args.files)
    thr = 0.05
    if args.history is not None:
        try:
            thr = float(args.threshold.rstrip("%")) / 100
            if not thr >= 0:
                raise ValueError
        except ValueError:
            print(f"harness report: --threshold {args.threshold}: expected a percentage, e.g. "
                  "5%", file=sys.stderr)
            return 2
        try:
            names = sorted(n for n in os.listdir(args.history) if n.endswith(".json"))
        except OSError as e:
            print(f"harness report: --history {args.history}: {e.strerror}", file=sys.stderr)
            return 2
        files += [os.path.join(args.history, n) for n in names]
        if len(files) < 2:
            print(f"harness report: --history {args.history}: {len(files)} results file(s); "
                  "a history needs two or more", file=sys.stderr)
            return 2
    elif not files:
        print("harness report: no results files given", file=sys.stderr)
        return 2
    try:
        runs = load_all(files)
    except BadInput as e:
        print(f"harness report: {e}; no report written", file=sys.stderr)
        return 2
    out = os.path.abspath(args.out.rstrip("/") or "/")
    if not _replaceable(out):
        print(f"harness report: {args.out}: exists and is not an earlier report (no "
              "index.html); pick another -o or remove it", file=sys.stderr)
        return 2
    parent = os.path.dirname(out)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.tmp-", dir=parent)
    except OSError as e:
        print(f"harness report: {parent}: cannot write: {e.strerror}", file=sys.stderr)
        return 2
    try:
        if args.history is not None:
            from sonoreport.history import build_history

            build_history(runs, tmp, thr)
        else:
            from sonoreport.page import build

            build(runs, tmp)
        os.chmod(tmp, 0o755)  # mkdtemp's 0700 would hide the report from a web server
        _install(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"report: {os.path.join(args.out, 'index.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
