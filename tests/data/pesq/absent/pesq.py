# test_pesq.c puts this folder on PYTHONPATH to plant a Python without the pesq package:
# the worker's import fails as it does where the package is not installed.
raise ImportError("No module named 'pesq' (planted by tests/data/pesq/absent)")
