"""A worker that greets correctly, then answers every request with a line of non-JSON."""
import sys

print('{"ok": true, "protocol": 1}', flush=True)
sys.stdin.readline()
for line in sys.stdin:
    print("this is not JSON", flush=True)
