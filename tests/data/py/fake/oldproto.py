"""A worker that speaks another protocol version."""
print('{"ok": true, "protocol": 99}', flush=True)
