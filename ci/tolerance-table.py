#!/usr/bin/env python3
"""tolerance-table.py — per op and impl: the check's tolerance, the worst honest error
(rel_l2) over the cases of the results files given, and their ratio (issue 29: a ratio
above ~100 needs a written reason in the op). Cases whose check has no rel_l2/tol (ops
with their own check, e.g. codec.opus's SI-SDR and gain bands) are listed as such.

usage: ci/tolerance-table.py RESULTS.json... [--markdown]
"""
import json
import sys


def main(argv):
    md = "--markdown" in argv
    files = [a for a in argv if a != "--markdown"]
    if not files:
        print(__doc__, file=sys.stderr)
        return 2
    rows = {}
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f"tolerance-table: {path}: not a readable results file ({e})", file=sys.stderr)
            return 2
        for c in doc.get("cases", []):
            if c.get("status") not in ("ok", "fail"):
                continue
            ck = c.get("check") or {}
            key = (c.get("op"), c.get("impl"))
            r = rows.setdefault(key, {"n": 0, "worst": None, "tol": set(), "own": 0, "fail": 0})
            r["n"] += 1
            r["fail"] += c.get("status") == "fail"
            err, tol = ck.get("rel_l2"), ck.get("tol")
            if not isinstance(err, (int, float)) or not isinstance(tol, (int, float)) or tol <= 0:
                r["own"] += 1
                continue
            r["tol"].add(tol)
            # the ratio that matters is per case (tolerances differ with n); keep the case
            # closest to its tolerance and the one furthest from it
            ratio = tol / err if err > 0 else float("inf")
            if r["worst"] is None or ratio < r["worst"][0]:
                r["worst"] = (ratio, err, tol, c.get("id"))
            if "loosest" not in r or ratio > r["loosest"][0]:
                r["loosest"] = (ratio, err, tol, c.get("id"))
    head = ("op", "impl", "cases", "tolerance (tightest case)", "worst rel_l2",
            "tol/err there", "tol/err loosest case")
    out = []
    for (op, impl), r in sorted(rows.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")):
        if r["worst"] is None:
            out.append((op, impl, str(r["n"]), "own check", "-", "-", "-"))
            continue
        ratio, err, tol, _ = r["worst"]
        lr = r["loosest"][0]
        fmt = lambda x: "inf" if x == float("inf") else f"{x:.3g}"
        out.append((op, impl, str(r["n"]) + (f" ({r['fail']} fail)" if r["fail"] else ""),
                    f"{tol:.3g}", f"{err:.3g}", fmt(ratio), fmt(lr)))
    if md:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for o in out:
            print("| " + " | ".join(o) + " |")
    else:
        w = [max(len(h), *(len(o[i]) for o in out)) if out else len(h) for i, h in enumerate(head)]
        print("  ".join(h.ljust(w[i]) for i, h in enumerate(head)))
        for o in out:
            print("  ".join(x.ljust(w[i]) for i, x in enumerate(o)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
