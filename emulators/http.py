"""A small threaded HTTP/1.1 server for the emulators: real sockets on 127.0.0.1, optional TLS.

Each emulator is a function ``handle(Request) -> Response``; this module does the wire work. Responses can
stream their body in chunks and can cut the connection after a number of bytes (to test resumed
downloads). Every request is recorded (method, path, headers) so that tests can assert on the traffic.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["EmulatorServer", "Request", "Response", "json_response"]


@dataclass
class Request:
    method: str
    target: str  # the raw request target: path and query, percent-encoded as sent
    headers: dict[str, str]  # keys lower-cased
    body: bytes

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def path(self) -> str:
        """The decoded path, with duplicate slashes collapsed (the Graph SDK may send ``/v1.0//users``)."""
        path = urllib.parse.unquote(self.raw_path)
        while "//" in path:
            path = path.replace("//", "/")
        return path

    @property
    def segments(self) -> list[str]:
        """Path segments, each decoded on its own (an encoded ``/`` stays inside its segment)."""
        return [urllib.parse.unquote(s) for s in self.raw_path.split("/") if s]

    @property
    def raw_query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    @property
    def query(self) -> dict[str, str]:
        """Decoded query parameters; a repeated name keeps its last value."""
        return dict(urllib.parse.parse_qsl(self.raw_query, keep_blank_values=True))

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Close the connection after this many body bytes (a broken download); None sends everything.
    break_after: int | None = None
    # Content-Length to announce when the body is a stream.
    length: int | None = None


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    data = json.dumps(payload).encode("utf-8")
    return Response(status, data, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


Handler = Callable[[Request], Response]


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the recorded traffic
        return

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _dispatch(self) -> None:
        request = Request(
            method=self.command,
            target=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._read_body(),
        )
        self.server.emulator.record(request)
        try:
            response = self.server.emulator.handler(request)
        except Exception as exc:  # noqa: BLE001 - an emulator bug must surface as a 500, not a hung client
            response = json_response(500, {"error": {"code": "EmulatorBug", "message": repr(exc)}})
        self._send(response)

    def _send(self, response: Response) -> None:
        body = response.body
        data = body if isinstance(body, bytes) else None
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        length = len(data) if data is not None else response.length
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(length or 0))
        if response.break_after is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD" or response.status in (204, 304):
            return
        chunks: Iterable[bytes] = [data] if data is not None else body  # type: ignore[assignment]
        sent = 0
        for chunk in chunks:
            if response.break_after is not None and sent + len(chunk) >= response.break_after:
                self.wfile.write(chunk[: response.break_after - sent])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(chunk)
            sent += len(chunk)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: EmulatorServer


class EmulatorServer:
    """Serves one handler on a free loopback port until ``stop()``.

    Args:
        handler: the emulator's request handler.
        tls: a server-side SSL context for HTTPS, or None for plain HTTP.
        port: a fixed port, or 0 for a free one.
    """

    def __init__(self, handler: Handler, *, tls: ssl.SSLContext | None = None, port: int = 0) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _RequestHandler)
        self._server.emulator = self
        if tls is not None:
            # Handshake in the request thread, not in the accept loop: a slow client cannot stall the server.
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="emulator", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host!s}:{port}"

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> EmulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
