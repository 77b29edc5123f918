"""`.env.example` documents every variable settings.py reads (CONTRACT §17)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _read_by_settings() -> set[str]:
    source = (ROOT / "perpetua" / "settings.py").read_text()
    return set(re.findall(r'env(?:\.[a-z_]+)?\("([A-Z][A-Z0-9_]+)"', source))


def _documented() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            names.add(match.group(1))
    return names


def test_every_setting_read_from_the_environment_is_in_env_example():
    missing = _read_by_settings() - _documented()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_env_example_lists_nothing_settings_does_not_read():
    assert _documented() - _read_by_settings() == set()


def test_contract_names_are_read():
    contract = {
        "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "CORS_ALLOWED_ORIGINS",
        "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "JWT_KEY_ID", "JWT_PREVIOUS_PUBLIC_KEY", "JWT_PREVIOUS_KEY_ID",
        "JWT_ISSUER", "JWT_AUDIENCE", "JWT_ACCESS_TTL_MINUTES", "JWT_REFRESH_TTL_DAYS", "GOOGLE_CLIENT_IDS",
        "GOOGLE_CERTS_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL", "AI_TIMEOUT_SECONDS",
        "DEEPGRAM_API_KEY", "DEEPGRAM_BASE_URL", "TRANSCRIBE_ALLOWED_HOSTS", "CHECKOUT_SECRET_KEY",
        "CHECKOUT_WEBHOOK_SECRET", "CHECKOUT_BASE_URL", "CHECKOUT_PRO_PRICE_ID", "VAPID_PRIVATE_KEY",
        "VAPID_PUBLIC_KEY", "VAPID_SUBJECT", "RATE_LIMIT_GENERAL", "RATE_LIMIT_AI", "RATE_LIMIT_AUTH",
        "METRICS_TOKEN", "FREE_MAX_TASKS", "AI_COST_CHAT", "KICKSTART_CREDITS",
    }  # fmt: skip
    assert contract <= _read_by_settings()


def test_env_example_copied_to_env_loads_exact_values(monkeypatch):
    import environ

    for name in _documented():
        monkeypatch.delenv(name, raising=False)
    environ.Env.read_env(ROOT / ".env.example", overwrite=True)  # as settings.py reads .env
    env = environ.Env()
    assert env.int("HTTP_THREADS") == 8
    assert env.str("DATABASE_URL") == "sqlite:///db.sqlite3"
    assert env.str("SECRET_KEY", default="") == ""
    assert env.list("CORS_ALLOWED_ORIGINS", default=None) is None  # unset: the DEBUG-dependent default


def test_env_example_push_allow_list_is_the_default(settings):
    [line] = [
        line for line in (ROOT / ".env.example").read_text().splitlines() if line.startswith("PUSH_ALLOWED_HOSTS=")
    ]
    assert line.removeprefix("PUSH_ALLOWED_HOSTS=").split(",") == settings.BROWSER_PUSH_SERVICES
