"""Settings: read once from the environment and ``.env``, checked, then passed around.

Nothing else in the bot reads ``os.environ`` (but for ``PROMETHEUS_MULTIPROC_DIR``, which
prometheus_client itself reads and gunicorn.conf.py sets). A missing or malformed setting becomes one line
naming it (``ConfigError``), so an operator sees at once what to fix.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Annotated, Literal, NamedTuple, TypedDict, Unpack
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_BASE_URL = "https://webexapis.com/v1/"
# The API hosts of Webex itself (commercial, and FedRAMP's api-usgov.webex.com): a base URL on
# any of them is a real deployment; any other (the emulator) is the demo or a test.
WEBEX_API_DOMAINS = ("webexapis.com", "webex.com")
FERNET_KEY_ERROR = "must be a Fernet key (32 url-safe base64-encoded bytes)"
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["text", "json"]


class AdminRefresh(NamedTuple):
    """The three settings that get a new admin token (all or none of them are set)."""

    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr


class AdminClient(NamedTuple):
    """WEBEX_ADMIN_CLIENT_ID and WEBEX_ADMIN_CLIENT_SECRET (both or neither)."""

    client_id: str
    client_secret: SecretStr


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


class Settings(BaseSettings):
    """Every setting the bot reads, with its validation. Field names are the variables' names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      env_ignore_empty=True,
                                      case_sensitive=False)

    webex_bot_token: SecretStr
    webex_webhook_secret: SecretStr
    webex_admin_token: SecretStr | None = None
    webex_admin_client_id: str | None = None
    webex_admin_client_secret: SecretStr | None = None
    webex_admin_refresh_token: SecretStr | None = None
    # A Service App (its client id and secret are WEBEX_ADMIN_CLIENT_ID/SECRET): with these two,
    # `connect` in the chat gets an org's pair itself; the token has spark:applications_token.
    webex_service_app_id: str | None = None
    webex_applications_token: SecretStr | None = None
    webex_org_id: str | None = None
    webex_base_url: str = DEFAULT_BASE_URL
    public_url: str | None = None
    database_url: str = f"sqlite:///{INSTANCE_DIR / 'bot.sqlite3'}"
    bot_secret_key: SecretStr | None = None
    # Keys that sealed secrets before the current one (comma-separated): still read, never used
    # to seal; `flask --app app secrets rotate` re-seals everything with BOT_SECRET_KEY.
    bot_secret_key_previous: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    # Bearer token for GET /metrics and the details of GET /healthz; unset: both are open.
    ops_token: SecretStr | None = None
    notify_room_ids: Annotated[tuple[str, ...], NoDecode] = ()
    watch_interval_seconds: int = Field(default=300, ge=0)
    # Webex calls the watcher has in flight at once, over every org (see bot/jobs/watcher.py).
    watch_concurrency: int = Field(default=8, ge=1, le=64)
    webhook_check_interval_seconds: int = Field(default=300, ge=0)
    event_lease_seconds: float = Field(default=30, gt=0)
    worker_threads: int = Field(default=4, ge=1, le=64)
    webex_timeout_seconds: float = Field(default=10, gt=0)
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    # Set by the platform, never by the operator: gunicorn binds to PORT, and Heroku-like
    # platforms name the process in DYNO. Both together mean a disk that does not survive a
    # restart (see ``start_up_warnings``).
    port: str | None = None
    dyno: str | None = None

    @field_validator("webex_bot_token", "webex_webhook_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("webex_base_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")) or "://" == value[-3:]:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") + "/"

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        # Heroku-like platforms set DATABASE_URL to postgres://... (a name SQLAlchemy no longer
        # takes) and cannot be told otherwise; postgresql://... would pick psycopg2, which is
        # not installed. Both mean the PostgreSQL server that psycopg 3 talks to.
        for scheme in ("postgres://", "postgresql://"):
            if value.startswith(scheme):
                return "postgresql+psycopg://" + value.removeprefix(scheme)
        return value

    @field_validator("notify_room_ids", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return () if value is None else value  # a list or tuple: checked as tuple[str, ...]

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("bot_secret_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _is_fernet_key(value.get_secret_value()):
            raise ValueError(FERNET_KEY_ERROR)
        return value

    @field_validator("bot_secret_key_previous", mode="before")
    @classmethod
    def _fernet_keys(cls, value: object) -> tuple[object, ...]:
        keys: tuple[object, ...] = ()
        if isinstance(value, str):
            keys = tuple(part.strip() for part in value.split(",") if part.strip())
        elif isinstance(value, (list, tuple)):
            keys = tuple(value)
        for number, key in enumerate(keys, 1):
            text = key.get_secret_value() if isinstance(key, SecretStr) else str(key)
            if not _is_fernet_key(text):
                raise ValueError(f"key {number} {FERNET_KEY_ERROR}")
        return keys

    @field_validator("ops_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError("must be at least 16 characters (e.g. python -c \"import secrets; "
                             "print(secrets.token_urlsafe(32))\")")
        return value

    @model_validator(mode="after")
    def _admin_credentials(self) -> Settings:
        client = (self.webex_admin_client_id, self.webex_admin_client_secret)
        if any(client) and not all(client):
            missing = "WEBEX_ADMIN_CLIENT_ID" if not client[0] else "WEBEX_ADMIN_CLIENT_SECRET"
            raise ValueError(f"{missing} is required when WEBEX_ADMIN_CLIENT_ID or "
                             "WEBEX_ADMIN_CLIENT_SECRET is given")
        if self.webex_admin_refresh_token is not None and not all(client):
            raise ValueError("WEBEX_ADMIN_CLIENT_ID is required when WEBEX_ADMIN_REFRESH_TOKEN "
                             "is given (with WEBEX_ADMIN_CLIENT_SECRET)")
        if self.webex_admin_token is None and not all(client):
            raise ValueError("WEBEX_ADMIN_TOKEN is required (or WEBEX_ADMIN_CLIENT_ID and "
                             "WEBEX_ADMIN_CLIENT_SECRET, then `flask --app app admin authorize` "
                             "or `admin service-app`)")
        if self.webex_service_app_id is not None and not all(client):
            raise ValueError("WEBEX_ADMIN_CLIENT_ID and WEBEX_ADMIN_CLIENT_SECRET (the Service "
                             "App's) are required when WEBEX_SERVICE_APP_ID is given")
        if self.bot_secret_key is None and not self.is_demo:
            raise ValueError(
                "BOT_SECRET_KEY is required with a Webex WEBEX_BASE_URL (only the emulator demo may "
                "go without): generate one with python -c \"from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())\"")
        if self.bot_secret_key_previous and self.bot_secret_key is None:
            raise ValueError("BOT_SECRET_KEY is required when BOT_SECRET_KEY_PREVIOUS is set")
        return self

    @property
    def admin_refresh(self) -> AdminRefresh | None:
        """The refresh settings, or None when there are none (the validator allows no half set)."""
        client_id, secret, token = (self.webex_admin_client_id, self.webex_admin_client_secret,
                                    self.webex_admin_refresh_token)
        if client_id is None or secret is None or token is None:
            return None
        return AdminRefresh(client_id, secret, token)

    @property
    def admin_client(self) -> AdminClient | None:
        """The OAuth client (an Integration's or a Service App's) whose tokens the bot gets and
        refreshes itself, or None."""
        if self.webex_admin_client_id is None or self.webex_admin_client_secret is None:
            return None
        return AdminClient(self.webex_admin_client_id, self.webex_admin_client_secret)

    @property
    def admin_token_configured(self) -> bool:
        """True when the admin token comes from the settings (WEBEX_ADMIN_TOKEN, or the refresh
        token of WEBEX_ADMIN_REFRESH_TOKEN): then those are used as they always were, and a
        token authorized with `admin authorize` / `admin service-app` is not."""
        return self.webex_admin_token is not None or self.webex_admin_refresh_token is not None

    @property
    def connect_method(self) -> Literal["service-app", "integration"] | None:
        """How `connect` in the chat connects an org: with the Service App (its id and a token
        with spark:applications_token), with the Integration (its authorization link, which needs
        PUBLIC_URL), or not at all (None: only the operator connects orgs)."""
        if self.admin_client is None:
            return None
        if self.webex_service_app_id is not None:
            return "service-app" if self.webex_applications_token is not None else None
        return "integration" if self.public_url else None

    @property
    def oauth_redirect_uri(self) -> str | None:
        return f"{self.public_url}oauth/callback" if self.public_url else None

    @property
    def is_demo(self) -> bool:
        """True when the bot talks to something other than Webex (the emulator): there, and only
        there, BOT_SECRET_KEY may be left out."""
        host = (urlsplit(self.webex_base_url).hostname or "").lower()
        return not any(host == domain or host.endswith(f".{domain}") for domain in WEBEX_API_DOMAINS)

    @property
    def webhook_target_url(self) -> str | None:
        return f"{self.public_url}webhooks/webex" if self.public_url else None

    @property
    def on_throwaway_disk(self) -> bool:
        """True under a platform that sets both PORT and DYNO (Heroku and its likes), whose
        file system is replaced at every restart and deploy."""
        return bool(self.port and self.dyno)


class StartUpWarning(NamedTuple):
    """A setting that works but that an operator should change: ``topic`` names it."""

    topic: str
    text: str


def start_up_warnings(settings: Settings) -> list[StartUpWarning]:
    """What the bot logs at start-up and ``flask --app app check`` shows as WARN lines."""
    warnings = []
    if settings.database_url.startswith("sqlite") and settings.on_throwaway_disk:
        warnings.append(StartUpWarning(
            "database durability", "DATABASE_URL is SQLite on a platform that sets PORT and DYNO, whose disk "
            "does not survive a restart or a deploy: the stored admin authorization, pending "
            "changes, the history, subscriptions and notification spaces would be lost each "
            "time. Set DATABASE_URL to a PostgreSQL database (postgresql+psycopg://...)"))
    if settings.ops_token is None and not settings.is_demo:
        warnings.append(StartUpWarning(
            "ops token", "OPS_TOKEN is not set: /metrics and the details of /healthz are open to "
            "anyone who can reach the webhook port"))
    return warnings


def _is_fernet_key(text: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(text.encode())) == 32
    except (binascii.Error, ValueError):
        return False


class SettingsOverrides(TypedDict, total=False):
    """``load_settings``' keyword arguments: the fields of ``Settings``, by name and type (a test
    checks that the two lists agree), and ``_env_file`` (None: no ``.env``). Pydantic also takes
    a secret's or a number's text."""

    _env_file: Path | str | None

    webex_bot_token: SecretStr
    webex_webhook_secret: SecretStr
    webex_admin_token: SecretStr | None
    webex_admin_client_id: str | None
    webex_admin_client_secret: SecretStr | None
    webex_admin_refresh_token: SecretStr | None
    webex_service_app_id: str | None
    webex_applications_token: SecretStr | None
    webex_org_id: str | None
    webex_base_url: str
    public_url: str | None
    database_url: str
    bot_secret_key: SecretStr | None
    bot_secret_key_previous: tuple[SecretStr, ...]
    ops_token: SecretStr | None
    notify_room_ids: tuple[str, ...]
    watch_interval_seconds: int
    watch_concurrency: int
    webhook_check_interval_seconds: int
    event_lease_seconds: float
    worker_threads: int
    webex_timeout_seconds: float
    log_level: LogLevel
    log_format: LogFormat
    port: str | None
    dyno: str | None


def load_settings(**overrides: Unpack[SettingsOverrides]) -> Settings:
    """Read and check the settings; raise ``ConfigError`` with one line naming the first problem.

    ``overrides`` (field names) win over the environment, for tests and tools.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """One line for the first problem: the variable's name and what is wrong with it."""
    error = exc.errors()[0]
    location = [str(part) for part in error.get("loc", ()) if part != "__root__"]
    message = error.get("msg", "is invalid").removeprefix("Value error, ")
    if message[1:2].islower():  # "Input should be..." reads better mid-sentence
        message = message[:1].lower() + message[1:]
    if not location:
        return f"configuration error: {message}"
    name = location[0].upper()
    if error.get("type") == "missing":
        return f"configuration error: {name} is required"
    return f"configuration error: {name} {message}"
