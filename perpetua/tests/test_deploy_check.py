"""`manage.py check --deploy` is clean under production settings (issue 13).

Settings are read from the environment at import, so the check runs in a fresh
interpreter configured as the README's Production section says (DEBUG off, a real
secret key, hosts, JWT keys, Redis, PostgreSQL, https behind a TLS-terminating proxy).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

BASE_DIR = Path(__file__).resolve().parents[2]
CHECK = (
    "import django; django.setup()\n"
    "from django.core.management import call_command\n"
    "call_command('check', deploy=True, fail_level='WARNING')\n"
)


def _production_env(**overrides: str) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "perpetua.settings",
        "DEBUG": "false",
        "TESTING": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),  # 67 characters, many distinct
        "ALLOWED_HOSTS": "api.perpetua.example",
        "CORS_ALLOWED_ORIGINS": "https://app.perpetua.example",
        "JWT_PRIVATE_KEY": private,
        "JWT_PUBLIC_KEY": public,
        "JWT_KEY_ID": "deploy-check",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/perpetua"),
        "REDIS_URL": "redis://127.0.0.1:6379/0",  # not contacted: the check does not connect
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    }
    env.update(overrides)
    return env


def _check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHECK], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_under_production_settings():
    result = _check(_production_env())
    assert result.returncode == 0, result.stderr
    # 3 deployment decisions + the 4 of the admin's middleware, which perpetua.api.site_only checks itself.
    assert "System check identified no issues (7 silenced)." in result.stdout


def test_check_deploy_fails_on_a_weak_production_setting():
    """The same run does report a real problem, so the clean result above means something."""
    result = _check(_production_env(SECRET_KEY="short", SECURE_HSTS_SECONDS="0"))
    assert result.returncode != 0
    assert "security.W009" in result.stderr and "security.W004" in result.stderr
