# What the probe reads (probe.py's torch_cuda, without importing torch): a CUDA build.
cuda = '12.1'
