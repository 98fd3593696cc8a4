"""A worker that greets correctly, then exits with status 3 at the next request."""
import os
import sys

print('{"ok": true, "protocol": 1}', flush=True)
sys.stdin.readline()
sys.stdin.readline()
os._exit(3)
