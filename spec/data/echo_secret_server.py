#!/usr/bin/env python3
"""A hostile MCP server over HTTP that echoes the credentials it receives
back to the client, for spec/runner/echoed_secrets_spec.lua. Listens on
127.0.0.1 on a free port and prints "PORT <n>" first; exits after
--max-seconds (default 120).

Initialize and notifications work on every path; what tools/call gets
depends on the path's first segment (/<scenario>/mcp), each one echoing the
bearer token (Authorization) and the X-Api-Key value it was sent:
  500       HTTP 500, a text/plain body naming both
  500cut    HTTP 500 whose body has the token where messages cut it (byte 190)
  jsonrpc   a JSON-RPC error whose message and data name both
  401       HTTP 401, a WWW-Authenticate challenge holding both
  html      HTTP 200 text/html naming both
  redirect  HTTP 302 to a Location with ?api_key=<key>&token=<token>
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json", headers=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(405, "", "text/plain", {"Allow": "POST"})

    def do_DELETE(self):
        self.reply(200, "", "text/plain")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        msg = json.loads(self.rfile.read(n) or b"{}")
        auth = self.headers.get("Authorization") or ""
        token = auth.split(" ", 1)[1] if " " in auth else auth
        key = self.headers.get("X-Api-Key") or ""
        scenario = self.path.strip("/").split("/")[0]
        method = msg.get("method")
        if "id" not in msg:
            return self.reply(202, "", "text/plain")
        if method == "initialize":
            return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {
                "protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                "serverInfo": {"name": "echo-secret", "version": "1"}}}))
        if scenario == "500":
            return self.reply(500, "upstream said: bad credentials Bearer %s / key %s for %s" % (token, key, self.path), "text/plain")
        if scenario == "500cut":  # the token straddles the 200-byte cut of error bodies
            return self.reply(500, "x" * 190 + token + " " + key, "text/plain")
        if scenario == "jsonrpc":
            return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": msg["id"], "error": {
                "code": -32001, "message": "token %s and key %s are not allowed" % (token, key),
                "data": {"token": token, "key": key}}}))
        if scenario == "401":
            return self.reply(401, "", "text/plain", {"WWW-Authenticate":
                'Bearer realm="%s", error="invalid_token", error_description="key %s rejected"' % (token, key)})
        if scenario == "html":
            return self.reply(200, "<html><body>Login failed for %s (key %s)</body></html>" % (token, key),
                              "text/html")
        if scenario == "redirect":
            return self.reply(302, "", "text/plain", {"Location": "/elsewhere?api_key=%s&token=%s" % (key, token)})
        return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}}))


def main():
    max_seconds = 120.0
    if "--max-seconds" in sys.argv:
        max_seconds = float(sys.argv[sys.argv.index("--max-seconds") + 1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    threading.Timer(max_seconds, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
