#!/usr/bin/env python3
"""A hostile HTTP server that writes raw bytes, for
spec/transport/http/hostile_spec.lua. Listens on 127.0.0.1 on a free port,
prints "PORT <n>" first, exits after --max-seconds (default 120).

Every path is /<scenario>/mcp. Initialize and notifications get ordinary
answers unless the scenario is about the first response; tools/call gets:
  ctrlchallenge  401 whose WWW-Authenticate realm holds control characters
  bigrealm       401 whose WWW-Authenticate realm is 60 KB long
  bigheader      200 with a 2 MB response header (every request)
  badstatus      a status line that is not HTTP (every request)
  bigerror       500 with a 60 KB body
  bigjsonrpc     a JSON-RPC error whose message is 60 KB
  legacynul      405 to POST; GET: an SSE endpoint event whose data holds
                 NUL bytes (the 2024-11-05 fallback)
"""
import json
import socketserver
import sys
import threading


def read_request(f):
    line = f.readline()
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, v = h.decode("latin-1").split(":", 1)
        headers[k.strip().lower()] = v.strip()
    body = f.read(int(headers.get("content-length", "0") or 0))
    return method, path, headers, body


def response(status, body=b"", ctype="application/json", extra=b""):
    if isinstance(body, str):
        body = body.encode()
    return (b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: " + ctype.encode()
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            req = read_request(self.rfile)
            if req is None:
                return
            method, path, headers, body = req
            scenario = path.strip("/").split("/")[0]
            out = self.answer(scenario, method, headers, body)
            if out is None:
                return
            self.wfile.write(out)
            self.wfile.flush()

    def answer(self, scenario, method, headers, body):
        if scenario == "badstatus":
            return b"HELLO THERE\r\n\r\n"
        if scenario == "bigheader":
            return response("200 OK", "{}", extra=b"X-Big: " + b"a" * (2 * 1024 * 1024) + b"\r\n")
        if scenario == "legacynul":
            if method == "POST" and b"initialize" in body and "/messages" not in body.decode("latin-1"):
                return response("405 Method Not Allowed", "", "text/plain", b"Allow: GET\r\n")
            if method == "GET":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                                 b"event: endpoint\ndata: /messages\x00/../evil?x=\x00y\n\n")
                self.wfile.flush()
                threading.Event().wait(5)
                return None
        if method == "GET":
            return response("405 Method Not Allowed", "", "text/plain", b"Allow: POST\r\n")
        if method == "DELETE":
            return response("200 OK", "", "text/plain")
        msg = json.loads(body or b"{}")
        if "id" not in msg:
            return response("202 Accepted", "", "text/plain")
        if msg.get("method") == "initialize":
            return response("200 OK", json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {
                "protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                "serverInfo": {"name": "hostile", "version": "1"}}}))
        if scenario == "ctrlchallenge":
            return response("401 Unauthorized", "", "text/plain",
                            b'WWW-Authenticate: Bearer realm="a\x01b\x7fc", error="invalid_token"\r\n')
        if scenario == "bigrealm":
            return response("401 Unauthorized", "", "text/plain",
                            b'WWW-Authenticate: Bearer realm="' + b"r" * 60000 + b'"\r\n')
        if scenario == "bigjsonrpc":
            return response("200 OK", json.dumps({"jsonrpc": "2.0", "id": msg["id"], "error": {
                "code": -32000, "message": "m" * 60000}}))
        if scenario == "bigerror":
            return response("500 Internal Server Error", "e" * 60000, "text/plain")
        return response("200 OK", json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}}))


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client closing mid-answer is expected here


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
