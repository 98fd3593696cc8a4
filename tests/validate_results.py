"""validate_results.py — checks every results file the test suite produced (the copies in
$SONO_RESULTS_COPY, tests/run.sh) and every committed one (results/reference/, tests/data/)
against harness/schema/results-1.json with Debian's python3-jsonschema (/usr/bin/python3).
Prints cmocka's summary lines, so tests/run.sh counts each file as one test.

usage: validate_results.py COPY_DIR [COMMITTED_DIR...]

A committed file takes part when its "schema" is "sonobench.results/1": other JSON there
(calibration files) has another schema. No committed fixture is broken on purpose: the
tests write their bad files at run time (tests/test_report.c, test_bad_input), and those
never pass through the harness's results writer, so they are not copied either.
Fails, rather than passing vacuously, when nothing was copied, when jsonschema is missing,
or when the schema accepts what harness/out/results.c:sono_results_load rejects."""
import copy
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "reports"))
sys.dont_write_bytecode = True  # leave the source tree as it is

from sonoreport import load  # noqa: E402  the report's own loader: one way to validate

SCHEMA = os.path.join(ROOT, "harness", "schema", "results-1.json")
passed, failed = 0, 0


def result(ok, name, why=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"[  FAILED  ] {name}{': ' + why if why else ''}")


def committed(dirs):
    """The committed results files under dirs (recursively), by their schema string."""
    out = []
    for d in dirs:
        for p in sorted(glob.glob(os.path.join(d, "**", "*.json"), recursive=True)):
            try:
                with open(p, encoding="utf-8") as f:
                    doc = json.load(f)
            except (OSError, ValueError):
                continue  # not JSON: not a results file (a results file that claims to be
                          # one but is broken has the schema string, and fails below)
            if isinstance(doc, dict) and doc.get("schema") == load.SCHEMA:
                out.append(p)
    return out


def check_file(v, path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        result(False, path, f"not readable JSON: {e}")
        return None
    errors = load.schema_errors(doc, v)
    result(not errors, path, "; ".join(errors[:5]) + (" ..." if len(errors) > 5 else ""))
    return doc if not errors else None


def self_checks(v, doc):
    """The schema must reject what sono_results_load rejects, and accept the descriptors
    other branches add (metrics, ops): a schema of {} would pass every file above."""
    ok_case = next((c for c in doc["cases"] if c.get("status") == "ok"), None)
    if ok_case is None:
        result(False, "self-check", "no ok case among the valid files to derive from")
        return

    def variant(change):
        d = copy.deepcopy(doc)
        d["cases"] = [copy.deepcopy(ok_case)]
        change(d, d["cases"][0])
        return d

    rejects = {
        "another schema string": lambda d, c: d.update(schema="sonobench.results/2"),
        "no cases array": lambda d, c: d.pop("cases"),
        "env not an object": lambda d, c: d.update(env=[]),
        "unknown status": lambda d, c: c.update(status="great"),
        "id not a string": lambda d, c: c.update(id=3),
        "params not an object": lambda d, c: c.update(params=[]),
        "ok without time_ns": lambda d, c: c.pop("time_ns"),
        "time_ns without samples": lambda d, c: c["time_ns"].pop("samples"),
        "median not a number": lambda d, c: c["time_ns"].update(median="fast"),
        "metrics: better neither lower, higher nor none":
            lambda d, c: c.update(metrics={"derived.gflops": {"unit": "GFLOP/s",
                                                              "better": "up"}}),
        "metrics: no unit": lambda d, c: c.update(metrics={"derived.gflops": {
            "better": "higher"}}),
        "ops: merit not a string": lambda d, c: d.update(ops={"fft": {"merit": 1}}),
    }
    for name, change in rejects.items():
        result(any(True for _ in v.iter_errors(variant(change))), f"self-check: {name}",
               "the schema accepted it")

    def additions(d, c):
        c["metrics"] = {"derived.gflops": {"unit": "GFLOP/s", "better": "higher"},
                        "memory.peak_rss_bytes": {"unit": "bytes", "better": "lower",
                                                  "hint": "the worker's peak resident set"}}
        d["ops"] = {"fft": {"size_param": "n", "merit": "derived.gflops"},
                    "nop": {"size_param": None, "merit": "time_ns.median"}}
        c["a_key_from_a_newer_producer"] = {"anything": [1, 2]}
    errors = load.schema_errors(variant(additions), v)
    result(not errors, "self-check: metrics, ops and unknown keys accepted", "; ".join(errors))


def main(argv):
    if len(argv) < 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    copy_dir, dirs = argv[1], argv[2:]
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        result(False, "jsonschema", "python3-jsonschema is not installed for "
               f"{sys.executable}: install it (ci/install-deps.sh)")
        print(f"[  FAILED  ] {failed} test(s)")
        return 1
    v = load.validator()
    if v is None or load.schema_path() != os.path.normpath(SCHEMA):
        result(False, SCHEMA, "the report's loader does not validate with this schema")
        print(f"[  FAILED  ] {failed} test(s)")
        return 1
    with open(SCHEMA, encoding="utf-8") as f:
        jsonschema.Draft202012Validator.check_schema(json.load(f))
    copies = sorted(glob.glob(os.path.join(copy_dir, "*.json")))
    mine = committed(dirs)
    print(f"[==========] validating {len(copies)} results files the tests produced and "
          f"{len(mine)} committed ones against {os.path.relpath(SCHEMA, ROOT)}")
    # the whole suite must produce some (else this check checked nothing); a subset run
    # (make test TESTS=...) may produce none
    result(bool(copies) or os.environ.get("SONO_TESTS_SUBSET") == "1",
           "results files produced by the tests",
           f"none was copied into {copy_dir} (SONO_RESULTS_COPY): nothing was validated")
    sample = None
    for p in copies + mine:
        doc = check_file(v, p)
        if sample is None and doc and any(c.get("status") == "ok" for c in doc["cases"]):
            sample = doc
    self_checks(v, sample or {"cases": []})
    print(f"[  PASSED  ] {passed} test(s).")
    if failed:
        print(f"[  FAILED  ] {failed} test(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
