#!/usr/bin/env python3
"""A small HTTP forward proxy for spec/transport/http/network_spec.lua.
Listens on 127.0.0.1 on a free port and prints "PORT <n>" first; exits
after --max-seconds (default 120). Every request it forwards is printed
on stdout as "PROXIED <host:port> <method> <path>". Whatever host a request
names, it goes to 127.0.0.1 on that port (so a made-up host name reaches
the local fixture). One request per client connection (Connection: close
upstream), the response piped back until either side closes."""
import socket
import socketserver
import sys
import threading


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode("latin-1")
        if not line:
            return
        method, target, version = line.split(" ", 2)
        headers = []
        length = 0
        while True:
            h = self.rfile.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            name = h.split(b":", 1)[0].strip().lower()
            if name in (b"connection", b"proxy-connection", b"keep-alive"):
                continue
            if name == b"content-length":
                length = int(h.split(b":", 1)[1])
            headers.append(h)
        body = self.rfile.read(length) if length else b""
        if not target.startswith("http://"):
            self.wfile.write(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        rest = target[len("http://"):]
        hostport, _, path = rest.partition("/")
        port = int(hostport.rsplit(":", 1)[1]) if ":" in hostport else 80
        print("PROXIED %s %s /%s" % (hostport, method, path), flush=True)
        up = socket.create_connection(("127.0.0.1", port))
        up.sendall(("%s /%s %s" % (method, path, version)).encode("latin-1") + b"".join(headers)
                   + b"Connection: close\r\n\r\n" + body)
        t = threading.Thread(target=pipe, args=(self.connection, up), daemon=True)
        t.start()
        pipe(up, self.connection)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass


def main():
    max_seconds = 120.0
    if "--max-seconds" in sys.argv:
        max_seconds = float(sys.argv[sys.argv.index("--max-seconds") + 1])
    server = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    threading.Timer(max_seconds, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
