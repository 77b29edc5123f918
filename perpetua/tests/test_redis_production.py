"""REDIS_URL switches the cache, the rate-limit counters and the Channels layer to Redis.

Checked the way production runs: separate server processes configured only by the
environment, against a real redis-server started here on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from accounts.tokens import access_token_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    assert binary, "redis-server is required (scripts/ensure-redis.sh installs it)"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


# Runs in a fresh interpreter, configured by the environment alone, like a server process.
_PROCESS_SCRIPT = """
import json, os, sys
import django
django.setup()
from django.conf import settings
from django.core import checks
from django.test import Client
from perpetua.api.health import run_checks

report = {
    "cache": settings.CACHES["default"]["BACKEND"],
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "check_errors": [str(m) for m in checks.run_checks() if m.level >= checks.ERROR and not m.is_silenced()],
    "ready": run_checks(),
    "statuses": [],
}
client = Client(HTTP_AUTHORIZATION="Bearer " + os.environ["TEST_TOKEN"])
for _ in range(int(sys.argv[1])):
    response = client.get("/api/v1/users/me")
    report["statuses"].append([response.status_code, response.get("X-RateLimit-Remaining")])
    report["reset"] = int(response.get("X-RateLimit-Reset") or 0)
print(json.dumps(report, default=str))
"""


def _run_process(*, redis_url: str, token: str, requests: int) -> dict:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "perpetua.settings",
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_POOL": "false",
        "DEBUG": "false",
        "SECRET_KEY": "redis-test",
        "RATE_LIMIT_GENERAL": "3",
        "JWT_PRIVATE_KEY": _private_pem(),
        "TEST_TOKEN": token,
        "LOG_LEVEL": "ERROR",
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROCESS_SCRIPT, str(requests)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _private_pem() -> str:
    from accounts.keys import _private_pem as current_private_pem

    return current_private_pem()


@pytest.mark.django_db(transaction=True)
def test_redis_url_moves_cache_channels_and_shared_rate_limits_to_redis(redis_url, user):
    import redis

    token = access_token_for(user=user)
    for _ in range(2):
        first = _run_process(redis_url=redis_url, token=token, requests=2)
        if first["reset"] - time.time() > 20:  # the second process will run in the same window
            break
        # Too close to the end of this one-minute window: start again in a fresh one.
        time.sleep(max(first["reset"] - time.time() + 1, 0))
        redis.Redis.from_url(redis_url).flushall()
    second = _run_process(redis_url=redis_url, token=token, requests=2)

    assert first["cache"] == "perpetua.api.cache.RedisCache"  # Django's, one redis-py client per pool
    assert first["channel_layer"] == "channels_redis.core.RedisChannelLayer"
    assert first["check_errors"] == []  # django-ratelimit's shared-cache checks pass: not silenced with Redis
    assert first["ready"] == {name: {"status": "ok"} for name in ("database", "cache", "channel_layer")}
    # One bucket of 3 per minute shared by both processes through Redis.
    assert first["statuses"] == [[200, "2"], [200, "1"]]
    assert second["statuses"] == [[200, "0"], [429, "0"]]
