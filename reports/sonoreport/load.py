"""load.py — reads results files (schema sonobench.results/1) and checks their structure
the way harness/results.c does, so a bad file is named with what was expected before
anything is drawn or written."""
import json
import os

SCHEMA = "sonobench.results/1"
STATUSES = ("ok", "fail", "skip", "error", "crash", "timeout")


class BadInput(Exception):
    """A results file the report cannot use; the message names the file."""


class Run:
    """One results file: its path, a short label for legends, and the document."""

    def __init__(self, path, doc):
        self.path = path
        self.doc = doc
        self.env = doc["env"]
        self.cases = doc["cases"]
        self.label = str(self.env.get("host") or os.path.basename(path))

    @property
    def calibration(self):
        """This host's ceilings {threads: {gflops, gbps}} when `harness calibrate` ran."""
        cal = self.env.get("calibration")
        if isinstance(cal, dict) and isinstance(cal.get("threads"), dict) and cal["threads"]:
            return cal
        return None


def _bad_case(path, i, case, what):
    cid = case.get("id") if isinstance(case, dict) else None
    return BadInput(f"{path}: case {i} ({cid if isinstance(cid, str) else 'no id'}): {what}")


def _check_case(path, i, c):
    if not isinstance(c, dict):
        raise _bad_case(path, i, c, "expected an object")
    if not all(isinstance(c.get(k), str) for k in ("id", "op", "impl")):
        raise _bad_case(path, i, c, 'expected strings "id", "op", "impl"')
    if c.get("status") not in STATUSES:
        raise _bad_case(path, i, c, '"status" must be ' + ", ".join(STATUSES))
    if not isinstance(c.get("params"), dict):
        raise _bad_case(path, i, c, 'expected an object "params"')
    t = c.get("time_ns")
    if t is not None:
        med = t.get("median") if isinstance(t, dict) else None
        if not isinstance(med, (int, float)) or isinstance(med, bool):
            raise _bad_case(path, i, c, '"time_ns" needs a number "median"')
    elif c["status"] == "ok":
        raise _bad_case(path, i, c, 'status ok without "time_ns"')


def load(path):
    """The Run of one results file, or BadInput naming it and what was wrong."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise BadInput(f"{path}: cannot read: {e.strerror}") from None
    if not raw.strip():
        raise BadInput(f"{path}: empty file; expected a sonobench results file (JSON, "
                       f'"schema": "{SCHEMA}")')
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise BadInput(f"{path}: not UTF-8 text (byte {e.start}); expected a sonobench "
                       "results file (JSON)") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg} (a truncated "
                       "or unfinished file?)") from None
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema != SCHEMA:
        found = f" (found {json.dumps(schema)})" if isinstance(schema, str) else ""
        raise BadInput(f'{path}: not a sonobench results file: expected "schema": '
                       f'"{SCHEMA}"{found}')
    if not (isinstance(doc.get("env"), dict) and isinstance(doc.get("run"), dict)
            and isinstance(doc.get("cases"), list)):
        raise BadInput(f'{path}: expected objects "env", "run" and an array "cases"')
    for i, c in enumerate(doc["cases"]):
        _check_case(path, i, c)
    return Run(path, doc)


def load_all(paths):
    """Every file loaded and checked (the first bad one raises); labels made unique."""
    runs = [load(p) for p in paths]
    seen = {}
    for r in runs:
        seen[r.label] = seen.get(r.label, 0) + 1
    for r in runs:
        if seen[r.label] > 1:
            r.label = f"{r.label} ({os.path.basename(r.path)})"
    return runs
