"""Generation preconditions in front of the GCS emulator, which ignores them.

``gcp-storage-emulator`` accepts ``ifGenerationMatch`` and does nothing with it: a
second "create only if absent" upload succeeds (checked by
``tests/test_run_lock.py::test_the_emulator_alone_ignores_preconditions``). Real GCS
answers HTTP 412 instead, and the rebuild lock relies on that. This loopback proxy
forwards every request to the emulator and, for a request carrying
``ifGenerationMatch``, first compares it with the object's current generation
(0 when absent) and answers 412 ``conditionNotMet`` as GCS does when they differ.
Requests that change objects are handled one at a time, so the check and the write
are one step, like the server-side check they stand in for. The client side (the
``google-cloud-storage`` calls, their parameters, the 412 → ``PreconditionFailed``
mapping) is the real one.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


def _multipart_name(content_type: str, body: bytes) -> str | None:
    """The object name in the JSON part of a multipart upload."""
    boundary = content_type.split("boundary=", 1)[-1].strip('"').encode()
    for part in body.split(b"--" + boundary):
        head, _, payload = part.partition(b"\r\n\r\n")
        if b"application/json" in head.lower():
            return json.loads(payload.strip()).get("name")
    return None


class _Handler(BaseHTTPRequestHandler):
    upstream: tuple[str, int]
    write_lock = threading.Lock()

    def log_message(self, *args) -> None:  # quiet
        pass

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_HEADERS], data

    def _generation(self, bucket: str, name: str) -> int:
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        conn.request("GET", f"/storage/v1/b/{bucket}/o/{urllib.parse.quote(name, safe='')}")
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return int(json.loads(data)["generation"]) if resp.status == 200 else 0

    def _target(self, parsed, body: bytes) -> tuple[str, str] | None:
        parts = parsed.path.split("/")
        # /upload/storage/v1/b/<bucket>/o  or  /storage/v1/b/<bucket>/o/<name>
        if "b" not in parts:
            return None
        i = parts.index("b")
        bucket = parts[i + 1]
        rest = parts[i + 3:] if len(parts) > i + 2 and parts[i + 2] == "o" else []
        if rest:
            return bucket, urllib.parse.unquote("/".join(rest))
        query = urllib.parse.parse_qs(parsed.query)
        if "name" in query:
            return bucket, query["name"][0]
        if body and "multipart" in self.headers.get("Content-Type", ""):
            name = _multipart_name(self.headers["Content-Type"], body)
            return (bucket, name) if name else None
        return None

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parsed = urllib.parse.urlsplit(self.path)
        wanted = urllib.parse.parse_qs(parsed.query).get("ifGenerationMatch")
        if self.command == "GET":
            self._reply(*self._forward(body))
            return
        with self.write_lock:
            target = self._target(parsed, body) if wanted else None
            if target is not None and self._generation(*target) != int(wanted[0]):
                error = {"error": {"code": 412, "message": "At least one of the pre-conditions you specified did "
                                                           "not hold.", "errors": [{"reason": "conditionNotMet"}]}}
                self._reply(412, [("Content-Type", "application/json")], json.dumps(error).encode())
                return
            self._reply(*self._forward(body))

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@contextmanager
def preconditions_proxy(emulator_host: str) -> Iterator[str]:
    """A proxy to the emulator at ``emulator_host`` (``http://127.0.0.1:PORT``); yields its own URL."""
    up = urllib.parse.urlsplit(emulator_host)
    handler = type("Handler", (_Handler,), {"upstream": (up.hostname, up.port), "write_lock": threading.Lock()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
