#!/usr/bin/env python3
"""Send raw bytes to 127.0.0.1:PORT and print what comes back (up to 64 KB,
or until the server closes or 3 s of silence), for specs that need
malformed HTTP. usage: raw_http.py PORT  (the request on stdin, with
\\r\\n already in it)"""
import socket
import sys

port = int(sys.argv[1])
data = sys.stdin.buffer.read()
s = socket.create_connection(("127.0.0.1", port), timeout=3)
s.sendall(data)
out = b""
try:
    while len(out) < 65536:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
except socket.timeout:
    out += b"\n[timeout: no more bytes for 3 s]"
except ConnectionResetError:
    out += b"\n[connection reset]"
sys.stdout.write(out.decode("latin-1"))
