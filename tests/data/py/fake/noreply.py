"""A worker whose reply is JSON but not a reply object (no "ok")."""
import sys

print('{"ok": true, "protocol": 1}', flush=True)
sys.stdin.readline()
for line in sys.stdin:
    print('[1, 2, 3]', flush=True)
