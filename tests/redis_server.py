"""A real ``redis-server`` for the fleet tests: on a free loopback port, stopped by its PID.

Missing binary: the tests skip with the reason, except under ``CI=true``, where they fail
(CI installs Debian's ``redis-server``; a skip there would hide the whole fleet suite).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

BINARY = "redis-server"


def require_redis_server() -> str:
    """The binary's path; skips (locally) or fails (``CI=true``) when it is missing."""
    path = shutil.which(BINARY)
    if path is None:
        reason = f"{BINARY} is not installed (Debian: apt-get install -y redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the fleet tests", pytrace=False)
        pytest.skip(reason)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server`` process this test owns: ``with RedisServer(folder) as server:``
    (or ``start()`` and ``stop()``, to stop it mid-test and start it again), ``url``."""

    def __init__(self, folder: Path, *, password: str | None = None) -> None:
        self.binary = require_redis_server()
        self.port = free_port()
        self.folder = folder
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start on this server's port (again, after a stop) and wait until it answers."""
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        command += ["--enable-debug-command", "local"]  # DEBUG SLEEP: a slow Redis
        if self.password:
            command += ["--requirepass", self.password]
        log = (self.folder / f"redis-{self.port}.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64):
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Kill this server by its PID and wait for it."""
        if self.process is None:
            return
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def command(self, *parts: str) -> bytes:
        """Send one command over a raw socket; return the raw reply (for DEBUG, FLUSHALL)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            if self.password:
                conn.sendall(f"AUTH {self.password}\r\n".encode())
                conn.recv(64)
            conn.sendall((" ".join(parts) + "\r\n").encode())
            return conn.recv(4096)
