"""What the fault tests (test_faults_*.py) break and restart: a PostgreSQL cluster and a
redis-server of their own, and production processes (the server, the worker) run the way
the README's Production section runs them, configured by the environment alone.

The suite's own database is never touched: stopping the cluster here fails only the
processes pointed at it.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from accounts.keys import _private_pem

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], Any], *, timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


class PostgresCluster:
    """A throwaway cluster on 127.0.0.1 (as scripts/with-postgres.sh starts one), stoppable at will."""

    def __init__(self) -> None:
        # Its own directory under /tmp: the postgres user cannot enter pytest's (root-only) tmp_path.
        self.dir = Path(tempfile.mkdtemp(prefix="perpetua-faults-pg."))
        self.data = self.dir / "data"
        self.port = free_port()
        self.bin = Path(os.path.realpath(shutil.which("pg_ctl") or "pg_ctl")).parent
        self.as_pg: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], capture_output=True, check=False)
            shutil.chown(self.dir, "postgres")
            self.as_pg = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/perpetua"

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [*self.as_pg, str(self.bin / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0 or not check, f"{program}: {result.stdout[-2000:]} {result.stderr[-2000:]}"

    def _client(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        self.start()
        self._run("createdb", *self._client(), "perpetua")

    def copy_database(self, source: dict[str, Any]) -> None:
        """Copy the test database `source` (Django's DATABASES entry: schema, migration
        state, seed rows and the test's own committed rows) into this cluster's database:
        the same result as `manage.py migrate` plus the test's setup, in a second instead of 15."""
        source_args = ["-h", source["HOST"], "-p", str(source["PORT"]), "-U", source["USER"], source["NAME"]]
        dump = subprocess.run(
            [str(self.bin / "pg_dump"), "--no-owner", "--no-privileges", *source_args],
            capture_output=True,
            timeout=60,
            check=True,
            env={**os.environ, "PGPASSWORD": source.get("PASSWORD") or ""},
        )
        restore = subprocess.run(
            [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", *self._client(), "perpetua"],
            input=dump.stdout,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert restore.returncode == 0, restore.stderr[-2000:]

    def start(self) -> None:
        # fsync off is safe here (the OS does not crash); synchronous_commit stays on, so an
        # acknowledged commit survives the immediate stop below.
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "postgres.log"), "-w", "-o", options, "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, sql: str, *params: Any) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()


class RedisServer:
    """A redis-server on a fixed port that can be killed and started again."""

    def __init__(self, workdir: Path) -> None:
        self.binary = shutil.which("redis-server")
        assert self.binary, "redis-server is required (scripts/ensure-redis.sh installs it)"
        self.dir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _accepts(self.port), timeout=10, what="redis-server")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a production process: DEBUG off, no test-only settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "DATABASE_", "REDIS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="perpetua.settings",
        DEBUG="false",
        TESTING="false",
        SECRET_KEY="faults-test-secret",
        JWT_PRIVATE_KEY=_private_pem(),
        LOG_LEVEL="WARNING",
        LOG_JSON="false",
        RATE_LIMIT_GENERAL="0",
        FREE_MAX_TASKS="100000",
    )
    env.update(overrides)
    return env


class Process:
    """A production process (`python -m perpetua.server`, `manage.py run_worker`), output to a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)
        self._out.close()


def start_server(env: dict[str, str], log: Path) -> tuple[Process, int]:
    port = free_port()
    server = Process(["-m", "perpetua.server", "--host", "127.0.0.1", "--port", str(port)], env, log)

    def live() -> bool:
        assert server.popen.poll() is None, server.output()
        return _accepts(port) and request(port, "GET", "/api/v1/health/live")[0] == 200

    wait_until(live, timeout=120, what="the server to start")  # Django starts in 3 s of CPU; a loaded machine is slower
    return server, port


def request(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 20
) -> tuple[int, Any, dict[str, str]]:
    """One request on a new connection: (status, parsed JSON body or text, headers). Status 0: no answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    payload = None if body is None else json.dumps(body)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    try:
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        raw = response.read()
        found = {name.lower(): value for name, value in response.getheaders()}
    except (OSError, http.client.HTTPException) as exc:
        return 0, repr(exc), {}
    finally:
        conn.close()
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw.decode(errors="replace")
    return response.status, parsed, found
