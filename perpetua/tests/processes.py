"""Real OS processes for the tests that check how production runs: redis-server, the
production server (`python -m perpetua.server`) and job workers (`manage.py run_worker`),
each configured by the environment alone and sharing this test's PostgreSQL database.

The processes see only committed rows, so their tests use
`@pytest.mark.django_db(transaction=True)`. Output goes to a log file per process, whose
tail is shown when a process fails to start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from accounts.keys import _private_pem

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 120  # generous: several interpreters start at once beside the rest of the suite


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, *, process: subprocess.Popen | None = None, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            exited = process is not None and process.poll() is not None
            if exited or time.monotonic() > deadline:
                tail = log.read_text()[-3000:] if log and log.exists() else ""
                raise AssertionError(f"{what} did not start on port {port}:\n{tail}") from None
            time.sleep(0.05)


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1 (no persistence); yields its URL."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is required (scripts/ensure-redis.sh installs it)"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process=process, what="redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def production_env(*, redis_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a production process (DEBUG off) on this test's database.

    The database name is read from the live connection: pytest-django renamed it to the
    test database, and pytest-xdist gives each of its workers its own. The JWT key is the
    test process's, so tokens minted here verify there and the other way round.
    """
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "perpetua.settings",
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "DEBUG": "false",
        "TESTING": "false",
        "SECRET_KEY": "production-process-under-test",
        "JWT_PRIVATE_KEY": _private_pem(),
        "LOG_LEVEL": "ERROR",
        **overrides,
    }


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text()


def stop(processes: list[Process]) -> None:
    """SIGTERM to all at once (each shuts down gracefully), then wait; SIGKILL after 10 s."""
    running = [p.popen for p in processes if p.popen.poll() is None]
    for popen in running:
        popen.terminate()
    for popen in running:
        try:
            popen.wait(10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(10)


@dataclass
class Server(Process):
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_listening(self) -> None:
        _wait_for_port(self.port, process=self.popen, what=f"server {self.name}", log=self.log)


def _spawn(name: str, args: list[str], *, env: dict[str, str], log_dir: Path) -> tuple[subprocess.Popen, Path]:
    log = log_dir / f"{name}.log"
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    return popen, log


def start_server(*, name: str, env: dict[str, str], log_dir: Path) -> Server:
    """`python -m perpetua.server` (README, Production) on a free port; call `wait_until_listening`."""
    port = free_port()
    popen, log = _spawn(
        name, [sys.executable, "-m", "perpetua.server", "--host", "127.0.0.1", "--port", str(port)], env=env,
        log_dir=log_dir,
    )  # fmt: skip
    return Server(name=name, popen=popen, log=log, port=port)


def start_worker(*, name: str, env: dict[str, str], log_dir: Path, interval: float = 0.2) -> Process:
    """`manage.py run_worker` (README, Production), polling every `interval` seconds when idle."""
    args = [sys.executable, "manage.py", "run_worker", "--worker-id", name, "--interval", str(interval)]
    popen, log = _spawn(name, args, env=env, log_dir=log_dir)
    return Process(name=name, popen=popen, log=log)
