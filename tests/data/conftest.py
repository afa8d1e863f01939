"""Fixtures for the data tests: an isolated search path, small fake Fashion-MNIST files, and a
local HTTP server on 127.0.0.1 whose answers each test scripts."""

from __future__ import annotations

import gzip
import hashlib
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from backproplab.data import fashion_mnist as fm


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """The IDX encoding of ``array`` (uint8 by default), written independently of the reader."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def make_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(labels)
    return images, labels


class FakeData:
    """Four small IDX files (20 training, 10 test samples), their content and checksums."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        for split, (n, seed) in {"train": (20, 1), "test": (10, 2)}.items():
            images, labels = make_split(n, seed)
            img_name, lab_name = fm.FILES[split]
            self.arrays[img_name], self.arrays[lab_name] = images, labels
        self.raw = {name: idx_bytes(a) for name, a in self.arrays.items()}
        self.gz = {name: gzip.compress(data, mtime=0) for name, data in self.raw.items()}
        self.checksums = {name: hashlib.sha256(data).hexdigest() for name, data in self.raw.items()}

    def write(self, directory: Path, compressed: bool = True, names=None) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        for name in names or self.raw:
            if compressed:
                (directory / f"{name}.gz").write_bytes(self.gz[name])
            else:
                (directory / name).write_bytes(self.raw[name])
        return directory


@pytest.fixture(scope="session")
def fake() -> FakeData:
    return FakeData()


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No $BACKPROPLAB_DATA, an empty Debian directory, and a fresh cache; returns the cache dir."""
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "debian-empty")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return tmp_path / "xdg-cache" / "backproplab"


class Server:
    """A threaded HTTP server; ``routes`` maps a URL path to how to answer it.

    Answers: ``("ok", body)``, ``("status", code)``, ``("short", body, n)`` (announces
    ``len(body)`` bytes, sends ``n``, closes), ``("hang",)`` (never answers), ``("drip", body, s)``
    (announces ``len(body)`` bytes, then sends one byte every ``s`` seconds until closed),
    ``("endless", head, block, length)`` (sends ``head``, then ``block`` again and again until the
    client closes; ``length`` is the Content-Length header to send, or None for none).
    """

    def __init__(self) -> None:
        self.routes: dict[str, tuple] = {}
        self.requests: list[str] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                answer = server.routes.get(self.path, ("status", 404))
                kind = answer[0]
                if kind == "hang":
                    server.release.wait(10)
                    return
                if kind == "status":
                    self.send_error(answer[1])
                    return
                body = answer[1]
                if kind == "endless":
                    self.endless(body, *answer[2:])
                    return
                if kind == "drip":
                    self.drip(body, answer[2])
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body if kind == "ok" else body[: answer[2]])
                    self.wfile.flush()
                except OSError:  # the client refused the body and closed the connection
                    return
                self.close_connection = True

            def drip(self, body: bytes, seconds: float) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(len(body)):
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                        if server.release.wait(seconds):
                            return
                except OSError:  # the client gave up and closed the connection
                    return

            def endless(self, head: bytes, block: bytes, length: str | None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                if length is not None:
                    self.send_header("Content-Length", length)
                self.end_headers()
                try:
                    self.wfile.write(head)
                    while not server.release.is_set():
                        self.wfile.write(block)
                except OSError:  # the client gave up and closed the connection
                    return

            def log_message(self, *args) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, folder: str) -> str:
        return f"{self.base}/{folder}/"

    def serve(self, folder: str, files: dict[str, bytes], kind: str = "ok", *extra) -> None:
        for name, body in files.items():
            self.routes[f"/{folder}/{name}.gz"] = (kind, body, *extra)

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def idx_encode():
    """The test's own IDX encoder (see :func:`idx_bytes`)."""
    return idx_bytes
