"""A GCS emulator on loopback for tests: the ``gcp-storage-emulator`` package, run as a subprocess.

Beam's ``FileSystems`` (create, open, match, copy, rename, delete) talks to it
through ``STORAGE_EMULATOR_HOST``; the variables below are inherited by every
process a test starts (CLI children, Beam workers, Dask workers). A fake
``authorized_user`` credentials file stops Beam from spending ~20 s per process
looking for real credentials.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

PROJECT_ID = "test-project"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, method: str = "GET", body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read() or b"{}")


class GcsEmulator:
    """One emulator process; ``env`` is what a client process needs to use it."""

    def __init__(self, workdir: Path):
        self.port = _free_port()
        self.host = f"http://127.0.0.1:{self.port}"
        creds = workdir / "fake-credentials.json"
        creds.write_text(json.dumps({"type": "authorized_user", "client_id": "x", "client_secret": "x",
                                     "refresh_token": "x", "token": "fake",
                                     "expiry": "2999-01-01T00:00:00Z"}))
        self.env = {"STORAGE_EMULATOR_HOST": self.host, "GOOGLE_CLOUD_PROJECT": PROJECT_ID, "NO_GCE_CHECK": "true",
                    "GOOGLE_APPLICATION_CREDENTIALS": str(creds)}
        self._log = open(workdir / "gcs-emulator.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1",
                                      "--port", str(self.port), "--in-memory", "-q"],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                _request(f"{self.host}/storage/v1/b?project={PROJECT_ID}")
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the GCS emulator did not start; see {workdir / 'gcs-emulator.log'}")
                time.sleep(0.1)

    def create_bucket(self, name: str) -> str:
        _request(f"{self.host}/storage/v1/b?project={PROJECT_ID}", "POST", {"name": name})
        return f"gs://{name}"

    def list_objects(self, bucket: str, prefix: str = "") -> list[str]:
        names, token = [], ""
        while True:
            url = f"{self.host}/storage/v1/b/{bucket}/o?prefix={urllib.request.quote(prefix)}"
            page = _request(url + (f"&pageToken={token}" if token else ""))
            names += [item["name"] for item in page.get("items", [])]
            token = page.get("nextPageToken", "")
            if not token:
                return sorted(names)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


@contextmanager
def running_emulator(workdir: Path) -> Iterator[GcsEmulator]:
    """An emulator whose variables are set in ``os.environ`` (so child processes inherit them) while open."""
    emulator = GcsEmulator(workdir)
    try:
        with emulator_variables(emulator):
            yield emulator
    finally:
        emulator.stop()


@contextmanager
def emulator_variables(emulator: GcsEmulator) -> Iterator[GcsEmulator]:
    """``emulator``'s variables in ``os.environ`` while open (an emulator the session shares: each test that
    uses it sets them only for itself), the earlier values back after."""
    saved = {k: os.environ.get(k) for k in emulator.env}
    os.environ.update(emulator.env)
    _reset_beam_credentials()
    try:
        yield emulator
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reset_beam_credentials()


def _reset_beam_credentials() -> None:
    """Beam caches credentials per process; a test that changes the environment must clear them."""
    try:
        from apache_beam.internal.gcp import auth
    except ImportError:
        return
    auth._Credentials._credentials_init = False
    auth._Credentials._credentials = None
