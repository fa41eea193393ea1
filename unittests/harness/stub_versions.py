# SPDX-License-Identifier: Apache-2.0
"""A loopback HTTP server that answers every GET with `{}`: enough for the harness's
"is the server up" probe when a test scripts a stand-in for the reference server."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Versions(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        """Quiet: a test's output needs no access log."""


@contextlib.contextmanager
def versions_stub() -> Iterator[str]:
    """Serve for the duration of the block; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Versions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
