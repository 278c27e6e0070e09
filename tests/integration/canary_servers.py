"""Loopback servers the canary's checks talk to: a real HTTP server (http.server) that echoes the
request back, and a stand-in SMTP server (a real MTA cannot be started per test here; the smtp check
only needs its greeting and EHLO answer)."""

from __future__ import annotations

import json
import socketserver
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EchoHandler(BaseHTTPRequestHandler):
    """GET: 200 with a JSON body holding the raw path and the decoded query (as a careless API would)."""

    def do_GET(self) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        body = json.dumps({"path": self.path, "query": query}, ensure_ascii=True).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class SmtpGreeter(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"220 canary.test ESMTP\r\n")
        for line in self.rfile:
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 canary.test\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 no\r\n")


def http_server() -> ThreadingHTTPServer:
    return ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)


def smtp_server() -> socketserver.ThreadingTCPServer:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpGreeter)
    server.daemon_threads = True
    return server
