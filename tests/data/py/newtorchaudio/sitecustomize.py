"""Hides torchcodec from this interpreter (tests/data/py/python-newtorchaudio)."""
import sys


class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torchcodec":
            raise ModuleNotFoundError("No module named %r (hidden by the test)" % name)
        return None


sys.meta_path.insert(0, _Hide())
