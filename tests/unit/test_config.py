"""Settings: every required or malformed value is named in one line."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

KEY = "ZmRzYWZkc2FmZHNhZmRzYWZkc2FmZHNhZmRzYWZkc2E="  # a Fernet key (32 bytes)
BASE = dict(_env_file=None, webex_bot_token="b", webex_webhook_secret="s", webex_admin_token="a",
            bot_secret_key=KEY)


def error_for(**values) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(**values)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("WEBEX_BOT_TOKEN", "WEBEX_WEBHOOK_SECRET", "WEBEX_ADMIN_TOKEN", "PUBLIC_URL",
                 "DATABASE_URL", "BOT_SECRET_KEY", "BOT_SECRET_KEY_PREVIOUS", "OPS_TOKEN",
                 "WEBEX_BASE_URL", "NOTIFY_ROOM_IDS", "PORT", "DYNO"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("missing, name", [
    ("webex_bot_token", "WEBEX_BOT_TOKEN"),
    ("webex_webhook_secret", "WEBEX_WEBHOOK_SECRET"),
    ("webex_admin_token", "WEBEX_ADMIN_TOKEN"),
])
def test_a_missing_required_setting_is_named(missing, name):
    values = {k: v for k, v in BASE.items() if k != missing}
    assert error_for(**values).startswith(f"configuration error: {name} is required")


@pytest.mark.parametrize("field, value, name", [
    ("webex_webhook_secret", "   ", "WEBEX_WEBHOOK_SECRET"),
    ("public_url", "bot.example.com", "PUBLIC_URL"),
    ("webex_base_url", "ftp://x/", "WEBEX_BASE_URL"),
    ("watch_interval_seconds", "-5", "WATCH_INTERVAL_SECONDS"),
    ("watch_interval_seconds", "soon", "WATCH_INTERVAL_SECONDS"),
    ("bot_secret_key", "not-a-fernet-key", "BOT_SECRET_KEY"),
    ("bot_secret_key_previous", f"{KEY},not-a-fernet-key", "BOT_SECRET_KEY_PREVIOUS"),
    ("ops_token", "short", "OPS_TOKEN"),
    ("log_format", "xml", "LOG_FORMAT"),
    ("log_level", "loud", "LOG_LEVEL"),
])
def test_a_malformed_setting_is_named(field, value, name):
    assert error_for(**(BASE | {field: value})).startswith(f"configuration error: {name} ")


def test_refresh_settings_come_together():
    message = error_for(**BASE, webex_admin_client_id="client")
    assert "WEBEX_ADMIN_CLIENT_SECRET" in message


def test_refresh_settings_replace_the_admin_token():
    values = {k: v for k, v in BASE.items() if k != "webex_admin_token"}
    settings = load_settings(**values, webex_admin_client_id="c", webex_admin_client_secret="s",
                             webex_admin_refresh_token="r")
    assert settings.admin_refresh is not None


def test_values_are_normalised():
    settings = load_settings(**BASE, webex_base_url="http://127.0.0.1:8900/v1",
                             public_url="https://bot.example.com", notify_room_ids="a, b,,c",
                             log_level="debug", log_format="JSON")
    assert settings.webex_base_url == "http://127.0.0.1:8900/v1/"
    assert settings.webhook_target_url == "https://bot.example.com/webhooks/webex"
    assert settings.notify_room_ids == ("a", "b", "c")
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")


def test_environment_and_dotenv_are_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("WEBEX_BOT_TOKEN=from-dotenv\nWEBEX_WEBHOOK_SECRET=s\n"
                                   f"WEBEX_ADMIN_TOKEN=a\nNOTIFY_ROOM_IDS=\nBOT_SECRET_KEY={KEY}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WEBEX_WEBHOOK_SECRET", "from-env")
    settings = load_settings()
    assert settings.webex_bot_token.get_secret_value() == "from-dotenv"
    assert settings.webex_webhook_secret.get_secret_value() == "from-env"
    assert settings.notify_room_ids == ()


def test_secrets_do_not_show_in_repr():
    settings = load_settings(**(BASE | {"webex_bot_token": "very-secret-token"}))
    assert "very-secret-token" not in repr(settings)


def test_env_example_names_every_setting_and_nothing_else():
    import re
    from pathlib import Path

    from bot.config import Settings

    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert named == {field.upper() for field in Settings.model_fields}


def test_load_settings_keywords_are_the_fields():
    from bot.config import Settings, SettingsOverrides
    fields = [name for name in SettingsOverrides.__annotations__ if name != "_env_file"]
    assert fields == list(Settings.model_fields)


def test_bot_secret_key_is_required_unless_the_bot_talks_to_the_emulator():
    without = {k: v for k, v in BASE.items() if k != "bot_secret_key"}
    for webex in ("https://webexapis.com/v1/", "https://api-usgov.webex.com/v1/"):
        message = error_for(**without, webex_base_url=webex)
        assert message.startswith("configuration error: BOT_SECRET_KEY is required"), message
    demo = load_settings(**without, webex_base_url="http://127.0.0.1:8900/v1/")
    assert demo.is_demo and demo.bot_secret_key is None


def test_previous_keys_are_a_comma_separated_list_and_need_a_current_key():
    other = "YWJjZGFiY2RhYmNkYWJjZGFiY2RhYmNkYWJjZGFiY2Q="
    settings = load_settings(**BASE, bot_secret_key_previous=f" {other}, {KEY} ")
    assert [k.get_secret_value() for k in settings.bot_secret_key_previous] == [other, KEY]
    assert other not in repr(settings)
    without = {k: v for k, v in BASE.items() if k != "bot_secret_key"}
    message = error_for(**without, webex_base_url="http://127.0.0.1:8900/v1/",
                        bot_secret_key_previous=other)
    assert "BOT_SECRET_KEY is required when BOT_SECRET_KEY_PREVIOUS is set" in message


def test_a_client_alone_lets_the_bot_start_unauthorized():
    values = {k: v for k, v in BASE.items() if k != "webex_admin_token"}
    settings = load_settings(**values, webex_admin_client_id="c", webex_admin_client_secret="s")
    assert settings.admin_client is not None and not settings.admin_token_configured
    assert settings.admin_refresh is None


def test_neither_a_token_nor_a_client_is_refused():
    values = {k: v for k, v in BASE.items() if k != "webex_admin_token"}
    assert "admin authorize" in error_for(**values)


@pytest.mark.parametrize("platform, database, warned", [
    ({"port": "5000", "dyno": "web.1"}, "sqlite:////app/instance/bot.sqlite3", True),
    ({"port": "5000"}, "sqlite:////app/instance/bot.sqlite3", False),  # gunicorn's PORT alone
    ({"dyno": "web.1"}, "sqlite:////app/instance/bot.sqlite3", False),
    ({"port": "5000", "dyno": "web.1"}, "postgresql+psycopg://u:p@db/vmbot", False),
])
def test_sqlite_is_warned_of_where_the_disk_does_not_survive_a_restart(platform, database,
                                                                        warned):
    from bot.config import start_up_warnings

    settings = load_settings(**(BASE | platform | {"database_url": database}))
    topics = [w.topic for w in start_up_warnings(settings) if w.topic != "ops token"]
    assert topics == (["database durability"] if warned else [])


def test_the_platform_variables_are_read_from_the_environment(monkeypatch):
    from bot.config import start_up_warnings

    monkeypatch.setenv("PORT", "5000")
    monkeypatch.setenv("DYNO", "web.1")
    [warning, _ops_token] = start_up_warnings(load_settings(**BASE))
    assert warning.text.startswith("DATABASE_URL is SQLite on a platform that sets PORT and DYNO")
    assert "postgresql+psycopg://" in warning.text


@pytest.mark.parametrize("given, used", [
    ("postgres://u:p@db.example:5432/vmbot", "postgresql+psycopg://u:p@db.example:5432/vmbot"),
    ("postgresql://u:p@db/vmbot", "postgresql+psycopg://u:p@db/vmbot"),
    ("postgresql+psycopg://u:p@db/vmbot", "postgresql+psycopg://u:p@db/vmbot"),
    ("sqlite:////srv/bot.sqlite3", "sqlite:////srv/bot.sqlite3"),
])
def test_a_platforms_postgres_url_is_used_with_psycopg(given, used):
    assert load_settings(**(BASE | {"database_url": given})).database_url == used
