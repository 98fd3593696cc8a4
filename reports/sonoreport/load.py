"""load.py — the report's one reader of results files (schema sonobench.results/1): checks
each against harness/schema/results-1.json, the one description of the file, when
jsonschema is importable (else the same required fields by hand, as harness/out/results.c
does), so a bad file is named with what was expected before anything is drawn or written."""
import json
import os

SCHEMA = "sonobench.results/1"
STATUSES = ("ok", "fail", "skip", "error", "crash", "timeout", "xfail", "xpass")
_HERE = os.path.dirname(os.path.abspath(__file__))
# the source tree's harness/schema/, else the installed share/sonobench/schema/
SCHEMA_FILES = (os.path.join(_HERE, "..", "..", "harness", "schema", "results-1.json"),
                os.path.join(_HERE, "..", "..", "schema", "results-1.json"))
_validator = []  # [the validator or None], made once


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

    @property
    def quick_calibration(self):
        """True when the ceilings come from `harness calibrate --quick` (issue 27): a
        cache-resident triad, not the machine's ceiling."""
        cal = self.calibration
        return bool(cal) and (cal.get("quick") is True or
                              (isinstance(cal.get("details"), dict) and
                               cal["details"].get("quick") is True))


def _bad_case(path, i, case, what):
    cid = case.get("id") if isinstance(case, dict) else None
    return BadInput(f"{path}: case {i} ({cid if isinstance(cid, str) else 'no id'}): {what}")


def schema_path():
    """The path of results-1.json, or None when neither place has it."""
    for p in SCHEMA_FILES:
        if os.path.isfile(p):
            return os.path.normpath(p)
    return None


def validator():
    """A jsonschema validator for results-1.json; None without jsonschema or the file."""
    if not _validator:
        v = None
        try:
            import jsonschema
        except ImportError:
            jsonschema = None
        path = schema_path()
        if jsonschema is not None and path:
            with open(path, encoding="utf-8") as f:
                v = jsonschema.Draft202012Validator(json.load(f))
        _validator.append(v)
    return _validator[0]


def describe_error(e, doc):
    """One line for a jsonschema error in doc: which case (index and id) and which key,
    the way harness/out/results.c names them."""
    path = list(e.absolute_path)
    where = ""
    if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
        c = doc["cases"][path[1]]
        cid = c.get("id") if isinstance(c, dict) else None
        where = f"case {path[1]} ({cid if isinstance(cid, str) else 'no id'}): "
        path = path[2:]
    if e.validator == "required" and isinstance(e.instance, dict):
        missing = [k for k in e.validator_value if k not in e.instance]
        what = "expected " + ", ".join(json.dumps(k) for k in missing)
        if "then" in e.relative_schema_path and isinstance(e.schema.get("description"), str):
            # a conditional requirement says its condition (status ok needs time_ns)
            what += f" ({e.schema['description']})"
    else:
        what = e.message
    key = ".".join(str(k) for k in path)
    return where + (f'"{key}": ' if key else "") + what


def schema_errors(doc, v):
    """Every error of doc against v, as lines, the most relevant first."""
    import jsonschema
    errors = sorted(v.iter_errors(doc), key=jsonschema.exceptions.relevance)
    return [describe_error(e, doc) for e in errors]


def _check_case(path, i, c):
    """Without jsonschema: what harness/out/results.c:sono_results_load requires of a case."""
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
        if (not isinstance(med, (int, float)) or isinstance(med, bool)
                or not isinstance(t.get("samples"), list)):
            raise _bad_case(path, i, c, '"time_ns" needs a number "median" and an array '
                            '"samples"')
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
    def no_constant(name):  # issue 27: Python reads NaN and Infinity, JSON (and compare) not
        raise ValueError(f"{name} is not JSON (a median or figure that is not a number)")
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=no_constant)
    except UnicodeDecodeError as e:
        raise BadInput(f"{path}: not UTF-8 text (byte {e.start}); expected a sonobench "
                       "results file (JSON)") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg} (a truncated "
                       "or unfinished file?)") from None
    except ValueError as e:
        raise BadInput(f"{path}: {e}") from None
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema != SCHEMA:
        found = f" (found {json.dumps(schema)})" if isinstance(schema, str) else ""
        raise BadInput(f'{path}: not a sonobench results file: expected "schema": '
                       f'"{SCHEMA}"{found}')
    v = validator()
    if v is not None:
        errors = schema_errors(doc, v)
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise BadInput(f"{path}: {errors[0]}{more}; see {schema_path()}")
        _check_medians(path, doc)
        return Run(path, doc)
    if not (isinstance(doc.get("env"), dict) and isinstance(doc.get("run"), dict)
            and isinstance(doc.get("cases"), list)):
        raise BadInput(f'{path}: expected objects "env", "run" and an array "cases"')
    for i, c in enumerate(doc["cases"]):
        _check_case(path, i, c)
    _check_medians(path, doc)
    return Run(path, doc)


def _check_medians(path, doc):
    """A median below zero is no time (compare and the harness refuse it too)."""
    for i, c in enumerate(doc["cases"]):
        med = c.get("time_ns", {}).get("median") if isinstance(c.get("time_ns"), dict) else None
        if isinstance(med, (int, float)) and not isinstance(med, bool) and med < 0:
            raise _bad_case(path, i, c, f'"time_ns.median" is {med}: a time is never negative')


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
