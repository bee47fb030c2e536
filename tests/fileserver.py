"""A local HTTP server on 127.0.0.1 that stands in for the download sites.

Paths map to bodies; a path can be given behaviours: answer with a status a number of
times first, or drop the connection halfway through the body. Every request is counted.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FileServer:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.failures: dict[str, list[int]] = {}  # path -> statuses to answer first
        self.drops: Counter = Counter()  # path -> times to cut the body short
        self.requests: Counter = Counter()
        self.delay = 0.0  # seconds before each answer (latency)
        self.together = None  # a tests/together.Together every request waits at
        self.rate = 0  # bytes per second per request, 0 for unlimited
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                import time
                path = self.path
                server.requests[path] += 1
                if server.together is not None:
                    server.together.wait()
                if server.delay:
                    time.sleep(server.delay)
                pending = server.failures.get(path)
                if pending:
                    self.send_error(pending.pop(0))
                    return
                body = server.files.get(path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.drops[path] > 0:
                    server.drops[path] -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if server.rate:
                    step = max(1, server.rate // 20)
                    for start in range(0, len(body), step):
                        self.wfile.write(body[start:start + step])
                        time.sleep(step / server.rate)
                else:
                    self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # a client that gave up (its timeout) is no error of the server's
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "FileServer":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def total(self) -> int:
        return sum(self.requests.values())
