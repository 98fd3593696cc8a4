"""Hides torch and torchaudio from this interpreter (tests/data/py/python-notorch)."""
import sys


class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchaudio"):
            raise ModuleNotFoundError("No module named %r (hidden by the test)" % name)
        return None


sys.meta_path.insert(0, _Hide())
