"""A loopback HTTP server for the tests of downloads: files the tests make, served on
127.0.0.1 on an ephemeral port, well or badly on purpose. Nothing reaches beyond the
machine. The ``loopback`` fixture of ``conftest.py`` starts one; tests read what it was
asked for in ``requests``.

Paths are ``/<mode>/<name>`` or ``/<name>`` (served as ``good``):

- ``good``: the file;
- ``corrupt``: the file with one byte flipped (the ninth from the end, which in a gzip
  file lies in the compressed data, not in the trailer);
- ``truncated``: the first half of the body under the full ``Content-Length``;
- ``forbidden``: HTTP 403.

An unknown name or mode is a 404.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODES = ("good", "corrupt", "truncated", "forbidden")


class LoopbackServer(ThreadingHTTPServer):
    """Serves ``files`` (name -> bytes; the dict itself, so a test may change what is served
    while the server runs). ``requests`` lists the paths asked for, in order;
    with ``watch`` set to a folder, ``listings`` records that folder's sorted file names as
    each request arrives (to see what a download leaves behind while it runs)."""

    daemon_threads = True

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files = files
        self.requests: list[str] = []
        self.watch: Path | None = None
        self.listings: list[list[str]] = []

    def url(self, mode: str | None = None) -> str:
        """The base URL (ending in ``/``) under which files are served in ``mode``."""
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        return f"http://127.0.0.1:{self.server_address[1]}/" + (f"{mode}/" if mode else "")

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client hangs up (on a truncated body, for one)."""


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackServer

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.server.watch is not None:
            self.server.listings.append(sorted(p.name for p in self.server.watch.iterdir()))
        mode, _, name = self.path.lstrip("/").rpartition("/")
        mode = mode or "good"
        body = self.server.files.get(name)
        if body is None or mode not in MODES:
            self.send_error(404)
            return
        if mode == "forbidden":
            self.send_error(403)
            return
        if mode == "corrupt":
            i = max(0, len(body) - 9)
            body = body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if mode == "truncated" else body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""
