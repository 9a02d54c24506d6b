#!/usr/bin/env python3
"""A price API for the feed worker's scenario test, on 127.0.0.1 only.

    feed_server.py DIR PORTFILE

Binds a free loopback port, writes it to PORTFILE, and serves:

  /files/NAME   the file DIR/NAME as application/json (404 when absent)
  /fail         HTTP 500
  /slow?s=N     waits N seconds (default 10), then {"price": 1}
  /garbage      200 with a body that is not JSON
  /binary       200 with bytes that are not UTF-8 (and a NUL)
  /big          200 with 2 MiB of JSON-looking bytes (Content-Length says so)
  /bigstream    the same without Content-Length, until the connection closes
  /redirect     302 to /files/redirected.json (the worker must not follow it)

A POST is answered like a GET.  Every request is logged to
DIR/requests.log as "METHOD PATH USER-AGENT" so the
test can see what the worker sent.  Each request has its own thread, so a
slow answer delays nothing else.
"""
import http.server
import os
import sys
import threading
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body are two writes: without this a kept-alive connection
    # waits for the client's delayed ACK (40 ms) before the body
    disable_nagle_algorithm = True
    directory = "."
    log_lock = threading.Lock()

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, ctype="application/json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def record(self):
        line = "%s %s %s\n" % (self.command, self.path, self.headers.get("User-Agent", "-"))
        with self.log_lock:
            with open(os.path.join(self.directory, "requests.log"), "a") as f:
                f.write(line)

    def do_POST(self):
        # a JSON-RPC call sent to something that is not a node: answered like a GET
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.do_GET()

    def do_GET(self):
        self.record()
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/files/"):
            name = os.path.basename(url.path)
            try:
                with open(os.path.join(self.directory, name), "rb") as f:
                    self.answer(200, f.read())
            except FileNotFoundError:
                self.answer(404, b'{"error": "not found"}')
        elif url.path == "/fail":
            self.answer(500, b'{"error": "internal"}')
        elif url.path == "/slow":
            secs = float(urllib.parse.parse_qs(url.query).get("s", ["10"])[0])
            time.sleep(secs)
            self.answer(200, b'{"price": 1}')
        elif url.path == "/garbage":
            self.answer(200, b"<html>rate limited</html>", "text/html")
        elif url.path == "/binary":
            self.answer(200, b'\xff\xfe\x00 price \xc3( 1')
        elif url.path == "/big":
            self.answer(200, b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}')
        elif url.path == "/bigstream":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for _ in range(32):
                    self.wfile.write(b"[" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif url.path == "/redirect":
            self.answer(302, b"", extra={"Location": "/files/redirected.json"})
        else:
            self.answer(404, b'{"error": "no such path"}')


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # the worker hangs up on purpose (a disabled source, a cut-off answer)
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    Handler.directory = sys.argv[1]
    server = Server(("127.0.0.1", 0), Handler)
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, sys.argv[2])
    server.serve_forever()


if __name__ == "__main__":
    main()
