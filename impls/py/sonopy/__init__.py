"""sonopy — the Python side of sonobench's py backend: a worker process that runs NumPy
and PyTorch implementations of the harness's ops for the C plugin (impls/py/*.c), over
the line-JSON protocol of impls/py/PROTOCOL.md."""
